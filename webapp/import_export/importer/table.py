"""Stage 1 of an import, its result: a file's text as a :class:`Table`, and how it is built.

A :class:`Table` holds a file's header and records of text, how the file was read
(:class:`Source`), example values per column and, when asked for, every cell packed.
:class:`Collector` builds one from rows, one at a time, keeping only the cells of the
columns the caller asks for (``keep``); :mod:`.reading` feeds it from a file or from a
packed copy.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import orjson

from webapp.import_export.importer.limits import (
    ImportFileError,
    ImportLimits,
    too_many_rows_message,
)
from webapp.spreadsheets import FileKind
from webapp.spreadsheets.delimited import DELIMITER_NAMES

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
    """``(line number, cells)`` of a table's records: a list, or
    :class:`~.reading.StreamedRecords`."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[tuple[int, list[str]]]: ...


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


class Shape:
    """A record's cells as the records keep them: trailing blank cells beyond the header
    removed, and the cells of columns not kept blank."""

    def __init__(self, width: int, kept: list[int] | None) -> None:
        self.width = width
        self.kept = kept

    def __call__(self, cells: list[str]) -> list[str]:
        width = self.width
        if len(cells) > width:
            cells = trimmed(cells)
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


def trimmed(cells: list[str]) -> list[str]:
    """``cells`` without trailing blank cells (a new list only when some are removed)."""
    width = len(cells)
    while width and not cells[width - 1].strip():
        width -= 1
    return cells if width == len(cells) else cells[:width]


class Collector:
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
        self.shape = Shape(width, kept)
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
            cells = trimmed(cells)
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
            raise ImportFileError(too_many_rows_message(self.limits))
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
