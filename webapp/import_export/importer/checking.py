"""Stage 2 of an import, checking: every row on its own, with the fields' declarations.

Each cell goes through its field's :meth:`~webapp.fields.base.Field.clean`, the parser,
rules and messages the form uses too. No database access: rules that need the roster
(emails in use, the stored birthday) are :mod:`.planning`'s. Large files are checked in
worker processes, chunk by chunk, while the parent goes on with the chunks already done.
"""

from __future__ import annotations

import functools
import gc
import itertools
import multiprocessing
import os
import re
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from openpyxl.utils import get_column_letter

from webapp.fields.base import FieldError, Parser, parse_iso_date
from webapp.fields.student import ROSTER_ROW
from webapp.import_export.csvformat import FIELDS, TEXT_FIELDS, restore
from webapp.import_export.importer import support
from webapp.import_export.importer.columns import CellSource, ParsedFile, parse_file
from webapp.import_export.importer.support import paused_gc
from webapp.spreadsheets import DateOrder, DateParseError, FileKind, parse_date

#: Fewest rows in a full chunk of checking.
PROGRESS_EVERY = 1_000

#: Fewest rows for which checking in several processes pays for starting them.
PARALLEL_MIN_ROWS = 20_000

#: How a column's cells are checked: ``(source, field, clean, is quoted text)``; the
#: source is a column index or, for a name in parts, the parts' indexes.
CellCheck = tuple[CellSource, str, Callable[[str, date], Any], bool]

#: A date as the form's date input sends it; read by the field's own parser, so that the
#: form and the import give such text the same verdict and message.
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


@dataclass(slots=True)
class ValidRow:
    """One record after field-by-field checking.

    Attributes:
        line: line number of the record in the file.
        values: the valid fields, cleaned (``None`` for a blank cell).
        errors: what is wrong with the row, one message per problem.
        bad_fields: fields whose cell was refused (absent from ``values``).
        label: the student's name as written, for messages and the preview.
    """

    line: int
    values: dict[str, Any]
    errors: list[str]
    bad_fields: set[str]
    label: str


@dataclass(frozen=True)
class ValidatedFile:
    """A parsed file whose rows have been checked on their own.

    Attributes:
        fields: the student fields the file has, in column order.
        unmapped_columns: headers of the columns mapped to no field, listed to the user.
        rows: the checked rows, in file order.
        timings: seconds spent parsing and checking.
        largest_id: the largest id the file names (:func:`largest_id`).
    """

    fields: tuple[str, ...]
    unmapped_columns: tuple[str, ...]
    rows: list[ValidRow]
    timings: dict[str, float]
    largest_id: int = 0


def date_parser(order: DateOrder | None) -> Parser[date]:
    """A date field's parser for a file whose day-and-month dates are in ``order``.

    ``YYYY-MM-DD`` goes to the field's own parser (the form's verdict and message); other
    forms to :func:`webapp.spreadsheets.parse_date` (``14/03/2015``, ``3/14/2015``,
    ``2015-3-14``), whose message follows the field's noun: "The birthday '31/02/2015' is
    not a real date: February 2015 has 28 days."
    """

    def parse(text: str, noun: str) -> date:
        if _ISO_DATE.match(text):
            return parse_iso_date(text, noun)
        try:
            return parse_date(text, order)
        except DateParseError as error:
            raise FieldError(f"The {noun} {error}") from error

    return parse


def cell_checks(
    columns: Iterable[tuple[CellSource, str]],
    date_orders: Mapping[str, DateOrder] | None = None,
    *,
    quoted: bool = True,
) -> list[CellCheck]:
    """How to check each mapped column: its field's ``clean``, and whether it is quoted text.

    Args:
        columns: ``(source, field)`` of the file's mapped columns.
        date_orders: ``{field: order}`` of the date columns (see :func:`date_parser`).
        quoted: whether text cells may carry the export's formula quote (CSV files), which
            :func:`webapp.import_export.csvformat.restore` removes; a workbook's cells are
            exactly what the user typed.
    """
    orders = date_orders or {}
    checks: list[CellCheck] = []
    for source, name in columns:
        field = ROSTER_ROW[name]
        clean: Callable[[str, date], Any] = field.clean
        if field.kind == "date":
            clean = functools.partial(field.clean, parse=date_parser(orders.get(name)))
        checks.append((source, name, clean, quoted and name in TEXT_FIELDS))
    return checks


