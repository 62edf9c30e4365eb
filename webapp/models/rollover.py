"""The ``Rollover`` model: one year-end rollover from a school year to the next."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import Model
from webapp.models.audit import AuditBatch
from webapp.models.school_year import SchoolYear
from webapp.models.types import UTCDateTime, utcnow


class Rollover(Model):
    """A year-end rollover: the next year's enrollments made from this year's, at once.

    Its enrollments point to it (``enrollments.rollover_id``) and its audit events share
    its batch. At most one rollover from a year is in force (not undone): a partial
    unique index holds that, so a rollover cannot run twice.

    Attributes:
        id: surrogate key.
        from_year_id: the year that ended.
        to_year_id: the year the students moved into.
        batch_id: the audit batch of its events.
        undo_batch_id: the audit batch that undid it; ``None`` while in force.
        made_current: whether it made ``to_year`` the current year (an undo gives the
            current year back to ``from_year``).
        promoted: students who moved up a grade.
        held_back: students who stay in their grade.
        graduated: students who graduated from the top grade.
        created_at: when it ran (aware UTC).
    """

    __tablename__ = "rollovers"

    id: Mapped[int] = mapped_column(primary_key=True)
    from_year_id: Mapped[int] = mapped_column(ForeignKey("school_years.id"))
    to_year_id: Mapped[int] = mapped_column(ForeignKey("school_years.id"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("audit_batches.id"), unique=True)
    undo_batch_id: Mapped[int | None] = mapped_column(ForeignKey("audit_batches.id"))
    made_current: Mapped[bool] = mapped_column(default=False)
    promoted: Mapped[int] = mapped_column(default=0)
    held_back: Mapped[int] = mapped_column(default=0)
    graduated: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    from_year: Mapped[SchoolYear] = relationship(foreign_keys=[from_year_id])
    to_year: Mapped[SchoolYear] = relationship(foreign_keys=[to_year_id])
    batch: Mapped[AuditBatch] = relationship(foreign_keys=[batch_id])
    undo_batch: Mapped[AuditBatch | None] = relationship(foreign_keys=[undo_batch_id])

    __table_args__ = (
        # One rollover in force per year: running it twice is refused by the database too.
        Index(
            "uq_rollovers_from_year_in_force",
            "from_year_id",
            unique=True,
            sqlite_where=text("undo_batch_id IS NULL"),
            postgresql_where=text("undo_batch_id IS NULL"),
        ),
    )

    def __repr__(self) -> str:
        return f"<Rollover id={self.id} {self.from_year_id}->{self.to_year_id}>"

    @property
    def created(self) -> int:
        """How many enrollments it created in the new year."""
        return self.promoted + self.held_back
