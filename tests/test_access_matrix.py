"""The role matrix: every route of ``app.url_map`` for anonymous, teacher, viewer, editor and
admin,
and the security headers on every one of those answers.

``REQUIRED`` names the least role each endpoint needs (``None``: public). A route that is
added without an entry here fails the test, so nobody adds a page without deciding who
may see it. Expected answers: below the required role, anonymous visitors are sent to the
login page (302) and logged-in accounts get 403; at or above it, anything but those.
"""

from __future__ import annotations

from collections import Counter

import pytest
from flask import Flask

from tests.accounts import ACCOUNTS
from tests.guardian_helpers import add_guardian
from tests.helpers import add_student, current_enrollment, valid_form
from webapp.models import Role

REQUIRED: dict[str, Role | None] = {
    "static": None,
    "health.healthz": None,
    "auth.login": None,
    "auth.logout": Role.TEACHER,
    "auth.second_factor": None,
    "auth.two_factor_status": Role.TEACHER,
    "auth.two_factor_setup": Role.TEACHER,
    "auth.two_factor_disable": Role.TEACHER,
    "dashboard.index": Role.TEACHER,
    "students.index": Role.TEACHER,
    "students.detail": Role.TEACHER,
    "students.create": Role.EDITOR,
    "students.edit": Role.EDITOR,
    "students.delete": Role.EDITOR,
    "students.enrollment": Role.EDITOR,
    "students.enroll": Role.EDITOR,
    "years.index": Role.ADMIN,
    "years.create": Role.ADMIN,
    "years.edit": Role.ADMIN,
    "years.make_current": Role.ADMIN,
    "years.rollover_page": Role.ADMIN,
    "years.undo_rollover": Role.ADMIN,
    "users.index": Role.ADMIN,
    "users.create": Role.ADMIN,
    "users.manage": Role.ADMIN,
    "users.change_role": Role.ADMIN,
    "users.reset_password": Role.ADMIN,
    "users.deactivate": Role.ADMIN,
    "users.activate": Role.ADMIN,
    "users.unlock": Role.ADMIN,
    "users.reset_two_factor": Role.ADMIN,
    "audit.history": Role.TEACHER,
    "audit.log": Role.ADMIN,
    "audit.revert": Role.EDITOR,
    "audit.restore": Role.EDITOR,
    "import_export.upload": Role.EDITOR,
    "import_export.preview": Role.EDITOR,
    "import_export.confirm": Role.EDITOR,
    "import_export.result": Role.EDITOR,
    "import_export.status": Role.EDITOR,
    "import_export.remap": Role.EDITOR,
    "import_export.export_xlsx": Role.TEACHER,
    "import_export.export_csv": Role.TEACHER,
    "import_export.export_selection": Role.TEACHER,
    "students.bulk_preview": Role.EDITOR,
    "students.bulk_apply": Role.EDITOR,
    # Read by every account (a teacher: only their own homerooms, others are a 404).
    "homerooms.index": Role.TEACHER,
    "homerooms.detail": Role.TEACHER,
    "homerooms.print_list": Role.TEACHER,
    "homerooms.contacts_csv": Role.TEACHER,
    "homerooms.create": Role.EDITOR,
    "homerooms.edit": Role.EDITOR,
    "homerooms.delete": Role.EDITOR,
    "homerooms.assign": Role.EDITOR,
    "homerooms.remove": Role.EDITOR,
    "guardians.detail": Role.TEACHER,
    "guardians.create": Role.EDITOR,
    "guardians.edit": Role.EDITOR,
    "guardians.search": Role.EDITOR,
    "guardians.link": Role.EDITOR,
    "guardians.unlink": Role.EDITOR,
    "guardians.delete": Role.EDITOR,
    "oneroster.index": Role.ADMIN,
    "oneroster.export_zip": Role.ADMIN,
    "oneroster.preview": Role.ADMIN,
    "oneroster.confirm": Role.ADMIN,
}

CLIENTS = [None, "teacher", "viewer", "editor", "admin"]


