"""The 503 page when the database fails in the middle of a request, and when its disk is full.

What the fault runs (``tests/test_faults.py``) meet for real, reproduced here cheaply:
the failure while the account is loaded, a connection whose ``ROLLBACK`` fails too (a
PostgreSQL restart ends sessions that way), SQLite's "database or disk is full".
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from flask import Flask
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from tests.accounts import ACCOUNTS
from webapp.extensions import db
from webapp.students import service


@contextmanager
def failing(app: Flask, name: str, listener) -> Iterator[None]:
    """Attach an engine event listener for the block."""
    with app.app_context():
        engine = db.engine
    event.listen(engine, name, listener)
    try:
        yield
    finally:
        event.remove(engine, name, listener)


def gone(*args: object, **kwargs: object) -> None:
    raise OperationalError("SELECT", {}, Exception("server closed the connection unexpectedly"))


def test_database_failing_while_the_account_loads_gets_a_503_page_for_a_visitor(
    app: Flask,
) -> None:
    client = app.test_client(user="editor")
    with failing(app, "before_cursor_execute", gone):
        response = client.get("/students/")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    html = response.get_data(as_text=True)
    assert "Temporarily unavailable" in html
    assert "Log out" not in html  # the account could not be loaded: shown as a visitor


@pytest.mark.postgres_only
def test_connection_ended_by_the_server_fails_its_rollback_and_still_gets_a_503(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restart ends the session under the request: the query and the ROLLBACK both fail.

    The account was loaded first, so the page still shows it; the dead connection is
    invalidated (not left checked out), and the next request gets a fresh one.
    """
    with app.app_context():
        engine = db.engine
    calls = []

    def rollback_ended(dbapi_connection) -> None:
        calls.append("rollback")
        raise psycopg.errors.AdminShutdown("terminating connection due to administrator command")

    def roster_fails(*args: object, **kwargs: object) -> None:
        monkeypatch.setattr(engine.dialect, "do_rollback", rollback_ended)
        gone()

    monkeypatch.setattr(service, "roster_page", roster_fails)
    client = app.test_client(user="editor")
    response = client.get("/students/")
    assert response.status_code == 503
    assert ACCOUNTS["editor"].email in response.get_data(as_text=True)
    assert calls == ["rollback"]
    assert engine.pool.checkedout() == 0
    monkeypatch.undo()
    assert client.get("/students/").status_code == 200


def test_full_disk_is_a_503_that_says_so(
    app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorname = "SQLITE_FULL"  # as SQLite's driver sets it

    def no_space(*args: object, **kwargs: object) -> None:
        raise OperationalError("INSERT", {}, full)

    monkeypatch.setattr(service, "roster_page", no_space)
    with caplog.at_level(logging.ERROR, logger="webapp.errors"):
        response = app.test_client().get("/students/")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    html = response.get_data(as_text=True)
    assert "run out of disk space, so nothing you sent was saved" in html
    assert "database or disk is full" not in html
    assert "Database disk full" in caplog.text
