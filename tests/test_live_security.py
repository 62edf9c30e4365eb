"""Issue 18's attacks, replayed against real gunicorn servers.

* Finding 1: login timing does not tell known emails from unknown ones.
* Finding 2: a client sending a POST body slowly does not hold SQLite's write lock.
* Finding 5 and structured logs: with ``LOG_FORMAT=json`` every line is one JSON object,
  a newline typed into the email forges no line, request lines carry their context.
* Several hosts: two gunicorn servers on one database and one Redis share the rate-limit
  counts, and a file uploaded through one is previewed and confirmed through the other
  (pending imports live in the database).
* Finding 3 (files that cost far more than their size) is replayed in
  ``tests/test_live_imports.py``.
"""

from __future__ import annotations

import json
import re
import socket
import statistics
import time
import urllib.parse
from pathlib import Path

import pytest
import redis

from bench import import_files
from bench.client import Client
from bench.server import ACCOUNTS, Server, gunicorn_server
from webapp.auth.passwords import DEFAULT_HASH_METHOD

pytestmark = pytest.mark.slow

#: Settings under which only the attack's own mechanism decides (no throttle, no limit).
UNTHROTTLED = {"LOGIN_MAX_FAILURES": "100000", "LOGIN_RATE_LIMIT": "100000 per minute"}


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "gunicorn.log"


def _login_post(client: Client, email: str, password: str) -> tuple[int, float]:
    """POST a login; return the status and the seconds the answer took."""
    token, _ = client.form("/login")
    started = time.perf_counter()
    reply = client.request("/login", {"csrf_token": token, "email": email, "password": password})
    return reply.status, time.perf_counter() - started


# The hash dominates; the database does not matter: it runs in the PostgreSQL suite, the
# shorter of the two that `make test` runs side by side.
@pytest.mark.postgres_only
def test_login_timing_does_not_tell_known_emails_from_unknown(
    database_url: str, log_path: Path
) -> None:
    # Production's cost (scrypt N=2^17, about 0.5 s), as in the review: at a quarter of it
    # the machine's noise came within a few points of the 20% bound (16% in one run).
    env = {**UNTHROTTLED, "FLASK_PASSWORD_HASH_METHOD": DEFAULT_HASH_METHOD}
    with gunicorn_server(database_url, log_path, workers=2, env=env) as server:
        known_email = ACCOUNTS["viewer"][0]
        client = Client(server.url)
        _login_post(client, "warm-up@example.org", "wrong-password")  # each worker's dummy
        _login_post(client, "warm-up@example.org", "wrong-password")
        known, unknown = [], []
        for attempt in range(12):  # interleaved, so that drift hits both alike
            status, seconds = _login_post(client, known_email, f"wrong-{attempt}")
            assert status == 422
            known.append(seconds)
            status, seconds = _login_post(client, f"nobody{attempt}@example.org", "wrong")
            assert status == 422
            unknown.append(seconds)
    known_median, unknown_median = statistics.median(known), statistics.median(unknown)
    ratio = abs(known_median - unknown_median) / max(known_median, unknown_median)
    assert ratio <= 0.2, f"known {known_median:.3f} s, unknown {unknown_median:.3f} s"


# --- finding 2 ---------------------------------------------------------------------------


class SlowPost:
    """A raw HTTP POST announcing a large body and sending a few bytes of it, then nothing."""

    def __init__(self, server: Server, path: str, headers: dict[str, str]) -> None:
        host, port = urllib.parse.urlsplit(server.url).netloc.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Length: 100000"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + b"csrf_token=")

    def close(self) -> None:
        self.sock.close()


def _cookie_header(client: Client) -> str:
    jar = client.opener.handlers  # the cookie processor's jar
    for handler in jar:
        cookies = getattr(handler, "cookiejar", None)
        if cookies is not None:
            return "; ".join(f"{c.name}={c.value}" for c in cookies)
    raise LookupError("no cookie jar")


def _save_seconds(writer: Client, name: str) -> float:
    token, _ = writer.form("/students/new")
    started = time.perf_counter()
    reply = writer.request("/students/new", {"csrf_token": token, "name": name, "grade": "4"})
    seconds = time.perf_counter() - started
    assert reply.status == 302, reply.text[:500]
    return seconds


