"""Error pages: database unavailability is a 503 with Retry-After, a crash a bare 500."""

from __future__ import annotations

import logging
import sqlite3

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from tests.helpers import add_student
from webapp.extensions import db
from webapp.students import roster, service


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked")),
        OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly")),
        PoolTimeoutError("QueuePool limit of size 5 overflow 10 reached"),
    ],
)
def test_database_unavailable_is_503_with_retry_after(
    app: Flask, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    def unavailable(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(roster, "roster_page", unavailable)
    response = app.test_client().get("/students/")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    html = response.get_data(as_text=True)
    assert "Temporarily unavailable" in html
    assert "database is locked" not in html
    assert "SELECT" not in html


def test_locked_database_on_save_is_503_and_nothing_is_written(
    app: Flask, database_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holds SQLite's write lock past the busy timeout: 503, no 500."""
    monkeypatch.setattr("webapp.database.SQLITE_BUSY_TIMEOUT_MS", 50)
    locker = sqlite3.connect(database_path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        client = app.test_client()
        with app.app_context():
            db.engine.dispose()  # new connections pick up the short busy timeout
        response = client.post(
            "/students/new", data={"name": "Ada", "grade": "5", "enrolled_on": "2020-01-01"}
        )
    finally:
        locker.rollback()
        locker.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM students")).scalar() == 0


def test_500_page_shows_no_traceback_sql_or_path_and_logs_them(
    app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    add_student(app, name="Ada")

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("SELECT secret FROM students -- /srv/webapp/service.py")

    monkeypatch.setattr(roster, "roster_page", broken)
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/students/")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    for leak in ("Traceback", "SELECT", "/srv/", "ZeroDivisionError", ".py"):
        assert leak not in html
    assert "ZeroDivisionError" in caplog.text


def test_500_rolls_the_session_back(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure after a flush must not leave the row for a later commit to persist."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    from webapp.models import Student

    def flush_then_fail(student: Student, values: object, expected_version: object = None):
        db.session.add(Student(name="Half written", grade=5))
        db.session.flush()
        raise RuntimeError("boom")

    monkeypatch.setattr(service, "save_student", flush_then_fail)
    client = app.test_client()
    response = client.post(
        "/students/new", data={"name": "Ada", "grade": "5", "enrolled_on": "2020-01-01"}
    )
    assert response.status_code == 500
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM students")).scalar() == 0


#: An id no INTEGER column holds (over 64 bits), and the first one over PostgreSQL's 32.
HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/students/{HUGE}"),
        ("GET", f"/students/{HUGE}/edit"),
        ("POST", f"/students/{HUGE}/delete"),
        ("GET", f"/students/{HUGE}/history"),
        ("GET", "/students/2147483648"),
        ("GET", f"/users/{HUGE}"),
        ("POST", f"/users/{HUGE}/deactivate"),
        ("POST", f"/audit/{HUGE}/revert"),
    ],
)
def test_ids_too_large_for_the_database_are_not_found(app: Flask, method: str, path: str) -> None:
    assert app.test_client().open(path, method=method).status_code == 404


@pytest.mark.parametrize(
    "query",
    [f"page={HUGE}", f"user={HUGE}", "user=-1", "until=9999-12-31", "since=0001-01-01"],
)
def test_audit_log_filters_never_overflow(app: Flask, query: str) -> None:
    assert app.test_client().get(f"/audit/?{query}").status_code == 200
