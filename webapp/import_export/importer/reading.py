"""Stage 1 of an import, reading: a file's bytes to a header and rows of text.

Nothing here knows about students: :func:`read_file` reads a CSV file in any common
dialect, an Excel workbook or an OpenDocument spreadsheet (:func:`webapp.spreadsheets.read_table`)
into a :class:`Table` of strings, with where each row starts and how the file was read,
or refuses a file that cannot be read at all (:class:`ImportFileError`). Which column holds
which field is :mod:`.columns`' business.

Limits (:class:`ImportLimits`) bound what a file costs before anything else runs: its
bytes, its rows and its columns. A stored table (:func:`pack_table`) is what the browser's
import keeps between the preview and the confirm, so that a workbook is parsed once.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass, field
from typing import IO, Any

import orjson
from flask import current_app

from webapp.spreadsheets import FileKind, Limits, SpreadsheetError, read_table
from webapp.spreadsheets.delimited import DELIMITER_NAMES

#: Default largest file accepted, in bytes (``IMPORT_MAX_BYTES`` in the app config).
#: About 130,000 rows of typical student data as CSV.
DEFAULT_MAX_BYTES = 10_000_000
#: Default most rows after the header (``IMPORT_MAX_ROWS``): above what 10 MB of
#: typical rows hold, so that rows, not bytes, bound a file of tiny rows.
DEFAULT_MAX_ROWS = 150_000
#: Default most columns (``IMPORT_MAX_COLUMNS``): the rightmost column holding a value.
DEFAULT_MAX_COLUMNS = 200


class ImportFileError(ValueError):
    """The file as a whole cannot be imported; the message says why, for office staff."""


@dataclass(frozen=True)
class ImportLimits:
    """What an import accepts; each bounds the work and memory a file can cost.

    Attributes:
        max_bytes: the largest file, in bytes.
        max_rows: the most non-blank rows after the header.
        max_columns: the most columns (the rightmost one holding a value).
    """

    max_bytes: int = DEFAULT_MAX_BYTES
    max_rows: int = DEFAULT_MAX_ROWS
    max_columns: int = DEFAULT_MAX_COLUMNS


@dataclass(frozen=True)
class Source:
    """How a file was read, for the preview and the command line.

    Attributes:
        kind: ``"csv"``, ``"xlsx"`` or ``"ods"`` (:class:`webapp.spreadsheets.FileKind`).
        encoding: a CSV file's encoding as users know it (``"Windows-1252"``), else ``None``.
        delimiter: a CSV file's delimiter, else ``None``.
        sheet: the sheet read from a workbook, else ``None``.
        notes: what the reader noticed (other sheets not read, a misleading extension).
    """

    kind: str = FileKind.CSV.value
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def delimiter_name(self) -> str | None:
        """The delimiter in words (``"semicolon"``), or ``None``."""
        return DELIMITER_NAMES.get(self.delimiter or "", self.delimiter)

    def describe(self) -> str:
        """One phrase for people: ``"CSV file, Windows-1252, separated by semicolons"``."""
        if self.kind == FileKind.XLSX:
            return f"Excel workbook (.xlsx), sheet “{self.sheet}”"
        if self.kind == FileKind.ODS:
            return f"OpenDocument spreadsheet (.ods), sheet “{self.sheet}”"
        return f"CSV file, {self.encoding}, {self.delimiter_name}-separated"

    def to_json(self) -> dict[str, Any]:
        """The source as JSON-serialisable data (see :meth:`from_json`)."""
        return {**asdict(self), "notes": list(self.notes)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Source:
        """Undo :meth:`to_json`."""
        return cls(**{**data, "notes": tuple(data.get("notes", ()))})


@dataclass(frozen=True)
class Table:
    """The text of a file: its header and its records.

    Attributes:
        header: the cells of the first non-blank row, trailing blank cells removed.
        records: ``(line number, cells)`` of each non-blank row after the header; the
            line is where the record starts (a quoted cell may span lines), or the
            spreadsheet's row number. Records may have more or fewer cells than the
            header (CSV); blank cells beyond the header are removed.
        source: how the file was read.
    """

    header: list[str]
    records: list[tuple[int, list[str]]]
    source: Source = field(default_factory=Source)


def configured_limits() -> ImportLimits:
    """The limits of the current app (``IMPORT_MAX_BYTES``, ``_ROWS``, ``_COLUMNS``)."""
    config = current_app.config
    return ImportLimits(
        max_bytes=int(config.get("IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)),
        max_rows=int(config.get("IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS)),
        max_columns=int(config.get("IMPORT_MAX_COLUMNS", DEFAULT_MAX_COLUMNS)),
    )


def configured_max_bytes() -> int:
    """The largest file the current app imports (``IMPORT_MAX_BYTES``, 10 MB by default)."""
    return configured_limits().max_bytes


def format_size(size: int) -> str:
    """Return ``size`` bytes for people: ``"980 bytes"``, ``"12.5 kB"``, ``"10 MB"``.

    Args:
        size: a number of bytes.

    Returns:
        The size in decimal units, as file managers show it.
    """
    if size < 1000:
        return f"{size} bytes"
    for unit in ("kB", "MB", "GB"):
        size_in_unit = size / 1000
        if size_in_unit < 1000 or unit == "GB":
            return f"{size_in_unit:.1f}".removesuffix(".0") + f" {unit}"
        size = int(size_in_unit)
    raise AssertionError("unreachable")  # pragma: no cover


def too_large_message(size: int | None, max_bytes: int) -> str:
    """The message for a file over the limit.

    Args:
        size: the file's size in bytes, when known.
        max_bytes: the limit.

    Returns:
        A sentence saying how large the file is, the limit, and what to do.
    """
    what = f"The file is {format_size(size)}" if size is not None else "The file is too large"
    return (
        f"{what}; files up to {format_size(max_bytes)} can be imported. "
        "Split it into smaller files and import them one after the other."
    )


def _too_many_rows(limits: ImportLimits) -> str:
    return (
        f"The file has more than {limits.max_rows:,} rows; up to {limits.max_rows:,} can be "
        "imported at once. Split it into smaller files and import them one after the other."
    )


def _trimmed(cells: list[str]) -> list[str]:
    """``cells`` without trailing blank cells (a new list only when some are removed)."""
    width = len(cells)
    while width and not cells[width - 1].strip():
        width -= 1
    return cells if width == len(cells) else cells[:width]


def read_file(
    data: bytes | IO[bytes],
    filename: str = "import.csv",
    *,
    limits: ImportLimits | None = None,
    sheet: str | None = None,
) -> Table:
    """Read a CSV file, an ``.xlsx`` workbook or an ``.ods`` spreadsheet into a :class:`Table`.

    CSV: UTF-8 (with or without BOM), UTF-16 with BOM, Windows-1252 or Latin-1; comma,
    semicolon, tab or vertical bar; see :mod:`webapp.spreadsheets.delimited`. Workbooks:
    the first sheet (or ``sheet``), values only; see :mod:`webapp.spreadsheets.xlsx` and
    :mod:`webapp.spreadsheets.ods`. Blank lines, and rows whose cells are all empty, are
    skipped, also before the header.

    Args:
        data: the file's bytes, or a binary file open for reading.
        filename: the file's name on the user's computer (its extension words messages).
        limits: bytes, rows and columns accepted; :class:`ImportLimits` by default.
        sheet: the workbook sheet to read; the first one by default.

    Returns:
        The header and the records, with their line numbers; possibly no records.

    Raises:
        ImportFileError: the file is over a limit, empty, only blank, of a kind that is
            not read, damaged, or refused by the reader (the message says which and why).
    """
    limits = limits or ImportLimits()
    size = _size(data)
    if size is not None and size > limits.max_bytes:
        raise ImportFileError(too_large_message(size, limits.max_bytes))
    reader_limits = Limits(
        max_bytes=limits.max_bytes,
        # The header is a row too, and the loop below refuses the first row too many
        # itself, with the message about rows after the header.
        max_rows=limits.max_rows + 2,
        max_columns=limits.max_columns,
    )
    try:
        with read_table(data, filename, limits=reader_limits, sheet=sheet) as table:
            header = _trimmed(table.header)
            if not header:
                raise ImportFileError("The file has only empty lines and empty cells.")
            # The reader refuses a value beyond max_columns, in the header as in a row.
            width = len(header)
            records: list[tuple[int, list[str]]] = []
            append = records.append
            for line, cells in table:
                if len(cells) > width:
                    cells = _trimmed(cells)
                append((line, cells))
                if len(records) > limits.max_rows:
                    raise ImportFileError(_too_many_rows(limits))
            source = Source(
                kind=table.kind.value,
                encoding=table.encoding,
                delimiter=table.delimiter,
                sheet=table.sheet,
                notes=tuple(table.notes),
            )
    except SpreadsheetError as error:
        raise ImportFileError(str(error)) from error
    return Table(header=header, records=records, source=source)


def _size(data: bytes | IO[bytes]) -> int | None:
    if isinstance(data, bytes | bytearray | memoryview):
        return len(data)
    try:
        position = data.tell()
        end = data.seek(0, 2)
        data.seek(position)
    except (OSError, ValueError):
        return None
    return end - position


def read_csv(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Table:
    """:func:`read_file` of a file named ``import.csv`` with only the size limit changed.

    Raises:
        ImportFileError: see :func:`read_file`.
    """
    return read_file(data, "import.csv", limits=ImportLimits(max_bytes=max_bytes))


def pack_table(table: Table) -> bytes:
    """Serialise a table compactly (JSON, zlib), to keep it between requests.

    Args:
        table: a table read by :func:`read_file`.

    Returns:
        Bytes for :func:`unpack_table`; about a third of the text's size.
    """
    payload = {
        "header": table.header,
        "records": table.records,
        "source": table.source.to_json(),
    }
    return zlib.compress(orjson.dumps(payload), 1)


def unpack_table(data: bytes) -> Table:
    """Undo :func:`pack_table`.

    Raises:
        ImportFileError: the bytes are not a packed table (a damaged stored import).
    """
    try:
        payload = orjson.loads(zlib.decompress(data))
        records = [(int(line), cells) for line, cells in payload["records"]]
        return Table(payload["header"], records, Source.from_json(payload["source"]))
    except (zlib.error, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise ImportFileError(
            "The stored copy of the file cannot be read. Upload the file again."
        ) from error
