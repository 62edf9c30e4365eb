"""The year-end rollover: preview, hold back, confirm, run twice, undo; web and command line."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from tests.helpers import add_student
from webapp.extensions import db
from webapp.models import AuditBatch, AuditEvent, Enrollment, EnrollmentCount, Rollover, SchoolYear


@pytest.fixture
def school(app: Flask) -> dict[str, int]:
    """The current year with the next one defined, and students in it by name: id."""
    with app.app_context():
        year = db.session.scalar(select(SchoolYear).where(SchoolYear.is_current))
        assert year is not None
        db.session.add(
            SchoolYear(
                name="Next",
                starts_on=date(year.starts_on.year + 1, 9, 1),
                ends_on=date(year.starts_on.year + 2, 8, 31),
            )
        )
        db.session.commit()
    return {
        "Ann": add_student(app, name="Ann", grade=1),
        "Bob": add_student(app, name="Bob", grade=1),
        "Cid": add_student(app, name="Cid", grade=5),
        "Dee": add_student(app, name="Dee", grade=12),
        "Eve": add_student(app, name="Eve", grade=12),
        "Fay": add_student(app, name="Fay", grade=7),
    }


def year_ids(app: Flask) -> tuple[int, int]:
    """(current year, next year)."""
    with app.app_context():
        ordered = db.session.scalars(select(SchoolYear.id).order_by(SchoolYear.starts_on)).all()
        return ordered[0], ordered[1]


def enrollments(app: Flask, year_id: int) -> dict[int, tuple[int, str]]:
    """``{student id: (grade, status)}`` in the year."""
    with app.app_context():
        rows = db.session.execute(
            select(Enrollment.student_id, Enrollment.grade, Enrollment.status).where(
                Enrollment.school_year_id == year_id
            )
        )
        return {student: (grade, status) for student, grade, status in rows}


def counts(app: Flask, year_id: int) -> dict[tuple[int, str], int]:
    """The trigger-kept counts of the year, without zeros."""
    with app.app_context():
        rows = db.session.execute(
            select(EnrollmentCount.grade, EnrollmentCount.status, EnrollmentCount.students).where(
                EnrollmentCount.school_year_id == year_id, EnrollmentCount.students > 0
            )
        )
        return {(grade, status): number for grade, status, number in rows}


def counted(app: Flask, year_id: int) -> dict[tuple[int, str], int]:
    """The same counts, counted from the enrollments themselves."""
    found: dict[tuple[int, str], int] = {}
    for grade, status in enrollments(app, year_id).values():
        found[grade, status] = found.get((grade, status), 0) + 1
    return found


def withdraw(app: Flask, student_id: int, year_id: int) -> None:
    with app.app_context():
        enrollment = db.session.scalar(
            select(Enrollment).where(
                Enrollment.student_id == student_id, Enrollment.school_year_id == year_id
            )
        )
        enrollment.status, enrollment.status_on, enrollment.reason = (
            "withdrawn",
            date(2026, 10, 1),
            "Moved",
        )
        db.session.commit()


def test_preview_lists_grade_by_grade_who_moves_up_and_who_graduates(
    client: FlaskClient, app: Flask, school: dict[str, int]
) -> None:
    this_year, _ = year_ids(app)
    html = client.get(f"/years/{this_year}/rollover").get_data(as_text=True)
    assert "into Next" in html
    assert '<th scope="row">Grade 1</th>' in html
    assert "Graduates" in html  # grade 12
    for name in school:
        assert f'<label for="hold-{school[name]}">{name}' in html
    assert enrollments(app, year_ids(app)[1]) == {}  # a preview changes nothing


def test_holding_back_updates_the_preview(
    client: FlaskClient, app: Flask, school: dict[str, int]
) -> None:
    this_year, _ = year_ids(app)
    response = client.post(
        f"/years/{this_year}/rollover",
        data={
            "hold": [str(school["Bob"]), str(school["Eve"])],
            "refresh": "1",
            "make_current": "y",
        },
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'id="hold-{school["Bob"]}" checked' in html
    assert f'id="hold-{school["Ann"]}" checked' not in html
    assert enrollments(app, year_ids(app)[1]) == {}


def test_confirm_rolls_over_in_one_batch(
    client: FlaskClient, app: Flask, school: dict[str, int]
) -> None:
    this_year, next_year = year_ids(app)
    withdraw(app, school["Fay"], this_year)

    response = client.post(
        f"/years/{this_year}/rollover",
        data={
            "hold": [str(school["Bob"]), str(school["Eve"])],
            "confirm": "1",
            "make_current": "y",
        },
    )

    assert response.status_code == 302
    assert enrollments(app, next_year) == {
        school["Ann"]: (2, "enrolled"),
        school["Bob"]: (1, "enrolled"),  # held back
        school["Cid"]: (6, "enrolled"),
        school["Eve"]: (12, "enrolled"),  # held back in the top grade
    }
    old = enrollments(app, this_year)
    assert old[school["Dee"]] == (12, "graduated")
    assert old[school["Fay"]] == (7, "withdrawn")  # left during the year: not rolled over
    assert counts(app, next_year) == counted(app, next_year)
    assert counts(app, this_year) == counted(app, this_year)
    with app.app_context():
        rollover = db.session.scalar(select(Rollover))
        assert (rollover.promoted, rollover.held_back, rollover.graduated) == (2, 2, 1)
        assert rollover.made_current
        assert db.session.get(SchoolYear, next_year).is_current
        batch_events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.batch_id == rollover.batch_id)
        ).all()
        # 4 enrollments made, 1 graduation, 2 school years' "current" changed.
        assert sorted((e.entity, e.action) for e in batch_events) == sorted(
            [("enrollment", "create")] * 4
            + [("enrollment", "update")]
            + [("school_year", "update")] * 2
        )
        graduation = next(e for e in batch_events if e.action == "update" and e.student_id)
        assert graduation.student_id == school["Dee"]
        assert graduation.changes["status"] == ["enrolled", "graduated"]
    history = client.get(f"/students/{school['Dee']}/history").get_data(as_text=True)
    assert "Part of a rollover" in history


def test_rollover_run_twice_is_refused_and_changes_nothing(
    client: FlaskClient, app: Flask, school: dict[str, int]
) -> None:
    this_year, next_year = year_ids(app)
    client.post(f"/years/{this_year}/rollover", data={"confirm": "1"})
    before = (enrollments(app, this_year), enrollments(app, next_year))

    response = client.post(f"/years/{this_year}/rollover", data={"confirm": "1"})

    assert response.status_code == 409
    assert "was already rolled over into Next" in response.get_data(as_text=True)
    assert (enrollments(app, this_year), enrollments(app, next_year)) == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Rollover)) == 1


def test_without_a_next_year_the_rollover_says_what_to_do(client: FlaskClient, app: Flask) -> None:
    with app.app_context():
        this_year = db.session.scalar(select(SchoolYear.id))
    response = client.get(f"/years/{this_year}/rollover")
    assert response.status_code == 409
    assert "Define the next year first" in response.get_data(as_text=True)


def test_undo_puts_everything_back(client: FlaskClient, app: Flask, school: dict[str, int]) -> None:
    this_year, next_year = year_ids(app)
    before = enrollments(app, this_year)
    client.post(f"/years/{this_year}/rollover", data={"confirm": "1", "make_current": "y"})
    with app.app_context():
        rollover_id = db.session.scalar(select(Rollover.id))

    response = client.post(f"/years/rollovers/{rollover_id}/undo")

    assert response.status_code == 302
    assert enrollments(app, next_year) == {}
    assert enrollments(app, this_year) == before
    assert counts(app, this_year) == counted(app, this_year)
    assert counts(app, next_year) == {}
    with app.app_context():
        assert db.session.get(SchoolYear, this_year).is_current
        rollover = db.session.get(Rollover, rollover_id)
        assert rollover.undo_batch_id is not None
        undo_batch = db.session.get(AuditBatch, rollover.undo_batch_id)
        assert undo_batch.kind == "rollover undo"
        reverts = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.batch_id == undo_batch.id, AuditEvent.entity == "enrollment"
            )
        ).all()
        assert len(reverts) == 6  # 5 enrollments removed, 1 graduation taken back
        assert all(event.action == "revert" and event.reverts_id for event in reverts)
    # Undone, it can run again.
    again = client.post(f"/years/{this_year}/rollover", data={"confirm": "1"})
    assert again.status_code == 302


def test_undo_is_refused_once_the_new_year_changed(
    client: FlaskClient, app: Flask, school: dict[str, int]
) -> None:
    this_year, next_year = year_ids(app)
    client.post(f"/years/{this_year}/rollover", data={"confirm": "1"})
    with app.app_context():
        rollover_id = db.session.scalar(select(Rollover.id))
        enrollment = db.session.scalar(
            select(Enrollment).where(
                Enrollment.student_id == school["Ann"], Enrollment.school_year_id == next_year
            )
        )
        enrollment.grade = 3
        db.session.commit()
    before = enrollments(app, next_year)

    response = client.post(f"/years/rollovers/{rollover_id}/undo")

    assert response.status_code == 409
    assert "were changed or deleted since" in response.get_data(as_text=True)
    assert enrollments(app, next_year) == before


def test_undo_is_refused_when_a_graduation_was_changed(
    client: FlaskClient, app: Flask, school: dict[str, int]
) -> None:
    this_year, _ = year_ids(app)
    client.post(f"/years/{this_year}/rollover", data={"confirm": "1"})
    with app.app_context():
        dee = db.session.scalar(
            select(Enrollment).where(
                Enrollment.student_id == school["Dee"], Enrollment.school_year_id == this_year
            )
        )
        url = f"/students/{school['Dee']}/enrollments/{dee.id}"
        version = dee.version
    changed = client.post(
        url,
        data={"grade": "12", "status": "graduated", "status_on": "2027-06-15", "version": version},
    )
    assert changed.status_code == 302
    with app.app_context():
        rollover_id = db.session.scalar(select(Rollover.id))

    response = client.post(f"/years/rollovers/{rollover_id}/undo")

    assert response.status_code == 409
    assert "Graduations it recorded" in response.get_data(as_text=True)


def test_rollover_is_for_admins_only(app: Flask, school: dict[str, int]) -> None:
    this_year, next_year = year_ids(app)
    editor = app.test_client(user="editor")
    assert editor.post(f"/years/{this_year}/rollover", data={"confirm": "1"}).status_code == 403
    assert enrollments(app, next_year) == {}


def test_cli_rollover_dry_run_then_run_then_undo(
    app: Flask, runner: FlaskCliRunner, school: dict[str, int]
) -> None:
    this_year, next_year = year_ids(app)
    dry = runner.invoke(args=["years", "rollover", "--dry-run", "--hold", str(school["Ann"])])
    assert dry.exit_code == 0, dry.output
    assert "grade  1: 1 to grade 2, 1 held back" in dry.output
    assert "grade 12: 2 graduate" in dry.output
    assert enrollments(app, next_year) == {}

    result = runner.invoke(
        args=["years", "rollover", "--hold", str(school["Ann"]), "--keep-current"]
    )
    assert result.exit_code == 0, result.output
    assert "3 moved up, 1 held back, 2 graduated" in result.output
    assert len(enrollments(app, next_year)) == 4  # 3 moved up, 1 held back
    with app.app_context():
        assert db.session.get(SchoolYear, this_year).is_current  # --keep-current

    twice = runner.invoke(args=["years", "rollover"])
    assert twice.exit_code == 1
    assert "already rolled over" in twice.output

    undone = runner.invoke(args=["years", "undo-rollover"])
    assert undone.exit_code == 0, undone.output
    assert enrollments(app, next_year) == {}
