"""Optimistic locking: a save or delete based on an outdated version gets a 409."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.helpers import add_student, current_enrollment, fetch_student, field_errors, valid_form
from webapp.extensions import db
from webapp.models import Student


def version_in(html: str) -> str:
    return re.search(r'id="version" name="version" type="hidden" value="(\d+)"', html).group(1)


def test_new_student_starts_at_version_1_and_each_save_bumps_it(
    app: Flask, client: FlaskClient
) -> None:
    student_id = add_student(app, name="Ada")
    assert fetch_student(app, student_id).version == 1
    client.post(f"/students/{student_id}/edit", data=valid_form(version="1"))
    assert fetch_student(app, student_id).version == 2


def test_edit_form_carries_the_version_it_was_rendered_from(
    app: Flask, client: FlaskClient
) -> None:
    student_id = add_student(app, name="Ada")
    client.post(f"/students/{student_id}/edit", data=valid_form(version="1"))
    html = client.get(f"/students/{student_id}/edit").get_data(as_text=True)
    assert version_in(html) == "2"


def test_stale_save_returns_409_with_stored_values_beside_typed_ones(
    app: Flask, client: FlaskClient
) -> None:
    student_id = add_student(app, name="Ada Lovelace", email="ada@example.org", grade=5)
    # Another secretary saves first, from the same version 1.
    first = client.post(
        f"/students/{student_id}/edit",
        data=valid_form(
            name="Ada King", email="ada@example.org", birthday="2013-12-10", version="1"
        ),
    )
    assert first.status_code == 302

    mine = valid_form(name="Ada Byron", email="ada@example.org", version="1")
    response = client.post(f"/students/{student_id}/edit", data=mine)

    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Someone else changed this student" in html
    assert 'value="Ada Byron"' in html  # what I typed is kept
    assert 'id="name-stored">Now stored: <strong>Ada King</strong>' in html
    assert 'id="birthday-stored">Now stored: <strong>2013-12-10</strong>' in html
    assert 'id="email-stored"' not in html  # same on both sides
    assert version_in(html) == "2"  # the form is now based on the stored version
    student = fetch_student(app, student_id)
    assert (student.name, student.birthday, student.version) == ("Ada King", date(2013, 12, 10), 2)


def test_after_a_conflict_saving_again_applies_my_values_on_top(
    app: Flask, client: FlaskClient
) -> None:
    student_id = add_student(app, name="Ada Lovelace", grade=5)
    client.post(f"/students/{student_id}/edit", data=valid_form(name="Ada King", version="1"))
    conflict = client.post(
        f"/students/{student_id}/edit", data=valid_form(name="Ada B", version="1")
    )
    assert conflict.status_code == 409

    response = client.post(
        f"/students/{student_id}/edit",
        data=valid_form(name="Ada B", version=version_in(conflict.get_data(as_text=True))),
    )

    assert response.status_code == 302
    student = fetch_student(app, student_id)
    assert (student.name, student.version) == ("Ada B", 3)


@pytest.mark.parametrize("version", [None, "", "abc", "0", "-1", "99"])
def test_edit_without_a_valid_current_version_is_a_conflict(
    app: Flask, client: FlaskClient, version: str | None
) -> None:
    student_id = add_student(app, name="Ada", grade=5)
    data = valid_form(name="Changed")
    if version is None:
        del data["version"]
    else:
        data["version"] = version
    response = client.post(f"/students/{student_id}/edit", data=data)
    assert response.status_code == 409
    assert fetch_student(app, student_id).name == "Ada"


def test_invalid_stale_form_shows_validation_errors_first(app: Flask, client: FlaskClient) -> None:
    student_id = add_student(app, name="Ada", grade=5)
    client.post(f"/students/{student_id}/edit", data=valid_form(version="1"))
    response = client.post(
        f"/students/{student_id}/edit", data=valid_form(birthday="soon", version="1")
    )
    assert response.status_code == 422
    assert "birthday" in field_errors(response.get_data(as_text=True))


def test_stale_delete_is_refused_with_409_and_current_record(
    app: Flask, client: FlaskClient
) -> None:
    student_id = add_student(app, name="Ada Lovelace", grade=5)
    client.post(f"/students/{student_id}/edit", data=valid_form(name="Ada King", version="1"))

    response = client.post(f"/students/{student_id}/delete", data={"version": "1"})

    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "This record changed since you opened this page" in html
    assert "Delete Ada King?" in html
    assert version_in(html) == "2"
    assert fetch_student(app, student_id) is not None
    again = client.post(f"/students/{student_id}/delete", data={"version": "2"})
    assert again.status_code == 302
    assert fetch_student(app, student_id) is None


def test_delete_confirmation_page_carries_the_version(app: Flask, client: FlaskClient) -> None:
    student_id = add_student(app, name="Ada")
    html = client.get(f"/students/{student_id}/delete").get_data(as_text=True)
    assert version_in(html) == "1"


@pytest.mark.parametrize("path", ["/students/{id}/edit", "/students/{id}/delete"])
def test_writing_a_student_deleted_meanwhile_says_so_with_404(
    app: Flask, client: FlaskClient, path: str
) -> None:
    student_id = add_student(app, name="Ada")
    client.post(f"/students/{student_id}/delete", data={"version": "1"})
    response = client.post(path.format(id=student_id), data=valid_form(version="1"))
    assert response.status_code == 404
    assert "Ada was deleted on " in response.get_data(as_text=True)


def test_row_changed_between_check_and_commit_is_a_conflict(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The version check passes, then another transaction commits before ours (PostgreSQL's
    READ COMMITTED allows that): SQLAlchemy's version_id_col turns it into a 409 too."""
    from webapp.students import service

    student_id = add_student(app, name="Ada", grade=5)
    real_check = service.check_version

    def check_then_concurrent_update(student: Student, expected: int | None) -> None:
        real_check(student, expected)
        # Simulate the other writer by bumping the row behind the session's back, on
        # the same connection so SQLite's write lock does not get in the way.
        db.session.execute(
            Student.__table__.update()
            .where(Student.id == student.id)
            .values(name="Other writer", version=Student.version + 1)
        )

    monkeypatch.setattr(service, "check_version", check_then_concurrent_update)
    response = client.post(f"/students/{student_id}/edit", data=valid_form(version="1"))

    assert response.status_code == 409
    with app.app_context():
        name = db.session.scalar(select(Student.name).where(Student.id == student_id))
    assert name == "Ada"  # the simulated writer's change was rolled back with ours


