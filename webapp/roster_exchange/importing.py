"""Importing a OneRoster 1.2 CSV bulk bundle: check, plan (the preview), apply.

Shared by the upload pages and ``flask oneroster import``. A bundle is first checked by
the spec-derived validator (:func:`webapp.oneroster.validate_bundle`); a bundle it
rejects (:class:`BundleRejected`) changes nothing, and each problem names the file, the
line and the rule. An accepted bundle is planned file by file by the modules of
:mod:`.files` (:func:`plan_bundle`): each row creates, updates, leaves unchanged, is
skipped, or is in error. :func:`apply_plan` writes a plan without errors in one
transaction, with an audit event per record changed, all in one audit batch. Records
are matched by sourcedId; the import never deletes (bulk mode's "mark what is missing
as tobedeleted" is left to people: a student missing from the bundle stays as it is).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Mapping
from datetime import date
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from webapp import trail
from webapp.extensions import db
from webapp.fields.base import RecordFields
from webapp.fields.enrollment import ENROLLMENT
from webapp.fields.guardian import GUARDIAN
from webapp.fields.school_year import SCHOOL_YEAR
from webapp.fields.student import STUDENT
from webapp.models import Action, AuditBatch, AuditEvent, Enrollment, Entity, SchoolYear, Student
from webapp.models.guardian import Guardian, StudentGuardian
from webapp.models.student import NAME_MAX_LENGTH
from webapp.oneroster.problems import Problem
from webapp.oneroster.spec import FILES_BY_STEM
from webapp.oneroster.validate import validate_bundle
from webapp.roster_exchange.files import academic_sessions, demographics, guardians, roles, users
from webapp.roster_exchange.planning import Outcome, Plan, records
from webapp.students import guardians as guardian_writes

#: Files the import does not read, with the reason the preview gives for their rows.
NOT_READ = {
    "orgs": "orgs are this app's settings (ONEROSTER_SCHOOL_*), not records",
    "courses": "courses are derived from the grades",
}
#: The reason for the rows of any other file.
NOT_SUPPORTED = "this app does not import this file"


#: The largest bundle accepted by default, in bytes (``ONEROSTER_MAX_BUNDLE_BYTES``); the
#: validator's zip-bomb limits then bound what it unpacks to.
DEFAULT_MAX_BUNDLE_BYTES = 64 * 1024 * 1024


def max_bundle_bytes(config: Mapping[str, Any]) -> int:
    """The largest bundle the import accepts, in bytes."""
    return int(config.get("ONEROSTER_MAX_BUNDLE_BYTES") or DEFAULT_MAX_BUNDLE_BYTES)


class BundleRejected(Exception):
    """The validator rejected the bundle; ``problems`` says why (file, line, rule)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"the bundle breaks {len(problems)} rule(s) of OneRoster 1.2")
        self.problems = problems


class ImportRefused(Exception):
    """The plan has rows in error, or the database refused it; nothing was written."""


class PreviewOutdated(Exception):
    """The records changed since the preview: the bundle would now do something else."""


def plan_bundle(data: bytes, filename: str, today: date | None = None) -> Plan:
    """Check a bundle and plan its import, without writing anything.

    Args:
        data: the zip's bytes.
        filename: its name (for messages and the audit trail).
        today: the day rules about the future measure against; today by default.

    Returns:
        The plan: every row's outcome, and the values to write.

    Raises:
        BundleRejected: the bundle breaks a rule of the binding (or the zip-bomb limits).
    """
    problems = validate_bundle(data, grades=None)
    if problems:
        raise BundleRejected(problems)
    today = today or date.today()
    plan = Plan(filename)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        academic_sessions.plan_rows(plan, archive, today)
        roles.collect(plan, archive)
        users.plan_rows(plan, archive, today)
        guardians.plan_links(plan)
        roles.plan_rows(plan)
        demographics.plan_rows(plan, archive, today)
        read = {"academicSessions", "roles", "users", "demographics"}
        for spec in FILES_BY_STEM.values():
            if spec.stem in read:
                continue
            reason = NOT_READ.get(spec.stem, NOT_SUPPORTED)
            for line, row in records(archive, spec.stem):
                plan.add(spec.filename, line, Outcome.SKIP, row["sourcedId"], reason)
    plan.rows.sort(key=lambda row: (_FILE_ORDER.get(row.file, 99), row.line))
    return plan


_FILE_ORDER = {spec.filename: index for index, spec in enumerate(FILES_BY_STEM.values())}


