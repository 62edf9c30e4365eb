"""Enrollments: the status lifecycle from the student's page, the roster's status filter,
enrolling in another year, and the CSV export and import carrying the status."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.helpers import add_student, current_enrollment, field_errors
from webapp.extensions import db
from webapp.import_export import importer
from webapp.models import Enrollment, SchoolYear


@pytest.fixture(autouse=True)
def import_folder(app: Flask, tmp_path: Path) -> None:
    app.config["IMPORT_FOLDER"] = str(tmp_path / "imports")


def url(app: Flask, student_id: int) -> str:
    enrollment = current_enrollment(app, student_id)
    assert enrollment is not None
    return f"/students/{student_id}/enrollments/{enrollment.id}"


def status_form(**values: str) -> dict[str, str]:
    data = {"grade": "5", "status": "enrolled", "version": "1"}
    data.update(values)
    return data


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param(
            {"status": "withdrawn", "status_on": "2026-10-01", "reason": "Moved away"},
            ("withdrawn", date(2026, 10, 1), "Moved away", None),
            id="withdrawn",
        ),
        pytest.param(
            {"status": "graduated", "status_on": "2027-06-30"},
            ("graduated", date(2027, 6, 30), None, None),
            id="graduated",
        ),
        pytest.param(
            {"status": "transferred", "status_on": "2026-11-15", "destination": "Hill School"},
            ("transferred", date(2026, 11, 15), None, "Hill School"),
            id="transferred",
        ),
    ],
)
def test_status_change_from_the_students_page_keeps_the_record(
    app: Flask, client: FlaskClient, values: dict[str, str], expected: tuple[object, ...]
) -> None:
    student_id = add_student(app, name="Ada", grade=5, enrolled_on=date(2020, 9, 1))
    page = client.get(f"/students/{student_id}").get_data(as_text=True)
    assert url(app, student_id) in page  # the "Change" link

    response = client.post(url(app, student_id), data=status_form(**values))

    assert response.status_code == 302
    enrollment = current_enrollment(app, student_id)
    assert (
        enrollment.status,
        enrollment.status_on,
        enrollment.reason,
        enrollment.destination,
    ) == expected
    assert client.get(f"/students/{student_id}").status_code == 200  # the record stays


def test_a_withdrawal_dated_before_the_enrollment_is_refused_and_changes_nothing(
    app: Flask, client: FlaskClient
) -> None:
    student_id = add_student(app, name="Ada", grade=5, enrolled_on=date(2020, 9, 1))
    response = client.post(
        url(app, student_id),
        data=status_form(status="withdrawn", status_on="2020-08-31", reason="Moved away"),
    )
    assert response.status_code == 422
    assert field_errors(response.get_data(as_text=True))["status_on"] == (
        "The status date 2020-08-31 is before the enrollment began (2020-09-01)."
    )
    enrollment = current_enrollment(app, student_id)
    assert (enrollment.status, enrollment.version) == ("enrolled", 1)


def test_status_form_needs_an_editor(app: Flask) -> None:
    student_id = add_student(app, name="Ada", grade=5)
    viewer = app.test_client(user="viewer")
    assert viewer.post(url(app, student_id), data=status_form(grade="6")).status_code == 403
    assert current_enrollment(app, student_id).grade == 5


def test_another_students_enrollment_is_404(app: Flask, client: FlaskClient) -> None:
    ada = add_student(app, name="Ada", grade=5)
    bob = add_student(app, name="Bob", email="bob@example.org", grade=6)
    enrollment = current_enrollment(app, bob)
    response = client.get(f"/students/{ada}/enrollments/{enrollment.id}")
    assert response.status_code == 404


def test_roster_shows_the_enrolled_by_default_and_filters_by_status(
    app: Flask, client: FlaskClient
) -> None:
    add_student(app, name="Ann Enrolled", grade=3)
    gone = add_student(app, name="Wes Withdrawn", email="wes@example.org", grade=3)
    add_student(app, name="Nia Notenrolled", email="nia@example.org", grade=None)
    client.post(
        url(app, gone),
        data=status_form(grade="3", status="withdrawn", status_on="2026-10-01", reason="x"),
    )

    def names(query: str) -> list[str]:
        html = client.get(f"/students/{query}").get_data(as_text=True)
        people = ("Ann Enrolled", "Wes Withdrawn", "Nia Notenrolled")
        return [n for n in people if f">{n}</a></th>" in html]  # rows, not the flash

    assert names("") == ["Ann Enrolled"]
    assert names("?status=withdrawn") == ["Wes Withdrawn"]
    assert names("?status=all") == ["Ann Enrolled", "Wes Withdrawn", "Nia Notenrolled"]
    assert names("?status=none") == ["Nia Notenrolled"]
    assert names("?status=bogus") == ["Ann Enrolled"]
    html = client.get("/students/?status=all").get_data(as_text=True)
    assert "not enrolled" in html  # the status column for a student without this year


def test_enroll_a_student_in_another_year(app: Flask, client: FlaskClient) -> None:
    student_id = add_student(app, name="Ada", grade=5)
    with app.app_context():
        year = db.session.scalar(select(SchoolYear))
        following = SchoolYear(
            name="Next",
            starts_on=date(year.starts_on.year + 1, 9, 1),
            ends_on=date(year.starts_on.year + 2, 8, 31),
        )
        db.session.add(following)
        db.session.commit()
        following_id, first_day = following.id, following.starts_on
    page = client.get(f"/students/{student_id}/enroll")
    assert page.status_code == 200
    outside = client.post(
        f"/students/{student_id}/enroll",
        data={"school_year": str(following_id), "grade": "6", "entered_on": "2000-01-01"},
    )
    assert outside.status_code == 422
    assert "must fall within Next" in outside.get_data(as_text=True)

    response = client.post(
        f"/students/{student_id}/enroll",
        data={"school_year": str(following_id), "grade": "6", "entered_on": first_day.isoformat()},
    )

    assert response.status_code == 302
    with app.app_context():
        grades = db.session.execute(
            select(Enrollment.school_year_id, Enrollment.grade).where(
                Enrollment.student_id == student_id
            )
        ).all()
    assert sorted(grades) == sorted([(following_id, 6), (following_id - 1, 5)])


# --- CSV export and import carry the status ------------------------------------------


def test_export_and_import_carry_the_status(app: Flask, client: FlaskClient) -> None:
    ada = add_student(app, name="Ada", email="ada@example.org", grade=5)
    client.post(
        url(app, ada),
        data=status_form(status="transferred", status_on="2026-10-01", destination="Hill School"),
    )
    exported = client.get("/students/export.csv?status=all").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(exported.removeprefix("\ufeff"))))
    assert [(r["name"], r["status"], r["status_on"], r["destination"]) for r in rows] == [
        ("Ada", "transferred", "2026-10-01", "Hill School")
    ]

    # The file goes back in unchanged.
    with app.app_context():
        plan = importer.plan_import(importer.read_and_validate(exported.encode()))
        db.session.rollback()
    assert [row.action for row in plan.rows] == [importer.Action.UNCHANGED]


def apply(app: Flask, text: str) -> importer.ImportPlan:
    with app.app_context():
        validated = importer.read_and_validate(text.encode())
        importer.begin_import()
        plan = importer.plan_import(validated, lock=True)
        importer.apply_plan(plan)
        return plan


def test_import_records_a_withdrawal(app: Flask) -> None:
    ada = add_student(app, name="Ada", grade=5, enrolled_on=date(2020, 9, 1))
    plan = apply(app, f"id,status,status_on,reason\n{ada},Withdrawn,2026-10-01,Moved away\n")
    assert [row.action for row in plan.rows] == [importer.Action.UPDATE]
    enrollment = current_enrollment(app, ada)
    assert (enrollment.status, enrollment.reason, enrollment.version) == (
        "withdrawn",
        "Moved away",
        2,
    )


def test_import_back_to_enrolled_clears_what_the_file_has_no_column_for(app: Flask) -> None:
    ada = add_student(app, name="Ada", grade=5, enrolled_on=date(2020, 9, 1))
    apply(app, f"id,status,status_on,reason\n{ada},withdrawn,2026-10-01,Moved away\n")
    apply(app, f"id,status\n{ada},enrolled\n")
    enrollment = current_enrollment(app, ada)
    assert (enrollment.status, enrollment.status_on, enrollment.reason) == ("enrolled", None, None)


def test_import_refuses_a_withdrawal_before_the_enrollment(app: Flask) -> None:
    ada = add_student(app, name="Ada", grade=5, enrolled_on=date(2020, 9, 1))
    plan = apply(app, f"id,status,status_on,reason\n{ada},withdrawn,2019-10-01,Moved\n")
    assert plan.rows[0].errors == (
        "The status date 2019-10-01 is before the enrollment began (2020-09-01).",
    )
    assert current_enrollment(app, ada).status == "enrolled"


def test_import_enrolls_a_student_not_enrolled_this_year(app: Flask) -> None:
    nia = add_student(app, name="Nia", grade=None, enrolled_on=date(2019, 9, 1))
    refused = apply(app, f"id,status\n{nia},enrolled\n")
    assert refused.rows[0].errors == (
        "This student is not enrolled this school year: a grade is needed to enroll them.",
    )
    apply(app, f"id,grade\n{nia},4\n")
    enrollment = current_enrollment(app, nia)
    assert (enrollment.grade, enrollment.status) == (4, "enrolled")
    with app.app_context():
        year = db.session.scalar(select(SchoolYear).where(SchoolYear.is_current))
        assert enrollment.entered_on == year.starts_on
