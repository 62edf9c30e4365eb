"""The import's stages put together: apply a plan, or stream a file through every stage.

The web flow runs the stages one after the other over the whole file and stops after
planning for the preview (:func:`.checking.read_and_validate`, :func:`.planning.plan_import`,
then :func:`apply_plan` on confirm: see :mod:`webapp.import_export.service`). The command
line streams them (:func:`run_import`): it plans and writes each chunk while worker
processes check the next ones, in one transaction, with the same plans and writes; with
a file read by ``read_file(..., stream=True)`` no stage holds more than a few chunks of
its rows.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.fields.student import ROSTER_ROW
from webapp.import_export.importer.checking import iter_validated, largest_id
from webapp.import_export.importer.columns import ParsedFile
from webapp.import_export.importer.planning import Planner
from webapp.import_export.importer.plans import Action, ImportPlan, RowPlan, display
from webapp.import_export.importer.support import paused_gc
from webapp.import_export.importer.writing import PlanWriter, begin_import


class ImportConflictError(Exception):
    """The database refused the import (another change got in first); nothing was written."""


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
    source: str = "the file",
    before_commit: Callable[[], Any] | None = None,
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
        before_commit: called in the transaction just before its commit, when the plan
            is written (to delete the upload it came from, say).

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
            writer = PlanWriter(source=source, above=plan.largest_id)
            writer.write(plan.rows)
            if before_commit:
                before_commit()
            db.session.commit()
        timings["audit"] = writer.audit_seconds
    timings["write"] = time.perf_counter() - started
    return ImportResult.from_counts(counts, written=written, timings=timings)


@paused_gc
def run_import(
    parsed: ParsedFile,
    *,
    jobs: int = 1,
    dry_run: bool = False,
    all_or_nothing: bool = False,
    source: str = "the file",
    today: date | None = None,
    on_rows: Callable[[list[RowPlan]], Any] | None = None,
    before_commit: Callable[[], Any] | None = None,
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
        parsed: the output of :func:`~.columns.parse_file`.
        jobs: how many processes may check rows.
        dry_run: write nothing; report what would have been done.
        all_or_nothing: write nothing when any row has an error.
        source: what the audit trail's notes call the file: its name.
        today: the date birthdays may not be after and new students are enrolled on by
            default; the real today by default.
        on_rows: called with each chunk's planned rows, in file order, when the chunk is
            done (to report errors and progress).
        before_commit: called in the transaction just before its commit, when the rows
            are written (to remember the column mapping, say).

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
                if before_commit:
                    before_commit()
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
        error), ``["line 8: update student 12: grade 7 → 8"]`` for an update, and so on,
        followed by a ``"line 9: warning: ..."`` line per warning.
    """
    if row.action is Action.ERROR:
        return [f"line {row.line}: {message}" for message in row.errors]
    who = f"student {row.student_id}" if row.student_id is not None else "a new student"
    warnings = [f"line {row.line}: warning: {message}" for message in row.warnings]
    if row.action is Action.UPDATE:
        changes = ", ".join(
            f"{ROSTER_ROW[change.field].noun} {display(change.field, change.old) or '(blank)'}"
            f" → {display(change.field, change.new) or '(blank)'}"
            for change in row.changes
        )
        return [f"line {row.line}: update {who} ({row.name}): {changes}", *warnings]
    return [f"line {row.line}: {row.action.value} {who} ({row.name})", *warnings]
