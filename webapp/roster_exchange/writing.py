"""Writing an import's plan: the records, in bulk where they are new, and their audit events.

Used by :func:`webapp.roster_exchange.importing.apply_plan`, inside its transaction;
nothing here commits. New students, enrollments, guardians, their numbers and links go in
as multi-row inserts; records that exist are updated through the ORM (optimistic locking
applies). Every record changed gets the audit event the pages would write, collected and
inserted in batches (:class:`Events`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from datetime import date
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, select

from webapp import trail
from webapp.extensions import db
from webapp.fields.enrollment import ENROLLMENT
from webapp.fields.guardian import GUARDIAN, GUARDIAN_LINK
from webapp.fields.records import RecordFields
from webapp.fields.school_year import SCHOOL_YEAR
from webapp.fields.student import STUDENT
from webapp.homerooms import service as homeroom_service
from webapp.models import (
    Action,
    AuditBatch,
    AuditEvent,
    Enrollment,
    Entity,
    Homeroom,
    Role,
    SchoolYear,
    Student,
    User,
)
from webapp.models.guardian import Guardian, GuardianPhone, StudentGuardian
from webapp.models.student import NAME_MAX_LENGTH
from webapp.models.types import utcnow
from webapp.roster_exchange.files.classes import NEW_CAPACITY
from webapp.roster_exchange.planning import Plan
from webapp.students import guardians as guardian_writes

#: The guardian fields the trail records.
GUARDIAN_FIELDS = tuple(field.name for field in GUARDIAN.audited)
#: Rows per INSERT statement of the bulk writes.
CHUNK = 2_000
#: sourcedIds per ``IN (...)`` when reading the new ids back.
LOOKUP_BATCH = 500

logger = logging.getLogger("webapp.auth")


class Events:
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


def _insert(
    model: type[Student] | type[Enrollment] | type[Guardian], rows: list[dict[str, Any]]
) -> list[int]:
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


def write_years(plan: Plan, events: Events) -> int:
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


def write_teachers(plan: Plan) -> dict[str, User]:
    """Create the plan's new teacher accounts and give matched accounts the bundle's
    sourcedId; return every teacher's account by sourcedId.

    A new account has the ``teacher`` role, is active as the bundle's ``enabledUser``
    says, and has no usable password (its hash is no scrypt hash, so no password
    verifies) until an administrator sets one. Accounts have no audit entity: each
    creation is logged (``webapp.auth``), and the homerooms' events list their teachers'
    emails.
    """
    accounts: dict[str, User] = {}
    for change in plan.teachers.values():
        user = change.user
        if user is None:
            user = User(
                email=change.email,
                role=Role.TEACHER.value,
                active=change.enabled,
                password_hash="!" + secrets.token_hex(16),
                sourced_id=change.sourced_id,
            )
            db.session.add(user)
            db.session.flush()
            logger.info(
                "Account created by OneRoster import %s: user_id=%s email=%s role=teacher"
                " active=%s, no password",
                plan.filename,
                user.id,
                user.email,
                user.active,
            )
        elif user.sourced_id != change.sourced_id:
            user.sourced_id = change.sourced_id
        accounts[change.sourced_id] = user
    db.session.flush()
    return accounts


def write_homerooms(plan: Plan, events: Events, teachers: dict[str, User]) -> dict[str, int]:
    """Create and update the plan's homerooms (a few: through the ORM) and set their
    teachers; return every homeroom's id by sourcedId."""
    ids: dict[str, int] = {}
    for change in plan.homerooms.values():
        homeroom = change.homeroom
        before = homeroom_service.audited(homeroom) if homeroom is not None else {}
        if homeroom is None:
            year = plan.years[change.year_sourced_id].year
            assert year is not None
            homeroom = Homeroom(
                sourced_id=change.sourced_id,
                school_year_id=year.id,
                capacity=NEW_CAPACITY,
                teachers=[],
            )
            db.session.add(homeroom)
        _update(homeroom, change.values)
        if change.teachers is not None:
            chosen = sorted((teachers[key] for key in change.teachers), key=lambda u: u.email)
            if [u.id for u in homeroom.teachers] != [u.id for u in chosen]:
                homeroom.teachers = chosen
                homeroom.updated_at = utcnow()  # the link table is not the row
        db.session.flush()
        ids[change.sourced_id] = homeroom.id
        changes = trail.diff(before, homeroom_service.audited(homeroom), homeroom_service.AUDITED)
        if changes:
            events.add(
                Entity.HOMEROOM,
                homeroom.id,
                changes,
                created=change.homeroom is None,
                file="classes.csv",
                line=change.line,
            )
    return ids


