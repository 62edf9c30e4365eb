"""Bulk loading for ``flask students seed``: a million rows in seconds, not minutes.

* Rows go to the driver as tuples: SQLite's ``executemany``, PostgreSQL's ``COPY``
  (psycopg's ``Cursor.copy``). Values pass through each column type's own bind processor
  (SQLAlchemy's, memoised: dates repeat), so they are stored exactly as the ORM stores
  them.
* On SQLite, when the new rows outnumber the stored ones, the tables' secondary indexes
  are dropped before the insert and made again after it, from their own SQL in
  ``sqlite_master``: one sort per index instead of a random B-tree insert per row. Unique
  indexes are checked when made again; a violation fails the whole transaction.
* On SQLite, CHECK constraints can be set aside while inserting and the new rows checked
  afterwards in one query per table (:func:`checks_set_aside`).
* On SQLite, a load into an empty table can use a rollback journal instead of WAL
  (:func:`rollback_journal`): each new page is written once, to the database file,
  instead of to the WAL first and then again by the checkpoint.
* On PostgreSQL, :mod:`webapp.students.bulk_postgres` keeps the statistics of the tables
  being loaded and sets their foreign keys aside.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import CheckConstraint, Connection, Table, text
from sqlalchemy.engine import Dialect

from webapp.extensions import db


def _processors(
    table: Table, columns: Sequence[str], dialect: Dialect
) -> list[Callable[[Any], Any] | None]:
    """Each column's bind processor on ``dialect``, memoised per value."""
    found: list[Callable[[Any], Any] | None] = []
    for name in columns:
        processor = table.c[name].type._cached_bind_processor(dialect)
        found.append(None if processor is None else functools.cache(processor))
    return found


def processed(
    table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]], dialect: Dialect
) -> Sequence[Sequence[Any]]:
    """``rows`` (tuples in the order of ``columns``) as ``dialect``'s driver takes them:
    each value through its column type's bind processor (dates to text on SQLite, say),
    so that they are stored exactly as the ORM stores them.

    Args:
        table: the table.
        columns: the columns given, by name.
        rows: the values; hashable where a column has a bind processor (dates, times).
        dialect: the database's SQLAlchemy dialect.

    Returns:
        The rows, processed (``rows`` itself when no column needs it).
    """
    processors = _processors(table, columns, dialect)
    if not rows or not any(processors):
        return rows
    # Column by column, so that the loops run in C (map, zip).
    values: list[Sequence[Any]] = list(zip(*rows, strict=True))
    for position, processor in enumerate(processors):
        if processor is not None:
            values[position] = list(map(processor, values[position]))
    return list(zip(*values, strict=True))


def write_rows(
    table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, ready: bool = False
) -> None:
    """Insert ``rows`` (tuples in the order of ``columns``) into ``table``, in the
    session's transaction: ``COPY`` on PostgreSQL, ``executemany`` elsewhere.

    Args:
        table: the table.
        columns: the columns given, by name.
        rows: the values; hashable where a column has a bind processor (dates, times).
        ready: the rows are :func:`processed` for this database already.
    """
    batch = list(rows)
    if not batch:
        return
    connection: Connection = db.session.connection()
    if not ready:
        batch = list(processed(table, columns, batch, connection.dialect))
    names = ", ".join(columns)
    raw = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for row in batch:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    cursor = raw.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", batch)
    finally:
        cursor.close()


#: PostgreSQL: each index that backs no constraint (primary keys, unique constraints and
#: the foreign keys' targets stay), with the statement that makes it again.
_PG_SECONDARY_INDEXES = text(
    "SELECT quote_ident(i.relname), pg_get_indexdef(x.indexrelid)"
    " FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
    " JOIN pg_class t ON t.oid = x.indrelid"
    " WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(:tables)"
    " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)"
)
#: PostgreSQL: memory for making the indexes again (a trigram GIN index of a million
#: names sorts in it), for the seed's transaction only.
PG_INDEX_MEMORY = "256MB"


