"""courses.csv (binding section 3.7): one homeroom course per grade of the school year.

This app has no courses; OneRoster requires one behind every class (classes.csv's
``courseSourcedId``). A homeroom is a class of the course "Homeroom, grade NN" of its
year, so the export writes a course for each grade that has students or homerooms that
year. Its sourcedId is derived from the year's and the grade (:func:`..ids.course_id`).
The import reads no course: they are derived data.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Enrollment, Homeroom
from webapp.roster_exchange.files.base import ExportContext
from webapp.roster_exchange.ids import ceds_grade, course_id

STEM = "courses"


def grades_of(context: ExportContext) -> list[int]:
    """The grades that have an enrollment or a homeroom in the exported year, in order."""
    year_id = context.year.id
    enrolled = select(Enrollment.grade).where(Enrollment.school_year_id == year_id)
    homerooms = select(Homeroom.grade).where(Homeroom.school_year_id == year_id)
    return sorted(set(db.session.scalars(enrolled.union(homerooms))))


def course_title(grade: int) -> str:
    """The title of the homeroom course of ``grade``."""
    return f"Homeroom, grade {ceds_grade(grade)}"


def export_rows(context: ExportContext) -> Iterator[list[str]]:
    """``sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,
    orgSourcedId,subjects,subjectCodes`` rows."""
    year = context.year
    for grade in grades_of(context):
        code = ceds_grade(grade)
        yield [
            course_id(year.sourced_id, grade),
            "",
            "",
            year.sourced_id,
            course_title(grade),
            f"HR-{code}",
            code,
            context.settings.school_sourced_id,
            "",
            "",
        ]
