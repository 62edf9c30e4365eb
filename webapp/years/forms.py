"""Forms of the school year pages (Flask-WTF: every POST carries a CSRF token)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SubmitField

from webapp.fields.formfield import DeclaredField, add_declared_fields
from webapp.fields.school_year import SCHOOL_YEAR
from webapp.models import SchoolYear


class YearForm(FlaskForm):
    """Define or change a school year: name, first and last day (from their declarations).

    Args:
        year: the year being changed (its values fill the form), or ``None`` for a new one.
        **kwargs: passed to :class:`flask_wtf.FlaskForm`.
    """

    version = HiddenField()
    submit = SubmitField("Save")

    def __init__(self, *args: Any, year: SchoolYear | None = None, **kwargs: Any) -> None:
        if year is not None:
            kwargs.setdefault("obj", year)
        super().__init__(*args, **kwargs)
        self.year = year

    def declared_fields(self) -> list[DeclaredField]:
        """The year's fields, in declaration order."""
        return [self[declaration.name] for declaration in SCHOOL_YEAR.form_fields]

    def values(self) -> dict[str, Any]:
        """The cleaned values by field name."""
        return {field.name: field.data for field in self.declared_fields()}

    def validate(self, extra_validators: Any = None) -> bool:
        """Validate each field, then the last day against the first."""
        valid: bool = super().validate(extra_validators)
        invalid = {field.name for field in self.declared_fields() if field.errors}
        for name, message in SCHOOL_YEAR.check_record(self.values(), invalid):
            self[name].errors.append(message)
            valid = False
        return valid

    def expected_version(self) -> int | None:
        """The version the form was rendered from, or ``None`` when absent or garbled."""
        if not self.version.raw_data:
            return None
        try:
            number = int(self.version.raw_data[0])
        except ValueError:
            return None
        return number if number > 0 else None


add_declared_fields(YearForm, SCHOOL_YEAR)


class RolloverForm(FlaskForm):
    """The rollover page's form: the students held back (checkboxes named ``hold``, read by
    :meth:`holds`), whether the next year becomes current, and the two buttons."""

    make_current = BooleanField("Make the next year the current one", default=True)
    refresh = SubmitField("Update the preview")
    confirm = SubmitField("Confirm the rollover")

    def holds(self) -> set[int]:
        """The ids of the students ticked to be held back (garbled values ignored)."""
        values = request.form.getlist("hold") if request.method == "POST" else []
        return {int(value) for value in values if value.isdecimal() and len(value) < 12}


class ButtonForm(FlaskForm):
    """A POST button (make current, undo): only the CSRF token."""

    submit = SubmitField()
