"""Homerooms: the pages, the assignments and their audit trail, the capacity warning, and
the refusals (another year's homeroom, a taken name, a stale edit, an invalid form)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tests.guardian_helpers import add_guardian
from tests.helpers import add_student, current_enrollment
from webapp.extensions import db
from webapp.homerooms import assignments
from webapp.homerooms.service import HomeroomError
from webapp.models import AuditEvent, Enrollment, Homeroom, SchoolYear, Student, User


def add_homeroom(app: Flask, name: str = "5B", grade: int = 5, capacity: int = 25, **values) -> int:
    """Insert a homeroom in the current year (or ``school_year_id``) and return its id."""
    with app.app_context():
        year_id = values.pop("school_year_id", None) or db.session.scalar(
            select(SchoolYear.id).where(SchoolYear.is_current)
        )
        teachers = values.pop("teachers", [])
        homeroom = Homeroom(
            school_year_id=year_id, name=name, grade=grade, capacity=capacity, **values
        )
        homeroom.teachers = [db.session.get(User, user_id) for user_id in teachers]
        db.session.add(homeroom)
        db.session.commit()
        return homeroom.id


def add_next_year(app: Flask) -> int:
    """A school year after the current one; its id."""
    with app.app_context():
        current = db.session.scalar(select(SchoolYear).where(SchoolYear.is_current))
        year = SchoolYear(
            name="next",
            starts_on=current.ends_on.replace(year=current.ends_on.year)
            + (current.ends_on - current.ends_on),
            ends_on=current.ends_on.replace(year=current.ends_on.year + 1),
        )
        year.starts_on = current.ends_on.replace(day=current.ends_on.day)
        year.starts_on = type(current.ends_on).fromordinal(current.ends_on.toordinal() + 1)
        db.session.add(year)
        db.session.commit()
        return year.id


def homeroom_of(app: Flask, student_id: int) -> int | None:
    enrollment = current_enrollment(app, student_id)
    assert enrollment is not None
    return enrollment.homeroom_id


def test_create_a_homeroom_with_a_teacher(app: Flask) -> None:
    client = app.test_client(user="editor")
    assert client.get("/homerooms/new").status_code == 200
    response = client.post(
        "/homerooms/new",
        data={"name": " 5B ", "grade": "5", "room": "12", "capacity": "25", "teachers": ["3"]},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        homeroom = db.session.scalar(select(Homeroom))
        assert (homeroom.name, homeroom.grade, homeroom.room, homeroom.capacity) == (
            "5B",
            5,
            "12",
            25,
        )
        assert [user.id for user in homeroom.teachers] == [3]
        assert len(homeroom.sourced_id) == 36
    html = client.get("/homerooms/").get_data(as_text=True)
    assert "5B" in html
    assert "viewer@school.example" in html


def test_the_edit_form_saved_unchanged_keeps_the_teachers(app: Flask) -> None:
    """The boxes of the current teachers are ticked (they were not: the form's ``obj``
    gave the field accounts, which ``coerce=int`` refused, and its ``data`` was ignored;
    saving the edit form to change the room took every teacher off)."""
    homeroom_id = add_homeroom(app, "5B", teachers=[4, 5])
    client = app.test_client(user="editor")
    html = client.get(f"/homerooms/{homeroom_id}/edit").get_data(as_text=True)
    ticked = re.findall(r'<input checked id="teachers-\d" name="teachers" [^>]*value="(\d+)"', html)
    assert sorted(ticked) == ["4", "5"]
    form = {"name": "5B", "grade": "5", "capacity": "25", "version": "1", "room": "12"}
    response = client.post(f"/homerooms/{homeroom_id}/edit", data={**form, "teachers": ticked})
    assert response.status_code == 302
    with app.app_context():
        homeroom = db.session.get(Homeroom, homeroom_id)
        assert sorted(user.id for user in homeroom.teachers) == [4, 5]
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event.changes == {"room": [None, "12"]}


def test_invalid_form_is_422_and_saves_nothing(app: Flask) -> None:
    client = app.test_client(user="editor")
    response = client.post("/homerooms/new", data={"name": "", "grade": "13", "capacity": "0"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Enter the homeroom&#39;s name" in html
    assert "The grade must be from 1 to 12." in html
    assert "The capacity must be from 1 to 200 students." in html
    with app.app_context():
        assert db.session.scalar(select(Homeroom)) is None


def test_a_name_taken_in_the_year_is_422(app: Flask) -> None:
    add_homeroom(app, "5B")
    response = app.test_client(user="editor").post(
        "/homerooms/new", data={"name": "5B", "grade": "5", "capacity": "20"}
    )
    assert response.status_code == 422
    assert "Another homeroom of this year is already called 5B." in response.get_data(as_text=True)


def test_stale_edit_is_409_and_changes_nothing(app: Flask) -> None:
    homeroom_id = add_homeroom(app, "5B")
    client = app.test_client(user="editor")
    form = {"name": "5B", "grade": "5", "capacity": "30", "version": "1"}
    assert client.post(f"/homerooms/{homeroom_id}/edit", data=form).status_code == 302
    stale = {**form, "capacity": "10"}
    response = client.post(f"/homerooms/{homeroom_id}/edit", data=stale)
    assert response.status_code == 409
    assert "changed by someone else" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Homeroom, homeroom_id).capacity == 30


def test_assign_from_the_class_page_is_audited_and_revertable(app: Flask) -> None:
    first = add_homeroom(app, "5A")
    second = add_homeroom(app, "5B")
    ada = add_student(app, name="Ada", grade=5)
    client = app.test_client(user="editor")
    assert (
        client.post(f"/homerooms/{first}/assign", data={"student": [str(ada)]}).status_code == 302
    )
    assert homeroom_of(app, ada) == first
    html = client.get(f"/homerooms/{first}").get_data(as_text=True)
    assert "Ada" in html
    assert (
        client.post(f"/homerooms/{second}/assign", data={"student": [str(ada)]}).status_code == 302
    )
    assert homeroom_of(app, ada) == second
    with app.app_context():
        move = db.session.scalars(
            select(AuditEvent).where(AuditEvent.student_id == ada).order_by(AuditEvent.id.desc())
        ).first()
        assert move.changes == {"homeroom": ["5A", "5B"], "homeroom_id": [first, second]}
        assert move.entity == "enrollment"
        move_id = move.id
    history = client.get(f"/students/{ada}/history").get_data(as_text=True)
    assert "Homeroom" in history
    assert "5A" in history
    response = client.post(f"/audit/{move_id}/revert")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert homeroom_of(app, ada) == first


def test_over_capacity_asks_for_confirmation(app: Flask) -> None:
    homeroom_id = add_homeroom(app, "5A", capacity=1)
    ada = add_student(app, name="Ada", grade=5)
    bob = add_student(app, name="Bob", grade=5)
    client = app.test_client(user="editor")
    response = client.post(
        f"/homerooms/{homeroom_id}/assign", data={"student": [str(ada), str(bob)]}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "5A would have 2 students; its capacity is 1." in html
    assert homeroom_of(app, ada) is None
    with app.app_context():
        homeroom = db.session.get(Homeroom, homeroom_id)
        token = assignments.confirmation_token(assignments.plan(homeroom, [ada, bob]))
    response = client.post(
        f"/homerooms/{homeroom_id}/assign",
        data={"student": [str(ada), str(bob)], "confirm_capacity": token},
    )
    assert response.status_code == 302
    assert homeroom_of(app, ada) == homeroom_of(app, bob) == homeroom_id
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.batch_id.is_not(None))
        ).all()
        assert len(events) == 2
        assert events[0].batch_id == events[1].batch_id


def test_a_homeroom_of_another_year_is_refused_by_service_and_database(app: Flask) -> None:
    next_year = add_next_year(app)
    other = add_homeroom(app, "5A", school_year_id=next_year)
    ada = add_student(app, name="Ada", grade=5)
    with app.app_context():
        current = db.session.scalar(select(SchoolYear.id).where(SchoolYear.is_current))
        homeroom = db.session.get(Homeroom, other)
        with pytest.raises(HomeroomError, match="is a homeroom of next"):
            assignments.plan(homeroom, [ada], year_id=current)
        enrollment = db.session.scalar(select(Enrollment).where(Enrollment.student_id == ada))
        enrollment.homeroom_id = other
        with pytest.raises(IntegrityError, match=r"(?i)foreign key"):
            db.session.commit()
        db.session.rollback()
    # From the class page: Ada has no enrollment in that year.
    response = app.test_client(user="editor").post(
        f"/homerooms/{other}/assign", data={"student": [str(ada)]}
    )
    assert response.status_code == 422
    assert "Ada: not enrolled in next" in response.get_data(as_text=True)
    assert homeroom_of(app, ada) is None


def test_delete_refuses_a_homeroom_with_students(app: Flask) -> None:
    homeroom_id = add_homeroom(app, "5A")
    ada = add_student(app, name="Ada", grade=5)
    client = app.test_client(user="editor")
    client.post(f"/homerooms/{homeroom_id}/assign", data={"student": [str(ada)]})
    response = client.post(f"/homerooms/{homeroom_id}/delete", data={"version": "1"})
    assert response.status_code == 409
    with app.app_context():
        enrollment = db.session.scalar(select(Enrollment).where(Enrollment.student_id == ada))
        version = enrollment.version
    response = client.post(
        f"/homerooms/{homeroom_id}/students/{enrollment.id}/remove", data={"version": str(version)}
    )
    assert response.status_code == 302
    assert homeroom_of(app, ada) is None
    assert client.post(f"/homerooms/{homeroom_id}/delete", data={"version": "1"}).status_code == 302
    with app.app_context():
        assert db.session.get(Homeroom, homeroom_id) is None


def test_print_list_has_the_students_and_their_guardians_phones(app: Flask) -> None:
    homeroom_id = add_homeroom(app, "5A")
    ada = add_student(app, name="Ada", grade=5)
    add_guardian(app, (ada,), name="Cat Lee", phones=(("mobile", "+12015550123"),))
    client = app.test_client(user="viewer")
    app.test_client(user="editor").post(
        f"/homerooms/{homeroom_id}/assign", data={"student": [str(ada)]}
    )
    html = client.get(f"/homerooms/{homeroom_id}/print").get_data(as_text=True)
    assert "Class list 5A" in html
    assert "Guardians' phone numbers" in html
    assert "Cat Lee (Mother): +1 201-555-0123" in html
    response = client.get(f"/homerooms/{homeroom_id}/contacts.csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[1][:4] == ["Ada", str(ada), "Cat Lee", "Mother"]


def test_lowering_the_capacity_below_the_students_asks_for_confirmation(app: Flask) -> None:
    homeroom_id = add_homeroom(app, "5A", capacity=5)
    for name in ("Ada", "Bob"):
        student = add_student(app, name=name, grade=5)
        app.test_client(user="editor").post(
            f"/homerooms/{homeroom_id}/assign", data={"student": [str(student)]}
        )
    client = app.test_client(user="editor")
    form = {"name": "5A", "grade": "5", "capacity": "1", "version": "1"}
    response = client.post(f"/homerooms/{homeroom_id}/edit", data=form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "5A would have 2 students; its capacity is 1." in html
    token = re.search(r'name="confirm_warnings"[^>]*value="([0-9a-f]+)"', html)
    assert token is not None
    response = client.post(
        f"/homerooms/{homeroom_id}/edit", data={**form, "confirm_warnings": token.group(1)}
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Homeroom, homeroom_id).capacity == 1


def test_another_teachers_homeroom_is_404_and_a_teacher_sees_their_own(app: Flask) -> None:
    mine = add_homeroom(app, "5A", teachers=[4])
    theirs = add_homeroom(app, "5B", teachers=[5])
    client = app.test_client(user="teacher")
    assert client.get(f"/homerooms/{mine}").status_code == 200
    assert client.get(f"/homerooms/{theirs}").status_code == 404
    assert client.get(f"/homerooms/{theirs}/print").status_code == 404


def test_a_homerooms_definition_is_audited(app: Flask) -> None:
    client = app.test_client(user="editor")
    client.post(
        "/homerooms/new", data={"name": "5B", "grade": "5", "capacity": "25", "teachers": ["4"]}
    )
    with app.app_context():
        homeroom_id = db.session.scalar(select(Homeroom.id))
    form = {"name": "5B", "grade": "5", "room": "12", "capacity": "20", "version": "1"}
    assert client.post(f"/homerooms/{homeroom_id}/edit", data=form).status_code == 302
    assert client.post(f"/homerooms/{homeroom_id}/delete", data={"version": "2"}).status_code == 302
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.entity == "homeroom").order_by(AuditEvent.id)
        ).all()
        assert [event.action for event in events] == ["create", "update", "delete"]
        assert events[0].changes["teachers"] == [None, "teacher@school.example"]
        assert events[1].changes == {
            "room": [None, "12"],
            "capacity": [25, 20],
            "teachers": ["teacher@school.example", None],
        }
        assert events[2].changes["name"] == ["5B", None]
        assert {event.note for event in events} == {events[0].note}
    log = app.test_client(user="admin").get("/audit/").get_data(as_text=True)
    assert "(homeroom)" in log


def test_a_restored_student_goes_back_into_its_homeroom(app: Flask) -> None:
    """A deletion keeps the enrollment's homeroom and the restore puts the student back
    in it (before, the restored enrollment had no homeroom); a homeroom removed meanwhile
    leaves it unassigned."""
    kept = add_homeroom(app, "5A")
    ada = add_student(app, name="Ada", grade=5)
    bob = add_student(app, name="Bob", grade=5)
    client = app.test_client(user="editor")
    for student_id in (ada, bob):
        client.post(f"/homerooms/{kept}/assign", data={"student": [str(student_id)]})
    gone = add_homeroom(app, "5C")
    client.post(f"/homerooms/{gone}/assign", data={"student": [str(bob)]})
    assert (homeroom_of(app, ada), homeroom_of(app, bob)) == (kept, gone)
    deletions = {}
    for student_id in (ada, bob):
        with app.app_context():
            version = db.session.get(Student, student_id).version
        response = client.post(f"/students/{student_id}/delete", data={"version": str(version)})
        assert response.status_code == 302
        with app.app_context():
            deletions[student_id] = db.session.scalar(
                select(AuditEvent.id)
                .where(AuditEvent.student_id == student_id)
                .order_by(AuditEvent.id.desc())
            )
    with app.app_context():
        db.session.delete(db.session.get(Homeroom, gone))
        db.session.commit()

    for student_id in (ada, bob):
        response = client.post(f"/audit/{deletions[student_id]}/restore")
        assert response.status_code == 302, response.get_data(as_text=True)

    assert (homeroom_of(app, ada), homeroom_of(app, bob)) == (kept, None)
    assert "Ada" in client.get(f"/homerooms/{kept}").get_data(as_text=True)
