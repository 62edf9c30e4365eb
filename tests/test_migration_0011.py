"""Revision 0011 on databases holding rows, on SQLite and PostgreSQL: each student's grade
becomes an enrollment in one current school year, and comes back on the way down."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from alembic.util import CommandError

from tests.migration_helpers import REVISIONS, Database, run
from tests.test_migrations import HEAD_COLUMNS, ROWS_AT_HEAD, TUTORIAL_ROWS
from tests.tutorial_db import make_tutorial_db

BEFORE = REVISIONS[REVISIONS.index("0011") - 1]

STUDENTS = [
    # id, name, grade, enrolled_on
    (1, "Ann Lee", 1, "2020-09-01"),
    (2, "Bob Stone", 5, "2018-09-03"),
    (3, "Cy Young", 12, "2014-09-01"),
]


def fill_before(database: Database) -> None:
    """Students with grades, and audit events: an update, its revert, a deletion."""
    run(database, "upgrade", BEFORE)
    rows = [
        "INSERT INTO students (id, name, grade, enrolled_on, created_at, updated_at, version)"
        f" VALUES ({sid}, '{name}', {grade}, '{enrolled}', '2026-01-01', '2026-01-01', 1)"
        for sid, name, grade, enrolled in STUDENTS
    ]
    events = [
        (1, "update", 2, "Bob Stone", {"grade": [4, 5]}, "NULL"),
        (2, "revert", 2, "Bob Stone", {"grade": [5, 4]}, "1"),
        (
            3,
            "delete",
            9,
            "Gone Student",
            {"name": ["Gone Student", None], "grade": [7, None]},
            "NULL",
        ),
    ]
    rows += [
        "INSERT INTO audit_events (id, occurred_at, user_id, actor, action, student_id,"
        f" student_name, changes, reverts_id) VALUES ({eid}, '2026-01-02', NULL, 'someone',"
        f" '{action}', {sid}, '{name}', '{json.dumps(changes)}', {reverts})"
        for eid, action, sid, name, changes, reverts in events
    ]
    database.execute(*rows)


@pytest.fixture
def filled(empty_database_url: str) -> Database:
    database = Database(empty_database_url)
    fill_before(database)
    return database


def test_each_grade_becomes_an_enrollment_in_one_current_year(filled: Database) -> None:
    run(filled, "upgrade", "0011")

    [(year_id, name, starts_on, ends_on, is_current)] = filled.query(
        "SELECT id, name, starts_on, ends_on, is_current FROM school_years"
    )
    assert bool(is_current)
    assert str(starts_on) <= date.today().isoformat() <= str(ends_on)
    assert re.fullmatch(r"\d{4}–\d{2}", name)
    enrollments = filled.query(
        "SELECT student_id, school_year_id, grade, status, status_on, entered_on"
        " FROM enrollments ORDER BY student_id"
    )
    assert [(s, y, g, st, on, str(e)) for s, y, g, st, on, e in enrollments] == [
        (sid, year_id, grade, "enrolled", None, enrolled) for sid, _, grade, enrolled in STUDENTS
    ]
    assert filled.query("SELECT grade, status, students FROM enrollment_counts ORDER BY grade") == [
        (1, "enrolled", 1),
        (5, "enrolled", 1),
        (12, "enrolled", 1),
    ]
    ids = filled.query(
        "SELECT sourced_id FROM students UNION ALL SELECT sourced_id FROM enrollments"
        " UNION ALL SELECT sourced_id FROM school_years"
    )
    assert len({row[0] for row in ids}) == 7
    assert all(re.fullmatch(r"[0-9a-f-]{36}", row[0]) for row in ids)
    assert "grade" not in {c[0] for c in filled.schema()["tables"]["students"]["columns"]}
    # Every event so far was about a student; the revert still points to its update.
    assert filled.query(
        "SELECT id, entity, entity_id, student_id, reverts_id FROM audit_events ORDER BY id"
    ) == [(1, "student", 2, 2, None), (2, "student", 2, 2, 1), (3, "student", 9, 9, None)]


def test_downgrade_gives_each_student_the_grade_of_the_current_year_else_the_latest(
    filled: Database,
) -> None:
    run(filled, "upgrade", "0011")
    filled.execute(
        # A later year (not current) where Ann is in grade 2, and an earlier one where a
        # new student, Dee, was in grade 3 and nothing since.
        "INSERT INTO school_years (sourced_id, name, starts_on, ends_on, is_current, version,"
        " created_at, updated_at) VALUES ('later', 'Later', '2100-09-01', '2101-08-31', false,"
        " 1, '2026-01-01', '2026-01-01'), ('earlier', 'Earlier', '1990-09-01', '1991-08-31',"
        " false, 1, '2026-01-01', '2026-01-01')",
        "INSERT INTO students (id, name, enrolled_on, created_at, updated_at, version, sourced_id)"
        " VALUES (4, 'Dee Old', '1990-09-01', '2026-01-01', '2026-01-01', 1, 'dee')",
        "INSERT INTO enrollments (sourced_id, student_id, school_year_id, grade, status,"
        " status_on, reason, entered_on, version, created_at, updated_at)"
        " SELECT 'ann-later', 1, id, 2, 'enrolled', NULL, NULL, starts_on, 1, created_at,"
        " updated_at FROM school_years WHERE name = 'Later'",
        "INSERT INTO enrollments (sourced_id, student_id, school_year_id, grade, status,"
        " status_on, reason, entered_on, version, created_at, updated_at)"
        " SELECT 'dee-earlier', 4, id, 3, 'withdrawn', '1991-01-10', 'Moved', starts_on, 1,"
        " created_at, updated_at FROM school_years WHERE name = 'Earlier'",
        # An enrollment's event, a school year's, and a deletion that kept the enrollments.
        "INSERT INTO audit_events (id, occurred_at, actor, action, entity, entity_id,"
        " student_id, student_name, changes) VALUES"
        " (4, '2026-01-03', 'someone', 'update', 'enrollment', 1, 1, 'Ann Lee',"
        " '{\"grade\": [1, 2]}'),"
        " (5, '2026-01-03', 'someone', 'update', 'school_year', 1, NULL, NULL,"
        " '{\"is_current\": [false, true]}'),"
        " (6, '2026-01-03', 'someone', 'delete', 'student', 8, 8, 'Eve Gone',"
        ' \'{"name": ["Eve Gone", null], "enrollments": [[{"grade": 9, "current": true}],'
        " null]}')",
    )

    run(filled, "downgrade", BEFORE)

    assert filled.query("SELECT id, grade FROM students ORDER BY id") == [
        (1, 1),  # the current year's grade, not the later year's
        (2, 5),
        (3, 12),
        (4, 3),  # no enrollment this year: the latest year's
    ]
    assert not {"school_years", "enrollments", "enrollment_counts", "rollovers"} & filled.tables()
    events = filled.query("SELECT id, student_id, changes FROM audit_events ORDER BY id")
    assert [row[:2] for row in events] == [(1, 2), (2, 2), (3, 9), (6, 8)]
    deletion = events[-1][2]
    deletion = json.loads(deletion) if isinstance(deletion, str) else deletion
    assert deletion == {"name": ["Eve Gone", None], "grade": [9, None]}

    run(filled, "upgrade", "0011")
    assert filled.query(HEAD_COLUMNS)[:1] == [(1, "Ann Lee", None, 1, None, date(2020, 9, 1))]


def test_downgrade_refuses_a_student_without_any_enrollment(filled: Database) -> None:
    run(filled, "upgrade", "0011")
    filled.execute("DELETE FROM enrollments WHERE student_id = 2")
    before = filled.snapshot()

    with pytest.raises(CommandError, match="student id 2 has no enrollment"):
        run(filled, "downgrade", BEFORE)

    assert filled.snapshot() == before
    assert filled.current_revision() == "0011"


@pytest.mark.parametrize("revision", REVISIONS[: REVISIONS.index("0011")])
def test_upgrade_from_every_earlier_revision_keeps_every_row(
    empty_database_url: str, revision: str
) -> None:
    database = Database(empty_database_url)
    make_tutorial_db(database.url, TUTORIAL_ROWS)
    run(database, "upgrade", revision)

    run(database, "upgrade", "head")

    assert database.query(HEAD_COLUMNS) == ROWS_AT_HEAD
