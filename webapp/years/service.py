"""School years: the current one, defining and changing years, choosing the current one.

Shared by the year pages, the ``flask years`` commands and the features that show a year
(the roster, the dashboard). Each write commits once, with its audit events; on a refusal
it raises :class:`YearError` with a message for the user and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from webapp import trail
from webapp.extensions import db
from webapp.fields.school_year import SCHOOL_YEAR
from webapp.models import Action, AuditBatch, Entity, SchoolYear

#: The fields of a year its form sets.
FORM_FIELDS = ("name", "starts_on", "ends_on")


class YearError(Exception):
    """A change to the school years was refused; ``str(error)`` says why, for the user."""


class StaleYearError(YearError):
    """The year changed since the version the user saw."""


class NoCurrentYearError(LookupError):
    """No school year is current (a database made outside the migrations)."""


def span(year: SchoolYear) -> str:
    """``"1 Sep 2026 – 31 Aug 2027"``: a year's first and last day, for messages."""
    return f"{year.starts_on:%-d %b %Y} – {year.ends_on:%-d %b %Y}"


def current_year() -> SchoolYear:
    """The current school year.

    Raises:
        NoCurrentYearError: none is current (the migrations always make one).
    """
    year = db.session.scalar(select(SchoolYear).where(SchoolYear.is_current.is_(True)))
    if year is None:
        raise NoCurrentYearError("No school year is current; define one under Years.")
    return year


def current_year_id() -> int:
    """The id of the current school year (see :func:`current_year`)."""
    year_id = db.session.scalar(select(SchoolYear.id).where(SchoolYear.is_current.is_(True)))
    if year_id is None:
        raise NoCurrentYearError("No school year is current; define one under Years.")
    return year_id


def all_years() -> list[SchoolYear]:
    """Every school year, the latest first."""
    return list(db.session.scalars(select(SchoolYear).order_by(SchoolYear.starts_on.desc())))


def year_by_name(name: str) -> SchoolYear | None:
    """The year called ``name`` (spaces tidied), or ``None``."""
    return db.session.scalar(select(SchoolYear).where(SchoolYear.name == " ".join(name.split())))


def next_year(year: SchoolYear) -> SchoolYear | None:
    """The year that follows ``year``: the first to start after its last day, if defined."""
    statement = (
        select(SchoolYear)
        .where(SchoolYear.starts_on > year.ends_on)
        .order_by(SchoolYear.starts_on)
        .limit(1)
    )
    return db.session.scalar(statement)


def previous_year(year: SchoolYear) -> SchoolYear | None:
    """The year before ``year``: the last to end before its first day, if defined."""
    statement = (
        select(SchoolYear)
        .where(SchoolYear.ends_on < year.starts_on)
        .order_by(SchoolYear.ends_on.desc())
        .limit(1)
    )
    return db.session.scalar(statement)


def year_name(starts_on: date) -> str:
    """The usual name of a year starting on ``starts_on``: ``"2026–27"`` (an en dash)."""
    return f"{starts_on.year}–{(starts_on.year + 1) % 100:02d}"


def suggested_next() -> dict[str, Any]:
    """Values for the form of a new year: the year after the latest one, as long as it.

    Returns:
        ``{"name", "starts_on", "ends_on"}``; without any year, the year of 1 September to
        31 August around today.
    """
    latest = db.session.scalar(select(SchoolYear).order_by(SchoolYear.ends_on.desc()).limit(1))
    if latest is None:
        today = date.today()
        starts_on = date(today.year if today.month >= 9 else today.year - 1, 9, 1)
        ends_on = date(starts_on.year + 1, 8, 31)
    else:
        starts_on = latest.ends_on + timedelta(days=1)
        length = latest.ends_on - latest.starts_on
        try:
            ends_on = latest.ends_on.replace(year=latest.ends_on.year + 1)
        except ValueError:  # 29 February
            ends_on = starts_on + length
    return {"name": year_name(starts_on), "starts_on": starts_on, "ends_on": ends_on}


def overlapping(starts_on: date, ends_on: date, exclude_id: int | None = None) -> SchoolYear | None:
    """A year sharing a day with ``starts_on`` to ``ends_on``, other than ``exclude_id``."""
    statement = select(SchoolYear).where(
        SchoolYear.starts_on <= ends_on, SchoolYear.ends_on >= starts_on
    )
    if exclude_id is not None:
        statement = statement.where(SchoolYear.id != exclude_id)
    return db.session.scalar(statement.order_by(SchoolYear.starts_on).limit(1))


