"""The audit trail's models: ``AuditEvent`` (one change) and ``AuditBatch`` (a bulk action)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import Model
from webapp.models.student import NAME_MAX_LENGTH
from webapp.models.types import UTCDateTime, utcnow
from webapp.models.user import User


class Action(enum.StrEnum):
    """What happened to the record."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    REVERT = "revert"
    RESTORE = "restore"


class Entity(enum.StrEnum):
    """What kind of record an event is about (a new kind needs a migration: a CHECK lists them)."""

    STUDENT = "student"
    ENROLLMENT = "enrollment"
    SCHOOL_YEAR = "school_year"
    HOMEROOM = "homeroom"
    GUARDIAN = "guardian"
    GUARDIAN_LINK = "guardian_link"


_ACTION_SQL = ", ".join(f"'{action.value}'" for action in Action)
_ENTITY_SQL = ", ".join(f"'{entity.value}'" for entity in Entity)


class AuditBatch(Model):
    """A bulk action whose events belong together: a rollover, or the undo of one.

    Attributes:
        id: surrogate key.
        kind: what the action was (``"rollover"``, ``"rollover undo"``).
        occurred_at: when (aware UTC).
        user_id: the account that ran it; ``None`` for the command line.
        actor: who, as shown in the log.
        description: one line for the log (``"Rollover 2025–26 → 2026–27"``).
    """

    __tablename__ = "audit_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    actor: Mapped[str] = mapped_column(String(254))
    description: Mapped[str] = mapped_column(String(200))

    def __repr__(self) -> str:
        return f"<AuditBatch id={self.id} {self.kind}>"


class AuditEvent(Model):
    """One change to one record, written in the same transaction as the change.

    Attributes:
        id: surrogate key, increasing with time.
        occurred_at: when (aware UTC).
        user_id: the account that made the change; ``None`` for the command line.
        actor: who, as shown in the log: the account's email at the time, or
            ``"command line"``.
        action: an :class:`Action` value.
        entity: an :class:`Entity` value: what kind of record changed.
        entity_id: that record's id (a guardian link's: the guardian's id; the student's
            is ``student_id``). Not a foreign key: the events of a deleted record
            stay, and are what restores it.
        student_id: the student the change concerns (a student's own change, one of
            the student's enrollments or guardian links, or a guardian changed from the
            student's page), so that the student's history lists it;
            ``None`` for a change that concerns no one student (a school year).
        student_name: the student's name at the time, for the log.
        changes: ``{field: [old, new]}`` with dates as ISO strings. A create has
            ``old`` ``None`` for every field, a delete has ``new`` ``None`` (the full record,
            which a restore puts back).
        reverts_id: for a revert or restore, the event it undid.
        batch_id: the bulk action (a rollover) the change was part of.
        note: where the change came from when not a form (``"import roster.csv, line 7"``),
            or the school year an enrollment change concerns.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(16))
    student_id: Mapped[int | None]
    student_name: Mapped[str | None] = mapped_column(String(NAME_MAX_LENGTH))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON())
    reverts_id: Mapped[int | None] = mapped_column(ForeignKey("audit_events.id"))
    note: Mapped[str | None] = mapped_column(String(200))
    # Added by migration 0011, hence last.
    entity: Mapped[str] = mapped_column(String(16), default=Entity.STUDENT.value)
    entity_id: Mapped[int]
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("audit_batches.id"), index=True)

    user: Mapped[User | None] = relationship()
    batch: Mapped[AuditBatch | None] = relationship()

    __table_args__ = (
        CheckConstraint(f"action IN ({_ACTION_SQL})", name="action_known"),
        CheckConstraint(f"entity IN ({_ENTITY_SQL})", name="entity_known"),
        Index("ix_audit_events_student_id_id", "student_id", "id"),
        Index("ix_audit_events_entity_entity_id_id", "entity", "entity_id", "id"),
        # The log's filters, newest first without a sort at any size (migration 0015).
        Index("ix_audit_events_action_id", "action", "id"),
        Index("ix_audit_events_user_id_id", "user_id", "id"),
        Index("ix_audit_events_user_id_action_id", "user_id", "action", "id"),
        # Whether an event was undone (every history page asks).
        Index("ix_audit_events_reverts_id", "reverts_id"),
    )

    def __repr__(self) -> str:
        return f"<AuditEvent id={self.id} {self.action} {self.entity}={self.entity_id}>"
