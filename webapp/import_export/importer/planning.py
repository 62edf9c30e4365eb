"""CSV import of students, shared by the upload views and ``flask students import``.

An import runs in four steps:

1. :func:`parse_csv` decodes the bytes (UTF-8, with or without BOM), reads the header and
   splits the records. Problems that make the whole file unusable (empty, not UTF-8, no
   header, the wrong delimiter, too large) raise :class:`ImportFileError`.
2. :func:`iter_validated` checks every row on its own with the form's rules
   (:mod:`webapp.students.rules`), chunk by chunk, in worker processes when asked. No
   database access.
3. A :class:`Planner` matches the rows against the roster with a few set-based queries
   and decides, row by row: create, update (with the changed fields), unchanged or error.
   The session semantics follow the SQLAlchemy tutorial's verbs: a row with an ``id`` is
   *merged* into that student (updated, or created with that id when the id is free); a
   row without ``id`` whose email matches a student (ignoring case) updates that student;
   any other row is *added* as a new student.
4. A :class:`PlanWriter` writes the valid rows, and one audit event per changed student,
   in the transaction: ``INSERT`` and ``UPDATE`` statements executed with many parameter
   sets, in batches, never one flush per row.

The web flow runs the steps one after the other, over the whole file, and stops after
step 3 for the preview (:func:`read_and_validate`, :func:`plan_import`, then
:func:`apply_plan` on confirm). The command line streams them (:func:`run_import`): it
matches and writes each chunk while worker processes check the next ones, in one
transaction, with the same plans and the same writes.

Only the columns present in the file are written on update; a blank cell clears an
optional field (email, birthday) and is an error for a required one (name, grade). A
blank enrollment date means "today" for a new student and "keep" for an existing one.

Speed (``bench/import_export.py``): the steps hold a few objects per cell, so they pause
the cyclic garbage collector (:func:`paused_gc`); inserts bypass SQLAlchemy's per-row
parameter handling (:func:`_bulk_insert`) but not its type conversions.
"""

from __future__ import annotations

import csv
import functools
import gc
import hashlib
import io
import multiprocessing
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from itertools import repeat
from typing import Any, ParamSpec, TypeVar

from flask import current_app
from sqlalchemy import Table, bindparam, func, insert, inspect, literal, select, text, update
from sqlalchemy.exc import IntegrityError

from webapp.audit import trail
from webapp.database import begin_write
from webapp.extensions import db
from webapp.models import Action as AuditAction
from webapp.models import AuditEvent, Student
from webapp.models.student import GRADE_MAX, GRADE_MIN, NAME_MAX_LENGTH
from webapp.models.types import MAX_ID, utcnow
from webapp.students import rules
from webapp.transfer.csvformat import FIELDS, HEADER_ALIASES, normalise_header, restore

#: Default largest file accepted, in bytes (``IMPORT_MAX_BYTES`` in the app config).
#: About 130,000 rows of typical student data.
DEFAULT_MAX_BYTES = 10_000_000

#: Parameter sets per INSERT/UPDATE executemany: amortises round trips, keeps memory flat.
WRITE_BATCH_SIZE = 5_000

#: Values per ``IN (...)`` lookup; well under SQLite's and PostgreSQL's parameter limits.
LOOKUP_BATCH_SIZE = 1_000

#: Fewest rows in a full chunk of validation (and between two progress reports).
PROGRESS_EVERY = 1_000

#: Fewest rows for which validating in several processes pays for starting them.
PARALLEL_MIN_ROWS = 20_000

#: Fields written to the table (``id`` only identifies the row).
WRITABLE_FIELDS: tuple[str, ...] = tuple(name for name in FIELDS if name != "id")

#: How the file's fields are called in messages.
FIELD_LABELS: dict[str, str] = {
    "id": "id",
    "name": "name",
    "email": "email",
    "grade": "grade",
    "birthday": "birthday",
    "enrolled_on": "enrollment date",
}

#: The form's message for a blank grade (``webapp.students.forms``).
GRADE_REQUIRED_MESSAGE = f"Enter a grade from {GRADE_MIN} to {GRADE_MAX}."

P = ParamSpec("P")
R = TypeVar("R")

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}
#: Longest piece of a bad value quoted back in a message.
_QUOTE_MAX = 40


def paused_gc(function: Callable[P, R]) -> Callable[P, R]:
    """Decorate a bulk step so that Python's cyclic garbage collector pauses during it.

    An import holds a few objects per cell of the file; with the collector running, the
    allocations trigger full collections over all of them again and again, which took a
    third of a 100,000-row import. The import makes no reference cycles, so reference
    counting frees everything anyway. Re-entrant: the collector is turned back on only by
    the call that turned it off.
    """

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return wrapper


class Action(StrEnum):
    """What the import does with one row."""

    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    ERROR = "error"


class ImportFileError(ValueError):
    """The file as a whole cannot be imported; the message says why, for office staff."""


class ImportConflictError(Exception):
    """The database refused the import (another change got in first); nothing was written."""


@dataclass(frozen=True)
class ParsedCsv:
    """A decoded CSV file: which column holds which field, and the records.

    Attributes:
        fields: the student fields the file has, in column order.
        columns: ``(column index, field)`` for each of ``fields``.
        ignored_columns: header names that are not student fields, as written.
        width: number of header cells.
        records: ``(line number, cells)`` of each non-blank record after the header; the
            line is where the record starts (a quoted cell may span lines).
    """

    fields: tuple[str, ...]
    columns: tuple[tuple[int, str], ...]
    ignored_columns: tuple[str, ...]
    width: int
    records: list[tuple[int, list[str]]]