def check_year(values: Mapping[str, Any], exclude_id: int | None = None) -> dict[str, str]:
    """The rules that need the other years: no overlap, a name of its own.

    Args:
        values: ``name``, ``starts_on`` and ``ends_on``, valid on their own.
        exclude_id: the year being edited.

    Returns:
        ``{field: message}`` for each rule broken (empty when the year is fine).
    """
    problems: dict[str, str] = {}
    other = overlapping(values["starts_on"], values["ends_on"], exclude_id)
    if other is not None:
        problems["starts_on"] = (
            f"These dates overlap {other.name} ({span(other)}); school years cannot share days."
        )
    named = year_by_name(values["name"])
    if named is not None and named.id != exclude_id:
        problems["name"] = f"Another year is already called {named.name}."
    return problems


def save_year(
    year: SchoolYear, values: Mapping[str, Any], expected_version: int | None = None
) -> SchoolYear:
    """Create or change a school year, with its audit event, and commit.

    A new year becomes current when no year is (a database emptied of years).

    Args:
        year: a transient ``SchoolYear()`` or one loaded in this session.
        values: ``name``, ``starts_on``, ``ends_on``, cleaned by the declarations.
        expected_version: the version the user's form showed (``None`` skips the check).

    Returns:
        The saved year.

    Raises:
        StaleYearError: the year changed since ``expected_version``.
        YearError: the dates overlap another year or the name is taken (the message
            says which); nothing changed.
    """
    existing = year.id is not None
    if existing and expected_version is not None and expected_version != year.version:
        raise StaleYearError(
            f"{year.name} was changed by someone else meanwhile; it now shows their changes."
        )
    problems = check_year(values, year.id)
    if problems:
        raise YearError(" ".join(problems.values()))
    before = SCHOOL_YEAR.snapshot(year) if existing else {}
    for name in FORM_FIELDS:
        setattr(year, name, values[name])
    if not existing:
        has_current = db.session.scalar(select(SchoolYear.id).where(SchoolYear.is_current))
        year.is_current = has_current is None
        db.session.add(year)
    names = tuple(field.name for field in SCHOOL_YEAR.audited)
    try:
        db.session.flush()
        changes = trail.diff(before, SCHOOL_YEAR.snapshot(year), names)
        if changes or not existing:
            action = Action.UPDATE if existing else Action.CREATE
            trail.record_event(action, Entity.SCHOOL_YEAR, year.id, changes, note=year.name)
        db.session.commit()
    except StaleDataError as error:
        db.session.rollback()
        raise StaleYearError("The year was changed by someone else meanwhile.") from error
    except IntegrityError as error:
        db.session.rollback()
        raise YearError(
            "The database refused these dates or this name; another year may have been "
            "saved meanwhile. Check the years and try again."
        ) from error
    return year


def set_current(
    year: SchoolYear, *, commit: bool = True, batch: AuditBatch | None = None
) -> SchoolYear | None:
    """Make ``year`` the current school year (and no other), with audit events.

    Args:
        year: a year loaded in this session.
        commit: commit at the end (the rollover passes ``False``: it commits itself).
        batch: the bulk action the change is part of (a rollover).

    Returns:
        The year that was current before, or ``None`` when ``year`` already was.
    """
    before = db.session.scalar(select(SchoolYear).where(SchoolYear.is_current.is_(True)))
    if before is not None and before.id == year.id:
        return None
    # Clear first: the partial unique index allows one current row at any moment.
    changes = [(before, False)] if before is not None else []
    for changed, current in [*changes, (year, True)]:
        db.session.execute(
            update(SchoolYear)
            .where(SchoolYear.id == changed.id)
            .values(is_current=current, version=SchoolYear.version + 1)
            .execution_options(synchronize_session="fetch")
        )
        trail.record_event(
            Action.UPDATE,
            Entity.SCHOOL_YEAR,
            changed.id,
            {"is_current": [not current, current]},
            note=changed.name,
            batch=batch,
        )
    if commit:
        db.session.commit()
    return before
