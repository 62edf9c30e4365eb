"""Writing the audit trail: one event per change to a student, in the change's transaction.

The services that change students call :func:`record` before they commit (the students
service; the import writes the same events in bulk), so there is no change without its
event and no event without its change. The audit blueprint only reads the events. Which
fields are recorded, and in what form, the field declarations say
(:data:`webapp.fields.student.STUDENT`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import has_request_context
from flask_login import current_user

from webapp.extensions import db
from webapp.fields.student import STUDENT
from webapp.models import Action, AuditEvent
from webapp.models.student import NAME_MAX_LENGTH

#: The student fields the trail records, in display order.
AUDITED_FIELDS = tuple(field.name for field in STUDENT.audited)
#: Who made a change outside any web request.
COMMAND_LINE = "command line"
#: The longest note an event holds, in characters (the column's length).
NOTE_MAX_LENGTH = 200


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for each audited field whose value differs."""
    return {
        field: [before.get(field), after.get(field)]
        for field in AUDITED_FIELDS
        if before.get(field) != after.get(field)
    }


def actor() -> tuple[int | None, str]:
    """Who is making the change: the logged-in account's id and email, or
    ``(None, "command line")`` outside a web request."""
    if has_request_context() and current_user.is_authenticated:
        return current_user.id, current_user.email
    return None, COMMAND_LINE


def record(
    action: Action,
    student_id: int,
    student_name: str,
    changes: Mapping[str, list[Any]],
    *,
    reverts: AuditEvent | None = None,
    note: str | None = None,
) -> AuditEvent:
    """Add an event to the session; the caller's commit writes it with the change.

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
    user_id, actor_name = actor()
    event = AuditEvent(
        user_id=user_id,
        actor=actor_name,
        action=action.value,
        student_id=student_id,
        student_name=student_name[:NAME_MAX_LENGTH],
        changes=dict(changes),
        reverts_id=reverts.id if reverts else None,
        note=note[:NOTE_MAX_LENGTH] if note else None,
    )
    db.session.add(event)
    return event