@dataclass(slots=True)
class ValidRow:
    """One record after field-by-field validation.

    Attributes:
        line: line number of the record in the file.
        values: the valid fields, parsed and cleaned (``None`` for a blank optional cell).
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
    """A parsed file whose rows have been validated on their own.

    Attributes:
        fields: the student fields the file has, in column order.
        ignored_columns: unknown header names, reported and ignored.
        rows: the validated rows, in file order.
        timings: seconds spent parsing and validating.
        largest_id: the largest id the file names (:func:`largest_id`).
    """

    fields: tuple[str, ...]
    ignored_columns: tuple[str, ...]
    rows: list[ValidRow]
    timings: dict[str, float]
    largest_id: int = 0


@dataclass(frozen=True, slots=True)
class Change:
    """One field that an update changes."""

    field: str
    old: Any
    new: Any


@dataclass(slots=True)
class RowPlan:
    """What the import does with one row, and why.

    Attributes:
        line: line number in the file.
        action: create, update, unchanged or error.
        student_id: the student updated or left unchanged, the id a merge creates, or
            the student an erroneous row refers to; ``None`` for a plain create.
        name: the student's name, for display.
        changes: the fields an update changes, old and new values.
        errors: what is wrong with an erroneous row.
        values: what to write for a create or an update (``None`` otherwise).
        before: for an update, the student's stored fields as the plan read them.
    """

    line: int
    action: Action
    student_id: int | None
    name: str
    changes: tuple[Change, ...] = ()
    errors: tuple[str, ...] = ()
    values: dict[str, Any] | None = None
    before: dict[str, Any] | None = None


@dataclass
class ImportPlan:
    """The decision for every row of a file, against the roster as it was read.

    Attributes:
        fields: the student fields the file has.
        ignored_columns: unknown header names, ignored.
        rows: one plan per row, in file order.
        timings: seconds spent per step so far (parse, validate, match).
        largest_id: the largest id the file names (:func:`largest_id`).
    """

    fields: tuple[str, ...]
    ignored_columns: tuple[str, ...]
    rows: list[RowPlan]
    timings: dict[str, float] = field(default_factory=dict)
    largest_id: int = 0

    @property
    def counts(self) -> dict[Action, int]:
        """Rows per action, every action present (zero when none)."""
        counter = Counter(row.action for row in self.rows)
        return {action: counter.get(action, 0) for action in Action}

    def digest(self) -> str:
        """A fingerprint of every decision, to notice when the roster changed meanwhile.

        Returns:
            A hex SHA-256 over each row's line, action, student and changes or errors.
        """
        hasher = hashlib.sha256()
        for row in self.rows:
            changes = [(change.field, _display(change.new)) for change in row.changes]
            hasher.update(repr((row.line, row.action.value, row.student_id, changes)).encode())
            hasher.update(repr(row.errors).encode())
        return hasher.hexdigest()


@dataclass(frozen=True)
class ImportResult:
    """What an applied import did.

    Attributes:
        created: students added (when ``written`` is false: that the import would add).
        updated: students changed (when ``written`` is false: that it would change).
        unchanged: rows that matched a student and changed nothing.
        errors: rows with errors, not imported.
        written: whether anything was committed (``False`` on a dry run, and when
            all-or-nothing was asked for and some row had an error).
        timings: seconds per step: parse, validate, match, write, and ``audit``, the
            part of write spent on the audit events.
    """

    created: int
    updated: int
    unchanged: int
    errors: int
    written: bool
    timings: dict[str, float]

    @classmethod
    def from_counts(
        cls, counts: Mapping[Action, int], *, written: bool, timings: dict[str, float]
    ) -> ImportResult:
        """The result of a plan with ``counts`` rows per action.

        Args:
            counts: rows per action (absent actions count 0).
            written: whether anything was committed.
            timings: seconds per step.

        Returns:
            The result.
        """
        return cls(
            created=counts.get(Action.CREATE, 0),
            updated=counts.get(Action.UPDATE, 0),
            unchanged=counts.get(Action.UNCHANGED, 0),
            errors=counts.get(Action.ERROR, 0),
            written=written,
            timings=timings,
        )


# --- 1. parse --------------------------------------------------------------------------


def configured_max_bytes() -> int:
    """The largest file the current app imports (``IMPORT_MAX_BYTES``, 10 MB by default)."""
    return int(current_app.config.get("IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


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


def _quote(value: str) -> str:
    """``value`` shortened for a message, in single quotes."""
    if len(value) > _QUOTE_MAX:
        value = value[: _QUOTE_MAX - 1] + "…"
    return f"'{value}'"


def _decode(data: bytes) -> str:
    """Decode UTF-8 with or without BOM, explaining where the file is not UTF-8."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFileError(
            "The file is UTF-16 text (Excel's “Unicode Text”). Save it as “CSV UTF-8 "
            "(comma delimited)” and try again."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ImportFileError(
            f"The file is not UTF-8 text: line {line} has a byte (0x{data[error.start]:02X}) "
            "that UTF-8 does not allow. Save it as “CSV UTF-8 (comma delimited)” and try again."
        ) from error


def _wrong_separator(header: list[str]) -> str | None:
    """Name the separator of a one-column header that another separator would split."""
    if len(header) != 1:
        return None
    for separator, name in _SEPARATORS.items():
        parts = header[0].split(separator)
        if len(parts) > 1 and any(normalise_header(part) in HEADER_ALIASES for part in parts):
            return name
    return None


