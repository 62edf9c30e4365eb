"""Stage 4 of an import, writing: planned rows into the tables, in bulk, with their audit.

A :class:`PlanWriter` writes in the current transaction (no commit): new students get
reserved ids and are inserted in bulk, with their enrollment in the current school year;
updates are ``UPDATE ... WHERE id = ?`` executed with many parameter sets, on
``students`` for the student's fields and on ``enrollments`` for the grade and status;
audit events (one per student changed, one per enrollment made or changed) are inserted
the same way. Never one flush per row. :func:`begin_import` opens the transaction an
import writes in.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import repeat
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, inspect, select, text, update
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from webapp import trail
from webapp.database import begin_write
from webapp.extensions import db
from webapp.fields.enrollment import ENROLLMENT
from webapp.fields.student import STUDENT
from webapp.import_export.importer import support
from webapp.import_export.importer.plans import (
    ENROLLMENT_FIELDS,
    STUDENT_FIELDS,
    Action,
    RowPlan,
)
from webapp.import_export.importer.support import chunks
from webapp.models import Action as AuditAction
from webapp.models import AuditEvent, Enrollment, Entity, Student
from webapp.models.student import NAME_MAX_LENGTH
from webapp.models.types import utcnow
from webapp.trail import NOTE_MAX_LENGTH
from webapp.years.service import current_year_id


def _table(model: type[Any]) -> Table:
    """The Core table of a model class."""
    table: Table = model.__table__
    return table


def _version_bump(model: type[Any] = Student) -> dict[Any, Any]:
    """``{version: version + 1}`` when ``model`` uses optimistic locking, else ``{}``.

    A bulk UPDATE bypasses the ORM's versioning, so it bumps the counter itself; an edit
    form opened before the import then fails with a stale-data error instead of silently
    overwriting the imported values.
    """
    column = inspect(model).version_id_col
    return {} if column is None else {column: column + 1}


def _bulk_insert(table: Table, columns: dict[str, list[Any]], constants: dict[str, Any]) -> None:
    """INSERT rows given column by column into ``table``, with one DBAPI ``executemany``.

    The statement is SQLAlchemy's own ``insert()``, compiled for the connection's dialect,
    and every value goes through its column type's ``bind_processor`` as SQLAlchemy would
    do it; what this skips is SQLAlchemy's per-row parameter handling (a third of the
    insert's time: ``bench/results/import-export-design.md``). Values are converted a
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
            if not isinstance(default, ScalarElementColumnDefault):
                raise NotImplementedError(f"no plain default for {table.name}.{name}")
            value = default.arg
        converted.append(repeat(processor(value) if processor else value, count))
    if dialect.name == "postgresql" and table.name in ONE_STATEMENT_TABLES:
        _insert_unnest(table, names, converted)
        return
    batch: list[Any] = list(zip(*converted, strict=True))
    if not compiled.positional:
        batch = [dict(zip(names, values, strict=True)) for values in batch]
    connection.exec_driver_sql(compiled.string, batch)


#: Tables whose bulk inserts are one statement on PostgreSQL (:func:`_insert_unnest`):
#: enrollments, whose counts a statement-level trigger keeps (revision 0011). As many
#: statements as rows would update the same counter rows once per row, and within one
#: transaction each update leaves a row version the next must step over: quadratic (a
#: 1,000,000-row import spent minutes in one chunk of a few hundred rows).
ONE_STATEMENT_TABLES = frozenset({"enrollments"})

#: Rows an import writes before its first ``ANALYZE`` on PostgreSQL (see
#: :meth:`PlanWriter._analyze`); then at ten times as many, and so on.
ANALYZE_FIRST_AT = 2_000


def _insert_unnest(table: Table, names: list[str], converted: list[Iterable[Any]]) -> None:
    """INSERT the rows of ``converted`` (one list or ``repeat`` per name) into ``table`` in
    one statement: ``INSERT ... SELECT FROM unnest(array, ...)``, an array per column
    (PostgreSQL; the values already through their bind processors).
    """
    connection = db.session.connection()
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    selects, arrays, params = [], [], {}
    for index, (name, values) in enumerate(zip(names, converted, strict=True)):
        sql_type = table.c[name].type.compile(dialect=dialect)
        key = f"p{index}"
        if isinstance(values, repeat):
            params[key] = next(values)
            selects.append(f"CAST(%({key})s AS {sql_type})")
        else:
            params[key] = list(values)
            arrays.append(f"CAST(%({key})s AS {sql_type}[])")
            selects.append(f"u.c{index}")
    aliases = ", ".join(select.removeprefix("u.") for select in selects if select.startswith("u."))
    statement = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in names)}) "
        f"SELECT {', '.join(selects)} FROM unnest({', '.join(arrays)}) AS u({aliases})"
    )
    connection.exec_driver_sql(statement, params)


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
    if dialect == "sqlite" and _table(Student).dialect_options["sqlite"]["autoincrement"]:
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
        _bulk_insert(_table(Student), columns, {"created_at": now, "updated_at": now})


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
        _bulk_insert(_table(Enrollment), columns, {"created_at": now, "updated_at": now})
        for part in chunks(chunk_ids, support.LOOKUP_BATCH_SIZE):
            found = db.session.execute(
                select(Enrollment.student_id, Enrollment.id).where(
                    Enrollment.school_year_id == year_id, Enrollment.student_id.in_(part)
                )
            )
            made.update((student_id, enrollment_id) for student_id, enrollment_id in found)
    return made