def test_optimistic_locking_off_lets_a_stale_save_through(app: Flask, client: FlaskClient) -> None:
    """The switch the concurrency test's negative control uses really disables the check."""
    app.config["OPTIMISTIC_LOCKING"] = False
    student_id = add_student(app, name="Ada")
    client.post(f"/students/{student_id}/edit", data=valid_form(name="First", version="1"))
    response = client.post(
        f"/students/{student_id}/edit", data=valid_form(name="Second", version="1")
    )
    assert response.status_code == 302
    assert fetch_student(app, student_id).name == "Second"


# --- enrollments: a status change on a stale version -------------------------------------


def test_stale_status_change_is_409_and_changes_nothing(app: Flask, client: FlaskClient) -> None:
    student_id = add_student(app, name="Ada", grade=5, enrolled_on=date(2020, 9, 1))
    enrollment = current_enrollment(app, student_id)
    url = f"/students/{student_id}/enrollments/{enrollment.id}"
    first = client.post(url, data={"grade": "6", "status": "enrolled", "version": "1"})
    assert first.status_code == 302

    withdrawal = {
        "grade": "5",
        "status": "withdrawn",
        "status_on": "2026-10-01",
        "reason": "Moved away",
        "version": "1",
    }
    response = client.post(url, data=withdrawal)

    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Someone else changed this enrollment" in html
    assert version_in(html) == "2"
    stored = current_enrollment(app, student_id)
    assert (stored.grade, stored.status, stored.version) == (6, "enrolled", 2)
