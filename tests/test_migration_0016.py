"""Revision 0016 on databases holding rows, on SQLite and PostgreSQL: every account gets
its own UUID ``sourced_id``, and the way down drops it without touching anything that
refers to an account."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.migration_helpers import REVISIONS, Database, run
from tests.test_migration_0011 import fill_before

BEFORE = REVISIONS[REVISIONS.index("0016") - 1]
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ROWS = (
    "SELECT id, email, role, active FROM users ORDER BY id",
    "SELECT homeroom_id, user_id FROM homeroom_teachers ORDER BY homeroom_id, user_id",
    "SELECT id, user_id FROM audit_events ORDER BY id",
)


@pytest.fixture
def filled(empty_database_url: str) -> Database:
    """Accounts at the revision before 0016: a teacher of a homeroom, and the trail's."""
    database = Database(empty_database_url)
    fill_before(database)
    run(database, "upgrade", BEFORE)
    [(year_id,)] = database.query("SELECT id FROM school_years")
    database.execute(
        "INSERT INTO users (id, email, password_hash, role, active, session_token, created_at)"
        " VALUES (1, 'boss@school.example', 'x', 'admin', true, 't1', '2026-01-01'),"
        " (2, 'ann.lee@school.example', 'x', 'teacher', true, 't2', '2026-01-01'),"
        " (3, 'old@school.example', 'x', 'viewer', false, 't3', '2026-01-01')",
        "INSERT INTO homerooms (id, sourced_id, school_year_id, name, grade, capacity,"
        " created_at, updated_at) VALUES (1, '00000000-0000-4000-8000-000000000001',"
        f" {year_id}, '5B', 5, 25, '2026-01-01', '2026-01-01')",
        "INSERT INTO homeroom_teachers (homeroom_id, user_id) VALUES (1, 2)",
        "UPDATE audit_events SET user_id = 1 WHERE id = 1",
    )
    return database


def snapshot(database: Database) -> list[list[tuple]]:
    return [database.query(sql) for sql in ROWS]


def test_every_account_gets_its_own_uuid_and_the_way_down_keeps_the_rows(
    filled: Database,
) -> None:
    before = snapshot(filled)
    run(filled, "upgrade", "0016")

    assert snapshot(filled) == before
    ids = [row[0] for row in filled.query("SELECT sourced_id FROM users ORDER BY id")]
    assert len(ids) == 3 == len(set(ids))
    assert all(UUID4.match(value) and str(uuid.UUID(value)) == value for value in ids)
    assert "uq_users_sourced_id" in filled.indexes()
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        filled.execute(f"UPDATE users SET sourced_id = '{ids[0]}' WHERE id = 2")

    run(filled, "downgrade", BEFORE)

    assert snapshot(filled) == before
    assert "uq_users_sourced_id" not in filled.indexes()
    columns = (
        [row[1] for row in filled.query("PRAGMA table_info(users)")]
        if (filled.dialect == "sqlite")
        else [
            row[0]
            for row in filled.query(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'users'"
            )
        ]
    )
    assert "sourced_id" not in columns
