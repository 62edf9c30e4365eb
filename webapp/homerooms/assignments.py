"""Putting students into homerooms, moving them and taking them out, with the audit trail.

Each move is an audit event about the enrollment (``changes`` holds the homeroom's name
and id before and after), so a student's history lists it and it can be reverted like a
grade change. Several moves made at once share an :class:`~webapp.models.AuditBatch`.
A homeroom over its capacity is a warning the editor confirms (:func:`plan`), never a
refusal; a homeroom of another school year than the enrollment's is refused here with a
message, and by the database's composite foreign key in any case.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.exc import StaleDataError

from webapp import trail
from webapp.extensions import db
from webapp.fields.formfield import WarningsConfirmation
from webapp.fields.homeroom import HOMEROOM, STUDENTS
from webapp.homerooms.service import HomeroomError, capacity_warnings, student_count
from webapp.models import (
    Action,
    AuditBatch,
    AuditEvent,
    Enrollment,
    Entity,
    Homeroom,
    Status,
    Student,
)


@dataclass
class Move:
    """One student's move into a homeroom: the enrollment and where the student was."""

    student: Student
    enrollment: Enrollment
    from_name: str | None

    @property
    def is_change(self) -> bool:
        """Whether the student is not in the target homeroom already."""
        return self.from_name is not None or self.enrollment.homeroom_id is None


@dataclass
class Plan:
    """What an assignment would do: the moves, the refusals, the capacity warning.

    Attributes:
        homeroom: the target.
        moves: students who would move in (from no homeroom or another one).
        refused: ``(student name, reason)`` of students who cannot move in.
        unchanged: students already in it.
        warnings: the capacity warning, ``(field, message)`` pairs (confirm to apply).
        total_after: how many students it would hold.
    """

    homeroom: Homeroom
    moves: list[Move] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    unchanged: list[Student] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    total_after: int = 0


def plan(homeroom: Homeroom, student_ids: Iterable[int], year_id: int | None = None) -> Plan:
    """Work out an assignment of ``student_ids`` to ``homeroom``, writing nothing.

    Args:
        homeroom: the target homeroom.
        student_ids: the students to put in it.
        year_id: the school year whose enrollments are meant (the roster's year); the
            homeroom's year by default. A homeroom of another year is refused.

    Returns:
        The plan; one statement for the students and their enrollments.

    Raises:
        HomeroomError: ``year_id`` is not the homeroom's year.
    """
    if year_id is not None and year_id != homeroom.school_year_id:
        raise HomeroomError(
            f"{homeroom.name} is a homeroom of {homeroom.school_year.name}, not of the school "
            "year these enrollments belong to: a student can only join a homeroom of the same "
            "year. Nothing was changed."
        )
    ids = list(dict.fromkeys(student_ids))
    result = Plan(homeroom)
    statement = (
        select(Student, Enrollment)
        .outerjoin(
            Enrollment,
            (Enrollment.student_id == Student.id)
            & (Enrollment.school_year_id == homeroom.school_year_id),
        )
        .outerjoin(Homeroom, Homeroom.id == Enrollment.homeroom_id)
        .options(contains_eager(Enrollment.homeroom))
        .where(Student.id.in_(ids))
        .order_by(Student.name, Student.id)
    )
    year = homeroom.school_year.name
    rows: list[tuple[Student, Enrollment | None]] = (
        [(s, e) for s, e in db.session.execute(statement)] if ids else []
    )
    for student, enrollment in rows:
        if enrollment is None:
            result.refused.append((student.name, f"not enrolled in {year}"))
        elif enrollment.status != Status.ENROLLED.value:
            result.refused.append((student.name, f"{enrollment.status_label.lower()} in {year}"))
        elif enrollment.homeroom_id == homeroom.id:
            result.unchanged.append(student)
        else:
            current = enrollment.homeroom.name if enrollment.homeroom else None
            result.moves.append(Move(student, enrollment, current))
    result.total_after = student_count(homeroom.id) + len(result.moves)
    values = {"name": homeroom.name, "capacity": homeroom.capacity, STUDENTS: result.total_after}
    result.warnings = capacity_warnings(values) if result.moves else []
    return result


