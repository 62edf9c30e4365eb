"""The ``Enrollment`` model: a student's grade and status in one school year.

Also :class:`EnrollmentCount`, the number of enrollments per year, grade and status,
which database triggers keep in step with every write to ``enrollments`` (see migration
0011), so the dashboard and the roster's totals read a few dozen rows at any size.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import Model
from webapp.models.homeroom import Homeroom
from webapp.models.school_year import SchoolYear
from webapp.models.student import GRADE_MAX, GRADE_MIN
from webapp.models.types import UTCDateTime, new_sourced_id, utcnow

#: The longest withdrawal reason and destination school name, in characters.
REASON_MAX_LENGTH = 200
DESTINATION_MAX_LENGTH = 200


class Status(enum.StrEnum):
    """Where a student stands in a school year.

    * ``enrolled``: attending.
    * ``withdrawn``: left, on a date, for a reason.
    * ``graduated``: finished the top grade, on a date.
    * ``transferred``: moved to another school (the destination), on a date.
    """

    ENROLLED = "enrolled"
    WITHDRAWN = "withdrawn"
    GRADUATED = "graduated"
    TRANSFERRED = "transferred"

    @property
    def label(self) -> str:
        """How pages call the status."""
        return STATUS_LABELS[self]


STATUS_LABELS = {
    Status.ENROLLED: "Enrolled",
    Status.WITHDRAWN: "Withdrawn",
    Status.GRADUATED: "Graduated",
    Status.TRANSFERRED: "Transferred out",
}

_STATUS_SQL = ", ".join(f"'{status.value}'" for status in Status)


class Enrollment(Model):
    """A student's enrollment in one school year: the grade and the status that year.

    Invariants the database holds: one enrollment per student and year; the grade is
    ``GRADE_MIN`` to ``GRADE_MAX``; the status is a :class:`Status`; an enrolled student
    has no status date and any other status has one; the status date is not before the
    enrollment began.

    Attributes:
        id: surrogate key.
        sourced_id: a UUID that names the enrollment to other systems (OneRoster).
        student_id: the student (deleting the student deletes the enrollments).
        school_year_id: the school year.
        grade: the grade that year.
        status: a :class:`Status` value.
        status_on: the day of the withdrawal, graduation or transfer; ``None`` while
            enrolled.
        reason: why the student withdrew.
        destination: the school the student transferred to.
        entered_on: the day the enrollment began.
        homeroom_id: the student's homeroom that year, if assigned; a composite foreign
            key with ``school_year_id`` makes it a homeroom of the same year.
        rollover_id: the rollover that created this enrollment, if one did.
        version: optimistic-locking counter.
        created_at, updated_at: aware UTC timestamps.
    """

    __tablename__ = "enrollments"

    id: Mapped[int] = mapped_column(primary_key=True)
    sourced_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_sourced_id)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    school_year_id: Mapped[int] = mapped_column(ForeignKey("school_years.id"))
    grade: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=Status.ENROLLED.value)
    status_on: Mapped[date | None]
    reason: Mapped[str | None] = mapped_column(String(REASON_MAX_LENGTH))
    destination: Mapped[str | None] = mapped_column(String(DESTINATION_MAX_LENGTH))
    entered_on: Mapped[date]
    rollover_id: Mapped[int | None] = mapped_column(
        ForeignKey("rollovers.id", ondelete="SET NULL"), index=True
    )
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Added by migration 0013, hence last.
    homeroom_id: Mapped[int | None] = mapped_column(index=True)

    school_year: Mapped[SchoolYear] = relationship()
    # Read-only: the services set ``homeroom_id`` (the year is the enrollment's own).
    homeroom: Mapped[Homeroom | None] = relationship(
        primaryjoin="Homeroom.id == foreign(Enrollment.homeroom_id)", viewonly=True
    )

    __table_args__ = (
        UniqueConstraint("student_id", "school_year_id"),
        CheckConstraint(f"grade BETWEEN {GRADE_MIN} AND {GRADE_MAX}", name="grade_range"),
        CheckConstraint(f"status IN ({_STATUS_SQL})", name="status_known"),
        CheckConstraint(
            "(status = 'enrolled' AND status_on IS NULL)"
            " OR (status <> 'enrolled' AND status_on IS NOT NULL)",
            name="status_date_when_left",
        ),
        CheckConstraint("status_on IS NULL OR status_on >= entered_on", name="status_after_entry"),
        # A homeroom of the enrollment's own year, or none (MATCH SIMPLE: a NULL
        # homeroom_id leaves the key unchecked).
        ForeignKeyConstraint(
            ["homeroom_id", "school_year_id"],
            ["homerooms.id", "homerooms.school_year_id"],
            name="fk_enrollments_homeroom_id_homerooms",
        ),
        # The roster and the counts: a year's students by status, then grade.
        Index("ix_enrollments_year_status_grade", "school_year_id", "status", "grade"),
        # The dashboard's departures per month.
        Index("ix_enrollments_status_status_on", "status", "status_on"),
        {"sqlite_autoincrement": True},
    )
    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return (
            f"<Enrollment id={self.id} student={self.student_id} year={self.school_year_id}"
            f" grade={self.grade} {self.status}>"
        )

    @property
    def status_label(self) -> str:
        """The status as pages show it (``"Transferred out"``)."""
        return STATUS_LABELS[Status(self.status)]


class EnrollmentCount(Model):
    """How many enrollments a school year has per grade and status (trigger-maintained).

    Read-only for the application: triggers on ``enrollments`` (migration 0011) add and
    subtract as rows are inserted, deleted or change year, grade or status, in the same
    transaction, whatever code writes them. Combinations never seen have no row.

    Attributes:
        school_year_id, grade, status: the key.
        students: the number of enrollments with that key.
    """

    __tablename__ = "enrollment_counts"

    school_year_id: Mapped[int] = mapped_column(
        ForeignKey("school_years.id", ondelete="CASCADE"), primary_key=True
    )
    grade: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    students: Mapped[int] = mapped_column(default=0, server_default=text("0"))

    def __repr__(self) -> str:
        return (
            f"<EnrollmentCount year={self.school_year_id} grade={self.grade}"
            f" {self.status}={self.students}>"
        )
