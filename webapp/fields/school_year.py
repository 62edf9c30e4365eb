"""A school year's fields, one declaration each: its name, first day and last day."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from webapp.fields import rules
from webapp.fields.base import Field, FieldError, Kind
from webapp.fields.parsers import parse_iso_date, parse_text
from webapp.fields.records import RecordFields, RecordRule
from webapp.models.school_year import YEAR_NAME_MAX_LENGTH


def clean_year_name(value: str, today: date) -> str:
    """Tidy a year's name: spaces trimmed and single, no control characters.

    Raises:
        FieldError: longer than ``YEAR_NAME_MAX_LENGTH`` or holding control characters.
    """
    name = " ".join(value.split())
    if rules.has_control_characters(name):
        raise FieldError("The name cannot contain control characters.")
    if len(name) > YEAR_NAME_MAX_LENGTH:
        raise FieldError(f"The name can have at most {YEAR_NAME_MAX_LENGTH} characters.")
    return name


def check_ends_after_start(values: Mapping[str, Any]) -> None:
    """The last day comes after the first (the database holds it too).

    Raises:
        FieldError: the last day is the first day or before it.
    """
    if values["ends_on"] <= values["starts_on"]:
        raise FieldError("The last day must be after the first day.")


YEAR_NAME: Field[str] = Field(
    "name",
    "Name",
    Kind.TEXT,
    parse_text,
    rules=(clean_year_name,),
    required=True,
    required_message="Enter the year's name, such as 2026–27.",
    description="Such as 2026–27. Each year has its own name.",
    html={"maxlength": YEAR_NAME_MAX_LENGTH, "autocomplete": "off"},
)

STARTS_ON: Field[date] = Field(
    "starts_on",
    "First day",
    Kind.DATE,
    parse_iso_date,
    required=True,
    required_message="Enter the year's first day.",
)

ENDS_ON: Field[date] = Field(
    "ends_on",
    "Last day",
    Kind.DATE,
    parse_iso_date,
    required=True,
    required_message="Enter the year's last day.",
)

IS_CURRENT: Field[bool] = Field(
    "is_current",
    "Current year",
    Kind.TEXT,
    lambda text, noun: text.strip().casefold() in {"yes", "true", "1"},
    in_form=False,
    writable=False,
)

#: The school year record.
SCHOOL_YEAR = RecordFields(
    (YEAR_NAME, STARTS_ON, ENDS_ON, IS_CURRENT),
    rules=(RecordRule("ends_on", ("starts_on", "ends_on"), check_ends_after_start),),
)
