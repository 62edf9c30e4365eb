"""Login, logout, sessions, lockout and rate limits."""

from __future__ import annotations

import re
import sqlite3
import time
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from tests.accounts import ACCOUNTS
from tests.conftest import make_app
from tests.helpers import fetch_user
from webapp.auth import passwords, throttle
from webapp.extensions import db
from webapp.models import LoginThrottle, User
from webapp.models.types import utcnow


def login(client: FlaskClient, email: str, password: str, next_url: str | None = None):
    data = {"email": email, "password": password}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/login", data=data)


@pytest.fixture
def anonymous(app: Flask) -> FlaskClient:
    return app.test_client(user=None)


@pytest.mark.parametrize("path", ["/", "/students/", "/students/1", "/students/new", "/users/"])
def test_anonymous_is_sent_to_login_with_next(anonymous: FlaskClient, path: str) -> None:
    response = anonymous.get(path)
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")


@pytest.mark.parametrize("path", ["/login", "/healthz", "/static/css/app.css"])
def test_public_pages_need_no_login(anonymous: FlaskClient, path: str) -> None:
    assert anonymous.get(path).status_code == 200


def test_login_page_has_labelled_fields(anonymous: FlaskClient) -> None:
    html = anonymous.get("/login").get_data(as_text=True)
    assert '<label class="field__label" for="email">Email</label>' in html
    assert '<label class="field__label" for="password">Password</label>' in html
    assert 'autocomplete="current-password"' in html


def test_login_then_see_students_and_last_login_recorded(app: Flask, anonymous) -> None:
    editor = ACCOUNTS["editor"]
    response = login(anonymous, editor.email, editor.password)
    assert response.status_code == 302
    assert response.location == "/students/"
    assert anonymous.get("/students/").status_code == 200
    assert fetch_user(app, editor.email).last_login_at is not None


def test_login_email_is_case_insensitive(anonymous: FlaskClient) -> None:
    editor = ACCOUNTS["editor"]
    assert login(anonymous, editor.email.upper(), editor.password).status_code == 302


@pytest.mark.parametrize(
    ("email", "password"),
    [("editor@school.example", "wrong-password"), ("nobody@school.example", "whatever-123")],
)
def test_failed_login_gives_the_same_message_for_unknown_email_and_wrong_password(
    anonymous: FlaskClient, email: str, password: str
) -> None:
    response = login(anonymous, email, password)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "The email or password is not right." in html
    assert 'value="' + email + '"' in html  # the email typed is kept


def test_deactivated_account_cannot_log_in(app: Flask, anonymous: FlaskClient) -> None:
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == ACCOUNTS["viewer"].email))
        user.active = False
        db.session.commit()
    viewer = ACCOUNTS["viewer"]
    assert login(anonymous, viewer.email, viewer.password).status_code == 422


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example.com/",
        "//evil.example.com/",
        "/\\evil.example.com",
        "\\\\evil.example.com",
        "http:/evil.example.com",
        "javascript:alert(1)",
        " //evil.example.com",
        "/\t/evil.example.com",
    ],
)
def test_next_cannot_redirect_off_site(anonymous: FlaskClient, target: str) -> None:
    editor = ACCOUNTS["editor"]
    response = login(anonymous, editor.email, editor.password, next_url=target)
    assert response.status_code == 302
    assert response.location == "/students/"


def test_next_to_a_local_page_is_followed(anonymous: FlaskClient) -> None:
    editor = ACCOUNTS["editor"]
    response = login(anonymous, editor.email, editor.password, next_url="/students/?grade=3")
    assert response.location == "/students/?grade=3"


def test_login_starts_a_fresh_session(app: Flask) -> None:
    client = app.test_client(user=None)
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    editor = ACCOUNTS["editor"]
    login(client, editor.email, editor.password)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.permanent


def test_logout_is_post_only(client: FlaskClient) -> None:
    assert client.get("/logout").status_code == 405


