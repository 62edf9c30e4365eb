"""Forms of the audit pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # (WTForms 3.3; the stubs are 3.2)
from wtforms.validators import Optional

from webapp.models import Action


class LogFilterForm(FlaskForm):
    """The audit log's filters: a GET form, so no CSRF token and bookmarkable URLs."""

    class Meta:
        csrf = False

    #: An account's email address (typed: a district has thousands of accounts, and a
    #: choice of every one would make each page of the log grow with them); an account
    #: id, as older links give it, is accepted too.
    user = StringField(
        "Account",
        render_kw={"list": "audit-accounts", "autocomplete": "off", "placeholder": "Email"},
    )
    action = SelectField(
        "Action",
        choices=[SelectChoice("", "Any action")]
        + [SelectChoice(action.value, action.value.capitalize()) for action in Action],
        validators=[Optional()],
    )
    since = DateField("From", validators=[Optional()])
    until = DateField("To", validators=[Optional()])
    submit = SubmitField("Filter")


class UndoForm(FlaskForm):
    """The revert and restore buttons: only the CSRF token."""

    submit = SubmitField()
