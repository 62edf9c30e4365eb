"""Undoing guardian changes from the audit trail, "like students": a change to a guardian
or to a link is reverted (if its fields were not changed again since), an unlinked
guardian is linked again, and a deleted guardian restored with their numbers and links.
Each undo is itself a change, audited, that the audit feature's buttons call.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from webapp.extensions import db
from webapp.fields.guardian import GUARDIAN, GUARDIAN_LINK
from webapp.models import Action, AuditEvent, Entity, Guardian, Student, StudentGuardian
from webapp.students import guardian_common as common
from webapp.students import guardian_links as links
from webapp.students import guardian_queries as queries
from webapp.students import guardians as service


class GuardianUndoError(Exception):
    """An undo was refused; ``str(error)`` says why, for the user."""


def _student(event: AuditEvent) -> Student:
    student = db.session.get(Student, event.student_id) if event.student_id else None
    if student is None:
        raise GuardianUndoError(
            f"{event.student_name} has been deleted; restore the student first."
        )
    return student


def _moved(event: AuditEvent, current: dict[str, Any]) -> list[str]:
    """The fields of ``event`` whose value changed again since."""
    return [field for field, (_, new) in event.changes.items() if current.get(field) != new]


def _old_values(event: AuditEvent) -> dict[str, Any]:
    return {field: old for field, (old, _) in event.changes.items()}


def revert(event: AuditEvent) -> Student:
    """Put back the old values of an update of a guardian or a link; commits.

    Returns:
        The student whose history holds the event.

    Raises:
        GuardianUndoError: the guardian or link is gone, or changed again since.
        StaleGuardianError: it changed meanwhile.
    """
    student = _student(event)
    if event.entity == Entity.GUARDIAN:
        guardian = queries.get_guardian(event.entity_id)
        if guardian is None:
            raise GuardianUndoError("This guardian has been deleted; restore them first.")
        moved = _moved(event, common.snapshot(guardian))
        if moved:
            raise GuardianUndoError(
                "Not reverted: "
                + ", ".join(GUARDIAN[field].noun for field in moved if field in GUARDIAN.by_name)
                + f" of {guardian.name} changed again since. Edit the guardian instead."
            )
        old = _old_values(event)
        values = {name: old.get(name, getattr(guardian, name)) for name in common.GUARDIAN_FIELDS}
        phones = old.get("phones", guardian.phones)
        service.update_guardian(
            guardian,
            values,
            [(kind, number) for kind, number in phones],
            guardian.version,
            student,
            action=Action.REVERT,
            reverts=event,
        )
        return student
    link = queries.get_link(student.id, event.entity_id)
    if link is None:
        raise GuardianUndoError("This guardian is no longer linked to the student.")
    moved = _moved(event, common.link_snapshot(link))
    if moved:
        raise GuardianUndoError(
            "Not reverted: "
            + ", ".join(GUARDIAN_LINK[field].noun for field in moved)
            + f" of {link.guardian.name} changed again since. Change the link instead."
        )
    links.update_link(link, _old_values(event), link.version, action=Action.REVERT, reverts=event)
    return student


def restore(event: AuditEvent) -> Student:
    """Undo a deletion: link an unlinked guardian again, or bring back a deleted guardian
    with their id, values, numbers and the links to students that still exist; commits.

    Raises:
        GuardianUndoError: the guardian (or link) exists again, or is gone for good.
    """
    student = _student(event)
    old = _old_values(event)
    if event.entity == Entity.GUARDIAN_LINK:
        guardian = queries.get_guardian(event.entity_id)
        if guardian is None:
            raise GuardianUndoError("This guardian has been deleted; restore them first.")
        try:
            links.link_guardian(student, guardian, old, reverts=event)
        except common.AlreadyLinkedError as error:
            raise GuardianUndoError(f"Not done: {error}") from error
        return student
    if db.session.get(Guardian, event.entity_id) is not None:
        raise GuardianUndoError("This guardian exists already; nothing to restore.")
    guardian = Guardian(id=event.entity_id)
    for name in common.GUARDIAN_FIELDS:
        setattr(guardian, name, old.get(name))
    service.set_phones(guardian, [(kind, number) for kind, number in old.get("phones") or []])
    db.session.add(guardian)
    db.session.flush()
    restored = common.snapshot(guardian)
    common.record(
        Action.RESTORE,
        Entity.GUARDIAN,
        guardian.id,
        {name: [None, value] for name, value in restored.items()},
        student,
        f"guardian {guardian.name}",
        reverts=event,
    )
    kept_links = old.get("links") or []
    ids = [kept["student_id"] for kept in kept_links]
    statement = select(Student.id, Student.name).where(Student.id.in_(ids))
    names: dict[int, str] = dict(db.session.execute(statement).all())
    for kept in kept_links:
        if kept["student_id"] not in names:
            continue  # that student was deleted since
        link = StudentGuardian(student_id=kept["student_id"], guardian_id=guardian.id)
        for name in common.LINK_FIELDS:
            setattr(link, name, kept.get(name))
        db.session.add(link)
        db.session.flush()
        common.record(
            Action.RESTORE,
            Entity.GUARDIAN_LINK,
            guardian.id,
            {name: [None, value] for name, value in common.link_snapshot(link).items()},
            db.session.get(Student, kept["student_id"]),
            f"guardian {guardian.name}",
            reverts=event,
        )
    common.commit()
    return student