def apply_plan(
    plan: Plan, expected: str | None = None, *, finish: Callable[[], None] | None = None
) -> dict[str, int]:
    """Write a plan in one transaction, with its audit events, and commit.

    Args:
        plan: a plan without errors, made in this transaction.
        expected: the preview's :meth:`Plan.fingerprint`; when given and different,
            nothing is written (the transaction is left open for the caller, who may
            store the new preview).
        finish: called in the transaction, after the writes and before the commit (the
            page deletes its stored upload there).

    Returns:
        Records written per kind: ``{"school years": 1, "students": 120, "enrollments": 120}``.

    Raises:
        ImportRefused: the plan has errors, or the database refused a row.
        PreviewOutdated: ``expected`` differs from the plan.
    """
    if expected is not None and expected != plan.fingerprint():
        raise PreviewOutdated("the roster changed since the preview")
    if plan.errors:
        db.session.rollback()
        raise ImportRefused(f"{plan.errors} row(s) have errors; nothing was imported")
    try:
        batch = trail.new_batch("oneroster import", f"OneRoster import {plan.filename}")
        events = _Events(plan, batch)
        years = _write_years(plan, events)
        student_ids = _write_students(plan, events)
        enrollments = _write_enrollments(plan, events, student_ids)
        guardian_count = _write_guardians(plan, events, student_ids)
        events.write()
        if finish is not None:
            finish()
        db.session.commit()
    except (IntegrityError, StaleDataError) as error:
        db.session.rollback()
        raise ImportRefused(
            "The database refused the import (another change may have been made meanwhile); "
            f"nothing was imported. ({type(error).__name__})"
        ) from error
    students = events.counts.get(Entity.STUDENT.value, 0)
    return {
        "school years": years,
        "students": students,
        "enrollments": enrollments,
        "guardians": guardian_count,
        "guardian links": len(plan.links),
    }


#: The guardian fields the trail records.
GUARDIAN_FIELDS = tuple(field.name for field in GUARDIAN.audited)
#: Rows per INSERT statement of the bulk writes.
CHUNK = 2_000
#: sourcedIds per ``IN (...)`` when reading the new ids back.
LOOKUP_BATCH = 500


class _Events:
    """The audit events of one import, collected as rows and inserted in batches.

    They are the rows :func:`webapp.trail.record_event` would add one ORM object at a
    time; an import of 100,000 students writes 200,000 of them, which as ORM objects took
    most of its time and memory.
    """

    def __init__(self, plan: Plan, batch: AuditBatch) -> None:
        self.plan = plan
        self.batch_id = batch.id
        self.user_id, self.actor = trail.actor()
        self.rows: list[dict[str, Any]] = []
        #: Events added per entity (``{"student": 120, ...}``): the records changed.
        self.counts: dict[str, int] = {}

    def add(
        self,
        entity: Entity,
        entity_id: int,
        changes: dict[str, list[Any]],
        *,
        created: bool,
        file: str,
        line: int,
        student: tuple[int, str] | None = None,
    ) -> None:
        """Add the event of one record created or updated by ``file``'s ``line``."""
        self.counts[entity.value] = self.counts.get(entity.value, 0) + 1
        self.rows.append(
            {
                "user_id": self.user_id,
                "actor": self.actor,
                "action": (Action.CREATE if created else Action.UPDATE).value,
                "entity": entity.value,
                "entity_id": entity_id,
                "student_id": student[0] if student else None,
                "student_name": student[1][:NAME_MAX_LENGTH] if student else None,
                "changes": changes,
                "note": f"OneRoster {self.plan.filename}, {file} line {line}"[
                    : trail.NOTE_MAX_LENGTH
                ],
                "batch_id": self.batch_id,
            }
        )
        if len(self.rows) >= CHUNK:
            self.write()

    def write(self) -> None:
        """Insert the events collected so far (memory stays at one batch)."""
        if self.rows:
            db.session.execute(insert(AuditEvent), self.rows)
        self.rows = []


