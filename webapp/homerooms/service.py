"""Homerooms and who is in them: shared by the homeroom pages, the roster's bulk actions,
the seeding command and the audit feature's undo.

Each write commits once, with its audit events; a refusal raises :class:`HomeroomError`
(a message for the user) and changes nothing. A student's homeroom is the
``homeroom_id`` of the enrollment in the homeroom's year: one per student and year, and
the database's composite key refuses a homeroom of another year.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, selectinload
from sqlalchemy.orm.exc import StaleDataError

from webapp import trail
from webapp.auth.service import find_user
from webapp.extensions import db
from webapp.fields.homeroom import HOMEROOM
from webapp.homerooms.scope import homeroom_visible, scoped
from webapp.models import (
    Action,
    Enrollment,
    Entity,
    Homeroom,
    Role,
    SchoolYear,
    Student,
    User,
)
from webapp.models.types import utcnow
from webapp.paging import Page, bounded_page

#: The homeroom fields its form sets.
FORM_FIELDS = tuple(declaration.name for declaration in HOMEROOM.form_fields)
#: What the audit trail records of a homeroom (see :func:`audited`).
AUDITED = (*(declaration.name for declaration in HOMEROOM.audited), "teachers")
#: How many students the class page offers to assign at once.
CANDIDATES_LIMIT = 50
#: Homerooms a page of the list shows.
HOMEROOMS_PER_PAGE = 50
#: Most accounts a homeroom form suggests or accepts as teachers at once.
TEACHER_LIMIT = 50


class HomeroomError(Exception):
    """A change to homerooms was refused; ``str(error)`` says why, for the user."""


class StaleHomeroomError(HomeroomError):
    """The homeroom changed since the version the user saw."""


def homeroom_page(
    year_id: int,
    viewer: User | None = None,
    number: int = 1,
    q: str = "",
    grade: int | None = None,
) -> Page:
    """Page ``number`` of a year's homerooms that ``viewer`` may see, by grade then name
    (9B before 10A), each with its number of students, and the total counted up to
    :data:`webapp.paging.COUNT_LIMIT`.

    Four statements whatever the number of homerooms (the count, the page along the
    index of grades and names in a year, its teachers, its students' counts).

    Args:
        year_id: the school year.
        viewer: the account looking (a teacher: their own homerooms only).
        number: the 1-based page number (past the end: the last page).
        q: only names containing this text, ignoring case; blank for all.
        grade: only homerooms of this grade; ``None`` for all.

    Returns:
        The page of :data:`HOMEROOMS_PER_PAGE`; its items are ``(Homeroom, students)``.
    """
    statement = (
        select(Homeroom)
        .where(Homeroom.school_year_id == year_id)
        .order_by(Homeroom.grade, Homeroom.name)
    )
    if q:
        statement = statement.where(Homeroom.name.icontains(q, autoescape=True))
    if grade is not None:
        statement = statement.where(Homeroom.grade == grade)
    visible = homeroom_visible(viewer)
    if visible is not None:
        statement = statement.where(visible)
    statement = statement.options(selectinload(Homeroom.teachers))
    page = bounded_page(statement, Homeroom.id, number, HOMEROOMS_PER_PAGE)
    sizes = student_counts([homeroom.id for homeroom in page.items])
    return replace(page, items=[(homeroom, sizes.get(homeroom.id, 0)) for homeroom in page.items])


def student_counts(homeroom_ids: list[int]) -> dict[int, int]:
    """How many enrollments each homeroom holds, by id (those with none left out); one
    statement, by the index of ``homeroom_id``."""
    if not homeroom_ids:
        return {}
    statement = (
        select(Enrollment.homeroom_id, func.count())
        .where(Enrollment.homeroom_id.in_(homeroom_ids))
        .group_by(Enrollment.homeroom_id)
    )
    rows = db.session.execute(statement)
    return {homeroom_id: int(n) for homeroom_id, n in rows if homeroom_id is not None}


def audited(homeroom: Homeroom) -> dict[str, Any]:
    """What the audit trail records of a homeroom: its fields and its teachers' emails."""
    teachers = ", ".join(sorted(user.email for user in homeroom.teachers)) or None
    return {**HOMEROOM.snapshot(homeroom), "teachers": teachers}


def label(homeroom: Homeroom) -> str:
    """``"5B (2026–27)"``: a homeroom in the audit log's notes."""
    year = db.session.get(SchoolYear, homeroom.school_year_id)
    return f"{homeroom.name} ({year.name if year else homeroom.school_year_id})"


#: Most homerooms a form suggests (a ``<datalist>``): a district has thousands, and a page
#: that listed them all would grow with the district.
SUGGESTION_LIMIT = 50


def homeroom_suggestions(year_id: int, grade: int | None = None) -> list[tuple[str, int, int]]:
    """``(name, grade, capacity)`` of at most :data:`SUGGESTION_LIMIT` of a year's
    homerooms, by grade then name: those of ``grade`` when given (one light statement, for
    a form's suggestions; it reads the index of grades and names in a year, never sorts
    them all)."""
    statement = (
        select(Homeroom.name, Homeroom.grade, Homeroom.capacity)
        .where(Homeroom.school_year_id == year_id)
        .order_by(Homeroom.grade, Homeroom.name)
        .limit(SUGGESTION_LIMIT)
    )
    if grade is not None:
        statement = statement.where(Homeroom.grade == grade)
    return [(str(n), int(g), int(c)) for n, g, c in db.session.execute(statement)]


def homeroom_named(year_id: int, name: str) -> Homeroom | None:
    """The year's homeroom called ``name`` (surrounding spaces ignored), or, if no name is
    exactly that, the only one equal to it ignoring case; ``None`` otherwise."""
    name = name.strip()
    exact = db.session.scalar(
        select(Homeroom).where(Homeroom.school_year_id == year_id, Homeroom.name == name)
    )
    if exact is not None or not name:
        return exact
    matches = db.session.scalars(
        select(Homeroom)
        .where(Homeroom.school_year_id == year_id, func.lower(Homeroom.name) == name.lower())
        .limit(2)
    ).all()
    return matches[0] if len(matches) == 1 else None


def get_homeroom(homeroom_id: int, viewer: User | None = None) -> Homeroom | None:
    """The homeroom, with its year and teachers, if it exists and ``viewer`` may see it."""
    statement = (
        select(Homeroom)
        .join(Homeroom.school_year)
        .options(contains_eager(Homeroom.school_year), selectinload(Homeroom.teachers))
        .where(Homeroom.id == homeroom_id)
    )
    visible = homeroom_visible(viewer)
    if visible is not None:
        statement = statement.where(visible)
    return db.session.scalar(statement)


def teacher_options(current: Iterable[User], ids: Iterable[int] = ()) -> list[User]:
    """The accounts a homeroom form offers as teachers (its checkboxes): the homeroom's
    ``current`` teachers, and the active accounts among ``ids`` (those a POST ticked),
    never every account. At most one statement, of at most :data:`TEACHER_LIMIT` ids.

    Args:
        current: the homeroom's teachers (active or not: they stay until unticked).
        ids: account ids the form sent; unknown or deactivated ones are left out.

    Returns:
        The accounts, current ones first, each once.
    """
    options = list(current)
    known = {user.id for user in options}
    wanted = [user_id for user_id in dict.fromkeys(ids) if user_id not in known]
    if wanted:
        statement = (
            select(User)
            .where(User.id.in_(wanted[:TEACHER_LIMIT]), User.active.is_(True))
            .order_by(func.lower(User.email))
        )
        options.extend(db.session.scalars(statement))
    return options


def active_account(email: str) -> User | None:
    """The active account whose address is ``email`` (ignoring case and surrounding
    spaces), or ``None``: a homeroom's teacher, typed."""
    user = find_user(email)
    return user if user is not None and user.active else None


def teacher_suggestions(text: str = "") -> list[str]:
    """Addresses a homeroom form suggests for a teacher (a ``<datalist>``): at most
    :data:`TEACHER_LIMIT` active accounts, by address; with ``text``, those whose
    address contains it (ignoring case), else teachers first.

    One or two statements read along the index of addresses, whatever the number of
    accounts (a district has tens of thousands; a choice of every one made the form
    grow with them).
    """
    active = select(User.email).where(User.active.is_(True)).order_by(func.lower(User.email))
    if text:
        statement = active.where(User.email.icontains(text.strip(), autoescape=True))
        return list(db.session.scalars(statement.limit(TEACHER_LIMIT)))
    teachers = active.where(User.role == Role.TEACHER.value).limit(TEACHER_LIMIT)
    emails = list(db.session.scalars(teachers))
    if len(emails) < TEACHER_LIMIT:
        others = active.where(User.role != Role.TEACHER.value)
        emails += db.session.scalars(others.limit(TEACHER_LIMIT - len(emails)))
    return emails


def class_list(homeroom: Homeroom, viewer: User | None = None) -> list[tuple[Student, Enrollment]]:
    """The homeroom's students (those ``viewer`` may see) by name, with their enrollments.

    One statement, however many students.
    """
    statement = (
        select(Student, Enrollment)
        .join(Enrollment, Enrollment.student_id == Student.id)
        .where(Enrollment.homeroom_id == homeroom.id)
        .order_by(Student.name, Student.id)
    )
    return [(s, e) for s, e in db.session.execute(scoped(statement, viewer))]


def student_count(homeroom_id: int) -> int:
    """How many enrollments are assigned to the homeroom."""
    statement = select(func.count()).where(Enrollment.homeroom_id == homeroom_id)
    return int(db.session.scalar(statement) or 0)


def candidates(homeroom: Homeroom, q: str = "") -> list[tuple[Student, Enrollment]]:
    """Students enrolled in the homeroom's year and grade who are not in it: those without
    a homeroom first, then by name; at most :data:`CANDIDATES_LIMIT`."""
    statement = (
        select(Student, Enrollment)
        .join(Enrollment, Enrollment.student_id == Student.id)
        .options(contains_eager(Enrollment.homeroom))
        .outerjoin(Homeroom, Homeroom.id == Enrollment.homeroom_id)
        .where(
            Enrollment.school_year_id == homeroom.school_year_id,
            Enrollment.grade == homeroom.grade,
            Enrollment.status == "enrolled",
            (Enrollment.homeroom_id != homeroom.id) | Enrollment.homeroom_id.is_(None),
        )
        .order_by(Enrollment.homeroom_id.is_not(None), Student.name, Student.id)
        .limit(CANDIDATES_LIMIT)
    )
    if q:
        statement = statement.where(Student.name.icontains(q, autoescape=True))
    return [(s, e) for s, e in db.session.execute(statement)]


def check_homeroom(
    values: Mapping[str, Any], year_id: int, exclude_id: int | None
) -> dict[str, str]:
    """The rules that need the other homerooms: a name of its own within the year.

    Returns:
        ``{field: message}`` for each rule broken.
    """
    statement = select(Homeroom.id).where(
        Homeroom.school_year_id == year_id, Homeroom.name == values["name"]
    )
    if exclude_id is not None:
        statement = statement.where(Homeroom.id != exclude_id)
    if db.session.scalar(statement.limit(1)) is not None:
        return {"name": f"Another homeroom of this year is already called {values['name']}."}
    return {}


def capacity_warnings(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The capacity warning of ``values`` (``name``, ``capacity`` and :data:`STUDENTS`)."""
    return HOMEROOM.check_warnings(values, date.today(), judge={"capacity"})


def save_homeroom(
    homeroom: Homeroom,
    values: Mapping[str, Any],
    teacher_ids: Iterable[int],
    expected_version: int | None = None,
) -> Homeroom:
    """Create or change a homeroom and its teachers, and commit.

    Args:
        homeroom: a transient ``Homeroom(school_year_id=...)`` or one loaded in this session.
        values: the :data:`FORM_FIELDS`, cleaned by the declarations.
        teacher_ids: the accounts that teach it (unknown ids are ignored).
        expected_version: the version the user's form showed (``None`` skips the check).

    Raises:
        StaleHomeroomError: it changed since ``expected_version``, or meanwhile.
        HomeroomError: the name is taken in that year; nothing changed.
    """
    existing = homeroom.id is not None
    if existing and expected_version is not None and expected_version != homeroom.version:
        raise StaleHomeroomError(
            f"{homeroom.name} was changed by someone else meanwhile; the form now shows "
            "their changes."
        )
    problems = check_homeroom(values, homeroom.school_year_id, homeroom.id)
    if problems:
        raise HomeroomError(" ".join(problems.values()))
    old = audited(homeroom) if existing else {}
    for name in FORM_FIELDS:
        setattr(homeroom, name, values[name])
    ids = list(dict.fromkeys(teacher_ids))
    chosen = list(db.session.scalars(select(User).where(User.id.in_(ids)))) if ids else []
    before = {user.id for user in homeroom.teachers} if existing else set()
    if {user.id for user in chosen} != before:
        homeroom.teachers = sorted(chosen, key=lambda user: user.email)
        # The link table is not the row: touch the row so its version moves too.
        homeroom.updated_at = utcnow()
    db.session.add(homeroom)
    try:
        db.session.flush()
        changes = trail.diff(old, audited(homeroom), AUDITED)
        if changes or not existing:
            action = Action.UPDATE if existing else Action.CREATE
            trail.record_event(action, Entity.HOMEROOM, homeroom.id, changes, note=label(homeroom))
        db.session.commit()
    except StaleDataError as error:
        db.session.rollback()
        raise StaleHomeroomError("The homeroom was changed by someone else meanwhile.") from error
    except IntegrityError as error:
        db.session.rollback()
        raise HomeroomError(
            "The database refused this homeroom: another one of this year may have been "
            "given the name meanwhile. Check and try again."
        ) from error
    return homeroom


def delete_homeroom(homeroom: Homeroom, expected_version: int | None = None) -> None:
    """Delete an empty homeroom, and commit.

    Raises:
        StaleHomeroomError: it changed since ``expected_version``.
        HomeroomError: students are still assigned to it (move them first).
    """
    if expected_version is not None and expected_version != homeroom.version:
        raise StaleHomeroomError(f"{homeroom.name} was changed by someone else meanwhile.")
    students = student_count(homeroom.id)
    if students:
        raise HomeroomError(
            f"{homeroom.name} still has {students} student{'s' if students != 1 else ''}: "
            "move them to another homeroom or take them out first."
        )
    last = audited(homeroom)
    homeroom_id, note = homeroom.id, label(homeroom)
    db.session.delete(homeroom)
    try:
        db.session.flush()
        changes = {name: [value, None] for name, value in last.items()}
        trail.record_event(Action.DELETE, Entity.HOMEROOM, homeroom_id, changes, note=note)
        db.session.commit()
    except (StaleDataError, IntegrityError) as error:
        db.session.rollback()
        raise HomeroomError(
            f"{homeroom.name} changed meanwhile (a student may have been assigned); try again."
        ) from error
