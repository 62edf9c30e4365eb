"""Log lines: control characters escaped (no forged lines), request context, JSON format."""

from __future__ import annotations

import io
import json
import logging

import pytest
from flask import g
from sqlalchemy import event, select

from tests.conftest import make_app
from webapp.extensions import db
from webapp.logs import RequestContextFilter, escape_controls
from webapp.models import User


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain", "plain"),
        ("a\nb\r\tc", "a\\nb\\r\\tc"),
        ("\x1b[31mred\x7f\x85", "\\x1b[31mred\\x7f\\x85"),
        ("line\u2028sep", "line\\u2028sep"),
        ("Émile back\\slash", "Émile back\\slash"),
    ],
)
def test_escape_controls(text: str, escaped: str) -> None:
    assert escape_controls(text) == escaped


def _capture(app) -> io.StringIO:
    """Point the app's log handler at a buffer."""
    stream = io.StringIO()
    (handler,) = [h for h in logging.getLogger("webapp").handlers if hasattr(h, "webapp_handler")]
    handler.setStream(stream)
    return stream


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_newline_in_the_email_forges_no_log_line(database_url: str, log_format: str) -> None:
    app = make_app(database_url, LOG_FORMAT=log_format)
    stream = _capture(app)
    forged = "x@example.org\n2026-11-30 10:00:00,000 INFO [-] webapp.auth: Login: user_id=1"
    client = app.test_client(user=None)
    assert client.post("/login", data={"email": forged, "password": "p" * 8}).status_code == 422
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2  # "Login failed" and the access line
    assert not any(line.startswith("2026-11-30 10:00:00,000") for line in lines)
    message = json.loads(lines[0])["message"] if log_format == "json" else lines[0]
    assert "x@example.org\\n2026-11-30" in message
    if log_format == "json":
        records = [json.loads(line) for line in lines]
        assert records[1]["status"] == 422
        assert records[1]["route"] == "/login"
        assert records[0]["request_id"] == records[1]["request_id"]


def test_each_response_carries_its_request_id(database_url: str) -> None:
    app = make_app(database_url)
    stream = _capture(app)
    response = app.test_client().get("/students/", headers={"X-Request-ID": "from-outside"})
    request_id = response.headers["X-Request-ID"]
    assert request_id != "from-outside"  # no proxy is trusted (PROXY_COUNT=0)
    assert f"[{request_id}] webapp.access: GET /students/ 200" in stream.getvalue()


def test_a_trusted_proxys_request_id_is_kept(database_url: str) -> None:
    app = make_app(database_url, PROXY_COUNT=1)
    response = app.test_client().get("/students/", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    bad = app.test_client().get("/students/", headers={"X-Request-ID": "a b;c"})
    assert bad.headers["X-Request-ID"] != "a b;c"


def test_the_log_context_issues_no_query_for_a_logged_in_account(database_url: str) -> None:
    """After a rollback the account's attributes are expired; reading one would query the
    database, which fails while it is down and turned a 503 into a 500 (the access line
    of a request that hit a PostgreSQL restart, tests/test_faults.py)."""
    app = make_app(database_url)
    with app.test_request_context("/students/"):
        user = db.session.scalars(select(User).limit(1)).one()
        user_id = user.id
        db.session.expire(user)
        g._login_user = user
        statements: list[str] = []
        engine = db.engine
        listen = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listen)
        try:
            record = logging.LogRecord("webapp.access", logging.INFO, __file__, 1, "x", None, None)
            assert RequestContextFilter().filter(record)
        finally:
            event.remove(engine, "before_cursor_execute", listen)
    assert record.account == user_id  # type: ignore[attr-defined]
    assert statements == []
