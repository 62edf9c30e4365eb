"""The audit events of one OneRoster import, and the helpers every writer of the plan uses.

:class:`Events` collects the rows :func:`webapp.trail.record_event` would add and inserts
them in batches; :func:`insert_records` inserts new records in bulk and reads their ids
back; :func:`changed` and :func:`assign` are a record's audit changes and its update.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select

from webapp import trail
from webapp.extensions import db
from webapp.fields.records import RecordFields
from webapp.models import Action, AuditBatch, AuditEvent, Enrollment, Entity, Student
from webapp.models.guardian import Guardian
from webapp.models.student import NAME_MAX_LENGTH
from webapp.roster_exchange.planning import Plan

#: Rows per INSERT statement of the bulk writes.
CHUNK = 2_000
#: sourcedIds per ``IN (...)`` when reading the new ids back.
LOOKUP_BATCH = 500


class Events:
    """The audit events of one import, collected as rows and inserted in batches.

    They are the rows :func:`webapp.trail.record_event` would add one ORM object at a
    time; an import of 100,000 students writes 200,000 of them, which as ORM objects took
    most of its time and memory.
    """

    def __init__(self, plan: Plan, batch: AuditBatch) -> None:
        self.plan = plan
        self.batch_id = batch.id
        self.user_id, self.actor = trail.actor()
        self.rows: list[dict[str, Any]] = []
        #: Events added per entity (``{"student": 120, ...}``): the records changed.
        self.counts: dict[str, int] = {}

    def add(
        self,
        entity: Entity,
        entity_id: int,
        changes: dict[str, list[Any]],
        *,
        created: bool,
        file: str,
        line: int,
        student: tuple[int, str] | None = None,
    ) -> None:
        """Add the event of one record created or updated by ``file``'s ``line``."""
        self.counts[entity.value] = self.counts.get(entity.value, 0) + 1
        self.rows.append(
            {
                "user_id": self.user_id,
                "actor": self.actor,
                "action": (Action.CREATE if created else Action.UPDATE).value,
                "entity": entity.value,
                "entity_id": entity_id,
                "student_id": student[0] if student else None,
                "student_name": student[1][:NAME_MAX_LENGTH] if student else None,
                "changes": changes,
                "note": f"OneRoster {self.plan.filename}, {file} line {line}"[
                    : trail.NOTE_MAX_LENGTH
                ],
                "batch_id": self.batch_id,
            }
        )
        if len(self.rows) >= CHUNK:
            self.write()

    def write(self) -> None:
        """Insert the events collected so far (memory stays at one batch)."""
        if self.rows:
            db.session.execute(insert(AuditEvent), self.rows)
        self.rows = []


def insert_records(
    model: type[Student] | type[Enrollment] | type[Guardian], rows: list[dict[str, Any]]
) -> list[int]:
    """Insert ``rows`` of ``model`` in batches; return their new ids, in order.

    The ids are read back by sourcedId: an ``INSERT ... RETURNING`` of many rows in
    parameter order ran about 40 rows a statement here, several times slower than the
    driver's ``executemany`` and one ``SELECT`` per batch.
    """
    ids: dict[str, int] = {}
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        db.session.execute(insert(model), chunk)
        keys = [row["sourced_id"] for row in chunk]
        for begin in range(0, len(keys), LOOKUP_BATCH):
            batch = keys[begin : begin + LOOKUP_BATCH]
            found = select(model.sourced_id, model.id).where(model.sourced_id.in_(batch))
            ids.update((key, new_id) for key, new_id in db.session.execute(found))
    return [ids[row["sourced_id"]] for row in rows]


def changed(fields: RecordFields, before: dict[str, Any], after: object) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` of the audited ``fields``; ``before`` is the record's
    snapshot before the change (empty for a new record)."""
    return trail.diff(before, fields.snapshot(after), tuple(f.name for f in fields.audited))


def assign(record: object, values: Mapping[str, Any]) -> None:
    """Set each of ``values`` on ``record`` (an ORM update: optimistic locking applies)."""
    for name, value in values.items():
        setattr(record, name, value)
