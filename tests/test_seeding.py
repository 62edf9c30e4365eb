"""Tests of the seed's machinery: the worker process and the CHECKs set aside on SQLite.

The seed command's behaviour (valid students, homerooms, guardians, counts) is tested
through the CLI in ``test_students_cli.py``; these tests cover what only large seeds use.
"""

from __future__ import annotations

import psycopg
import pytest
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from tests.test_search_index import by_rule, found, fts_in_step
from webapp.database import begin_write
from webapp.extensions import db
from webapp.homerooms.seeding import HomeroomFiller
from webapp.models import Enrollment, Guardian, GuardianPhone, Homeroom, Student
from webapp.students import bulk_load, bulk_postgres, seeding
from webapp.years.service import current_year_id


def _stored(model: type, order: str) -> list[tuple[object, ...]]:
    """Every row of ``model``'s table as the database holds it (text of dates included)."""
    table = model.__table__  # type: ignore[attr-defined]
    rows = db.session.execute(text(f"SELECT * FROM {table.name} ORDER BY {order}"))
    return [tuple(row) for row in rows]


def test_seed_in_a_worker_stores_what_a_seed_in_process_stores(app: Flask) -> None:
    """Same ``--seed``, same rows, stored alike (dates as the ORM stores them), whether
    generated in a worker process or here; only ids, UUIDs and emails' numbers differ.
    The first seed's search index, built by the worker, finds what the substring rule
    finds, on the connection that had searched the empty index before.

    About 5 s at load 4-5: the worker is a new Python process that imports the app's
    modules (``spawn``); the one test of that path.
    """
    seeded = {}
    for worker in (True, False):
        with app.app_context():
            if worker:  # FTS5 reads the empty search index on this connection first
                assert found("Norton") == set()
                db.session.rollback()
            filler = HomeroomFiller(current_year_id(), 10, "demo-password")
            seeding.seed_students(40, random_seed=5, filler=filler, worker=worker)
            assert filler.homerooms >= 4
            if worker:  # the worker built the search index (SQLite), the seed copied it
                names = db.session.scalars(select(Student.name)).all()
                for q in [*{name.split()[-1] for name in names}, "example", "a", ".1@"]:
                    assert found(q) == by_rule(q), q
                db.session.rollback()
                fts_in_step(app)
            students = _stored(Student, "id")[-40:]
            guardians = _stored(Guardian, "id")
            seeded[worker] = {
                # name, birthday, enrolled_on; created_at's form (not its time)
                "students": [(s[1], s[3], s[4], len(str(s[5])), s[5] == s[6]) for s in students],
                "guardians": [g[2] for g in guardians],
            }
            db.session.remove()
    assert seeded[True]["students"] == seeded[False]["students"]
    first = seeded[True]["guardians"]
    assert first
    assert seeded[False]["guardians"] == first + first
    with app.app_context():
        stored_by_orm = db.session.scalars(select(Student)).all()
        assert len(stored_by_orm) == 80
        assert all(s.birthday and s.created_at.tzinfo for s in stored_by_orm)
        assert db.session.scalar(select(Enrollment.homeroom_id).limit(1)) is not None
        assert db.session.scalar(select(Homeroom.id).limit(1)) is not None


def test_a_broken_row_written_with_checks_set_aside_is_refused(app: Flask) -> None:
    """SQLite checks the block's new rows afterwards; PostgreSQL checks each row."""
    with app.app_context():
        begin_write()
        seeding.seed_students(1, guardians=True)
        guardian_id = db.session.scalar(select(Guardian.id))
        table = GuardianPhone.__table__
        row = [(guardian_id, 9, "pager", "+12125550123")]
        columns = ("guardian_id", "position", "kind", "number")

        def write_a_broken_row() -> None:
            begin_write()
            with bulk_load.checks_set_aside([table]):  # type: ignore[list-item]
                bulk_load.write_rows(table, columns, row)  # type: ignore[arg-type]

        refusals = (bulk_load.CheckViolation, IntegrityError, psycopg.errors.CheckViolation)
        with pytest.raises(refusals) as raised:
            write_a_broken_row()
        if isinstance(raised.value, bulk_load.CheckViolation):
            assert "kind_known" in str(raised.value)
        db.session.rollback()
        pager = select(GuardianPhone.guardian_id).where(GuardianPhone.kind == "pager")
        assert db.session.scalar(pager) is None
        if db.session.get_bind().dialect.name == "sqlite":  # the pragma did not stay on
            assert db.session.execute(text("PRAGMA ignore_check_constraints")).scalar() == 0


