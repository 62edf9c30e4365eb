"""Forms of the import pages (Flask-WTF: every POST carries a CSRF token)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired, FileSize
from wtforms import BooleanField, SubmitField

from webapp.import_export.csvformat import FIELDS
from webapp.import_export.importer import format_size, too_large_message


class UploadForm(FlaskForm):
    """Choose a CSV file to preview.

    Args:
        max_bytes: the largest file accepted (``IMPORT_MAX_BYTES``).
        **kwargs: passed to :class:`flask_wtf.FlaskForm`.
    """

    file = FileField(
        "CSV file",
        validators=[
            FileRequired("Choose a CSV file to import."),
            FileAllowed(["csv", "txt"], "Choose a .csv file (comma-separated values)."),
        ],
        render_kw={"accept": ".csv,text/csv"},
    )
    submit = SubmitField("Upload and preview")

    def __init__(self, *args: Any, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_bytes = max_bytes
        self.file.description = (
            f"UTF-8 CSV with a header line, for example {','.join(FIELDS)}. "
            f"Up to {format_size(max_bytes)}. Nothing is saved before you confirm."
        )
        # A new list per form: the class-level one is shared by every instance.
        self.file.validators = [
            *self.file.validators,
            FileSize(max_size=max_bytes, message=too_large_message(None, max_bytes)),
        ]


class ConfirmImportForm(FlaskForm):
    """Confirm or cancel a previewed import."""

    all_or_nothing = BooleanField(
        "Import nothing if any row has an error",
        description="Leave unticked to import the valid rows and skip the rows with errors.",
    )
    confirm = SubmitField("Import")
    cancel = SubmitField("Cancel import")
