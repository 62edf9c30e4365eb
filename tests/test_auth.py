"""Login, logout, sessions, lockout and rate limits."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from tests.accounts import ACCOUNTS
from tests.conftest import make_app
from tests.helpers import fetch_user
from webapp.auth import passwords
from webapp.extensions import db
from webapp.models import User
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


def test_lockout_after_five_failures_even_with_the_right_password(
    app: Flask, anonymous: FlaskClient
) -> None:
    editor = ACCOUNTS["editor"]
    for _ in range(5):
        assert login(anonymous, editor.email, "wrong-password").status_code == 422
    response = login(anonymous, editor.email, editor.password)
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    html = response.get_data(as_text=True)
    assert "locked until" in html
    assert re.search(r"about 1[45] minutes", html)
    assert fetch_user(app, editor.email).locked_until > utcnow()


def test_lockout_expires(app: Flask, anonymous: FlaskClient) -> None:
    editor = ACCOUNTS["editor"]
    with app.app_context():
        user = db.session.get(User, editor.id)
        user.locked_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert login(anonymous, editor.email, editor.password).status_code == 302


def test_successful_login_resets_the_failure_count(app: Flask, anonymous) -> None:
    editor = ACCOUNTS["editor"]
    for _ in range(4):
        login(anonymous, editor.email, "wrong-password")
    login(anonymous, editor.email, editor.password)
    assert fetch_user(app, editor.email).failed_logins == 0


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
