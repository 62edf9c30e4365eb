"""Validation rules for student fields, shared by the web form and the command line.

Each function takes an already-parsed value and either returns the value to store or
raises :class:`ValueError` with a message written for office staff.
"""

from __future__ import annotations

import unicodedata
from datetime import date

from email_validator import EmailNotValidError, validate_email

from webapp.models.student import EARLIEST_BIRTHDAY, EMAIL_MAX_LENGTH, NAME_MAX_LENGTH


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a control or unassigned/private-use/surrogate code point.

    Such characters (NUL, escape sequences, bidi overrides are format characters and are
    allowed) have no place in a name and PostgreSQL refuses NUL in text outright.
    """
    return any(unicodedata.category(ch) in {"Cc", "Cs", "Co", "Cn"} for ch in text)


def clean_name(value: str | None) -> str:
    """Return ``value`` with surrounding and repeated inner whitespace removed.

    Raises:
        ValueError: when the name is empty or invisible, longer than ``NAME_MAX_LENGTH``
            characters, or holds control characters.
    """
    name = " ".join((value or "").split())
    if has_control_characters(name):
        raise ValueError("The name cannot contain control characters.")
    if all(unicodedata.category(ch) == "Cf" for ch in name):
        # Empty, or invisible format characters only (a zero-width space, say).
        raise ValueError("Enter the student's name.")
    if len(name) > NAME_MAX_LENGTH:
        raise ValueError(
            f"The name is {len(name)} characters long; it can have at most {NAME_MAX_LENGTH}."
        )
    return name


def clean_email(value: str | None) -> str | None:
    """Return the normalised address (domain lower-cased, Unicode NFC), or ``None`` if blank.

    Syntax only: no DNS lookup, so it works offline and fast (email-validator with
    ``check_deliverability=False``).

    Raises:
        ValueError: when the address is not valid, with email-validator's explanation.
    """
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > EMAIL_MAX_LENGTH:
        raise ValueError(f"An email address can have at most {EMAIL_MAX_LENGTH} characters.")
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        raise ValueError(f"Enter a valid email address: {error}") from error
    return result.normalized


def check_birthday(value: date | None, today: date) -> date | None:
    """Accept a birthday that is neither before 1900 nor after ``today``.

    Raises:
        ValueError: when the date is out of that range.
    """
    if value is None:
        return None
    if value < EARLIEST_BIRTHDAY:
        raise ValueError(f"The birthday cannot be before {EARLIEST_BIRTHDAY:%-d %B %Y}.")
    if value > today:
        raise ValueError("The birthday cannot be in the future.")
    return value


def check_enrolled_on(value: date, birthday: date | None) -> date:
    """Accept an enrollment date that is not before 1900 nor before the birthday.

    Raises:
        ValueError: when the date is out of range.
    """
    if value < EARLIEST_BIRTHDAY:
        raise ValueError(f"The enrollment date cannot be before {EARLIEST_BIRTHDAY:%-d %B %Y}.")
    if birthday is not None and value < birthday:
        raise ValueError("The enrollment date cannot be before the birthday.")
    return value
