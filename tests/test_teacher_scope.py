"""The teacher's scope over every route of ``app.url_map``, with two teachers and their
students: anyone else's student (or homeroom) answers 404 wherever a teacher may go, 403
where a teacher may not go at all, and every list, export and figure holds only their own.

``PARAMETERS`` fills each URL parameter by name with the *other* teacher's record; a route
with a parameter that has no entry fails the test, so a new route is checked too.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import openpyxl
import pytest
from flask import Flask
from sqlalchemy import select

from tests.accounts import ACCOUNTS
from tests.guardian_helpers import add_guardian
from tests.helpers import add_student
from tests.test_access_matrix import REQUIRED
from tests.test_homerooms import add_homeroom
from webapp.dashboard.service import dashboard
from webapp.extensions import db
from webapp.models import AuditEvent, Enrollment, Role, SchoolYear, Status, User

#: The teachers, and which of the two classes is whose.
TEACHERS = ("teacher", "teacher2")


@dataclass
class School:
    """Two homerooms of the current year, one per teacher, and their students."""

    homerooms: dict[str, int]
    #: Per teacher: the name of their enrolled student.
    own: dict[str, str]
    #: Per teacher: ids of their student, of that student's enrollment and of one event.
    ids: dict[str, dict[str, int]]
    year_id: int
    #: Names no teacher may see: unassigned, and withdrawn from a teacher's class.
    nobody: tuple[str, ...] = ("Cy Nobodysclass", "Dee Withdrawnfromfirst")


@pytest.fixture
def school(app: Flask) -> School:
    homerooms = {
        "teacher": add_homeroom(app, "5A", teachers=[ACCOUNTS["teacher"].id]),
        "teacher2": add_homeroom(app, "5B", teachers=[ACCOUNTS["teacher2"].id]),
    }
    own = {"teacher": "Ada Firstclass", "teacher2": "Bob Secondclass"}
    ids: dict[str, dict[str, int]] = {}
    editor = app.test_client(user="editor")
    for number, (teacher, name) in enumerate(own.items()):
        student_id = add_student(app, name=name, grade=5, email=f"{name.split()[0]}@x.org")
        editor.post(f"/homerooms/{homerooms[teacher]}/assign", data={"student": [str(student_id)]})
        # A guardian each, whose name gives the student away too.
        guardian = add_guardian(
            app,
            (student_id,),
            name=f"{name.split()[0]}parent Guardian",
            phones=(("mobile", f"+1201555012{number}"),),
        )
        ids[teacher] = {"student_id": student_id, "guardian_id": guardian}
    add_student(app, name="Cy Nobodysclass", grade=5)
    dee = add_student(app, name="Dee Withdrawnfromfirst", grade=5)
    editor.post(f"/homerooms/{homerooms['teacher']}/assign", data={"student": [str(dee)]})
    with app.app_context():
        enrollment = db.session.scalar(select(Enrollment).where(Enrollment.student_id == dee))
        enrollment.status, enrollment.status_on = Status.WITHDRAWN.value, enrollment.entered_on
        enrollment.reason = "moved away"
        db.session.commit()
        year_id = db.session.scalar(select(SchoolYear.id).where(SchoolYear.is_current))
        for teacher in TEACHERS:
            student_id = ids[teacher]["student_id"]
            ids[teacher]["enrollment_id"] = db.session.scalar(
                select(Enrollment.id).where(Enrollment.student_id == student_id)
            )
            ids[teacher]["event_id"] = db.session.scalar(
                select(AuditEvent.id).where(AuditEvent.student_id == student_id).limit(1)
            )
    return School(homerooms, own, ids, year_id)


def text_of(response) -> str:
    """A response's text; a workbook's (the ``.xlsx`` export) is its cells' values."""
    if response.mimetype.endswith("spreadsheetml.sheet"):
        workbook = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True)
        return "\n".join(
            str(value)
            for sheet in workbook.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
        )
    return response.get_data().decode("utf-8", errors="replace")


def other(teacher: str) -> str:
    return TEACHERS[1 - TEACHERS.index(teacher)]


def parameters(school: School, teacher: str) -> dict[str, object]:
    """Each URL parameter, by name, filled with the other teacher's record."""
    theirs = other(teacher)
    return {
        "student_id": school.ids[theirs]["student_id"],
        "enrollment_id": school.ids[theirs]["enrollment_id"],
        "event_id": school.ids[theirs]["event_id"],
        "homeroom_id": school.homerooms[theirs],
        "guardian_id": school.ids[theirs]["guardian_id"],
        "year_id": school.year_id,
        "rollover_id": 1,
        "user_id": ACCOUNTS[theirs].id,
        "token": "0" * 32,
        "filename": "css/app.css",
    }


