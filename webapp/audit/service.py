"""Reading the audit trail, and undoing changes from it.

What Django admin's history does, plus undo: an update of a student or of an enrollment
(a grade or status change) can be reverted (if its fields were not changed again since)
and a deleted student restored with its enrollments, each as a new change that is itself
audited. A change that was part of a bulk action (a rollover) is undone with the whole
action, on the school years page.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, false, func, select

from webapp.audit import guardians as guardian_undo
from webapp.auth.service import find_user
from webapp.extensions import db
from webapp.fields.base import Field
from webapp.fields.enrollment import ENROLLMENT
from webapp.fields.guardian import GUARDIAN, GUARDIAN_LINK
from webapp.fields.homeroom import HOMEROOM, HOMEROOM_CHANGE, TEACHERS_CHANGE
from webapp.fields.school_year import SCHOOL_YEAR
from webapp.fields.student import STUDENT
from webapp.homerooms import assignments
from webapp.homerooms.service import HomeroomError
from webapp.models import Action, AuditEvent, Enrollment, Entity, Role, Student, User
from webapp.models.types import MAX_ID
from webapp.paging import Page, bounded_page
from webapp.students import enrollments
from webapp.students import service as students
from webapp.students.guardian_common import StaleGuardianError

#: Every audited field an event may name, for the change tables: a student's, an
#: enrollment's (which also shows the grade that events from before revision 0011
#: recorded on the student, and the homeroom a student moved between), a school year's,
#: a homeroom's (its room, capacity and teachers; name and grade are named above), a
#: guardian's and a guardian link's.
AUDITED_FIELDS: tuple[Field[object], ...] = (
    *STUDENT.audited,
    *ENROLLMENT.audited,
    HOMEROOM_CHANGE,  # type: ignore[arg-type]  # (a Field[str] is a Field[object] here)
    *(field for field in HOMEROOM.audited if field.name in {"room", "capacity"}),
    TEACHERS_CHANGE,  # type: ignore[arg-type]  # (as above)
    *(field for field in SCHOOL_YEAR.audited if field.name not in STUDENT.by_name),
    *(field for field in GUARDIAN.audited if field.name not in STUDENT.by_name),
    *GUARDIAN_LINK.audited,
)
#: The kinds of record whose events :mod:`webapp.guardians.undo` undoes.
GUARDIAN_ENTITIES = frozenset({Entity.GUARDIAN.value, Entity.GUARDIAN_LINK.value})


class UndoError(Exception):
    """A revert or restore was refused; ``str(error)`` says why, for the user."""


def history(student_id: int) -> list[AuditEvent]:
    """Every event of one student, newest first."""
    statement = (
        select(AuditEvent).where(AuditEvent.student_id == student_id).order_by(AuditEvent.id.desc())
    )
    return list(db.session.scalars(statement))


def undone_by(events: list[AuditEvent]) -> dict[int, AuditEvent]:
    """Map the id of each event in ``events`` that was reverted/restored to its undoing event."""
    ids = [event.id for event in events]
    if not ids:
        return {}
    statement = select(AuditEvent).where(AuditEvent.reverts_id.in_(ids))
    return {
        event.reverts_id: event
        for event in db.session.scalars(statement)
        if event.reverts_id is not None
    }


def _refuse_if_undone(event: AuditEvent, what: str) -> None:
    """Raise :class:`UndoError` when another event already reverted or restored ``event``.

    The buttons of an undone event are hidden, but a request can name any event id, so the
    server checks too (issue 18, finding 7).
    """
    undoing = db.session.scalar(
        select(AuditEvent).where(AuditEvent.reverts_id == event.id).limit(1)
    )
    if undoing is not None:
        raise UndoError(
            f"Not done: this {what} was already undone on "
            f"{undoing.occurred_at:%-d %B %Y at %H:%M} UTC by {undoing.actor}."
        )


def revert(event: AuditEvent) -> Student:
    """Put back the old values of an update, as a new update recorded as ``revert``; commits.

    Raises:
        UndoError: the event is not an update or revert; it was reverted already; the
            student was deleted; or a field of it was changed again since, so reverting
            would overwrite that later change (the message names the fields).
        DuplicateEmailError: the old email now belongs to another student.
    """
    if event.action not in {Action.UPDATE, Action.REVERT}:
        raise UndoError("Only a change to a student can be reverted.")
    _refuse_if_undone(event, "change")
    if event.batch is not None and event.batch.kind.startswith("rollover"):
        raise UndoError(
            "This change was part of a rollover: undo the whole rollover on the school years "
            "page instead."
        )
    if event.entity == Entity.ENROLLMENT and "homeroom_id" in event.changes:
        try:
            return assignments.revert_move(event)
        except HomeroomError as error:
            raise UndoError(str(error)) from error
    if event.entity == Entity.ENROLLMENT:
        return revert_enrollment(event)
    if event.entity in GUARDIAN_ENTITIES:
        return _undo_guardian(guardian_undo.revert, event)
    if event.entity != Entity.STUDENT or event.student_id is None:
        raise UndoError("Only a change to a student or an enrollment can be reverted here.")
    student = db.session.get(Student, event.student_id)
    if student is None:
        raise UndoError(f"{event.student_name} has been deleted; restore the student first.")
    current = STUDENT.snapshot(student)
    moved = [field for field, (_, new) in event.changes.items() if current.get(field) != new]
    if "grade" in moved and "grade" not in STUDENT.by_name:
        raise UndoError(
            "Not reverted: this change from before school years were kept included the "
            "grade, which is now per school year. Change the grade on the student's page."
        )
    if moved:
        raise UndoError(
            "Not reverted: "
            + ", ".join(field.replace("_", " ") for field in moved)
            + f" of {student.name} changed again since. Edit the student instead."
        )
    values = STUDENT.from_json({field: old for field, (old, _) in event.changes.items()})
    return students.save_student(
        student, values, expected_version=student.version, action=Action.REVERT, reverts=event
    )


def _undo_guardian(undo: Callable[[AuditEvent], Student], event: AuditEvent) -> Student:
    """Run a guardian undo, its refusals turned into :class:`UndoError`."""
    try:
        return undo(event)
    except guardian_undo.GuardianUndoError as error:
        raise UndoError(str(error)) from error
    except StaleGuardianError as error:
        raise UndoError("Not done: the guardian changed meanwhile. Try again.") from error


def revert_enrollment(event: AuditEvent) -> Student:
    """Put back the old grade or status of an enrollment change, recorded as ``revert``;
    commits.

    Raises:
        UndoError: the enrollment no longer exists, or a field of it changed again since.
        StaleEnrollmentError: it changed meanwhile.
    """
    enrollment = db.session.get(Enrollment, event.entity_id)
    student = db.session.get(Student, event.student_id) if event.student_id else None
    if enrollment is None or student is None:
        raise UndoError(f"This enrollment of {event.student_name} no longer exists.")
    current = enrollments.snapshot(enrollment)
    moved = [field for field, (_, new) in event.changes.items() if current.get(field) != new]
    if moved:
        raise UndoError(
            "Not reverted: "
            + ", ".join(ENROLLMENT[field].noun for field in moved if field in ENROLLMENT.by_name)
            + f" of {student.name} in {enrollment.school_year.name} changed again since. "
            "Change the enrollment instead."
        )
    values = ENROLLMENT.from_json({field: old for field, (old, _) in event.changes.items()})
    try:
        enrollments.save_enrollment(
            enrollment, values, enrollment.version, action=Action.REVERT, reverts=event
        )
    except enrollments.EnrollmentError as error:
        raise UndoError(f"Not reverted: {error}") from error
    return student


def restore(event: AuditEvent) -> Student:
    """Bring back a deleted student with its id and last values, recorded as ``restore``;
    commits.

    Only the student's latest event can be restored, and only while it is a deletion: an
    older deletion (one restored since, after which the student changed and was deleted
    again) would bring back stale values and silently drop the later changes.

    Raises:
        UndoError: the event is not a deletion; the student exists again; the deletion
            was restored already; or it is not the student's latest event.
        DuplicateEmailError: its email now belongs to another student.
    """
    if event.action == Action.DELETE and event.entity in GUARDIAN_ENTITIES:
        _refuse_if_undone(event, "deletion")
        return _undo_guardian(guardian_undo.restore, event)
    if event.action != Action.DELETE or event.entity != Entity.STUDENT:
        raise UndoError("Only a deleted student can be restored.")
    if db.session.get(Student, event.student_id) is not None:
        raise UndoError(f"{event.student_name} exists already; nothing to restore.")
    _refuse_if_undone(event, "deletion")
    latest = db.session.scalar(
        select(func.max(AuditEvent.id)).where(AuditEvent.student_id == event.student_id)
    )
    if latest != event.id:
        raise UndoError(
            f"Not restored: {event.student_name} changed after this deletion. Only the "
            "latest deletion can be restored, with the values the student had last."
        )
    values = STUDENT.from_json({field: old for field, (old, _) in event.changes.items()})
    kept = event.changes.get("enrollments", [None])[0]
    # A deletion from before school years were kept recorded the grade on the student.
    grade = event.changes.get("grade", [None])[0]
    student = Student(id=event.student_id)
    return students.save_student(
        student,
        values,
        action=Action.RESTORE,
        reverts=event,
        grade=grade,
        kept_enrollments=kept,
        kept_guardians=event.changes.get("guardians", [None])[0],
    )


#: The audit log counts its events up to this many ("more than 10,000"): one index scan
#: of at most that many entries, whatever the size of the trail.
LOG_COUNT_LIMIT = 10_000
#: Most accounts the log's account filter suggests.
ACCOUNT_SUGGESTIONS = 50


def account_id(text: str) -> int | None:
    """The id of the account ``text`` names: its email address (case ignored), or its
    id as digits (older links); ``None`` when there is no such account."""
    text = text.strip()
    if text.isdecimal() and len(text) < 20:
        number = int(text)
        if 0 < number <= MAX_ID and db.session.get(User, number) is not None:
            return number
        return None
    user = find_user(text)
    return user.id if user is not None else None


def account_suggestions() -> list[str]:
    """Email addresses the log's account filter suggests: up to
    :data:`ACCOUNT_SUGGESTIONS` administrators and editors, by address (the accounts
    that make most changes; a teacher's is typed)."""
    statement = (
        select(User.email)
        .where(User.role.in_([Role.ADMIN.value, Role.EDITOR.value]))
        .order_by(User.email)
        .limit(ACCOUNT_SUGGESTIONS)
    )
    return list(db.session.scalars(statement))


#: How far an event's ``occurred_at`` may lag behind one with a higher id (events are
#: numbered when written, timed just before; concurrent transactions interleave). The
#: date filters read ids within this margin of the dates and check the dates exactly.
CLOCK_MARGIN = timedelta(hours=1)


def _id_bound(moment: datetime, *, lower: bool) -> ColumnElement[bool]:
    """A condition on ``id`` no narrower than "occurred at or after (before) ``moment``",
    from one probe of the ``occurred_at`` index; false when no event can qualify."""
    if lower:
        earliest = datetime.min.replace(tzinfo=UTC) + CLOCK_MARGIN  # (0001-01-01 less a margin)
        probe = select(AuditEvent.id).where(
            AuditEvent.occurred_at >= max(moment, earliest) - CLOCK_MARGIN
        )
        found = db.session.scalar(probe.order_by(AuditEvent.occurred_at).limit(1))
        return AuditEvent.id >= found if found is not None else false()
    latest = datetime.max.replace(tzinfo=UTC) - CLOCK_MARGIN
    probe = select(AuditEvent.id).where(AuditEvent.occurred_at < min(moment, latest) + CLOCK_MARGIN)
    found = db.session.scalar(probe.order_by(AuditEvent.occurred_at.desc()).limit(1))
    return AuditEvent.id <= found if found is not None else false()


def log_statement(
    user_id: int | None = None,
    action: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> Select[AuditEvent]:
    """The site-wide log, newest first, filtered by account, action and date range.

    Every combination reads an index ending in ``id`` from its newest entry (migration
    0015): the dates become a range of ids (one probe each of the ``occurred_at``
    index, see :data:`CLOCK_MARGIN`), so the first page costs about the same at any
    size of the trail.

    Args:
        user_id: only this account's changes.
        action: only this :class:`Action` value.
        since: from this day on (UTC), inclusive.
        until: up to this day (UTC), inclusive.
    """
    statement = select(AuditEvent).order_by(AuditEvent.id.desc())
    occurred_at = _exact_date_check(AuditEvent.occurred_at)
    if user_id is not None:
        statement = statement.where(AuditEvent.user_id == user_id)
    if action:
        statement = statement.where(AuditEvent.action == action)
    if since:
        start = datetime.combine(since, time(), tzinfo=UTC)
        statement = statement.where(_id_bound(start, lower=True), occurred_at >= start)
    if until and until < date.max:  # (the day after date.max does not exist)
        end = datetime.combine(until + timedelta(days=1), time(), tzinfo=UTC)
        statement = statement.where(_id_bound(end, lower=False), occurred_at < end)
    return statement


def _exact_date_check(column: Any) -> ColumnElement[datetime]:
    """``column`` as the date filters re-check it within their range of ids.

    On SQLite, an expression no index serves: its planner would otherwise read the whole
    date range by ``occurred_at`` and sort it, instead of reading the newest ids first and
    stopping at a page. On PostgreSQL, the column itself: its planner has statistics for
    the column (none for an expression), so it estimates the range's rows well and counts
    a filter from the ``(user_id, action, id)`` index (measured in bench/results/scale.md).
    """
    if db.session.get_bind().dialect.name == "sqlite":
        return func.coalesce(column, column)
    return column  # type: ignore[no-any-return]


def log_page(statement: Select[AuditEvent], number: int, per_page: int) -> Page:
    """Page ``number`` of the log ``statement``, with a total counted up to
    :data:`LOG_COUNT_LIMIT` (:func:`webapp.paging.bounded_page`).

    Args:
        statement: from :func:`log_statement`.
        number: 1-based page number; past the end gives the last page (or, beyond a
            bounded total, an empty page).
        per_page: events a page.

    Returns:
        The page; its items are :class:`AuditEvent` objects.
    """
    return bounded_page(statement, AuditEvent.id, number, per_page, LOG_COUNT_LIMIT)
