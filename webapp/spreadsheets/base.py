"""Types shared by the readers: the result of a read, its limits and its one error.

Every reader turns a file into a :class:`Table`: the header row, then the other non-blank
rows as lists of text, streamed, each with the line (CSV) or row number (spreadsheets)
where it starts, so that the importer can name it in messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import NamedTuple


class SpreadsheetError(ValueError):
    """The file cannot be read as a table; the message says why, for office staff.

    Attributes:
        line: the line (CSV) or row (spreadsheet) where the problem is, when there is one;
            the message already names it.
    """

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class FileKind(StrEnum):
    """The kinds of file :func:`webapp.spreadsheets.read_table` reads."""

    CSV = "csv"
    XLSX = "xlsx"
    ODS = "ods"


#: How each kind is called in messages.
KIND_LABELS: dict[FileKind, str] = {
    FileKind.CSV: "CSV file",
    FileKind.XLSX: "Excel workbook (.xlsx)",
    FileKind.ODS: "OpenDocument spreadsheet (.ods)",
}
#: Each kind with its article, inside a sentence ("is not an Excel workbook (.xlsx)").
KIND_NOUNS: dict[FileKind, str] = {
    FileKind.CSV: "a CSV file",
    FileKind.XLSX: "an Excel workbook (.xlsx)",
    FileKind.ODS: "an OpenDocument spreadsheet (.ods)",
}


@dataclass(frozen=True)
class Limits:
    """What a file may hold before it is refused; every number is a count or bytes.

    The defaults accept any roster a school keeps (the importer's 10 MB upload holds
    about 130,000 rows) and refuse archives built to exhaust the server.

    Attributes:
        max_bytes: the largest file, as uploaded.
        max_uncompressed_bytes: the most a workbook's parts may hold once decompressed,
            all parts together (from the zip's central directory, before any is opened).
        max_compression_ratio: the highest ratio of decompressed to compressed size of a
            part larger than ``ratio_floor_bytes`` (sheet XML compresses about 10:1;
            zip bombs reach 1,000:1).
        ratio_floor_bytes: parts smaller than this decompress to little whatever their ratio.
        max_zip_entries: the most parts a workbook may have (a roster has about 10 to 30).
        max_rows: the most non-blank rows read (Excel's own sheet limit; it also bounds
            an ``.ods`` row repeated many times).
        max_columns: the rightmost column that may hold a value.
        max_cell_chars: the longest text of one spreadsheet cell (Excel's own limit);
            CSV cells are bounded by ``max_bytes`` only, as before.
    """

    max_bytes: int = 10_000_000
    max_uncompressed_bytes: int = 300_000_000
    max_compression_ratio: int = 200
    ratio_floor_bytes: int = 1_000_000
    max_zip_entries: int = 1_000
    max_rows: int = 1_048_576
    max_columns: int = 1_000
    max_cell_chars: int = 32_767


class Row(NamedTuple):
    """One non-blank row of a table.

    Attributes:
        line: where the row starts: the CSV line (a quoted cell may span lines) or the
            spreadsheet row number, counting from 1 as the application shows it.
        cells: the cells as text. Spreadsheet rows are padded with ``""`` to the header's
            width (a spreadsheet has no row length); CSV rows are as written.
    """

    line: int
    cells: list[str]


@dataclass
class Table:
    """A file read as a table: its header, its rows (streamed) and how it was read.

    Use it as a context manager, or call :meth:`close`, to release the file. Iterating
    yields the rows after the header, once; errors found on the way raise
    :class:`SpreadsheetError` naming the line.

    Attributes:
        kind: the file's kind, from its content (the name's extension only as a hint).
        header: the first non-blank row's cells, as text.
        header_line: where the header is.
        rows: the other non-blank rows (blank lines and rows of blank cells are skipped).
        encoding: the text encoding of a CSV file, as shown to users (``"UTF-8"``,
            ``"UTF-8 with BOM"``, ``"UTF-16"``, ``"Windows-1252"``, ``"Latin-1"``);
            ``None`` for workbooks.
        delimiter: the CSV delimiter (``,`` ``;`` tab or ``|``); ``None`` for workbooks.
        sheet: the name of the sheet read from a workbook; ``None`` for CSV.
        notes: things the user should know (another sheet not read, a file named
            ``.csv`` that is a workbook); a workbook's list is complete once the rows have
            been read.
    """

    kind: FileKind
    header: list[str]
    header_line: int
    rows: Iterator[Row]
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    notes: list[str] = field(default_factory=list)
    closer: Callable[[], None] | None = field(default=None, repr=False)

    def __iter__(self) -> Iterator[Row]:
        return self.rows

    def close(self) -> None:
        """Release the file and whatever the reader holds open; safe to call twice."""
        closer, self.closer = self.closer, None
        if closer is not None:
            closer()

    def __enter__(self) -> Table:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def format_size(size: int) -> str:
    """Return ``size`` bytes for people: ``"12.3 MB"``, ``"850 kB"`` or ``"120 bytes"``."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    if size >= 1_000:
        return f"{size / 1_000:.0f} kB"
    return f"{size} bytes"
