"""Validation rules for student fields, shared by the web form and the command line.

Each ``clean_*`` and ``check_*`` function takes an already-parsed value and either returns
the value to store or raises :class:`ValueError` with a message written for office staff:
these are the rules a value must meet. :func:`unusual_dates` is the one plausibility rule:
it never refuses, it returns warnings for a person to confirm.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from datetime import date

from email_validator import EmailNotValidError, validate_email

from webapp.models.student import EMAIL_MAX_LENGTH, NAME_MAX_LENGTH


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
    """Accept a birthday that is not after ``today`` (nobody is born in the future).

    How long ago a birthday may be is not checked here: that is plausibility, which
    :func:`unusual_dates` warns about.

    Raises:
        ValueError: when the date is in the future.
    """
    if value is not None and value > today:
        raise ValueError("The birthday cannot be in the future.")
    return value


def check_enrolled_on(value: date, birthday: date | None) -> date:
    """Accept an enrollment date that is not before the birthday (an invariant: the
    database's ``ck_students_enrolled_after_birthday`` holds it too).

    Raises:
        ValueError: when the date is before the birthday.
    """
    if birthday is not None and value < birthday:
        raise ValueError("The enrollment date cannot be before the birthday.")
    return value


#: Plausibility, not invariants: outside these, the form asks the user to confirm and the
#: import shows a warning; neither refuses the value, and the database has no such rule.
USUAL_AGES_AT_ENROLLMENT = (3, 25)
USUAL_EARLIEST_DATE = date(1900, 1, 1)


def _years_between(birthday: date, day: date) -> int:
    """Completed years from ``birthday`` to ``day`` (negative when ``day`` is earlier)."""
    return day.year - birthday.year - int((day.month, day.day) < (birthday.month, birthday.day))


def unusual_dates(
    birthday: date | None,
    enrolled_on: date,
    judge: Collection[str] = ("birthday", "enrolled_on"),
) -> dict[str, str]:
    """Warn about a student's dates that are possible but unusual: the one plausibility rule.

    The form shows the warnings and saves once the user confirms them; the CSV import
    imports the row and shows them on its preview. A record already stored is never
    judged again: pass in ``judge`` only the fields being entered or changed.

    Args:
        birthday: the birthday as it would be stored, or ``None``.
        enrolled_on: the enrollment date as it would be stored.
        judge: the fields to judge, among ``"birthday"`` (the student's age on the
            enrollment date, outside :data:`USUAL_AGES_AT_ENROLLMENT`) and
            ``"enrolled_on"`` (before :data:`USUAL_EARLIEST_DATE`).

    Returns:
        A message per unusual field, keyed by field name; empty when nothing is unusual.
    """
    warnings: dict[str, str] = {}
    youngest, oldest = USUAL_AGES_AT_ENROLLMENT
    if "birthday" in judge and birthday is not None:
        age = _years_between(birthday, enrolled_on)
        if age >= 0 and not youngest <= age <= oldest:
            warnings["birthday"] = (
                f"Born on {birthday:%-d %B %Y}, the student was {age} "
                f"year{'' if age == 1 else 's'} old on the enrollment date "
                f"({enrolled_on:%-d %B %Y}); students are usually {youngest} to {oldest}."
            )
    if "enrolled_on" in judge and enrolled_on < USUAL_EARLIEST_DATE:
        warnings["enrolled_on"] = (
            f"The enrollment date {enrolled_on:%-d %B %Y} is before {USUAL_EARLIEST_DATE:%Y}."
        )
    return warnings
