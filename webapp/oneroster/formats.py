"""Checks of single CSV values against the binding's formats (section 3, key to the tables).

Each ``check_*`` function takes the cell's text and returns ``None`` when it conforms, or a
short sentence saying what is wrong. Blank cells never reach them: whether a blank is
allowed is the Required column's business (see ``webapp.oneroster.rows``).

Digits are matched as ``[0-9]``, not ``\\d``, which in Python also matches other scripts'
digits.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime

from webapp.oneroster.spec import Format

#: 'GUID': "this must be less than 256 characters ... MUST contain ONLY the characters
#: '0-1 | a-Z | A-Z | . | - | _ | / | @'". The ranges are read as 0-9, a-z and A-Z (the
#: text's "0-1" and "a-Z" are evidently typing slips; no public implementation reads them
#: literally).
GUID_PATTERN = re.compile(r"[0-9A-Za-z.\-_/@]{1,255}")
#: 'Date': "YYYY-MM-DD" e.g. "2002-04-23".
DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: 'DateTime': "it MUST be of the format and resolution of YYYY-MM-DDTHH:MM:SS.sssZ and MUST
#: contain the UTC timezone e.g. "2012-04-23T18:25:43.511Z"".
DATETIME_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
#: 'Year': "YYYY" e.g. "2002".
YEAR_PATTERN = re.compile(r"[0-9]{4}")
#: 'Float': a decimal number (the binding gives examples such as 0.0 and 100.0).
FLOAT_PATTERN = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
#: 'Integer' (categories.weight, "a Percent value only, e.g. 80%" - the example carries a
#: percent sign that an Integer cannot; the number alone is accepted).
INTEGER_PATTERN = re.compile(r"[+-]?[0-9]+")
#: users.userIds and scoreScales.scoreScaleValue items: "enclosed in '{}' with a colon used
#: to separate the values", e.g. {LDAP:Id} or {A+:100}.
PAIR_PATTERN = re.compile(r"\{[^{}:]+:[^{}]+\}")
#: A CASE identifier "MUST be a valid UUID URN" (sections 3.10 and 3.15).
UUID_URN_PATTERN = re.compile(
    r"urn:uuid:[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
)


def check_guid(value: str) -> str | None:
    """Check a GUID (or one GUID Reference): 1 to 255 characters of ``0-9 a-z A-Z . - _ / @``."""
    if GUID_PATTERN.fullmatch(value):
        return None
    if len(value) > 255:
        return f"is {len(value)} characters long; a GUID must be less than 256"
    bad = sorted({c for c in value if not GUID_PATTERN.fullmatch(c)})
    shown = " ".join(repr(c) for c in bad[:5])
    return f"{value!r} has characters a GUID may not contain: {shown}"


def check_date(value: str) -> str | None:
    """Check a Date: ``YYYY-MM-DD`` and a real calendar day."""
    if not DATE_PATTERN.fullmatch(value):
        return f"{value!r} is not a date of the form YYYY-MM-DD"
    try:
        date.fromisoformat(value)
    except ValueError:
        return f"{value!r} is not a day of the calendar"
    return None


def check_datetime(value: str) -> str | None:
    """Check a DateTime: exactly ``YYYY-MM-DDTHH:MM:SS.sssZ`` (UTC, milliseconds)."""
    if not DATETIME_PATTERN.fullmatch(value):
        return f"{value!r} is not a UTC date-time of the form YYYY-MM-DDTHH:MM:SS.sssZ"
    try:
        datetime.fromisoformat(value[:-1])
    except ValueError:
        return f"{value!r} is not a moment of the calendar"
    return None


def check_year(value: str) -> str | None:
    """Check a Year: four digits."""
    return None if YEAR_PATTERN.fullmatch(value) else f"{value!r} is not a year of the form YYYY"


def check_float(value: str) -> str | None:
    """Check a Float: a decimal number (no NaN or infinity)."""
    return None if FLOAT_PATTERN.fullmatch(value) else f"{value!r} is not a number"


def check_integer(value: str) -> str | None:
    """Check an Integer: optional sign and digits."""
    return None if INTEGER_PATTERN.fullmatch(value) else f"{value!r} is not a whole number"


def check_pair(value: str) -> str | None:
    """Check one ``{Type:Id}`` item of users.userIds or scoreScales.scoreScaleValue."""
    if PAIR_PATTERN.fullmatch(value):
        return None
    return f"{value!r} is not of the form {{Type:Id}}"


def check_uuid_urn(value: str) -> str | None:
    """Check a CASE learning objective identifier: ``urn:uuid:`` and a UUID."""
    return None if UUID_URN_PATTERN.fullmatch(value) else f"{value!r} is not a UUID URN"


def split_list(value: str) -> list[str]:
    """Split a list cell ("a comma separated list, enclosed in quotation marks") into items.

    The CSV reader has already removed the quotation marks; items are not trimmed, so a
    space after a comma stays part of the next item (and a GUID check then reports it).
    """
    return value.split(",")


#: The checkers of the scalar formats; String, ID and the list/enumeration formats have
#: none here (lists are split first, enumerations are checked against their vocabulary).
SCALAR_CHECKS: dict[Format, Callable[[str], str | None]] = {
    Format.GUID: check_guid,
    Format.GUID_REF: check_guid,
    Format.DATE: check_date,
    Format.DATETIME: check_datetime,
    Format.YEAR: check_year,
    Format.FLOAT: check_float,
    Format.INTEGER: check_integer,
}
