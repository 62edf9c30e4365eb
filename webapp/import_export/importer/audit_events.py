"""The audit events of an import: one per student changed, one per enrollment made or changed.

The events are those :func:`webapp.trail.record` writes for a form save (same action
names, ``{field: [old, new]}`` changes, dates as ISO strings), with a note naming the
file and line, inserted in bulk (:func:`.bulk_sql.bulk_insert`) by :func:`write_events`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from webapp.fields.enrollment import ENROLLMENT
from webapp.fields.student import STUDENT
from webapp.import_export.importer import support
from webapp.import_export.importer.bulk_sql import bulk_insert, table_of
from webapp.import_export.importer.plans import Action, RowPlan
from webapp.import_export.importer.support import chunks
from webapp.models import Action as AuditAction
from webapp.models import AuditEvent, Entity
from webapp.models.student import NAME_MAX_LENGTH
from webapp.trail import NOTE_MAX_LENGTH

#: ``(name, to_json)`` of each audited field, in order, per record.
_AUDITED = {
    Entity.STUDENT: tuple((field.name, field.to_json) for field in STUDENT.audited),
    Entity.ENROLLMENT: tuple((field.name, field.to_json) for field in ENROLLMENT.audited),
}
_TO_JSON = {name: to_json for fields in _AUDITED.values() for name, to_json in fields}


def _changes(row: RowPlan, entity: Entity, created: bool) -> dict[str, list[Any]]:
    """A row's ``{field: [old, new]}`` for one of its records, as the trail records it.

    Args:
        row: a create or update.
        entity: the student's fields, or the enrollment's.
        created: whether that record is new (every field with a value is listed).
    """
    audited = _AUDITED[entity]
    if not created:
        names = {name for name, _ in audited}
        return {
            change.field: [_TO_JSON[change.field](change.old), _TO_JSON[change.field](change.new)]
            for change in row.changes
            if change.field in names
        }
    # A create, as trail.diff({}, snapshot): each field with a value.
    values = row.values or {}
    return {
        name: [None, to_json(value)]
        for name, to_json in audited
        if (value := values.get(name)) is not None
    }


def write_events(
    rows: list[tuple[RowPlan, Any]],
    made: dict[int, int],
    *,
    source: str,
    user_id: int | None,
    actor: str,
    now: datetime,
) -> None:
    """Insert the audit events of ``(created or updated row, student id)`` pairs, in bulk:
    one per student whose fields changed, one per enrollment made or changed.

    Args:
        rows: the rows written, with their students' ids.
        made: ``{student id: enrollment id}`` of the enrollments this chunk made.
        source: what the notes call the file (its name).
        user_id: the user who imports, as :func:`webapp.trail.actor` gives it.
        actor: their name, likewise.
        now: the events' ``occurred_at``.
    """
    events: list[tuple[str, Entity, int, int, RowPlan, dict[str, list[Any]]]] = []
    for row, student_id in rows:
        values = row.values or {}
        new_student = row.action is Action.CREATE
        student_changes = _changes(row, Entity.STUDENT, new_student)
        if new_student or student_changes:
            action = AuditAction.CREATE if new_student else AuditAction.UPDATE
            events.append(
                (action.value, Entity.STUDENT, student_id, student_id, row, student_changes)
            )
        new_enrollment = student_id in made
        enrollment_id = made[student_id] if new_enrollment else values.get("enrollment_id")
        if enrollment_id is None:
            continue
        enrollment_changes = _changes(row, Entity.ENROLLMENT, new_enrollment)
        if new_enrollment:
            enrollment_changes["entered_on"] = [None, values["entered_on"].isoformat()]
        if enrollment_changes:
            action = AuditAction.CREATE if new_enrollment else AuditAction.UPDATE
            events.append(
                (
                    action.value,
                    Entity.ENROLLMENT,
                    enrollment_id,
                    student_id,
                    row,
                    enrollment_changes,
                )
            )
    for chunk in chunks(events, support.WRITE_BATCH_SIZE):
        size = len(chunk)
        columns: dict[str, list[Any]] = {
            "user_id": [user_id] * size,
            "actor": [actor] * size,
            "action": [event[0] for event in chunk],
            "entity": [event[1].value for event in chunk],
            "entity_id": [event[2] for event in chunk],
            "student_id": [event[3] for event in chunk],
            "student_name": [event[4].name[:NAME_MAX_LENGTH] for event in chunk],
            "changes": [event[5] for event in chunk],
            "reverts_id": [None] * size,
            "batch_id": [None] * size,
            "note": [f"import {source}, line {event[4].line}"[:NOTE_MAX_LENGTH] for event in chunk],
        }
        bulk_insert(table_of(AuditEvent), columns, {"occurred_at": now})
