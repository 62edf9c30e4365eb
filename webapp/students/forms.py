"""Forms of the students blueprint (Flask-WTF, so every POST carries a CSRF token)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    StringField,
    SubmitField,
)
from wtforms.fields import Field
from wtforms.validators import (
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

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

    An unusual date (:func:`webapp.students.rules.unusual_dates`: a birthday that makes
    the student very young or very old on the enrollment date, an enrollment date before
    1900) is possible, so it is not an error: the form is shown again with the warning and
    the ``confirm_dates`` box ("Yes, this birthday is right"), and saves once it is ticked.

    On the edit form, a field sent back exactly as stored keeps its stored value and is not
    judged again by the form's own rules (the database's constraints hold it anyway): a
    record taken over from the tutorial, say Albert Einstein born in 1879, is saved after
    changing only its grade, without touching its other values.

    Args:
        student_id: the id of the student being edited, so that the student's own email
            does not count as taken; ``None`` on the create form.
        stored: the record being edited (any object with the field attributes), or
            ``None`` on the create form.
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
    )
    enrolled_on = DateField(
        "Enrollment date",
        validators=[Optional()],
        description="Today if left empty.",
    )
    #: Shown with the warnings of an unusual date; declared after the dates, so that its
    #: validator sees them validated.
    confirm_dates = BooleanField("Yes, this birthday is right")
    #: The version of the record the form was rendered from (optimistic locking).
    version = HiddenField()
    submit = SubmitField("Save")
    save_and_add = SubmitField("Save and add another")

    def __init__(
        self, *args: Any, student_id: int | None = None, stored: object = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.student_id = student_id
        self.stored = stored
        #: Warnings about unusual dates, by field name (filled by validation).
        self.date_warnings: dict[str, str] = {}
        #: The value a ticked ``confirm_dates`` box must send to confirm them.
        self.confirmation = ""

    def _as_stored(self, field: Field) -> bool:
        """Whether ``field`` was sent back exactly as the edited record stores it."""
        return self.stored is not None and field.data == getattr(self.stored, field.name)

    def validate_name(self, field: StringField) -> None:
        """Trim the name; refuse one that is only whitespace."""
        if self._as_stored(field):
            return
        try:
            field.data = rules.clean_name(field.data)
        except ValueError as error:
            raise ValidationError(str(error)) from error

    def validate_email(self, field: EmailField) -> None:
        """Normalise the address and refuse one another student already has."""
        if self._as_stored(field):
            return
        try:
            field.data = rules.clean_email(field.data)
        except ValueError as error:
            raise ValidationError(str(error)) from error
        if email_taken(field.data, exclude_id=self.student_id):
            raise ValidationError(DUPLICATE_EMAIL_MESSAGE)

    def validate_birthday(self, field: DateField) -> None:
        """Refuse a birthday in the future."""
        if self._as_stored(field):
            return
        try:
            rules.check_birthday(field.data, today=date.today())
        except ValueError as error:
            raise ValidationError(str(error)) from error

    def validate_enrolled_on(self, field: DateField) -> None:
        """Refuse an enrollment date before the birthday."""
        if field.data is None:
            return
        birthday = self.birthday.data if not self.birthday.errors else None
        try:
            rules.check_enrolled_on(field.data, birthday)
        except ValueError as error:
            raise ValidationError(str(error)) from error

    def validate(self, extra_validators: Mapping[str, Any] | None = None) -> bool:
        """Validate every field; then hold the save while unusual dates are unconfirmed.

        Returns:
            ``True`` when every field is valid and each warning in :attr:`date_warnings`
            is confirmed (the ``confirm_dates`` box ticked).
        """
        valid = super().validate(extra_validators)
        return valid and (not self.date_warnings or bool(self.confirm_dates.data))

    def validate_confirm_dates(self, field: BooleanField) -> None:
        """Collect the warnings about unusual dates into :attr:`date_warnings`.

        Only the dates being entered or changed are judged; none when either failed its
        own validation. The box is labelled for what the warnings are about.
        """
        if self.birthday.errors or self.enrolled_on.errors:
            return
        judge = [f.name for f in (self.birthday, self.enrolled_on) if not self._as_stored(f)]
        birthday, enrolled_on = self.birthday.data, self.enrolled_on.data or date.today()
        self.date_warnings = rules.unusual_dates(birthday, enrolled_on, judge)
        # The box's value names the dates warned about: ticked for other dates (the user
        # changed one again while ticking it), it confirms nothing.
        self.confirmation = f"{birthday or ''}/{enrolled_on}:{','.join(self.date_warnings)}"
        if "birthday" not in self.date_warnings:
            field.label.text = "Yes, this enrollment date is right"
        elif len(self.date_warnings) > 1:
            field.label.text = "Yes, these dates are right"
        field.data = bool(self.date_warnings) and self.confirmation in (field.raw_data or [])

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
