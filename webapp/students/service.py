"""Student queries and writes shared by the views and the ``flask students`` commands.

Views stay thin: they parse the request, call one function here and render. Each write
function changes the session and commits once; on failure it rolls back and raises an
exception the caller can explain to the user.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import func, inspect, literal, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from webapp import trail
from webapp.extensions import db
from webapp.fields.student import STUDENT
from webapp.homerooms.scope import scoped
from webapp.models import Action, AuditEvent, Student, User
from webapp.students import enrollments, guardian_links
from webapp.years.service import current_year

DUPLICATE_EMAIL_MESSAGE = "Another student already has this email address."


class DuplicateEmailError(Exception):
    """Another student already has this email address (compared case-insensitively)."""


class StaleRecordError(Exception):
    """The record changed (or was deleted) since the version the user saw.

    Attributes:
        current_version: the version now stored, or ``None`` when the row is gone.
    """

    def __init__(self, current_version: int | None) -> None:
        super().__init__(current_version)
        self.current_version = current_version


def check_version(student: Student, expected_version: int | None) -> None:
    """Refuse a write based on a version of ``student`` other than the stored one.

    SQLAlchemy's ``version_id_col`` alone compares with the version *loaded in this
    request*, which is the current one; the version the user's form was rendered from
    must be compared too, or a stale form silently overwrites a newer save.

    Args:
        student: the persistent student, loaded in this transaction.
        expected_version: the version the form carried; ``None`` skips the check (a new
            record, or optimistic locking disabled by ``OPTIMISTIC_LOCKING = False``).

    Raises:
        StaleRecordError: when the versions differ.
    """
    if expected_version is not None and expected_version != student.version:
        raise StaleRecordError(student.version)


def email_taken(email: str | None, exclude_id: int | None = None) -> bool:
    """Return whether another student already uses ``email``, as the database compares.

    Both sides go through the database's ``lower()``, the function its unique index on
    ``lower(email)`` uses, so this agrees with the index (and with the import) on every
    address: on SQLite, whose ``lower()`` folds only A to Z, ``ÄDA@x.org`` and
    ``äda@x.org`` are two addresses; on PostgreSQL they are one.

    Args:
        email: the normalised address, or ``None`` (never taken).
        exclude_id: the student being edited, whose own address does not count.
    """
    if not email:
        return False
    statement = select(Student.id).where(func.lower(Student.email) == func.lower(email))
    if exclude_id is not None:
        statement = statement.where(Student.id != exclude_id)
    return db.session.execute(statement.limit(1)).first() is not None


#: Addresses per query of :func:`email_keys`.
EMAIL_KEYS_BATCH = 500


def email_keys(emails: Iterable[str]) -> dict[str, str]:
    """Map each address to its key in the unique index: the database's ``lower(email)``.

    Two addresses are the same student's when their keys are equal. ASCII addresses are
    folded in Python (``str.lower`` and the databases' ``lower()`` agree on A to Z); the
    others are folded by the database, a few hundred per query, since its ``lower()`` may
    fold fewer letters than Python does (SQLite's folds only A to Z).

    Args:
        emails: normalised addresses.

    Returns:
        ``{address: key}`` for every distinct address.
    """
    keys: dict[str, str] = {}
    others: list[str] = []
    for email in dict.fromkeys(emails):
        if email.isascii():
            keys[email] = email.lower()
        else:
            others.append(email)
    for start in range(0, len(others), EMAIL_KEYS_BATCH):
        batch = others[start : start + EMAIL_KEYS_BATCH]
        selects = [select(literal(email), func.lower(literal(email))) for email in batch]
        statement = selects[0] if len(selects) == 1 else union_all(*selects)
        keys.update((email, key) for email, key in db.session.execute(statement))
    return keys


def get_student(student_id: int, viewer: User | None = None) -> Student | None:
    """The student ``student_id``, if it exists and ``viewer`` may see it.

    Every page about one student loads it here, so the viewer's scope
    (:func:`webapp.homerooms.scope.scoped`) decides what a 404 is.
    """
    statement = scoped(select(Student).where(Student.id == student_id), viewer)
    student: Student | None = db.session.scalar(statement)
    return student


def deletion_event(student_id: int) -> AuditEvent | None:
    """The audit event that deleted the student, if it is deleted and the trail knows.

    Args:
        student_id: a student's id.

    Returns:
        The newest event of the student when it is a deletion, else ``None``.
    """
    statement = (
        select(AuditEvent)
        .where(AuditEvent.student_id == student_id)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    event = db.session.scalar(statement)
    return event if event is not None and event.action == Action.DELETE.value else None


def save_student(
    student: Student,
    values: Mapping[str, Any],
    expected_version: int | None = None,
    *,
    action: Action | None = None,
    reverts: AuditEvent | None = None,
    note: str | None = None,
    grade: int | None = None,
    kept_enrollments: list[Mapping[str, Any]] | None = None,
    kept_guardians: list[Mapping[str, Any]] | None = None,
) -> Student:
    """Apply ``values`` to ``student`` (new or existing), record it in the audit trail,
    and commit both in one transaction.

    A new student is enrolled in the current school year with ``grade`` (or gets back
    ``kept_enrollments``, on a restore), in the same transaction.

    Args:
        student: a transient ``Student()`` to create, or one loaded in this session.
        values: cleaned field values by name (see :data:`webapp.fields.student.STUDENT`);
            a blank (``None``) enrollment date means today for a new student and the
            stored date for an existing one (:meth:`RecordFields.complete`).
        expected_version: for an existing student, the version the user edited
            (see :func:`check_version`).
        action: how the audit trail calls the change; ``create`` or ``update`` by default
            (``revert`` and ``restore`` come from :mod:`webapp.audit.service`).
        reverts: the audit event a revert or restore undoes.
        note: where the change came from, for the audit trail.
        grade: for a new student, the grade in the current school year.
        kept_enrollments: for a restored student, the enrollments its deletion kept
            (:func:`webapp.students.enrollments.deleted_snapshot`).
        kept_guardians: for a restored student, the guardian links its deletion kept
            (:func:`webapp.students.guardian_links.kept_links`); guardians deleted since are
            left out.

    Returns:
        The saved student, with its id. A save that changes nothing writes nothing.

    Raises:
        StaleRecordError: the student changed since ``expected_version``, or another
            transaction changed or deleted it before this one committed; the session
            has been rolled back.
        DuplicateEmailError: the database found the email already in use (a concurrent
            save got there first); the session has been rolled back.
        IntegrityError: any other constraint violation; the session has been rolled back.
    """
    existing = inspect(student).persistent
    if existing:
        check_version(student, expected_version)
    before = STUDENT.snapshot(student) if existing else {}
    stored = {name: getattr(student, name) for name in values} if existing else None
    for name, value in STUDENT.complete(values, stored, date.today()).items():
        if name in trail.AUDITED_FIELDS:
            setattr(student, name, value)
    if not existing:
        db.session.add(student)
    try:
        db.session.flush()  # the id of a new student; the version check of an update
        changes = trail.diff(before, STUDENT.snapshot(student))
        if changes or not existing:
            default = Action.UPDATE if existing else Action.CREATE
            trail.record(
                action or default, student.id, student.name, changes, reverts=reverts, note=note
            )
        if not existing and kept_enrollments:
            enrollments.restore_enrollments(student, kept_enrollments)
        elif not existing and grade is not None:
            enrollments.add_enrollment(student, current_year(), grade)
        if not existing and kept_guardians:
            guardian_links.restore_links(student, kept_guardians, reverts)
        db.session.commit()
    except StaleDataError as error:
        db.session.rollback()
        raise StaleRecordError(_stored_version(student.id)) from error
    except IntegrityError as error:
        db.session.rollback()
        if "email" in str(error.orig).lower():
            raise DuplicateEmailError(values.get("email")) from error
        raise
    return student


def _stored_version(student_id: int | None) -> int | None:
    """Return the version now stored for ``student_id``, or ``None`` if the row is gone."""
    if student_id is None:
        return None
    return db.session.scalar(select(Student.version).where(Student.id == student_id))


def delete_student(student: Student, expected_version: int | None = None) -> None:
    """Delete ``student`` and commit.

    Args:
        student: the persistent student to delete.
        expected_version: the version the confirmation page showed (see
            :func:`check_version`).

    The audit trail keeps the student's last values, enrollments and guardian links, from
    which it can be restored; the database deletes the enrollments and links with the
    student (the guardians stay).

    Raises:
        StaleRecordError: the student changed since ``expected_version`` or meanwhile;
            the session has been rolled back.
        SQLAlchemyError: when the database refuses; the session has been rolled back.
    """
    check_version(student, expected_version)
    student_id = student.id
    last_values = STUDENT.snapshot(student)
    kept = enrollments.deleted_snapshot(student_id, current_year().id)
    links = guardian_links.kept_links(student_id)
    db.session.delete(student)
    try:
        db.session.flush()
        changes: dict[str, list[Any]] = {
            field: [value, None] for field, value in last_values.items()
        }
        # Not a field: what a restore puts back (the database deletes them with the student).
        changes["enrollments"] = [kept, None]
        if links:
            changes["guardians"] = [links, None]
        trail.record(Action.DELETE, student_id, last_values["name"], changes)
        db.session.commit()
    except StaleDataError as error:
        db.session.rollback()
        raise StaleRecordError(_stored_version(student_id)) from error
    except Exception:
        db.session.rollback()
        raise
