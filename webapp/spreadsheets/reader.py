"""One entry point for every kind of file: :func:`read_table`."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import IO

from webapp.spreadsheets import delimited, ods, xlsx
from webapp.spreadsheets.archive import open_checked_zip
from webapp.spreadsheets.base import (
    KIND_NOUNS,
    FileKind,
    Limits,
    Row,
    SpreadsheetError,
    Table,
    format_size,
)

#: The extensions of each kind; others are read by content, as CSV when not a zip.
EXTENSIONS: dict[str, FileKind] = {
    ".csv": FileKind.CSV,
    ".txt": FileKind.CSV,
    ".tsv": FileKind.CSV,
    ".xlsx": FileKind.XLSX,
    ".xltx": FileKind.XLSX,
    ".ods": FileKind.ODS,
    ".ots": FileKind.ODS,
}

_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and any password-protected Office file
_OLD_EXCEL = {".xls", ".xlsm", ".xlsb", ".xltm", ".xlam"}


def read_table(
    data: bytes | IO[bytes],
    filename: str,
    *,
    limits: Limits | None = None,
    sheet: str | None = None,
) -> Table:
    """Read a CSV file, an Excel workbook or an OpenDocument spreadsheet as a table.

    The kind comes from the content (a zip archive is a workbook, an Office binary file is
    refused, anything else is CSV); the extension of ``filename`` only words the messages
    and adds a note when it disagrees. The header is the first non-blank row; rows are
    then read lazily, so errors in them are raised while iterating.

    Args:
        data: the file's bytes, or a binary file open for reading (seekable files are
            read in place; others are read into memory, up to ``limits.max_bytes``).
        filename: the file's name on the user's computer.
        limits: what the file may hold (:class:`Limits` by default).
        sheet: the sheet of a workbook to read; the first one by default.

    Returns:
        The :class:`Table`; close it (or use ``with``) when done.

    Raises:
        SpreadsheetError: the file is too large, empty, of a kind that is not read, damaged,
            refused (macros, external links, formulas without values, zip bombs) or has
            only blank rows.
    """
    limits = limits or Limits()
    source = _open(data, limits)
    extension = os.path.splitext(filename)[1].lower()
    head = source.read(8)
    source.seek(0)
    if not head:
        raise SpreadsheetError("The file is empty.")
    if head.startswith(_OLE2):
        raise SpreadsheetError(
            "The file is an old Excel 97-2003 workbook (.xls) or a password-protected "
            "file. Save it as “Excel Workbook (.xlsx)” without a password and try again."
        )
    if head.startswith(_ZIP):
        return _read_workbook(source, extension, limits, sheet)
    if extension in _OLD_EXCEL or EXTENSIONS.get(extension) in (FileKind.XLSX, FileKind.ODS):
        kind = EXTENSIONS.get(extension, FileKind.XLSX)
        raise SpreadsheetError(
            f"The file is named {extension} but is not {KIND_NOUNS[kind]}: it is damaged "
            "or is another kind of file renamed. Save it again from your spreadsheet program."
        )
    return _read_csv(source, extension, limits)


def _open(data: bytes | IO[bytes], limits: Limits) -> IO[bytes]:
    """A seekable binary file over ``data``, checked against ``limits.max_bytes``."""
    if isinstance(data, bytes | bytearray | memoryview):
        size = len(data)
        source: IO[bytes] = io.BytesIO(data)
    elif data.seekable():
        start = data.tell()
        size = data.seek(0, os.SEEK_END) - start
        data.seek(start)
        source = data if start == 0 else io.BytesIO(data.read())
    else:
        content = data.read(limits.max_bytes + 1)
        size, source = len(content), io.BytesIO(content)
    if size > limits.max_bytes:
        raise SpreadsheetError(
            f"The file is {format_size(size)}; files up to {format_size(limits.max_bytes)} "
            "can be imported. Split it into smaller files and import them one after the other."
        )
    return source


def _read_workbook(source: IO[bytes], extension: str, limits: Limits, sheet: str | None) -> Table:
    archive = open_checked_zip(source, limits, "workbook")
    try:
        names = set(archive.namelist())
        kind = FileKind.ODS if "mimetype" in names or "content.xml" in names else FileKind.XLSX
        notes = _name_notes(kind, extension)
        if kind is FileKind.ODS:
            ods.check_parts(archive)
            rows, found, more_notes = ods.open_sheet(archive, limits, sheet)
            table = _table(kind, rows, notes, archive.close)
            table.sheet = found[0] if found else None
            _chain_notes(table, more_notes)
            return table
        xlsx.check_parts(archive)
        title, rows, sheet_notes, workbook = xlsx.open_sheet(source, archive, limits, sheet)
    except BaseException:
        archive.close()
        raise

    def close() -> None:
        workbook.close()
        archive.close()

    table = _table(kind, rows, notes + sheet_notes, close)
    table.sheet = title
    return table


def _chain_notes(table: Table, notes: list[str]) -> None:
    """Make ``table.notes`` receive ``notes`` as the ODS reader finds them."""
    rows = table.rows

    def rows_then_notes() -> Iterator[Row]:
        yield from rows
        table.notes.extend(notes)

    table.rows = rows_then_notes()


def _name_notes(kind: FileKind, extension: str) -> list[str]:
    named = EXTENSIONS.get(extension)
    if named is None or named is kind:
        return []
    return [f"The file is named {extension} but is {KIND_NOUNS[kind]}; it was read as one."]


def _read_csv(source: IO[bytes], extension: str, limits: Limits) -> Table:
    encoding, delimiter, rows = delimited.read_csv(source, limits)
    notes = _name_notes(FileKind.CSV, extension)
    return _table(FileKind.CSV, rows, notes, None, encoding=encoding, delimiter=delimiter)


def _table(
    kind: FileKind,
    rows: Iterator[Row],
    notes: list[str],
    closer: object,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> Table:
    """Take the header off ``rows``; pad spreadsheet rows to the header's width."""
    try:
        header = next(rows, None)
    except BaseException:
        if callable(closer):
            closer()
        raise
    if header is None:
        if callable(closer):
            closer()
        raise SpreadsheetError("The file has only empty lines and empty cells.")
    body = rows if kind is FileKind.CSV else _padded(rows, len(header.cells))
    return Table(
        kind=kind,
        header=header.cells,
        header_line=header.line,
        rows=body,
        encoding=encoding,
        delimiter=delimiter,
        notes=notes,
        closer=closer if callable(closer) else None,
    )


def _padded(rows: Iterator[Row], width: int) -> Iterator[Row]:
    for row in rows:
        if len(row.cells) < width:
            row.cells.extend([""] * (width - len(row.cells)))
        yield row
