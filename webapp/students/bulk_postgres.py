"""Bulk loading on PostgreSQL (:mod:`webapp.students.bulk_load` has the rest).

* The tables being loaded are analyzed as they grow (:class:`GrowingStatistics`), so
  that the foreign-key checks of later rows are planned for the table's size, not for
  the few rows it held at the first check.
* A load larger than what the tables hold can set their foreign keys aside
  (:func:`foreign_keys_set_aside`): each key is checked once, for every row, when it is
  added again, instead of by a query per row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import text

from webapp.extensions import db

#: Each foreign key of the tables named, with its definition.
_FOREIGN_KEYS = text(
    "SELECT quote_ident(t.relname), quote_ident(k.conname), pg_get_constraintdef(k.oid)"
    " FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid"
    " WHERE k.contype = 'f' AND t.relnamespace = current_schema()::regnamespace"
    " AND t.relname = ANY(:tables) ORDER BY k.oid"
)


@contextmanager
def foreign_keys_set_aside(tables: Sequence[str], *, when: bool) -> Iterator[None]:
    """PostgreSQL: drop the foreign keys of ``tables`` for the block, then add them again,
    which checks every row in one query per key. Does nothing unless ``when``, or on
    other databases.

    A row's check costs a query (about 10 million of them for a seed of a million
    students with guardians); adding the key again costs one join. Inside the block's
    transaction: a failed load, or a row that breaks a key, rolls back everything, the
    dropped keys included. The drop locks the tables against every other session, and
    the tables they refer to against other writers, until the transaction ends.

    Args:
        tables: table names (the app's, never user input).
        when: whether to do it (worth it when the load is larger than the tables).

    Raises:
        sqlalchemy.exc.IntegrityError: a row written in the block breaks a key (when it
            is added again).
    """
    if not when or db.session.get_bind().dialect.name != "postgresql":
        yield
        return
    keys = db.session.execute(_FOREIGN_KEYS, {"tables": list(tables)}).all()
    connection = db.session.connection()
    for table, name, _ in keys:
        connection.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    yield
    for table, name, definition in keys:
        connection.exec_driver_sql(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")


class GrowingStatistics:
    """PostgreSQL: ``ANALYZE`` each table a load writes whenever its rows written have
    doubled since its last analysis (from :data:`FIRST` rows); does nothing elsewhere.

    A row's foreign-key check runs a query that PostgreSQL plans once per connection and
    keeps, from the referenced table's statistics and size at that moment. Planned when a
    seed's first batch had written a few dozen homerooms (or after ``flask db upgrade``
    analyzed the empty table), it was a sequential scan, and each later enrollment's
    check read every homeroom: 208 million rows read for a seed of 100,000 students, and
    over ten minutes for a million. ``ANALYZE`` inside the load's transaction counts its
    own new rows and makes PostgreSQL plan such queries again. Doubling keeps it to about
    ten analyses of a table per million rows, each reading a sample of at most 30,000.

    Args:
        dialect: the name of the session's database dialect.
    """

    #: Rows written to a table before its first analysis.
    FIRST = 100

    def __init__(self, dialect: str) -> None:
        self.enabled = dialect == "postgresql"
        self.written: dict[str, int] = {}
        self.next_at: dict[str, int] = {}

    def wrote(self, table: str, rows: int) -> None:
        """Count ``rows`` more rows written to ``table``; analyze it when they doubled.

        Args:
            table: the table's name (one of the app's, never user input).
            rows: how many rows were just written.
        """
        if not self.enabled or not rows:
            return
        total = self.written[table] = self.written.get(table, 0) + rows
        if total >= self.next_at.get(table, self.FIRST):
            db.session.execute(text(f'ANALYZE "{table}"'))
            self.next_at[table] = 2 * total
