"""Forms of the account pages."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SearchField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # (WTForms 3.3; the stubs are 3.2)
from wtforms.validators import EqualTo, InputRequired, Length, Optional, ValidationError

from webapp.auth.passwords import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, check_password_rules
from webapp.models import Role

ROLE_CHOICES = [SelectChoice(role.value, role.label) for role in Role]
#: The account list's status filter: value, label, and the ``active`` it selects.
STATUSES = {
    "": ("Any status", None),
    "active": ("Active", True),
    "inactive": ("Deactivated", False),
}
PASSWORD_HELP = f"{PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters."


def _password_rules(form: FlaskForm, field: PasswordField) -> None:
    """The password rules of :func:`webapp.auth.passwords.check_password_rules`, inline."""
    try:
        check_password_rules(field.data or "")
    except ValueError as error:
        raise ValidationError(str(error)) from error


def _password_fields() -> tuple[PasswordField, PasswordField]:
    password = PasswordField(
        "Password",
        validators=[
            InputRequired("Enter a password."),
            _password_rules,
        ],
        description=PASSWORD_HELP,
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[
            InputRequired("Repeat the password."),
            EqualTo("password", "The passwords differ."),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    return password, confirm


class UserCreateForm(FlaskForm):
    """A new account: email, role, initial password."""

    email = EmailField(
        "Email", validators=[InputRequired("Enter an email address."), Length(max=254)]
    )
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.VIEWER.value)
    password, confirm = _password_fields()
    submit = SubmitField("Create account")


class RoleForm(FlaskForm):
    """Change an account's role."""

    role = SelectField("Role", choices=ROLE_CHOICES)
    submit = SubmitField("Change role")


class PasswordForm(FlaskForm):
    """Reset an account's password (ends its sessions)."""

    password, confirm = _password_fields()
    submit = SubmitField("Set password")


class ButtonForm(FlaskForm):
    """A POST-only button (deactivate, activate): only the CSRF token."""

    submit = SubmitField()


class AccountFilterForm(FlaskForm):
    """The account list's search and filters (a GET form: no CSRF token). A value it
    does not understand is an error on its field, and that filter is left out."""

    class Meta:
        csrf = False

    q = SearchField(
        "Search",
        validators=[Optional(), Length(max=254)],
        render_kw={"placeholder": "Part of an email address", "autocomplete": "off"},
    )
    role = SelectField("Role", choices=[SelectChoice("", "All roles"), *ROLE_CHOICES], default="")
    status = SelectField(
        "Status",
        choices=[SelectChoice(value, label) for value, (label, _) in STATUSES.items()],
        default="",
    )

    def search(self) -> str:
        """The search text, spaces trimmed; blank when absent or refused."""
        return "" if self.q.errors else " ".join((self.q.data or "").split())

    def chosen_role(self) -> Role | None:
        """The role to show; ``None`` for all (or when refused)."""
        return Role(self.role.data) if self.role.data and not self.role.errors else None

    def chosen_active(self) -> bool | None:
        """``True``: active accounts; ``False``: deactivated ones; ``None``: both."""
        return None if self.status.errors else STATUSES[self.status.data or ""][1]

    def url_args(self) -> dict[str, Any]:
        """The filters in effect, for the pager's links (nothing else of the query
        string: see issue 18, finding 6)."""
        args = {"q": self.search(), "role": self.role.data, "status": self.status.data}
        return {name: value for name, value in args.items() if value and not self[name].errors}