def file_checks(parsed: ParsedFile) -> list[CellCheck]:
    """:func:`cell_checks` of a parsed file's columns and date orders."""
    return cell_checks(
        parsed.columns, parsed.date_orders, quoted=parsed.source.kind == FileKind.CSV
    )


def joined(cells: Sequence[str], parts: tuple[int, ...]) -> str:
    """The name parts at ``parts`` (first, last), trimmed, joined by one space."""
    return " ".join(part for index in parts if (part := cells[index].strip()))


def validate_cells(
    cells: Sequence[str], checks: Iterable[CellCheck], today: date
) -> tuple[dict[str, Any], list[str], set[str]]:
    """Check one record's cells, field by field, with the fields' declarations.

    Args:
        cells: the record's cells.
        checks: :func:`cell_checks` of the file's columns.
        today: the day rules about the future measure against.

    Returns:
        ``(values, errors, bad_fields)``: the cleaned values by field (``None`` for a
        blank cell), one message per problem, and the fields whose cell was refused.
    """
    values: dict[str, Any] = {}
    errors: list[str] = []
    bad: set[str] = set()
    for source, name, clean, text in checks:
        cell = cells[source] if source.__class__ is int else joined(cells, source)  # type: ignore[arg-type]  # narrowed by the class test (isinstance() is slower)
        try:
            values[name] = clean(restore(cell.strip()) if text else cell, today)
        except FieldError as error:
            errors.append(str(error))
            bad.add(name)
    return values, errors, bad


def fits(cells: Sequence[str], width: int) -> bool:
    """Whether a record has the header's number of cells (trailing empty cells allowed)."""
    return len(cells) == width or (len(cells) > width and not any(c.strip() for c in cells[width:]))


def width_message(cells: Sequence[str], width: int, kind: str) -> str:
    """Why a row that does not :func:`fits` the header is refused."""
    if kind != FileKind.CSV:
        column = len(cells)
        while column > width and not cells[column - 1].strip():
            column -= 1
        return (
            f"The row has a value in column {get_column_letter(column)}, which has no "
            "header; add a header for it or clear it."
        )
    cells_text = "1 cell" if len(cells) == 1 else f"{len(cells)} cells"
    return (
        f"The row has {cells_text} but the header has {width} columns; "
        "check for a missing or extra delimiter."
    )


#: A name read from a file, for messages and the preview: at most this many characters.
LABEL_MAX = 120


def _validate_records(
    records: Sequence[tuple[int, list[str]]], parsed: ParsedFile, today: date
) -> list[ValidRow]:
    """Check ``records`` of ``parsed`` one by one (the loop of :func:`iter_validated`)."""
    checks = file_checks(parsed)
    width, kind = parsed.width, parsed.source.kind
    name_source = next((source for source, name in parsed.columns if name == "name"), None)
    rows: list[ValidRow] = []
    for line, cells in records:
        if not fits(cells, width):
            message = width_message(cells, width, kind)
            rows.append(ValidRow(line, {}, [message], set(FIELDS), ""))
            continue
        values, errors, bad = validate_cells(cells, checks, today)
        label = values.get("name") or ""
        if not label and name_source is not None:
            raw = cells[name_source] if isinstance(name_source, int) else joined(cells, name_source)
            label = raw.strip()[:LABEL_MAX]
        rows.append(ValidRow(line, values, errors, bad, label))
    return rows


#: The file a worker process checks (set by :func:`_start_worker`).
_worker_file: ParsedFile | None = None


def _start_worker(parsed: ParsedFile) -> None:
    """Pool initializer: keep the file in the worker (inherited by fork, never pickled)."""
    global _worker_file
    _worker_file = parsed
    os.nice(10)


def _validate_span(span: tuple[int, int, date]) -> tuple[list[tuple[Any, ...]], float]:
    """Check records ``start:stop`` of the worker's file; rows as plain tuples.

    Tuples, because they pickle back to the parent faster than :class:`ValidRow` objects
    (``bench/results/import-export-design.md``). Also returns the seconds the checking
    took.
    """
    if _worker_file is None:
        raise RuntimeError("_validate_span runs in a worker started by _start_worker")
    start, stop, today = span
    records = _worker_file.records
    assert isinstance(records, list)  # a streamed file's records are sent in the tasks
    return _validate_chunk((records[start:stop], today))


