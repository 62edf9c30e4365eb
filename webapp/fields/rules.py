"""Rules for text and email fields, shared by every record that has such a field.

Each function takes a value already parsed and either returns the value to store or
raises :class:`~webapp.fields.base.FieldError` (a ``ValueError``) with a message written
for office staff.
"""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email

from webapp.fields.base import FieldError
from webapp.models.student import EMAIL_MAX_LENGTH


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a control or unassigned/private-use/surrogate code point.

    Such characters (NUL, escape sequences; bidi overrides are format characters and are
    allowed) have no place in a name, and PostgreSQL refuses NUL in text outright.
    """
    return any(unicodedata.category(ch) in {"Cc", "Cs", "Co", "Cn"} for ch in text)


def clean_person_name(value: str | None, max_length: int, blank_message: str) -> str:
    """Return a person's name with surrounding and repeated inner whitespace removed.

    Args:
        value: the name as typed.
        max_length: the most characters allowed after tidying.
        blank_message: the message for an empty or invisible name.

    Raises:
        FieldError: the name is empty or invisible, longer than ``max_length``, or holds
            control characters.
    """
    name = " ".join((value or "").split())
    if has_control_characters(name):
        raise FieldError("The name cannot contain control characters.")
    if all(unicodedata.category(ch) == "Cf" for ch in name):
        # Empty, or invisible format characters only (a zero-width space, say).
        raise FieldError(blank_message)
    if len(name) > max_length:
        raise FieldError(
            f"The name is {len(name)} characters long; it can have at most {max_length}."
        )
    return name


def clean_email(value: str | None) -> str | None:
    """Return the normalised address, or ``None`` when ``value`` is blank.

    Raises:
        FieldError: the address is not valid (see :func:`normalise_email`).
    """
    text = (value or "").strip()
    return normalise_email(text) if text else None


def normalise_email(text: str) -> str:
    """Return the address normalised: domain lower-cased, Unicode NFC.

    Syntax only: no DNS lookup, so it works offline and fast (email-validator with
    ``check_deliverability=False``). Whether two addresses are the same is the database's
    business (see :func:`webapp.students.service.email_keys`).

    Args:
        text: a non-blank address, stripped.

    Raises:
        FieldError: the address is not valid, with email-validator's explanation.
    """
    if len(text) > EMAIL_MAX_LENGTH:
        raise FieldError(f"An email address can have at most {EMAIL_MAX_LENGTH} characters.")
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        raise FieldError(f"Enter a valid email address: {error}") from error
    return str(result.normalized)
