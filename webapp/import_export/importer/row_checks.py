"""Stage 2 of an import, one record: its cells checked with the fields' declarations.

Each cell goes through its field's :meth:`~webapp.fields.base.Field.clean`, the parser,
rules and messages the form uses too (:func:`cell_checks`, :func:`validate_cells`); a
record with more cells than the header is refused whole (:func:`fits`). No database
access, and no processes: :mod:`.checking` runs :func:`validate_records` over a file's
chunks, in worker processes for large files.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from webapp.fields.base import FieldError, Parser
from webapp.fields.parsers import parse_iso_date
from webapp.fields.student import ROSTER_ROW
from webapp.import_export.csvformat import FIELDS, TEXT_FIELDS, restore
from webapp.import_export.importer.columns import CellSource, ParsedFile
from webapp.spreadsheets import DateOrder, DateParseError, FileKind, parse_date
from webapp.spreadsheets.cells import column_letter

#: How a column's cells are checked: ``(source, field, clean, is quoted text)``; the
#: source is a column index or, for a name in parts, the parts' indexes.
CellCheck = tuple[CellSource, str, Callable[[str, date], Any], bool]

#: A date as the form's date input sends it; read by the field's own parser, so that the
#: form and the import give such text the same verdict and message.
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


@dataclass(slots=True)
class ValidRow:
    """One record after field-by-field checking.

    Attributes:
        line: line number of the record in the file.
        values: the valid fields, cleaned (``None`` for a blank cell).
        errors: what is wrong with the row, one message per problem.
        bad_fields: fields whose cell was refused (absent from ``values``).
        label: the student's name as written, for messages and the preview.
    """

    line: int
    values: dict[str, Any]
    errors: list[str]
    bad_fields: set[str]
    label: str


def date_parser(order: DateOrder | None) -> Parser[date]:
    """A date field's parser for a file whose day-and-month dates are in ``order``.

    ``YYYY-MM-DD`` goes to the field's own parser (the form's verdict and message); other
    forms to :func:`webapp.spreadsheets.parse_date` (``14/03/2015``, ``3/14/2015``,
    ``2015-3-14``), whose message follows the field's noun: "The birthday '31/02/2015' is
    not a real date: February 2015 has 28 days."
    """

    def parse(text: str, noun: str) -> date:
        if _ISO_DATE.match(text):
            return parse_iso_date(text, noun)
        try:
            return parse_date(text, order)
        except DateParseError as error:
            raise FieldError(f"The {noun} {error}") from error

    return parse


def cell_checks(
    columns: Iterable[tuple[CellSource, str]],
    date_orders: Mapping[str, DateOrder] | None = None,
    *,
    quoted: bool = True,
) -> list[CellCheck]:
    """How to check each mapped column: its field's ``clean``, and whether it is quoted text.

    Args:
        columns: ``(source, field)`` of the file's mapped columns.
        date_orders: ``{field: order}`` of the date columns (see :func:`date_parser`).
        quoted: whether text cells may carry the export's formula quote (CSV files), which
            :func:`webapp.import_export.csvformat.restore` removes; a workbook's cells are
            exactly what the user typed.
    """
    orders = date_orders or {}
    checks: list[CellCheck] = []
    for source, name in columns:
        field = ROSTER_ROW[name]
        clean: Callable[[str, date], Any] = field.clean
        if field.kind == "date":
            clean = functools.partial(field.clean, parse=date_parser(orders.get(name)))
        checks.append((source, name, clean, quoted and name in TEXT_FIELDS))
    return checks


def file_checks(parsed: ParsedFile) -> list[CellCheck]:
    """:func:`cell_checks` of a parsed file's columns and date orders."""
    return cell_checks(
        parsed.columns, parsed.date_orders, quoted=parsed.source.kind == FileKind.CSV
    )


def joined(cells: Sequence[str], parts: tuple[int, ...]) -> str:
    """The name parts at ``parts`` (first, last), trimmed, joined by one space."""
    return " ".join(part for index in parts if (part := cells[index].strip()))


def validate_cells(
    cells: Sequence[str], checks: Iterable[CellCheck], today: date
) -> tuple[dict[str, Any], list[str], set[str]]:
    """Check one record's cells, field by field, with the fields' declarations.

    Args:
        cells: the record's cells.
        checks: :func:`cell_checks` of the file's columns.
        today: the day rules about the future measure against.

    Returns:
        ``(values, errors, bad_fields)``: the cleaned values by field (``None`` for a
        blank cell), one message per problem, and the fields whose cell was refused.
    """
    values: dict[str, Any] = {}
    errors: list[str] = []
    bad: set[str] = set()
    for source, name, clean, text in checks:
        cell = cells[source] if source.__class__ is int else joined(cells, source)  # type: ignore[arg-type]  # narrowed by the class test (isinstance() is slower)
        try:
            values[name] = clean(restore(cell.strip()) if text else cell, today)
        except FieldError as error:
            errors.append(str(error))
            bad.add(name)
    return values, errors, bad


def fits(cells: Sequence[str], width: int) -> bool:
    """Whether a record has the header's number of cells (trailing empty cells allowed)."""
    return len(cells) == width or (len(cells) > width and not any(c.strip() for c in cells[width:]))


def width_message(cells: Sequence[str], width: int, kind: str) -> str:
    """Why a row that does not :func:`fits` the header is refused."""
    if kind != FileKind.CSV:
        column = len(cells)
        while column > width and not cells[column - 1].strip():
            column -= 1
        return (
            f"The row has a value in column {column_letter(column)}, which has no "
            "header; add a header for it or clear it."
        )
    cells_text = "1 cell" if len(cells) == 1 else f"{len(cells)} cells"
    return (
        f"The row has {cells_text} but the header has {width} columns; "
        "check for a missing or extra delimiter."
    )


#: A name read from a file, for messages and the preview: at most this many characters.
LABEL_MAX = 120


def validate_records(
    records: Sequence[tuple[int, list[str]]], parsed: ParsedFile, today: date
) -> list[ValidRow]:
    """Check ``records`` of ``parsed`` one by one (the loop of :func:`.checking.iter_validated`)."""
    checks = file_checks(parsed)
    width, kind = parsed.width, parsed.source.kind
    name_source = next((source for source, name in parsed.columns if name == "name"), None)
    rows: list[ValidRow] = []
    for line, cells in records:
        if not fits(cells, width):
            message = width_message(cells, width, kind)
            rows.append(ValidRow(line, {}, [message], set(FIELDS), ""))
            continue
        values, errors, bad = validate_cells(cells, checks, today)
        label = values.get("name") or ""
        if not label and name_source is not None:
            raw = cells[name_source] if isinstance(name_source, int) else joined(cells, name_source)
            label = raw.strip()[:LABEL_MAX]
        rows.append(ValidRow(line, values, errors, bad, label))
    return rows
