"""Stage 4 of an import, writing: planned rows into the tables, in bulk, with their audit.

A :class:`PlanWriter` writes in the current transaction (no commit): new students get
reserved ids and are inserted in bulk, with their enrollment in the current school year;
updates are ``UPDATE ... WHERE id = ?`` executed with many parameter sets, on
``students`` for the student's fields and on ``enrollments`` for the grade and status;
audit events (one per student changed, one per enrollment made or changed) are inserted
the same way. Never one flush per row. :func:`begin_import` opens the transaction an
import writes in.

The bulk statements are :mod:`.bulk_sql`'s, the audit events :mod:`.audit_events`'.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text

from webapp import trail
from webapp.database import begin_write
from webapp.extensions import db
from webapp.import_export.importer import support
from webapp.import_export.importer.audit_events import write_events
from webapp.import_export.importer.bulk_sql import bulk_insert, table_of, update_rows
from webapp.import_export.importer.plans import (
    ENROLLMENT_FIELDS,
    STUDENT_FIELDS,
    Action,
    RowPlan,
)
from webapp.import_export.importer.support import chunks
from webapp.models import Enrollment, Student
from webapp.models.types import utcnow
from webapp.years.service import current_year_id

#: Rows an import writes before its first ``ANALYZE`` on PostgreSQL (see
#: :meth:`PlanWriter._analyze`); then at ten times as many, and so on.
ANALYZE_FIRST_AT = 2_000


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
        above: the largest id the file itself names (:func:`.checking.largest_id`), or 0.

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
    if dialect == "sqlite" and table_of(Student).dialect_options["sqlite"]["autoincrement"]:
        used = max(
            used,
            db.session.scalar(text("SELECT seq FROM sqlite_sequence WHERE name = 'students'")) or 0,
        )
    start = max(used, above) + 1
    return list(range(start, start + count))


def _new_sourced_ids(count: int) -> list[str]:
    """``count`` new random UUIDs as text (each record's ``sourced_id``)."""
    return [str(uuid.uuid4()) for _ in range(count)]


def _insert(rows: list[dict[str, Any]], ids: list[int], now: datetime) -> None:
    """Insert new students in bulk, :data:`WRITE_BATCH_SIZE` at a time.

    Args:
        rows: the planned values of each new student (every writable field).
        ids: their ids, in the same order.
        now: their ``created_at`` and ``updated_at``.
    """
    for start in range(0, len(rows), support.WRITE_BATCH_SIZE):
        chunk = rows[start : start + support.WRITE_BATCH_SIZE]
        columns = {name: [row[name] for row in chunk] for name in STUDENT_FIELDS}
        columns["id"] = ids[start : start + support.WRITE_BATCH_SIZE]
        columns["sourced_id"] = _new_sourced_ids(len(chunk))
        bulk_insert(table_of(Student), columns, {"created_at": now, "updated_at": now})


def _enroll(
    rows: list[dict[str, Any]], student_ids: list[int], year_id: int, now: datetime
) -> dict[int, int]:
    """Enroll students in the year ``year_id`` in bulk; return ``{student id: enrollment id}``.

    Args:
        rows: each student's planned values (the enrollment fields and ``entered_on``).
        student_ids: their ids, in the same order.
        year_id: the current school year.
        now: the rows' ``created_at`` and ``updated_at``.
    """
    made: dict[int, int] = {}
    for start in range(0, len(rows), support.WRITE_BATCH_SIZE):
        chunk = rows[start : start + support.WRITE_BATCH_SIZE]
        chunk_ids = student_ids[start : start + support.WRITE_BATCH_SIZE]
        columns = {name: [row[name] for row in chunk] for name in ENROLLMENT_FIELDS}
        columns["entered_on"] = [row["entered_on"] for row in chunk]
        columns["student_id"] = list(chunk_ids)
        columns["school_year_id"] = [year_id] * len(chunk)
        columns["sourced_id"] = _new_sourced_ids(len(chunk))
        bulk_insert(table_of(Enrollment), columns, {"created_at": now, "updated_at": now})
        for part in chunks(chunk_ids, support.LOOKUP_BATCH_SIZE):
            found = db.session.execute(
                select(Enrollment.student_id, Enrollment.id).where(
                    Enrollment.school_year_id == year_id, Enrollment.student_id.in_(part)
                )
            )
            made.update((student_id, enrollment_id) for student_id, enrollment_id in found)
    return made


class PlanWriter:
    """Writes planned rows, batch after batch, in the current transaction (no commit).

    New students get reserved ids (:func:`_reserve_ids`) and are inserted in bulk;
    updates are ``UPDATE ... WHERE id = ?`` executed with many parameter sets; both
    :data:`WRITE_BATCH_SIZE` rows at a time, never one flush per row. Both set
    ``created_at``/``updated_at`` (one timestamp for the whole import), an update bumps
    the row's version (optimistic locking), and every change gets its audit event: those
    :func:`webapp.trail.record` writes for a form save (same action names,
    ``{field: [old, new]}`` changes, dates as ISO strings), with a note naming the file
    and line.

    Args:
        source: what the audit trail's notes call the file (``"import <source>, line
            7"``): its name.
        above: the largest id the file names (:func:`.checking.largest_id`); new ids go above it.

    Attributes:
        audit_seconds: time spent writing audit events so far.
    """

    def __init__(self, *, source: str, above: int) -> None:
        self.source = source
        self.now = utcnow()
        self.audit_seconds = 0.0
        self._above = above
        self._user_id, self._actor = trail.actor()
        self._year_id = current_year_id()
        self._written = 0
        self._analyze_at = ANALYZE_FIRST_AT

    def _analyze(self, written: int) -> None:
        """On PostgreSQL, ``ANALYZE`` the tables this import grows each time the rows it
        wrote pass a power of ten times :data:`ANALYZE_FIRST_AT`.

        The plans PostgreSQL caches (the foreign key checks of new enrollments, and the
        lookups, prepared by psycopg after a few runs) are made while the tables may be
        nearly empty: a sequential scan, which the import then runs on ever larger tables
        (quadratic: a 1,000,000-row import into an empty roster did not finish). ``ANALYZE``
        (its sample includes this transaction's rows) makes them planned again.
        """
        self._written += written
        if self._written < self._analyze_at:
            return
        self._analyze_at = self._written * 10
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(text("ANALYZE students, enrollments"))

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
        _insert([row.values for row in created if row.values], ids, self.now)
        student_names, enrollment_names = set(STUDENT_FIELDS), set(ENROLLMENT_FIELDS)
        update_rows(
            [
                row.values
                for row in updated
                if row.values and any(change.field in student_names for change in row.changes)
            ],
            self.now,
            Student,
            STUDENT_FIELDS,
            "id",
        )
        update_rows(
            [
                row.values
                for row in updated
                if row.values
                and row.values["enrollment_id"] is not None
                and any(change.field in enrollment_names for change in row.changes)
            ],
            self.now,
            Enrollment,
            ENROLLMENT_FIELDS,
            "enrollment_id",
        )
        enrolling = [(row, student_id) for row, student_id in zip(created, ids, strict=True)]
        enrolling += [
            (row, row.student_id)
            for row in updated
            if row.student_id is not None
            and row.values
            and row.values["enrollment_id"] is None
            and "entered_on" in row.values
        ]
        made = _enroll(
            [row.values for row, _ in enrolling if row.values],
            [student_id for _, student_id in enrolling],
            self._year_id,
            self.now,
        )
        started = time.perf_counter()
        new_ids = iter(ids)  # the create rows come in the same order here
        write_events(
            [
                (row, next(new_ids) if row.action is Action.CREATE else row.student_id)
                for row in plans
                if row.values is not None
            ],
            made,
            source=self.source,
            user_id=self._user_id,
            actor=self._actor,
            now=self.now,
        )
        self.audit_seconds += time.perf_counter() - started
        self._analyze(len(created) + len(updated))
        return ids


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
