"""Reading guardians: a student's, one guardian, their students, and the search.

A guardian's phone numbers are loaded eagerly: a student's guardians cost two statements
however many there are. Writes are :mod:`webapp.students.guardians`'.
"""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import contains_eager, selectinload

from webapp.extensions import db
from webapp.fields.base import FieldError
from webapp.fields.guardian import parse_phone
from webapp.models import Guardian, GuardianPhone, Student, StudentGuardian, User
from webapp.students.roster import scoped

#: The most guardians a search shows.
SEARCH_LIMIT = 20


def guardians_of(student_id: int) -> list[StudentGuardian]:
    """The student's guardian links, in contact order, with guardians and phones loaded.

    Two statements whatever the number of guardians: the links joined to the guardians,
    then every phone number of those guardians (``selectinload``).
    """
    statement = (
        select(StudentGuardian)
        .join(StudentGuardian.guardian)
        .options(
            contains_eager(StudentGuardian.guardian).selectinload(Guardian.phone_rows),
        )
        .where(StudentGuardian.student_id == student_id)
        .order_by(StudentGuardian.contact_order, Guardian.name, Guardian.id)
    )
    return list(db.session.scalars(statement))


def get_guardian(guardian_id: int) -> Guardian | None:
    """The guardian with its phone numbers loaded, or ``None``."""
    statement = (
        select(Guardian)
        .options(selectinload(Guardian.phone_rows))
        .where(Guardian.id == guardian_id)
    )
    guardian: Guardian | None = db.session.scalar(statement)
    return guardian


def get_link(student_id: int, guardian_id: int) -> StudentGuardian | None:
    """The link of ``guardian_id`` to ``student_id``, with the guardian loaded, or ``None``."""
    return db.session.get(
        StudentGuardian,
        (student_id, guardian_id),
        options=[selectinload(StudentGuardian.guardian).selectinload(Guardian.phone_rows)],
    )


def students_of(guardian_id: int, viewer: User | None) -> list[tuple[StudentGuardian, Student]]:
    """The guardian's students that ``viewer`` may see, by name, with their links.

    The viewer's scope (:func:`webapp.students.roster.scoped`) applies as it does to
    every student query: a teacher sees only their own students here.
    """
    # (A row of two entities: mypy wants Select[tuple], as in roster.py.)
    linked: Select[Any] = select(StudentGuardian, Student)  # type: ignore[assignment]
    linked = (
        linked.join(Student, Student.id == StudentGuardian.student_id)
        .where(StudentGuardian.guardian_id == guardian_id)
        .order_by(Student.name, Student.id)
    )
    statement = scoped(linked, viewer)
    return [(link, student) for link, student in db.session.execute(statement)]


def search_statement(text: str, exclude_student: int | None = None) -> Select[Any]:
    """Guardians whose name or email contains ``text``, or whose number matches it.

    A text that parses as a phone number (``201 555 0123``) finds that number in E.164;
    a run of digits also finds numbers containing it.

    Args:
        text: what was typed in the search box (stripped, not blank).
        exclude_student: leave out the guardians already linked to this student.

    Returns:
        A SELECT of :class:`Guardian` with phones loaded, by name, at most
        :data:`SEARCH_LIMIT`.
    """
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    numbers = select(GuardianPhone.guardian_id)
    number_terms = []
    with contextlib.suppress(FieldError):
        number_terms.append(GuardianPhone.number == parse_phone(text, "phone number"))
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) >= 4:
        number_terms.append(GuardianPhone.number.contains(digits, autoescape=True))
    conditions = [
        func.lower(Guardian.name).like(func.lower(pattern), escape="\\"),
        func.lower(Guardian.email).like(func.lower(pattern), escape="\\"),
    ]
    if number_terms:
        conditions.append(Guardian.id.in_(numbers.where(or_(*number_terms))))
    statement = (
        select(Guardian)
        .options(selectinload(Guardian.phone_rows))
        .where(or_(*conditions))
        .order_by(Guardian.name, Guardian.id)
        .limit(SEARCH_LIMIT)
    )
    if exclude_student is not None:
        linked = select(StudentGuardian.guardian_id).where(
            StudentGuardian.student_id == exclude_student
        )
        statement = statement.where(Guardian.id.not_in(linked))
    return statement


def search(text: str, exclude_student: int | None = None) -> list[Guardian]:
    """Run :func:`search_statement`; an empty text finds nobody."""
    text = text.strip()
    if not text:
        return []
    return list(db.session.scalars(search_statement(text, exclude_student)))
