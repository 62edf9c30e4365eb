"""Reading an OpenDocument spreadsheet (``.ods``, LibreOffice and others), row by row.

Why our own reader, on the standard library's XML parser through defusedxml: the
maintained Python readers all hold a whole sheet in memory. odfpy (used by pandas) and
ezodf/pyexcel-ods3 build the document's full tree, many times the file's size;
python-calamine (maintained, Rust) materialises the whole sheet, and only caps repeated
cells at 100 million since calamine issue #594 (2026). stream-read-ods streams but drops
``table:number-rows-repeated``, so two identical consecutive rows, which LibreOffice saves
as one repeated row, would come out as one. The values a roster needs are a small part of
the format (OpenDocument 1.3, part 3, sections 9.1 and 19.385-19.389), read here from
``content.xml`` as it is decompressed, with events, each row dropped once read.

Repeats are never expanded blindly: LibreOffice ends a sheet with rows and cells repeated
up to the sheet's limits (1,048,576 rows, 16,384 columns) to carry formatting. A blank
repeated cell or row only moves the count of columns or rows; a repeated cell with a
value is copied only up to ``Limits.max_columns``, a repeated row with values only up to
``Limits.max_rows``.

Like ``.xlsx``: values only, never formulas (a formula cell gives the value saved with
it; one saved without a value is an error naming the cell); macros (``Basic/``,
``Scripts/``) and linked sheets or DDE links are refused; covered (merged) cells are
blank.

Memory: one row and its cells' XML; a single cell is held whole while it is read.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from datetime import datetime
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import iterparse

from webapp.spreadsheets.archive import READ_ERRORS, damaged, read_small_part
from webapp.spreadsheets.base import KIND_LABELS, FileKind, Limits, Row, SpreadsheetError
from webapp.spreadsheets.cells import column_letter, datetime_text, decimal_text
from webapp.spreadsheets.xlsx import check_row, sheet_notes

WHAT = KIND_LABELS[FileKind.ODS]
MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"

_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_CALCEXT = "{urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0}"

T_TABLE, T_ROW = f"{_TABLE}table", f"{_TABLE}table-row"
T_CELL, T_COVERED = f"{_TABLE}table-cell", f"{_TABLE}covered-table-cell"
_LINKS = {f"{_TABLE}table-source", f"{_TABLE}dde-links", f"{_OFFICE}dde-source"}
_NAME, _FORMULA = f"{_TABLE}name", f"{_TABLE}formula"
_ROWS_REPEATED = f"{_TABLE}number-rows-repeated"
_COLUMNS_REPEATED = f"{_TABLE}number-columns-repeated"
_VALUE_TYPE, _VALUE = f"{_OFFICE}value-type", f"{_OFFICE}value"
_DATE_VALUE, _TIME_VALUE = f"{_OFFICE}date-value", f"{_OFFICE}time-value"
_BOOLEAN_VALUE, _STRING_VALUE = f"{_OFFICE}boolean-value", f"{_OFFICE}string-value"
_PARAGRAPHS = {f"{_TEXT}p", f"{_TEXT}h"}
_SPACE, _TAB, _BREAK = f"{_TEXT}s", f"{_TEXT}tab", f"{_TEXT}line-break"
_ANNOTATION = f"{_OFFICE}annotation"
_DURATION = re.compile(r"-?P(?:\d+Y)?(?:\d+M)?(?:(\d+)D)?T?(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?\Z")


def check_parts(archive: zipfile.ZipFile) -> None:
    """Refuse an OpenDocument file that is not a spreadsheet, or that has macros.

    Raises:
        SpreadsheetError: another kind of document, macros, or no ``content.xml``.
    """
    mimetype = read_small_part(archive, "mimetype", WHAT, limit=200).decode("ascii", "replace")
    if mimetype and not mimetype.startswith(MIMETYPE):
        kind = mimetype.rsplit(".", 1)[-1].split("-")[0]
        raise SpreadsheetError(
            f"The file is an OpenDocument {kind} document, not a spreadsheet. Choose the "
            "file with the rows to import, saved as .ods, .xlsx or .csv."
        )
    names = archive.namelist()
    if any(name.startswith(("Basic/", "Scripts/")) for name in names):
        raise SpreadsheetError(
            "The spreadsheet contains macros. Macros are never run here: copy the sheet "
            "into a new spreadsheet without macros, save it as .ods, and import that."
        )
    if "content.xml" not in names:
        raise damaged(WHAT)


def open_sheet(
    archive: zipfile.ZipFile, limits: Limits, sheet: str | None
) -> tuple[Iterator[Row], list[str], list[str]]:
    """Start reading a sheet of an archive checked by :func:`check_parts`.

    Args:
        archive: the spreadsheet's archive.
        limits: ``max_rows``, ``max_columns`` and ``max_cell_chars`` apply.
        sheet: the name of the sheet to read; ``None`` for the first one.

    Returns:
        ``(rows, names, notes)``: the sheet's non-blank rows (lazily; the sheet is found
        on the first ``next``), a list that receives the sheet's name when it is found,
        and the notes list, completed when the rows are exhausted.
    """
    found: list[str] = []
    notes: list[str] = []
    return _rows(archive, limits, sheet, found, notes), found, notes


def _rows(
    archive: zipfile.ZipFile,
    limits: Limits,
    wanted: str | None,
    found: list[str],
    notes: list[str],
) -> Iterator[Row]:
    reader = _SheetReader(limits)
    names: list[str] = []
    stack: list[Element] = []
    try:
        with archive.open("content.xml") as source:
            events = iterparse(source, events=("start", "end"), forbid_dtd=True)
            for event, element in events:
                if event == "start":
                    stack.append(element)
                    tag = element.tag
                    if tag in _LINKS:
                        raise SpreadsheetError(
                            "The spreadsheet has sheets or cells linked to other files. Copy "
                            "the sheet and paste it as values only into a new spreadsheet, "
                            "then import that."
                        )
                    if tag == T_TABLE:
                        name = element.get(_NAME, "")
                        names.append(name)
                        if not found and (wanted is None or name == wanted):
                            found.append(name)
                            reader.start_table()
                    elif reader.reading:
                        reader.start(element)
                    continue
                stack.pop()
                if reader.reading:
                    yield from reader.end(element)
                    if element.tag == T_TABLE:
                        reader.reading = False
                if reader.cell_depth is None and stack:
                    stack[-1].remove(element)  # done with it; keeps memory to one row
    except SpreadsheetError:
        raise
    except READ_ERRORS as error:
        raise damaged(WHAT) from error
    if not found:
        if wanted is None:
            raise SpreadsheetError("The spreadsheet has no sheet.")
        raise SpreadsheetError(
            f"The spreadsheet has no sheet named “{wanted}”; its sheets are "
            + ", ".join(f"“{name}”" for name in names)
            + "."
        )
    notes.extend(sheet_notes(found[0], names))


class _SheetReader:
    """The state of reading one ``table:table``: the row being read and where it is."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.reading = False
        self.line = 0  # rows before the current one, blank ones included
        self.count = 0  # non-blank rows yielded
        self.cells: list[str] = []
        self.blank_run = 0  # blank cells not yet put in self.cells
        self.cell_depth: int | None = None
        self.depth = 0

    def start_table(self) -> None:
        self.reading, self.depth = True, 0

    def start(self, element: Element) -> None:
        self.depth += 1
        if element.tag == T_ROW:
            self.cells, self.blank_run = [], 0
        elif element.tag in (T_CELL, T_COVERED) and self.cell_depth is None:
            self.cell_depth = self.depth

    def end(self, element: Element) -> Iterator[Row]:
        depth = self.depth
        self.depth -= 1
        if depth == self.cell_depth:
            self.cell_depth = None
            self._add_cell(element)
        elif element.tag == T_ROW and self.cell_depth is None:
            repeats = _count(element, _ROWS_REPEATED)
            first = self.line + 1
            self.line += repeats
            if any(cell.strip() for cell in self.cells):
                if self.count + repeats > self.limits.max_rows:
                    raise SpreadsheetError(
                        f"Row {first}: the sheet has more than {self.limits.max_rows:,} rows.",
                        line=first,
                    )
                check_row(self.cells, first, self.limits)
                self.count += repeats
                for line in range(first, first + repeats):
                    yield Row(line, list(self.cells))
            self.cells = []

    def _add_cell(self, element: Element) -> None:
        repeats = _count(element, _COLUMNS_REPEATED)
        row = self.line + 1
        if element.tag == T_COVERED:
            text = ""
        else:
            column = len(self.cells) + self.blank_run + 1
            text = cell_text(element, row, column, self.limits)
        if not text:
            self.blank_run += repeats
            return
        column = len(self.cells) + self.blank_run + 1
        if column + repeats - 1 > self.limits.max_columns:
            raise SpreadsheetError(
                f"Row {row}: column {column_letter(min(column + repeats - 1, 16384))} "
                f"has a value, beyond the {self.limits.max_columns:,} columns read. Remove "
                "the cells far to the right.",
                line=row,
            )
        self.cells.extend([""] * self.blank_run)
        self.blank_run = 0
        self.cells.extend([text] * repeats)


