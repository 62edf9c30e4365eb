"""Stage 1 of an import, continued: which column of the file holds which student field.

The header's cells are matched against the fields' names and aliases
(:data:`webapp.import_export.csvformat.HEADER_ALIASES`); other columns are reported and
ignored. A :class:`ParsedCsv` is a read :class:`~.reading.Table` with that mapping.
"""

from __future__ import annotations

from dataclasses import dataclass

from webapp.fields.base import quote
from webapp.fields.student import ROSTER_ROW
from webapp.import_export.csvformat import FIELDS, HEADER_ALIASES, normalise_header
from webapp.import_export.importer.reading import (
    DEFAULT_MAX_BYTES,
    ImportFileError,
    Table,
    read_csv,
)
from webapp.import_export.importer.support import paused_gc

#: Separators people save files with by mistake, and how a message calls them.
_SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


@dataclass(frozen=True)
class ParsedCsv:
    """A read file with its columns mapped to student fields.

    Attributes:
        fields: the student fields the file has, in column order.
        columns: ``(column index, field)`` for each of ``fields``.
        ignored_columns: header names that are not student fields, as written.
        width: number of header cells.
        records: ``(line number, cells)`` of each non-blank record after the header.
        encoding: how the file was decoded.
    """

    fields: tuple[str, ...]
    columns: tuple[tuple[int, str], ...]
    ignored_columns: tuple[str, ...]
    width: int
    records: list[tuple[int, list[str]]]
    encoding: str = "utf-8"


def _wrong_separator(header: list[str]) -> str | None:
    """Name the separator of a one-column header that another separator would split."""
    if len(header) != 1:
        return None
    for separator, name in _SEPARATORS.items():
        parts = header[0].split(separator)
        if len(parts) > 1 and any(normalise_header(part) in HEADER_ALIASES for part in parts):
            return name
    return None


def map_columns(header: list[str]) -> tuple[tuple[tuple[int, str], ...], tuple[str, ...]]:
    """Map header cells to student fields.

    Args:
        header: the header's cells.

    Returns:
        ``(columns, ignored)``: ``(index, field)`` of each recognised column, and the
        names of the others as written.

    Raises:
        ImportFileError: a field has two columns; no column is a field (with a hint when
            the file uses another separator); or the file can only add students but lacks
            a column they need.
    """
    columns: list[tuple[int, str]] = []
    ignored: list[str] = []
    seen: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = HEADER_ALIASES.get(normalise_header(cell))
        if name is None:
            ignored.append(cell.strip() or f"(column {index + 1} has no name)")
        elif name in seen:
            raise ImportFileError(
                f"The header has two {ROSTER_ROW[name].noun} columns "
                f"(columns {seen[name] + 1} and {index + 1}). Remove one of them."
            )
        else:
            seen[name] = index
            columns.append((index, name))
    if not columns:
        separator = _wrong_separator(header)
        if separator:
            raise ImportFileError(
                f"The columns are separated by {separator}, not commas. Save the file as "
                "“CSV UTF-8 (comma delimited)” and try again."
            )
        found = ", ".join(quote(cell) for cell in header[:6])
        raise ImportFileError(
            "The first line must be a header naming the columns, for example "
            f"“{','.join(FIELDS)}”. It has {found}."
        )
    fields = {name for _, name in columns}
    needed = [field for field in ROSTER_ROW if field.required]
    if not fields & {"id", "email"} and not {field.name for field in needed} <= fields:
        missing = " and ".join(sorted(field.name for field in needed if field.name not in fields))
        needs = " and ".join(f"a {field.noun}" for field in needed)
        raise ImportFileError(
            f"Without an id or email column every row adds a new student, who needs {needs}; "
            f"the file has no {missing} column."
        )
    return tuple(columns), tuple(ignored)


def parse_table(table: Table) -> ParsedCsv:
    """Map a read table's columns to student fields.

    Raises:
        ImportFileError: the header is unusable (see :func:`map_columns`), or the file has
            no rows.
    """
    columns, ignored = map_columns(table.header)
    if not table.records:
        raise ImportFileError("The file has a header but no rows.")
    return ParsedCsv(
        fields=tuple(name for _, name in columns),
        columns=columns,
        ignored_columns=ignored,
        width=len(table.header),
        records=table.records,
        encoding=table.encoding,
    )


@paused_gc
def parse_csv(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedCsv:
    """Read a CSV file and map its columns: :func:`~.reading.read_csv` then :func:`parse_table`.

    Args:
        data: the file's bytes.
        max_bytes: the largest file accepted.

    Returns:
        The column mapping and the non-blank records, with their line numbers.

    Raises:
        ImportFileError: the file cannot be read, its header is unusable, or it has no rows.
    """
    return parse_table(read_csv(data, max_bytes=max_bytes))
