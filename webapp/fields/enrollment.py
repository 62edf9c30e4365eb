"""An enrollment's fields, one declaration each: the grade and status of a student in a year.

The status form on the student's page, the new-student form (its grade), the CSV import
and export (the current year's grade and status beside the student's fields), the audit
trail and the pages read these. Limits and the status vocabulary come from the model
(:mod:`webapp.models.enrollment`), whose constraints the database enforces.

The rules across fields hold the status lifecycle: an enrolled student has no status
date, reason or destination; a withdrawal has a date and a reason; a graduation a date;
a transfer out a date and the destination school; and no status is dated before the
enrollment began.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from webapp.fields import rules
from webapp.fields.base import Field, FieldError, Kind
from webapp.fields.parsers import choice_parser, parse_iso_date, parse_text, parse_whole_number
from webapp.fields.records import RecordFields, RecordRule
from webapp.models.enrollment import (
    DESTINATION_MAX_LENGTH,
    REASON_MAX_LENGTH,
    STATUS_LABELS,
    Status,
)
from webapp.models.student import GRADE_MAX, GRADE_MIN

GRADE_BLANK_MESSAGE = f"Enter a grade from {GRADE_MIN} to {GRADE_MAX}."
STATUS_CHOICES = tuple((status.value, STATUS_LABELS[status]) for status in Status)
#: What the status date is the date of, per status that has one.
_DATE_OF = {
    Status.WITHDRAWN.value: "withdrew",
    Status.GRADUATED.value: "graduated",
    Status.TRANSFERRED.value: "transferred out",
}


def check_grade(value: int, today: date) -> int:
    """Accept a grade from ``GRADE_MIN`` to ``GRADE_MAX``.

    Raises:
        FieldError: outside that range.
    """
    if not GRADE_MIN <= value <= GRADE_MAX:
        raise FieldError(f"The grade must be from {GRADE_MIN} to {GRADE_MAX}.")
    return value


def _clean_text(max_length: int) -> Any:
    """A rule that tidies spaces in a short text and refuses control characters."""

    def clean(value: str, today: date) -> str:
        text = " ".join(value.split())
        if rules.has_control_characters(text):
            raise FieldError("The text cannot contain control characters.")
        if len(text) > max_length:
            raise FieldError(
                f"The text is {len(text)} characters long; it can have at most {max_length}."
            )
        return text

    return clean


def check_status_date(values: Mapping[str, Any]) -> None:
    """A student who left has the date of leaving; an enrolled student has none.

    Raises:
        FieldError: the date is missing, or given for an enrolled student.
    """
    status, status_on = values["status"], values["status_on"]
    if status == Status.ENROLLED and status_on is not None:
        raise FieldError("An enrolled student has no status date: leave it empty.")
    if status != Status.ENROLLED and status_on is None:
        raise FieldError(f"Enter the date the student {_DATE_OF[status]}.")


def check_reason(values: Mapping[str, Any]) -> None:
    """A withdrawal has a reason; no other status has one.

    Raises:
        FieldError: the reason is missing for a withdrawal, or given for another status.
    """
    status, reason = values["status"], values["reason"]
    if status == Status.WITHDRAWN and reason is None:
        raise FieldError("Enter the reason for the withdrawal.")
    if status != Status.WITHDRAWN and reason is not None:
        raise FieldError("Only a withdrawal has a reason: leave it empty.")


def check_destination(values: Mapping[str, Any]) -> None:
    """A transfer out names the destination school; no other status has one.

    Raises:
        FieldError: the school is missing for a transfer, or given for another status.
    """
    status, destination = values["status"], values["destination"]
    if status == Status.TRANSFERRED and destination is None:
        raise FieldError("Enter the school the student transferred to.")
    if status != Status.TRANSFERRED and destination is not None:
        raise FieldError("Only a transfer out has a destination school: leave it empty.")


def check_status_after_entry(values: Mapping[str, Any]) -> None:
    """No status is dated before the enrollment began (the database holds it too).

    Raises:
        FieldError: ``status_on`` is before ``entered_on``.
    """
    status_on, entered_on = values["status_on"], values["entered_on"]
    if status_on is not None and entered_on is not None and status_on < entered_on:
        raise FieldError(
            f"The status date {status_on.isoformat()} is before the enrollment began "
            f"({entered_on.isoformat()})."
        )


def _enrolled(today: date) -> str:
    return Status.ENROLLED.value


GRADE: Field[int] = Field(
    "grade",
    "Grade",
    Kind.NUMBER,
    parse_whole_number,
    rules=(check_grade,),
    required=True,
    required_message=GRADE_BLANK_MESSAGE,
    csv_help=f"The grade in the current school year, a whole number from {GRADE_MIN} to "
    f"{GRADE_MAX}; required for new students and for students not enrolled this year.",
    html={"min": GRADE_MIN, "max": GRADE_MAX, "inputmode": "numeric"},
)

STATUS: Field[str] = Field(
    "status",
    "Status",
    Kind.CHOICE,
    choice_parser(STATUS_CHOICES),
    default=_enrolled,
    choices=STATUS_CHOICES,
    description="Enrolled, or how the student left.",
    csv_help="The status in the current school year: enrolled, withdrawn, graduated or "
    "transferred (or “Transferred out”). Empty: enrolled for a new enrollment, unchanged "
    "for an existing one.",
)

STATUS_ON: Field[date] = Field(
    "status_on",
    "Status date",
    Kind.DATE,
    parse_iso_date,
    description="The day the student withdrew, graduated or transferred out. Empty while enrolled.",
    csv_help="For a student who left: the day, as YYYY-MM-DD. Empty while enrolled.",
)

REASON: Field[str] = Field(
    "reason",
    "Withdrawal reason",
    Kind.TEXT,
    parse_text,
    rules=(_clean_text(REASON_MAX_LENGTH),),
    description="For a withdrawal only.",
    csv_help=f"For a withdrawn student: why, at most {REASON_MAX_LENGTH} characters.",
    html={"maxlength": REASON_MAX_LENGTH},
)

DESTINATION: Field[str] = Field(
    "destination",
    "Destination school",
    Kind.TEXT,
    parse_text,
    rules=(_clean_text(DESTINATION_MAX_LENGTH),),
    description="For a transfer out only.",
    csv_help="For a student who transferred out: the school, at most "
    f"{DESTINATION_MAX_LENGTH} characters.",
    html={"maxlength": DESTINATION_MAX_LENGTH},
)

ENTERED_ON: Field[date] = Field(
    "entered_on",
    "Start date",
    Kind.DATE,
    parse_iso_date,
    required=True,
    required_message="Enter the day the enrollment begins.",
    description="The day the student starts in this school year.",
    in_form=False,
    writable=False,
)

#: The enrollment record: its fields in display order, and the status lifecycle's rules.
ENROLLMENT = RecordFields(
    (GRADE, STATUS, STATUS_ON, REASON, DESTINATION, ENTERED_ON),
    rules=(
        RecordRule("status_on", ("status", "status_on"), check_status_date),
        RecordRule("reason", ("status", "reason"), check_reason),
        RecordRule("destination", ("status", "destination"), check_destination),
        RecordRule("status_on", ("status_on", "entered_on"), check_status_after_entry),
    ),
)

#: The fields of the status form on the student's page (and of a CSV row's enrollment).
STATUS_FIELDS = ("grade", "status", "status_on", "reason", "destination")
