"""roles.csv (binding section 3.18): each student's role at the school in the year.

Export, per enrollment of the year: ``sourcedId`` the enrollment's stored UUID,
``userSourcedId`` the student's, ``roleType`` primary, ``role`` student, ``beginDate``
the day the enrollment began, ``endDate`` the day the student left (withdrew, graduated
or transferred; blank while enrolled), ``orgSourcedId`` the school.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from webapp.models import Enrollment, Student
from webapp.roster_exchange.files.base import ExportContext, iso, stream

STEM = "roles"


def export_rows(context: ExportContext) -> Iterator[list[str]]:
    """The roles.csv rows of the year's students, by the student's sourcedId."""
    statement = (
        select(
            Enrollment.sourced_id, Student.sourced_id, Enrollment.entered_on, Enrollment.status_on
        )
        .join(Student, Enrollment.student_id == Student.id)
        .where(Enrollment.school_year_id == context.year.id)
        .order_by(Student.sourced_id)
    )
    school = context.settings.school_sourced_id
    for role_id, user_id, entered_on, status_on in stream(statement):
        yield [
            role_id,
            "",
            "",
            user_id,
            "primary",
            "student",
            iso(entered_on),
            iso(status_on),
            school,
            "",
        ]
