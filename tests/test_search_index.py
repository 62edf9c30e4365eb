"""The roster's search index (migration 0015): same results as the plain rule, in step
with every write path.

* Equivalence: on generated names and emails (hypothesis), with ``%``, ``_``, ``/``,
  quotes, accents, dotted and dotless i, sharp s and every case, the roster's search
  (through the FTS5 trigram index on SQLite, the pg_trgm indexes on PostgreSQL) finds
  exactly the students :func:`webapp.students.search.plain_rule` finds, for texts of
  1 to 6 characters.
* In step: after writes through the forms, the CSV import, a revert, a restore, the seed
  command, raw SQL, and a takeover of tutorial rows, SQLite's FTS5 ``integrity-check``
  (which compares the index with ``students``, row by row) passes, and each student is
  found by a piece of its name.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select, text

from tests.helpers import add_student, valid_form
from webapp.extensions import db
from webapp.models import AuditEvent, Student
from webapp.students import search
from webapp.students.roster import (
    ALL,
    SEARCH_COUNT_LIMIT,
    RosterQuery,
    roster_statement,
    roster_total,
)
from webapp.students.search import plain_rule

#: Letters where case folding, escaping or the trigram tokenizer could differ from the rule.
ALPHABET = "aAbBeEéÉiIıİsSßẞkKK%_/\"' .@-ΣσςzZ"
TEXTS = st.text(alphabet=ALPHABET, min_size=1, max_size=12)


def found(q: str) -> set[int]:
    """Ids the roster's search finds for ``q`` (every status)."""
    statement = roster_statement(RosterQuery(q=q, status=ALL)).with_only_columns(Student.id)
    return set(db.session.scalars(statement))


def by_rule(q: str) -> set[int]:
    """Ids the plain substring rule finds for ``q``, without any index."""
    return set(db.session.scalars(select(Student.id).where(plain_rule(q))))


#: (COMMON_CANDIDATES, VERY_COMMON_CANDIDATES): the defaults, and limits that make every
#: text with a candidate common (SQLite walks the name index) or very common (the rule).
PLAN_LIMITS = {
    "candidates": (search.COMMON_CANDIDATES, search.VERY_COMMON_CANDIDATES),
    "walk": (0, 10**9),
    "rule": (0, 0),
}


@pytest.mark.parametrize(
    "plan",
    [
        "candidates",
        # PostgreSQL has one plan (its own planner's): these two are SQLite's.
        pytest.param("walk", marks=pytest.mark.sqlite_only),
        pytest.param("rule", marks=pytest.mark.sqlite_only),
    ],
)
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(st.tuples(TEXTS, st.none() | TEXTS), min_size=1, max_size=12),
    queries=st.lists(st.text(alphabet=ALPHABET, min_size=1, max_size=6), min_size=1, max_size=6),
)
def test_search_finds_exactly_what_the_plain_rule_finds(
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
    plan: str,
    rows: list[tuple[str, str | None]],
    queries: list[str],
) -> None:
    """Whichever way a search reads its rows (:class:`SearchPlan`), the page and the
    bounded count are the rule's."""
    common, very_common = PLAN_LIMITS[plan]
    monkeypatch.setattr(search, "COMMON_CANDIDATES", common)
    monkeypatch.setattr(search, "VERY_COMMON_CANDIDATES", very_common)
    with app.app_context():
        db.session.execute(delete(Student))
        values = [
            {"name": name if name.strip() else "x" + name, "email": email} for name, email in rows
        ]
        # Emails are unique case-insensitively: keep the first of each.
        seen: set[str] = set()
        for value in values:
            email = value["email"]
            if email is not None and email.lower() in seen:
                value["email"] = None
            elif email is not None:
                seen.add(email.lower())
        db.session.execute(insert(Student), values)
        for q in [*queries, *(name[1:5] for name, _ in rows)]:
            q = " ".join(q.split())
            if q:
                expected = by_rule(q)
                assert found(q) == expected, q
                total, _ = roster_total(RosterQuery(q=q, status=ALL))
                assert total == min(len(expected), SEARCH_COUNT_LIMIT), q
        db.session.rollback()


def fts_in_step(app: Flask) -> None:
    """Assert SQLite's FTS5 index matches ``students`` (its ``integrity-check`` with rank 1
    compares the index with the content table), and that every student is found by a
    piece of its name. On PostgreSQL only the second part (the index is PostgreSQL's)."""
    with app.app_context():
        if db.session.get_bind().dialect.name == "sqlite":
            db.session.execute(
                text("INSERT INTO students_fts (students_fts, rank) VALUES ('integrity-check', 1)")
            )
        for student in db.session.scalars(select(Student)):
            piece = " ".join(student.name.split())[1:6]
            if len(piece.strip()) == len(piece) >= 3:
                assert student.id in found(piece), student.name
        db.session.rollback()


@pytest.fixture
def editor(app: Flask) -> FlaskClient:
    return app.test_client(user="editor")


def test_index_follows_the_forms_revert_and_restore(app: Flask, editor: FlaskClient) -> None:
    response = editor.post("/students/new", data=valid_form(name="Grace Hopper"))
    student_id = int(response.location.rsplit("/", 1)[1])
    editor.post(
        f"/students/{student_id}/edit",
        data=valid_form(name="Wrong Name", email="wrong@example.org"),
    )
    fts_in_step(app)
    with app.app_context():
        assert found("Wrong") == {student_id}
        assert found("Hopper") == set()
        update = db.session.scalars(
            select(AuditEvent).where(AuditEvent.student_id == student_id).order_by(AuditEvent.id)
        ).all()[-1]
    editor.post(f"/audit/{update.id}/revert")
    fts_in_step(app)
    with app.app_context():
        assert found("Hopper") == {student_id}
        assert found("Wrong") == set()
    editor.post(f"/students/{student_id}/delete", data={"version": "3"})
    fts_in_step(app)
    with app.app_context():
        assert found("Hopper") == set()
        deletion = db.session.scalars(
            select(AuditEvent).where(AuditEvent.student_id == student_id).order_by(AuditEvent.id)
        ).all()[-1]
        assert deletion.action == "delete"
    editor.post(f"/audit/{deletion.id}/restore")
    fts_in_step(app)
    with app.app_context():
        assert found("Hopper") == {student_id}


def test_index_follows_import_seed_and_raw_sql(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "students.csv"
    path.write_text(
        "name,email,grade\nAda Lovelace,ada@example.org,7\nÉmile Zola,,8\n", encoding="utf-8"
    )
    assert runner.invoke(args=["students", "import", str(path)]).exit_code == 0
    assert runner.invoke(args=["students", "seed", "--count", "40"]).exit_code == 0
    kept = add_student(app, name="Kept Name")
    with app.app_context():
        db.session.execute(
            text("UPDATE students SET name = 'Renamed Raw' WHERE id = :id"), {"id": kept}
        )
        db.session.execute(text("DELETE FROM students WHERE name = 'Ada Lovelace'"))
        db.session.commit()
    fts_in_step(app)
    with app.app_context():
        assert found("Lovelace") == set()
        assert found("Renamed") == {kept}
        assert len(found("Zola")) == 1


@pytest.mark.sqlite_only
def test_the_triggers_exist_at_head(app: Flask) -> None:
    """A later revision that rebuilds ``students`` (batch mode) would drop them silently."""
    with app.app_context():
        names = set(
            db.session.scalars(
                text(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                    " AND tbl_name = 'students'"
                )
            )
        )
    assert {
        "trg_students_fts_insert",
        "trg_students_fts_delete",
        "trg_students_fts_update",
    } <= names
