"""The ``AuditEvent`` model: who changed which student, when, and how."""

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
    """What happened to the student."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    REVERT = "revert"
    RESTORE = "restore"


class AuditEvent(Model):
    """One change to one student, written in the same transaction as the change.

    Attributes:
        id: surrogate key, increasing with time.
        occurred_at: when (aware UTC).
        user_id: the account that made the change; ``None`` for the command line.
        actor: who, as shown in the log: the account's email at the time, or
            ``"command line"``.
        action: an :class:`Action` value.
        student_id: the student changed. Not a foreign key: the events of a deleted
            student stay, and are what restores it.
        student_name: the student's name at the time, for the log.
        changes: ``{field: [old, new]}`` with dates as ISO strings. A create has
            ``old`` ``None`` for every field, a delete has ``new`` ``None`` (the full record,
            which a restore puts back).
        reverts_id: for a revert or restore, the event it undid.
        note: where the change came from when not a form (``"import roster.csv, line 7"``).
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(16))
    student_id: Mapped[int]
    student_name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON())
    reverts_id: Mapped[int | None] = mapped_column(ForeignKey("audit_events.id"))
    note: Mapped[str | None] = mapped_column(String(200))

    user: Mapped[User | None] = relationship()

    __table_args__ = (
        CheckConstraint(
            "action IN ('create', 'update', 'delete', 'revert', 'restore')", name="action_known"
        ),
        Index("ix_audit_events_student_id_id", "student_id", "id"),
    )

    def __repr__(self) -> str:
        return f"<AuditEvent id={self.id} {self.action} student={self.student_id}>"
