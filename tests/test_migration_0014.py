"""Revision 0014 (guardians) on databases holding rows, on SQLite and PostgreSQL: every
student and audit event is kept on the way up and down, the new tables hold their
invariants, and the downgrade drops guardians and their events only."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from tests.migration_helpers import Database, run

STUDENTS = "SELECT id, name, email, sourced_id, version FROM students ORDER BY id"
EVENTS = (
    "SELECT id, action, entity, entity_id, student_id, reverts_id FROM audit_events ORDER BY id"
)


def fill_0011(database: Database) -> None:
    """Two students with enrollments' worth of rows and a revert chain in the trail."""
    run(database, "upgrade", "0011")
    database.execute(
        *(
            "INSERT INTO students (id, sourced_id, name, email, enrolled_on, created_at,"
            f" updated_at, version) VALUES ({sid}, '{sid:08d}-0000-4000-8000-000000000000',"
            f" '{name}', NULL, '2020-09-01', '2026-01-01', '2026-01-01', 2)"
            for sid, name in ((1, "Ann Lee"), (2, "Bob Lee"))
        ),
        *(
            "INSERT INTO audit_events (id, occurred_at, actor, action, entity, entity_id,"
            f" student_id, student_name, changes, reverts_id) VALUES ({eid}, '2026-01-02',"
            f" 'someone', '{action}', 'student', 1, 1, 'Ann Lee',"
            f" '{json.dumps({'name': ['A', 'Ann Lee']})}', {reverts})"
            for eid, action, reverts in ((1, "update", "NULL"), (2, "revert", "1"))
        ),
    )


@pytest.fixture
def at_0011(empty_database_url: str) -> Database:
    database = Database(empty_database_url)
    fill_0011(database)
    return database


def add_guardians(database: Database) -> None:
    database.execute(
        "INSERT INTO guardians (id, sourced_id, name, email, preferred_language, version,"
        " created_at, updated_at) VALUES (1, 'aaaaaaaa-0000-4000-8000-000000000000',"
        " 'Cat Lee', 'cat@example.org', 'es', 1, '2026-01-03', '2026-01-03')",
        "INSERT INTO guardian_phones (guardian_id, position, kind, number)"
        " VALUES (1, 1, 'mobile', '+12015550123'), (1, 2, 'work', '+442079460000')",
        *(
            "INSERT INTO student_guardians (student_id, guardian_id, relationship,"
            " emergency_contact, contact_order, version, created_at, updated_at)"
            f" VALUES ({sid}, 1, 'mother', true, 1, 1, '2026-01-03', '2026-01-03')"
            for sid in (1, 2)
        ),
        "INSERT INTO audit_events (id, occurred_at, actor, action, entity, entity_id,"
        " student_id, student_name, changes) VALUES (3, '2026-01-03', 'someone', 'create',"
        " 'guardian_link', 1, 1, 'Ann Lee', '{}')",
    )


def test_upgrade_keeps_every_student_and_event(at_0011: Database) -> None:
    students, events = at_0011.query(STUDENTS), at_0011.query(EVENTS)

    run(at_0011, "upgrade", "0014")

    assert at_0011.query(STUDENTS) == students
    assert at_0011.query(EVENTS) == events
    assert {"guardians", "guardian_phones", "student_guardians"} <= at_0011.tables()


def test_guardian_shared_by_siblings_with_phones_and_its_events(at_0011: Database) -> None:
    run(at_0011, "upgrade", "0014")

    add_guardians(at_0011)

    assert at_0011.query(
        "SELECT student_id, relationship, emergency_contact, lives_with, pickup_allowed"
        " FROM student_guardians ORDER BY student_id"
    ) == [(1, "mother", True, False, False), (2, "mother", True, False, False)]
    assert at_0011.query("SELECT entity FROM audit_events WHERE id = 3") == [("guardian_link",)]


@pytest.mark.parametrize(
    "statement",
    [
        # The same guardian linked to the same student twice.
        "INSERT INTO student_guardians (student_id, guardian_id, relationship, version,"
        " created_at, updated_at) VALUES (1, 1, 'father', 1, '2026-01-04', '2026-01-04')",
        # A relationship outside the vocabulary.
        "INSERT INTO student_guardians (student_id, guardian_id, relationship, version,"
        " created_at, updated_at) VALUES (1, 2, 'neighbour', 1, '2026-01-04', '2026-01-04')",
        # A number that is not E.164, a kind outside the vocabulary, a position 0.
        "INSERT INTO guardian_phones VALUES (1, 3, 'mobile', '0201 555 0123')",
        "INSERT INTO guardian_phones VALUES (1, 3, 'pager', '+12015550124')",
        "INSERT INTO guardian_phones VALUES (1, 0, 'home', '+12015550124')",
        "INSERT INTO audit_events (occurred_at, actor, action, entity, entity_id, changes)"
        " VALUES ('2026-01-04', 'x', 'create', 'homeroomz', 1, '{}')",
    ],
)
def test_new_tables_refuse_broken_invariants(at_0011: Database, statement: str) -> None:
    run(at_0011, "upgrade", "0014")
    add_guardians(at_0011)
    at_0011.execute(
        "INSERT INTO guardians (id, sourced_id, name, version, created_at, updated_at)"
        " VALUES (2, 'bbbbbbbb-0000-4000-8000-000000000000', 'Dan Lee', 1, '2026-01-03',"
        " '2026-01-03')"
    )

    with pytest.raises(sa.exc.IntegrityError):
        at_0011.execute(statement)


def test_deleting_a_student_deletes_its_links_not_the_guardian(at_0011: Database) -> None:
    run(at_0011, "upgrade", "0014")
    add_guardians(at_0011)

    with at_0011.connect() as connection:
        if at_0011.dialect == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys = ON")
        connection.exec_driver_sql("DELETE FROM students WHERE id = 1")
        connection.commit()

    assert at_0011.query("SELECT student_id FROM student_guardians") == [(2,)]
    assert at_0011.query("SELECT count(*) FROM guardians") == [(1,)]


def test_downgrade_drops_guardians_and_their_events_keeping_the_rest(at_0011: Database) -> None:
    students, events = at_0011.query(STUDENTS), at_0011.query(EVENTS)
    run(at_0011, "upgrade", "0014")
    add_guardians(at_0011)

    run(at_0011, "downgrade", "0012")

    assert at_0011.query(STUDENTS) == students
    assert at_0011.query(EVENTS) == events  # the revert still points at its update
    assert not {"guardians", "guardian_phones", "student_guardians"} & at_0011.tables()
    with pytest.raises(sa.exc.IntegrityError):
        at_0011.execute(
            "INSERT INTO audit_events (occurred_at, actor, action, entity, entity_id, changes)"
            " VALUES ('2026-01-04', 'x', 'create', 'guardian', 1, '{}')"
        )
    run(at_0011, "upgrade", "0014")
    assert at_0011.query(EVENTS) == events
