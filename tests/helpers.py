"""Small helpers shared by test modules."""

from __future__ import annotations

import html as html_lib
import io
import re
from datetime import date
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from webapp.extensions import db
from webapp.import_export import jobs
from webapp.models import Enrollment, SchoolYear, Student, User


def post_file(client: FlaskClient, data: bytes, filename: str = "students.csv") -> Any:
    """Upload a file through the import page, and wait until it is read in the background.

    Returns:
        The upload's response (a 303 to the preview, or the form again with an error).
    """
    response = client.post(
        "/students/import",
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )
    jobs.wait(60)
    return response


def final_page(client: FlaskClient, response: Any) -> Any:
    """The page an upload ends on: the form again (a 422 at once), or its preview (200),
    or the form with why the file could not be read (422), once it is read."""
    return client.get(response.location) if response.status_code == 303 else response


def add_student(app: Flask, grade: int | None = 5, **values: Any) -> int:
    """Insert one student directly through the ORM and return its id.

    The student is enrolled in the current school year with ``grade`` (status enrolled),
    unless ``grade`` is ``None``.
    """
    defaults: dict[str, Any] = {"name": "Ada Lovelace"}
    defaults.update(values)
    with app.app_context():
        student = Student(**defaults)
        if student.enrolled_on is None:
            student.enrolled_on = date(2020, 9, 1)
        db.session.add(student)
        db.session.flush()
        if grade is not None:
            year_id = db.session.scalar(select(SchoolYear.id).where(SchoolYear.is_current))
            db.session.add(
                Enrollment(
                    student_id=student.id,
                    school_year_id=year_id,
                    grade=grade,
                    entered_on=student.enrolled_on,
                )
            )
        db.session.commit()
        return student.id


def current_enrollment(app: Flask, student_id: int) -> Enrollment | None:
    """The student's enrollment in the current school year, detached, or ``None``."""
    with app.app_context():
        enrollment = db.session.scalar(
            select(Enrollment)
            .join(SchoolYear, SchoolYear.id == Enrollment.school_year_id)
            .where(Enrollment.student_id == student_id, SchoolYear.is_current)
        )
        if enrollment is not None:
            db.session.expunge(enrollment)
        return enrollment


def current_grade(app: Flask, student_id: int) -> int | None:
    """The student's grade in the current school year, or ``None``."""
    enrollment = current_enrollment(app, student_id)
    return enrollment.grade if enrollment else None


def fetch_student(app: Flask, student_id: int) -> Student | None:
    """Read a student as stored now, detached from the session, or ``None``."""
    with app.app_context():
        student = db.session.get(Student, student_id)
        if student is not None:
            db.session.expunge(student)
        return student


def fetch_user(app: Flask, email: str) -> User | None:
    """Read an account as stored now, detached from the session, or ``None``."""
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        return user


def field_errors(html: str) -> dict[str, str]:
    """Return ``{field id: error text}`` for every inline error in a rendered form."""
    found = re.findall(r'<p class="field-error" id="([\w-]+)-error">([^<]*)</p>', html)
    return {field: html_lib.unescape(text) for field, text in found}


def valid_form(**changes: str) -> dict[str, str]:
    """A valid create/edit form submission, with ``changes`` applied."""
    data = {
        "name": "Grace Hopper",
        "email": "grace@example.org",
        "grade": "7",
        "birthday": "2013-12-09",
        "enrolled_on": "2019-09-02",
        "version": "1",
    }
    data.update(changes)
    return data
