"""classes.csv (binding section 3.4): the homerooms of the school year.

Export, per homeroom of the year: ``sourcedId`` the homeroom's stored UUID, ``title`` and
``classCode`` its name, ``grades`` its grade as a CEDS code, ``courseSourcedId`` the
homeroom course of that grade (:mod:`.courses`), ``classType`` homeroom, ``location`` its
room, ``schoolSourcedId`` the school, ``termSourcedIds`` the school year.

Import: each class of type ``homeroom`` creates or updates a homeroom, matched by
sourcedId, in the school year among its terms (:func:`plan_rows`); scheduled classes are
skipped. A new homeroom's capacity is :data:`NEW_CAPACITY` (the file has none). A class
of several grades gets the lowest (:func:`homeroom_grade`), with a note.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import select

from webapp.extensions import db
from webapp.fields.base import FieldError
from webapp.fields.homeroom import HOMEROOM
from webapp.models import Homeroom, SchoolYear
from webapp.roster_exchange.files.base import ExportContext, stream
from webapp.roster_exchange.files.users import grade_of
from webapp.roster_exchange.ids import ceds_grade, course_id
from webapp.roster_exchange.planning import HomeroomChange, Outcome, Plan, check_sourced_id, records

STEM = "classes"
FILE = "classes.csv"
#: The capacity of a homeroom the import creates (classes.csv has no such column).
NEW_CAPACITY = 30


def export_rows(context: ExportContext) -> Iterator[list[str]]:
    """The classes.csv rows of the year's homerooms, by sourcedId."""
    year = context.year
    statement = (
        select(Homeroom.sourced_id, Homeroom.name, Homeroom.grade, Homeroom.room)
        .where(Homeroom.school_year_id == year.id)
        .order_by(Homeroom.sourced_id)
    )
    school = context.settings.school_sourced_id
    for sourced_id, name, grade, room in stream(statement):
        yield [
            sourced_id,
            "",
            "",
            name,
            ceds_grade(grade),
            course_id(year.sourced_id, grade),
            name,
            "homeroom",
            room or "",
            school,
            year.sourced_id,
            "",
            "",
            "",
        ]


def plan_rows(plan: Plan, archive: zipfile.ZipFile, today: date) -> None:
    """Plan the homerooms of classes.csv.

    A homeroom class is matched by sourcedId; its school year is the first of its
    terms that is a school year of the bundle. Its name must be no other homeroom's of
    that year (stored, or earlier in the file); an existing homeroom stays in its year.
    """
    stored: dict[str, Homeroom] = {}
    years_of: dict[str, str] = {}
    names: dict[tuple[str, str], str] = {}
    statement = select(Homeroom, SchoolYear.sourced_id).join(
        SchoolYear, SchoolYear.id == Homeroom.school_year_id
    )
    for known, year_sourced_id in db.session.execute(statement):
        stored[known.sourced_id] = known
        years_of[known.sourced_id] = year_sourced_id
        names[year_sourced_id, known.name] = known.sourced_id
    for line, row in records(archive, STEM):
        sourced_id = row["sourcedId"]
        if row["classType"] != "homeroom":
            plan.add(FILE, line, Outcome.SKIP, sourced_id, f"a {row['classType']} class")
            continue
        year = next((t for t in row["termSourcedIds"].split(",") if t in plan.years), None)
        try:
            if year is None:
                raise FieldError("none of its terms is a school year of the bundle")
            grade, note = homeroom_grade(row["grades"])
            values: dict[str, Any] = {
                "name": HOMEROOM["name"].clean(row["title"], today),
                "grade": grade,
                "room": HOMEROOM["room"].clean(row["location"], today),
            }
        except FieldError as error:
            plan.add(FILE, line, Outcome.ERROR, sourced_id, str(error))
            continue
        homeroom = stored.get(sourced_id)
        owner = names.setdefault((year, values["name"]), sourced_id)
        problem = check_sourced_id(sourced_id) if homeroom is None else None
        if problem is None and owner != sourced_id:
            problem = f"another homeroom of that year is called {values['name']}"
        if problem is None and homeroom is not None and years_of[sourced_id] != year:
            problem = "the homeroom belongs to another school year"
        if problem is not None:
            plan.add(FILE, line, Outcome.ERROR, sourced_id, problem)
            continue
        plan.homerooms[sourced_id] = HomeroomChange(sourced_id, year, values, homeroom, line)
        if homeroom is None:
            plan.add(FILE, line, Outcome.CREATE, sourced_id, " ".join([values["name"], note]))
            continue
        changed = [name for name, value in values.items() if getattr(homeroom, name) != value]
        outcome = Outcome.UPDATE if changed else Outcome.UNCHANGED
        plan.add(FILE, line, outcome, sourced_id, " ".join([", ".join(changed), note]).strip())


def homeroom_grade(cell: str) -> tuple[int, str]:
    """A homeroom's grade from its ``grades`` cell, and a note ("" when none).

    A homeroom here has one grade: a class of several (``"03,04"``) gets the lowest,
    with a note saying so.

    Raises:
        FieldError: blank, or a grade this school does not have.
    """
    codes = [code for code in cell.split(",") if code]
    if not codes:
        raise FieldError("a homeroom needs its grade (the grades column is blank)")
    grades = sorted(grade_of(code) for code in codes)
    if len(grades) == 1:
        return grades[0], ""
    return grades[
        0
    ], f"(grades {cell}: a homeroom here has one grade; it gets {codes_of(grades[0])})"


def codes_of(grade: int) -> str:
    """Our grade as its CEDS code (for messages)."""
    return ceds_grade(grade)