def write_students(plan: Plan, events: Events) -> dict[str, int]:
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


def write_enrollments(
    plan: Plan, events: Events, student_ids: dict[str, int], homeroom_ids: dict[str, int]
) -> int:
    """Create (in bulk) and update the plan's enrollments, and put those that
    enrollments.csv places in their homerooms; return how many changed."""
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
                "homeroom_id": homeroom_ids[change.homeroom] if change.homeroom else None,
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
        if change.placed:
            changes.update(_place(enrollment, change.homeroom, homeroom_ids))
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


def _place(
    enrollment: Enrollment, homeroom: str | None, homeroom_ids: dict[str, int]
) -> dict[str, list[Any]]:
    """Put a stored enrollment in ``homeroom`` (a sourcedId, None for none); return the
    audit changes, as the homeroom assignment records them (names and ids)."""
    new_id = homeroom_ids[homeroom] if homeroom else None
    old_id = enrollment.homeroom_id
    if old_id == new_id:
        return {}
    old = enrollment.homeroom.name if enrollment.homeroom is not None else None
    new = db.session.get(Homeroom, new_id).name if new_id is not None else None  # type: ignore[union-attr]
    enrollment.homeroom_id = new_id
    return {"homeroom": [old, new], "homeroom_id": [old_id, new_id]}


def write_guardians(plan: Plan, events: Events, student_ids: dict[str, int]) -> int:
    """Create (in bulk) and update the plan's guardians and their numbers, then add its
    links (in bulk); return how many guardians changed."""
    new = [c for c in plan.guardians.values() if c.guardian is None]
    rows = [{"preferred_language": None, **c.values, "sourced_id": c.sourced_id} for c in new]
    ids: dict[str, int] = {}
    phones: list[dict[str, Any]] = []
    for change, row, new_id in zip(new, rows, _insert(Guardian, rows), strict=True):
        ids[change.sourced_id] = new_id
        numbers = [[kind, number] for kind, number in change.phones]
        phones += [
            {"guardian_id": new_id, "position": position, "kind": kind, "number": number}
            for position, (kind, number) in enumerate(change.phones, start=1)
        ]
        after = GUARDIAN.snapshot(SimpleNamespace(**row, phones=numbers))
        changes = trail.diff({}, after, GUARDIAN_FIELDS)
        events.add(
            Entity.GUARDIAN, new_id, changes, created=True, file="users.csv", line=change.line
        )
    for start in range(0, len(phones), CHUNK):
        db.session.execute(insert(GuardianPhone), phones[start : start + CHUNK])
    written = len(new)
    for change in plan.guardians.values():
        guardian = change.guardian
        if guardian is None:
            continue
        ids[change.sourced_id] = guardian.id
        before = guardian_writes.snapshot(guardian)
        _update(guardian, change.values)
        guardian_writes.set_phones(guardian, change.phones)
        db.session.flush()
        changes = trail.diff(before, guardian_writes.snapshot(guardian), GUARDIAN_FIELDS)
        if changes:
            events.add(
                Entity.GUARDIAN,
                guardian.id,
                changes,
                created=False,
                file="users.csv",
                line=change.line,
            )
            written += 1
    _write_links(plan, events, student_ids, ids)
    return written


def _write_links(
    plan: Plan, events: Events, student_ids: dict[str, int], guardian_ids: dict[str, int]
) -> None:
    """Insert the plan's new links of students to guardians, with their events."""
    rows: list[dict[str, Any]] = [
        {
            "student_id": student_ids[link.student_sourced_id],
            "guardian_id": guardian_ids[link.guardian_sourced_id],
            "relationship": link.relationship,
            "contact_order": link.contact_order,
            "emergency_contact": False,
            "lives_with": False,
            "pickup_allowed": False,
        }
        for link in plan.links
    ]
    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(StudentGuardian), rows[start : start + CHUNK])
    for link, row in zip(plan.links, rows, strict=True):
        after = GUARDIAN_LINK.snapshot(SimpleNamespace(**row))
        events.add(
            Entity.GUARDIAN_LINK,
            row["guardian_id"],
            {key: [None, value] for key, value in after.items()},
            created=True,
            file="users.csv",
            line=link.line,
            student=(row["student_id"], plan.students[link.student_sourced_id].values["name"]),
        )
