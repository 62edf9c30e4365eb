"""The ``Student`` model: one row per student on the school roster."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import Model
from webapp.models.types import UTCDateTime, utcnow

#: Limits shared by the model, the migrations and the form validators.
NAME_MAX_LENGTH = 100
EMAIL_MAX_LENGTH = 254  # RFC 5321 path limit, what email-validator enforces
GRADE_MIN, GRADE_MAX = 1, 12


class Student(Model):
    """A student on the roster.

    The table started life as the SQLAlchemy tutorial's ``students`` table (see the first
    migration); the constraints below were added by later migrations, and the database
    enforces them whatever code writes the rows. They hold invariants only (a name, a
    grade of the school, one student per email, no enrollment before birth); how
    plausible a date is is a warning the user confirms (``webapp.fields.student``).

    Attributes:
        id: surrogate primary key.
        name: full name, 1 to ``NAME_MAX_LENGTH`` characters, never blank.
        email: optional address, unique case-insensitively (a unique index on ``lower(email)``).
        grade: school grade, ``GRADE_MIN`` to ``GRADE_MAX``.
        birthday: optional date of birth (any date: the tutorial's Einstein was born in 1879).
        enrolled_on: enrollment date, not before the birthday.
        created_at: when the row was created (aware UTC).
        updated_at: when the row was last changed (aware UTC).
        version: optimistic-locking counter, 1 on insert, +1 on every update.
    """

    __tablename__ = "students"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), index=True)
    email: Mapped[str | None] = mapped_column(String(EMAIL_MAX_LENGTH))
    grade: Mapped[int] = mapped_column(index=True)
    birthday: Mapped[date | None] = mapped_column(index=True)
    # What a blank means (today for a new student) is the field declaration's decision
    # (webapp.fields.student); the server default covers rows written by other means.
    enrolled_on: Mapped[date] = mapped_column(server_default=text("CURRENT_DATE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Optimistic locking: SQLAlchemy adds "WHERE version = <read>" to every UPDATE and
    # DELETE and bumps it; the forms carry the version they showed (see service.py).
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))

    __table_args__ = (
        CheckConstraint(
            f"length(trim(name)) >= 1 AND length(name) <= {NAME_MAX_LENGTH}", name="name_length"
        ),
        CheckConstraint(f"grade BETWEEN {GRADE_MIN} AND {GRADE_MAX}", name="grade_range"),
        CheckConstraint(
            "birthday IS NULL OR enrolled_on >= birthday", name="enrolled_after_birthday"
        ),
        Index("uq_students_email_lower", func.lower(email), unique=True),
        # SQLite would otherwise reuse the id of the newest deleted student (see 0008).
        {"sqlite_autoincrement": True},
    )
    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Student id={self.id} name={self.name!r} grade={self.grade}>"

    def age_on(self, day: date) -> int | None:
        """Return the student's age in whole years on ``day``, or ``None`` without a birthday.

        Args:
            day: the date at which to measure the age.

        Returns:
            Completed years between ``birthday`` and ``day`` (0 before the first birthday).
        """
        if self.birthday is None:
            return None
        before_birthday = (day.month, day.day) < (self.birthday.month, self.birthday.day)
        return day.year - self.birthday.year - int(before_birthday)
