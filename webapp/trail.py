"""Writing the audit trail: one event per change to a record, in the change's transaction.

The services that change records call :func:`record` (students) or :func:`record_event`
(any kind of record: an enrollment, a school year) before they commit, so there is no
change without its event and no event without its change. Bulk actions (a rollover)
write their events set-based in SQL and share an :class:`~webapp.models.AuditBatch`
(:func:`new_batch`). The audit blueprint only reads the events. Which fields are
recorded, and in what form, the field declarations say (:data:`webapp.fields.student.STUDENT`,
:data:`webapp.fields.enrollment.ENROLLMENT`, :data:`webapp.fields.school_year.SCHOOL_YEAR`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import has_request_context
from flask_login import current_user

from webapp.extensions import db
from webapp.fields.student import STUDENT
from webapp.models import Action, AuditBatch, AuditEvent, Entity
from webapp.models.student import NAME_MAX_LENGTH

#: The student fields the trail records, in display order.
AUDITED_FIELDS = tuple(field.name for field in STUDENT.audited)
#: Who made a change outside any web request.
COMMAND_LINE = "command line"
#: The longest note an event holds, in characters (the column's length).
NOTE_MAX_LENGTH = 200


def diff(
    before: Mapping[str, Any], after: Mapping[str, Any], fields: Iterable[str] = AUDITED_FIELDS
) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for each of ``fields`` (the student's by default) that differs."""
    return {
        field: [before.get(field), after.get(field)]
        for field in fields
        if before.get(field) != after.get(field)
    }


def actor() -> tuple[int | None, str]:
    """Who is making the change: the logged-in account's id and email, or
    ``(None, "command line")`` outside a web request."""
    if has_request_context() and current_user.is_authenticated:
        return current_user.id, current_user.email
    return None, COMMAND_LINE


def record_event(
    action: Action,
    entity: Entity,
    entity_id: int,
    changes: Mapping[str, list[Any]],
    *,
    student_id: int | None = None,
    student_name: str | None = None,
    reverts: AuditEvent | None = None,
    note: str | None = None,
    batch: AuditBatch | None = None,
) -> AuditEvent:
    """Add an event about any kind of record to the session; the caller's commit writes it.

    Args:
        action: what happened.
        entity: what kind of record.
        entity_id: the record's id (flushed, for a new record).
        changes: ``{field: [old, new]}`` (see :func:`diff`).
        student_id: the student the change concerns, so the student's history lists it.
        student_name: that student's name, for the log.
        reverts: the event a revert or restore undoes.
        note: where the change came from, or which school year it concerns.
        batch: the bulk action the change is part of.

    Returns:
        The pending event.
    """
    user_id, actor_name = actor()
    event = AuditEvent(
        user_id=user_id,
        actor=actor_name,
        action=action.value,
        entity=entity.value,
        entity_id=entity_id,
        student_id=student_id,
        student_name=student_name[:NAME_MAX_LENGTH] if student_name else None,
        changes=dict(changes),
        reverts_id=reverts.id if reverts else None,
        note=note[:NOTE_MAX_LENGTH] if note else None,
        batch_id=batch.id if batch else None,
    )
    db.session.add(event)
    return event


def record(
    action: Action,
    student_id: int,
    student_name: str,
    changes: Mapping[str, list[Any]],
    *,
    reverts: AuditEvent | None = None,
    note: str | None = None,
) -> AuditEvent:
    """Add an event about a student to the session; the caller's commit writes it.

    Args:
        action: what happened.
        student_id: the student's id (flushed, for a new student).
        student_name: the name to show in the log.
        changes: ``{field: [old, new]}`` (see :func:`diff`).
        reverts: the event a revert or restore undoes.
        note: where the change came from, when not a form.

    Returns:
        The pending event.
    """
    return record_event(
        action,
        Entity.STUDENT,
        student_id,
        changes,
        student_id=student_id,
        student_name=student_name,
        reverts=reverts,
        note=note,
    )


def new_batch(kind: str, description: str) -> AuditBatch:
    """Add a batch for a bulk action's events and flush it (its id is needed at once).

    Args:
        kind: what the action is (``"rollover"``).
        description: one line for the log.

    Returns:
        The flushed batch.
    """
    user_id, actor_name = actor()
    batch = AuditBatch(
        kind=kind, user_id=user_id, actor=actor_name, description=description[:NOTE_MAX_LENGTH]
    )
    db.session.add(batch)
    db.session.flush()
    return batch
