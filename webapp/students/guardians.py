"""Guardian writes, shared by the guardian pages and the audit trail's undo
(:mod:`webapp.audit.guardians`): a guardian's fields and numbers here, the links to
students in :mod:`webapp.students.guardian_links`, what both share in
:mod:`webapp.students.guardian_common`; the reads are
:mod:`webapp.students.guardian_queries`'.

Each write function changes the session, records its audit events (in the same
transaction, carrying the student's id so the student's history lists them) and commits
once; on failure it rolls back and raises an exception the caller explains to the user.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from webapp import trail
from webapp.extensions import db
from webapp.fields.guardian import GUARDIAN
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
from webapp.students.guardian_common import (
    GUARDIAN_FIELDS,
    Phones,
    StaleGuardianError,
    check_version,
    commit_or_stale,
    flush_or_stale,
    link_snapshot,
    note,
    record,
    snapshot,
    stored_version,
)
from webapp.students.guardian_links import add_link, update_link


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
        note(guardian),
    )
    return add_link(student, guardian, link, commit=True)


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
    flush_or_stale(lambda: stored_version(Guardian, guardian.id))
    record(action, Entity.GUARDIAN, guardian.id, changes, student, note(guardian), reverts)
    if commit:
        commit_or_stale(lambda: stored_version(Guardian, guardian.id))
    return guardian


def delete_guardian(guardian: Guardian, expected_version: int | None, student: Student) -> None:
    """Delete a guardian, their numbers and every link to a student; commits.

    The audit event (in ``student``'s history) keeps the guardian's values and links,
    from which the audit trail brings them back (:mod:`webapp.audit.guardians`).

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
    flush_or_stale(lambda: stored_version(Guardian, guardian_id))
    changes: dict[str, list[Any]] = {field: [value, None] for field, value in last.items()}
    changes["links"] = [links, None]
    record(Action.DELETE, Entity.GUARDIAN, guardian_id, changes, student, note(name))
    commit_or_stale(lambda: None)


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
    commit_or_stale(lambda: stored_version(Guardian, link.guardian_id))
    return link
