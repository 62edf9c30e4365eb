"""Bulk loading for ``flask students seed``: a million rows in seconds, not minutes.

* Rows go to the driver as tuples: SQLite's ``executemany``, PostgreSQL's ``COPY``
  (psycopg's ``Cursor.copy``). Values pass through each column type's own bind processor
  (SQLAlchemy's, memoised: dates repeat), so they are stored exactly as the ORM stores
  them.
* On SQLite, when the new rows outnumber the stored ones, the tables' secondary indexes
  are dropped before the insert and made again after it, from their own SQL in
  ``sqlite_master``: one sort per index instead of a random B-tree insert per row. Unique
  indexes are checked when made again; a violation fails the whole transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Table, text

from webapp.extensions import db


def _processors(table: Table, columns: Sequence[str]) -> list[Callable[[Any], Any] | None]:
    """Each column's bind processor on the session's dialect, memoised per value."""
    dialect = db.session.get_bind().dialect
    found: list[Callable[[Any], Any] | None] = []
    for name in columns:
        processor = table.c[name].type._cached_bind_processor(dialect)
        found.append(None if processor is None else functools.cache(processor))
    return found


def write_rows(table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert ``rows`` (tuples in the order of ``columns``) into ``table``, in the
    session's transaction: ``COPY`` on PostgreSQL, ``executemany`` elsewhere.

    Args:
        table: the table.
        columns: the columns given, by name.
        rows: the values; hashable where a column has a bind processor (dates, times).
    """
    batch = list(rows)
    if not batch:
        return
    processors = _processors(table, columns)
    processed: Sequence[Sequence[Any]] = batch
    if any(processors):
        # Column by column, so that the loops run in C (map, zip).
        values: list[Sequence[Any]] = list(zip(*batch, strict=True))
        for position, processor in enumerate(processors):
            if processor is not None:
                values[position] = list(map(processor, values[position]))
        processed = list(zip(*values, strict=True))
    connection: Connection = db.session.connection()
    names = ", ".join(columns)
    raw = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for row in processed:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    cursor = raw.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", processed)
    finally:
        cursor.close()


@contextmanager
def indexes_set_aside(tables: Sequence[str], *, when: bool) -> Iterator[None]:
    """SQLite: drop the secondary indexes of ``tables`` for the block, then make them
    again from their own SQL. Does nothing unless ``when`` (and on other databases).

    Args:
        tables: table names.
        when: whether to do it (worth it when the insert is larger than the table).
    """
    if not when or db.session.get_bind().dialect.name != "sqlite":
        yield
        return
    marks = ", ".join(f":t{i}" for i in range(len(tables)))
    indexes = db.session.execute(
        text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            f" AND tbl_name IN ({marks})"
        ),
        {f"t{i}": name for i, name in enumerate(tables)},
    ).all()
    connection = db.session.connection()
    for name, _ in indexes:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    yield
    for _, sql in indexes:
        connection.exec_driver_sql(sql)
