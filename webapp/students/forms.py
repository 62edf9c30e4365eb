"""Forms of the students blueprint (Flask-WTF, so every POST carries a CSRF token).

The student fields come from their declarations (:data:`webapp.fields.student.STUDENT`):
the same parsing, rules and messages as the CSV import.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # (WTForms 3.3; the stubs are 3.2)
from wtforms.validators import ValidationError

from webapp.fields.enrollment import ENROLLMENT, GRADE, STATUS_FIELDS
from webapp.fields.formfield import DeclaredField, WarningsConfirmation, add_declared_fields
from webapp.fields.student import STUDENT
from webapp.models import Enrollment, SchoolYear, Student
from webapp.models.homeroom import HOMEROOM_NAME_MAX_LENGTH
from webapp.students.service import DUPLICATE_EMAIL_MESSAGE, email_taken


class StudentForm(FlaskForm):
    """Create or edit a student: one input per declared form field, plus the version.

    The declarations mirror the model's constraints (lengths, date rules), so
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
    tutorial, say Albert Einstein born in 1879, is saved after changing only its name,
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


class NewStudentForm(StudentForm):
    """Add a student: the student's fields, and the grade in the current school year."""

    grade = DeclaredField(GRADE)

    def declared_fields(self) -> list[DeclaredField]:
        """The student fields, then the grade."""
        return [*super().declared_fields(), self["grade"]]

    def values(self) -> dict[str, Any]:
        """The student's values (without the grade, which is the enrollment's)."""
        typed = {field.name: field.data for field in StudentForm.declared_fields(self)}
        return STUDENT.complete(typed, None, date.today())


class EnrollmentForm(FlaskForm):
    """Change an enrollment: the grade, and the status with its date, reason or destination.

    The fields come from their declarations (:data:`webapp.fields.enrollment.ENROLLMENT`),
    with the status lifecycle's rules across them, checked against the stored start of
    the enrollment: the same rules and messages as the CSV import.

    Args:
        enrollment: the enrollment being changed (its values fill the form).
        **kwargs: passed to :class:`flask_wtf.FlaskForm`.
    """

    version = HiddenField()
    submit = SubmitField("Save")

    def __init__(self, *args: Any, enrollment: Enrollment, **kwargs: Any) -> None:
        kwargs.setdefault("obj", enrollment)
        super().__init__(*args, **kwargs)
        self.enrollment = enrollment

    def declared_fields(self) -> list[DeclaredField]:
        """The enrollment fields of the form, in declaration order."""
        return [self[name] for name in STATUS_FIELDS]

    def values(self) -> dict[str, Any]:
        """The cleaned values by field name (a blank status keeps the stored one)."""
        typed = {field.name: field.data for field in self.declared_fields()}
        if typed["status"] is None:
            typed["status"] = self.enrollment.status
        return typed

    def validate(self, extra_validators: Any = None) -> bool:
        """Validate each field, then the lifecycle rules against the stored start date."""
        valid: bool = super().validate(extra_validators)
        invalid = {field.name for field in self.declared_fields() if field.errors}
        record = {**self.values(), "entered_on": self.enrollment.entered_on}
        for name, message in ENROLLMENT.check_record(record, invalid):
            self[name].errors.append(message)
            valid = False
        return valid

    def expected_version(self) -> int | None:
        """The version the form was rendered from, or ``None`` when absent or garbled."""
        return submitted_version(self.version)


for _name in STATUS_FIELDS:
    setattr(EnrollmentForm, _name, DeclaredField(ENROLLMENT[_name]))


