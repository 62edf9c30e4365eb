"""Revision 0015 on databases holding rows, on SQLite and PostgreSQL: the search index
covers the students already there, follows later writes, and goes away on the way down
with the audit log's indexes."""

from __future__ import annotations

import pytest

from tests.migration_helpers import REVISIONS, Database, run
from tests.test_migration_0011 import fill_before

SEARCH_OBJECTS = {
    "sqlite": (
        "SELECT name FROM sqlite_master"
        " WHERE name LIKE 'students_fts%' OR name LIKE 'trg_students_fts%'"
    ),
    "postgresql": "SELECT indexname FROM pg_indexes WHERE indexname LIKE '%_trgm'",
}
BEFORE = REVISIONS[REVISIONS.index("0015") - 1]
AUDIT_INDEXES = {
    "ix_audit_events_action_id",
    "ix_audit_events_user_id_id",
    "ix_audit_events_user_id_action_id",
    "ix_audit_events_reverts_id",
}


@pytest.fixture
def filled(empty_database_url: str) -> Database:
    database = Database(empty_database_url)
    fill_before(database)
    run(database, "upgrade", BEFORE)
    return database


def search(database: Database, text: str) -> list[int]:
    """Ids found through the index alone (no plain rule): FTS5 on SQLite, the trigram
    index's operator on PostgreSQL."""
    if database.dialect == "sqlite":
        phrase = '"' + text + '"'
        rows = database.query(f"SELECT rowid FROM students_fts WHERE students_fts MATCH '{phrase}'")
    else:
        rows = database.query(
            f"SELECT id FROM students WHERE lower(name) LIKE '%{text.lower()}%' ORDER BY id"
        )
    return sorted(row[0] for row in rows)


def test_the_index_covers_existing_rows_follows_writes_and_goes_away(filled: Database) -> None:
    run(filled, "upgrade", "0015")

    assert search(filled, "Stone") == [2]
    assert len(filled.query(SEARCH_OBJECTS[filled.dialect])) >= 2
    assert set(filled.indexes()) >= AUDIT_INDEXES
    filled.execute(
        "UPDATE students SET name = 'Bob Rivers' WHERE id = 2",
        "DELETE FROM students WHERE id = 1",
    )
    assert search(filled, "Stone") == []
    assert search(filled, "Rivers") == [2]
    assert search(filled, "Ann Lee") == []
    if filled.dialect == "sqlite":
        filled.execute(
            "INSERT INTO students_fts (students_fts, rank) VALUES ('integrity-check', 1)"
        )

    run(filled, "downgrade", BEFORE)

    assert filled.query(SEARCH_OBJECTS[filled.dialect]) == []
    assert not AUDIT_INDEXES & set(filled.indexes())
    assert "ix_audit_events_user_id" in filled.indexes()
    assert filled.query("SELECT id, name FROM students ORDER BY id") == [
        (2, "Bob Rivers"),
        (3, "Cy Young"),
    ]
