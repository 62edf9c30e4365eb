"""Guardian links: linking a guardian to a student, changing or removing the link, and
bringing a deleted student's links back; shared by the guardian pages and the audit
trail's undo. Each write records its audit event in the student's history, in the same
transaction (see :mod:`webapp.students.guardians`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp import trail
from webapp.extensions import db
from webapp.models import (
    Action,
    AuditEvent,
    Entity,
    Guardian,
    Student,
    StudentGuardian,
)
from webapp.students.guardian_common import (
    LINK_FIELDS,
    AlreadyLinkedError,
    StaleGuardianError,
    check_version,
    commit_or_stale,
    flush_or_stale,
    link_snapshot,
    note,
    record,
    stored_version,
)


def add_link(
    student: Student,
    guardian: Guardian,
    values: Mapping[str, Any],
    *,
    commit: bool,
    reverts: AuditEvent | None = None,
) -> StudentGuardian:
    """Link ``guardian`` to ``student`` with ``values`` and record the link's creation (or
    its restoring, with ``reverts``); commits when ``commit`` is true.

    Raises:
        IntegrityError: the link exists already (from the flush; not rolled back here).
        StaleGuardianError: from the commit.
    """
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
        note(guardian),
        reverts,
    )
    if commit:
        commit_or_stale(lambda: None)
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
        return add_link(student, guardian, values, commit=True, reverts=reverts)
    except IntegrityError as error:
        db.session.rollback()
        raise AlreadyLinkedError() from error


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
    flush_or_stale(lambda: stored_version(StudentGuardian, key))
    student = db.session.get(Student, link.student_id)
    record(
        action,
        Entity.GUARDIAN_LINK,
        link.guardian_id,
        changes,
        student,
        note(link.guardian),
        reverts,
    )
    if commit:
        commit_or_stale(lambda: stored_version(StudentGuardian, key))
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
    flush_or_stale(lambda: stored_version(StudentGuardian, key))
    changes = {field: [value, None] for field, value in last.items()}
    record(Action.DELETE, Entity.GUARDIAN_LINK, guardian_id, changes, student, note(name))
    commit_or_stale(lambda: None)


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
            note(names[guardian_id]),
            reverts,
        )
