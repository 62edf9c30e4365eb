"""Forms of the students blueprint (Flask-WTF, so every POST carries a CSRF token)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, HiddenField, IntegerField, StringField, SubmitField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from webapp.models.student import EMAIL_MAX_LENGTH, GRADE_MAX, GRADE_MIN, NAME_MAX_LENGTH
from webapp.students import rules
from webapp.students.service import DUPLICATE_EMAIL_MESSAGE, email_taken


def strip_text(value: object) -> object:
    """Field filter: remove surrounding whitespace from text input."""
    return value.strip() if isinstance(value, str) else value


class StudentForm(FlaskForm):
    """Create or edit a student.

    The validators mirror the model's constraints (lengths, grade range, date rules), so
    a submission the form accepts is one the database accepts; the database checks them
    again anyway.

    Args:
        student_id: the id of the student being edited, so that the student's own email
            does not count as taken; ``None`` on the create form.
        **kwargs: passed to :class:`flask_wtf.FlaskForm`.
    """

    name = StringField(
        "Name",
        # Length and the rest are checked after trimming, by rules.clean_name.
        validators=[InputRequired("Enter the student's name.")],
        render_kw={"maxlength": NAME_MAX_LENGTH, "autocomplete": "off"},
    )
    email = EmailField(
        "Email",
        validators=[Optional(), Length(max=EMAIL_MAX_LENGTH)],
        filters=[strip_text],
        description="Optional. Must be different from every other student's.",
        render_kw={"maxlength": EMAIL_MAX_LENGTH, "autocomplete": "off"},
    )
    grade = IntegerField(
        "Grade",
        validators=[
            InputRequired("Enter a grade from 1 to 12."),
            NumberRange(
                GRADE_MIN, GRADE_MAX, f"The grade must be from {GRADE_MIN} to {GRADE_MAX}."
            ),
        ],
        render_kw={"min": GRADE_MIN, "max": GRADE_MAX, "inputmode": "numeric"},
    )
    birthday = DateField(
        "Birthday",
        validators=[Optional()],
        description="Optional.",
        render_kw={"min": "1900-01-01"},
    )
    enrolled_on = DateField(
        "Enrollment date",
        validators=[Optional()],
        description="Today if left empty.",
        render_kw={"min": "1900-01-01"},
    )
    #: The version of the record the form was rendered from (optimistic locking).
    version = HiddenField()
    submit = SubmitField("Save")
    save_and_add = SubmitField("Save and add another")

    def __init__(self, *args: Any, student_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.student_id = student_id

    def validate_name(self, field: StringField) -> None:
        """Trim the name; refuse one that is only whitespace."""
        try:
            field.data = rules.clean_name(field.data)
        except ValueError as error:
            raise ValidationError(str(error)) from error

    def validate_email(self, field: EmailField) -> None:
        """Normalise the address and refuse one another student already has."""
        try:
            field.data = rules.clean_email(field.data)
        except ValueError as error:
            raise ValidationError(str(error)) from error
        if email_taken(field.data, exclude_id=self.student_id):
            raise ValidationError(DUPLICATE_EMAIL_MESSAGE)

    def validate_birthday(self, field: DateField) -> None:
        """Refuse a birthday before 1900 or in the future."""
        try:
            rules.check_birthday(field.data, today=date.today())
        except ValueError as error:
            raise ValidationError(str(error)) from error

    def validate_enrolled_on(self, field: DateField) -> None:
        """Refuse an enrollment date before 1900 or before the birthday."""
        if field.data is None:
            return
        birthday = self.birthday.data if not self.birthday.errors else None
        try:
            rules.check_enrolled_on(field.data, birthday)
        except ValueError as error:
            raise ValidationError(str(error)) from error

    def values(self) -> dict[str, Any]:
        """Return the validated values keyed by model attribute."""
        return {
            "name": self.name.data,
            "email": self.email.data or None,
            "grade": self.grade.data,
            "birthday": self.birthday.data,
            "enrolled_on": self.enrolled_on.data or date.today(),
        }

    def expected_version(self) -> int | None:
        """The version the form was rendered from, or ``None`` when absent or garbled."""
        return submitted_version(self.version)


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
