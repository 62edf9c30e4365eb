"""demographics.csv (binding section 3.8): students' birth dates, when enabled.

Exported only with ``ONEROSTER_EXPORT_DEMOGRAPHICS`` on, one row per student of the year
with a known birthday; its sourcedId is the student's (the binding: it "MUST be the
'sourcedId' of the User"). Every other column (sex, race, ethnicity, place of birth) is
blank: this app does not hold them.

Import: birthDate becomes the student's birthday (:func:`plan_rows`).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import date

from sqlalchemy import select

from webapp.fields.base import FieldError
from webapp.fields.student import STUDENT
from webapp.models import Enrollment, Student
from webapp.roster_exchange.files.base import ExportContext, iso, stream
from webapp.roster_exchange.planning import Outcome, Plan, records

STEM = "demographics"

#: The columns after sourcedId, status, dateLastModified and birthDate, all blank.
_BLANKS = [""] * 12


def export_rows(context: ExportContext) -> Iterator[list[str]]:
    """The demographics.csv rows, by sourcedId; none unless the setting is on."""
    if not context.settings.demographics:
        return
    statement = (
        select(Student.sourced_id, Student.birthday)
        .join(Enrollment, Enrollment.student_id == Student.id)
        .where(Enrollment.school_year_id == context.year.id, Student.birthday.is_not(None))
        .order_by(Student.sourced_id)
    )
    for sourced_id, birthday in stream(statement):
        yield [sourced_id, "", "", iso(birthday), *_BLANKS]


FILE = "demographics.csv"


def plan_rows(plan: Plan, archive: zipfile.ZipFile, today: date) -> None:
    """Plan the birthdays of demographics.csv's students (rows of other users are skipped).

    Only ``birthDate`` is read. A student in a bundle with demographics.csv but without a
    row there, or with a blank birthDate, gets no birthday; a bundle without the file
    leaves birthdays as they are.
    """
    if f"{STEM}.csv" not in archive.namelist():
        return
    seen: set[str] = set()
    for line, row in records(archive, STEM):
        sourced_id = row["sourcedId"]
        change = plan.students.get(sourced_id)
        if change is None:
            plan.add(FILE, line, Outcome.SKIP, sourced_id, "not an imported student")
            continue
        seen.add(sourced_id)
        try:
            birthday = STUDENT["birthday"].clean(row["birthDate"], today)
        except FieldError as error:
            plan.add(FILE, line, Outcome.ERROR, sourced_id, str(error))
            continue
        first_day = change.enrolled_on if change.student is None else change.student.enrolled_on
        if birthday is not None and first_day is not None and birthday > first_day:
            message = f"the birthDate {birthday} is after the student's enrollment ({first_day})"
            plan.add(FILE, line, Outcome.ERROR, sourced_id, message)
            continue
        change.values["birthday"] = birthday
        if change.student is None:
            plan.add(FILE, line, Outcome.CREATE, sourced_id, f"birthday {birthday or 'unknown'}")
        elif change.student.birthday != birthday:
            plan.add(FILE, line, Outcome.UPDATE, sourced_id, "birthday")
        else:
            plan.add(FILE, line, Outcome.UNCHANGED, sourced_id)
    for sourced_id, change in plan.students.items():
        if sourced_id not in seen:
            change.values["birthday"] = None