def _count(element: Element, attribute: str) -> int:
    raw = element.get(attribute, "1")
    if not raw.isdigit() or int(raw) < 1:
        raise SpreadsheetError(
            f"The spreadsheet is damaged: a repeat count is “{raw[:20]}”. Save it again "
            "from LibreOffice and try again."
        )
    return int(raw)


def cell_text(element: Element, row: int, column: int, limits: Limits) -> str:
    """Return a ``table:table-cell``'s value as text (see :mod:`webapp.spreadsheets.cells`).

    Args:
        element: the cell, with its content.
        row: its row number, for messages.
        column: its column number, for messages.
        limits: ``max_cell_chars``.

    Raises:
        SpreadsheetError: a formula saved without a value, or a cell too long.
    """
    value_type = element.get(_VALUE_TYPE)
    if value_type is None:
        if element.get(_FORMULA):
            raise SpreadsheetError(
                f"Cell {column_letter(column)}{row} has a formula saved without its "
                "result, so its value is unknown (formulas are never calculated here). Open "
                "the file in LibreOffice or Excel, save it, and try again.",
                line=row,
            )
        return ""
    if value_type in ("float", "percentage", "currency"):
        return decimal_text(element.get(_VALUE, ""))
    if value_type == "date":
        raw = element.get(_DATE_VALUE, "")
        try:
            return datetime_text(datetime.fromisoformat(raw))
        except ValueError:
            return raw
    if value_type == "time":
        return _duration_text(element.get(_TIME_VALUE, ""))
    if value_type == "boolean":
        return "TRUE" if element.get(_BOOLEAN_VALUE) == "true" else "FALSE"
    text: str | None = element.get(_STRING_VALUE)
    if text is None or element.get(f"{_CALCEXT}value-type") == "error":  # "Err:509", "#N/A"
        text = "\n".join(_paragraph(child) for child in element if child.tag in _PARAGRAPHS)
    if len(text) > limits.max_cell_chars:
        raise SpreadsheetError(
            f"Cell {column_letter(column)}{row} holds {len(text):,} characters; a cell "
            f"may hold {limits.max_cell_chars:,}.",
            line=row,
        )
    return text


def _paragraph(element: Element) -> str:
    """A text paragraph's characters: spans, links, ``text:s`` spaces, tabs, breaks."""
    parts = [element.text or ""]
    for child in element:
        if child.tag == _SPACE:
            parts.append(" " * int(child.get(f"{_TEXT}c", "1") or 1))
        elif child.tag == _TAB:
            parts.append("\t")
        elif child.tag == _BREAK:
            parts.append("\n")
        elif child.tag != _ANNOTATION:
            parts.append(_paragraph(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _duration_text(raw: str) -> str:
    """``PT13H30M00S`` as ``13:30:00``; anything else as it is."""
    match = _DURATION.match(raw)
    if not match:
        return raw
    days, hours, minutes, seconds = (float(part or 0) for part in match.groups())
    total = round(days * 86400 + hours * 3600 + minutes * 60 + seconds)
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"
