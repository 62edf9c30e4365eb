"""Forms of the import pages (Flask-WTF: every POST carries a CSRF token)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired, FileSize
from wtforms import BooleanField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # (WTForms 3.3; the stubs are 3.2)

from webapp.import_export.csvformat import FIELDS
from webapp.import_export.importer import date_order, format_size, too_large_message
from webapp.spreadsheets import DateOrder
from webapp.spreadsheets.dates import ORDER_LABELS

#: File name extensions the upload accepts.
EXTENSIONS = ["csv", "txt", "tsv", "xlsx", "ods"]

#: What a column can be imported as, in the order the preview's lists offer it.
TARGET_CHOICES = [
    SelectChoice("", "Not mapped yet"),
    SelectChoice("ignore", "Ignore this column"),
    SelectChoice("name", "Name (full name)"),
    SelectChoice("first_name", "First name (joined with the last name)"),
    SelectChoice("last_name", "Last name (joined with the first name)"),
    SelectChoice("email", "Email"),
    SelectChoice("grade", "Grade"),
    SelectChoice("birthday", "Birthday"),
    SelectChoice("enrolled_on", "Enrollment date"),
    SelectChoice("id", "ID (updates the student with this id)"),
]

#: How a date column's day-and-month dates may be read.
ORDER_CHOICES = [
    SelectChoice("", "Choose the order"),
    *(SelectChoice(order, ORDER_LABELS[order]) for order in ("dmy", "mdy")),
]


class UploadForm(FlaskForm):
    """Choose a file to preview: CSV, Excel workbook or OpenDocument spreadsheet.

    Args:
        max_bytes: the largest file accepted (``IMPORT_MAX_BYTES``).
        **kwargs: passed to :class:`flask_wtf.FlaskForm`.
    """

    file = FileField(
        "File",
        validators=[
            FileRequired("Choose a file to import."),
            FileAllowed(
                EXTENSIONS,
                "Choose a .csv, .xlsx or .ods file (CSV, Excel workbook or OpenDocument "
                "spreadsheet).",
            ),
        ],
        render_kw={
            "accept": ".csv,.txt,.tsv,.xlsx,.ods,text/csv,"
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,"
            "application/vnd.oasis.opendocument.spreadsheet"
        },
    )
    submit = SubmitField("Upload and preview")

    def __init__(self, *args: Any, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_bytes = max_bytes
        self.file.description = (
            "A CSV file (any common encoding and separator), an Excel workbook (.xlsx) or an "
            f"OpenDocument spreadsheet (.ods), with a header row, for example "
            f"{','.join(FIELDS)}. Up to {format_size(max_bytes)}. Nothing is saved before "
            "you confirm."
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


class MappingForm(FlaskForm):
    """Map each column of an upload to a field, and choose how dates are written.

    Built per upload by :func:`mapping_form`: a ``column_<n>`` list per column and an
    ``order_<field>`` list per date column whose values do not show their order.
    """

    submit = SubmitField("Update the preview")

    def column_fields(self) -> list[SelectField]:
        """The columns' lists, in column order."""
        return [field for field in self if field.name.startswith("column_")]

    def order_fields(self) -> list[SelectField]:
        """The date columns' lists of orders."""
        return [field for field in self if field.name.startswith("order_")]

    def targets(self) -> list[str | None]:
        """The target chosen for each column (``None`` when not mapped)."""
        return [field.data or None for field in self.column_fields()]

    def date_orders(self) -> dict[str, DateOrder]:
        """``{field: order}`` chosen for date columns."""
        return {
            field.name.removeprefix("order_"): order
            for field in self.order_fields()
            if (order := date_order(field.data)) is not None
        }


def mapping_form(
    headers: Sequence[str],
    targets: Sequence[str | None],
    ordered: Sequence[tuple[str, str, str | None]],
    **kwargs: Any,
) -> MappingForm:
    """Build the mapping form of an upload.

    Args:
        headers: the file's headers.
        targets: the current target (or ``None``) of each column.
        ordered: ``(field, header, order)`` of each date column whose order can be chosen.
        **kwargs: passed to the form (``formdata=None`` to show the stored choices).

    Returns:
        The form, its lists set to ``targets`` and ``ordered`` unless posted.
    """

    class Form(MappingForm):
        pass

    for index, header in enumerate(headers):
        name = header.strip() or f"column {index + 1}"
        field = SelectField(f"Import “{name}” as", choices=TARGET_CHOICES, default="")
        setattr(Form, f"column_{index}", field)
    for field_name, header, _ in ordered:
        field = SelectField(f"Dates in “{header}” are written", choices=ORDER_CHOICES, default="")
        setattr(Form, f"order_{field_name}", field)
    data = {f"column_{index}": target or "" for index, target in enumerate(targets)}
    data.update({f"order_{name}": order or "" for name, _, order in ordered})
    return Form(data=data, **kwargs)
