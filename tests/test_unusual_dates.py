"""An unusual date is a warning the user confirms, never an error, and never for a stored one.

The form (``webapp.students.forms.StudentForm``) and the import, with the warnings of the
field declarations (``webapp.fields.student``): a person can type the SQLAlchemy
tutorial's sample students (Albert Einstein, born 1879-03-14; Alan Turing, born 1912-06-23), and a
record stored with such a birthday is edited without being asked about it again.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from tests.helpers import add_student, fetch_student, post_file, valid_form
from webapp.extensions import db
from webapp.import_export import importer
from webapp.import_export.importer import Action
from webapp.models import Student

#: The tutorial's first sample student, as a person types it into the form.
EINSTEIN = valid_form(
    name="Albert Einstein",
    email="albert.einstein@zurich.edu",
    grade="6",
    birthday="1879-03-14",
    enrolled_on="2024-09-02",
)


def confirmation_value(html: str) -> str:
    """The value of the rendered "Yes, this ... is right" box."""
    tag = re.search(r'<input[^>]*name="confirm_warnings"[^>]*>', html)
    assert tag, "no confirmation box"
    value = re.search(r'value="([^"]*)"', tag.group(0))
    assert value
    return value.group(1)


def test_a_tutorial_student_is_typed_in_after_confirming_the_birthday(
    app: Flask, client: FlaskClient
) -> None:
    first = client.post("/students/new", data=EINSTEIN)

    assert first.status_code == 422
    html = first.get_data(as_text=True)
    assert "Please check this date" in html
    assert "Born on 14 March 1879, the student was 145 years old" in html
    assert "Yes, this birthday is right" in html
    assert 'class="field-error"' not in html  # a warning, not an error
    assert 'value="1879-03-14"' in html  # what was typed is kept

    second = client.post(
        "/students/new", data={**EINSTEIN, "confirm_warnings": confirmation_value(html)}
    )

    assert second.status_code == 302
    student = fetch_student(app, int(second.location.rsplit("/", 1)[1]))
    assert student is not None
    assert (student.name, student.birthday) == ("Albert Einstein", date(1879, 3, 14))


def test_a_usual_birthday_needs_no_confirmation(client: FlaskClient) -> None:
    response = client.post("/students/new", data=valid_form())

    assert response.status_code == 302


def test_a_box_ticked_for_other_dates_confirms_nothing(client: FlaskClient) -> None:
    html = client.post("/students/new", data=EINSTEIN).get_data(as_text=True)
    ticked = confirmation_value(html)

    # The user ticks the box but also changes the birthday to another unusual date.
    response = client.post(
        "/students/new", data={**EINSTEIN, "birthday": "1867-11-07", "confirm_warnings": ticked}
    )

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Born on 7 November 1867" in html
    assert "checked" not in re.search(r'<input[^>]*name="confirm_warnings"[^>]*>', html).group(0)


def test_an_old_enrollment_date_asks_for_its_own_confirmation(client: FlaskClient) -> None:
    data = valid_form(birthday="", enrolled_on="1899-09-01")

    response = client.post("/students/new", data=data)

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "The enrollment date 1 September 1899 is before 1900." in html
    assert "Yes, this enrollment date is right" in html
    confirmed = client.post(
        "/students/new", data={**data, "confirm_warnings": confirmation_value(html)}
    )
    assert confirmed.status_code == 302


def test_errors_and_warnings_show_together(client: FlaskClient) -> None:
    response = client.post("/students/new", data={**EINSTEIN, "grade": "13"})

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "from 1 to 12" in html
    assert "Born on 14 March 1879" in html


def test_a_stored_birthday_is_not_judged_again_when_only_the_name_changes(
    app: Flask, client: FlaskClient
) -> None:
    """A record taken over from the tutorial keeps every value but the one edited."""
    student_id = add_student(
        app,
        name="Albert  Einstein",  # two spaces: the form would tidy a typed name
        email="Albert.Einstein@Zurich.EDU",  # the form would lower-case a typed domain
        grade=6,
        birthday=date(1879, 3, 14),
        enrolled_on=date(2024, 9, 2),
    )
    before = fetch_student(app, student_id)

    response = client.post(
        f"/students/{student_id}/edit",
        data={
            "name": "Albert Einstein",
            "email": "Albert.Einstein@Zurich.EDU",
            "birthday": "1879-03-14",
            "enrolled_on": "2024-09-02",
            "version": "1",
        },
    )

    assert response.status_code == 302, response.get_data(as_text=True)
    after = fetch_student(app, student_id)
    assert before is not None
    assert after is not None
    assert after.name == "Albert Einstein"
    for field in ("email", "birthday", "enrolled_on"):
        assert getattr(after, field) == getattr(before, field), field


def test_changing_the_enrollment_date_does_not_judge_a_stored_birthday_again(
    app: Flask, client: FlaskClient
) -> None:
    """The warning is about a birthday being entered; Einstein's was entered long ago."""
    student_id = add_student(
        app, name="Albert Einstein", birthday=date(1879, 3, 14), enrolled_on=date(2026, 9, 1)
    )

    response = client.post(
        f"/students/{student_id}/edit",
        data=valid_form(name="Albert Einstein", birthday="1879-03-14", enrolled_on="2024-09-02"),
    )

    assert response.status_code == 302
    student = fetch_student(app, student_id)
    assert student is not None
    assert student.enrolled_on == date(2024, 9, 2)


