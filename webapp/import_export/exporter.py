"""Export of the roster as CSV or ``.xlsx``, shared by the pages and ``flask students export``.

The export is exactly what the roster shows for the same search, grade and status filters
and sort (:func:`webapp.students.roster.roster_statement`), every page of it: each
student's fields and the current school year's grade and status. It streams: rows
are fetched :data:`BATCH_SIZE` at a time (``yield_per``: a server-side cursor on
PostgreSQL, ``fetchmany`` on SQLite) and each batch is written out as CSV before the next
is read, so memory stays flat however large the table.

Text cells that a spreadsheet would run as a formula are neutralised
(:func:`webapp.import_export.csvformat.neutralise`); the importer undoes it, so an exported
file imports back unchanged.

The ``.xlsx`` export (:func:`write_xlsx`) has the same rows and columns, written by
openpyxl's write-only workbook (:func:`webapp.spreadsheets.write_xlsx`): dates are real
dates, text is text (never a formula, so no quote is added), and memory stays flat.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import date
from typing import IO, Any, TextIO

from sqlalchemy import Select, String, func, type_coerce

from webapp.extensions import db
from webapp.fields.base import Kind
from webapp.fields.enrollment import ENROLLMENT
from webapp.fields.student import ROSTER_ROW
from webapp.import_export.csvformat import FIELDS, TEXT_FIELDS, neutralise
from webapp.models import Enrollment, Student, User
from webapp.spreadsheets import write_xlsx as write_workbook
from webapp.students.roster import roster_statement
from webapp.students.roster_query import RosterQuery

#: Rows fetched and written per batch.
BATCH_SIZE = 2_000

#: Byte order mark written first when asked for: Excel then reads the file as UTF-8.
BOM = "\ufeff"

#: The exported columns: every declared student field, in order. Dates are read as the
#: database returns them: SQLite stores ISO text, written out as it is (parsing it into
#: ``date`` objects and formatting them back took a third of the export's time, see
#: ``bench/results/import-export-design.md``); PostgreSQL's driver returns ``date``
#: objects, which the CSV writer formats as ISO text too.
_COLUMNS = tuple(
    type_coerce(column, String).label(field.name) if field.kind is Kind.DATE else column
    for field in ROSTER_ROW
    for column in [getattr(Enrollment if field.name in ENROLLMENT.by_name else Student, field.name)]
)

#: Positions of the text columns, whose cells :func:`neutralise` may change.
_TEXT_INDEXES = tuple(index for index, name in enumerate(FIELDS) if name in TEXT_FIELDS)

#: First characters of the text cells that :func:`neutralise` may change.
_RISKY_START = frozenset("'=+-@\t\r")


def export_statement(
    query: RosterQuery,
    viewer: User | None = None,
    *,
    year_id: int | None = None,
    student_ids: Collection[int] | None = None,
) -> Select[Any]:
    """The roster's SELECT for ``query`` (all pages), reading only the exported columns.

    Args:
        query: the roster's search, filters and sort (its page and page size are ignored).
        viewer: the account exporting (the roster's scope); ``None`` for the command line.
        year_id: the school year whose grade and status are exported; the current one by
            default.
        student_ids: only these students (the roster's selection); all when ``None``.

    Returns:
        A SELECT of the declared columns (``id, name, email, grade, ...``) in roster order.
    """
    statement = roster_statement(query, viewer, year_id=year_id)
    if student_ids is not None:
        statement = statement.where(Student.id.in_(list(student_ids)))
    return statement.with_only_columns(*_COLUMNS)


def count_rows(query: RosterQuery, viewer: User | None = None) -> int:
    """How many students the export of ``query`` holds.

    Args:
        query: the roster's search, filters and sort.
        viewer: the account exporting.

    Returns:
        The number of rows.
    """
    statement = (
        roster_statement(query, viewer).order_by(None).with_only_columns(func.count(Student.id))
    )
    return db.session.execute(statement).scalar_one()


def _safe_rows(rows: Sequence[Any]) -> list[Sequence[Any]]:
    """A batch of rows with their text cells neutralised (blanks stay empty)."""
    safe: list[Sequence[Any]] = []
    append, text_indexes, risky = safe.append, _TEXT_INDEXES, _RISKY_START
    for row in rows:
        for index in text_indexes:
            cell = row[index]
            if cell and cell[0] in risky:
                row = tuple(
                    neutralise(value) if position in text_indexes and value else value
                    for position, value in enumerate(row)
                )
                break
        append(row)
    return safe


def _batches(
    query: RosterQuery,
    batch_size: int,
    viewer: User | None = None,
    student_ids: Collection[int] | None = None,
) -> Iterator[Sequence[Any]]:
    """The export's rows, ``batch_size`` at a time, from one streamed SELECT.

    Executed on the session's connection (Core rows, no ORM loading); ``yield_per``
    fetches in batches (a server-side cursor on PostgreSQL).
    """
    return _rows_of(export_statement(query, viewer, student_ids=student_ids), batch_size)


def _rows_of(statement: Select[Any], batch_size: int) -> Iterator[Sequence[Any]]:
    statement = statement.execution_options(yield_per=batch_size)
    result = db.session.connection().execute(statement)
    try:
        yield from result.partitions()
    finally:
        result.close()


def iter_csv(
    query: RosterQuery,
    *,
    bom: bool = False,
    batch_size: int = BATCH_SIZE,
    viewer: User | None = None,
    student_ids: Collection[int] | None = None,
) -> Iterator[str]:
    """The export of ``query`` as CSV text, one chunk per batch of rows.

    Args:
        query: the roster's search, filter and sort.
        bom: start with a UTF-8 byte order mark (for Excel).
        batch_size: rows fetched and written per chunk.
        viewer: the account exporting (the roster's scope).
        student_ids: only these students (the roster's selection); all when ``None``.

    Returns:
        An iterator of the header line first (after the BOM, if any), then the rows of
        each batch, with RFC 4180 line endings (CRLF). The SELECT, with ``viewer``'s scope,
        is built by this call, inside the request; the rows are read as the iterator is
        consumed (a streamed response may consume it after the request's session has
        expired or let go of ``viewer``).
    """
    statement = export_statement(query, viewer, student_ids=student_ids)
    return _csv_chunks(statement, bom, batch_size)


def _csv_chunks(statement: Select[Any], bom: bool, batch_size: int) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(FIELDS)
    yield (BOM if bom else "") + buffer.getvalue()
    for rows in _rows_of(statement, batch_size):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(_safe_rows(rows))
        yield buffer.getvalue()


def write_csv(
    query: RosterQuery,
    stream: TextIO,
    *,
    bom: bool = False,
    progress: Callable[[int], Any] | None = None,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Write the export of ``query`` to ``stream``, batch by batch.

    Args:
        query: the roster's search, filter and sort.
        stream: a text stream opened with ``newline=""`` (the CSV writer ends lines).
        bom: start with a UTF-8 byte order mark.
        progress: called with the number of rows after each batch.
        batch_size: rows fetched and written per batch.

    Returns:
        The number of students written.
    """
    writer = csv.writer(stream)
    if bom:
        stream.write(BOM)
    writer.writerow(FIELDS)
    written = 0
    for rows in _batches(query, batch_size):
        writer.writerows(_safe_rows(rows))
        written += len(rows)
        if progress:
            progress(len(rows))
    return written


#: Positions of the date columns, which the ``.xlsx`` export writes as dates.
_DATE_INDEXES = tuple(index for index, field in enumerate(ROSTER_ROW) if field.kind is Kind.DATE)


def _as_date(value: Any) -> date | None:
    """A date column's value as a ``date`` (SQLite's ISO text is read as such)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _typed_rows(
    query: RosterQuery, batch_size: int, viewer: User | None = None
) -> Iterator[list[Any]]:
    """The export's rows with dates as ``date`` objects, batch by batch."""
    indexes = _DATE_INDEXES
    for rows in _batches(query, batch_size, viewer):
        for row in rows:
            values = list(row)
            for index in indexes:
                values[index] = _as_date(values[index])
            yield values


def write_xlsx(
    query: RosterQuery,
    out: IO[bytes],
    *,
    progress: Callable[[int], Any] | None = None,
    batch_size: int = BATCH_SIZE,
    viewer: User | None = None,
) -> int:
    """Write the export of ``query`` as an ``.xlsx`` workbook of one sheet, "Students".

    The rows and columns are the CSV export's; dates are Excel dates formatted
    ``yyyy-mm-dd``; no cell is a formula. openpyxl writes the sheet to a temporary file
    as rows come, then zips it into ``out`` at the end.

    Args:
        query: the roster's search, filter and sort.
        out: a binary file open for writing.
        progress: called with the number of rows every ``batch_size`` rows.
        batch_size: rows fetched per batch.
        viewer: the account exporting (the roster's scope); ``None`` for the command line.

    Returns:
        The number of students written.
    """

    def rows() -> Iterator[list[Any]]:
        count = 0
        for row in _typed_rows(query, batch_size, viewer):
            yield row
            count += 1
            if progress and count % batch_size == 0:
                progress(batch_size)
        if progress and count % batch_size:
            progress(count % batch_size)

    return write_workbook(out, FIELDS, rows())


#: The media type of an ``.xlsx`` file (ECMA-376).
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_filename(query: RosterQuery, today: date | None = None, extension: str = "csv") -> str:
    """The download's file name: ``students-2026-11-22.csv``, with the grade if filtered.

    Args:
        query: the roster's search, filter and sort.
        today: the date in the name; the real today by default.
        extension: ``csv`` or ``xlsx``.

    Returns:
        A file name safe in a ``Content-Disposition`` header.
    """
    day = (today or date.today()).isoformat()
    grade = f"-grade-{query.grade}" if query.grade is not None else ""
    return f"students{grade}-{day}.{extension}"