def test_a_first_seed_that_fails_on_sqlite_rolls_back_through_its_rollback_journal(
    app: Flask,
) -> None:
    """A seed into an empty roster writes through a rollback journal on SQLite; failing
    half-way, it leaves nothing behind, and the database is in WAL mode again. On
    PostgreSQL, the same failure leaves nothing behind either."""
    sqlite = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    modes = []

    def fail_after_a_batch(added: int) -> None:
        if sqlite:
            modes.append(db.session.execute(text("PRAGMA journal_mode")).scalar())
        raise RuntimeError("stopped half-way")

    with app.app_context():
        with pytest.raises(RuntimeError, match="half-way"):
            seeding.seed_students(30, progress=fail_after_a_batch, worker=False)
        assert db.session.scalar(select(Student.id)) is None
        assert db.session.scalar(select(Guardian.id)) is None
        if sqlite:
            assert modes == ["truncate"]
            assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            # The search index's triggers are back (their drop was rolled back too).
            triggers = "SELECT count(*) FROM sqlite_master WHERE name LIKE 'trg_students_fts_%'"
            assert db.session.execute(text(triggers)).scalar() == 3
            db.session.rollback()
        seeding.seed_students(3, worker=False)
        assert db.session.scalar(select(func.count()).select_from(Student)) == 3


@pytest.mark.postgres_only
def test_a_first_seed_on_postgresql_keeps_its_schema_and_the_planner_statistics(
    app: Flask,
) -> None:
    """The tables a seed writes are analyzed as they grow, inside its transaction: a
    foreign-key check planned from the statistics of a near-empty ``homerooms`` (as
    ``flask db upgrade`` leaves them) read every homeroom for each enrollment, and a
    seed of 1,000,000 students took over ten minutes (``bulk_load.GrowingStatistics``)."""
    reltuples = text("SELECT reltuples FROM pg_class WHERE relname = :table")
    schema = text(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' UNION ALL"
        " SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f' ORDER BY 1"
    )
    with app.app_context():
        assert db.session.scalar(reltuples, {"table": "students"}) in (0, -1)
        before = db.session.scalars(schema).all()
        filler = HomeroomFiller(current_year_id(), 2, "demo-password")
        seeding.seed_students(300, random_seed=5, filler=filler, worker=False, guardians=False)
        # The indexes and foreign keys set aside for the first seed are all back.
        assert db.session.scalars(schema).all() == before
        assert db.session.scalar(reltuples, {"table": "students"}) == 300
        assert db.session.scalar(reltuples, {"table": "enrollments"}) == 300
        assert db.session.scalar(reltuples, {"table": "homerooms"}) == filler.homerooms >= 100


@pytest.mark.postgres_only
def test_a_row_written_with_foreign_keys_set_aside_is_checked_when_they_come_back(
    app: Flask,
) -> None:
    """A first seed on PostgreSQL drops the loaded tables' foreign keys and adds them
    again (each checked in one query); a row that breaks one fails the transaction, and
    the rollback brings back the keys and nothing of the rows."""
    keys = text(
        "SELECT count(*) FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid"
        " WHERE k.contype = 'f' AND t.relname = 'guardian_phones'"
    )
    with app.app_context():
        assert db.session.scalar(keys) == 1
        table = GuardianPhone.__table__
        begin_write()
        with (  # noqa: PT012  (the error comes from the block's end)
            pytest.raises(IntegrityError, match="fk_guardian_phones"),
            bulk_postgres.foreign_keys_set_aside(["guardian_phones"], when=True),
        ):
            assert db.session.scalar(keys) == 0
            bulk_load.write_rows(
                table,  # type: ignore[arg-type]
                ("guardian_id", "position", "kind", "number"),
                [(999_999, 1, "mobile", "+12125550123")],
            )
        db.session.rollback()
        assert db.session.scalar(keys) == 1
        assert db.session.scalar(select(func.count()).select_from(GuardianPhone)) == 0
