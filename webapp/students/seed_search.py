"""The roster's search index (SQLite's FTS5 trigram table ``students_fts``, see
:mod:`webapp.models.search_index`), filled in bulk for a seed.

FTS5 writes new rows as small segments (its pending data is flushed about every
megabyte) and, by default, merges them as it goes (``automerge``, and ``crisismerge``
when a level holds 16). For a one-off load of a million names and addresses, merging
once at the end (``optimize``) instead costs about 0.7 of the time: 6.2 s against 8.6 s
of CPU for 1,000,000 seeded students here (SQLite 3.40). The settings are FTS5's own
(https://sqlite.org/fts5.html#fts5_configuration_options); they are set back to the
defaults afterwards, leaving ``students_fts_config`` as it was.

A first seed made in a worker process (:mod:`webapp.students.seed_worker`) has the index
built there, in a scratch SQLite file (:class:`IndexFile`), while the seeding process
builds the tables' other indexes; the seeding process then copies FTS5's tables
(``students_fts_data``, ``_idx``, ``_docsize``) as they are (:func:`copy_index`): the
same SQLite library wrote them, from the same ids, names and addresses.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from webapp.models.search_index import SQLITE_DDL

#: FTS5 merge settings during a bulk fill: no merging while the rows go in, and no
#: "crisis" merge before a level holds 1,999 segments (FTS5's most).
BULK_SETTINGS = {"automerge": 0, "crisismerge": 1999}
#: The same settings' defaults (FTS5's), set back after the fill.
DEFAULT_SETTINGS = {"automerge": 4, "crisismerge": 16}


def fill(
    raw: Any, select_sql: str, params: Sequence[Any] = (), *, table: str = "students_fts"
) -> None:
    """Add the rows of ``select_sql`` (``rowid, name, email``) to the FTS5 ``table``,
    merging its segments once at the end, in the connection's current transaction.

    Args:
        raw: a ``sqlite3`` connection (the DBAPI connection, not SQLAlchemy's).
        select_sql: a query for the rows to add: rowid, name and email.
        params: the query's parameters.
        table: the FTS5 table (``students_fts``, or the worker's copy of it).
    """
    for key, value in BULK_SETTINGS.items():
        raw.execute(f"INSERT INTO {table} ({table}, rank) VALUES (?, ?)", (key, value))
    raw.execute(f"INSERT INTO {table} (rowid, name, email) {select_sql}", tuple(params))
    raw.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")
    # Back to the defaults: set through FTS5 (so that connections which have read the
    # settings read them again), then the rows removed (the defaults need none).
    for key, value in DEFAULT_SETTINGS.items():
        raw.execute(f"INSERT INTO {table} ({table}, rank) VALUES (?, ?)", (key, value))
    marks = ", ".join("?" for _ in DEFAULT_SETTINGS)
    raw.execute(f"DELETE FROM {table}_config WHERE k IN ({marks})", tuple(DEFAULT_SETTINGS))


#: FTS5's own tables of ``students_fts`` that hold the index, copied by :func:`copy_index`.
SHADOW_TABLES = ("students_fts_data", "students_fts_idx", "students_fts_docsize")
#: The name under which :func:`copy_index` attaches the worker's file.
ATTACHED = "seed_search"


class IndexFile:
    """In the worker process: the seed's students (id, name, email) as they are
    generated, then their search index, made with ``students_fts``'s own SQL, in a new
    SQLite file.

    Args:
        path: the file to make (it must not exist yet).
    """

    def __init__(self, path: Path) -> None:
        self.raw = sqlite3.connect(path, isolation_level=None)
        # A scratch file, deleted after the seed: its journal can stay in memory.
        self.raw.execute("PRAGMA journal_mode = MEMORY")
        self.raw.execute("PRAGMA cache_size = -262144")
        self.raw.execute("BEGIN")
        self.raw.execute("CREATE TEMP TABLE seeded (id INTEGER PRIMARY KEY, name TEXT, email TEXT)")
        self.raw.execute(SQLITE_DDL[0])

    def add(self, rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> None:
        """Keep the id, name and email of ``rows`` (students' tuples, in the order of
        ``columns``) for the index."""
        at = [columns.index(name) for name in ("id", "name", "email")]
        self.raw.executemany(
            "INSERT INTO temp.seeded VALUES (?, ?, ?)", [[row[i] for i in at] for row in rows]
        )

    def finish(self) -> None:
        """Build the index of the students added, write the file and close it."""
        fill(self.raw, "SELECT id, name, email FROM temp.seeded")
        self.raw.execute("COMMIT")
        self.raw.close()


def copy_index(raw: Any, path: Path) -> None:
    """Replace ``students_fts``'s index with the one built in the file at ``path``
    (:class:`IndexFile`), in the connection's current transaction. The file stays
    attached (as :data:`ATTACHED`): SQLite detaches only outside a transaction
    (:func:`detach`).

    Only for an index of every student: the students table held none before the seed.
    FTS5's ``delete-all`` empties the index first, through FTS5: the connection's copy of
    the index's structure is then read again after the commit, not kept from before.

    Args:
        raw: the ``sqlite3`` connection of the seed's transaction.
        path: the worker's file.
    """
    raw.execute("INSERT INTO students_fts (students_fts) VALUES ('delete-all')")
    raw.execute(f"ATTACH DATABASE ? AS {ATTACHED}", (str(path),))
    for table in SHADOW_TABLES:
        raw.execute(f"DELETE FROM main.{table}")
        raw.execute(f"INSERT INTO main.{table} SELECT * FROM {ATTACHED}.{table}")


def detach(raw: Any) -> None:
    """Detach the file :func:`copy_index` attached, if it is (outside a transaction)."""
    names = [row[1] for row in raw.execute("PRAGMA database_list")]
    if ATTACHED in names:
        # Still in use (a failed seed's statement not yet finalized): left attached, it
        # is the connection's alone and holds only a deleted scratch file; the error
        # that ended the seed is the one to report.
        with suppress(sqlite3.OperationalError):
            raw.execute(f"DETACH DATABASE {ATTACHED}")
