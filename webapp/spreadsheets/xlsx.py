"""Reading an Excel workbook (``.xlsx``) with openpyxl, values only, row by row.

The archive is checked first (:mod:`webapp.spreadsheets.archive`), then its parts:

- Macros are refused: a macro-enabled content type (``.xlsm``, ``.xltm``, ``.xlam``), a
  binary workbook (``.xlsb``) or a ``vbaProject.bin`` part.
- External links are refused: a part under ``xl/externalLinks/`` (a formula reading
  another file).
- Formulas are never evaluated. A formula cell gives the value Excel saved with it (what
  the user saw on screen); a formula cell saved without a value (files written by
  programs, not by Excel) is an error naming the cell, since the only way to know its
  value would be to evaluate it.

Then openpyxl reads the first sheet (or the one named) in read-only mode with
``data_only=True``: it streams the sheet's XML and turns dates stored as serial numbers
back into dates from their number format, in the workbook's 1900 or 1904 date system.

Memory: the file's bytes when given as bytes, openpyxl's shared-strings table (every
distinct text of the workbook, about 60 bytes plus the text each) and styles, one row,
and about 100 bytes per row read so far: openpyxl clears each row's XML element but
leaves it in the tree (so about 15 MB for the 130,000 rows of a 10 MB upload); never
the cells of the whole sheet. ``bench/results/spreadsheets.md`` has the figures.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from collections.abc import Iterator
from typing import IO, Any
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import iterparse

from webapp.spreadsheets.archive import READ_ERRORS, damaged, read_small_part
from webapp.spreadsheets.base import KIND_LABELS, FileKind, Limits, Row, SpreadsheetError
from webapp.spreadsheets.cells import column_letter, value_text

WHAT = KIND_LABELS[FileKind.XLSX]

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_CELL, _FORMULA, _VALUE = f"{_MAIN}c", f"{_MAIN}f", f"{_MAIN}v"
_ROW, _SHEET_DATA = f"{_MAIN}row", f"{_MAIN}sheetData"
#: A formula element, with or without a namespace prefix (``<f>``, ``<x:f ...>``).
_FORMULA_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")
_CHUNK = 1 << 16


def check_parts(archive: zipfile.ZipFile) -> None:
    """Refuse what the module docstring lists before openpyxl sees the file.

    Args:
        archive: the workbook's archive, checked by ``open_checked_zip``.

    Raises:
        SpreadsheetError: another Office document, macros, a binary workbook or
            external links.
    """
    names = archive.namelist()
    content_types = read_small_part(archive, "[Content_Types].xml", WHAT)
    if "macroEnabled" in content_types.decode("utf-8", "replace") or any(
        name.lower().endswith("vbaproject.bin") for name in names
    ):
        raise SpreadsheetError(
            "The workbook contains macros (an .xlsm file). Macros are never run here: "
            "save it as “Excel Workbook (.xlsx)” and import that."
        )
    if b"spreadsheetml.sheet.binary" in content_types or any(
        name.endswith(".bin") and name.startswith("xl/worksheets/") for name in names
    ):
        raise SpreadsheetError(
            "The workbook is an Excel Binary Workbook (.xlsb). Save it as “Excel Workbook "
            "(.xlsx)” and import that."
        )
    if b"spreadsheetml" not in content_types:
        other = _other_office_document(names)
        raise SpreadsheetError(
            f"The file is {other}, not a spreadsheet. Choose the file with the rows to "
            "import, saved as .xlsx, .ods or .csv."
        )
    links = [name for name in names if name.startswith("xl/externalLinks/")]
    if links:
        raise SpreadsheetError(
            "The workbook has formulas that read other files (external links). Copy the "
            "sheet and paste it as values only into a new workbook, then import that."
        )


def _other_office_document(names: list[str]) -> str:
    if any(name.startswith("word/") for name in names):
        return "a Word document"
    if any(name.startswith("ppt/") for name in names):
        return "a PowerPoint presentation"
    return "a zip archive"


def check_formulas(archive: zipfile.ZipFile, part: str) -> None:
    """Refuse a sheet with a formula saved without its value (see the module docstring).

    The sheet's XML is first searched for any formula, which costs a decompression; only a
    sheet that has formulas is parsed to find one without a value.

    Args:
        archive: the workbook's archive.
        part: the sheet's part name, e.g. ``xl/worksheets/sheet1.xml``.

    Raises:
        SpreadsheetError: naming the first such cell.
    """
    try:
        if not _has_formula(archive, part):
            return
        with archive.open(part) as source:
            rows: Any = None
            for event, element in iterparse(source, ("start", "end"), forbid_dtd=True):
                if event == "start":
                    if element.tag == _SHEET_DATA:
                        rows = element
                    continue
                if element.tag == _ROW and rows is not None:
                    rows.clear()  # the rows read so far: keeps memory to one row
                if element.tag != _CELL:
                    continue
                if element.find(_FORMULA) is not None and _lacks_value(element):
                    cell = element.get("r", "?")
                    raise SpreadsheetError(
                        f"Cell {cell} has a formula saved without its result, so its value "
                        "is unknown (formulas are never calculated here). Open the file in "
                        "Excel or LibreOffice, save it, and try again.",
                        line=int(re.sub(r"\D", "", cell) or 0) or None,
                    )
    except SpreadsheetError:
        raise
    except READ_ERRORS as error:
        raise damaged(WHAT) from error


def _lacks_value(cell: Element) -> bool:
    value = cell.find(_VALUE)
    if value is None:
        return True
    # A text formula may rightly give "" (=IF(A1;"";"x")); a number never.
    return not (value.text or "") and cell.get("t") not in ("str", "s", "inlineStr")


def _has_formula(archive: zipfile.ZipFile, part: str) -> bool:
    tail = b""
    with archive.open(part) as source:
        while chunk := source.read(_CHUNK):
            if _FORMULA_START.search(tail + chunk):
                return True
            tail = chunk[-32:]
    return False


def open_sheet(
    source: IO[bytes], archive: zipfile.ZipFile, limits: Limits, sheet: str | None
) -> tuple[str, Iterator[Row], list[str], Any]:
    """Open the sheet to read with openpyxl, after :func:`check_parts`.

    Args:
        source: the workbook file, seekable.
        archive: the same file's archive, already checked.
        limits: ``max_rows``, ``max_columns`` and ``max_cell_chars`` apply to the rows.
        sheet: the name of the sheet to read; ``None`` for the first one.

    Returns:
        ``(sheet name, rows, notes, workbook)``: the non-blank rows (see :func:`iter_rows`),
        notes for the user, and the workbook to close.

    Raises:
        SpreadsheetError: openpyxl cannot read the workbook, it has no sheet of cells, or
            the sheet named does not exist; see also :func:`check_formulas`.
    """
    from openpyxl import load_workbook  # on first use (see cells.column_letter)

    try:
        with warnings.catch_warnings():
            # openpyxl warns about features it would drop when saving; nothing is saved here.
            warnings.simplefilter("ignore")
            workbook = load_workbook(
                source, read_only=True, data_only=True, keep_links=False, keep_vba=False
            )
    except READ_ERRORS as error:
        raise damaged(WHAT) from error
    except Exception as error:  # openpyxl raises many kinds on malformed parts
        raise SpreadsheetError(
            f"The workbook could not be read ({type(error).__name__}: {error}). Open it in "
            "Excel or LibreOffice, save it as .xlsx, and try again."
        ) from error
    try:
        names = workbook.sheetnames
        if not workbook.worksheets:
            raise SpreadsheetError("The workbook has no sheet of cells (only charts).")
        if sheet is None:
            worksheet = workbook.worksheets[0]
        elif sheet in names:
            worksheet = workbook[sheet]
        else:
            raise SpreadsheetError(
                f"The workbook has no sheet named “{sheet}”; its sheets are "
                + ", ".join(f"“{name}”" for name in names)
                + "."
            )
        notes = sheet_notes(worksheet.title, names, worksheet.sheet_state)
        # openpyxl keeps the sheet's part name private; it has been there since 2.4.
        check_formulas(archive, str(getattr(worksheet, "_worksheet_path")))  # noqa: B009
        worksheet.reset_dimensions()  # a wrong <dimension> would pad every row
        rows = iter_rows(worksheet.iter_rows(values_only=True), limits)
    except BaseException:
        workbook.close()
        raise
    return worksheet.title, rows, notes, workbook


def sheet_notes(title: str, names: list[str], state: str = "visible") -> list[str]:
    """Return the notes about which sheet of a workbook was read.

    Args:
        title: the sheet read.
        names: all the workbook's sheets, in order.
        state: the sheet's visibility (``"visible"``, ``"hidden"``, ``"veryHidden"``).
    """
    notes: list[str] = []
    others = [name for name in names if name != title]
    if others:
        notes.append(
            f"Only the sheet “{title}” was read; the workbook also has "
            + ", ".join(f"“{name}”" for name in others)
            + "."
        )
    if state != "visible":
        notes.append(f"The sheet “{title}” is hidden in the workbook.")
    return notes


def iter_rows(values: Iterator[tuple[object, ...]], limits: Limits) -> Iterator[Row]:
    """Turn openpyxl's rows of values into non-blank :class:`Row` objects.

    Args:
        values: the sheet's rows from row 1 on, one tuple per row (gaps as empty tuples).
        limits: ``max_rows``, ``max_columns`` and ``max_cell_chars``.

    Yields:
        Rows with their sheet row number, trailing blank cells removed.

    Raises:
        SpreadsheetError: a row beyond the limits, or the archive fails mid-way.
    """
    count = 0
    line = 0
    try:
        for line, row in enumerate(values, start=1):
            cells = [value_text(value) for value in row]
            while cells and not cells[-1].strip():
                cells.pop()
            if not cells or not any(cell.strip() for cell in cells):
                continue
            check_row(cells, line, limits)
            count += 1
            if count > limits.max_rows:
                raise SpreadsheetError(
                    f"Row {line}: the sheet has more than {limits.max_rows:,} rows.", line=line
                )
            yield Row(line, cells)
    except SpreadsheetError:
        raise
    except READ_ERRORS as error:
        raise SpreadsheetError(
            f"Row {line + 1}: the workbook is damaged from here on ({type(error).__name__}). "
            "Save it again from Excel or LibreOffice and try again.",
            line=line + 1,
        ) from error


def check_row(cells: list[str], line: int, limits: Limits) -> None:
    """Refuse a row wider than ``limits.max_columns`` or with a cell too long.

    Args:
        cells: the row's cells, without trailing blanks.
        line: its row number, for the message.
        limits: the limits.

    Raises:
        SpreadsheetError: naming the row and the cell.
    """
    if len(cells) > limits.max_columns:
        raise SpreadsheetError(
            f"Row {line}: column {column_letter(len(cells))} has a value, beyond the "
            f"{limits.max_columns:,} columns read. Remove the cells far to the right.",
            line=line,
        )
    for index, cell in enumerate(cells, start=1):
        if len(cell) > limits.max_cell_chars:
            raise SpreadsheetError(
                f"Cell {column_letter(index)}{line} holds {len(cell):,} characters; a "
                f"cell may hold {limits.max_cell_chars:,}.",
                line=line,
            )