def _insert(model: type[Student] | type[Enrollment], rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` of ``model`` in batches; return their new ids, in order.

    The ids are read back by sourcedId: an ``INSERT ... RETURNING`` of many rows in
    parameter order ran about 40 rows a statement here, several times slower than the
    driver's ``executemany`` and one ``SELECT`` per batch.
    """
    ids: dict[str, int] = {}
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        db.session.execute(insert(model), chunk)
        keys = [row["sourced_id"] for row in chunk]
        for begin in range(0, len(keys), LOOKUP_BATCH):
            batch = keys[begin : begin + LOOKUP_BATCH]
            found = select(model.sourced_id, model.id).where(model.sourced_id.in_(batch))
            ids.update((key, new_id) for key, new_id in db.session.execute(found))
    return [ids[row["sourced_id"]] for row in rows]


def _changed(fields: RecordFields, before: dict[str, Any], after: object) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` of the audited ``fields``; ``before`` is the record's
    snapshot before the change (empty for a new record)."""
    return trail.diff(before, fields.snapshot(after), tuple(f.name for f in fields.audited))


def _write_years(plan: Plan, events: _Events) -> int:
    """Create and update the plan's school years (a few: through the ORM)."""
    written = 0
    for change in plan.years.values():
        year = change.year
        before = SCHOOL_YEAR.snapshot(year) if year is not None else {}
        old_id = year.sourced_id if year is not None else None
        if year is None:
            year = SchoolYear(sourced_id=change.sourced_id, is_current=False, **change.values)
            db.session.add(year)
        else:
            _update(year, change.values)
            year.sourced_id = change.sourced_id
        db.session.flush()
        change.year = year
        changes = _changed(SCHOOL_YEAR, before, year)
        if old_id != change.sourced_id:
            changes["sourced_id"] = [old_id, change.sourced_id]
        if changes:
            events.add(
                Entity.SCHOOL_YEAR,
                year.id,
                changes,
                created=old_id is None,
                file="academicSessions.csv",
                line=change.line,
            )
            written += 1
    return written


def _update(record: object, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        setattr(record, name, value)


def _write_students(plan: Plan, events: _Events) -> dict[str, int]:
    """Create (in bulk) and update the plan's students; return every student's id by
    sourcedId."""
    today = date.today()
    new = [c for c in plan.students.values() if c.student is None]
    rows = [
        {
            "birthday": None,
            **c.values,
            "sourced_id": c.sourced_id,
            "enrolled_on": c.enrolled_on or today,
        }
        for c in new
    ]
    ids: dict[str, int] = {}
    for change, row, new_id in zip(new, rows, _insert(Student, rows), strict=True):
        ids[change.sourced_id] = new_id
        changes = _changed(STUDENT, {}, SimpleNamespace(**row))
        events.add(
            Entity.STUDENT,
            new_id,
            changes,
            created=True,
            file="users.csv",
            line=change.line,
            student=(new_id, row["name"]),
        )
    for change in plan.students.values():
        student = change.student
        if student is None:
            continue
        ids[change.sourced_id] = student.id
        before = STUDENT.snapshot(student)
        _update(student, change.values)
        changes = _changed(STUDENT, before, student)
        if changes:
            events.add(
                Entity.STUDENT,
                student.id,
                changes,
                created=False,
                file="users.csv",
                line=change.line,
                student=(student.id, student.name),
            )
    db.session.flush()
    return ids


def _write_enrollments(plan: Plan, events: _Events, student_ids: dict[str, int]) -> int:
    """Create (in bulk) and update the plan's enrollments; return how many changed."""
    new = [c for c in plan.enrollments.values() if c.enrollment is None]
    rows = []
    for change in new:
        year = plan.years[change.year_sourced_id].year
        assert year is not None
        rows.append(
            {
                "reason": None,
                "destination": None,
                **change.values,
                "sourced_id": change.sourced_id,
                "student_id": student_ids[change.student_sourced_id],
                "school_year_id": year.id,
            }
        )
    written = 0
    for change, row, new_id in zip(new, rows, _insert(Enrollment, rows), strict=True):
        name = plan.students[change.student_sourced_id].values["name"]
        changes = _changed(ENROLLMENT, {}, SimpleNamespace(**row))
        student = (row["student_id"], name)
        events.add(
            Entity.ENROLLMENT,
            new_id,
            changes,
            created=True,
            file="roles.csv",
            line=change.line,
            student=student,
        )
        written += 1
    for change in plan.enrollments.values():
        enrollment = change.enrollment
        if enrollment is None:
            continue
        before = ENROLLMENT.snapshot(enrollment)
        _update(enrollment, change.values)
        changes = _changed(ENROLLMENT, before, enrollment)
        if changes:
            name = plan.students[change.student_sourced_id].values["name"]
            events.add(
                Entity.ENROLLMENT,
                enrollment.id,
                changes,
                created=False,
                file="roles.csv",
                line=change.line,
                student=(enrollment.student_id, name),
            )
            written += 1
    db.session.flush()
    return written


def _write_guardians(plan: Plan, events: _Events, student_ids: dict[str, int]) -> int:
    """Create and update the plan's guardians, then add its links (one flush each);
    return how many guardians changed."""
    befores: dict[str, dict[str, Any]] = {}
    for change in plan.guardians.values():
        if change.guardian is None:
            change.guardian = Guardian(sourced_id=change.sourced_id)
            db.session.add(change.guardian)
        else:
            befores[change.sourced_id] = guardian_writes.snapshot(change.guardian)
        _update(change.guardian, change.values)
        guardian_writes.set_phones(change.guardian, change.phones)
    db.session.flush()
    written = 0
    for change in plan.guardians.values():
        guardian = change.guardian
        assert guardian is not None
        before = befores.get(change.sourced_id, {})
        changes = trail.diff(before, guardian_writes.snapshot(guardian), GUARDIAN_FIELDS)
        if changes:
            created = change.sourced_id not in befores
            events.add(
                Entity.GUARDIAN,
                guardian.id,
                changes,
                created=created,
                file="users.csv",
                line=change.line,
            )
            written += 1
    links = []
    for link in plan.links:
        guardian = plan.guardians[link.guardian_sourced_id].guardian
        assert guardian is not None
        links.append(
            StudentGuardian(
                student_id=student_ids[link.student_sourced_id],
                guardian_id=guardian.id,
                relationship=link.relationship,
                contact_order=link.contact_order,
                emergency_contact=False,
                lives_with=False,
                pickup_allowed=False,
            )
        )
    db.session.add_all(links)
    db.session.flush()
    for link, row in zip(plan.links, links, strict=True):
        name = plan.students[link.student_sourced_id].values["name"]
        events.add(
            Entity.GUARDIAN_LINK,
            row.guardian_id,
            {key: [None, value] for key, value in guardian_writes.link_snapshot(row).items()},
            created=True,
            file="users.csv",
            line=link.line,
            student=(row.student_id, name),
        )
    return written
