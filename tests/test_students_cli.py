"""Tests of the ``flask students`` command group."""

from __future__ import annotations

from datetime import date

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from webapp.extensions import db
from webapp.fields.student import STUDENT
from webapp.models import Student


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


def test_seed_gives_families_shared_guardians_with_valid_numbers(
    app: Flask, runner: FlaskCliRunner
) -> None:
    from webapp.fields.guardian import GUARDIAN, PHONE_NUMBER
    from webapp.models import Guardian, StudentGuardian

    result = runner.invoke(args=["students", "seed", "--count", "200", "--seed", "3"])

    assert result.exit_code == 0, result.output
    with app.app_context():
        guardians = db.session.scalars(
            select(Guardian).options(selectinload(Guardian.phone_rows))
        ).all()
        links = db.session.scalars(select(StudentGuardian)).all()
        names = dict(db.session.execute(select(Student.id, Student.name)).all())
    assert guardians
    assert {link.student_id for link in links} == set(names)  # every student has one
    today = date.today()
    for guardian in guardians:
        assert guardian.phone_rows
        for row in guardian.phone_rows:  # valid numbers, as the form would take them
            assert PHONE_NUMBER.clean(PHONE_NUMBER.display(row.number), today) == row.number
        language = GUARDIAN["preferred_language"]
        if guardian.preferred_language:
            assert language.clean(language.display(guardian.preferred_language), today)
    children: dict[int, set[int]] = {}
    for link in links:
        children.setdefault(link.guardian_id, set()).add(link.student_id)
    shared = [kids for kids in children.values() if len(kids) > 1]
    assert len(shared) >= 10  # siblings share guardians...
    by_id = {guardian.id: guardian for guardian in guardians}
    for guardian_id, kids in children.items():  # ...and the family's surname
        surname = by_id[guardian_id].name.split()[-1]
        assert {names[kid].split()[-1] for kid in kids} == {surname}


def test_seed_without_guardians(app: Flask, runner: FlaskCliRunner) -> None:
    from webapp.models import Guardian

    result = runner.invoke(args=["students", "seed", "-n", "20", "--no-guardians"])

    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Guardian.id))) == 0
