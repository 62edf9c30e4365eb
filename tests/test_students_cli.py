"""Tests of the ``flask students`` command group."""

from __future__ import annotations

from datetime import date

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select, text
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


def test_seed_keeps_the_enrollment_counts_and_their_triggers(
    app: Flask, runner: FlaskCliRunner
) -> None:
    """The seed sets the count triggers aside on SQLite and adds its counts in one go."""
    from webapp.models import EnrollmentCount

    def triggers() -> set[str]:
        if db.session.get_bind().dialect.name != "sqlite":
            return set()
        found = db.session.execute(
            select(text("name")).select_from(text("sqlite_master")).where(text("type = 'trigger'"))
        )
        return set(found.scalars())

    with app.app_context():
        before = triggers()
    for count in ("40", "25"):  # the second seed is smaller than the table
        result = runner.invoke(args=["students", "seed", "-n", count, "--no-guardians"])
        assert result.exit_code == 0, result.output
    with app.app_context():
        kept = {
            (c.school_year_id, c.grade, c.status): c.students
            for c in db.session.scalars(select(EnrollmentCount))
            if c.students
        }
        counted = db.session.execute(
            select(
                Enrollment.school_year_id, Enrollment.grade, Enrollment.status, func.count()
            ).group_by(Enrollment.school_year_id, Enrollment.grade, Enrollment.status)
        ).all()
        assert kept == {(y, g, s): n for y, g, s, n in counted}
        assert sum(kept.values()) == 65
        assert triggers() == before
