"""``flask users ...``: manage staff accounts from the command line."""

from __future__ import annotations

from collections.abc import Callable

import click
from flask.cli import AppGroup

from webapp.auth.service import find_user
from webapp.extensions import db
from webapp.models import Role, User
from webapp.users import service

users_cli = AppGroup("users", help="Manage staff accounts.")

ROLE = click.Choice([role.value for role in Role])

#: ``--password``, asked for hidden and twice when not given on the command line (where it
#: would stay in the shell history).
password_option = click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Asked for (hidden, twice) when not given.",
)


def _account(email: str) -> User:
    user = find_user(email)
    if user is None:
        raise click.ClickException(f"No account with the email {email}.")
    return user


def _run(action: Callable[..., object], *args: object) -> None:
    """Run an account change, turning its refusal into the command's error message."""
    try:
        action(*args)
    except service.AccountError as error:
        raise click.ClickException(str(error)) from error


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=ROLE, default=Role.VIEWER.value, show_default=True)
@password_option
def create_command(email: str, role: str, password: str) -> None:
    """Create an account for EMAIL."""
    try:
        user = service.create_user(email, Role(role), password)
    except service.AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Created {user.email} ({user.role}).")


@users_cli.command("list")
def list_command() -> None:
    """List every account: email, role, status, last login."""
    users = db.session.scalars(db.select(User).order_by(User.email)).all()
    if not users:
        click.echo("No accounts. Create one with `flask users create EMAIL --role admin`.")
    for user in users:
        status = "active" if user.active else "deactivated"
        last = f"{user.last_login_at:%Y-%m-%d %H:%M} UTC" if user.last_login_at else "never"
        click.echo(f"{user.email:40} {user.role:7} {status:12} last login {last}")


@users_cli.command("set-role")
@click.argument("email")
@click.argument("role", type=ROLE)
def set_role_command(email: str, role: str) -> None:
    """Give the account EMAIL the role ROLE."""
    user = _account(email)
    _run(service.set_role, user, Role(role))
    click.echo(f"{user.email} is now {user.role}.")


@users_cli.command("deactivate")
@click.argument("email")
def deactivate_command(email: str) -> None:
    """Deactivate the account EMAIL and end its sessions."""
    user = _account(email)
    _run(service.deactivate, user)
    click.echo(f"Deactivated {user.email}.")


@users_cli.command("activate")
@click.argument("email")
def activate_command(email: str) -> None:
    """Let the deactivated account EMAIL log in again."""
    user = _account(email)
    _run(service.activate, user)
    click.echo(f"Activated {user.email}.")


@users_cli.command("set-password")
@click.argument("email")
@password_option
def set_password_command(email: str, password: str) -> None:
    """Set a new password for EMAIL, clear its lockout and end its sessions."""
    user = _account(email)
    _run(service.set_password, user, password)
    click.echo(f"Set a new password for {user.email}.")


@users_cli.command("unlock")
@click.argument("email")
def unlock_command(email: str) -> None:
    """Lift every sign-in wait on EMAIL (failed passwords or codes), from every address."""
    user = _account(email)
    service.unlock(user)
    click.echo(f"Lifted the sign-in waits on {user.email}.")


@users_cli.command("create-first-admin")
@click.option("--email", default="admin@example.org", show_default=True)
def create_first_admin_command(email: str) -> None:
    """Create an administrator with a generated password, if no administrator exists yet.

    The password is printed once; `make run` calls this. Does nothing when an account
    with the admin role exists (other accounts, such as the teachers that
    `flask students seed` makes, do not count).
    """
    created = service.create_first_admin(email)
    if created is None:
        return
    user, password = created
    click.echo(
        f"Created the first administrator: {user.email}\n"
        f"Password (shown once, change it after logging in): {password}"
    )
