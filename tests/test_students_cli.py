"""Tests of the ``flask students`` command group."""

from __future__ import annotations

from datetime import date

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from webapp.extensions import db
from webapp.fields.student import STUDENT
from webapp.models import Enrollment, Homeroom, Student


def test_seed_adds_valid_realistic_students(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["students", "seed", "--count", "300", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "Added 300 students." in result.output
    with app.app_context():
        students = db.session.scalars(
            select(Student).options(selectinload(Student.enrollments))
        ).all()
    assert len(students) == 300
    today = date.today()
    for student in students:
        values = {field.name: getattr(student, field.name) for field in STUDENT}
        for field in STUDENT:  # every value is one the form and the import accept
            assert field.clean(field.display(values[field.name]), today) == values[field.name]
        assert STUDENT.check_record(values) == []
        age = student.age_on(today)
        assert age is not None
        [enrollment] = student.enrollments  # enrolled in the current school year
        assert (enrollment.status, enrollment.entered_on) == ("enrolled", student.enrolled_on)
        assert enrollment.grade + 3 <= age <= enrollment.grade + 8


def test_seed_twice_keeps_emails_unique(app: Flask, runner: FlaskCliRunner) -> None:
    for _ in range(2):
        result = runner.invoke(args=["students", "seed", "-n", "50", "--seed", "1"])
        assert result.exit_code == 0, result.output
    with app.app_context():
        total = db.session.scalar(select(func.count(Student.id)))
        emails = db.session.scalar(select(func.count(func.distinct(func.lower(Student.email)))))
        with_email = db.session.scalar(select(func.count(Student.email)))
    assert total == 100
    assert emails == with_email


def test_seed_rejects_a_count_below_one(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["students", "seed", "--count", "0"])
    assert result.exit_code == 2
    assert "0 is not in the range" in result.output


def test_students_group_help_lists_seed(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["students", "--help"])
    assert result.exit_code == 0
    assert "seed" in result.output


def test_seed_makes_homerooms_with_a_teacher_each(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=["students", "seed", "-n", "120", "--seed", "3", "--class-size", "10"]
    )
    assert result.exit_code == 0, result.output
    assert "the teachers' password is" in result.output
    with app.app_context():
        homerooms = db.session.scalars(
            select(Homeroom).options(selectinload(Homeroom.teachers))
        ).all()
        sizes = dict(
            db.session.execute(
                select(Enrollment.homeroom_id, func.count()).group_by(Enrollment.homeroom_id)
            ).all()
        )
        assert None not in sizes  # every demo student is in a homeroom
        assert sum(sizes.values()) == 120
        for homeroom in homerooms:
            assert 1 <= sizes[homeroom.id] <= 10
            [teacher] = homeroom.teachers
            assert teacher.role == "teacher"
        names = {(h.grade, h.name) for h in homerooms}
        assert all(name.startswith(str(grade)) for grade, name in names)
        grade_five = sorted(h.name for h in homerooms if h.grade == 5)
        assert grade_five[0] == "5A"


def test_seed_without_homerooms(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["students", "seed", "-n", "5", "--class-size", "0"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Homeroom)) == 0
