"""Stage 1 of an import, reading: a file's bytes to a header and rows of text.

Nothing here knows about students: :func:`read_file` reads a CSV file in any common
dialect, an Excel workbook or an OpenDocument spreadsheet (:func:`webapp.spreadsheets.read_table`)
into a :class:`Table` of strings, with where each row starts and how the file was read,
or refuses a file that cannot be read at all (:class:`ImportFileError`). Which column holds
which field is :mod:`.columns`' business.

Limits (:class:`ImportLimits`) bound what a file costs before anything else runs: its
bytes, its rows and its columns. Memory: a record keeps the cells of the columns the
caller asks for (``keep``, the mapped ones), the others blank, so a file of many columns
costs what its mapped columns cost; the whole file is kept packed (every cell,
compressed: :func:`unpack_table`), which is what the browser's import stores between the
preview and the confirm, so that a workbook is parsed once and a new mapping reads it
again.

The command line reads a file twice instead (``stream=True``): a first pass counts the
rows, finds the examples and the distinct values of the kept columns (for the date
orders), and refuses a file over a limit; the records are then :class:`StreamedRecords`,
which read the file again each time they are iterated and hold one record at a time.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import IO, Any, Protocol

import orjson
from flask import current_app

from webapp.spreadsheets import FileKind, Limits, SpreadsheetError, read_table
from webapp.spreadsheets.delimited import DELIMITER_NAMES

#: Default largest file accepted, in bytes (``IMPORT_MAX_BYTES`` in the app config).
#: About 130,000 rows of typical student data as CSV.
DEFAULT_MAX_BYTES = 10_000_000
#: Default most rows after the header (``IMPORT_MAX_ROWS``): above what 10 MB of
#: typical rows hold, so that rows, not bytes, bound a file of tiny rows.
DEFAULT_MAX_ROWS = 100_000
#: Default most columns (``IMPORT_MAX_COLUMNS``): the rightmost column holding a value.
DEFAULT_MAX_COLUMNS = 200
#: Example values kept per column (from the first rows), and their longest text.
EXAMPLES, EXAMPLE_MAX = 3, 40
#: Rows searched for examples.
EXAMPLE_ROWS = 200

#: Most distinct values a streamed read keeps per column (:attr:`Table.distinct`): more
#: than a date column has (a roster's birthdays span a few thousand days); a column with
#: more (names, emails) is dropped and read again by whoever needs it.
DISTINCT_MAX = 20_000

#: ``keep(header)``: the indexes of the columns whose cells the records keep.
Keep = Callable[[Sequence[str]], Iterable[int]]


class Records(Protocol):
    """``(line number, cells)`` of a table's records: a list, or :class:`StreamedRecords`."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[tuple[int, list[str]]]: ...


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
            header (CSV); blank cells beyond the header are removed. Cells of columns
            the reader was not asked to keep are blank (``""``).
        source: how the file was read.
        examples: per header column, up to :data:`EXAMPLES` distinct values from the
            first rows, cut to :data:`EXAMPLE_MAX` characters.
        packed: every cell of the file, compressed, when asked for (:func:`unpack_table`).
        distinct: of a streamed read, per header column, the distinct stripped values of a
            kept column (``None`` for a column not kept or with more than
            :data:`DISTINCT_MAX` of them); empty otherwise.
    """

    header: list[str]
    records: Records
    source: Source = field(default_factory=Source)
    examples: tuple[tuple[str, ...], ...] = ()
    packed: bytes | None = None
    distinct: tuple[set[str] | None, ...] = ()

    def column_values(self, index: int) -> Iterable[str]:
        """The stripped values of column ``index`` (distinct ones when a streamed read kept
        them; otherwise every record's, read again if streamed)."""
        if index < len(self.distinct) and (found := self.distinct[index]) is not None:
            return found
        return (cells[index].strip() for _, cells in self.records if index < len(cells))


class _Shape:
    """A record's cells as the records keep them: trailing blank cells beyond the header
    removed, and the cells of columns not kept blank."""

    def __init__(self, width: int, kept: list[int] | None) -> None:
        self.width = width
        self.kept = kept

    def __call__(self, cells: list[str]) -> list[str]:
        width = self.width
        if len(cells) > width:
            cells = _trimmed(cells)
        if self.kept is not None:
            count = len(cells)
            sparse = [""] * count
            for index in self.kept:
                if index < count:
                    sparse[index] = cells[index]
            if count > width:  # values beyond the header: the row is an error
                sparse[width:] = cells[width:]
            cells = sparse
        return cells


class StreamedRecords:
    """The records of a file, read again from the file each time they are iterated.

    What :func:`read_file` with ``stream=True`` gives: memory holds one record (and the
    file's bytes when it was given as bytes), whatever the number of rows. The first pass
    refused what is over a limit or cannot be read, so iterating again meets the same rows
    without errors.

    Args:
        data: the file's bytes (or a seekable binary file, read from its start).
        filename: its name, as given to :func:`read_file`.
        limits: the reader's limits, as the first pass used them.
        sheet: the workbook sheet read.
        shape: how a record's cells are kept (:class:`_Shape`).
        count: the number of records, from the first pass.
        start: where the file starts in ``data``, when it is a file.
    """

    def __init__(
        self,
        data: bytes | IO[bytes],
        filename: str,
        limits: Limits,
        sheet: str | None,
        shape: _Shape,
        count: int,
        start: int = 0,
    ) -> None:
        self._data = data
        self._start = start
        self._filename = filename
        self._limits = limits
        self._sheet = sheet
        self._shape = shape
        self._count = count

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        data = self._data
        if not isinstance(data, bytes | bytearray | memoryview):
            data.seek(self._start)
        shape = self._shape
        try:
            with read_table(data, self._filename, limits=self._limits, sheet=self._sheet) as table:
                for line, cells in table:
                    yield line, shape(cells)
        except SpreadsheetError as error:  # pragma: no cover - the first pass raised it
            raise ImportFileError(str(error)) from error


class _Collector:
    """Builds a table's records, examples and packed form from its rows, one at a time.

    With ``stream``, the records are counted, not kept, and the distinct values of the
    kept columns are collected instead (up to :data:`DISTINCT_MAX` per column).
    """

    def __init__(
        self,
        header: list[str],
        limits: ImportLimits,
        keep: Keep | None,
        pack: bool,
        stream: bool = False,
    ) -> None:
        self.header = header
        self.width = width = len(header)
        self.limits = limits
        kept: list[int] | None = None
        if keep is not None:
            kept = sorted({index for index in keep(header) if 0 <= index < width})
            kept = None if len(kept) == width else kept  # all kept: nothing to blank
        self.shape = _Shape(width, kept)
        self.stream = stream
        self.count = 0
        self.records: list[tuple[int, list[str]]] = []
        self.examples: list[list[str]] = [[] for _ in header]
        self.distinct: list[set[str] | None] = []
        if stream:
            self.distinct = [
                set() if kept is None or index in kept else None for index in range(width)
            ]
        self._compressor = zlib.compressobj(1) if pack else None
        self._chunks: list[bytes] = []
        if self._compressor is not None:
            self._write(orjson.dumps(header))

    def _write(self, line: bytes) -> None:
        assert self._compressor is not None
        chunk = self._compressor.compress(line + b"\n")
        if chunk:
            self._chunks.append(chunk)

    def add(self, line: int, cells: list[str]) -> None:
        """Add the next row; refuse the file when it has one row too many."""
        width = self.width
        if len(cells) > width:
            cells = _trimmed(cells)
        if self._compressor is not None:
            self._write(orjson.dumps([line, cells]))
        if self.count < EXAMPLE_ROWS:
            for index, cell in enumerate(cells[:width]):
                value = cell.strip()[:EXAMPLE_MAX]
                found = self.examples[index]
                if value and len(found) < EXAMPLES and value not in found:
                    found.append(value)
        self.count += 1
        if self.count > self.limits.max_rows:
            raise ImportFileError(_too_many_rows(self.limits))
        if self.stream:
            distinct = self.distinct
            for index, values in enumerate(distinct):
                if values is not None and index < len(cells):
                    values.add(cells[index].strip())
                    if len(values) > DISTINCT_MAX:
                        distinct[index] = None
            return
        self.records.append((line, self.shape(cells)))

    def table(self, source: Source, records: Records | None = None) -> Table:
        """The table read, with its packed form when asked for.

        Args:
            source: how the file was read.
            records: the records to give the table instead of those collected (a
                streamed read's).
        """
        packed = None
        if self._compressor is not None:
            self._write(orjson.dumps(source.to_json()))
            self._chunks.append(self._compressor.flush())
            packed = b"".join(self._chunks)
        return Table(
            self.header,
            self.records if records is None else records,
            source,
            tuple(tuple(found) for found in self.examples),
            packed,
            tuple(self.distinct),
        )


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
    keep: Keep | None = None,
    pack: bool = False,
    stream: bool = False,
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
        keep: called with the header, returns the columns whose cells the records keep
            (the others are blank in them); every column by default.
        pack: keep every cell of the file packed too (:attr:`Table.packed`).
        stream: keep no records: they are :class:`StreamedRecords`, read from ``data``
            again when iterated (so ``data`` must stay unchanged meanwhile); the table's
            :attr:`~Table.distinct` holds the kept columns' distinct values. Not with
            ``pack``.

    Returns:
        The header and the records, with their line numbers; possibly no records.

    Raises:
        ImportFileError: the file is over a limit, empty, only blank, of a kind that is
            not read, damaged, or refused by the reader (the message says which and why).
    """
    if pack and stream:
        raise ValueError("a streamed read keeps no packed copy")
    limits = limits or ImportLimits()
    if stream and not isinstance(data, bytes | bytearray | memoryview) and not data.seekable():
        data = data.read(limits.max_bytes + 1)  # read twice: keep the bytes
    start = 0 if isinstance(data, bytes | bytearray | memoryview) else data.tell()
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
            collector = _Collector(header, limits, keep, pack, stream)
            add = collector.add
            for line, cells in table:
                add(line, cells)
            source = Source(
                kind=table.kind.value,
                encoding=table.encoding,
                delimiter=table.delimiter,
                sheet=table.sheet,
                notes=tuple(table.notes),
            )
    except SpreadsheetError as error:
        raise ImportFileError(str(error)) from error
    if stream:
        records = StreamedRecords(
            data, filename, reader_limits, sheet, collector.shape, collector.count, start
        )
        return collector.table(source, records)
    return collector.table(source)


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


def _lines(packed: bytes) -> Iterator[bytes]:
    """The lines of a packed table, decompressed a piece at a time."""
    decompressor = zlib.decompressobj()
    pending = b""
    for start in range(0, len(packed), 1 << 16):
        pending += decompressor.decompress(packed[start : start + (1 << 16)])
        *lines, pending = pending.split(b"\n")
        yield from lines
    pending += decompressor.flush()
    yield from (line for line in pending.split(b"\n") if line)


def unpack_table(packed: bytes, *, keep: Keep | None = None) -> Table:
    """Read a table kept by :func:`read_file` with ``pack=True`` again.

    Args:
        packed: :attr:`Table.packed`.
        keep: as for :func:`read_file`.

    Returns:
        The table, its packed form included.

    Raises:
        ImportFileError: the bytes are not a packed table (a damaged stored import).
    """
    try:
        lines = _lines(packed)
        header = orjson.loads(next(lines))
        collector = _Collector(header, ImportLimits(max_rows=2**31), keep, pack=False)
        previous = next(lines)
        for line in lines:
            number, cells = orjson.loads(previous)
            collector.add(int(number), cells)
            previous = line
        source = Source.from_json(orjson.loads(previous))
    except (zlib.error, orjson.JSONDecodeError, StopIteration, TypeError, ValueError) as error:
        raise ImportFileError(
            "The stored copy of the file cannot be read. Upload the file again."
        ) from error
    table = collector.table(source)
    return Table(table.header, table.records, source, table.examples, packed)
