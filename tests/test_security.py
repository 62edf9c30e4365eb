"""Security headers on every response, and ``flask check-deploy``."""

from __future__ import annotations

import pytest
from flask import Flask, request
from flask.testing import FlaskClient

from tests.conftest import make_app
from tests.helpers import add_student

PAGES = [
    "/students/",
    "/students/{id}",
    "/students/new",
    "/students/{id}/edit",
    "/students/{id}/delete",
    "/students/999999",
    "/healthz",
    "/no-such-page",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_the_security_headers(app: Flask, client: FlaskClient, path: str) -> None:
    student_id = add_student(app, name="Ada")
    response = client.get(path.format(id=student_id))
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP


def test_pages_have_no_inline_script(app: Flask, client: FlaskClient) -> None:
    student_id = add_student(app, name="Ada")
    for path in PAGES:
        html = client.get(path.format(id=student_id)).get_data(as_text=True)
        assert "<script" not in html
        assert " on" + "click=" not in html
        assert "style=" not in html


def test_static_files_may_be_cached(client: FlaskClient) -> None:
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert response.headers.get("Cache-Control") != "no-store"


def test_hsts_on_https(client: FlaskClient) -> None:
    response = client.get("/students/", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_post_over_https_with_same_origin_referer_passes_csrf(csrf_app: Flask) -> None:
    """Referrer-Policy must let Flask-WTF's HTTPS referer check work."""
    client = csrf_app.test_client()
    base = "https://localhost"
    html = client.get("/students/new", base_url=base).get_data(as_text=True)
    token = html.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    data = {"csrf_token": token, "name": "Ada", "grade": "5", "enrolled_on": "", "version": "1"}
    no_referer = client.post("/students/new", data=data, base_url=base)
    assert no_referer.status_code == 400
    response = client.post(
        "/students/new", data=data, base_url=base, headers={"Referer": f"{base}/students/new"}
    )
    assert response.status_code == 302


def test_session_cookie_flags(csrf_app: Flask) -> None:
    client = csrf_app.test_client()
    response = client.get("/students/new")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP by default; SESSION_COOKIE_SECURE turns it on


def test_secure_cookie_when_configured(database_url: str) -> None:
    app = make_app(database_url, WTF_CSRF_ENABLED=True, SESSION_COOKIE_SECURE=True)
    response = app.test_client().get("/students/new", base_url="https://localhost")
    assert "Secure" in response.headers["Set-Cookie"]


def test_untrusted_host_is_refused(database_url: str) -> None:
    app = make_app(database_url, TRUSTED_HOSTS=["records.example.org"])
    client = app.test_client(user=None)
    assert client.get("/healthz", base_url="http://evil.example.com").status_code == 400
    assert client.get("/healthz", base_url="http://records.example.org").status_code == 200


@pytest.mark.parametrize(("proxies", "seen"), [(0, "http 127.0.0.1"), (1, "https 203.0.113.9")])
def test_forwarded_headers_are_trusted_only_with_proxy_count(
    database_url: str, proxies: int, seen: str
) -> None:
    app = make_app(database_url, PROXY_COUNT=proxies)

    @app.get("/whoami")
    def whoami() -> str:
        return f"{request.scheme} {request.remote_addr}"

    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    assert app.test_client().get("/whoami", headers=headers).get_data(as_text=True) == seen


def test_oversized_request_is_413(client: FlaskClient) -> None:
    response = client.post("/students/new", data={"name": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert "Too large" in response.get_data(as_text=True)


# --- flask check-deploy -----------------------------------------------------------------


def run_check(app: Flask) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["check-deploy"])
    return result.exit_code, result.output


def test_check_deploy_passes_a_good_configuration(database_url: str) -> None:
    app = make_app(
        database_url,
        TESTING=False,
        WTF_CSRF_ENABLED=True,
        SECRET_KEY="4f9c2b8e1d7a6f3c0b5e9d2a8c7f1e4b6d3a0c9f8e7b2d1a",
        SESSION_COOKIE_SECURE=True,
        FORCE_HTTPS=True,
        TRUSTED_HOSTS=["records.example.org"],
    )
    code, output = run_check(app)
    assert code == 0, output
    if database_url.startswith("sqlite"):
        assert "deploy.W006" in output  # SQLite: a warning, not an error
        assert "0 error(s) and 1 warning(s)" in output
    else:
        assert "0 error(s) and 0 warning(s)" in output


@pytest.mark.parametrize(
    ("settings", "finding"),
    [
        ({"SECRET_KEY": "dev"}, "deploy.E002"),
        ({"SECRET_KEY": "a" * 64}, "deploy.E002"),
        ({"SECRET_KEY": None}, "deploy.E001"),
        ({"FLASK_DEBUG": "1"}, "deploy.E003"),
        ({"TESTING": True}, "deploy.E004"),
        ({"SESSION_COOKIE_HTTPONLY": False}, "deploy.E005"),
        ({"WTF_CSRF_ENABLED": False}, "deploy.E006"),
    ],
)
def test_check_deploy_fails_on_each_error(
    database_url: str, monkeypatch: pytest.MonkeyPatch, settings: dict, finding: str
) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr("webapp.config.load_secret_key", lambda path: None)
    config = {
        "TESTING": False,
        "WTF_CSRF_ENABLED": True,
        "SECRET_KEY": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822c",
    }
    for name, value in settings.items():
        if name.startswith("FLASK_"):  # as an operator would: `flask` reads it at start
            monkeypatch.setenv(name, value)
        else:
            config[name] = value
    code, output = run_check(make_app(database_url, **config))
    assert code == 1
    assert f"ERROR ({finding})" in output
    assert "HINT:" in output


def test_check_deploy_reports_insecure_defaults_as_warnings(database_url: str) -> None:
    app = make_app(database_url, TESTING=False, WTF_CSRF_ENABLED=True)
    app.config["SECRET_KEY"] = "0123456789abcdef" * 4
    _, output = run_check(app)
    for finding in ("deploy.W001", "deploy.W002", "deploy.W004"):
        assert finding in output
    assert ("deploy.W006" in output) == database_url.startswith("sqlite")


def test_check_deploy_errors_on_unmigrated_database(empty_database_url: str) -> None:
    app = make_app(empty_database_url, TESTING=False, WTF_CSRF_ENABLED=True)
    code, output = run_check(app)
    assert code == 1
    assert "deploy.E007" in output
    assert "database not migrated" in output