def _update(
    rows: list[dict[str, Any]], now: datetime, model: type[Any], fields: Sequence[str], key: str
) -> None:
    """Update rows of ``model`` in bulk: ``UPDATE ... WHERE id = ?`` with many parameter sets.

    Args:
        rows: the planned values: the row's id under ``key``, and changed fields. Rows are
            grouped by the fields they set, one statement per group.
        now: their new ``updated_at``.
        model: ``Student`` or ``Enrollment``.
        fields: the fields of ``model`` the import writes.
        key: the name of the id in each row (``id``, ``enrollment_id``).
    """
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        names = tuple(name for name in fields if name in row)
        if names:
            groups[names].append(row)
    table = _table(model)
    connection = db.session.connection()
    for names, group in groups.items():
        # Bound names must differ from the column names (SQLAlchemy reserves those).
        statement = (
            update(table)
            .where(table.c.id == bindparam("match_id"))
            .values(
                {
                    **{table.c[name]: bindparam(f"new_{name}") for name in names},
                    table.c.updated_at: bindparam("new_updated_at"),
                    **_version_bump(model),
                }
            )
        )
        for chunk in chunks(group, support.WRITE_BATCH_SIZE):
            params = [
                {
                    "match_id": row[key],
                    "new_updated_at": now,
                    **{f"new_{n}": row[n] for n in names},
                }
                for row in chunk
            ]
            connection.execute(statement, params)


#: ``(name, to_json)`` of each audited field, in order, per record.
_AUDITED = {
    Entity.STUDENT: tuple((field.name, field.to_json) for field in STUDENT.audited),
    Entity.ENROLLMENT: tuple((field.name, field.to_json) for field in ENROLLMENT.audited),
}
_TO_JSON = {name: to_json for fields in _AUDITED.values() for name, to_json in fields}


def _changes(row: RowPlan, entity: Entity, created: bool) -> dict[str, list[Any]]:
    """A row's ``{field: [old, new]}`` for one of its records, as the trail records it.

    Args:
        row: a create or update.
        entity: the student's fields, or the enrollment's.
        created: whether that record is new (every field with a value is listed).
    """
    audited = _AUDITED[entity]
    if not created:
        names = {name for name, _ in audited}
        return {
            change.field: [_TO_JSON[change.field](change.old), _TO_JSON[change.field](change.new)]
            for change in row.changes
            if change.field in names
        }
    # A create, as trail.diff({}, snapshot): each field with a value.
    values = row.values or {}
    return {
        name: [None, to_json(value)]
        for name, to_json in audited
        if (value := values.get(name)) is not None
    }


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
        _update(
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
        _update(
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
        self._audit(
            [
                (row, next(new_ids) if row.action is Action.CREATE else row.student_id)
                for row in plans
                if row.values is not None
            ],
            made,
        )
        self.audit_seconds += time.perf_counter() - started
        self._analyze(len(created) + len(updated))
        return ids

    def _audit(self, rows: list[tuple[RowPlan, Any]], made: dict[int, int]) -> None:
        """Insert the audit events of ``(created or updated row, student id)`` pairs, in bulk:
        one per student whose fields changed, one per enrollment made or changed.

        Args:
            rows: the rows written, with their students' ids.
            made: ``{student id: enrollment id}`` of the enrollments this chunk made.
        """
        events: list[tuple[str, Entity, int, int, RowPlan, dict[str, list[Any]]]] = []
        for row, student_id in rows:
            values = row.values or {}
            new_student = row.action is Action.CREATE
            student_changes = _changes(row, Entity.STUDENT, new_student)
            if new_student or student_changes:
                action = AuditAction.CREATE if new_student else AuditAction.UPDATE
                events.append(
                    (action.value, Entity.STUDENT, student_id, student_id, row, student_changes)
                )
            new_enrollment = student_id in made
            enrollment_id = made[student_id] if new_enrollment else values.get("enrollment_id")
            if enrollment_id is None:
                continue
            enrollment_changes = _changes(row, Entity.ENROLLMENT, new_enrollment)
            if new_enrollment:
                enrollment_changes["entered_on"] = [None, values["entered_on"].isoformat()]
            if enrollment_changes:
                action = AuditAction.CREATE if new_enrollment else AuditAction.UPDATE
                events.append(
                    (
                        action.value,
                        Entity.ENROLLMENT,
                        enrollment_id,
                        student_id,
                        row,
                        enrollment_changes,
                    )
                )
        source = self.source
        for chunk in chunks(events, support.WRITE_BATCH_SIZE):
            size = len(chunk)
            columns: dict[str, list[Any]] = {
                "user_id": [self._user_id] * size,
                "actor": [self._actor] * size,
                "action": [event[0] for event in chunk],
                "entity": [event[1].value for event in chunk],
                "entity_id": [event[2] for event in chunk],
                "student_id": [event[3] for event in chunk],
                "student_name": [event[4].name[:NAME_MAX_LENGTH] for event in chunk],
                "changes": [event[5] for event in chunk],
                "reverts_id": [None] * size,
                "batch_id": [None] * size,
                "note": [
                    f"import {source}, line {event[4].line}"[:NOTE_MAX_LENGTH] for event in chunk
                ],
            }
            _bulk_insert(_table(AuditEvent), columns, {"occurred_at": self.now})


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