def test_cookie_copied_before_logout_no_longer_works(app: Flask) -> None:
    client = app.test_client(user=None)
    editor = ACCOUNTS["editor"]
    login(client, editor.email, editor.password)
    stolen = client.get_cookie("session").value
    assert client.post("/logout").status_code == 302

    replay = app.test_client(user=None)
    replay.set_cookie("session", stolen)
    response = replay.get("/students/")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_password_change_ends_other_sessions(app: Flask) -> None:
    editor_client = app.test_client(user="editor")
    assert editor_client.get("/students/").status_code == 200
    admin = app.test_client(user="admin")
    response = admin.post(
        f"/users/{ACCOUNTS['editor'].id}/password",
        data={"password": "a-new-password-1", "confirm": "a-new-password-1"},
    )
    assert response.status_code == 302
    assert editor_client.get("/students/").status_code == 302


def test_deactivation_ends_the_session_at_once(app: Flask) -> None:
    viewer_client = app.test_client(user="viewer")
    assert viewer_client.get("/students/").status_code == 200
    app.test_client().post(f"/users/{ACCOUNTS['viewer'].id}/deactivate")
    assert viewer_client.get("/students/").status_code == 302


def test_idle_session_expires(app: Flask) -> None:
    assert app.permanent_session_lifetime == timedelta(minutes=30)  # SESSION_IDLE_MINUTES
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=1)
    client = app.test_client(user=None)
    editor = ACCOUNTS["editor"]
    login(client, editor.email, editor.password)
    assert client.get("/students/").status_code == 200  # activity renews the cookie
    time.sleep(2.1)
    assert client.get("/students/").status_code == 302


def test_five_failures_then_a_wait_even_with_the_right_password(
    app: Flask, anonymous: FlaskClient
) -> None:
    editor = ACCOUNTS["editor"]
    for _ in range(5):
        assert login(anonymous, editor.email, "wrong-password").status_code == 422
    response = login(anonymous, editor.email, editor.password)
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 30
    html = response.get_data(as_text=True)
    assert "Too many failed logins with this email from your network" in html
    assert re.search(r"Wait (29|30) seconds", html)
    assert "for this account" not in html


def _answers(client: FlaskClient, email: str, tries: int) -> list[tuple[int, str]]:
    """Status and page of ``tries`` failed logins, the email typed and times blanked."""
    answers = []
    for _ in range(tries):
        response = login(client, email, "wrong-password")
        page = response.get_data(as_text=True).replace(email, "EMAIL")
        page = re.sub(r"\d\d:\d\d:\d\d|\d+ seconds", "TIME", page)
        answers.append((response.status_code, page))
    return answers


def test_unknown_email_gets_exactly_the_same_answers_as_a_known_one(app: Flask) -> None:
    known = _answers(app.test_client(user=None), ACCOUNTS["editor"].email, 7)
    unknown = _answers(app.test_client(user=None), "nobody@school.example", 7)
    assert [status for status, _ in known] == [422] * 5 + [429] * 2
    assert known == unknown


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_guessing_from_elsewhere_never_locks_the_owner_out(app: Flask, role: str) -> None:
    account = ACCOUNTS[role]  # the admin is the last one
    attacker = app.test_client(user=None)
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    statuses = [login(attacker, account.email, f"guess-{n}").status_code for n in range(12)]
    assert statuses == [422] * 5 + [429] * 7

    owner = app.test_client(user=None)
    owner.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert login(owner, account.email, account.password).status_code == 302


def test_an_ipv6_client_is_throttled_by_its_64_network(app: Flask) -> None:
    editor = ACCOUNTS["editor"]
    for host in range(1, 6):
        client = app.test_client(user=None)
        client.environ_base["REMOTE_ADDR"] = f"2001:db8:1:2::{host:x}"
        assert login(client, editor.email, "wrong-password").status_code == 422
    other_host = app.test_client(user=None)
    other_host.environ_base["REMOTE_ADDR"] = "2001:db8:1:2:ffff::1"
    assert login(other_host, editor.email, editor.password).status_code == 429
    other_network = app.test_client(user=None)
    other_network.environ_base["REMOTE_ADDR"] = "2001:db8:1:3::1"
    assert login(other_network, editor.email, editor.password).status_code == 302


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [(4, None), (5, 30), (6, 60), (7, 120), (9, 480), (10, 900), (40, 900)],
)
def test_waits_grow_from_the_fifth_failure_up_to_fifteen_minutes(
    app: Flask, failures: int, seconds: int | None
) -> None:
    with app.app_context():
        wait = throttle.delay_after(failures)
    assert (wait.total_seconds() if wait else None) == seconds


