"""The form and the import give the same raw values the same verdict and the same message.

Both read the field declarations (webapp.fields.student); these tests hold them to it.
Each case goes through the student form (as a browser submits it) and through a CSV
import of one row (as the upload and the command line read it): the same errors, and for
a valid row the same warnings (which the form asks to confirm and the import shows).
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict

from tests.helpers import add_student, current_enrollment
from webapp.extensions import db
from webapp.import_export import importer
from webapp.models import Enrollment, Student
from webapp.students.forms import EnrollmentForm, NewStudentForm, StudentForm

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
    pytest.param({"birthday": TOMORROW, "enrolled_on": TOMORROW}, False, id="birthday-future"),
    pytest.param({"enrolled_on": "2024-09-31"}, False, id="enrolled-no-such-day"),
    pytest.param({"enrolled_on": "2012-09-01"}, False, id="enrolled-before-birthday"),
    pytest.param(
        {"birthday": "2013-13-01", "enrolled_on": "2012-09-01"}, False, id="cross-rule-skipped"
    ),
    pytest.param({"name": "", "grade": "x", "email": "@"}, False, id="several-errors"),
]


def form_verdict(app: Flask, values: dict[str, str], student_id: int | None = None) -> list[str]:
    """The form's error messages for ``values`` (empty when it accepts them)."""
    return form_verdict_and_warnings(app, values, student_id)[0]


def form_verdict_and_warnings(
    app: Flask, values: dict[str, str], student_id: int | None = None
) -> tuple[list[str], list[str]]:
    """The form's error messages and warnings for ``values``."""
    with app.test_request_context(method="POST"):
        student = db.session.get(Student, student_id) if student_id else None
        form_class = StudentForm if student else NewStudentForm
        form = form_class(formdata=MultiDict(values), student=student, meta={"csrf": False})
        form.validate()
        errors = [message for name in FIELDS if name in form for message in form[name].errors]
        return errors, form.warnings.messages()


def import_verdict(
    app: Flask,
    values: dict[str, str],
    student_id: int | None = None,
    fields: tuple[str, ...] = FIELDS,
    **options: Any,
) -> list[str]:
    """The import's error messages for a one-row file of ``values`` (empty when valid);
    ``options`` go to the reading (``default_date_order``...)."""
    return list(import_row(app, values, student_id, fields, **options).errors)


def import_row(
    app: Flask,
    values: dict[str, str],
    student_id: int | None = None,
    fields: tuple[str, ...] = FIELDS,
    **options: Any,
) -> importer.RowPlan:
    """The import's plan of a one-row file of ``values``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", *fields])
    writer.writerow([student_id or "", *(values[name] for name in fields)])
    with app.app_context():
        plan = importer.plan_import(
            importer.read_and_validate(buffer.getvalue().encode(), **options)
        )
        db.session.rollback()
    (row,) = plan.rows
    return row


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
    fields = tuple(name for name in FIELDS if name != "grade")
    assert form_verdict(app, values, student_id) == expected
    assert import_verdict(app, values, student_id, fields) == expected


ENROLLMENT_FIELDS = ("grade", "status", "status_on", "reason", "destination")
ENROLLED = {"grade": "7", "status": "enrolled", "status_on": "", "reason": "", "destination": ""}

ENROLLMENT_CASES = [
    pytest.param({}, [], id="unchanged"),
    pytest.param(
        {"status": "withdrawn", "status_on": "2026-10-01", "reason": "Moved away"},
        [],
        id="withdrawal",
    ),
    pytest.param(
        {"status": "Transferred out", "status_on": "2026-10-01", "destination": "Hill School"},
        [],
        id="transfer-by-label",
    ),
    pytest.param({"status": "graduated", "status_on": "2027-06-30"}, [], id="graduation"),
    pytest.param({"grade": ""}, ["Enter a grade from 1 to 12."], id="grade-required"),
    pytest.param(
        {"status": "gone"},
        ["The status 'gone' is not one of: Enrolled, Withdrawn, Graduated, Transferred out."],
        id="status-unknown",
    ),
    pytest.param(
        {"status": "withdrawn", "reason": "Moved away"},
        ["Enter the date the student withdrew."],
        id="withdrawal-without-date",
    ),
    pytest.param(
        {"status": "withdrawn", "status_on": "2026-10-01"},
        ["Enter the reason for the withdrawal."],
        id="withdrawal-without-reason",
    ),
    pytest.param(
        {"status": "transferred", "status_on": "2026-10-01"},
        ["Enter the school the student transferred to."],
        id="transfer-without-destination",
    ),
    pytest.param(
        {"status": "withdrawn", "status_on": "2015-08-31", "reason": "Moved away"},
        ["The status date 2015-08-31 is before the enrollment began (2015-09-01)."],
        id="withdrawal-before-the-enrollment",
    ),
    pytest.param(
        {"status_on": "2026-10-01"},
        ["An enrolled student has no status date: leave it empty."],
        id="enrolled-with-a-date",
    ),
    pytest.param(
        {"reason": "Why not"},
        ["Only a withdrawal has a reason: leave it empty."],
        id="reason-without-withdrawal",
    ),
]


def assert_same_warnings(
    app: Flask, values: dict[str, str], student_id: int | None, expected: list[str]
) -> None:
    """Form and import accept ``values`` with the same warnings, one containing each of
    ``expected`` in turn."""
    form_errors, form_warnings = form_verdict_and_warnings(app, values, student_id)
    row = import_row(app, values, student_id)
    assert (form_errors, list(row.errors)) == ([], [])
    assert form_warnings == list(row.warnings)
    assert len(form_warnings) == len(expected), form_warnings
    for message, text in zip(form_warnings, expected, strict=True):
        assert text in message


#: Unusual but possible values: valid on both sides, with the same warnings.
WARNING_CASES = [
    pytest.param({}, [], id="usual"),
    pytest.param(
        {"birthday": "1879-03-14", "enrolled_on": "2024-09-02"},
        [
            "Born on 14 March 1879, the student was 145 years old on the enrollment date "
            "(2 September 2024); students are usually 3 to 25."
        ],
        id="einstein",
    ),
    pytest.param({"birthday": "1899-12-31"}, ["was 119 years old"], id="birthday-before-1900"),
    pytest.param(
        {"birthday": "2023-09-02", "enrolled_on": "2024-09-02"}, ["was 1 year old"], id="young"
    ),
    pytest.param(
        {"enrolled_on": "1899-09-01", "birthday": ""},
        ["The enrollment date 1 September 1899 is before 1900."],
        id="enrolled-before-1900",
    ),
    pytest.param(
        {"birthday": "1850-01-01", "enrolled_on": "1899-09-01"},
        ["was 49 years old", "is before 1900"],
        id="both-dates",
    ),
    pytest.param(
        {"birthday": "1879-03-14", "enrolled_on": ""},
        ["Born on 14 March 1879"],
        id="enrolled-today",
    ),
]


def enrollment_form_verdict(app: Flask, values: dict[str, str], enrollment_id: int) -> list[str]:
    """The status form's error messages for ``values`` (empty when it accepts them)."""
    with app.test_request_context(method="POST"):
        enrollment = db.session.get(Enrollment, enrollment_id)
        form = EnrollmentForm(
            formdata=MultiDict(values), enrollment=enrollment, meta={"csrf": False}
        )
        form.validate()
        return [message for name in ENROLLMENT_FIELDS for message in form[name].errors]


