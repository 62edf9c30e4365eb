"""The parsers of declared fields: a field's stripped text to its value, or a
:class:`~webapp.fields.base.FieldError` whose message quotes the text back
(:func:`quote`).

Each is a :data:`~webapp.fields.base.Parser`: ``parse(text, noun)``, where ``noun`` names
the field in the message.
"""

from __future__ import annotations

import re
from datetime import date

from webapp.fields.base import FieldError, Parser

#: Longest piece of a bad value quoted back in a message, in characters.
QUOTE_MAX = 40

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
#: A whole number with a sign; ``\d`` matches the decimal digits of every script, as
#: ``str.isdecimal`` does (``٣`` is 3).
_SIGNED_NUMBER = re.compile(r"[+-]\d+\Z")


def quote(text: str) -> str:
    """``text`` shortened to :data:`QUOTE_MAX` characters for a message, in single quotes."""
    if len(text) > QUOTE_MAX:
        text = text[: QUOTE_MAX - 1] + "…"
    return f"'{text}'"


def parse_text(text: str, noun: str) -> str:
    """The text itself (a text field's rules tidy and check it)."""
    return text


def parse_whole_number(text: str, noun: str) -> int:
    """Parse a whole number written with decimal digits of any script, with an optional sign.

    Args:
        text: the stripped text.
        noun: the field's name in the message.

    Returns:
        The number.

    Raises:
        FieldError: ``"The grade 'abc' is not a whole number."``
    """
    if text.isdecimal() or _SIGNED_NUMBER.match(text):
        return int(text)
    raise FieldError(f"The {noun} {quote(text)} is not a whole number.")


def choice_parser(choices: tuple[tuple[str, str], ...]) -> Parser[str]:
    """A parser that accepts one of ``choices`` by its value or its label, in any case.

    Args:
        choices: ``(value, label)`` pairs (``("transferred", "Transferred out")``).

    Returns:
        ``parse(text, noun)`` returning the value; it raises :class:`FieldError`
        (``"The status 'gone' is not one of: Enrolled, Withdrawn, ..."``) otherwise.
    """
    known = {key.casefold(): value for value, label in choices for key in (value, label)}
    listed = ", ".join(label for _, label in choices)

    def parse(text: str, noun: str) -> str:
        try:
            return known[" ".join(text.split()).casefold()]
        except KeyError:
            raise FieldError(f"The {noun} {quote(text)} is not one of: {listed}.") from None

    return parse


#: What a yes/no field reads as yes and as no (a CSV cell, a checkbox's value), casefolded.
YES_WORDS = frozenset({"yes", "y", "true", "1", "on", "x"})
NO_WORDS = frozenset({"no", "n", "false", "0", "off"})


def parse_yes_no(text: str, noun: str) -> bool:
    """Parse yes or no (``yes``, ``y``, ``true``, ``1``, ``on``; ``no``, ``n``, ``false``, ``0``).

    Raises:
        FieldError: ``"The emergency contact 'maybe' is not yes or no."``
    """
    word = text.casefold()
    if word in YES_WORDS:
        return True
    if word in NO_WORDS:
        return False
    raise FieldError(f"The {noun} {quote(text)} is not yes or no.")


def parse_iso_date(text: str, noun: str) -> date:
    """Parse an ISO 8601 calendar date, ``YYYY-MM-DD`` (what a browser's date input sends).

    Args:
        text: the stripped text.
        noun: the field's name in the message.

    Returns:
        The date.

    Raises:
        FieldError: the text is not of that form, or names no real day.
    """
    if not _ISO_DATE.match(text):
        raise FieldError(f"The {noun} {quote(text)} is not a date in the form YYYY-MM-DD.")
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise FieldError(f"The {noun} {quote(text)} is not a real date ({error}).") from error
