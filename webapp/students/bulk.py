"""Bulk actions on the roster: the students ticked, or every student the search matches,
assigned to a homeroom or given a status, after a confirmation page.

:func:`selected_rows` reads the selection through the roster's own query (so a teacher's
scope and the filters apply); :func:`plan_status` works out what a status change would
do, writing nothing; :func:`apply_status` applies it in one transaction whose audit
events share one :class:`~webapp.models.AuditBatch`. Assignments to a homeroom are
:mod:`webapp.homerooms.assignments`' plans. :func:`fingerprint` lets the confirmation
refuse to apply anything other than what the user saw (409).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from webapp import trail
from webapp.extensions import db
from webapp.fields.enrollment import ENROLLMENT
from webapp.models import Action, Enrollment, Entity, SchoolYear, Student, User
from webapp.students import enrollments
from webapp.students.roster import roster_statement
from webapp.students.roster_query import RosterQuery

#: The most students one bulk action may change (a whole school's roster fits).
MAX_SELECTED = 10_000
#: The fields a bulk status change sets.
BULK_STATUS_FIELDS = ("status", "status_on", "reason", "destination")


class BulkError(Exception):
    """A bulk action was refused; ``str(error)`` says why, for the user."""


@dataclass(frozen=True)
class Selection:
    """Which students a bulk action is about.

    Attributes:
        query: the roster's search and filters when the action was chosen.
        ids: the students ticked; ``None`` means every student the query matches.
    """

    query: RosterQuery
    ids: tuple[int, ...] | None

    @property
    def every(self) -> bool:
        """Whether the selection is every row matching the query."""
        return self.ids is None


def selected_rows(
    selection: Selection, viewer: User | None, year_id: int
) -> list[tuple[Student, Enrollment | None]]:
    """The selected students ``viewer`` may see, with their enrollment in ``year_id``, in
    roster order; one statement.

    Raises:
        BulkError: nothing is selected, or more than :data:`MAX_SELECTED` students.
    """
    if selection.ids is not None and not selection.ids:
        raise BulkError("Tick at least one student, or every student matching the search.")
    statement = roster_statement(selection.query, viewer, year_id=year_id)
    if selection.ids is not None:
        statement = statement.where(Student.id.in_(selection.ids))
    rows = [(s, e) for s, e in db.session.execute(statement.limit(MAX_SELECTED + 1))]
    if not rows:
        raise BulkError("None of the selected students is on the roster any more.")
    if len(rows) > MAX_SELECTED:
        raise BulkError(
            f"That is more than {MAX_SELECTED:,} students; narrow the search and try again."
        )
    return rows


@dataclass
class StatusChange:
    """One enrollment's status change: its audited values before and after."""

    student: Student
    enrollment: Enrollment
    before: dict[str, Any]
    after: dict[str, Any]


@dataclass
class StatusPlan:
    """What a bulk status change would do.

    Attributes:
        values: the new status, its date, reason and destination.
        changes: the enrollments that would change.
        unchanged: students whose status is that already.
        refused: ``(student name, reason)`` for students it cannot apply to.
    """

    values: dict[str, Any]
    changes: list[StatusChange] = field(default_factory=list)
    unchanged: list[Student] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def plan_status(
    rows: Iterable[tuple[Student, Enrollment | None]], values: Mapping[str, Any], year: SchoolYear
) -> StatusPlan:
    """Work out a status change for each selected student's enrollment in ``year``.

    Each enrollment is checked with the declarations' rules (a status dated before the
    enrollment began is refused for that student, with the reason).
    """
    plan = StatusPlan({name: values.get(name) for name in BULK_STATUS_FIELDS})
    for student, enrollment in rows:
        if enrollment is None:
            plan.refused.append((student.name, f"not enrolled in {year.name}"))
            continue
        record = {**plan.values, "entered_on": enrollment.entered_on}
        broken = ENROLLMENT.check_record(record)
        if broken:
            plan.refused.append((student.name, " ".join(message for _, message in broken)))
            continue
        before = enrollments.snapshot(enrollment)
        after = {**before, **ENROLLMENT.snapshot(_Values(plan.values, enrollment))}
        if trail.diff(before, after, enrollments.AUDITED):
            plan.changes.append(StatusChange(student, enrollment, before, after))
        else:
            plan.unchanged.append(student)
    return plan


class _Values:
    """An enrollment as it would be with ``values`` applied (for its snapshot)."""

    def __init__(self, values: Mapping[str, Any], enrollment: Enrollment) -> None:
        self._values, self._enrollment = values, enrollment

    def __getattr__(self, name: str) -> Any:
        return self._values[name] if name in self._values else getattr(self._enrollment, name)


def apply_status(plan: StatusPlan, description: str) -> int:
    """Apply a status plan in one transaction, audited as one batch; commit.

    Returns:
        How many enrollments changed.

    Raises:
        BulkError: an enrollment changed meanwhile, or the database refused a value;
            nothing changed.
    """
    batch = trail.new_batch("bulk status", description)
    try:
        for change in plan.changes:
            enrollment = change.enrollment
            for name in BULK_STATUS_FIELDS:
                setattr(enrollment, name, plan.values[name])
            db.session.flush()
            trail.record_event(
                Action.UPDATE,
                Entity.ENROLLMENT,
                enrollment.id,
                trail.diff(change.before, enrollments.snapshot(enrollment), enrollments.AUDITED),
                student_id=change.student.id,
                student_name=change.student.name,
                note=f"school year {enrollment.school_year.name}",
                batch=batch,
            )
        db.session.commit()
    except (StaleDataError, IntegrityError) as error:
        db.session.rollback()
        raise BulkError(
            "Some of these students changed meanwhile, or the database refused a value; "
            "nothing was changed. Check the selection and try again."
        ) from error
    return len(plan.changes)


def fingerprint(items: Iterable[tuple[int, int]]) -> str:
    """A short digest of ``(enrollment id, version)`` pairs: what a confirmation saw."""
    text = ",".join(f"{a}:{b}" for a, b in sorted(items))
    return hashlib.sha256(text.encode()).hexdigest()[:20]