def _validate_chunk(
    task: tuple[Sequence[tuple[int, list[str]]], date],
) -> tuple[list[tuple[Any, ...]], float]:
    """Check the records a task carries, of the worker's file; as :func:`_validate_span`."""
    if _worker_file is None:
        raise RuntimeError("_validate_chunk runs in a worker started by _start_worker")
    started = time.perf_counter()
    records, today = task
    gc.disable()  # as paused_gc does (forked from a paused_gc caller, it is off already)
    rows = _validate_records(records, _worker_file, today)
    plain = [(row.line, row.values, row.errors, row.bad_fields, row.label) for row in rows]
    return plain, time.perf_counter() - started


def _cut(
    records: Iterable[tuple[int, list[str]]], sizes: Iterable[int]
) -> Iterator[list[tuple[int, list[str]]]]:
    """``records`` in consecutive lists of ``sizes`` (the chunks of :func:`spans`)."""
    iterator = iter(records)
    for size in sizes:
        chunk = list(itertools.islice(iterator, size))
        if not chunk:
            return
        yield chunk


def spans(count: int, jobs: int) -> list[tuple[int, int]]:
    """Split ``count`` rows into ``(start, stop)`` chunks for :func:`iter_validated`.

    Full chunks hold from :data:`PROGRESS_EVERY` to :data:`WRITE_BATCH_SIZE` rows, with
    several chunks per process so that the work evens out. The first chunks are smaller,
    doubling up to the full size, so that a streamed import gets its first rows to write
    early instead of waiting for a whole chunk.
    """
    size = max(PROGRESS_EVERY, min(support.WRITE_BATCH_SIZE, -(-count // (jobs * 4))))
    step = max(size // 16, 1)
    result = []
    start = 0
    while start < count:
        stop = min(start + step, count)
        result.append((start, stop))
        start = stop
        step = min(step * 2, size)
    return result


def validation_processes(parsed: ParsedFile, jobs: int) -> int:
    """How many processes :func:`iter_validated` checks ``parsed`` in, given ``jobs``.

    Returns:
        ``jobs`` for a file of at least :data:`PARALLEL_MIN_ROWS` rows where worker
        processes can be forked, else 1.
    """
    if (
        jobs > 1
        and len(parsed.records) >= PARALLEL_MIN_ROWS
        and "fork" in multiprocessing.get_all_start_methods()
    ):
        return jobs
    return 1


def iter_validated(
    parsed: ParsedFile, *, today: date | None = None, jobs: int = 1
) -> Generator[tuple[list[ValidRow], float]]:
    """Check the records of ``parsed`` chunk by chunk, yielding each chunk in file order.

    With ``jobs`` above 1 a file of at least :data:`PARALLEL_MIN_ROWS` rows is checked by
    that many forked worker processes (where ``fork`` exists), which run ahead of the
    consumer. Start the iteration before opening a database connection, since the
    workers are forked at the first ``next()``. Closing the generator stops them.

    Args:
        parsed: the output of :func:`~.columns.parse_file` or :func:`~.columns.map_table`.
        today: the day rules about the future measure against; the real today by default.
        jobs: how many processes may check rows.

    Yields:
        ``(rows, seconds)``: the checked rows of one chunk, and the time spent checking
        them (in whichever process checked them).
    """
    today = today or date.today()
    records = parsed.records
    chunk_spans = [(start, stop, today) for start, stop in spans(len(records), jobs)]
    if not isinstance(records, list):
        yield from _iter_streamed(
            parsed, [stop - start for start, stop, _ in chunk_spans], today, jobs
        )
        return
    if validation_processes(parsed, jobs) > 1:
        context = multiprocessing.get_context("fork")
        with context.Pool(jobs, initializer=_start_worker, initargs=(parsed,)) as pool:
            for plain, seconds in pool.imap(_validate_span, chunk_spans):
                yield [ValidRow(*row) for row in plain], seconds
        return
    for start, stop, _ in chunk_spans:
        started = time.perf_counter()
        part = _validate_records(records[start:stop], parsed, today)
        yield part, time.perf_counter() - started


#: Chunks a worker process may have checked or be checking ahead of the consumer, per
#: process, in a streamed file: bounds the rows in memory (see :func:`_iter_streamed`).
AHEAD_PER_PROCESS = 2


def _iter_streamed(
    parsed: ParsedFile, sizes: list[int], today: date, jobs: int
) -> Generator[tuple[list[ValidRow], float]]:
    """:func:`iter_validated` of records that are read as they are iterated.

    The records are read in this process, a chunk at a time; worker processes (when
    :func:`validation_processes` says so) get each chunk in their task, and at most
    :data:`AHEAD_PER_PROCESS` chunks per process are read ahead of the consumer, so memory
    holds a few chunks whatever the file's size.
    """
    chunks = _cut(parsed.records, sizes)
    if validation_processes(parsed, jobs) > 1:
        context = multiprocessing.get_context("fork")
        with context.Pool(jobs, initializer=_start_worker, initargs=(parsed,)) as pool:
            pending: deque[Any] = deque()
            for chunk in chunks:
                pending.append(pool.apply_async(_validate_chunk, ((chunk, today),)))
                del chunk
                if len(pending) >= jobs * AHEAD_PER_PROCESS:
                    plain, seconds = pending.popleft().get()
                    yield [ValidRow(*row) for row in plain], seconds
            while pending:
                plain, seconds = pending.popleft().get()
                yield [ValidRow(*row) for row in plain], seconds
        return
    for chunk in chunks:
        started = time.perf_counter()
        part = _validate_records(chunk, parsed, today)
        del chunk
        yield part, time.perf_counter() - started


def largest_id(parsed: ParsedFile) -> int:
    """The largest student id the file's id column names, or 0.

    New students without an id in the file get ids above it, so that an id a later row
    gives can never be taken by an earlier new student, whether that row is imported now
    or after the user fixes it. Rows with the wrong number of cells do not count.

    Args:
        parsed: the output of :func:`~.columns.parse_file` or :func:`~.columns.map_table`.

    Returns:
        The id, or 0 when the file has no id column or no valid id.
    """
    index = next((source for source, name in parsed.columns if name == "id"), None)
    if not isinstance(index, int):
        return 0
    clean = ROSTER_ROW["id"].clean
    largest = 0
    for _, cells in parsed.records:
        if fits(cells, parsed.width):
            try:
                largest = max(largest, clean(cells[index], date.min) or 0)
            except FieldError:  # an error row names no id
                continue
    return largest


@paused_gc
def validate_rows(parsed: ParsedFile, *, today: date | None = None, jobs: int = 1) -> ValidatedFile:
    """Check every record of ``parsed`` on its own (no database access).

    Args:
        parsed: the output of :func:`~.columns.parse_file` or :func:`~.columns.map_table`.
        today: the day rules about the future measure against; the real today by default.
        jobs: how many processes may check rows (see :func:`iter_validated`).

    Returns:
        The checked rows, in file order, with the time it took.
    """
    started = time.perf_counter()
    rows: list[ValidRow] = []
    for part, _ in iter_validated(parsed, today=today, jobs=jobs):
        rows.extend(part)
    return ValidatedFile(
        fields=parsed.fields,
        unmapped_columns=tuple(parsed.unmapped_columns),
        rows=rows,
        timings={"validate": time.perf_counter() - started},
        largest_id=largest_id(parsed),
    )


def read_and_validate(data: bytes, filename: str = "import.csv", **options: Any) -> ValidatedFile:
    """:func:`~.columns.parse_file` then :func:`validate_rows` in this process, timing both.

    Args:
        data: the file's bytes.
        filename: its name on the user's computer.
        **options: passed to :func:`~.columns.parse_file` (``limits``, ``overrides``,
            ``date_orders``...).

    Returns:
        The checked file, with ``parse`` and ``validate`` timings.

    Raises:
        ImportFileError: the file as a whole cannot be imported.
    """
    started = time.perf_counter()
    parsed = parse_file(data, filename, **options)
    parse_seconds = time.perf_counter() - started
    validated = validate_rows(parsed)
    validated.timings["parse"] = parse_seconds
    return validated