def test_changing_a_stored_birthday_to_an_unusual_one_asks_again(
    app: Flask, client: FlaskClient
) -> None:
    student_id = add_student(
        app, name="Albert Einstein", birthday=date(1879, 3, 14), enrolled_on=date(2024, 9, 2)
    )

    response = client.post(
        f"/students/{student_id}/edit",
        data=valid_form(name="Albert Einstein", birthday="1879-03-15", enrolled_on="2024-09-02"),
    )

    assert response.status_code == 422
    assert "Born on 15 March 1879" in response.get_data(as_text=True)
    student = fetch_student(app, student_id)
    assert student is not None
    assert student.birthday == date(1879, 3, 14)


def test_a_changed_name_is_still_checked_on_an_old_record(app: Flask, client: FlaskClient) -> None:
    student_id = add_student(app, name="Albert Einstein", birthday=date(1879, 3, 14))

    response = client.post(
        f"/students/{student_id}/edit",
        data=valid_form(name="   ", birthday="1879-03-14", enrolled_on="2020-09-01"),
    )

    assert response.status_code == 422
    assert "Enter the student&#39;s name." in response.get_data(as_text=True)


# --- the CSV import: imported as written, with the warning shown --------------------------

#: The tutorial's sample students as a CSV export of its table would have them.
TUTORIAL_CSV = (
    "name,email,grade,birthday,enrolled_on\n"
    "Albert Einstein,albert.einstein@zurich.edu,6,1879-03-14,2024-09-02\n"
    "Alan Turing,alan.turing@sherborne.edu,11,1912-06-23,2024-09-02\n"
    "Grace Hopper,grace@example.org,7,2013-12-09,2019-09-02\n"
)


def plan(app: Flask, text: str) -> importer.ImportPlan:
    """Plan an import of ``text`` (nothing written)."""
    with app.app_context():
        result = importer.plan_import(importer.read_and_validate(text.encode()))
        db.session.rollback()
        return result


@pytest.fixture(autouse=True)
def import_folder(app: Flask, tmp_path: Path) -> None:
    """Keep uploads in the test's temporary folder."""
    app.config["IMPORT_FOLDER"] = str(tmp_path / "imports")


def test_import_takes_unusual_birthdays_with_a_warning(app: Flask) -> None:
    rows = plan(app, TUTORIAL_CSV).rows

    assert [row.action for row in rows] == [Action.CREATE] * 3
    assert rows[0].warnings == (
        "Born on 14 March 1879, the student was 145 years old on the enrollment date "
        "(2 September 2024); students are usually 3 to 25.",
    )
    assert "112 years old" in rows[1].warnings[0]
    assert rows[2].warnings == ()


def test_import_does_not_judge_a_stored_birthday_again(app: Flask) -> None:
    einstein = add_student(
        app,
        name="Albert Einstein",
        grade=6,
        birthday=date(1879, 3, 14),
        enrolled_on=date(2024, 9, 2),
    )

    unchanged_birthday = only(plan(app, f"id,grade,birthday\n{einstein},7,1879-03-14\n"))
    changed_birthday = only(plan(app, f"id,birthday\n{einstein},1879-03-15\n"))

    assert (unchanged_birthday.action, unchanged_birthday.warnings) == (Action.UPDATE, ())
    assert changed_birthday.action is Action.UPDATE
    assert "Born on 15 March 1879" in changed_birthday.warnings[0]


def only(result: importer.ImportPlan) -> importer.RowPlan:
    assert len(result.rows) == 1, result.rows
    return result.rows[0]


def test_import_preview_shows_the_warnings_and_confirming_imports_the_rows(
    app: Flask, client: FlaskClient
) -> None:
    uploaded = post_file(client, TUTORIAL_CSV.encode(), "tutorial.csv")
    assert uploaded.status_code == 303

    html = client.get(uploaded.location).get_data(as_text=True)

    assert "2 rows have an unusual date" in html
    assert html.count('class="import-warnings"') == 2
    assert "Born on 14 March 1879" in html
    confirmed = client.post(uploaded.location, data={"confirm": "Import 3 rows"})
    assert confirmed.status_code in {302, 303}
    with app.app_context():
        birthdays = db.session.scalars(select(Student.birthday).order_by(Student.id)).all()
    assert birthdays == [date(1879, 3, 14), date(1912, 6, 23), date(2013, 12, 9)]


def test_import_command_prints_the_warnings_and_exits_0(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "tutorial.csv"
    path.write_text(TUTORIAL_CSV, encoding="utf-8")

    result = runner.invoke(args=["students", "import", str(path)])

    assert result.exit_code == 0, result.output
    assert "line 2: warning: Born on 14 March 1879" in result.output
    assert "line 3: warning: Born on 23 June 1912" in result.output
    assert "line 4" not in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Student.id))) == 3
