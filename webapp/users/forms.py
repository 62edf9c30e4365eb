"""Forms of the account pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # (WTForms 3.3; the stubs are 3.2)
from wtforms.validators import EqualTo, InputRequired, Length, ValidationError

from webapp.auth.passwords import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, check_password_rules
from webapp.models import Role

ROLE_CHOICES = [SelectChoice(role.value, role.label) for role in Role]
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
