"""Two-factor sign-in: set-up, the second login step, recovery codes, throttling, reset."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.accounts import ACCOUNTS
from tests.conftest import make_app
from tests.helpers import fetch_user
from webapp.extensions import db
from webapp.models import RecoveryCode

CODE_STEP = 30


def _setup(client: FlaskClient) -> tuple[str, list[str]]:
    """Set up two-factor sign-in for the client's account; return the secret and codes."""
    page = client.get("/account/two-factor/setup").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page  # the QR code, made here: no CDN
    secret = re.search(r'<code class="secret"[^>]*>([A-Z2-7 ]+)</code>', page).group(1)
    secret = secret.replace(" ", "")
    response = client.post("/account/two-factor/setup", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", response.text)
    return secret, codes


def _password(client: FlaskClient, role: str):
    account = ACCOUNTS[role]
    return client.post("/login", data={"email": account.email, "password": account.password})


def _next_code(secret: str) -> str:
    """A code of the next step (accepted: one step of drift either way), not yet used."""
    return pyotp.TOTP(secret).at(time.time() + CODE_STEP)


def test_setup_shows_a_qr_code_and_ten_recovery_codes_stored_hashed(app: Flask) -> None:
    secret, codes = _setup(app.test_client(user="editor"))
    assert len(codes) == len(set(codes)) == 10
    user = fetch_user(app, ACCOUNTS["editor"].email)
    assert user.totp_secret == secret
    with app.app_context():
        stored = db.session.scalars(db.select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10
    assert not any(code.replace("-", "") in h or code in h for code in codes for h in stored)


def test_setup_refuses_a_wrong_code(client: FlaskClient, app: Flask) -> None:
    client.get("/account/two-factor/setup")
    response = client.post("/account/two-factor/setup", data={"code": "000000"})
    assert response.status_code == 422
    assert "not the code the app shows now" in response.text
    assert fetch_user(app, ACCOUNTS["admin"].email).totp_secret is None


def test_login_asks_for_the_code_after_the_password(app: Flask) -> None:
    secret, _ = _setup(app.test_client(user="editor"))
    client = app.test_client(user=None)
    response = _password(client, "editor")
    assert response.location == "/login/code"
    assert client.get("/students/").status_code == 302  # not logged in yet
    response = client.post("/login/code", data={"code": _next_code(secret)})
    assert response.status_code == 302
    assert response.location == "/students/"
    assert client.get("/students/").status_code == 200


def test_a_code_works_only_once(app: Flask) -> None:
    secret, _ = _setup(app.test_client(user="editor"))
    code = _next_code(secret)
    first = app.test_client(user=None)
    _password(first, "editor")
    assert first.post("/login/code", data={"code": code}).status_code == 302
    second = app.test_client(user=None)
    _password(second, "editor")
    response = second.post("/login/code", data={"code": code})
    assert response.status_code == 422
    assert "already used" in response.text


def test_a_recovery_code_signs_in_once(app: Flask) -> None:
    _, codes = _setup(app.test_client(user="editor"))
    for expected in (302, 422):
        client = app.test_client(user=None)
        _password(client, "editor")
        assert client.post("/login/code", data={"code": codes[3].upper()}).status_code == expected


def test_the_code_step_is_throttled_and_rate_limited(database_url: str) -> None:
    app = make_app(database_url)
    _setup(app.test_client(user="editor"))
    client = app.test_client(user=None)
    _password(client, "editor")
    statuses = [client.post("/login/code", data={"code": "123456"}).status_code for _ in range(7)]
    assert statuses == [422] * 5 + [429] * 2

    limited = make_app(database_url, RATELIMIT_ENABLED=True, SECOND_FACTOR_RATE_LIMIT="2/minute")
    other = limited.test_client(user=None)
    other.environ_base["REMOTE_ADDR"] = "192.0.2.1"
    _password(other, "editor")
    codes = [other.post("/login/code", data={"code": "1"}).status_code for _ in range(3)]
    assert codes[-1] == 429


def test_the_code_step_needs_the_password_step_first(app: Flask) -> None:
    client = app.test_client(user=None)
    assert client.get("/login/code").location == "/login"
    assert client.post("/login/code", data={"code": "123456"}).location == "/login"


def test_turning_it_off_needs_a_code(app: Flask) -> None:
    client = app.test_client(user="editor")
    secret, _ = _setup(client)
    assert client.post("/account/two-factor/disable", data={"code": "1"}).status_code == 422
    response = client.post("/account/two-factor/disable", data={"code": _next_code(secret)})
    assert response.status_code == 302
    assert fetch_user(app, ACCOUNTS["editor"].email).totp_secret is None


def test_admins_must_set_it_up_when_required(database_url: str) -> None:
    app = make_app(database_url, REQUIRE_2FA_FOR_ADMINS=True)
    admin = app.test_client(user="admin")
    response = admin.get("/students/")
    assert response.location == "/account/two-factor/setup"
    assert admin.get("/users/").location == "/account/two-factor/setup"
    assert app.test_client(user="editor").get("/students/").status_code == 200
    secret, _ = _setup(admin)
    assert admin.get("/users/").status_code == 200
    response = admin.post("/account/two-factor/disable", data={"code": _next_code(secret)})
    assert response.status_code == 422
    assert "cannot be turned off here" in response.text
    assert fetch_user(app, ACCOUNTS["admin"].email).totp_secret == secret


def test_an_admin_resets_a_lost_second_factor(app: Flask) -> None:
    editor_client = app.test_client(user="editor")
    _setup(editor_client)
    editor_id = ACCOUNTS["editor"].id
    page = app.test_client().get(f"/users/{editor_id}").get_data(as_text=True)
    assert "Reset two-factor sign-in" in page
    assert app.test_client().post(f"/users/{editor_id}/two-factor/reset").status_code == 302
    assert fetch_user(app, ACCOUNTS["editor"].email).totp_secret is None
    assert editor_client.get("/students/").status_code == 302  # sessions ended
    with app.app_context():
        assert db.session.scalars(db.select(RecoveryCode)).all() == []


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_every_role_can_open_its_two_factor_page(app: Flask, role: str) -> None:
    page = app.test_client(user=role).get("/account/two-factor")
    assert page.status_code == 200
    assert "Two-factor sign-in is <strong>off</strong>" in page.text
