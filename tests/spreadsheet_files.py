"""Files as other programs write them, for the spreadsheet tests and the benchmark.

Workbooks are made by the real libraries (openpyxl for ``.xlsx``, odfpy for ``.ods``);
CSV files in the dialects Excel and LibreOffice save. Broken files are built from good
ones by changing what a broken file would have changed.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from datetime import date

from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table, TableCell, TableRow
from odf.text import P
from openpyxl import Workbook

from webapp.spreadsheets import read_table

Cell = str | int | float | date | None

#: A roster as another school system exports it, with values of their real types.
HEADER = ["First name", "Last name", "DOB", "Year group", "Email", "Notes"]
ROWS: list[list[Cell]] = [
    ["Élodie", "Durand", date(2015, 3, 14), 3, "elodie.durand@example.org",
     "Likes “art”; paints, sings"],
    ["Jürgen", "Müller", date(2014, 1, 2), 4, None, None],
    ["Zoë", "Ñúñez", date(2013, 12, 31), 5, "zoe@example.org", "Garçon’s € 5 fee paid"],
    ["Ann", "O'Brien", date(2016, 2, 29), 2, "ann@example.org", "=1+1 is not a formula"],
    ["Li", "Wei", None, 1, "li.wei@example.org", "Allergies: nuts, eggs"],
]  # fmt: skip


def as_text(value: Cell, date_format: str = "%Y-%m-%d") -> str:
    """A value as a clean CSV holds it."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.strftime(date_format)
    return str(value)


def text_rows(date_format: str = "%Y-%m-%d") -> list[list[str]]:
    """:data:`HEADER` and :data:`ROWS` as text, dates in ``date_format``."""
    return [HEADER] + [[as_text(v, date_format) for v in row] for row in ROWS]


def csv_bytes(
    rows: Iterable[Sequence[str]],
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
    newline: str = "\r\n",
) -> bytes:
    """Rows written as a CSV file in a dialect: encoding (with ``-sig``/``utf-16`` BOMs)."""
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator=newline).writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(
    rows: Iterable[Sequence[Cell]] | None = None,
    *,
    title: str = "Roster",
    setup: Callable[[Workbook], None] | None = None,
) -> bytes:
    """An ``.xlsx`` made by openpyxl (shared strings, dates with a date format)."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    table: list[Sequence[Cell]] = [HEADER, *ROWS] if rows is None else list(rows)
    for row in table:
        sheet.append(list(row))
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # "=1+1" is text here, as a typed '=1+1 is
    if setup:
        setup(workbook)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def ods_bytes(rows: Iterable[Sequence[Cell]] | None = None, *, title: str = "Roster") -> bytes:
    """An ``.ods`` made by odfpy, typed as LibreOffice types cells."""
    document = OpenDocumentSpreadsheet()
    table = Table(name=title)
    values_by_row: list[Sequence[Cell]] = [HEADER, *ROWS] if rows is None else list(rows)
    for values in values_by_row:
        row = TableRow()
        for value in values:
            row.addElement(ods_cell(value))
        table.addElement(row)
    document.spreadsheet.addElement(table)
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


def ods_cell(value: Cell, **attributes: str) -> TableCell:
    """An odfpy cell holding ``value``."""
    if value is None:
        return TableCell(**attributes)
    if isinstance(value, date):
        return TableCell(valuetype="date", datevalue=value.isoformat(), **attributes)
    if isinstance(value, int | float):
        cell = TableCell(valuetype="float", value=str(value), **attributes)
        cell.addElement(P(text=str(value)))
        return cell
    cell = TableCell(valuetype="string", **attributes)
    for line in value.split("\n"):
        cell.addElement(P(text=line))
    return cell


def rezip(
    data: bytes,
    *,
    add: dict[str, bytes] | None = None,
    replace: Callable[[str, bytes], bytes] | None = None,
) -> bytes:
    """A copy of a zip archive with parts added or changed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if replace:
                content = replace(info.filename, content)
            target.writestr(info.filename, content, zipfile.ZIP_DEFLATED)
        for name, content in (add or {}).items():
            target.writestr(name, content, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def sub_part(name: str, pattern: str, replacement: str) -> Callable[[str, bytes], bytes]:
    """A ``replace`` for :func:`rezip` that edits the XML of part ``name``."""

    def edit(filename: str, content: bytes) -> bytes:
        if filename != name:
            return content
        return re.sub(pattern.encode(), replacement.encode(), content)

    return edit


def ods_document(*rows: TableRow, name: str = "Sheet1") -> bytes:
    """An .ods file of one sheet holding ``rows``, made by odfpy."""
    document = OpenDocumentSpreadsheet()
    table = Table(name=name)
    for row in rows:
        table.addElement(row)
    document.spreadsheet.addElement(table)
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


def ods_row(*cells: TableCell, repeated: int = 1) -> TableRow:
    row = TableRow(numberrowsrepeated=repeated) if repeated > 1 else TableRow()
    for cell in cells:
        row.addElement(cell)
    return row


def read_all(data: bytes, filename: str, **kwargs: object) -> tuple[list[str], list[list[str]]]:
    """The header and the rows' cells of a file."""
    with read_table(data, filename, **kwargs) as table:  # type: ignore[arg-type]
        return table.header, [row.cells for row in table]