@pytest.mark.sqlite_only  # SQLite's database-wide write lock
def test_a_slow_post_does_not_hold_the_write_lock(database_url: str, log_path: Path) -> None:
    with gunicorn_server(database_url, log_path, workers=3, env=UNTHROTTLED) as server:
        writer = Client(server.url, login=ACCOUNTS["editor"])
        attacker = Client(server.url, login=ACCOUNTS["viewer"])
        page = attacker.request("/students/").text
        found = re.search(r'name="csrf_token" value="([^"]+)"', page)  # the log-out form
        assert found is not None
        token = found.group(1)
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        attacks = {
            "anonymous logout": ("/logout", form),
            "anonymous login": ("/login", form),
            "viewer, token in a header, raw body": (
                "/students/new",
                {
                    "Content-Type": "application/octet-stream",
                    "Cookie": _cookie_header(attacker),
                    "X-CSRFToken": token,
                },
            ),
        }
        delays = {}
        for name, (path, headers) in attacks.items():
            slow = SlowPost(server, path, headers)
            try:
                time.sleep(0.5)  # the worker has the request and waits for its body
                delays[name] = _save_seconds(writer, f"Saved during {name}")
            finally:
                slow.close()
    assert all(seconds <= 1.0 for seconds in delays.values()), delays


# --- logs --------------------------------------------------------------------------------


@pytest.mark.sqlite_only  # logs do not depend on the database
def test_json_logs_one_object_per_line_with_request_context(
    database_url: str, log_path: Path
) -> None:
    with gunicorn_server(database_url, log_path, env={"LOG_FORMAT": "json"}) as server:
        client = Client(server.url)
        forged = "x@example.org\nINFO webapp.auth: Login: user_id=1 email=admin"
        assert _login_post(client, forged, "wrong-password")[0] == 422
        editor = Client(server.url, login=ACCOUNTS["editor"])
        assert editor.request("/students/?q=ada").status == 200
    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is JSON
    assert all(isinstance(record, dict) for record in records)
    assert not any(line.startswith("INFO webapp.auth") for line in lines)

    failed = [r for r in records if r["message"].startswith("Login failed")]
    assert len(failed) == 1
    assert "x@example.org\\nINFO webapp.auth" in failed[0]["message"]  # escaped, one line

    access = [r for r in records if r["logger"] == "webapp.access"]
    login = next(r for r in access if r["message"].startswith("POST /login 422"))
    roster = next(r for r in access if r["message"].startswith("GET /students/ 200"))
    for record in (login, roster):
        assert set(record) >= {"request_id", "account", "route", "status", "duration_ms"}
        assert len(record["request_id"]) == 32
        assert record["duration_ms"] >= 0
    assert (login["route"], login["status"], login["account"]) == ("/login", 422, None)
    assert (roster["route"], roster["status"]) == ("/students/", 200)
    assert isinstance(roster["account"], int)
    assert failed[0]["request_id"] == login["request_id"]
    assert "ada" not in roster["message"]  # no query strings (search terms) in the log


# --- several hosts -----------------------------------------------------------------------


def test_two_hosts_share_the_database_the_uploads_and_the_login_rate_limit(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """One scenario on one pair of servers (each gunicorn start costs seconds of CPU)."""
    redis.Redis.from_url(redis_url).flushdb()  # no counts left by an earlier test
    env = {"RATELIMIT_STORAGE_URI": redis_url, "LOGIN_RATE_LIMIT": "4 per minute"}
    with (
        gunicorn_server(database_url, tmp_path / "a.log", env=env) as one,
        gunicorn_server(database_url, tmp_path / "b.log", env=env, prepare=False) as other,
    ):
        # A save on one host is read on the other.
        first = Client(one.url, login=ACCOUNTS["editor"])
        assert _save_seconds(first, "Saved on the first host") < 30
        viewer = Client(other.url, login=ACCOUNTS["viewer"])
        assert "Saved on the first host" in viewer.request("/students/").text

        # A file uploaded on one host is previewed and confirmed on the other, where the
        # same account signs in.
        uploaded = import_files.upload(first, b"name,grade\nTwo Hosts Ada,7\nTwo Hosts Bo,8\n")
        assert uploaded.status == 200, uploaded.text[:500]
        assert uploaded.location is not None
        second = Client(other.url, login=ACCOUNTS["editor"])
        preview = second.request(uploaded.location)
        assert preview.status == 200
        assert re.search(r"<dt>New students</dt><dd>2</dd>", preview.text)
        token, _ = second.form(uploaded.location)
        confirmed = second.request(uploaded.location, {"csrf_token": token, "confirm": "Import"})
        assert confirmed.status == 303
        assert confirmed.location is not None
        assert "Import finished" in second.request(confirmed.location).text
        roster = first.request("/students/?q=Two+Hosts").text
        assert "Two Hosts Ada" in roster
        assert "Two Hosts Bo" in roster
        assert first.request(uploaded.location).status == 302  # used up, on every host

        # The login rate limit is counted once for both hosts.
        redis.Redis.from_url(redis_url).flushdb()  # the three logins above counted
        statuses = []
        for attempt in range(6):
            host = (one, other)[attempt % 2]
            statuses.append(_login_post(Client(host.url), f"n{attempt}@example.org", "x" * 8)[0])
        assert statuses == [422, 422, 422, 422, 429, 429]
