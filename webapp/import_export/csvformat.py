"""The CSV format shared by import and export: columns and formula neutralising.

Exported files must open safely in a spreadsheet and import back unchanged, so the two
directions are defined together here.

Formula neutralising follows OWASP's "CSV Injection" advice: a text cell that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return is written with a leading single
quote, which spreadsheets show as text instead of running it. To keep that reversible,
a cell that already starts with quotes followed by such a character gets one more quote;
the importer removes exactly one quote from any cell of that shape. So ``=1+1`` is
written ``'=1+1`` and read back as ``=1+1``, and a name that really is ``'=x`` is written
``''=x`` and read back as ``'=x``. A spreadsheet user who types ``'=x`` means the text
``=x``, which is also what the importer reads.
"""

from __future__ import annotations

import re

from webapp.fields.student import ROSTER_ROW

#: The columns of a roster row, in the order of an exported file's columns: the student's
#: fields and the current school year's grade and status (their declarations' names and
#: order, :data:`webapp.fields.student.ROSTER_ROW`).
FIELDS: tuple[str, ...] = ROSTER_ROW.names

#: The fields whose cells are text that a spreadsheet could take for a formula.
TEXT_FIELDS: frozenset[str] = frozenset(
    field.name for field in ROSTER_ROW if field.kind in {"text", "email"}
)

#: Characters that make a spreadsheet treat a cell as a formula (OWASP "CSV Injection").
FORMULA_TRIGGERS = frozenset("=+-@\t\r")

#: A cell a spreadsheet would run, possibly behind quotes this module added.
_NEUTRALISE = re.compile(r"'*[=+\-@\t\r]")
#: A cell this module neutralised: one added quote to take off.
_NEUTRALISED = re.compile(r"'+[=+\-@\t\r]")


def neutralise(text: str) -> str:
    """Return ``text`` safe to open in a spreadsheet (see the module docstring).

    Args:
        text: a cell's text.

    Returns:
        ``text`` with a leading single quote added when a spreadsheet would run it as a
        formula; otherwise ``text`` itself.
    """
    if text and text[0] in "'=+-@\t\r" and _NEUTRALISE.match(text):
        return "'" + text
    return text


def restore(text: str) -> str:
    """Undo :func:`neutralise`: remove the quote it added, if there is one.

    Args:
        text: a cell's text as read from a file.

    Returns:
        ``text`` without its first character when that is a quote followed by quotes and
        a formula character; otherwise ``text`` itself.
    """
    if text[:1] == "'" and _NEUTRALISED.match(text):
        return text[1:]
    return text