class EnrollForm(FlaskForm):
    """Enroll a student in another school year: the year, the grade and the first day.

    Args:
        years: the years the student is not enrolled in, offered in the list.
        **kwargs: passed to :class:`flask_wtf.FlaskForm`.
    """

    school_year = SelectField("School year", choices=[], validate_choice=True)
    grade = DeclaredField(GRADE)
    entered_on = DeclaredField(ENROLLMENT["entered_on"])
    submit = SubmitField("Enroll")

    def __init__(self, *args: Any, years: list[SchoolYear], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.years = {str(year.id): year for year in years}
        self.school_year.choices = [
            SelectChoice(key, year.name) for key, year in self.years.items()
        ]

    def chosen_year(self) -> SchoolYear:
        """The year chosen (after validation)."""
        return self.years[self.school_year.data]

    def validate(self, extra_validators: Any = None) -> bool:
        """Validate each field; the first day must fall within the chosen year."""
        valid: bool = super().validate(extra_validators)
        if valid:
            year, day = self.chosen_year(), self.entered_on.data
            if not year.covers(day):
                self.entered_on.errors = [
                    *self.entered_on.errors,
                    f"The first day must fall within {year.name} "
                    f"({year.starts_on.isoformat()} to {year.ends_on.isoformat()}).",
                ]
                valid = False
        return valid


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


#: The bulk actions an editor can take on the roster's selection.
BULK_ACTIONS = {"homeroom": "Assign to a homeroom", "status": "Change the status"}


class BulkForm(FlaskForm):
    """A bulk action on the roster's selection: assign a homeroom, or change the status
    (with its date, reason or destination, from their declarations).

    Its fields are prefixed ``bulk-`` so that they do not collide with the roster's own
    query (``status`` is also the roster's status filter). The selection itself (the
    ``student`` checkboxes, ``every``, and the query) is read by the view.

    The homeroom is typed by name (a district has thousands: a choice of every one
    would make each roster page grow with the district); the page suggests some in a
    ``<datalist>`` (:func:`webapp.homerooms.service.homeroom_suggestions`).
    """

    action = SelectField(
        "Action", choices=[SelectChoice(value, label) for value, label in BULK_ACTIONS.items()]
    )
    homeroom = StringField(
        "Homeroom",
        description="Its name, e.g. 5B",
        render_kw={
            "list": "bulk-homerooms",
            "autocomplete": "off",
            "maxlength": HOMEROOM_NAME_MAX_LENGTH,
        },
    )
    #: The capacity warning's confirmation, and the digest of what the confirmation
    #: page showed (see :func:`webapp.students.bulk.fingerprint`).
    confirm_capacity = HiddenField()
    seen = HiddenField()
    submit = SubmitField("Continue")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "bulk")
        super().__init__(*args, **kwargs)

    def status_fields(self) -> list[DeclaredField]:
        """The status fields, in declaration order."""
        return [self[name] for name in ("status", "status_on", "reason", "destination")]

    def status_values(self) -> dict[str, Any]:
        """The cleaned status values by field name."""
        return {field.name.removeprefix("bulk-"): field.data for field in self.status_fields()}

    def validate(self, extra_validators: Any = None) -> bool:
        """Validate the fields of the chosen action only (a homeroom, or a status with
        what the lifecycle's rules ask of it); the other action's fields are ignored."""
        super().validate(extra_validators)
        ignored = self.status_fields() if self.action.data == "homeroom" else [self.homeroom]
        for field in ignored:
            field.errors = []
        if self.action.data == "homeroom" and not self.homeroom.data:
            self.homeroom.errors = ["Type the name of the homeroom to assign the students to."]
        if self.action.data == "status":
            values = self.status_values()
            invalid = {name for name in values if self[name].errors}
            if values["status"] is None and "status" not in invalid:
                self["status"].errors = ["Choose the new status."]
                invalid.add("status")
            record = {**values, "entered_on": None}
            for name, message in ENROLLMENT.check_record(record, invalid):
                self[name].errors.append(message)
        return not any(field.errors for field in self) and not self.form_errors


for _name in ("status", "status_on", "reason", "destination"):
    setattr(BulkForm, _name, DeclaredField(ENROLLMENT[_name]))
