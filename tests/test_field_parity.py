"""The form and the import give the same raw values the same verdict and the same message.

Both read the field declarations (webapp.fields.student); these tests hold them to it.
Each case goes through the student form (as a browser submits it) and through a CSV
import of one row (as the upload and the command line read it).
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict

from tests.helpers import add_student
from webapp.extensions import db
from webapp.import_export import importer
from webapp.models import Student
from webapp.students.forms import StudentForm

FIELDS = ("name", "email", "grade", "birthday", "enrolled_on")
VALID = {
    "name": "Ada Lovelace",
    "email": "ada@example.org",
    "grade": "7",
    "birthday": "2013-12-10",
    "enrolled_on": "2019-09-02",
}
TOMORROW = (date.today() + timedelta(days=1)).isoformat()

CASES = [
    pytest.param({}, True, id="valid"),
    pytest.param({"name": "  Ada   King "}, True, id="name-tidied"),
    pytest.param({"email": "", "birthday": "", "enrolled_on": ""}, True, id="optional-blanks"),
    pytest.param({"grade": "٣"}, True, id="grade-other-script"),
    pytest.param({"grade": " 12 "}, True, id="grade-spaces"),
    pytest.param({"name": ""}, False, id="name-blank"),
    pytest.param({"name": "\u200b"}, False, id="name-invisible"),
    pytest.param({"name": "x" * 101}, False, id="name-long"),
    pytest.param({"name": "Ada\x07"}, False, id="name-control"),
    pytest.param({"email": "ada(at)example.org"}, False, id="email-invalid"),
    pytest.param({"email": "a@b"}, False, id="email-no-dot"),
    pytest.param({"email": "x" * 250 + "@a.org"}, False, id="email-long"),
    pytest.param({"grade": ""}, False, id="grade-blank"),
    pytest.param({"grade": "abc"}, False, id="grade-text"),
    pytest.param({"grade": "7.5"}, False, id="grade-decimal"),
    pytest.param({"grade": "0x0A"}, False, id="grade-hex"),
    pytest.param({"grade": "13"}, False, id="grade-high"),
    pytest.param({"grade": "-1"}, False, id="grade-negative"),
    pytest.param({"birthday": "2013-02-30"}, False, id="birthday-no-such-day"),
    pytest.param({"birthday": "1899-12-31"}, False, id="birthday-before-1900"),
    pytest.param({"birthday": TOMORROW, "enrolled_on": TOMORROW}, False, id="birthday-future"),
    pytest.param({"enrolled_on": "1899-09-01", "birthday": ""}, False, id="enrolled-before-1900"),
    pytest.param({"enrolled_on": "2024-09-31"}, False, id="enrolled-no-such-day"),
    pytest.param({"enrolled_on": "2012-09-01"}, False, id="enrolled-before-birthday"),
    pytest.param(
        {"birthday": "2013-13-01", "enrolled_on": "2012-09-01"}, False, id="cross-rule-skipped"
    ),
    pytest.param({"name": "", "grade": "x", "email": "@"}, False, id="several-errors"),
]


def form_verdict(app: Flask, values: dict[str, str], student_id: int | None = None) -> list[str]:
    """The form's error messages for ``values`` (empty when it accepts them)."""
    with app.test_request_context(method="POST"):
        student = db.session.get(Student, student_id) if student_id else None
        form = StudentForm(formdata=MultiDict(values), student=student, meta={"csrf": False})
        form.validate()
        return [message for name in FIELDS for message in form[name].errors]


def import_verdict(
    app: Flask, values: dict[str, str], student_id: int | None = None, **options: Any
) -> list[str]:
    """The import's error messages for a one-row file of ``values`` (empty when valid);
    ``options`` go to the reading (``default_date_order``...)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", *FIELDS])
    writer.writerow([student_id or "", *(values[name] for name in FIELDS)])
    with app.app_context():
        plan = importer.plan_import(
            importer.read_and_validate(buffer.getvalue().encode(), **options)
        )
        db.session.rollback()
    (row,) = plan.rows
    return list(row.errors)


@pytest.mark.parametrize(("changes", "valid"), CASES)
def test_new_student_same_verdict_and_message(
    app: Flask, changes: dict[str, str], valid: bool
) -> None:
    values = {**VALID, **changes}
    form_errors = form_verdict(app, values)
    assert sorted(form_errors) == sorted(import_verdict(app, values))
    assert (not form_errors) is valid, form_errors


@pytest.mark.parametrize(
    ("changes", "form_message", "import_message"),
    [
        pytest.param(
            {"birthday": "10/12/2013"},
            "The birthday '10/12/2013' is not a date in the form YYYY-MM-DD.",
            None,
            id="day-first-read-by-the-import",
        ),
        pytest.param(
            {"enrolled_on": "2019-9-2"},
            "The enrollment date '2019-9-2' is not a date in the form YYYY-MM-DD.",
            None,
            id="short-iso-read-by-the-import",
        ),
        pytest.param(
            {"birthday": "soon"},
            "The birthday 'soon' is not a date in the form YYYY-MM-DD.",
            "The birthday 'soon' is not a date; write it as 2015-03-14, 14/03/2015 or 3/14/2015.",
            id="not-a-date",
        ),
    ],
)
def test_dates_not_in_the_forms_format_are_the_imports_own(
    app: Flask, changes: dict[str, str], form_message: str, import_message: str | None
) -> None:
    """The form's date input only ever sends YYYY-MM-DD, which both read alike; files also
    write dates day first or month first, which only the import reads (issue 17)."""
    values = {**VALID, **changes}
    assert form_verdict(app, values) == [form_message]
    expected = [import_message] if import_message else []
    assert import_verdict(app, values, default_date_order="dmy") == expected


EXISTING_CASES = [
    pytest.param({"enrolled_on": ""}, [], id="blank-enrollment-keeps-stored"),
    pytest.param(
        {"enrolled_on": "", "birthday": "2016-01-01"},
        ["The enrollment date cannot be before the birthday."],
        id="blank-enrollment-checked-as-stored",
    ),
    pytest.param({"grade": ""}, ["Enter a grade from 1 to 12."], id="required-stays-required"),
]


@pytest.mark.parametrize(("changes", "expected"), EXISTING_CASES)
def test_existing_student_same_verdict_and_message(
    app: Flask, changes: dict[str, str], expected: list[str]
) -> None:
    """On an edit (form) and an update by id (import), a blank enrollment date is the stored
    one: kept, and checked against the birthday as stored."""
    student_id = add_student(
        app, name="Ada Lovelace", grade=7, birthday=date(2013, 12, 10), enrolled_on=date(2015, 9, 1)
    )
    values = {**VALID, "email": "", **changes}
    assert form_verdict(app, values, student_id) == expected
    assert import_verdict(app, values, student_id) == expected
