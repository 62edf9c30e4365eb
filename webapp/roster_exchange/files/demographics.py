"""demographics.csv (binding section 3.8): students' birth dates, when enabled.

Exported only with ``ONEROSTER_EXPORT_DEMOGRAPHICS`` on, one row per student of the year
with a known birthday; its sourcedId is the student's (the binding: it "MUST be the
'sourcedId' of the User"). Every other column (sex, race, ethnicity, place of birth) is
blank: this app does not hold them.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from webapp.models import Enrollment, Student
from webapp.roster_exchange.files.base import ExportContext, iso, stream

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
