"""The student record's fields: the one place each of them is declared.

The form, the CSV import and export, the audit trail and the pages read :data:`STUDENT`.
The grade and the status are an enrollment's, per school year
(:mod:`webapp.fields.enrollment`); a CSV row holds both records (:data:`ROSTER_ROW`).
Limits come from the model (:mod:`webapp.models.student`), whose constraints the database
enforces whatever code writes.

Three decisions live here:

* **A blank enrollment date** means today for a new student and "keep the stored date"
  for an existing one, in the form and in the import alike (:attr:`Field.default`).
* **Emails** are checked for syntax here; whether two addresses are the same is decided
  by the database's ``lower()``, as its unique index decides it
  (:func:`webapp.students.service.email_keys`).
* **Plausibility is a warning, not a rule.** A birthday that makes the student younger
  than 3 or older than 25 on the enrollment date, or an enrollment date before 1900, is
  unusual but possible (the SQLAlchemy tutorial's Albert Einstein was born in 1879): the
  form asks the user to confirm it, the import takes it and shows the warning, and the
  database has no such rule. Only dates being entered or changed are judged.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from webapp.fields import enrollment, rules
from webapp.fields.base import Field, FieldError, Kind
from webapp.fields.parsers import parse_iso_date, parse_text, parse_whole_number
from webapp.fields.records import RecordFields, RecordRule, RecordWarning
from webapp.models.student import EMAIL_MAX_LENGTH, NAME_MAX_LENGTH
from webapp.models.types import MAX_ID

NAME_BLANK_MESSAGE = "Enter the student's name."

#: Plausibility, not invariants: outside these, the form asks the user to confirm and the
#: import shows a warning; neither refuses the value, and the database has no such rule.
USUAL_AGES_AT_ENROLLMENT = (3, 25)
USUAL_EARLIEST_DATE = date(1900, 1, 1)


def check_id(value: int, today: date) -> int:
    """Accept an id a student row can have, 1 to ``MAX_ID``.

    Raises:
        FieldError: outside that range.
    """
    if not 1 <= value <= MAX_ID:
        raise FieldError(f"The id {value} is not a student id (ids go from 1 to {MAX_ID}).")
    return value


def clean_name(value: str, today: date) -> str:
    """Tidy a student's name (see :func:`webapp.fields.rules.clean_person_name`)."""
    return rules.clean_person_name(value, NAME_MAX_LENGTH, NAME_BLANK_MESSAGE)


def clean_email(value: str, today: date) -> str:
    """Normalise an address (see :func:`webapp.fields.rules.normalise_email`)."""
    return rules.normalise_email(value)


def check_birthday(value: date, today: date) -> date:
    """Accept a birthday that is not after ``today`` (nobody is born in the future).

    How long ago a birthday may be is not a rule: that is plausibility, which
    :func:`unusual_age_at_enrollment` warns about.

    Raises:
        FieldError: the birthday is in the future.
    """
    if value > today:
        raise FieldError("The birthday cannot be in the future.")
    return value


def check_enrolled_after_birthday(values: Mapping[str, Any]) -> None:
    """A student is enrolled on or after the day of birth (when the birthday is known).

    Args:
        values: the record's ``birthday`` and ``enrolled_on``, as they are to be stored.

    Raises:
        FieldError: the enrollment date is before the birthday.
    """
    birthday, enrolled_on = values["birthday"], values["enrolled_on"]
    if birthday is not None and enrolled_on is not None and enrolled_on < birthday:
        raise FieldError("The enrollment date cannot be before the birthday.")


def years_between(birthday: date, day: date) -> int:
    """Completed years from ``birthday`` to ``day`` (negative when ``day`` is earlier)."""
    return day.year - birthday.year - int((day.month, day.day) < (birthday.month, birthday.day))