def test_the_wait_expires(app: Flask, anonymous: FlaskClient) -> None:
    editor = ACCOUNTS["editor"]
    for _ in range(6):
        login(anonymous, editor.email, "wrong-password")
    with app.app_context():
        db.session.execute(
            db.update(LoginThrottle).values(blocked_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    assert login(anonymous, editor.email, editor.password).status_code == 302


def test_success_forgets_the_failures_from_that_address(app: Flask, anonymous) -> None:
    editor = ACCOUNTS["editor"]
    for _ in range(4):
        login(anonymous, editor.email, "wrong-password")
    assert login(anonymous, editor.email, editor.password).status_code == 302
    with app.app_context():
        assert db.session.scalars(db.select(LoginThrottle)).all() == []


def test_the_throttle_stores_no_email(app: Flask, anonymous: FlaskClient) -> None:
    login(anonymous, "Someone@School.example", "wrong-password")
    with app.app_context():
        row = db.session.scalars(db.select(LoginThrottle)).one()
        assert (row.step, row.client, row.failures) == ("password", "127.0.0.1", 1)
        assert row.subject == throttle.email_subject(" someone@school.EXAMPLE")
        assert "school" not in row.subject


@pytest.mark.sqlite_only
def test_a_post_refused_before_the_view_does_not_wait_for_the_write_lock(csrf_app: Flask) -> None:
    """The write transaction starts after the CSRF and login checks (finding 2)."""
    path = csrf_app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        assert csrf_app.test_client().post("/logout").status_code == 400  # no token
        anonymous = csrf_app.test_client(user=None)
        assert anonymous.post("/students/new", data={}).status_code in (302, 400)
        assert time.monotonic() - started < 2  # the busy timeout is 5 s
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_login_rate_limit_per_client_address(database_url: str) -> None:
    app = make_app(database_url, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client(user=None)
    statuses = [login(client, "nobody@example.org", "x" * 8).status_code for _ in range(4)]
    assert statuses == [422, 422, 422, 429]
    response = login(client, "nobody@example.org", "x" * 8)
    assert "Too many attempts" in response.get_data(as_text=True)
    assert "Retry-After" in response.headers


def test_login_with_csrf_on_needs_the_token(database_url: str) -> None:
    client = make_app(database_url, WTF_CSRF_ENABLED=True).test_client(user=None)
    editor = ACCOUNTS["editor"]
    assert login(client, editor.email, editor.password).status_code == 400


# --- passwords ----------------------------------------------------------------------------


def test_default_hash_meets_owasp_asvs_appendix_c(database_url: str) -> None:
    app = make_app(database_url, PASSWORD_HASH_METHOD=passwords.DEFAULT_HASH_METHOD)
    with app.app_context():
        hashed = passwords.hash_password("correct horse battery")
    method, n, r, p = hashed.split("$", 1)[0].split(":")
    assert method == "scrypt"
    assert int(n) >= 2**17
    assert (int(r), int(p)) == (8, 1)


def test_old_hash_is_upgraded_at_login(app: Flask, anonymous: FlaskClient) -> None:
    editor = ACCOUNTS["editor"]
    with app.app_context():
        user = db.session.get(User, editor.id)
        user.password_hash = generate_password_hash(editor.password, method="scrypt:16384:8:1")
        db.session.commit()
    login(anonymous, editor.email, editor.password)
    assert fetch_user(app, editor.email).password_hash.startswith(
        app.config["PASSWORD_HASH_METHOD"]
    )


@pytest.mark.parametrize(
    ("password", "ok"),
    [("x" * 7, False), ("x" * 8, True), ("x" * 64, True), ("x" * 128, True), ("x" * 129, False)],
)
def test_password_length_rules(password: str, ok: bool) -> None:
    if ok:
        assert passwords.check_password_rules(password) == password
    else:
        with pytest.raises(ValueError, match="characters"):
            passwords.check_password_rules(password)


def test_logs_record_logins_and_failures_without_secrets(
    anonymous: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    editor = ACCOUNTS["editor"]
    with caplog.at_level("INFO", logger="webapp.auth"):
        login(anonymous, editor.email, "wrong-password")
        login(anonymous, editor.email, editor.password)
        anonymous.get("/students/")
    text = caplog.text
    assert "Login failed" in text
    assert "Login: user_id=2" in text
    assert editor.password not in text
    assert "wrong-password" not in text
    assert "session" not in text.lower() or "session=" not in text
