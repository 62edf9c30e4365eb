"""Forms of the auth blueprint."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SubmitField
from wtforms.validators import InputRequired, Length

from webapp.auth.passwords import PASSWORD_MAX_LENGTH


class LoginForm(FlaskForm):
    """Email and password; ``next`` carries the page asked for before the login."""

    email = EmailField(
        "Email",
        validators=[InputRequired("Enter your email address."), Length(max=254)],
        render_kw={"autocomplete": "username", "autofocus": True},
    )
    password = PasswordField(
        "Password",
        validators=[InputRequired("Enter your password."), Length(max=PASSWORD_MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()
    submit = SubmitField("Log in")


class LogoutForm(FlaskForm):
    """The logout button: a POST with a CSRF token, so no link can log anyone out."""

    submit = SubmitField("Log out")
