"""Forms of the auth blueprint."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField, SubmitField
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


class CodeForm(FlaskForm):
    """A code from the authenticator app, or a recovery code."""

    code = StringField(
        "Code",
        validators=[InputRequired("Enter the code."), Length(max=32)],
        description="The 6 digits your authenticator app shows now, or one of your recovery codes.",
        render_kw={
            "autocomplete": "one-time-code",
            "autocapitalize": "off",
            "spellcheck": "false",
        },
    )
    submit = SubmitField("Continue")


class SignInCodeForm(CodeForm):
    """The code step of a sign-in: the same field, focused when the page opens."""

    code = StringField(
        "Code",
        validators=[InputRequired("Enter the code."), Length(max=32)],
        description=CodeForm.code.kwargs["description"],
        render_kw={**CodeForm.code.kwargs["render_kw"], "autofocus": True},
    )


class ConfirmSetupForm(FlaskForm):
    """The first code of the app just set up, proving it has the secret."""

    code = StringField(
        "Code from the app",
        validators=[InputRequired("Enter the 6-digit code the app shows."), Length(max=32)],
        description="6 digits; a new code appears every 30 seconds.",
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    submit = SubmitField("Turn on two-factor sign-in")


class ButtonForm(FlaskForm):
    """A POST-only button: only the CSRF token."""

    submit = SubmitField()
