"""Stage 2 of an import, checking: every row on its own, with the fields' declarations.

Each cell goes through its field's :meth:`~webapp.fields.base.Field.clean`, the parser,
rules and messages the form uses too. No database access: rules that need the roster
(emails in use, the stored birthday) are :mod:`.planning`'s. Large files are checked in
worker processes, chunk by chunk, while the parent goes on with the chunks already done.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from webapp.fields.base import FieldError
from webapp.fields.student import ROSTER_ROW
from webapp.import_export.csvformat import FIELDS, TEXT_FIELDS, restore
from webapp.import_export.importer import support
from webapp.import_export.importer.columns import ParsedCsv, parse_csv
from webapp.import_export.importer.reading import DEFAULT_MAX_BYTES
from webapp.import_export.importer.support import paused_gc

#: Fewest rows in a full chunk of checking.
PROGRESS_EVERY = 1_000

#: Fewest rows for which checking in several processes pays for starting them.
PARALLEL_MIN_ROWS = 20_000

#: How a column's cells are checked: ``(column index, field, clean, is text)``.
CellCheck = tuple[int, str, Callable[[str, date], Any], bool]


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
        ignored_columns: unknown header names, reported and ignored.
        rows: the checked rows, in file order.
        timings: seconds spent parsing and checking.
        largest_id: the largest id the file names (:func:`largest_id`).
    """

    fields: tuple[str, ...]
    ignored_columns: tuple[str, ...]
    rows: list[ValidRow]
    timings: dict[str, float]
    largest_id: int = 0


def cell_checks(columns: Iterable[tuple[int, str]]) -> list[CellCheck]:
    """How to check each mapped column: its field's ``clean``, and whether it is text.

    Text cells are un-neutralised first (:func:`webapp.import_export.csvformat.restore`).
    """
    return [(index, name, ROSTER_ROW[name].clean, name in TEXT_FIELDS) for index, name in columns]


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
    for index, name, clean, text in checks:
        cell = cells[index]
        try:
            values[name] = clean(restore(cell.strip()) if text else cell, today)
        except FieldError as error:
            errors.append(str(error))
            bad.add(name)
    return values, errors, bad


def fits(cells: Sequence[str], width: int) -> bool:
    """Whether a record has the header's number of cells (trailing empty cells allowed)."""
    return len(cells) == width or (len(cells) > width and not any(c.strip() for c in cells[width:]))


def _validate_records(
    records: Sequence[tuple[int, list[str]]],
    columns: tuple[tuple[int, str], ...],
    width: int,
    today: date,
) -> list[ValidRow]:
    """Check ``records`` one by one (the loop of :func:`iter_validated`)."""
    checks = cell_checks(columns)
    name_index = next((index for index, name in columns if name == "name"), None)
    rows: list[ValidRow] = []
    for line, cells in records:
        if not fits(cells, width):
            cells_text = "1 cell" if len(cells) == 1 else f"{len(cells)} cells"
            message = (
                f"The row has {cells_text} but the header has {width} columns; "
                "check for a missing or extra comma."
            )
            rows.append(ValidRow(line, {}, [message], set(FIELDS), ""))
            continue
        values, errors, bad = validate_cells(cells, checks, today)
        label = values.get("name") or (cells[name_index].strip() if name_index is not None else "")
        rows.append(ValidRow(line, values, errors, bad, label))
    return rows


#: The file a worker process checks (set by :func:`_start_worker`).
_worker_file: ParsedCsv | None = None


def _start_worker(parsed: ParsedCsv) -> None:
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
    started = time.perf_counter()
    start, stop, today = span
    gc.disable()  # as paused_gc does (forked from a paused_gc caller, it is off already)
    rows = _validate_records(
        _worker_file.records[start:stop], _worker_file.columns, _worker_file.width, today
    )
    plain = [(row.line, row.values, row.errors, row.bad_fields, row.label) for row in rows]
    return plain, time.perf_counter() - started


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


def validation_processes(parsed: ParsedCsv, jobs: int) -> int:
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
    parsed: ParsedCsv, *, today: date | None = None, jobs: int = 1
) -> Generator[tuple[list[ValidRow], float]]:
    """Check the records of ``parsed`` chunk by chunk, yielding each chunk in file order.

    With ``jobs`` above 1 a file of at least :data:`PARALLEL_MIN_ROWS` rows is checked by
    that many forked worker processes (where ``fork`` exists), which run ahead of the
    consumer. Start the iteration before opening a database connection, since the
    workers are forked at the first ``next()``. Closing the generator stops them.

    Args:
        parsed: the output of :func:`~.columns.parse_csv`.
        today: the day rules about the future measure against; the real today by default.
        jobs: how many processes may check rows.

    Yields:
        ``(rows, seconds)``: the checked rows of one chunk, and the time spent checking
        them (in whichever process checked them).
    """
    today = today or date.today()
    records, columns, width = parsed.records, parsed.columns, parsed.width
    chunk_spans = [(start, stop, today) for start, stop in spans(len(records), jobs)]
    if validation_processes(parsed, jobs) > 1:
        context = multiprocessing.get_context("fork")
        with context.Pool(jobs, initializer=_start_worker, initargs=(parsed,)) as pool:
            for plain, seconds in pool.imap(_validate_span, chunk_spans):
                yield [ValidRow(*row) for row in plain], seconds
        return
    for start, stop, _ in chunk_spans:
        started = time.perf_counter()
        part = _validate_records(records[start:stop], columns, width, today)
        yield part, time.perf_counter() - started


def largest_id(parsed: ParsedCsv) -> int:
    """The largest student id the file's id column names, or 0.

    New students without an id in the file get ids above it, so that an id a later row
    gives can never be taken by an earlier new student, whether that row is imported now
    or after the user fixes it. Rows with the wrong number of cells do not count.

    Args:
        parsed: the output of :func:`~.columns.parse_csv`.

    Returns:
        The id, or 0 when the file has no id column or no valid id.
    """
    index = next((index for index, name in parsed.columns if name == "id"), None)
    if index is None:
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
def validate_rows(parsed: ParsedCsv, *, today: date | None = None, jobs: int = 1) -> ValidatedFile:
    """Check every record of ``parsed`` on its own (no database access).

    Args:
        parsed: the output of :func:`~.columns.parse_csv`.
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
        ignored_columns=parsed.ignored_columns,
        rows=rows,
        timings={"validate": time.perf_counter() - started},
        largest_id=largest_id(parsed),
    )


def read_and_validate(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ValidatedFile:
    """:func:`~.columns.parse_csv` then :func:`validate_rows` in this process, timing both.

    Args:
        data: the file's bytes.
        max_bytes: the largest file accepted.

    Returns:
        The checked file, with ``parse`` and ``validate`` timings.

    Raises:
        ImportFileError: the file as a whole cannot be imported.
    """
    started = time.perf_counter()
    parsed = parse_csv(data, max_bytes=max_bytes)
    parse_seconds = time.perf_counter() - started
    validated = validate_rows(parsed)
    validated.timings["parse"] = parse_seconds
    return validated
