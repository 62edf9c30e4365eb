"""The ``Homeroom`` model: a class group of one school year ("5B"), and its teachers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import Model
from webapp.models.school_year import SchoolYear
from webapp.models.student import GRADE_MAX, GRADE_MIN
from webapp.models.types import UTCDateTime, new_sourced_id, utcnow
from webapp.models.user import User

#: The longest homeroom name ("5B") and room ("Room 12, north wing"), in characters.
HOMEROOM_NAME_MAX_LENGTH = 40
ROOM_MAX_LENGTH = 40
#: The largest capacity a homeroom may be given.
CAPACITY_MAX = 200

#: The teachers of each homeroom: a staff account with the ``teacher`` role (or any
#: other) teaches one or more homerooms; a homeroom has one or more teachers.
homeroom_teachers = Table(
    "homeroom_teachers",
    Model.metadata,
    Column(
        "homeroom_id",
        Integer,
        ForeignKey("homerooms.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class Homeroom(Model):
    """A class group of one school year, such as 5B in 2026–27.

    Invariants the database holds: names are unique within a year; the grade is
    ``GRADE_MIN`` to ``GRADE_MAX``; the capacity is 1 to ``CAPACITY_MAX``; ``(id,
    school_year_id)`` is unique, so that an enrollment refers to its homeroom together
    with its own year (a student is only ever in a homeroom of the enrollment's year).
    That a homeroom over its capacity is confirmed by a person is the service's rule.

    Attributes:
        id: surrogate key.
        sourced_id: a UUID that names the homeroom to other systems (OneRoster's class).
        school_year_id: the school year.
        name: how people call it, unique in its year.
        grade: the grade it is for.
        room: where it meets, if known.
        capacity: how many students it is meant for.
        version: optimistic-locking counter.
        created_at, updated_at: aware UTC timestamps.
        teachers: the accounts that teach it.
    """

    __tablename__ = "homerooms"

    id: Mapped[int] = mapped_column(primary_key=True)
    sourced_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_sourced_id)
    school_year_id: Mapped[int] = mapped_column(ForeignKey("school_years.id"))
    name: Mapped[str] = mapped_column(String(HOMEROOM_NAME_MAX_LENGTH))
    grade: Mapped[int]
    room: Mapped[str | None] = mapped_column(String(ROOM_MAX_LENGTH))
    capacity: Mapped[int]
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    school_year: Mapped[SchoolYear] = relationship()
    teachers: Mapped[list[User]] = relationship(secondary=homeroom_teachers, order_by=User.email)

    __table_args__ = (
        UniqueConstraint("school_year_id", "name"),
        # The homeroom list's order: by grade, then name (10A after 9B).
        Index("ix_homerooms_year_grade_name", "school_year_id", "grade", "name"),
        # The target of enrollments' composite foreign key (homeroom_id, school_year_id).
        UniqueConstraint("id", "school_year_id"),
        CheckConstraint(f"grade BETWEEN {GRADE_MIN} AND {GRADE_MAX}", name="grade_range"),
        CheckConstraint(f"capacity BETWEEN 1 AND {CAPACITY_MAX}", name="capacity_range"),
        CheckConstraint(
            f"length(trim(name)) >= 1 AND length(name) <= {HOMEROOM_NAME_MAX_LENGTH}",
            name="name_length",
        ),
    )
    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Homeroom id={self.id} year={self.school_year_id} {self.name!r}>"
