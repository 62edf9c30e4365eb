"""The ``SchoolYear`` model: a school year with its first and last day; one is current."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import Model
from webapp.models.types import UTCDateTime, new_sourced_id, utcnow

#: The longest name of a school year (such as 2026-27 with an en dash), in characters.
YEAR_NAME_MAX_LENGTH = 40


class SchoolYear(Model):
    """A school year, such as "2026–27" from 1 September 2026 to 31 August 2027.

    Invariants the database holds: the last day is after the first; names are unique; at
    most one year is current (a partial unique index). That years do not overlap and that
    one year is current are the service's rules (:mod:`webapp.years.service`).

    Attributes:
        id: surrogate key.
        sourced_id: a UUID that names the year to other systems (OneRoster).
        name: how people call it, unique.
        starts_on: the first day.
        ends_on: the last day, after ``starts_on``.
        is_current: the year the roster and the dashboard show.
        version: optimistic-locking counter.
        created_at, updated_at: aware UTC timestamps.
    """

    __tablename__ = "school_years"

    id: Mapped[int] = mapped_column(primary_key=True)
    sourced_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_sourced_id)
    name: Mapped[str] = mapped_column(String(YEAR_NAME_MAX_LENGTH), unique=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    is_current: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint("ends_on > starts_on", name="ends_after_start"),
        CheckConstraint(
            f"length(trim(name)) >= 1 AND length(name) <= {YEAR_NAME_MAX_LENGTH}",
            name="name_length",
        ),
        # At most one row with is_current true (both databases have partial indexes).
        Index(
            "uq_school_years_current",
            "is_current",
            unique=True,
            sqlite_where=text("is_current"),
            postgresql_where=text("is_current"),
        ),
    )
    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<SchoolYear id={self.id} {self.name!r}{' current' if self.is_current else ''}>"

    def covers(self, day: date) -> bool:
        """Whether ``day`` falls within the year, first and last day included."""
        return self.starts_on <= day <= self.ends_on
