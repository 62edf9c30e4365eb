"""Account administration: the /users/ pages and the ``flask users`` commands."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from tests.accounts import ACCOUNTS
from tests.helpers import fetch_user
from webapp.extensions import db
from webapp.models import User

NEW_PASSWORD = "a-good-password-1"


def test_admin_lists_accounts(client: FlaskClient) -> None:
    html = client.get("/users/").get_data(as_text=True)
    for account in ACCOUNTS.values():
        assert account.email in html


def test_admin_creates_an_account(app: Flask, client: FlaskClient) -> None:
    response = client.post(
        "/users/new",
        data={
            "email": "New.Teacher@School.example",
            "role": "editor",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    user = fetch_user(app, "New.Teacher@school.example")
    assert user is not None
    assert (user.role, user.active) == ("editor", True)
    assert user.password_hash.startswith(app.config["PASSWORD_HASH_METHOD"])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"email": "EDITOR@school.example"}, "Another account already uses this email"),
        ({"email": "not-an-email"}, "valid email"),
        ({"password": "short", "confirm": "short"}, "8 to 128 characters"),
        ({"confirm": "something-else"}, "The passwords differ."),
        ({"role": "superuser"}, "Not a valid choice"),
    ],
)
def test_invalid_account_form_is_422(client: FlaskClient, changes: dict, message: str) -> None:
    data = {"email": "x@school.example", "role": "viewer", "password": NEW_PASSWORD}
    data["confirm"] = NEW_PASSWORD
    data.update(changes)
    response = client.post("/users/new", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_admin_changes_a_role(app: Flask, client: FlaskClient) -> None:
    response = client.post(f"/users/{ACCOUNTS['viewer'].id}/role", data={"role": "editor"})
    assert response.status_code == 302
    assert fetch_user(app, ACCOUNTS["viewer"].email).role == "editor"


def test_last_active_admin_cannot_be_demoted_or_deactivated(app: Flask, client) -> None:
    admin_id = ACCOUNTS["admin"].id
    response = client.post(f"/users/{admin_id}/role", data={"role": "viewer"})
    assert response.status_code == 409
    assert "last active administrator" in response.get_data(as_text=True)
    response = client.post(f"/users/{admin_id}/deactivate")
    assert response.status_code == 409
    user = fetch_user(app, ACCOUNTS["admin"].email)
    assert (user.role, user.active) == ("admin", True)


def test_an_admin_can_be_demoted_when_another_remains(app: Flask, client) -> None:
    client.post(f"/users/{ACCOUNTS['editor'].id}/role", data={"role": "admin"})
    response = client.post(f"/users/{ACCOUNTS['admin'].id}/role", data={"role": "editor"})
    assert response.status_code == 302


def test_deactivate_and_activate(app: Flask, client: FlaskClient) -> None:
    viewer = ACCOUNTS["viewer"]
    assert client.post(f"/users/{viewer.id}/deactivate").status_code == 302
    assert fetch_user(app, viewer.email).active is False
    assert client.post(f"/users/{viewer.id}/activate").status_code == 302
    assert fetch_user(app, viewer.email).active is True


def test_unknown_account_is_404(client: FlaskClient) -> None:
    assert client.get("/users/999").status_code == 404


# --- CLI ----------------------------------------------------------------------------------


def test_cli_create_with_password_option(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=[
            "users",
            "create",
            "ops@school.example",
            "--role",
            "admin",
            "--password",
            NEW_PASSWORD,
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Created ops@school.example (admin)." in result.output
    assert fetch_user(app, "ops@school.example").role == "admin"


def test_cli_create_prompts_for_a_hidden_confirmed_password(app: Flask, runner) -> None:
    result = runner.invoke(
        args=["users", "create", "prompted@school.example"],
        input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert NEW_PASSWORD not in result.output
    assert "Repeat for confirmation" in result.output
    assert fetch_user(app, "prompted@school.example").role == "viewer"


def test_cli_create_refuses_a_short_password(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["users", "create", "x@school.example", "--password", "short"])
    assert result.exit_code == 1
    assert "at least 8 characters" in result.output


def test_cli_create_refuses_a_password_of_spaces(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["users", "create", "x@school.example", "--password", " " * 8])
    assert result.exit_code == 1
    assert "cannot be only spaces" in result.output


def test_cli_list(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["users", "list"])
    assert result.exit_code == 0
    for account in ACCOUNTS.values():
        assert account.email in result.output


def test_cli_set_role_deactivate_set_password(app: Flask, runner: FlaskCliRunner) -> None:
    email = ACCOUNTS["viewer"].email
    assert runner.invoke(args=["users", "set-role", email, "editor"]).exit_code == 0
    assert runner.invoke(args=["users", "deactivate", email]).exit_code == 0
    result = runner.invoke(args=["users", "set-password", email, "--password", NEW_PASSWORD])
    assert result.exit_code == 0, result.output
    user = fetch_user(app, email)
    assert (user.role, user.active) == ("editor", False)
    assert user.session_token != ACCOUNTS["viewer"].session_token


def test_cli_refuses_to_remove_the_last_admin(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["users", "deactivate", ACCOUNTS["admin"].email])
    assert result.exit_code == 1
    assert "last active administrator" in result.output


def test_cli_unknown_account(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["users", "set-role", "ghost@school.example", "admin"])
    assert result.exit_code == 1
    assert "No account with the email ghost@school.example" in result.output


def test_create_first_admin_only_when_there_is_no_admin(app: Flask, runner) -> None:
    result = runner.invoke(args=["users", "create-first-admin"])
    assert result.exit_code == 0
    assert result.output == ""  # an administrator exists
    with app.app_context():
        # Other accounts (seeded teachers, say) do not count.
        db.session.execute(db.delete(User).where(User.role == "admin"))
        db.session.commit()
    result = runner.invoke(args=["users", "create-first-admin", "--email", "boss@school.example"])
    assert result.exit_code == 0
    assert "Created the first administrator: boss@school.example" in result.output
    password = result.output.rsplit(": ", 1)[1].strip()
    assert len(password) >= 20
    assert fetch_user(app, "boss@school.example").role == "admin"


# --- sign-in waits -------------------------------------------------------------------------


def test_admin_sees_failed_sign_ins_and_unlocks_the_account(app: Flask) -> None:
    viewer = ACCOUNTS["viewer"]
    anonymous = app.test_client(user=None)
    anonymous.environ_base["REMOTE_ADDR"] = "203.0.113.5"
    for _ in range(6):
        anonymous.post("/login", data={"email": viewer.email, "password": "wrong-password"})
    data = {"email": viewer.email, "password": viewer.password}
    assert anonymous.post("/login", data=data).status_code == 429

    admin = app.test_client()
    page = admin.get(f"/users/{viewer.id}").get_data(as_text=True)
    assert "203.0.113.5" in page
    assert "Unlock: lift every wait" in page
    assert admin.post(f"/users/{viewer.id}/unlock").status_code == 302
    assert "No failed sign-ins lately." in admin.get(f"/users/{viewer.id}").get_data(as_text=True)
    assert anonymous.post("/login", data=data).status_code == 302


def test_cli_unlock(app: Flask, runner: FlaskCliRunner) -> None:
    viewer = ACCOUNTS["viewer"]
    anonymous = app.test_client(user=None)
    for _ in range(6):
        anonymous.post("/login", data={"email": viewer.email, "password": "wrong-password"})
    result = runner.invoke(args=["users", "unlock", viewer.email])
    assert result.exit_code == 0, result.output
    assert "Lifted" in result.output
    data = {"email": viewer.email, "password": viewer.password}
    assert anonymous.post("/login", data=data).status_code == 302
