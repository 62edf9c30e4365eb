"""academicSessions.csv (binding section 3.2): the school year exported.

Export: one row of type ``schoolYear``: the year's sourcedId, its name as the title, its
first and last day, and ``schoolYear`` the calendar year in which it ends (the binding:
"the school year for the academic session ... the year in which the school year ends").
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import select

from webapp.extensions import db
from webapp.fields.base import FieldError
from webapp.fields.school_year import SCHOOL_YEAR
from webapp.models import Enrollment, SchoolYear
from webapp.roster_exchange.files.base import ExportContext, iso
from webapp.roster_exchange.planning import Outcome, Plan, YearChange, check_sourced_id, records

STEM = "academicSessions"


def export_rows(context: ExportContext) -> Iterator[list[str]]:
    """``sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,
    schoolYear`` rows."""
    year = context.year
    yield [
        year.sourced_id,
        "",
        "",
        year.name,
        "schoolYear",
        iso(year.starts_on),
        iso(year.ends_on),
        "",
        str(year.ends_on.year),
    ]


FILE = "academicSessions.csv"


def plan_rows(plan: Plan, archive: zipfile.ZipFile, today: date) -> None:
    """Plan the school years of academicSessions.csv (sessions of other types are skipped).

    A session is matched to a year by sourcedId. A session no year carries is matched to
    a year with the same first and last day that holds no enrollment, which then takes
    the session's sourcedId (a fresh database's year, made by its migration, adopts the
    bundle's); otherwise it is a new year, refused when it overlaps one or takes a name.
    """
    stored = list(db.session.scalars(select(SchoolYear)))
    by_id = {year.sourced_id: year for year in stored}
    in_bundle = {row["sourcedId"] for _, row in records(archive, STEM)}
    claimed: set[int] = set()
    for line, row in records(archive, STEM):
        sourced_id = row["sourcedId"]
        if row["type"] != "schoolYear":
            plan.add(FILE, line, Outcome.SKIP, sourced_id, f"a {row['type']}: not imported")
            continue
        try:
            values = _values(row, today)
        except FieldError as error:
            plan.add(FILE, line, Outcome.ERROR, sourced_id, str(error))
            continue
        year = by_id.get(sourced_id)
        if year is None:
            year = _adoptable(stored, values, in_bundle)
        problem = check_sourced_id(sourced_id) or _clash(stored, values, year, plan)
        if problem is None and year is not None and year.id in claimed:
            problem = f"{year.name} is already matched by another session"
        if problem is not None:
            plan.add(FILE, line, Outcome.ERROR, sourced_id, problem)
            continue
        plan.years[sourced_id] = YearChange(sourced_id, values, year, line)
        if year is None:
            plan.add(FILE, line, Outcome.CREATE, sourced_id, f"new school year {values['name']}")
            continue
        claimed.add(year.id)
        changes = [name for name, value in values.items() if getattr(year, name) != value]
        if year.sourced_id != sourced_id:
            changes.append("sourcedId")
        outcome = Outcome.UPDATE if changes else Outcome.UNCHANGED
        plan.add(FILE, line, outcome, sourced_id, ", ".join(changes))


def _values(row: dict[str, str], today: date) -> dict[str, Any]:
    """The year's name and days from a row; FieldError when one is not acceptable."""
    values = {
        "name": SCHOOL_YEAR["name"].clean(row["title"], today),
        "starts_on": date.fromisoformat(row["startDate"]),
        "ends_on": date.fromisoformat(row["endDate"]),
    }
    for _, message in SCHOOL_YEAR.check_record(values):
        raise FieldError(message)
    return values


def _adoptable(
    stored: list[SchoolYear], values: dict[str, Any], in_bundle: set[str]
) -> SchoolYear | None:
    """A stored year with the same days, no enrollment and a sourcedId the bundle lacks."""
    for year in stored:
        if (
            (year.starts_on, year.ends_on) == (values["starts_on"], values["ends_on"])
            and year.sourced_id not in in_bundle
            and db.session.scalar(
                select(Enrollment.id).where(Enrollment.school_year_id == year.id).limit(1)
            )
            is None
        ):
            return year
    return None


def _clash(
    stored: list[SchoolYear], values: dict[str, Any], year: SchoolYear | None, plan: Plan
) -> str | None:
    """Why the year cannot take ``values``: an overlap or a name in use; None when it can."""
    others: list[tuple[str, date, date]] = [
        (y.name, y.starts_on, y.ends_on) for y in stored if year is None or y.id != year.id
    ]
    others += [
        (c.values["name"], c.values["starts_on"], c.values["ends_on"])
        for c in plan.years.values()
        if c.year is None or year is None or c.year.id != year.id
    ]
    for name, starts_on, ends_on in others:
        if name == values["name"]:
            return f"another school year is already called {name}"
        if starts_on <= values["ends_on"] and ends_on >= values["starts_on"]:
            return f"the dates overlap {name} ({starts_on} to {ends_on})"
    return None
