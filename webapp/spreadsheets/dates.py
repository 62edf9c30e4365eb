"""Dates as people write them: ISO, day first or month first.

Accepted: ``2015-03-14`` (also with ``/`` or ``.``), and day and month in either order
followed by a four-digit year: ``14/03/2015``, ``14.3.2015``, ``3-14-2015``. One separator
per date. A time of exactly midnight may follow (``2015-03-14 00:00:00``), as databases
and some exports add. Two-digit years are refused: ``14/03/15`` could be 1915 or 2015,
and a guessed century would not be visible until it was wrong. Month names are not read.

A four-digit first part can only be a year, so ISO dates are read whatever the order.
Otherwise the order comes from the column (:func:`infer_date_order`): a first number over
12 is a day (day first), a second number over 12 is a day (month first). Source: the
same rule as the ``dayfirst`` inference of dateutil's parser, applied to a whole column.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from datetime import date
from typing import Literal, NamedTuple

#: ``ymd``: year, month, day; ``dmy``: day first; ``mdy``: month first.
DateOrder = Literal["ymd", "dmy", "mdy"]
#: The orders, for validating a setting or a form's choice.
DATE_ORDERS: tuple[DateOrder, ...] = ("ymd", "dmy", "mdy")
#: How each order is called in messages and on the preview.
ORDER_LABELS: dict[str, str] = {
    "ymd": "year-month-day",
    "dmy": "day/month/year",
    "mdy": "month/day/year",
}

_MONTHS = (
    "", "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_DATE = re.compile(
    r"(\d{1,4})([/.-])(\d{1,2})\2(\d{1,4})(?:[ T]00:00(?::00(?:\.0+)?)?)?\Z", re.ASCII
)
_QUOTE_MAX = 40


class DateParseError(ValueError):
    """A cell is not a date, or not a real one; the message quotes it and says why."""


class _Parts(NamedTuple):
    year_first: bool
    first: int  # the year when year_first, else the day or month
    second: int
    third: int  # the day when year_first, else the year


def _split(text: str) -> _Parts:
    match = _DATE.match(text)
    if not match:
        raise DateParseError(
            f"{_quote(text)} is not a date; write it as 2015-03-14, 14/03/2015 or 3/14/2015."
        )
    first, _, second, third = match.groups()
    if len(first) == 4 and len(third) <= 2:
        return _Parts(True, int(first), int(second), int(third))
    if len(first) <= 2 and len(third) == 4:
        return _Parts(False, int(first), int(second), int(third))
    if len(first) <= 2 and len(third) <= 2:
        raise DateParseError(
            f"{_quote(text)} has a two-digit year; write the year in full (2015, not 15)."
        )
    raise DateParseError(
        f"{_quote(text)} is not a date; write it as 2015-03-14, 14/03/2015 or 3/14/2015."
    )


def infer_date_order(values: Iterable[str]) -> DateOrder | None:
    """Return the order a column's dates are written in, when its values show it.

    Args:
        values: the column's cells; blank cells and cells that are not dates are skipped.

    Returns:
        ``"ymd"`` when every date starts with a four-digit year; ``"dmy"`` when some date
        has a first number over 12 and none a second number over 12; ``"mdy"`` the other
        way round; ``None`` when every day-and-month date could be read both ways, when the
        column has dates of both orders, or when it has no dates. On ``None`` the caller
        asks the user or uses its ``DATE_INPUT_ORDER`` setting.
    """
    day_first = month_first = year_first = ambiguous = False
    for value in values:
        try:
            parts = _split(value.strip())
        except DateParseError:
            continue
        if parts.year_first:
            year_first = True
        elif parts.first > 12 >= parts.second:
            day_first = True
        elif parts.second > 12 >= parts.first:
            month_first = True
        else:
            ambiguous = True
    if day_first != month_first:
        return "dmy" if day_first else "mdy"
    if year_first and not (day_first or month_first or ambiguous):
        return "ymd"
    return None


def parse_date(text: str, order: DateOrder | None) -> date:
    """Read a date written as the module docstring says.

    Args:
        text: the cell's text (surrounding spaces are ignored).
        order: how the column's day-and-month dates are written; ``None`` when unknown,
            which only ISO dates survive. ISO dates are read whatever the order.

    Returns:
        The date.

    Raises:
        DateParseError: not a date, a two-digit year, no order for a day-and-month date,
            a day-and-month date where ``order`` is ``"ymd"``, or an impossible date
            (``31/02/2015``: "February 2015 has 28 days"); the message quotes ``text``.
    """
    text = text.strip()
    parts = _split(text)
    if parts.year_first:
        year, month, day = parts.first, parts.second, parts.third
    elif order == "dmy":
        day, month, year = parts.first, parts.second, parts.third
    elif order == "mdy":
        month, day, year = parts.first, parts.second, parts.third
    elif order == "ymd":
        raise DateParseError(f"{_quote(text)} is not written year-month-day like the others.")
    else:
        raise DateParseError(
            f"{_quote(text)} could be day/month/year or month/day/year; choose the order "
            "of the dates."
        )
    if not 1 <= year <= 9999:
        raise DateParseError(f"{_quote(text)} is not a real date: there is no year {year}.")
    if not 1 <= month <= 12:
        reading = f" (read as {ORDER_LABELS[order]})" if order and not parts.year_first else ""
        raise DateParseError(f"{_quote(text)} has no month {month}{reading}.")
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        raise DateParseError(
            f"{_quote(text)} is not a real date: {_MONTHS[month]} {year} has {days} days."
        )
    return date(year, month, day)


def _quote(value: str) -> str:
    """``value`` shortened for a message, in single quotes."""
    if len(value) > _QUOTE_MAX:
        value = value[: _QUOTE_MAX - 1] + "…"
    return f"'{value}'"
