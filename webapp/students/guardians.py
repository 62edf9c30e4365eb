"""Guardian writes, shared by the guardian pages and the audit trail's undo
(:mod:`webapp.audit.guardians`); the reads are :mod:`webapp.students.guardian_queries`'.

Each write function changes the session, records its audit events (in the same
transaction, carrying the student's id so the student's history lists them) and commits
once; on failure it rolls back and raises an exception the caller explains to the user.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from webapp import trail
from webapp.extensions import db
from webapp.fields.guardian import GUARDIAN, GUARDIAN_LINK
from webapp.models import (
    Action,
    AuditEvent,
    Entity,
    Guardian,
    GuardianPhone,
    Student,
    StudentGuardian,
)
from webapp.models.types import utcnow

#: The guardian fields a form sets (the phones are set apart, as rows).
GUARDIAN_FIELDS = tuple(field.name for field in GUARDIAN.form_fields)
LINK_FIELDS = tuple(field.name for field in GUARDIAN_LINK.fields)
ALREADY_LINKED_MESSAGE = "This guardian is already linked to this student."


class GuardianError(Exception):
    """A change to a guardian or a link was refused; ``str(error)`` says why, for the user."""


class AlreadyLinkedError(GuardianError):
    """The guardian is linked to the student already (the link's primary key)."""

    def __init__(self) -> None:
        super().__init__(ALREADY_LINKED_MESSAGE)


class StaleGuardianError(GuardianError):
    """The guardian or the link changed (or went) since the version the user saw.

    Attributes:
        current_version: the version now stored, or ``None`` when the row is gone.
    """

    def __init__(self, current_version: int | None) -> None:
        super().__init__(
            "Someone else changed this guardian while you were editing; nothing was saved. "
            "The form now shows the stored values."
        )
        self.current_version = current_version


Phones = Sequence[tuple[str, str]]


# --- writes --------------------------------------------------------------------------------


def snapshot(guardian: Guardian) -> dict[str, Any]:
    """The guardian's audited fields (name, email, language, phones), as the trail keeps them."""
    return GUARDIAN.snapshot(guardian)


def link_snapshot(link: StudentGuardian) -> dict[str, Any]:
    """The link's audited fields (relationship, contact order, the three flags)."""
    return GUARDIAN_LINK.snapshot(link)


def _note(guardian: Guardian | str) -> str:
    name = guardian if isinstance(guardian, str) else guardian.name
    return f"guardian {name}"


def set_phones(guardian: Guardian, phones: Phones) -> None:
    """Make ``guardian``'s numbers ``phones`` (``(kind, E.164)`` pairs), in that order.

    Rows are changed in place by position, added or removed at the end, so no two rows
    ever share a key within the flush.
    """
    rows = guardian.phone_rows
    for position, (kind, number) in enumerate(phones, start=1):
        if position <= len(rows):
            rows[position - 1].kind, rows[position - 1].number = kind, number
        else:
            rows.append(GuardianPhone(position=position, kind=kind, number=number))
    del rows[len(phones) :]


def _apply(guardian: Guardian, values: Mapping[str, Any], phones: Phones) -> None:
    for name in GUARDIAN_FIELDS:
        if name in values:
            setattr(guardian, name, values[name])
    set_phones(guardian, phones)


def _commit(version_of: Callable[[], int | None]) -> None:
    """Commit; on a lost optimistic lock roll back and raise :class:`StaleGuardianError`."""
    try:
        db.session.commit()
    except StaleDataError as error:
        db.session.rollback()
        raise StaleGuardianError(version_of()) from error
    except Exception:
        db.session.rollback()
        raise


def _flush(version_of: Callable[[], int | None]) -> None:
    """Flush; on a lost optimistic lock roll back and raise :class:`StaleGuardianError`
    with ``version_of()``, the version now stored."""
    try:
        db.session.flush()
    except StaleDataError as error:
        db.session.rollback()
        raise StaleGuardianError(version_of()) from error


def commit() -> None:
    """Commit the session (rolled back on failure, and the error raised again)."""
    _commit(lambda: None)


def check_version(stored: int, expected: int | None) -> None:
    """Refuse a write based on a version other than the stored one (``None``: no check).

    Raises:
        StaleGuardianError: the versions differ.
    """
    if expected is not None and expected != stored:
        raise StaleGuardianError(stored)


def record(
    action: Action,
    entity: Entity,
    entity_id: int,
    changes: Mapping[str, list[Any]],
    student: Student | None,
    note: str,
    reverts: AuditEvent | None = None,
) -> None:
    """Add an audit event about a guardian or a link, in ``student``'s history; no commit."""
    trail.record_event(
        action,
        entity,
        entity_id,
        changes,
        student_id=student.id if student else None,
        student_name=student.name if student else None,
        note=note,
        reverts=reverts,
    )


def create_guardian(
    student: Student,
    values: Mapping[str, Any],
    phones: Phones,
    link: Mapping[str, Any],
) -> StudentGuardian:
    """Add a new guardian with ``phones`` and link them to ``student``; commits.

    Two audit events: the guardian's creation and the link's, both in the student's
    history.

    Args:
        student: the student (loaded through the viewer's scope).
        values: cleaned guardian fields (:data:`webapp.fields.guardian.GUARDIAN`).
        phones: ``(kind, E.164 number)`` pairs, in order.
        link: cleaned link fields (:data:`webapp.fields.guardian.GUARDIAN_LINK`).

    Returns:
        The new link (its guardian has an id).
    """
    guardian = Guardian()
    _apply(guardian, values, phones)
    db.session.add(guardian)
    db.session.flush()
    after = snapshot(guardian)
    record(
        Action.CREATE,
        Entity.GUARDIAN,
        guardian.id,
        {name: [None, value] for name, value in after.items()},
        student,
        _note(guardian),
    )
    return _add_link(student, guardian, link, commit=True)


def _add_link(
    student: Student,
    guardian: Guardian,
    values: Mapping[str, Any],
    *,
    commit: bool,
    reverts: AuditEvent | None = None,
) -> StudentGuardian:
    link = StudentGuardian(student_id=student.id, guardian_id=guardian.id)
    for name in LINK_FIELDS:
        setattr(link, name, values.get(name))
    link.guardian = guardian
    db.session.add(link)
    db.session.flush()
    action = Action.RESTORE if reverts else Action.CREATE
    record(
        action,
        Entity.GUARDIAN_LINK,
        guardian.id,
        {name: [None, value] for name, value in link_snapshot(link).items()},
        student,
        _note(guardian),
        reverts,
    )
    if commit:
        _commit(lambda: None)
    return link


def link_guardian(
    student: Student,
    guardian: Guardian,
    values: Mapping[str, Any],
    *,
    reverts: AuditEvent | None = None,
) -> StudentGuardian:
    """Link an existing guardian to ``student`` with the link's ``values``; commits.

    Raises:
        AlreadyLinkedError: the guardian is linked to the student already (checked
            first; the primary key holds it against a concurrent link too); nothing
            changed.
    """
    if db.session.get(StudentGuardian, (student.id, guardian.id)) is not None:
        raise AlreadyLinkedError()
    try:
        return _add_link(student, guardian, values, commit=True, reverts=reverts)
    except IntegrityError as error:
        db.session.rollback()
        raise AlreadyLinkedError() from error


def update_guardian(
    guardian: Guardian,
    values: Mapping[str, Any],
    phones: Phones,
    expected_version: int | None,
    student: Student | None,
    *,
    action: Action = Action.UPDATE,
    reverts: AuditEvent | None = None,
    commit: bool = True,
) -> Guardian:
    """Change a guardian's fields and numbers; commits. A save changing nothing writes nothing.

    Args:
        guardian: the guardian, loaded in this session.
        values: cleaned guardian fields.
        phones: the numbers it is to have, in order.
        expected_version: the version the form was rendered from (``None``: no check).
        student: the student whose page the change came from (its history lists it).
        action: ``update``, or ``revert`` from the audit trail.
        reverts: the event a revert undoes.
        commit: ``False`` leaves the commit to the caller (:func:`edit_guardian`).

    Raises:
        StaleGuardianError: the guardian changed since ``expected_version``, or meanwhile;
            the session has been rolled back.
    """
    try:
        check_version(guardian.version, expected_version)
    except StaleGuardianError:
        db.session.rollback()
        raise
    before = snapshot(guardian)
    _apply(guardian, values, phones)
    after = snapshot(guardian)
    changes = trail.diff(before, after, GUARDIAN.names)
    if not changes:
        return guardian
    # Phones live in their own rows: touching the guardian bumps its version all the same.
    guardian.updated_at = utcnow()
    _flush(lambda: _version(Guardian, guardian.id))
    record(action, Entity.GUARDIAN, guardian.id, changes, student, _note(guardian), reverts)
    if commit:
        _commit(lambda: _version(Guardian, guardian.id))
    return guardian


def delete_guardian(guardian: Guardian, expected_version: int | None, student: Student) -> None:
    """Delete a guardian, their numbers and every link to a student; commits.

    The audit event (in ``student``'s history) keeps the guardian's values and links,
    from which :func:`restore_guardian` brings them back.

    Raises:
        StaleGuardianError: the guardian changed since ``expected_version``, or meanwhile.
    """
    check_version(guardian.version, expected_version)
    last = snapshot(guardian)
    links = [
        {"student_id": link.student_id, **link_snapshot(link)}
        for link in db.session.scalars(
            select(StudentGuardian).where(StudentGuardian.guardian_id == guardian.id)
        )
    ]
    guardian_id, name = guardian.id, guardian.name
    db.session.delete(guardian)
    _flush(lambda: _version(Guardian, guardian_id))
    changes: dict[str, list[Any]] = {field: [value, None] for field, value in last.items()}
    changes["links"] = [links, None]
    record(Action.DELETE, Entity.GUARDIAN, guardian_id, changes, student, _note(name))
    _commit(lambda: None)


def update_link(
    link: StudentGuardian,
    values: Mapping[str, Any],
    expected_version: int | None,
    *,
    action: Action = Action.UPDATE,
    reverts: AuditEvent | None = None,
    commit: bool = True,
) -> StudentGuardian:
    """Change what is true of a guardian for a student (relationship, flags, order); commits
    unless ``commit`` is false.

    Raises:
        StaleGuardianError: the link changed since ``expected_version``, or meanwhile; the
            session has been rolled back.
    """
    try:
        check_version(link.version, expected_version)
    except StaleGuardianError:
        db.session.rollback()
        raise
    before = link_snapshot(link)
    for name in LINK_FIELDS:
        if name in values:
            setattr(link, name, values[name])
    changes = trail.diff(before, link_snapshot(link), LINK_FIELDS)
    if not changes:
        return link
    key = (link.student_id, link.guardian_id)
    _flush(lambda: _version(StudentGuardian, key))
    student = db.session.get(Student, link.student_id)
    record(
        action,
        Entity.GUARDIAN_LINK,
        link.guardian_id,
        changes,
        student,
        _note(link.guardian),
        reverts,
    )
    if commit:
        _commit(lambda: _version(StudentGuardian, key))
    return link


def edit_guardian(
    link: StudentGuardian,
    values: Mapping[str, Any],
    phones: Phones,
    guardian_version: int | None,
    link_values: Mapping[str, Any],
    link_version: int | None,
) -> StudentGuardian:
    """Save the guardian's fields and numbers and the link's, in one transaction; commits.

    Up to two audit events (the guardian's change, the link's), both in the student's
    history; nothing is written when nothing changed.

    Raises:
        StaleGuardianError: either changed since the form's versions, or meanwhile; the
            session has been rolled back and nothing was saved.
    """
    student = db.session.get(Student, link.student_id)
    check_version(link.version, link_version)
    update_guardian(link.guardian, values, phones, guardian_version, student, commit=False)
    update_link(link, link_values, link_version, commit=False)
    _commit(lambda: _version(Guardian, link.guardian_id))
    return link


def unlink(link: StudentGuardian, expected_version: int | None) -> None:
    """Remove a guardian from a student (the guardian stays, with their other students); commits.

    Raises:
        StaleGuardianError: the link changed since ``expected_version``, or meanwhile.
    """
    check_version(link.version, expected_version)
    last = link_snapshot(link)
    student = db.session.get(Student, link.student_id)
    guardian_id, name = link.guardian_id, link.guardian.name
    key = (link.student_id, link.guardian_id)
    db.session.delete(link)
    _flush(lambda: _version(StudentGuardian, key))
    changes = {field: [value, None] for field, value in last.items()}
    record(Action.DELETE, Entity.GUARDIAN_LINK, guardian_id, changes, student, _note(name))
    _commit(lambda: None)


def kept_links(student_id: int) -> list[dict[str, Any]]:
    """The student's guardian links as a deletion of the student keeps them (the database
    deletes the links with the student): ``[{"guardian_id": ..., field: value}, ...]``."""
    statement = select(StudentGuardian).where(StudentGuardian.student_id == student_id)
    return [
        {"guardian_id": link.guardian_id, **link_snapshot(link)}
        for link in db.session.scalars(statement)
    ]


def restore_links(
    student: Student, kept: Sequence[Mapping[str, Any]], reverts: AuditEvent | None
) -> None:
    """Link a restored student to the guardians :func:`kept_links` kept, those that still
    exist, each with an audit event; no commit."""
    ids = [link["guardian_id"] for link in kept]
    named = select(Guardian.id, Guardian.name).where(Guardian.id.in_(ids))
    names: dict[int, str] = dict(db.session.execute(named).all())
    for values in kept:
        guardian_id = values["guardian_id"]
        if guardian_id not in names:
            continue  # deleted since
        link = StudentGuardian(student_id=student.id, guardian_id=guardian_id)
        for name in LINK_FIELDS:
            setattr(link, name, values.get(name))
        db.session.add(link)
        db.session.flush()
        changes = {name: [None, value] for name, value in link_snapshot(link).items()}
        record(
            Action.RESTORE,
            Entity.GUARDIAN_LINK,
            guardian_id,
            changes,
            student,
            _note(names[guardian_id]),
            reverts,
        )


def _version(model: type[Guardian] | type[StudentGuardian], key: Any) -> int | None:
    """The version now stored for ``key``, or ``None`` when the row is gone."""
    row = db.session.get(model, key, populate_existing=True)
    return None if row is None else int(getattr(row, "version"))  # noqa: B009