@contextmanager
def indexes_set_aside(tables: Sequence[str], *, when: bool) -> Iterator[None]:
    """Drop the secondary indexes of ``tables`` for the block, then make them again from
    their own SQL (SQLite's ``sqlite_master``, PostgreSQL's ``pg_get_indexdef``). Does
    nothing unless ``when``.

    On PostgreSQL the indexes that back a constraint stay (the foreign keys' checks
    and ``ON CONFLICT`` need them), and the drop holds an exclusive lock on the tables
    until the transaction ends: other sessions wait for them meanwhile.

    Args:
        tables: table names.
        when: whether to do it (worth it when the insert is larger than the table).
    """
    dialect = db.session.get_bind().dialect.name
    if not when or dialect not in ("sqlite", "postgresql"):
        yield
        return
    if dialect == "postgresql":
        # Every lock up front, in one statement: the load waits for the sessions using
        # these tables before it changes anything, rather than between two DROPs.
        names = ", ".join(f'"{name}"' for name in tables)
        db.session.execute(text(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE"))
        indexes = db.session.execute(_PG_SECONDARY_INDEXES, {"tables": list(tables)}).all()
    else:
        marks = ", ".join(f":t{i}" for i in range(len(tables)))
        indexes = db.session.execute(
            text(
                "SELECT '\"' || name || '\"', sql FROM sqlite_master"
                f" WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks})"
            ),
            {f"t{i}": name for i, name in enumerate(tables)},
        ).all()
    connection = db.session.connection()
    for name, _ in indexes:
        connection.exec_driver_sql(f"DROP INDEX {name}")
    yield
    if dialect == "postgresql":
        connection.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{PG_INDEX_MEMORY}'")
    for _, sql in indexes:
        connection.exec_driver_sql(sql)


class CheckViolation(Exception):
    """A row written while CHECK constraints were set aside breaks one of them."""


@contextmanager
def checks_set_aside(tables: Sequence[Table]) -> Iterator[None]:
    """SQLite: skip the CHECK constraints while the block inserts, then check the rows it
    added to ``tables`` against each table's declared CHECK constraints, in one query
    per table. Does nothing on other databases.

    SQLite evaluates a row's CHECKs as it inserts the row, at about 40 % of a bulk
    insert's cost here; one scan per table afterwards costs a fraction of that. The
    pragma (``ignore_check_constraints``) holds for the connection, so it is turned off
    again whatever happens; it expires the statements compiled meanwhile.

    Args:
        tables: the tables the block writes to (only rows appended after the block's
            start, by ``rowid``, are checked).

    Raises:
        CheckViolation: naming the table and the constraint a new row breaks; the
            caller's transaction must then be rolled back.
    """
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    before = {
        table.name: connection.exec_driver_sql(f"SELECT max(rowid) FROM {table.name}").scalar() or 0
        for table in tables
    }
    connection.exec_driver_sql("PRAGMA ignore_check_constraints = ON")
    try:
        yield
    finally:
        connection.exec_driver_sql("PRAGMA ignore_check_constraints = OFF")
    for table in tables:
        rules = {
            str(constraint.name): str(constraint.sqltext.compile(dialect=connection.dialect))
            for constraint in table.constraints
            if isinstance(constraint, CheckConstraint)
        }
        if not rules:
            continue
        # A CHECK fails only when false (NULL passes): "NOT (rule)" is true exactly then,
        # and one scan tests them all.
        broken = connection.exec_driver_sql(
            f"SELECT rowid FROM {table.name} WHERE rowid > ?"
            f" AND ({' OR '.join(f'NOT ({rule})' for rule in rules.values())}) LIMIT 1",
            (before[table.name],),
        ).scalar()
        if broken is not None:
            names = [
                name
                for name, rule in rules.items()
                if connection.exec_driver_sql(
                    f"SELECT NOT ({rule}) FROM {table.name} WHERE rowid = ?", (broken,)
                ).scalar()
            ]
            raise CheckViolation(f"{table.name} row {broken} breaks {', '.join(names)}")


@contextmanager
def rollback_journal(table: str, *, when: bool) -> Iterator[bool]:
    """SQLite in WAL mode: when ``table`` is empty, switch the database to a rollback
    journal (``TRUNCATE``, ``synchronous=FULL``) for the block, and back to WAL
    (``synchronous=NORMAL``, as :mod:`webapp.database` sets it) after it, whatever
    happened. Does nothing unless ``when``, on other databases, or when the switch is
    refused (another connection is reading or writing: the block then runs in WAL).

    A rollback journal keeps what a transaction overwrites, not the pages it appends, so
    a load into a new table writes each page once, where WAL writes it twice (to the log,
    then by the checkpoint at the commit). A failed block still rolls back in full. While
    the block writes, readers in other processes wait (no WAL snapshot to read from):
    meant for a load into a database nobody uses yet, such as a new district's seed.

    Must be entered and left outside a transaction of the session (the mode cannot
    change inside one): enter it before the block's first query, and leave it after the
    commit or rollback.

    Args:
        table: the table that must be empty.
        when: whether to try it.

    Yields:
        Whether the rollback journal is in use.
    """
    if not when or db.session.get_bind().dialect.name != "sqlite":
        yield False
        return
    with db.engine.connect() as connection:
        # The DBAPI connection itself: SQLAlchemy's connection would emit BEGIN first.
        raw = connection.connection.driver_connection
        empty = not raw.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]  # type: ignore[union-attr]
        if empty and _journal_mode(raw, "wal") == "wal":
            switched = _journal_mode(raw, "truncate") == "truncate"
        else:
            switched = False
    if not switched:
        yield False
        return
    try:
        yield True
    finally:
        with db.engine.connect() as connection:
            _journal_mode(connection.connection.driver_connection, "wal")


def _journal_mode(raw: Any, mode: str) -> str | None:
    """Set the journal ``mode`` of the DBAPI connection ``raw``; its ``synchronous``
    setting to go with it. Returns the mode in force, ``None`` when locked."""
    try:
        if mode == "wal":
            found = str(raw.execute("PRAGMA journal_mode").fetchone()[0]).lower()
            if found != "wal":
                found = str(raw.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower()
        else:
            found = str(raw.execute(f"PRAGMA journal_mode={mode}").fetchone()[0]).lower()
    except sqlite3.OperationalError:
        return None
    raw.execute(f"PRAGMA synchronous={'NORMAL' if found == 'wal' else 'FULL'}")
    return found