def requests_for(
    app: Flask, student_id: int, event_id: int, **ids: int
) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every rule and method, with real ids filled in."""
    values = {
        "student_id": student_id,
        "user_id": ACCOUNTS["viewer"].id,
        "event_id": event_id,
        "filename": "css/app.css",
        **ids,
    }
    found = []
    for rule in app.url_map.iter_rules():
        url = rule.build({arg: values.get(arg, "x") for arg in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, url))
    # Logging out changes the account's session token: do it last.
    return sorted(found, key=lambda request: request[0] == "auth.logout")


def missing_security_headers(endpoint: str, headers) -> list[str]:
    """The security headers and cookie flags a response lacks (every route, every answer)."""
    expected = {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
    }
    missing = [name for name, value in expected.items() if headers.get(name) != value]
    csp = headers.get("Content-Security-Policy", "")
    if "default-src 'self'" not in csp or "frame-ancestors 'none'" not in csp:
        missing.append("Content-Security-Policy")
    if endpoint != "static" and headers.get("Cache-Control") != "no-store":
        missing.append("Cache-Control")
    for cookie in headers.get_all("Set-Cookie"):
        if "HttpOnly" not in cookie or "SameSite=Lax" not in cookie:
            missing.append(f"cookie flags: {cookie}")
    return missing


def allowed(client: str | None, needed: Role | None) -> bool:
    if needed is None:
        return True
    return client is not None and Role(client.rstrip("0123456789")).rank >= needed.rank


def test_every_route_is_in_the_matrix(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - set(REQUIRED) == set(), "add the new endpoints to REQUIRED"
    assert set(REQUIRED) - endpoints == set(), "remove endpoints that no longer exist"


@pytest.mark.parametrize("client_role", CLIENTS, ids=lambda r: r or "anonymous")
def test_role_matrix(app: Flask, client_role: str | None) -> None:
    created = app.test_client(user="admin").post("/students/new", data=valid_form())
    student_id = int(created.location.rsplit("/", 1)[1])
    enrollment = current_enrollment(app, student_id)
    assert enrollment is not None
    made = app.test_client(user="admin").post(
        "/homerooms/new", data={"name": "5B", "grade": "5", "capacity": "25"}
    )
    ids = {
        "homeroom_id": int(made.location.rsplit("/", 1)[1]),
        "enrollment_id": enrollment.id,
        "year_id": enrollment.school_year_id,
        "rollover_id": 1,
        "guardian_id": add_guardian(app, (student_id,)),
    }
    outcomes: Counter[str] = Counter()
    unexpected = []
    for endpoint, method, url in requests_for(app, student_id, event_id=1, **ids):
        # A fresh client per request: a logout or deactivation must not leak into the next.
        client = app.test_client(user=client_role)
        data = {**valid_form(), "role": "viewer", "password": "x" * 10, "confirm": "x" * 10}
        response = client.open(url, method=method, data=data if method == "POST" else None)
        response.close()  # a streamed export's generator ends with its request context
        status = response.status_code
        missing = missing_security_headers(endpoint, response.headers)
        if missing:
            unexpected.append(("MISSING HEADERS", endpoint, method, url, missing))
        to_login = status == 302 and response.location.startswith("/login")
        if endpoint == "auth.logout" and client_role is not None:
            ok = to_login  # logged out, back to the login page
        elif endpoint == "auth.second_factor":
            ok = to_login  # no password step awaits its code: back to the login page
        elif allowed(client_role, REQUIRED[endpoint]):
            ok = status != 403 and not to_login and status < 500
        elif client_role is None:
            ok = to_login
        else:
            ok = status == 403
        outcomes["expected" if ok else "unexpected"] += 1
        if not ok:
            unexpected.append((endpoint, method, url, status))
        if status == 200 and not allowed(client_role, REQUIRED[endpoint]):
            unexpected.append(("UNEXPECTED 200", endpoint, method, url))
    assert unexpected == [], "\n".join(map(str, unexpected))
    assert outcomes["expected"] >= len(REQUIRED)


def test_forbidden_is_a_friendly_403_page_and_logged(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="webapp.auth"):
        response = app.test_client(user="viewer").get("/students/new")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "You may not do that" in html
    assert 'class="site-header"' in html
    assert "Denied: user_id=3 role=viewer needs=editor GET /students/new" in caplog.text


def test_viewer_sees_no_write_buttons(app: Flask) -> None:
    student_id = add_student(app, name="Ada")
    client = app.test_client(user="viewer")
    for path in ("/students/", f"/students/{student_id}"):
        html = client.get(path).get_data(as_text=True)
        assert "/students/new" not in html
        assert f"/students/{student_id}/edit" not in html
        assert f"/students/{student_id}/delete" not in html
        assert "/users/" not in html


def test_editor_sees_write_buttons_but_not_accounts(app: Flask) -> None:
    student_id = add_student(app, name="Ada")
    html = app.test_client(user="editor").get(f"/students/{student_id}").get_data(as_text=True)
    assert f"/students/{student_id}/edit" in html
    assert "/users/" not in html
    html = app.test_client(user="admin").get("/students/").get_data(as_text=True)
    assert "/users/" in html