def unusual_age_at_enrollment(values: Mapping[str, Any], today: date) -> str | None:
    """Warn about a birthday that makes the student unusually young or old when enrolled.

    Args:
        values: the record's ``birthday`` and ``enrolled_on``, as they are to be stored.
        today: unused (the age is measured on the enrollment date).

    Returns:
        A message when the age on the enrollment date is outside
        :data:`USUAL_AGES_AT_ENROLLMENT`; ``None`` otherwise, without a birthday, or when
        the enrollment date is before the birthday (a rule refuses that).
    """
    birthday, enrolled_on = values["birthday"], values["enrolled_on"]
    if birthday is None or enrolled_on is None:
        return None
    age = years_between(birthday, enrolled_on)
    youngest, oldest = USUAL_AGES_AT_ENROLLMENT
    if age < 0 or youngest <= age <= oldest:
        return None
    return (
        f"Born on {birthday:%-d %B %Y}, the student was {age} "
        f"year{'' if age == 1 else 's'} old on the enrollment date "
        f"({enrolled_on:%-d %B %Y}); students are usually {youngest} to {oldest}."
    )


def unusual_enrollment_date(value: date, today: date) -> str | None:
    """Warn about an enrollment date before :data:`USUAL_EARLIEST_DATE`.

    Returns:
        The message, or ``None``.
    """
    if value < USUAL_EARLIEST_DATE:
        return f"The enrollment date {value:%-d %B %Y} is before {USUAL_EARLIEST_DATE:%Y}."
    return None


def _today(today: date) -> date:
    return today


ID: Field[int] = Field(
    "id",
    "ID",
    Kind.NUMBER,
    parse_whole_number,
    rules=(check_id,),
    csv_help="Optional. Updates the student with this id, or adds one with this id if it is free.",
    in_form=False,
    audited=False,
    writable=False,
)

NAME: Field[str] = Field(
    "name",
    "Name",
    Kind.TEXT,
    parse_text,
    rules=(clean_name,),
    required=True,
    required_message=NAME_BLANK_MESSAGE,
    csv_help=f"Full name, at most {NAME_MAX_LENGTH} characters; required for new students. "
    "First-name and last-name columns are joined into it.",
    html={"maxlength": NAME_MAX_LENGTH, "autocomplete": "off"},
)

EMAIL: Field[str] = Field(
    "email",
    "Email",
    Kind.EMAIL,
    parse_text,
    rules=(clean_email,),
    description="Optional. Must be different from every other student's.",
    csv_help="Optional, unique. Without an id, a row whose email matches a student "
    "(ignoring case) updates that student.",
    html={"maxlength": EMAIL_MAX_LENGTH, "autocomplete": "off"},
)

BIRTHDAY: Field[date] = Field(
    "birthday",
    "Birthday",
    Kind.DATE,
    parse_iso_date,
    rules=(check_birthday,),
    description="Optional.",
    csv_help="Optional; a date such as 2015-03-14, 14/03/2015 or 3/14/2015.",
)

ENROLLED_ON: Field[date] = Field(
    "enrolled_on",
    "Enrollment date",
    Kind.DATE,
    parse_iso_date,
    warnings=(unusual_enrollment_date,),
    default=_today,
    description="Today if left empty.",
    description_existing="Keeps the stored date if left empty.",
    csv_help="Optional; a date, as for the birthday (the header may also say “enrollment "
    "date”). "
    "Empty: today for a new student, the stored date for an existing one.",
)

#: The student record: its fields in display order, and its rules and warnings across fields.
STUDENT = RecordFields(
    (ID, NAME, EMAIL, BIRTHDAY, ENROLLED_ON),
    rules=(RecordRule("enrolled_on", ("birthday", "enrolled_on"), check_enrolled_after_birthday),),
    warnings=(RecordWarning("birthday", ("birthday", "enrolled_on"), unusual_age_at_enrollment),),
)


#: A roster row, as the CSV import and export hold it: the student's fields and the
#: current school year's enrollment (grade and status), with the student's rules and
#: warnings (the
#: enrollment's rules read its start date, which is not a column: the import checks them
#: against it). The grade comes after the email, where the tutorial's table had it.
ROSTER_ROW = RecordFields(
    (
        ID,
        NAME,
        EMAIL,
        enrollment.GRADE,
        BIRTHDAY,
        ENROLLED_ON,
        *(enrollment.ENROLLMENT[name] for name in enrollment.STATUS_FIELDS[1:]),
    ),
    rules=STUDENT.rules,
    warnings=STUDENT.warnings,
)
