"""Revision 0017 on databases holding homerooms, on SQLite and PostgreSQL: the index of a
year's homerooms by grade and name comes and goes, and no row changes."""

from __future__ import annotations

from tests.migration_helpers import REVISIONS, Database, run
from tests.test_migration_0011 import fill_before

BEFORE = REVISIONS[REVISIONS.index("0017") - 1]
INDEX = "ix_homerooms_year_grade_name"
ROWS = (
    "SELECT id, school_year_id, name, grade, capacity FROM homerooms ORDER BY id",
    "SELECT student_id, school_year_id, homeroom_id FROM enrollments ORDER BY student_id",
)


def test_the_index_comes_and_goes_and_every_homeroom_stays(empty_database_url: str) -> None:
    database = Database(empty_database_url)
    fill_before(database)
    run(database, "upgrade", BEFORE)
    [(year_id,)] = database.query("SELECT id FROM school_years")
    database.execute(
        "INSERT INTO homerooms (id, sourced_id, school_year_id, name, grade, capacity,"
        " created_at, updated_at) VALUES"
        f" (1, '00000000-0000-4000-8000-000000000001', {year_id}, '10A', 10, 25,"
        " '2026-01-01', '2026-01-01'),"
        f" (2, '00000000-0000-4000-8000-000000000002', {year_id}, '9B', 9, 25,"
        " '2026-01-01', '2026-01-01')",
        "UPDATE enrollments SET homeroom_id = 2 WHERE student_id = "
        "(SELECT min(student_id) FROM enrollments)",
    )
    before = [database.query(sql) for sql in ROWS]

    run(database, "upgrade", "0017")
    assert [database.query(sql) for sql in ROWS] == before
    assert INDEX in database.indexes()

    run(database, "downgrade", BEFORE)
    assert [database.query(sql) for sql in ROWS] == before
    assert INDEX not in database.indexes()
