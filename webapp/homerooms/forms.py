"""Forms of the homeroom pages (Flask-WTF: every POST carries a CSRF token)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import request
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SearchField,
    SelectField,
    SelectMultipleField,
    SubmitField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # (WTForms 3.3; the stubs are 3.2)
from wtforms.validators import Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.fields.formfield import DeclaredField, WarningsConfirmation, add_declared_fields
from webapp.fields.homeroom import HOMEROOM, STUDENTS
from webapp.homerooms.service import active_account
from webapp.models import Homeroom, User
from webapp.models.homeroom import HOMEROOM_NAME_MAX_LENGTH
from webapp.models.student import EMAIL_MAX_LENGTH, GRADE_MAX, GRADE_MIN

#: Longest list of ids a form accepts (the roster's "every matching row" is a query, not ids).
MAX_IDS = 5_000


def submitted_ids(name: str) -> list[int]:
    """The positive integer ids the POST sent under ``name`` (garbled values ignored)."""
    values = request.form.getlist(name)[:MAX_IDS]
    return [int(value) for value in values if value.isdecimal() and 0 < len(value) < 10]


def submitted_version(field: HiddenField) -> int | None:
    """The positive version number the browser sent, or ``None`` when absent or garbled."""
    if not field.raw_data:
        return None
    text = field.raw_data[0]
    return int(text) if text.isdecimal() and 0 < len(text) < 10 and int(text) > 0 else None


class HomeroomForm(FlaskForm):
    """Define or change a homeroom: its declared fields, its teachers, and the confirmation
    of a capacity below the students it holds.

    The teachers are its current ones, as boxes to keep or untick, and one more typed by
    email address (as Django admin's raw-id and autocomplete fields do for a large
    table): a district has tens of thousands of accounts, and a box for each made the
    form grow with them.

    Args:
        homeroom: the homeroom being changed, or ``None`` for a new one.
        teachers: the accounts offered as boxes (see
            :func:`webapp.homerooms.service.teacher_options`).
        students: how many students it holds now (for the capacity warning).
    """

    teachers = SelectMultipleField(
        "Teachers",
        # The homeroom's teachers (accounts) when the form is shown; ids when posted.
        coerce=lambda value: value.id if isinstance(value, User) else int(value),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        description="Teachers see the students of their homerooms in the current year. "
        "Untick a teacher to take them off this homeroom.",
    )
    add_teacher = EmailField(
        "Add a teacher",
        validators=[Optional(), Length(max=EMAIL_MAX_LENGTH)],
        description="The email address of an active account.",
        render_kw={"list": "teacher-suggestions", "autocomplete": "off"},
    )
    version = HiddenField()
    confirm_warnings = BooleanField("Yes, this is right")
    submit = SubmitField("Save")

    def __init__(
        self,
        *args: Any,
        homeroom: Homeroom | None = None,
        teachers: list[User],
        students: int = 0,
        **kwargs: Any,
    ) -> None:
        if homeroom is not None:
            kwargs.setdefault("obj", homeroom)
        super().__init__(*args, **kwargs)
        self.homeroom = homeroom
        self.students = students
        self.teachers.choices = [
            SelectChoice(
                user.id, f"{user.email} ({user.role}{'' if user.active else ', deactivated'})"
            )
            for user in teachers
        ]
        self.warnings = WarningsConfirmation(HOMEROOM, [], {})
        #: The account typed in ``add_teacher``, once validated.
        self.added_teacher: User | None = None

    def validate_add_teacher(self, field: EmailField) -> None:
        """The address typed must be an active account's."""
        self.added_teacher = active_account(field.data or "")
        if self.added_teacher is None:
            raise ValidationError("No active account has this email address.")

    def teacher_ids(self) -> list[int]:
        """The ids of the teachers to keep, then the one added (each once)."""
        ids = list(self.teachers.data or [])
        if self.added_teacher is not None:
            ids.append(self.added_teacher.id)
        return list(dict.fromkeys(ids))

    def declared_fields(self) -> list[DeclaredField]:
        """The homeroom's fields, in declaration order."""
        return [self[declaration.name] for declaration in HOMEROOM.form_fields]

    def values(self) -> dict[str, Any]:
        """The cleaned values by field name."""
        return {field.name: field.data for field in self.declared_fields()}

    def validate(self, extra_validators: Any = None) -> bool:
        """Validate each field; then warn when the capacity is below the students it holds
        (judged only when the capacity is entered or changed), until confirmed."""
        valid: bool = super().validate(extra_validators)
        values = {**self.values(), STUDENTS: self.students}
        invalid = {field.name for field in self.declared_fields() if field.errors}
        changed = {"capacity"}
        if self.homeroom is not None and values["capacity"] == self.homeroom.capacity:
            changed = set()
        found = HOMEROOM.check_warnings(values, date.today(), changed, invalid)
        self.warnings = WarningsConfirmation(HOMEROOM, found, values)
        box = self.confirm_warnings
        box.label.text = self.warnings.label
        box.data = self.warnings.confirmed_by(box.raw_data)
        return valid and (not self.warnings or box.data)

    def expected_version(self) -> int | None:
        """The version the form was rendered from, or ``None`` when absent or garbled."""
        return submitted_version(self.version)


add_declared_fields(HomeroomForm, HOMEROOM)


class AssignForm(FlaskForm):
    """Assign the students ticked (checkboxes named ``student``) to a homeroom; once more
    with ``confirm_capacity`` ticked when it would be over its capacity."""

    confirm_capacity = HiddenField()
    submit = SubmitField("Assign to this homeroom")

    def student_ids(self) -> list[int]:
        """The ids of the students ticked."""
        return submitted_ids("student")


class ButtonForm(FlaskForm):
    """A POST button (delete, take out): the CSRF token and the version the page showed."""

    version = HiddenField()
    submit = SubmitField()

    def expected_version(self) -> int | None:
        """The version the page showed, or ``None`` when absent or garbled."""
        return submitted_version(self.version)


class HomeroomFilterForm(FlaskForm):
    """The homeroom list's search by name and grade filter (a GET form: no CSRF token).
    A value it does not understand is an error on its field, and that filter is left
    out. The school year is the page's ``year`` argument."""

    class Meta:
        csrf = False

    q = SearchField(
        "Search",
        validators=[Optional(), Length(max=HOMEROOM_NAME_MAX_LENGTH)],
        render_kw={"placeholder": "Part of a name", "autocomplete": "off"},
    )
    grade = SelectField(
        "Grade",
        choices=[
            SelectChoice("", "All grades"),
            *(SelectChoice(str(grade), str(grade)) for grade in range(GRADE_MIN, GRADE_MAX + 1)),
        ],
        default="",
    )

    def search(self) -> str:
        """The search text, spaces trimmed; blank when absent or refused."""
        return "" if self.q.errors else " ".join((self.q.data or "").split())

    def chosen_grade(self) -> int | None:
        """The grade to show; ``None`` for all (or when refused)."""
        return int(self.grade.data) if self.grade.data and not self.grade.errors else None

    def url_args(self) -> dict[str, Any]:
        """The filters in effect, for the pager's links (nothing else of the query
        string: see issue 18, finding 6)."""
        args = {"q": self.search(), "grade": self.grade.data}
        return {name: value for name, value in args.items() if value and not self[name].errors}