def _read_header(header: list[str]) -> tuple[tuple[tuple[int, str], ...], tuple[str, ...]]:
    """Map header cells to fields; return ``(columns, ignored names)``."""
    columns: list[tuple[int, str]] = []
    ignored: list[str] = []
    seen: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = HEADER_ALIASES.get(normalise_header(cell))
        if name is None:
            ignored.append(cell.strip() or f"(column {index + 1} has no name)")
        elif name in seen:
            raise ImportFileError(
                f"The header has two {FIELD_LABELS[name]} columns "
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
        found = ", ".join(_quote(cell) for cell in header[:6])
        raise ImportFileError(
            "The first line must be a header naming the columns, for example "
            f"“{','.join(FIELDS)}”. It has {found}."
        )
    fields = {name for _, name in columns}
    if not fields & {"id", "email"} and not {"name", "grade"} <= fields:
        missing = " and ".join(sorted({"name", "grade"} - fields))
        raise ImportFileError(
            "Without an id or email column every row adds a new student, who needs a name "
            f"and a grade; the file has no {missing} column."
        )
    return tuple(columns), tuple(ignored)


@paused_gc
def parse_csv(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedCsv:
    """Decode and split a CSV file; check it is usable as a whole.

    Args:
        data: the file's bytes.
        max_bytes: the largest file accepted.

    Returns:
        The header mapping and the non-blank records, with their line numbers.

    Raises:
        ImportFileError: the file is over ``max_bytes``, empty, not UTF-8, not valid CSV,
            has no header (or one separated by something other than commas), names a
            column twice, or has no rows.
    """
    if len(data) > max_bytes:
        raise ImportFileError(too_large_message(len(data), max_bytes))
    text_data = _decode(data)
    if not text_data.strip():
        raise ImportFileError("The file is empty.")
    # A cell may be as large as the file (an ignored column of notes, say).
    csv.field_size_limit(max(csv.field_size_limit(), max_bytes))
    reader = csv.reader(io.StringIO(text_data, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    try:
        header = next(reader, None)
        while header is not None and not "".join(header).strip():
            header = next(reader, None)  # blank lines before the header are skipped
        if header is None:
            raise ImportFileError("The file has only empty lines and empty cells.")
        columns, ignored = _read_header(header)
        previous_line = reader.line_num
        for cells in reader:
            # Blank lines and rows of empty cells (spreadsheets leave some) are skipped.
            if "".join(cells).strip():
                records.append((previous_line + 1, cells))
            previous_line = reader.line_num
    except csv.Error as error:
        raise ImportFileError(
            f"line {reader.line_num}: the file is not valid CSV ({error})."
        ) from error
    if not records:
        raise ImportFileError("The file has a header but no rows.")
    return ParsedCsv(
        fields=tuple(name for _, name in columns),
        columns=columns,
        ignored_columns=ignored,
        width=len(header),
        records=records,
    )


# --- 2. validate -----------------------------------------------------------------------


def parse_iso_date(raw: str, label: str) -> date:
    """Parse a ``YYYY-MM-DD`` date.

    Args:
        raw: the cell's text, stripped.
        label: the field's name in messages.

    Returns:
        The date.

    Raises:
        ValueError: with a message naming the field and the value.
    """
    if not _ISO_DATE.match(raw):
        raise ValueError(f"{label} {_quote(raw)} is not a date in the form YYYY-MM-DD.")
    try:
        return date.fromisoformat(raw)
    except ValueError as error:
        raise ValueError(f"{label} {_quote(raw)} is not a real date ({error}).") from error


def parse_whole_number(raw: str, label: str) -> int:
    """Parse a whole number written with decimal digits (of any script, as the form's
    ``IntegerField`` accepts them).

    Args:
        raw: the cell's text, stripped.
        label: the field's name in messages.

    Returns:
        The number.

    Raises:
        ValueError: with a message naming the field and the value.
    """
    if not raw.isdecimal():
        raise ValueError(f"{label} {_quote(raw)} is not a whole number.")
    return int(raw)


def _check_id(raw: str, today: date) -> int | None:
    if not raw:
        return None
    student_id = parse_whole_number(raw, "id")
    if not 1 <= student_id <= MAX_ID:
        raise ValueError(f"id {_quote(raw)} is not a student id (ids go from 1 to {MAX_ID}).")
    return student_id


def _check_name(raw: str, today: date) -> str:
    return rules.clean_name(restore(raw))


def _check_email(raw: str, today: date) -> str | None:
    return rules.clean_email(restore(raw))


def _check_grade(raw: str, today: date) -> int:
    if not raw:
        raise ValueError(GRADE_REQUIRED_MESSAGE)
    grade = parse_whole_number(raw, "grade")
    if not GRADE_MIN <= grade <= GRADE_MAX:
        raise ValueError(f"grade {grade} is not from {GRADE_MIN} to {GRADE_MAX}.")
    return grade


def _check_birthday(raw: str, today: date) -> date | None:
    return rules.check_birthday(parse_iso_date(raw, "birthday") if raw else None, today)


def _check_enrolled_on(raw: str, today: date) -> date | None:
    # Checked against the birthday by plan_import, which knows the stored birthday.
    return parse_iso_date(raw, "enrollment date") if raw else None


#: The check of each field's cell: ``check(stripped text, today) -> value``, raising
#: ``ValueError`` with the message for the user.
CELL_CHECKS: dict[str, Callable[[str, date], Any]] = {
    "id": _check_id,
    "name": _check_name,
    "email": _check_email,
    "grade": _check_grade,
    "birthday": _check_birthday,
    "enrolled_on": _check_enrolled_on,
}


def validate_cells(
    cells: Sequence[str], columns: Iterable[tuple[int, str]], today: date
) -> tuple[dict[str, Any], list[str], set[str]]:
    """Validate one record's cells, field by field, with the form's rules.

    Cross-field and database checks (the enrollment date against the birthday, which may
    be the stored one; emails in use) are :func:`plan_import`'s.

    Args:
        cells: the record's cells.
        columns: ``(index, field)`` pairs saying which cell holds which field.
        today: the date birthdays may not be after.

    Returns:
        ``(values, errors, bad_fields)``: the valid values by field (``None`` for a blank
        optional cell; a blank enrollment date is ``None`` too), one message per
        problem, and the fields whose cell was refused.
    """
    values: dict[str, Any] = {}
    errors: list[str] = []
    bad: set[str] = set()
    for index, name in columns:
        try:
            values[name] = CELL_CHECKS[name](cells[index].strip(), today)
        except ValueError as error:
            errors.append(str(error))
            bad.add(name)
    return values, errors, bad


def _fits(cells: Sequence[str], width: int) -> bool:
    """Whether a record has the header's number of cells (trailing empty cells allowed)."""
    return len(cells) == width or (len(cells) > width and not any(c.strip() for c in cells[width:]))


def _validate_records(
    records: Sequence[tuple[int, list[str]]],
    columns: tuple[tuple[int, str], ...],
    width: int,
    today: date,
) -> list[ValidRow]:
    """Validate ``records`` one by one (the loop of :func:`validate_rows`)."""
    name_index = next((index for index, name in columns if name == "name"), None)
    rows: list[ValidRow] = []
    for line, cells in records:
        if not _fits(cells, width):
            cells_text = "1 cell" if len(cells) == 1 else f"{len(cells)} cells"
            message = (
                f"The row has {cells_text} but the header has {width} columns; "
                "check for a missing or extra comma."
            )
            rows.append(ValidRow(line, {}, [message], set(FIELDS), ""))
            continue
        values, errors, bad = validate_cells(cells, columns, today)
        label = values.get("name") or (cells[name_index].strip() if name_index is not None else "")
        rows.append(ValidRow(line, values, errors, bad, label))
    return rows


#: The file a validation worker process checks (set by :func:`_start_worker`).
_worker_file: ParsedCsv | None = None


def _start_worker(parsed: ParsedCsv) -> None:
    """Pool initializer: keep the file in the worker (inherited by fork, never pickled)."""
    global _worker_file
    _worker_file = parsed
    os.nice(10)


def _validate_span(span: tuple[int, int, date]) -> tuple[list[tuple[Any, ...]], float]:
    """Validate records ``start:stop`` of the worker's file; rows as plain tuples.

    Tuples, because pickling them back to the parent is several times cheaper than
    pickling :class:`ValidRow` objects. Also returns the seconds the checking took.
    """
    assert _worker_file is not None
    started = time.perf_counter()
    start, stop, today = span
    gc.disable()  # as paused_gc does (forked from a paused_gc caller, it is off already)
    rows = _validate_records(
        _worker_file.records[start:stop], _worker_file.columns, _worker_file.width, today
    )
    plain = [(row.line, row.values, row.errors, row.bad_fields, row.label) for row in rows]
    return plain, time.perf_counter() - started


def _spans(count: int, jobs: int) -> list[tuple[int, int]]:
    """Split ``count`` rows into ``(start, stop)`` chunks for :func:`iter_validated`.

    Full chunks hold :data:`WRITE_BATCH_SIZE` rows at most (one write batch) and
    :data:`PROGRESS_EVERY` at least, with several chunks per process so that progress
    moves and the work evens out. The first chunks are smaller, doubling up to the full
    size, so that a streaming import (:func:`run_import`) gets its first rows to write
    after a fraction of a second instead of waiting for a whole chunk.
    """
    size = max(PROGRESS_EVERY, min(WRITE_BATCH_SIZE, -(-count // (jobs * 4))))
    step = max(size // 16, 1)
    spans = []
    start = 0
    while start < count:
        stop = min(start + step, count)
        spans.append((start, stop))
        start = stop
        step = min(step * 2, size)
    return spans


def validation_processes(parsed: ParsedCsv, jobs: int) -> int:
    """How many processes :func:`iter_validated` checks ``parsed`` in, given ``jobs``.

    Args:
        parsed: the output of :func:`parse_csv`.
        jobs: how many processes may check rows.

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
) -> Iterator[tuple[list[ValidRow], float]]:
    """Validate the records of ``parsed`` chunk by chunk, yielding each chunk in file order.

    Checking a row is pure computation (email-validator takes most of it), so with
    ``jobs`` above 1 a file of at least :data:`PARALLEL_MIN_ROWS` rows is checked by that
    many worker processes (forked, so only where ``fork`` exists; elsewhere, and for
    smaller files, in this process), which run ahead of the consumer: while it matches
    and writes one chunk, they check the next ones. Start the iteration before opening a
    database connection, since the workers are forked at the first ``next()``. Closing
    the generator stops the workers.

    Args:
        parsed: the output of :func:`parse_csv`.
        today: the date birthdays may not be after; the real today by default.
        jobs: how many processes may check rows.

    Yields:
        ``(rows, seconds)``: the validated rows of one chunk, and the time spent
        checking them (in whichever process checked them).
    """
    today = today or date.today()
    records, columns, width = parsed.records, parsed.columns, parsed.width
    spans = [(start, stop, today) for start, stop in _spans(len(records), jobs)]
    if validation_processes(parsed, jobs) > 1:
        context = multiprocessing.get_context("fork")
        with context.Pool(jobs, initializer=_start_worker, initargs=(parsed,)) as pool:
            for part, seconds in pool.imap(_validate_span, spans):
                yield [ValidRow(*row) for row in part], seconds
        return
    for start, stop, _ in spans:
        started = time.perf_counter()
        part = _validate_records(records[start:stop], columns, width, today)
        yield part, time.perf_counter() - started


@paused_gc
def validate_rows(
    parsed: ParsedCsv,
    *,
    today: date | None = None,
    progress: Callable[[int], Any] | None = None,
    jobs: int = 1,
) -> ValidatedFile:
    """Validate every record of ``parsed`` on its own (no database access).

    The rows are checked by :func:`iter_validated`, in ``jobs`` processes when the file
    is large enough; the web preview uses one.

    Args:
        parsed: the output of :func:`parse_csv`.
        today: the date birthdays may not be after; the real today by default.
        progress: called with a number of rows as chunks of rows are done (a progress
            bar's ``update``).
        jobs: how many processes may check rows.

    Returns:
        The validated rows, in file order, with the time it took.
    """
    started = time.perf_counter()
    rows: list[ValidRow] = []
    for part, _ in iter_validated(parsed, today=today, jobs=jobs):
        rows.extend(part)
        if progress:
            progress(len(part))
    return ValidatedFile(
        fields=parsed.fields,
        ignored_columns=parsed.ignored_columns,
        rows=rows,
        timings={"validate": time.perf_counter() - started},
        largest_id=largest_id(parsed),
    )


def read_and_validate(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: Callable[[int], Any] | None = None,
    jobs: int = 1,
) -> ValidatedFile:
    """:func:`parse_csv` then :func:`validate_rows`, timing both.

    Args:
        data: the file's bytes.
        max_bytes: the largest file accepted.
        progress: passed to :func:`validate_rows`.
        jobs: passed to :func:`validate_rows`.

    Returns:
        The validated file, with ``parse`` and ``validate`` timings.

    Raises:
        ImportFileError: the file as a whole cannot be imported.
    """
    started = time.perf_counter()
    parsed = parse_csv(data, max_bytes=max_bytes)
    parse_seconds = time.perf_counter() - started
    validated = validate_rows(parsed, progress=progress, jobs=jobs)
    validated.timings["parse"] = parse_seconds
    return validated


# --- 3. match --------------------------------------------------------------------------

_STUDENT_COLUMNS = (
    Student.id,
    Student.name,
    Student.email,
    Student.grade,
    Student.birthday,
    Student.enrolled_on,
)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _fetch_students(
    where: Callable[[Sequence[Any]], Any], keys: Sequence[Any], lock: bool
) -> Iterator[dict[str, Any]]:
    """Yield the students matching ``where(chunk)`` for each chunk of ``keys``, as dicts."""
    names = [column.key for column in _STUDENT_COLUMNS]
    for chunk in _chunks(keys, LOOKUP_BATCH_SIZE):
        statement = select(*_STUDENT_COLUMNS).where(where(chunk))
        if lock:
            # Rows about to be updated cannot change before the commit (PostgreSQL;
            # SQLite has no row locks: begin_write's BEGIN IMMEDIATE covers it).
            statement = statement.with_for_update()
        for row in db.session.execute(statement):
            yield dict(zip(names, row, strict=True))


def _display(value: Any) -> str:
    """A value as the preview and the digest show it."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class Planner:
    """Decides what an import does with each row, in file order, chunk after chunk.

    Every row is judged against the roster *as it was before the import*, even when
    earlier chunks have already been written in the same transaction (the streaming
    :func:`run_import`): after writing a chunk, call :meth:`written`, and later lookups
    see the students it created as absent and the ones it updated with their stored
    values. An email is a duplicate when an earlier row of the file has it, or when
    another student has it in that roster (a row that changes that student's email in
    the same file does not free it). A student may be changed by one row only.

    Args:
        fields: the student fields the file has.
        lock: lock the matched rows until the transaction ends (``SELECT ... FOR
            UPDATE``), for a plan that is about to be applied.
        today: the enrollment date of new students without one; the real today by default.
    """

    def __init__(
        self, fields: tuple[str, ...], *, lock: bool = False, today: date | None = None
    ) -> None:
        self.fields = fields
        self.lock = lock
        self.today = today or date.today()
        self._given = [name for name in WRITABLE_FIELDS if name in fields]
        self._lowered: dict[str, str] = {}
        self._line_of_student: dict[int, int] = {}
        self._line_of_email: dict[str, int] = {}
        # What this import wrote, as the roster was before it: None for a created id.
        self._before_by_id: dict[int, dict[str, Any] | None] = {}
        self._before_by_email: dict[str, dict[str, Any]] = {}

    def _email_key(self, email: str) -> str:
        """``email`` as the database's ``lower(email)`` has it: the unique index's key.

        Python's ``str.lower`` for an ASCII address; the database's own ``lower()`` for
        any other, since it may fold fewer letters than Python does (SQLite's folds only
        A to Z, so ``ÄDA@example.org`` and ``äda@example.org`` are two addresses there,
        as in PostgreSQL under the ``C`` locale). One query per such address, cached.
        """
        if email.isascii():
            return email.lower()
        key = self._lowered.get(email)
        if key is None:
            key = self._lowered[email] = db.session.scalar(select(func.lower(literal(email))))
        return key

    def _lookup(
        self, rows: Sequence[ValidRow]
    ) -> tuple[dict[int, dict[str, Any]], dict[str, dict[str, Any]]]:
        """The students ``rows`` refer to, by id and by email key, as they were.

        A few ``IN`` queries in batches of :data:`LOOKUP_BATCH_SIZE`; students written by
        this import are answered from what :meth:`written` kept instead.
        """
        key = self._email_key
        ids = sorted({row.values["id"] for row in rows if row.values.get("id") is not None})
        emails = sorted({key(row.values["email"]) for row in rows if row.values.get("email")})
        by_id: dict[int, dict[str, Any]] = {}
        unread_ids = []
        for student_id in ids:
            if student_id not in self._before_by_id:
                unread_ids.append(student_id)
            elif (before := self._before_by_id[student_id]) is not None:
                by_id[student_id] = before
        by_id.update(
            (student["id"], student)
            for student in _fetch_students(Student.id.in_, unread_ids, self.lock)  # type: ignore[arg-type]
        )
        by_email = {
            key(student["email"]): student for student in by_id.values() if student["email"]
        }
        unread_emails = []
        for email in emails:
            if email in by_email:
                continue
            if email in self._before_by_email:
                by_email[email] = self._before_by_email[email]
            else:
                unread_emails.append(email)
        for student in _fetch_students(func.lower(Student.email).in_, unread_emails, self.lock):
            # A student this import wrote got the address from it: before, nobody had it.
            if student["id"] not in self._before_by_id:
                by_email[key(student["email"])] = student
        return by_id, by_email

    def plan(self, rows: Sequence[ValidRow]) -> list[RowPlan]:
        """Decide what to do with each of ``rows``, the next rows of the file.

        Args:
            rows: validated rows (:func:`iter_validated`), following the rows planned
                before.

        Returns:
            One plan per row, in order.
        """
        by_id, by_email = self._lookup(rows)
        key = self._email_key
        today, given = self.today, self._given
        line_of_student, line_of_email = self._line_of_student, self._line_of_email
        dates_unchecked = {"birthday", "enrolled_on"}
        plans: list[RowPlan] = []
        append = plans.append
        for row in rows:
            values = row.values
            errors = list(row.errors)
            student_id = values.get("id")
            email = values.get("email")
            email_key = key(email) if email else None
            if student_id is not None:
                target = by_id.get(student_id)
            else:
                target = by_email.get(email_key) if email_key else None
            target_id = target["id"] if target else student_id

            # A student is changed by one row at most; an address is used by one student.
            if target_id is not None:
                first = line_of_student.setdefault(target_id, row.line)
                if first != row.line:
                    who = f"student {target_id}" + (f" ({target['name']})" if target else "")
                    errors.append(f"This row changes {who}, as line {first} does.")
            if email_key:
                first = line_of_email.setdefault(email_key, row.line)
                owner = by_email.get(email_key)
                if first != row.line:
                    errors.append(f"The email {email} is also on line {first}.")
                elif owner is not None and (target is None or owner["id"] != target["id"]):
                    errors.append(
                        f"The email {email} belongs to another student, "
                        f"{owner['name']} (id {owner['id']})."
                    )

            if target is None:
                new = {
                    "name": values.get("name"),
                    "email": email,
                    "grade": values.get("grade"),
                    "birthday": values.get("birthday"),
                    "enrolled_on": values.get("enrolled_on") or today,
                }
                for required in ("name", "grade"):
                    if new[required] is None and required not in row.bad_fields:
                        errors.append(f"A new student needs a {required}; this row has none.")
            else:
                new = {name: values.get(name, target[name]) for name in WRITABLE_FIELDS}
                if new["enrolled_on"] is None:  # blank: keep the stored date
                    new["enrolled_on"] = target["enrolled_on"]
            if row.bad_fields.isdisjoint(dates_unchecked):
                try:
                    rules.check_enrolled_on(new["enrolled_on"], new["birthday"])
                except ValueError as error:
                    errors.append(str(error))

            label = new["name"] or row.label or (target["name"] if target else "")
            if errors:
                append(RowPlan(row.line, Action.ERROR, target_id, label, errors=tuple(errors)))
            elif target is None:
                if student_id is not None:
                    new["id"] = student_id
                append(RowPlan(row.line, Action.CREATE, student_id, label, values=new))
            else:
                changes = tuple(
                    Change(name, target[name], new[name])
                    for name in given
                    if target[name] != new[name]
                )
                if not changes:
                    append(RowPlan(row.line, Action.UNCHANGED, target_id, label))
                    continue
                written = {name: new[name] for name in given}
                written["id"] = target_id
                append(
                    RowPlan(
                        row.line,
                        Action.UPDATE,
                        target_id,
                        label,
                        changes,
                        values=written,
                        before=target,
                    )
                )
        return plans

    def written(self, plans: Iterable[RowPlan], created_ids: Iterable[int]) -> None:
        """Note that ``plans`` were written, so later lookups still see the roster as it was.

        Args:
            plans: planned rows that :meth:`PlanWriter.write` wrote.
            created_ids: the ids of the students it created (what it returned).
        """
        for student_id in created_ids:
            self._before_by_id[student_id] = None
        for row in plans:
            if row.action is Action.UPDATE and row.before is not None:
                self._before_by_id[row.before["id"]] = row.before
                if row.before["email"]:
                    self._before_by_email[self._email_key(row.before["email"])] = row.before


@paused_gc
def plan_import(
    validated: ValidatedFile, *, lock: bool = False, today: date | None = None
) -> ImportPlan:
    """Match the validated rows against the roster and decide what to do with each.

    One :class:`Planner` over all the rows; nothing is written.

    Args:
        validated: the output of :func:`validate_rows`.
        lock: lock the matched rows until the transaction ends (``SELECT ... FOR
            UPDATE``), for a plan that is about to be applied.
        today: the enrollment date of new students without one; the real today by default.

    Returns:
        The plan, with the rows in file order and the time matching took added to the
        validated file's timings.
    """
    started = time.perf_counter()
    planner = Planner(validated.fields, lock=lock, today=today)
    plans = planner.plan(validated.rows)
    timings = dict(validated.timings)
    timings["match"] = time.perf_counter() - started
    return ImportPlan(
        validated.fields, validated.ignored_columns, plans, timings, validated.largest_id
    )


# --- 4. apply --------------------------------------------------------------------------


def _version_bump() -> dict[Any, Any]:
    """``{version: version + 1}`` when Student uses optimistic locking, else ``{}``.

    A bulk UPDATE bypasses the ORM's versioning, so it bumps the counter itself; an edit
    form opened before the import then fails with a stale-data error instead of silently
    overwriting the imported values.
    """
    column = inspect(Student).version_id_col
    return {} if column is None else {column: column + 1}


def _bulk_insert(table: Table, columns: dict[str, list[Any]], constants: dict[str, Any]) -> None:
    """INSERT rows given column by column into ``table``, with one DBAPI ``executemany``.

    The statement is SQLAlchemy's own ``insert()``, compiled for the connection's dialect,
    and every value goes through its column type's ``bind_processor`` as SQLAlchemy would
    do it; what this skips is SQLAlchemy's per-row parameter handling, which costs about
    6 microseconds a row, a third of the students insert itself. Values are converted a
    column at a time (a list comprehension each) and zipped into rows; ``constants`` (the
    timestamps) are converted once, and columns not given get their scalar column default
    (``version`` = 1).

    Args:
        table: the table.
        columns: ``{column name: values}``, every list as long as the others.
        constants: values shared by every row.

    Raises:
        NotImplementedError: a column left out has a default that is not a plain value.
    """
    connection = db.session.connection()
    dialect = connection.dialect
    count = len(next(iter(columns.values())))
    compiled = insert(table).compile(dialect=dialect, column_keys=[*columns, *constants])
    names = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
    converted: list[Iterable[Any]] = []
    for name in names:
        processor = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        if name in columns:
            values = columns[name]
            if processor is not None:
                values = [None if v is None else processor(v) for v in values]
            converted.append(values)
            continue
        if name in constants:
            value = constants[name]
        else:
            default = table.c[name].default
            if default is None or not default.is_scalar:
                raise NotImplementedError(f"no plain default for {table.name}.{name}")
            value = default.arg  # type: ignore[attr-defined]
        converted.append(repeat(processor(value) if processor else value, count))
    batch: list[Any] = list(zip(*converted, strict=True))
    if not compiled.positional:
        batch = [dict(zip(names, values, strict=True)) for values in batch]
    connection.exec_driver_sql(compiled.string, batch)


def largest_id(parsed: ParsedCsv) -> int:
    """The largest student id the file's id column names, or 0.

    New students without an id in the file get ids above it (:class:`PlanWriter`), so
    that an id a later row of the file gives can never be taken by an earlier new
    student, whether that row is imported now or after the user fixes it. Rows with the
    wrong number of cells do not count (their cells are not read at all).

    Args:
        parsed: the output of :func:`parse_csv`.

    Returns:
        The id, or 0 when the file has no id column or no valid id.
    """
    index = next((index for index, name in parsed.columns if name == "id"), None)
    if index is None:
        return 0
    largest = 0
    for _, cells in parsed.records:
        if _fits(cells, parsed.width):
            with suppress(ValueError):  # an error row names no id
                largest = max(largest, _check_id(cells[index].strip(), date.min) or 0)
    return largest


def _reserve_ids(count: int, above: int) -> list[int]:
    """Reserve ``count`` new student ids, all greater than ``above`` and than any id used.

    New students get their id before they are inserted, so that their audit events can
    name them without reading the ids back, and so that ids given in the file and new
    ones never collide. On PostgreSQL the ids come from the id sequence (moved past
    ``above`` first, so later inserts do not collide either); on SQLite they follow the
    largest id ever used (``sqlite_sequence``: ``AUTOINCREMENT`` never reuses the id of
    a deleted student), which is safe under :func:`webapp.database.begin_write`'s lock
    (without it, a concurrent insert makes the import fail as a whole, never write twice).

    Args:
        count: how many ids.
        above: the largest id the file itself names (:func:`largest_id`), or 0.

    Returns:
        ``count`` unused ids.
    """
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        sequence = "pg_get_serial_sequence('students', 'id')"
        if above:
            db.session.execute(
                text(f"SELECT setval({sequence}, GREATEST(nextval({sequence}), :above))"),
                {"above": above},
            )
        if not count:
            return []
        return list(
            db.session.scalars(
                text(f"SELECT nextval({sequence}) FROM generate_series(1, :count)"),
                {"count": count},
            )
        )
    if not count:
        return []
    used = db.session.scalar(select(func.max(Student.id))) or 0
    if dialect == "sqlite" and Student.__table__.dialect_options["sqlite"]["autoincrement"]:
        used = max(
            used,
            db.session.scalar(text("SELECT seq FROM sqlite_sequence WHERE name = 'students'")) or 0,
        )
    start = max(used, above) + 1
    return list(range(start, start + count))


def _insert(
    rows: list[dict[str, Any]],
    ids: list[int],
    now: datetime,
    progress: Callable[[int], Any] | None,
) -> None:
    for start in range(0, len(rows), WRITE_BATCH_SIZE):
        chunk = rows[start : start + WRITE_BATCH_SIZE]
        columns = {name: [row[name] for row in chunk] for name in WRITABLE_FIELDS}
        columns["id"] = ids[start : start + WRITE_BATCH_SIZE]
        _bulk_insert(Student.__table__, columns, {"created_at": now, "updated_at": now})
        if progress:
            progress(len(chunk))


def _update(rows: list[dict[str, Any]], now: datetime, progress: Callable[[int], Any] | None):
    if not rows:
        return
    table = Student.__table__
    names = [name for name in WRITABLE_FIELDS if name in rows[0]]
    # Bound names must differ from the column names (SQLAlchemy reserves those).
    statement = (
        update(table)
        .where(table.c.id == bindparam("match_id"))
        .values(
            {
                **{table.c[name]: bindparam(f"new_{name}") for name in names},
                table.c.updated_at: bindparam("new_updated_at"),
                **_version_bump(),
            }
        )
    )
    connection = db.session.connection()
    for chunk in _chunks(rows, WRITE_BATCH_SIZE):
        params = [
            {"match_id": row["id"], "new_updated_at": now, **{f"new_{n}": row[n] for n in names}}
            for row in chunk
        ]
        connection.execute(statement, params)
        if progress:
            progress(len(chunk))


def _json(value: Any) -> Any:
    """A field value as the audit trail records it (dates as ISO strings)."""
    return value.isoformat() if isinstance(value, date) else value


def _changes(row: RowPlan) -> dict[str, list[Any]]:
    """A row's ``{field: [old, new]}`` as the audit trail records it (dates ISO)."""
    if row.action is Action.UPDATE:
        return {change.field: [_json(change.old), _json(change.new)] for change in row.changes}
    # A create, as trail.diff({}, trail.snapshot(student)): each field with a value.
    assert row.values is not None
    changes = {}
    for name in trail.AUDITED_FIELDS:
        value = row.values[name]
        if value is not None:
            changes[name] = [None, value.isoformat() if name in trail.DATE_FIELDS else value]
    return changes


class PlanWriter:
    """Writes planned rows, batch after batch, in the current transaction (no commit).

    New students get reserved ids (:func:`_reserve_ids`) and are inserted in bulk;
    updates are ``UPDATE ... WHERE id = ?`` executed with many parameter sets; both
    :data:`WRITE_BATCH_SIZE` rows at a time, never one flush per row. Both set
    ``created_at``/``updated_at`` (one timestamp for the whole import), an update bumps
    the row's version (optimistic locking), and every change gets its audit event: those
    :func:`webapp.audit.trail.record` writes for a form save (same action names,
    ``{field: [old, new]}`` changes, dates as ISO strings), with a note naming the file
    and line.

    Args:
        source: what the audit trail's notes call the file (``"import <source>, line
            7"``): its name.
        above: the largest id the file names (:func:`largest_id`); new ids go above it.
        progress: called with the number of rows written after each batch.

    Attributes:
        audit_seconds: time spent writing audit events so far.
    """

    def __init__(
        self, *, source: str, above: int, progress: Callable[[int], Any] | None = None
    ) -> None:
        self.source = source
        self.progress = progress
        self.now = utcnow()
        self.audit_seconds = 0.0
        self._above = above
        self._user_id, self._actor = trail.actor()

    def write(self, plans: Sequence[RowPlan]) -> list[int]:
        """Write the creates and updates among ``plans`` and their audit events.

        The plans are not changed: a plain create keeps ``student_id`` ``None`` (the
        id it got is returned instead), so a plan describes the same whether or not its
        writes were rolled back afterwards.

        Args:
            plans: planned rows; unchanged and erroneous ones are skipped.

        Returns:
            The ids of the students created, in the order of the create rows.

        Raises:
            sqlalchemy.exc.IntegrityError: the database refused a row; roll back.
        """
        created = [row for row in plans if row.action is Action.CREATE and row.values]
        updated = [row for row in plans if row.action is Action.UPDATE and row.values]
        fresh = iter(_reserve_ids(sum(row.student_id is None for row in created), self._above))
        if db.session.get_bind().dialect.name == "postgresql":
            self._above = 0  # the sequence is past it now; SQLite compares every time
        ids = [next(fresh) if row.student_id is None else row.student_id for row in created]
        _insert([row.values for row in created if row.values], ids, self.now, self.progress)
        _update([row.values for row in updated if row.values], self.now, self.progress)
        started = time.perf_counter()
        new_ids = iter(ids)  # the create rows come in the same order here
        self._audit(
            [
                (row, next(new_ids) if row.action is Action.CREATE else row.student_id)
                for row in plans
                if row.values is not None
            ]
        )
        self.audit_seconds += time.perf_counter() - started
        return ids

    def _audit(self, rows: list[tuple[RowPlan, Any]]) -> None:
        """Insert one audit event per ``(created or updated row, student id)``, in bulk."""
        actions = {Action.CREATE: AuditAction.CREATE.value, Action.UPDATE: AuditAction.UPDATE.value}
        source = self.source
        for pairs in _chunks(rows, WRITE_BATCH_SIZE):
            chunk = [row for row, _ in pairs]
            size = len(chunk)
            columns = {
                "user_id": [self._user_id] * size,
                "actor": [self._actor] * size,
                "action": [actions[row.action] for row in chunk],
                "student_id": [student_id for _, student_id in pairs],
                "student_name": [row.name[:NAME_MAX_LENGTH] for row in chunk],
                "changes": [_changes(row) for row in chunk],
                "reverts_id": [None] * size,
                "note": [f"import {source}, line {row.line}"[:200] for row in chunk],
            }
            _bulk_insert(AuditEvent.__table__, columns, {"occurred_at": self.now})


#: Key of the PostgreSQL advisory lock held by an import that writes ("import" in ASCII).
IMPORT_LOCK_KEY = int.from_bytes(b"import", "big")


def begin_import() -> None:
    """Open the write transaction of an import; one import writes at a time.

    Call it before the import's first lookup. On SQLite this is
    :func:`webapp.database.begin_write` (``BEGIN IMMEDIATE``: the database's write lock,
    held until the commit). On PostgreSQL it also takes a transaction-level advisory lock
    (``pg_advisory_xact_lock``, released by the commit or rollback), so that two imports,
    say a command line one and a confirm in the browser, wait for each other instead of
    locking the students they match (``SELECT ... FOR UPDATE``) in orders that could
    deadlock. Form saves do not take it; they wait only for the students they change.
    """
    begin_write()
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK_KEY})


@contextmanager
def _one_transaction() -> Iterator[None]:
    """Roll the session back when the block fails; a refused row becomes ImportConflictError."""
    try:
        yield
    except IntegrityError as error:
        db.session.rollback()
        raise ImportConflictError(
            "The database refused the import, so nothing was written: another change "
            "was saved meanwhile (for example the same email address). Check the file "
            "and import it again."
        ) from error
    except BaseException:
        db.session.rollback()
        raise


@paused_gc
def apply_plan(
    plan: ImportPlan,
    *,
    all_or_nothing: bool = False,
    dry_run: bool = False,
    source: str = "CSV file",
    progress: Callable[[int], Any] | None = None,
) -> ImportResult:
    """Write the plan's creates and updates, with their audit events, and commit.

    Call it in the transaction :func:`plan_import` read in (after :func:`begin_import`),
    so the plan still holds when it is written.
    One transaction, written by a :class:`PlanWriter`: all of it is written, or none.

    Args:
        plan: the output of :func:`plan_import`.
        all_or_nothing: write nothing when any row has an error.
        dry_run: write nothing; report what would have been done.
        source: what the audit trail's notes call the file: its name.
        progress: called with the number of rows written after each batch.

    Returns:
        The totals, and whether anything was committed.

    Raises:
        ImportConflictError: the database refused a row (for example an email that a
            concurrent request stored meanwhile); the session has been rolled back and
            nothing was written.
    """
    counts = plan.counts
    timings = dict(plan.timings)
    written = not dry_run and not (all_or_nothing and counts[Action.ERROR])
    started = time.perf_counter()
    if not written:
        db.session.rollback()
    else:
        with _one_transaction():
            writer = PlanWriter(source=source, above=plan.largest_id, progress=progress)
            writer.write(plan.rows)
            db.session.commit()
        timings["audit"] = writer.audit_seconds
    timings["write"] = time.perf_counter() - started
    return ImportResult.from_counts(counts, written=written, timings=timings)


@paused_gc
def run_import(
    parsed: ParsedCsv,
    *,
    jobs: int = 1,
    dry_run: bool = False,
    all_or_nothing: bool = False,
    source: str = "CSV file",
    today: date | None = None,
    on_rows: Callable[[list[RowPlan]], Any] | None = None,
) -> ImportResult:
    """Validate, match and write a parsed file chunk by chunk: the command line's import.

    The same steps and rules as :func:`validate_rows`, :func:`plan_import` and
    :func:`apply_plan`, streamed: while this process matches and writes one chunk of
    rows, ``jobs`` worker processes check the next ones (:func:`iter_validated`). The
    import's locks are taken before the first lookup (:func:`begin_import`) and
    everything is committed at the end, in one transaction, so the outcome is what
    plan-then-apply gives: rows are judged against the roster as it was before the import
    (:class:`Planner`), the plans are the same (:meth:`PlanWriter.write` leaves them as
    planned), and all of it is written or none. With ``all_or_nothing``, writing stops
    at the first chunk with an error and the transaction is rolled back at the end.

    Args:
        parsed: the output of :func:`parse_csv`.
        jobs: how many processes may check rows.
        dry_run: write nothing; report what would have been done.
        all_or_nothing: write nothing when any row has an error.
        source: what the audit trail's notes call the file: its name.
        today: the date birthdays may not be after and new students are enrolled on by
            default; the real today by default.
        on_rows: called with each chunk's planned rows, in file order, when the chunk is
            done (to report errors and progress).

    Returns:
        The totals, whether anything was committed, and seconds per step: ``validate``
        (waiting for checked rows), ``check`` (the checking itself, in whichever
        process), ``match``, ``write`` and its ``audit`` part.

    Raises:
        ImportConflictError: the database refused a row; nothing was written.
    """
    clock = time.perf_counter
    timings = dict.fromkeys(("validate", "check", "match", "write", "audit"), 0.0)
    counts: Counter[Action] = Counter()
    chunks = iter_validated(parsed, today=today, jobs=jobs)
    try:
        started = clock()
        chunk = next(chunks, None)  # the workers fork here, before any connection opens
        timings["validate"] += clock() - started
        if not dry_run:
            begin_import()
        planner = Planner(parsed.fields, lock=not dry_run, today=today)
        writer = None
        with _one_transaction():
            if not dry_run:
                writer = PlanWriter(source=source, above=largest_id(parsed))
            while chunk is not None:
                rows, check_seconds = chunk
                timings["check"] += check_seconds
                started = clock()
                plans = planner.plan(rows)
                counts.update(row.action for row in plans)
                timings["match"] += clock() - started
                if writer is not None and not (all_or_nothing and counts[Action.ERROR]):
                    started = clock()
                    planner.written(plans, writer.write(plans))
                    timings["write"] += clock() - started
                if on_rows:
                    on_rows(plans)
                started = clock()
                chunk = next(chunks, None)
                timings["validate"] += clock() - started
            written = writer is not None and not (all_or_nothing and counts[Action.ERROR])
            started = clock()
            if written:
                db.session.commit()
            else:
                db.session.rollback()
            timings["write"] += clock() - started
    finally:
        chunks.close()
    if writer is not None:
        timings["audit"] = writer.audit_seconds
    return ImportResult.from_counts(counts, written=written, timings=timings)


def describe_row(row: RowPlan) -> list[str]:
    """Describe a row's outcome for the command line, one line per fact.

    Args:
        row: one row of a plan.

    Returns:
        ``["line 7: grade 'abc' is not a whole number."]`` for an error (one line per
        error), ``["line 8: update student 12: grade 7 → 8"]`` for an update, and so on.
    """
    if row.action is Action.ERROR:
        return [f"line {row.line}: {message}" for message in row.errors]
    who = f"student {row.student_id}" if row.student_id is not None else "a new student"
    if row.action is Action.UPDATE:
        changes = ", ".join(
            f"{FIELD_LABELS[change.field]} {_display(change.old) or '(blank)'}"
            f" → {_display(change.new) or '(blank)'}"
            for change in row.changes
        )
        return [f"line {row.line}: update {who} ({row.name}): {changes}"]
    return [f"line {row.line}: {row.action.value} {who} ({row.name})"]


def display_value(value: Any) -> str:
    """A field value as the preview shows it: ISO dates, ``""`` for blank.

    Args:
        value: a field value.

    Returns:
        The text to show.
    """
    return _display(value)
