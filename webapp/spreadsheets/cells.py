"""Cell values of a workbook as the text a CSV file would hold.

The importer checks text cells, so workbook values become the text a person would type:
whole numbers without ``.0``, dates as ISO ``YYYY-MM-DD``, ``TRUE``/``FALSE``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

#: Floats whose integer part is exact (IEEE 754 doubles hold 53 bits of mantissa).
_EXACT_INTEGER = 2**53


def number_text(value: float | int | Decimal) -> str:
    """Return a number as text: ``12`` for 12.0, ``12.5``, ``100000000000`` for 1e11.

    Args:
        value: a cell's number.

    Returns:
        Whole numbers in plain digits; other numbers in Python's shortest round-trip form
        (``0.1``, not ``0.1000000000000000055``).
    """
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return str(int(value))
        return f"{value.normalize():f}"
    if value.is_integer() and abs(value) < _EXACT_INTEGER:
        return str(int(value))
    return repr(value)


def decimal_text(raw: str) -> str:
    """Return the text of a number written in a workbook's XML (``"12"``, ``"1.50"``).

    Args:
        raw: the number as stored, e.g. an ``office:value`` attribute.

    Returns:
        :func:`number_text` of it; ``raw`` itself when it is not a number.
    """
    try:
        number = Decimal(raw)
    except InvalidOperation:
        return raw
    if not number.is_finite():
        return raw
    return number_text(number)


def datetime_text(value: datetime) -> str:
    """Return ``YYYY-MM-DD`` for a midnight, else ``YYYY-MM-DD HH:MM:SS`` (no time zone)."""
    if value.time() == time(0, 0):
        return value.date().isoformat()
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")


def value_text(value: object) -> str:
    """Return any cell value read by openpyxl (or the ODS reader) as text.

    Args:
        value: ``None``, ``str``, ``bool``, a number, ``datetime``, ``date``, ``time`` or
            ``timedelta``.

    Returns:
        ``""`` for ``None``; strings as they are; see :func:`number_text` and
        :func:`datetime_text`; times as ``HH:MM:SS``; durations as ``H:MM:SS``.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float | Decimal):
        return number_text(value)
    if isinstance(value, datetime):
        return datetime_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.replace(tzinfo=None).isoformat(timespec="seconds")
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def column_letter(number: int) -> str:
    """A column's letters as spreadsheets show them: 1 is ``A``, 28 is ``AB``.

    openpyxl's :func:`openpyxl.utils.get_column_letter`, imported when a message needs
    it: importing openpyxl takes 74 ms, in every process that loads the app.

    Raises:
        ValueError: ``number`` is outside 1..18278.
    """
    from openpyxl.utils import get_column_letter

    return get_column_letter(number)
