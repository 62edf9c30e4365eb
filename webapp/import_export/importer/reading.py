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

The table read is :mod:`.table`'s; the limits and the error that refuses a file are
:mod:`.limits`'.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import IO

import orjson

from webapp.import_export.importer.limits import (
    DEFAULT_MAX_BYTES,
    ImportFileError,
    ImportLimits,
    too_large_message,
)
from webapp.import_export.importer.table import Collector, Keep, Shape, Source, Table, trimmed
from webapp.spreadsheets import Limits, SpreadsheetError, read_table


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
        shape: how a record's cells are kept (:class:`~.table.Shape`).
        count: the number of records, from the first pass.
        start: where the file starts in ``data``, when it is a file.
    """

    def __init__(
        self,
        data: bytes | IO[bytes],
        filename: str,
        limits: Limits,
        sheet: str | None,
        shape: Shape,
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
            header = trimmed(table.header)
            if not header:
                raise ImportFileError("The file has only empty lines and empty cells.")
            # The reader refuses a value beyond max_columns, in the header as in a row.
            collector = Collector(header, limits, keep, pack, stream)
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
        collector = Collector(header, ImportLimits(max_rows=2**31), keep, pack=False)
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
