"""users.csv (binding section 3.22): the students of the school year.

Export, per student enrolled in the year (any status):

* ``sourcedId``: the student's stored UUID.
* ``enabledUser``: ``true`` while the status is enrolled, ``false`` once the student has
  left (withdrawn, graduated, transferred); roles.csv's ``endDate`` says when.
* ``username``: the email, or the sourcedId for a student without one (required, and
  consumers match accounts on it).
* ``givenName``, ``familyName``: this app keeps one ``name``; :func:`split_name` divides
  it at the last space, and :func:`join_name` puts it back together exactly.
* ``email``; ``grades``: the year's grade as a CEDS code (``"01"`` to ``"12"``);
  ``primaryOrgSourcedId``: the school.
* Left blank: userIds, middleName, identifier (our ids differ between databases), sms,
  phone, password, userMasterIdentifier, the preferred names, pronouns.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from webapp.models import Enrollment, Status, Student
from webapp.roster_exchange.files.base import ExportContext, stream
from webapp.roster_exchange.ids import ceds_grade

STEM = "users"


def split_name(name: str) -> tuple[str, str]:
    """Divide a full name into OneRoster's required ``givenName`` and ``familyName``.

    The family name is the last space-separated word. A name of one word, or one whose
    two halves would be the same (``"Ng Ng"``), goes whole into both, which
    :func:`join_name` reads back as the whole name.

    Returns:
        ``(givenName, familyName)``, both non-blank for a non-blank name.
    """
    given, _, family = name.rpartition(" ")
    if not given.strip() or not family.strip() or given == family:
        return name, name
    return given, family


def join_name(given: str, family: str, middle: str = "") -> str:
    """The full name of OneRoster's parts: the inverse of :func:`split_name`.

    Returns:
        ``given`` alone when both parts are equal, else the non-blank parts joined by spaces.
    """
    if given == family and not middle:
        return given
    return " ".join(part for part in (given, middle, family) if part.strip())


def username(email: str | None, sourced_id: str) -> str:
    """The exported username: the email, or the sourcedId without one."""
    return email or sourced_id


def export_rows(context: ExportContext) -> Iterator[list[str]]:
    """The users.csv rows of the year's students, by sourcedId."""
    statement = (
        select(Student.sourced_id, Student.name, Student.email, Enrollment.grade, Enrollment.status)
        .join(Enrollment, Enrollment.student_id == Student.id)
        .where(Enrollment.school_year_id == context.year.id)
        .order_by(Student.sourced_id)
    )
    school = context.settings.school_sourced_id
    enrolled = Status.ENROLLED.value
    for sourced_id, name, email, grade, status in stream(statement):
        given, family = split_name(name)
        yield [
            sourced_id,
            "",
            "",
            "true" if status == enrolled else "false",
            username(email, sourced_id),
            "",
            given,
            family,
            "",
            "",
            email or "",
            "",
            "",
            "",
            ceds_grade(grade),
            "",
            "",
            "",
            "",
            "",
            school,
            "",
        ]
