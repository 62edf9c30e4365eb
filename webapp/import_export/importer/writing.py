"""Stage 4 of an import, writing: planned rows into the tables, in bulk, with their audit.

A :class:`PlanWriter` writes in the current transaction (no commit): new students get
reserved ids and are inserted in bulk; updates are ``UPDATE ... WHERE id = ?`` executed
with many parameter sets; audit events are inserted the same way. Never one flush per row.
:func:`begin_import` opens the transaction an import writes in.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import repeat
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, inspect, select, text, update
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from webapp import trail
from webapp.database import begin_write
from webapp.extensions import db
from webapp.fields.student import STUDENT
from webapp.import_export.importer import support
from webapp.import_export.importer.planning import WRITABLE_FIELDS, Action, RowPlan
from webapp.import_export.importer.support import chunks
from webapp.models import Action as AuditAction
from webapp.models import AuditEvent, Student
from webapp.models.student import NAME_MAX_LENGTH
from webapp.models.types import utcnow
from webapp.trail import NOTE_MAX_LENGTH


def _table(model: type[Any]) -> Table:
    """The Core table of a model class."""
    table: Table = model.__table__
    return table


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
    batch: list[Any] = list(zip(*converted, strict=True))
    if not compiled.positional:
        batch = [dict(zip(names, values, strict=True)) for values in batch]
    connection.exec_driver_sql(compiled.string, batch)


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


def _insert(rows: list[dict[str, Any]], ids: list[int], now: datetime) -> None:
    """Insert new students in bulk, :data:`WRITE_BATCH_SIZE` at a time.

    Args:
        rows: the planned values of each new student (every writable field).
        ids: their ids, in the same order.
        now: their ``created_at`` and ``updated_at``.
    """
    for start in range(0, len(rows), support.WRITE_BATCH_SIZE):
        chunk = rows[start : start + support.WRITE_BATCH_SIZE]
        columns = {name: [row[name] for row in chunk] for name in WRITABLE_FIELDS}
        columns["id"] = ids[start : start + support.WRITE_BATCH_SIZE]
        _bulk_insert(_table(Student), columns, {"created_at": now, "updated_at": now})


def _update(rows: list[dict[str, Any]], now: datetime) -> None:
    """Update students in bulk: ``UPDATE ... WHERE id = ?`` with many parameter sets.

    Args:
        rows: the planned values of each student: its ``id`` and the changed fields (the
            same fields in every row: the file's columns).
        now: their new ``updated_at``.
    """
    if not rows:
        return
    table = _table(Student)
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
    for chunk in chunks(rows, support.WRITE_BATCH_SIZE):
        params = [
            {"match_id": row["id"], "new_updated_at": now, **{f"new_{n}": row[n] for n in names}}
            for row in chunk
        ]
        connection.execute(statement, params)


#: ``(name, to_json)`` of each audited field, in order.
_AUDITED = tuple((field.name, field.to_json) for field in STUDENT.audited)
_TO_JSON = dict(_AUDITED)


def _changes(row: RowPlan) -> dict[str, list[Any]]:
    """A row's ``{field: [old, new]}`` as the audit trail records it (its JSON form)."""
    if row.action is Action.UPDATE:
        return {
            change.field: [_TO_JSON[change.field](change.old), _TO_JSON[change.field](change.new)]
            for change in row.changes
        }
    # A create, as trail.diff({}, STUDENT.snapshot(student)): each field with a value.
    values = row.values or {}
    return {
        name: [None, to_json(value)]
        for name, to_json in _AUDITED
        if (value := values[name]) is not None
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
        _update([row.values for row in updated if row.values], self.now)
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
        for pairs in chunks(rows, support.WRITE_BATCH_SIZE):
            chunk = [row for row, _ in pairs]
            size = len(chunk)
            columns: dict[str, list[Any]] = {
                "user_id": [self._user_id] * size,
                "actor": [self._actor] * size,
                "action": [actions[row.action] for row in chunk],
                "student_id": [student_id for _, student_id in pairs],
                "student_name": [row.name[:NAME_MAX_LENGTH] for row in chunk],
                "changes": [_changes(row) for row in chunk],
                "reverts_id": [None] * size,
                "note": [f"import {source}, line {row.line}"[:NOTE_MAX_LENGTH] for row in chunk],
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
