"""Forms of the students blueprint (Flask-WTF, so every POST carries a CSRF token).

The student fields come from their declarations (:data:`webapp.fields.student.STUDENT`):
the same parsing, rules and messages as the CSV import.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SubmitField
from wtforms.validators import ValidationError

from webapp.fields.formfield import DeclaredField, WarningsConfirmation, add_declared_fields
from webapp.fields.student import STUDENT
from webapp.models import Student
from webapp.students.service import DUPLICATE_EMAIL_MESSAGE, email_taken


class StudentForm(FlaskForm):
    """Create or edit a student: one input per declared form field, plus the version.

    The declarations mirror the model's constraints (lengths, grade range, date rules), so
    a submission the form accepts is one the database accepts; the database checks them
    again anyway. Rules across fields (the enrollment date against the birthday) are
    checked on the values as they would be stored: on an edit, a blank enrollment date
    stands for the stored one.

    An unusual value (the declarations' warnings: a birthday that makes the student very
    young or very old on the enrollment date, an enrollment date before 1900) is possible,
    so it is not an error: the form is shown again with the warning and the
    ``confirm_warnings`` box ("Yes, this birthday is right"), and saves once it is ticked.
    Only the values being entered or changed are judged.

    On the edit form, a field sent back exactly as stored keeps its stored value and is not
    judged again (:attr:`DeclaredField.as_stored`): a record taken over from the
    tutorial, say Albert Einstein born in 1879, is saved after changing only its grade,
    without touching its other values.

    Args:
        student: the student being edited (its values fill the form unless ``formdata``
            says otherwise, and its own email does not count as taken); ``None`` on the
            create form.
        **kwargs: passed to :class:`flask_wtf.FlaskForm`.
    """

    #: Ticked to confirm the warnings shown (see :attr:`warnings`); labelled for them.
    confirm_warnings = BooleanField("Yes, this is right")
    #: The version of the record the form was rendered from (optimistic locking).
    version = HiddenField()
    submit = SubmitField("Save")
    save_and_add = SubmitField("Save and add another")

    def __init__(self, *args: Any, student: Student | None = None, **kwargs: Any) -> None:
        if student is not None:
            kwargs.setdefault("obj", student)
        super().__init__(*args, **kwargs)
        self.student = student
        #: The warnings of the last validation, and the box's value that confirms them.
        self.warnings = WarningsConfirmation(STUDENT, [], {})
        for field in self.declared_fields():
            if student is not None:
                field.stored = getattr(student, field.name)
                if field.declaration.description_existing is not None:
                    field.description = field.declaration.description_existing

    def declared_fields(self) -> list[DeclaredField]:
        """The student fields of the form, in declaration order."""
        return [self[declaration.name] for declaration in STUDENT.form_fields]

    def validate_email(self, field: DeclaredField) -> None:
        """Refuse an address another student already has (as the database compares)."""
        if field.as_stored:
            return
        exclude = self.student.id if self.student is not None else None
        if email_taken(field.data, exclude_id=exclude):
            raise ValidationError(DUPLICATE_EMAIL_MESSAGE)

    def validate(self, extra_validators: Any = None) -> bool:
        """Validate each field, then the rules across fields on the values to be stored,
        then collect the warnings of the values entered or changed (:attr:`warnings`).

        Returns:
            Whether every field and every record rule passed and the warnings, if any,
            are confirmed (the ``confirm_warnings`` box ticked for them).
        """
        valid: bool = super().validate(extra_validators)
        values = self.values()
        invalid = {field.name for field in self.declared_fields() if field.errors}
        for name, message in STUDENT.check_record(values, invalid):
            self[name].errors.append(message)
            invalid.add(name)
            valid = False
        judge = self.changed_fields(values)
        found = STUDENT.check_warnings(values, date.today(), judge, invalid)
        self.warnings = WarningsConfirmation(STUDENT, found, values)
        box = self.confirm_warnings
        box.label.text = self.warnings.label
        box.data = self.warnings.confirmed_by(box.raw_data)
        return valid and (not self.warnings or box.data)

    def changed_fields(self, values: dict[str, Any]) -> set[str]:
        """The fields whose value is entered or changed: all of them on the create form,
        those that differ from the stored values on the edit form."""
        if self.student is None:
            return set(values)
        return {name for name, value in values.items() if value != getattr(self.student, name)}

    def values(self) -> dict[str, Any]:
        """The cleaned values by field name, blanks resolved as the declarations say.

        A blank enrollment date is today for a new student and the stored date for the
        student being edited.
        """
        typed = {field.name: field.data for field in self.declared_fields()}
        stored = None
        if self.student is not None:
            stored = {name: getattr(self.student, name) for name in typed}
        return STUDENT.complete(typed, stored, date.today())

    def expected_version(self) -> int | None:
        """The version the form was rendered from, or ``None`` when absent or garbled."""
        return submitted_version(self.version)


add_declared_fields(StudentForm, STUDENT)


def submitted_version(field: HiddenField) -> int | None:
    """Read the version number the browser sent in ``field``.

    Only the submitted value counts: WTForms fills a field missing from the request with
    the object's current value (``obj=``), which would make a form without a version
    look up to date.

    Returns:
        The positive integer sent, or ``None`` when it is absent or not one.
    """
    if not field.raw_data:
        return None
    try:
        number = int(field.raw_data[0])
    except ValueError:
        return None
    return number if number > 0 else None


class ConfirmForm(FlaskForm):
    """The delete button: carries the CSRF token and the version the page showed."""

    version = HiddenField()
    submit = SubmitField("Delete")

    def expected_version(self) -> int | None:
        """The version the confirmation page showed, or ``None`` when absent or garbled."""
        return submitted_version(self.version)
