"""Guardians: the people to call about a student, their phone numbers, and the links.

A guardian may belong to several students (siblings share their parents), and a student
has any number of guardians: :class:`StudentGuardian` links the two and carries what is
true of one guardian for one student (the relationship, emergency contact, pickup).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm import relationship as related

from webapp.extensions import Model
from webapp.models.types import UTCDateTime, new_sourced_id, utcnow

if TYPE_CHECKING:
    from webapp.models.student import Student

#: Limits shared by the model, the migration and the field declarations.
GUARDIAN_NAME_MAX_LENGTH = 100
GUARDIAN_EMAIL_MAX_LENGTH = 254
#: A BCP 47 tag (``pt-BR``, ``zh-Hant``); RFC 5646 advises room for 35 characters.
LANGUAGE_MAX_LENGTH = 35
#: ``+`` and at most 15 digits (ITU-T E.164).
PHONE_MAX_LENGTH = 16
#: The phone numbers a guardian has at most (the form's rows).
PHONES_MAX = 3


class PhoneKind(enum.StrEnum):
    """What sort of phone a number is."""

    MOBILE = "mobile"
    HOME = "home"
    WORK = "work"


class Relationship(enum.StrEnum):
    """What the guardian is to the student."""

    MOTHER = "mother"
    FATHER = "father"
    PARENT = "parent"
    GUARDIAN = "guardian"
    GRANDPARENT = "grandparent"
    SIBLING = "sibling"
    RELATIVE = "relative"
    OTHER = "other"


def _sql_list(values: type[enum.StrEnum]) -> str:
    return ", ".join(f"'{value.value}'" for value in values)


class Guardian(Model):
    """A parent, guardian or other contact of one or more students.

    Attributes:
        id: surrogate key.
        sourced_id: a UUID that names the guardian to other systems (OneRoster).
        name: full name, never blank.
        email: optional address (not unique: two parents may share one).
        preferred_language: a BCP 47 tag (``es``, ``pt-BR``), or ``None``.
        version: optimistic-locking counter.
        created_at, updated_at: aware UTC timestamps.
        phone_rows: the numbers, in order (see :attr:`phones`).
        links: the students the guardian belongs to.
    """

    __tablename__ = "guardians"

    id: Mapped[int] = mapped_column(primary_key=True)
    sourced_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_sourced_id)
    name: Mapped[str] = mapped_column(String(GUARDIAN_NAME_MAX_LENGTH), index=True)
    email: Mapped[str | None] = mapped_column(String(GUARDIAN_EMAIL_MAX_LENGTH))
    preferred_language: Mapped[str | None] = mapped_column(String(LANGUAGE_MAX_LENGTH))
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    phone_rows: Mapped[list[GuardianPhone]] = related(
        order_by="GuardianPhone.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
        back_populates="guardian",
    )
    # The database deletes the links with the guardian (ON DELETE CASCADE).
    links: Mapped[list[StudentGuardian]] = related(back_populates="guardian", passive_deletes="all")

    __table_args__ = (
        CheckConstraint("length(trim(name)) > 0", name="name_not_blank"),
        {"sqlite_autoincrement": True},
    )
    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Guardian id={self.id} {self.name!r}>"

    @property
    def phones(self) -> list[list[str]]:
        """The numbers as ``[[kind, E.164 number], ...]``, in order (the audit form)."""
        return [[row.kind, row.number] for row in self.phone_rows]


class GuardianPhone(Model):
    """One phone number of a guardian, in E.164 (``+14155550123``).

    Attributes:
        guardian_id, position: the key; ``position`` orders the numbers from 1.
        kind: a :class:`PhoneKind` value.
        number: E.164: ``+`` and 2 to 15 digits (the ``phonenumbers`` library checks
            that it is a real number before it is stored).
    """

    __tablename__ = "guardian_phones"

    guardian_id: Mapped[int] = mapped_column(
        ForeignKey("guardians.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(8))
    number: Mapped[str] = mapped_column(String(PHONE_MAX_LENGTH), index=True)

    guardian: Mapped[Guardian] = related(back_populates="phone_rows")

    __table_args__ = (
        CheckConstraint(f"kind IN ({_sql_list(PhoneKind)})", name="kind_known"),
        CheckConstraint("number LIKE '+%' AND length(number) BETWEEN 3 AND 16", name="e164"),
        CheckConstraint("position >= 1", name="position_positive"),
    )

    def __repr__(self) -> str:
        return f"<GuardianPhone guardian={self.guardian_id} {self.kind} {self.number}>"


class StudentGuardian(Model):
    """A guardian of a student, and what is true of the guardian for that student.

    Attributes:
        student_id, guardian_id: the key (deleting either deletes the link).
        relationship: a :class:`Relationship` value.
        emergency_contact: to be called in an emergency.
        lives_with: the student lives with this guardian.
        pickup_allowed: may collect the student from school.
        contact_order: who is called first (1), second (2)...
        version: optimistic-locking counter.
        created_at, updated_at: aware UTC timestamps.
    """

    __tablename__ = "student_guardians"

    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), primary_key=True
    )
    guardian_id: Mapped[int] = mapped_column(
        ForeignKey("guardians.id", ondelete="CASCADE"), primary_key=True
    )
    relationship: Mapped[str] = mapped_column(String(16))
    emergency_contact: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    lives_with: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    pickup_allowed: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    contact_order: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    guardian: Mapped[Guardian] = related(back_populates="links")
    student: Mapped[Student] = related()

    __table_args__ = (
        CheckConstraint(f"relationship IN ({_sql_list(Relationship)})", name="relationship_known"),
        CheckConstraint("contact_order >= 1", name="contact_order_positive"),
        Index("ix_student_guardians_guardian_id", "guardian_id"),
    )
    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return (
            f"<StudentGuardian student={self.student_id} guardian={self.guardian_id}"
            f" {self.relationship}>"
        )