def apply(result: Plan, *, description: str | None = None) -> int:
    """Make the moves of a plan, each with its audit event, in one transaction; commit.

    Args:
        result: a plan from :func:`plan` in this session.
        description: the batch's line in the log, when the moves are a bulk action.

    Returns:
        How many students moved.

    Raises:
        HomeroomError: an enrollment changed meanwhile, or the database refused a move;
            nothing changed.
    """
    homeroom = result.homeroom
    batch = None
    if len(result.moves) > 1 or description:
        batch = trail.new_batch(
            "homeroom assignment",
            description or f"{len(result.moves)} students into {homeroom.name}",
        )
    try:
        for move in result.moves:
            _record_move(move, homeroom, batch=batch)
        db.session.commit()
    except (StaleDataError, IntegrityError) as error:
        db.session.rollback()
        raise HomeroomError(
            "Some of these students changed meanwhile; nothing was changed. Try again."
        ) from error
    return len(result.moves)


def _record_move(
    move: Move,
    homeroom: Homeroom | None,
    *,
    batch: AuditBatch | None = None,
    action: Action = Action.UPDATE,
    reverts: AuditEvent | None = None,
) -> None:
    """Set the enrollment's homeroom and add its audit event; flushes, no commit."""
    enrollment = move.enrollment
    old_id = enrollment.homeroom_id
    enrollment.homeroom_id = homeroom.id if homeroom else None
    db.session.flush()
    trail.record_event(
        action,
        Entity.ENROLLMENT,
        enrollment.id,
        {
            "homeroom": [move.from_name, homeroom.name if homeroom else None],
            "homeroom_id": [old_id, enrollment.homeroom_id],
        },
        student_id=move.student.id,
        student_name=move.student.name,
        note=f"school year {enrollment.school_year.name}",
        reverts=reverts,
        batch=batch,
    )


def take_out(enrollment: Enrollment, expected_version: int | None = None) -> None:
    """Take a student out of their homeroom (no homeroom that year), audited; commit.

    Raises:
        HomeroomError: the enrollment changed since ``expected_version``, or meanwhile.
    """
    if expected_version is not None and expected_version != enrollment.version:
        raise HomeroomError("This student's enrollment changed meanwhile; nothing was changed.")
    student = db.session.get(Student, enrollment.student_id)
    if enrollment.homeroom is None or student is None:
        return
    try:
        _record_move(Move(student, enrollment, enrollment.homeroom.name), None)
        db.session.commit()
    except (StaleDataError, IntegrityError) as error:
        db.session.rollback()
        raise HomeroomError("This student's enrollment changed meanwhile.") from error


def revert_move(event: AuditEvent) -> Student:
    """Put a student back where an audited move took them from, as a ``revert``; commit.

    Raises:
        HomeroomError: the enrollment or the student is gone, the student moved again
            since, or the old homeroom no longer exists.
    """
    enrollment = db.session.get(Enrollment, event.entity_id)
    student = db.session.get(Student, event.student_id) if event.student_id else None
    if enrollment is None or student is None:
        raise HomeroomError(f"This enrollment of {event.student_name} no longer exists.")
    old_id, new_id = event.changes["homeroom_id"]
    if enrollment.homeroom_id != new_id:
        raise HomeroomError(
            f"Not reverted: the homeroom of {student.name} changed again since. Assign the "
            "student on the class page instead."
        )
    target = db.session.get(Homeroom, old_id) if old_id is not None else None
    if old_id is not None and target is None:
        raise HomeroomError(f"Not reverted: the homeroom {event.changes['homeroom'][0]} is gone.")
    current = enrollment.homeroom.name if enrollment.homeroom else None
    try:
        _record_move(
            Move(student, enrollment, current), target, action=Action.REVERT, reverts=event
        )
        db.session.commit()
    except (StaleDataError, IntegrityError) as error:
        db.session.rollback()
        raise HomeroomError("Not reverted: the enrollment changed meanwhile.") from error
    return student


def confirmation_token(result: Plan) -> str:
    """What the capacity box must send to confirm exactly this plan's warning (``""``
    without one): a fingerprint of the warning and of the students moving in."""
    if not result.warnings:
        return ""
    values = {STUDENTS: result.total_after, "moving": sorted(m.student.id for m in result.moves)}
    return WarningsConfirmation(HOMEROOM, result.warnings, values).token
