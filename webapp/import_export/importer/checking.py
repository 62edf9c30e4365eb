"""Stage 2 of an import, checking: every row on its own, with the fields' declarations.

Each cell goes through its field's :meth:`~webapp.fields.base.Field.clean`, the parser,
rules and messages the form uses too (one record's checks are :mod:`.row_checks`'). No
database access: rules that need the roster (emails in use, the stored birthday) are
:mod:`.planning`'s. Large files are checked in worker processes, chunk by chunk, while
the parent goes on with the chunks already done; this module holds that and the file's
results (:class:`ValidatedFile`).
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from webapp.fields.base import FieldError
from webapp.fields.student import ROSTER_ROW
from webapp.import_export.importer import support
from webapp.import_export.importer.columns import ParsedFile, parse_file
from webapp.import_export.importer.row_checks import ValidRow, fits, validate_records
from webapp.import_export.importer.support import paused_gc

#: Fewest rows in a full chunk of checking.
PROGRESS_EVERY = 1_000

#: Fewest rows for which checking in several processes pays for starting them.
PARALLEL_MIN_ROWS = 20_000


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
    rows = validate_records(records, _worker_file, today)
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
        part = validate_records(records[start:stop], parsed, today)
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
        part = validate_records(chunk, parsed, today)
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