@pytest.mark.parametrize("teacher", TEACHERS)
def test_every_route_hides_the_other_teachers_students(
    app: Flask, school: School, teacher: str
) -> None:
    values = parameters(school, teacher)
    theirs, mine = school.own[other(teacher)], school.own[teacher]
    # Their own student is there (checked first: the loop ends with a logout).
    own_id = school.ids[teacher]["student_id"]
    client = app.test_client(user=teacher)
    assert client.get(f"/students/{own_id}").status_code == 200
    assert client.get(f"/students/{own_id}/history").status_code == 200
    assert mine in client.get(f"/homerooms/{school.homerooms[teacher]}/print").get_data(
        as_text=True
    )
    unexpected, checked = [], 0
    rules = sorted(app.url_map.iter_rules(), key=lambda rule: rule.endpoint == "auth.logout")
    for rule in rules:
        missing = rule.arguments - set(values)
        assert not missing, f"add {sorted(missing)} (of {rule.rule}) to parameters()"
        url = rule.build({name: values[name] for name in rule.arguments})[1]
        needed = REQUIRED[rule.endpoint]  # (the role matrix fails for a route missing there)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = app.test_client(user=teacher).open(url, method=method)
            body = text_of(response)
            checked += 1
            if needed is not None and needed.rank > Role.TEACHER.rank:
                expected = {403}
            elif rule.arguments - {"filename"}:
                expected = {404}
            else:  # a list, a form or a button without a record: anything but a refusal
                expected = set(range(200, 500)) - {403, 404}
            if response.status_code not in expected:
                unexpected.append((method, url, response.status_code, sorted(expected)[:3]))
            their_guardian = theirs.split()[0] + "parent"
            for name in (theirs, their_guardian, *school.nobody):
                if name in body or name.split()[0] + "@" in body:
                    unexpected.append((method, url, f"shows {name}"))
    assert unexpected == [], "\n".join(map(str, unexpected))
    assert checked >= len(list(app.url_map.iter_rules()))


@pytest.mark.parametrize("teacher", TEACHERS)
def test_lists_exports_and_figures_hold_only_their_own(
    app: Flask, school: School, teacher: str
) -> None:
    client = app.test_client(user=teacher)
    mine = school.own[teacher]
    for query in ("", "?status=all", "?status=none", "?q=class", "?status=withdrawn", "?grade=5"):
        html = client.get(f"/students/{query}").get_data(as_text=True)
        shown = [name for name in (*school.own.values(), *school.nobody) if name in html]
        assert shown == ([mine] if query in ("", "?status=all", "?q=class", "?grade=5") else [])
    rows = list(
        csv.reader(
            io.StringIO(
                client.get("/students/export.csv?status=all")
                .get_data(as_text=True)
                .lstrip("\ufeff")
            )
        )
    )
    assert [row[1] for row in rows[1:]] == [mine]
    workbook = text_of(client.get("/students/export.xlsx?status=all"))
    assert [name for name in (*school.own.values(), *school.nobody) if name in workbook] == [mine]
    homerooms = client.get("/homerooms/").get_data(as_text=True)
    # (by the link's text: a bare "5A" may come up in a random token of the page)
    assert (">5A</a>" in homerooms) == (teacher == "teacher")
    assert (">5B</a>" in homerooms) == (teacher == "teacher2")
    with app.app_context():
        viewer = db.session.get(User, ACCOUNTS[teacher].id)
        board = dashboard(viewer=viewer)
        assert board.enrolled == 1
        assert sum(board.statuses.values()) == 1
        assert {event.student_name for event in board.latest} == {mine}
        everyone = dashboard(viewer=db.session.get(User, ACCOUNTS["viewer"].id))
        assert everyone.enrolled == 3


def test_a_teacher_may_not_write_or_import(app: Flask, school: School) -> None:
    client = app.test_client(user="teacher")
    own_id = school.ids["teacher"]["student_id"]
    assert client.get(f"/students/{own_id}/edit").status_code == 403
    assert client.get("/students/import").status_code == 403
    assert client.get("/students/new").status_code == 403
    assert client.get(f"/homerooms/{school.homerooms['teacher']}/edit").status_code == 403