@pytest.mark.parametrize(("changes", "expected"), ENROLLMENT_CASES)
def test_status_change_same_verdict_and_message(
    app: Flask, changes: dict[str, str], expected: list[str]
) -> None:
    """The status form on the student's page and an import row with the status columns
    hold the status lifecycle the same way, with the same messages."""
    student_id = add_student(app, grade=7, enrolled_on=date(2015, 9, 1))
    enrollment = current_enrollment(app, student_id)
    assert enrollment is not None
    values = {**ENROLLED, **changes}
    assert enrollment_form_verdict(app, values, enrollment.id) == expected
    assert import_verdict(app, values, student_id, ENROLLMENT_FIELDS) == expected


@pytest.mark.parametrize(("changes", "expected"), WARNING_CASES)
def test_new_student_same_warnings(
    app: Flask, changes: dict[str, str], expected: list[str]
) -> None:
    values = {**VALID, **changes}
    assert_same_warnings(app, values, None, expected)


#: Edits of a student stored with the tutorial's Einstein's birthday: only what is entered
#: or changed is judged.
EXISTING_WARNING_CASES = [
    pytest.param({"grade": "8"}, [], id="birthday-as-stored"),
    pytest.param({"enrolled_on": ""}, [], id="blank-enrollment-keeps-stored"),
    pytest.param({"enrolled_on": "2024-09-03"}, [], id="enrollment-changed-birthday-not-judged"),
    pytest.param({"birthday": "1879-03-15"}, ["Born on 15 March 1879"], id="birthday-changed"),
    pytest.param(
        {"enrolled_on": "1899-09-01", "birthday": ""}, ["is before 1900"], id="old-enrollment"
    ),
]


@pytest.mark.parametrize(("changes", "expected"), EXISTING_WARNING_CASES)
def test_existing_student_same_warnings(
    app: Flask, changes: dict[str, str], expected: list[str]
) -> None:
    """On an edit (form) and an update by id (import) a stored birthday is not judged again."""
    student_id = add_student(
        app,
        name="Albert Einstein",
        grade=7,
        birthday=date(1879, 3, 14),
        enrolled_on=date(2024, 9, 2),
    )
    stored = {
        "name": "Albert Einstein",
        "email": "",
        "grade": "7",
        "birthday": "1879-03-14",
        "enrolled_on": "2024-09-02",
    }
    values = {**stored, **changes}
    assert_same_warnings(app, values, student_id, expected)
