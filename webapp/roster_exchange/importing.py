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
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from webapp import trail
from webapp.extensions import db
from webapp.models import Entity
from webapp.oneroster.files import FILES_BY_STEM
from webapp.oneroster.problems import Problem
from webapp.oneroster.validate import validate_bundle
from webapp.roster_exchange.files import (
    academic_sessions,
    classes,
    demographics,
    enrollments,
    guardians,
    roles,
    teachers,
    users,
)
from webapp.roster_exchange.planning import Outcome, Plan, records
from webapp.roster_exchange.writing.events import Events
from webapp.roster_exchange.writing.people import write_enrollments, write_guardians, write_students
from webapp.roster_exchange.writing.structure import write_homerooms, write_teachers, write_years

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
        teachers.plan_roles(plan)
        demographics.plan_rows(plan, archive, today)
        classes.plan_rows(plan, archive, today)
        enrollments.plan_rows(plan, archive)
        read = {"academicSessions", "roles", "users", "demographics", "classes", "enrollments"}
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
        Records written per kind: ``{"school years": 1, "students": 120, "enrollments": 120,
        "homerooms": 5, "teacher accounts created": 2, ...}``.

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
        events = Events(plan, batch)
        years = write_years(plan, events)
        teacher_ids = write_teachers(plan)
        homeroom_ids = write_homerooms(plan, events, teacher_ids)
        student_ids = write_students(plan, events)
        enrollment_count = write_enrollments(plan, events, student_ids, homeroom_ids)
        guardian_count = write_guardians(plan, events, student_ids)
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
        "enrollments": enrollment_count,
        "homerooms": events.counts.get(Entity.HOMEROOM.value, 0),
        "teacher accounts created": sum(1 for t in plan.teachers.values() if t.user is None),
        "guardians": guardian_count,
        "guardian links": len(plan.links),
    }
