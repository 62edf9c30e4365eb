"""Bulk actions on the roster: the confirmation page, one transaction audited as one batch,
the export of the selection, and the refusals (nothing selected, a stale confirmation,
another year's homeroom, a status the lifecycle forbids)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import select

from tests.helpers import add_student, current_enrollment
from tests.test_homerooms import add_homeroom, add_next_year
from webapp.extensions import db
from webapp.homerooms import service as homeroom_service
from webapp.models import AuditBatch, AuditEvent


def seen_of(html: str) -> str:
    match = re.search(r'name="bulk-seen" value="([0-9a-f]*)"', html)
    assert match, "the confirmation page carries what it showed"
    return match.group(1)


def three(app: Flask) -> list[int]:
    return [
        add_student(app, name=name, grade=5, email=f"{name.lower()}@x.org")
        for name in ("Ada", "Bob", "Cyd")
    ]


def test_assign_the_ticked_students_after_confirmation(app: Flask) -> None:
    homeroom = add_homeroom(app, "5A")
    ada, bob, cyd = three(app)
    client = app.test_client(user="editor")
    form = {
        "student": [str(ada), str(bob)],
        "bulk-action": "homeroom",
        "bulk-homeroom": "5A",
    }
    preview = client.post("/students/bulk", data=form)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200, html
    assert "2 students will move into 5A" in html
    assert current_enrollment(app, ada).homeroom_id is None  # nothing yet
    done = client.post("/students/bulk/apply", data={**form, "bulk-seen": seen_of(html)})
    assert done.status_code == 302
    assert current_enrollment(app, ada).homeroom_id == homeroom
    assert current_enrollment(app, bob).homeroom_id == homeroom
    assert current_enrollment(app, cyd).homeroom_id is None
    with app.app_context():
        batch = db.session.scalar(select(AuditBatch))
        assert batch.kind == "homeroom assignment"
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.batch_id == batch.id)).all()
        assert sorted(event.student_id for event in events) == [ada, bob]


def test_every_row_matching_the_search(app: Flask) -> None:
    homeroom = add_homeroom(app, "5A")
    ada, bob, _cyd = three(app)
    client = app.test_client(user="editor")
    form = {"every": "1", "q": "b", "bulk-action": "homeroom", "bulk-homeroom": "5A"}
    html = client.post("/students/bulk", data=form).get_data(as_text=True)
    assert "1 student will move into 5A" in html
    client.post("/students/bulk/apply", data={**form, "bulk-seen": seen_of(html)})
    assert current_enrollment(app, bob).homeroom_id == homeroom
    assert current_enrollment(app, ada).homeroom_id is None


def test_change_status_in_one_batch_refusing_a_date_before_entry(app: Flask) -> None:
    ada, bob, _ = three(app)
    late = add_student(app, name="Late", grade=5, enrolled_on=date(2026, 11, 1))
    client = app.test_client(user="editor")
    form = {
        "student": [str(ada), str(bob), str(late)],
        "bulk-action": "status",
        "bulk-status": "withdrawn",
        "bulk-status_on": "2026-10-01",
        "bulk-reason": "moved away",
    }
    html = client.post("/students/bulk", data=form).get_data(as_text=True)
    assert "2 students will change status" in html
    assert "Late: The status date 2026-10-01 is before the enrollment began" in html
    assert (
        client.post("/students/bulk/apply", data={**form, "bulk-seen": seen_of(html)}).status_code
        == 302
    )
    assert current_enrollment(app, ada).status == "withdrawn"
    assert current_enrollment(app, late).status == "enrolled"
    with app.app_context():
        assert db.session.scalar(select(AuditBatch.kind)) == "bulk status"


def test_missing_reason_is_422_with_the_message(app: Flask) -> None:
    ada, _, _ = three(app)
    form = {"student": [str(ada)], "bulk-action": "status", "bulk-status": "withdrawn"}
    response = app.test_client(user="editor").post("/students/bulk", data=form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Enter the date the student withdrew." in html
    assert "Enter the reason for the withdrawal." in html


def test_nothing_selected_or_no_homeroom_is_422(app: Flask) -> None:
    client = app.test_client(user="editor")
    add_homeroom(app, "5A")
    response = client.post(
        "/students/bulk", data={"bulk-action": "homeroom", "bulk-homeroom": "5A"}
    )
    assert response.status_code == 422
    assert "Tick at least one student" in response.get_data(as_text=True)
    response = client.post("/students/bulk", data={"student": ["1"], "bulk-action": "homeroom"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Type the name of the homeroom to assign the students to." in html


def test_a_stale_confirmation_is_409_and_changes_nothing(app: Flask) -> None:
    add_homeroom(app, "5A")
    ada, _bob, _ = three(app)
    client = app.test_client(user="editor")
    form = {"student": [str(ada)], "bulk-action": "homeroom", "bulk-homeroom": "5A"}
    seen = seen_of(client.post("/students/bulk", data=form).get_data(as_text=True))
    client.post(
        f"/students/{ada}/enrollments/{current_enrollment(app, ada).id}",
        data={"grade": "6", "status": "enrolled", "version": "1"},
    )
    response = client.post("/students/bulk/apply", data={**form, "bulk-seen": seen})
    assert response.status_code == 409
    assert "The roster changed since this page was shown" in response.get_data(as_text=True)
    assert current_enrollment(app, ada).homeroom_id is None


def test_another_years_homeroom_is_refused(app: Flask) -> None:
    add_homeroom(app, "5A", school_year_id=add_next_year(app))
    ada, _, _ = three(app)
    form = {"student": [str(ada)], "bulk-action": "homeroom", "bulk-homeroom": "5A"}
    response = app.test_client(user="editor").post("/students/bulk", data=form)
    assert response.status_code == 422
    assert "There is no homeroom called “5A” in" in response.get_data(as_text=True)
    assert current_enrollment(app, ada).homeroom_id is None


def test_the_homeroom_is_found_by_name_ignoring_case_and_spaces(app: Flask) -> None:
    homeroom = add_homeroom(app, "5A")
    ada, _, _ = three(app)
    form = {"student": [str(ada)], "bulk-action": "homeroom", "bulk-homeroom": " 5a "}
    html = app.test_client(user="editor").post("/students/bulk", data=form).get_data(as_text=True)
    assert "1 student will move into 5A" in html
    client = app.test_client(user="editor")
    seen = seen_of(html)
    client.post("/students/bulk/apply", data={**form, "bulk-seen": seen})
    assert current_enrollment(app, ada).homeroom_id == homeroom


def test_the_roster_suggests_a_bounded_list_of_homerooms(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However many homerooms the year has, the roster page names at most a few."""
    for name in ("5A", "5B"):
        add_homeroom(app, name)
    three(app)
    monkeypatch.setattr(homeroom_service, "SUGGESTION_LIMIT", 1)
    html = app.test_client(user="editor").get("/students/").get_data(as_text=True)
    datalist = re.search(r'<datalist id="bulk-homerooms">(.*?)</datalist>', html, re.S)
    assert datalist is not None
    assert datalist.group(1).count("<option") == 1


def test_export_the_selection(app: Flask) -> None:
    ada, bob, _ = three(app)
    client = app.test_client(user="viewer")
    response = client.post("/students/export-selection.csv", data={"student": [str(bob), str(ada)]})
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [row[1] for row in rows[1:]] == ["Ada", "Bob"]
    response = client.post("/students/export-selection.csv", data={"every": "1", "q": "cy"})
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [row[1] for row in rows[1:]] == ["Cyd"]


def test_roster_rows_have_labelled_checkboxes(app: Flask) -> None:
    ada, _, _ = three(app)
    html = app.test_client(user="editor").get("/students/").get_data(as_text=True)
    assert f'<label for="select-{ada}" class="visually-hidden">Select Ada</label>' in html
    assert 'id="bulk-form"' in html
    assert "Every student matching this search (3)" in html
