"""Forms of the OneRoster pages (Flask-WTF: every POST carries a CSRF token)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired, FileSize
from wtforms import SelectField, SubmitField


class ExportForm(FlaskForm):
    """Choose the school year to download (a GET form: no CSRF token).

    Args:
        years: the school years' names, the current one first.
        **kwargs: passed to :class:`flask_wtf.FlaskForm`.
    """

    class Meta:
        csrf = False

    year = SelectField("School year")
    submit = SubmitField("Download the OneRoster zip", name="")

    def __init__(self, *args: Any, years: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.year.choices = [(name, name) for name in years]


class UploadBundleForm(FlaskForm):
    """Choose a OneRoster bundle (a zip) to preview.

    Args:
        max_bytes: the largest bundle accepted.
        **kwargs: passed to :class:`flask_wtf.FlaskForm`.
    """

    file = FileField(
        "OneRoster 1.2 CSV zip",
        validators=[
            FileRequired("Choose the zip file to import."),
            FileAllowed(["zip"], "Choose a .zip file (a OneRoster CSV bundle)."),
        ],
        render_kw={"accept": ".zip,application/zip"},
    )
    submit = SubmitField("Upload and preview")

    def __init__(self, *args: Any, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.file.description = (
            f"A bulk bundle from another system, up to {max_bytes // (1024 * 1024)} MB. "
            "Nothing is saved before you confirm."
        )
        self.file.validators = [
            *self.file.validators,
            FileSize(max_size=max_bytes, message=f"The zip is larger than {max_bytes:,} bytes."),
        ]


class ConfirmForm(FlaskForm):
    """Apply or cancel a previewed import."""

    confirm = SubmitField("Import")
    cancel = SubmitField("Cancel import")
