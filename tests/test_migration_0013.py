"""Revision 0013 on databases holding rows, on SQLite (batch mode) and PostgreSQL:
homerooms and the teacher role arrive without changing a row, and leave again."""

from __future__ import annotations

import pytest

from tests.migration_helpers import REVISIONS, Database, run
from tests.test_migration_0011 import fill_before

BEFORE = REVISIONS[REVISIONS.index("0013") - 1]

ROWS = (
    # What must come through the rebuilds of users and enrollments unchanged.
    "SELECT id, email, role, active FROM users ORDER BY id",
    "SELECT id, user_id, action, entity, entity_id FROM audit_events ORDER BY id",
    "SELECT id, user_id, kind FROM audit_batches ORDER BY id",
    "SELECT id, user_id, code_hash FROM recovery_codes ORDER BY id",
    "SELECT id, student_id, school_year_id, grade, status, version FROM enrollments ORDER BY id",
    "SELECT school_year_id, grade, status, students FROM enrollment_counts"
    " ORDER BY school_year_id, grade, status",
    "SELECT fingerprint, updated_by_id FROM import_mappings ORDER BY fingerprint",
)


@pytest.fixture
def at_0011(empty_database_url: str) -> Database:
    """Students, enrollments and audit events at the revision before 0013, with accounts
    that the trail, a batch, recovery codes and an import mapping refer to."""
    database = Database(empty_database_url)
    fill_before(database)
    run(database, "upgrade", BEFORE)
    database.execute(
        "INSERT INTO users (id, email, password_hash, role, active, session_token, created_at)"
        " VALUES (1, 'Boss@School.example', 'x', 'admin', true, 't1', '2026-01-01'),"
        " (2, 'clerk@school.example', 'x', 'editor', true, 't2', '2026-01-01')",
        "UPDATE audit_events SET user_id = 2 WHERE id IN (1, 2)",
        "INSERT INTO audit_batches (id, kind, occurred_at, user_id, actor, description)"
        " VALUES (1, 'rollover', '2026-01-03', 1, 'Boss@School.example', 'a batch')",
        "INSERT INTO recovery_codes (id, user_id, code_hash, created_at)"
        " VALUES (1, 1, 'h1', '2026-01-01'), (2, 1, 'h2', '2026-01-01')",
        "INSERT INTO import_mappings (fingerprint, headers, targets, date_orders, updated_at,"
        " updated_by_id) VALUES ('f1', '[]', '[]', '{}', '2026-01-01', 2)",
    )
    return database


def snapshot(database: Database) -> list[list[tuple]]:
    return [database.query(sql) for sql in ROWS]


def test_upgrade_keeps_every_row_and_what_refers_to_the_accounts(at_0011: Database) -> None:
    before = snapshot(at_0011)
    run(at_0011, "upgrade", "0013")
    assert snapshot(at_0011) == before
    assert before[-1] == [("f1", 2)]
    assert at_0011.query("SELECT count(*) FROM enrollments WHERE homeroom_id IS NOT NULL") == [(0,)]
    assert {"homerooms", "homeroom_teachers"} <= at_0011.tables()
    # The account email index survived the rebuild: another case of the same address fails.
    with pytest.raises(Exception, match=r"(?i)email"):
        at_0011.execute(
            "INSERT INTO users (id, email, password_hash, role, active, session_token,"
            " created_at) VALUES (10, 'boss@school.example', 'x', 'teacher', true, 't3',"
            " '2026-01-01')"
        )
    # The teacher role is allowed now; the counts' triggers still count.
    at_0011.execute(
        "INSERT INTO users (id, email, password_hash, role, active, session_token, created_at)"
        " VALUES (11, 't@school.example', 'x', 'teacher', true, 't4', '2026-01-01')",
        "INSERT INTO students (id, name, enrolled_on, created_at, updated_at, version, sourced_id)"
        " VALUES (20, 'New One', '2026-01-01', '2026-01-01', '2026-01-01', 1, 'new-one')",
        "INSERT INTO enrollments (sourced_id, student_id, school_year_id, grade, status,"
        " entered_on, version, created_at, updated_at) SELECT 'e-new', 20, id, 1, 'enrolled',"
        " '2026-01-01', 1, created_at, updated_at FROM school_years",
    )
    assert at_0011.query(
        "SELECT students FROM enrollment_counts WHERE grade = 1 AND status = 'enrolled'"
    ) == [(2,)]


def test_a_homeroom_of_another_year_is_refused_by_the_database(at_0011: Database) -> None:
    run(at_0011, "upgrade", "0013")
    at_0011.execute(
        "INSERT INTO school_years (sourced_id, name, starts_on, ends_on, is_current, version,"
        " created_at, updated_at) VALUES ('later', 'Later', '2100-09-01', '2101-08-31', false,"
        " 1, '2026-01-01', '2026-01-01')",
        "INSERT INTO homerooms (sourced_id, school_year_id, name, grade, capacity, version,"
        " created_at, updated_at) SELECT 'h-later', id, '5B', 5, 25, 1, '2026-01-01',"
        " '2026-01-01' FROM school_years WHERE name = 'Later'",
    )
    # (SQLite checks foreign keys only where a connection turns them on, as the app does.)
    pragma = ["PRAGMA foreign_keys=ON"] if at_0011.dialect == "sqlite" else []
    with pytest.raises(Exception, match=r"(?i)foreign key"):
        at_0011.execute(
            *pragma,
            "UPDATE enrollments SET homeroom_id = (SELECT id FROM homerooms) WHERE student_id = 1",
        )
    assert at_0011.query("SELECT count(*) FROM enrollments WHERE homeroom_id IS NOT NULL") == [(0,)]


def test_downgrade_drops_the_homerooms_and_deactivates_the_teachers(at_0011: Database) -> None:
    before = snapshot(at_0011)
    run(at_0011, "upgrade", "0013")
    at_0011.execute(
        "INSERT INTO users (id, email, password_hash, role, active, session_token, created_at)"
        " VALUES (3, 'teach@school.example', 'x', 'teacher', true, 't3', '2026-01-01')",
        "INSERT INTO homerooms (id, sourced_id, school_year_id, name, grade, capacity, version,"
        " created_at, updated_at) SELECT 7, 'h1', id, '5A', 5, 25, 1, '2026-01-01', '2026-01-01'"
        " FROM school_years",
        "INSERT INTO homeroom_teachers (homeroom_id, user_id) VALUES (7, 3)",
        "UPDATE enrollments SET homeroom_id = 7 WHERE student_id = 2",
        "INSERT INTO audit_events (id, occurred_at, actor, action, entity, entity_id, changes)"
        " VALUES (50, '2026-01-05', 'someone', 'create', 'homeroom', 7, '{}')",
    )
    run(at_0011, "downgrade", BEFORE)
    assert at_0011.current_revision() == BEFORE
    assert "homerooms" not in at_0011.tables()
    after = snapshot(at_0011)
    # Every earlier row is there (the homeroom's event is gone with it); the teacher stays,
    # as a viewer who cannot sign in until an administrator decides.
    assert after[0] == [*before[0], (3, "teach@school.example", "viewer", False)]
    assert after[1:] == before[1:]
    run(at_0011, "upgrade", "0013")
    assert snapshot(at_0011)[1:] == before[1:]
