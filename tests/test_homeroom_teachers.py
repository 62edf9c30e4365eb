"""A homeroom form's teachers at district scale: its current teachers as boxes to keep or
untick, one more typed by email address with at most 50 suggestions, validated (an
active account, else 422 inline), audited and version-checked as before; and a form
whose cost does not grow with the number of accounts."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import select, update

from tests.test_account_list import add_accounts
from tests.test_bounded_queries import measured_get
from tests.test_homerooms import add_homeroom
from webapp.extensions import db
from webapp.homerooms.service import TEACHER_LIMIT
from webapp.models import AuditEvent, Homeroom, User

BOX = re.compile(r'<input[^>]*name="teachers"[^>]*>\s*<label[^>]*>([^<]+)</label>')
SUGGESTION = re.compile(r'<option value="([^"]+)"></option>')
FORM = {"name": "5B", "grade": "5", "capacity": "25"}


def teachers_of(app: Flask, homeroom_id: int) -> list[str]:
    with app.app_context():
        return [user.email for user in db.session.get(Homeroom, homeroom_id).teachers]


def events(app: Flask) -> list[AuditEvent]:
    with app.app_context():
        statement = select(AuditEvent).where(AuditEvent.entity == "homeroom")
        return list(db.session.scalars(statement.order_by(AuditEvent.id)))


def test_a_teacher_typed_by_address_is_added_and_audited(app: Flask) -> None:
    client = app.test_client(user="editor")
    response = client.post(
        "/homerooms/new", data={**FORM, "add_teacher": " Teacher@School.example "}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        homeroom_id = db.session.scalar(select(Homeroom.id))
    assert teachers_of(app, homeroom_id) == ["teacher@school.example"]
    assert events(app)[0].changes["teachers"] == [None, "teacher@school.example"]


def test_the_edit_form_shows_the_current_teachers_only(app: Flask) -> None:
    add_accounts(app, 120)
    homeroom_id = add_homeroom(app, "5B", teachers=[4, 5])
    html = app.test_client(user="editor").get(f"/homerooms/{homeroom_id}/edit").get_data(True)
    assert BOX.findall(html) == [
        "teacher2@school.example (teacher)",
        "teacher@school.example (teacher)",
    ]
    assert html.count('name="teachers"') == 2
    assert html.count("checked") == 2
    suggestions = SUGGESTION.findall(html)
    assert len(suggestions) == TEACHER_LIMIT
    # Teachers first, by address.
    assert suggestions[:3] == [
        "t0000@district.example",
        "t0001@district.example",
        "t0002@district.example",
    ]


def test_untick_one_and_add_another_in_one_save(app: Flask) -> None:
    homeroom_id = add_homeroom(app, "5B", teachers=[4])
    client = app.test_client(user="editor")
    form = {**FORM, "version": "1", "teachers": [], "add_teacher": "teacher2@school.example"}
    assert client.post(f"/homerooms/{homeroom_id}/edit", data=form).status_code == 302
    assert teachers_of(app, homeroom_id) == ["teacher2@school.example"]
    assert events(app)[-1].changes == {
        "teachers": ["teacher@school.example", "teacher2@school.example"]
    }
    with app.app_context():
        assert db.session.get(Homeroom, homeroom_id).version == 2
    # The same form again is stale: 409, nothing changes.
    response = client.post(f"/homerooms/{homeroom_id}/edit", data={**form, "add_teacher": ""})
    assert response.status_code == 409
    assert teachers_of(app, homeroom_id) == ["teacher2@school.example"]


@pytest.mark.parametrize(
    "typed", ["nobody@school.example", "not an address", "gone0000@district.example"]
)
def test_an_address_of_no_active_account_is_422_inline(app: Flask, typed: str) -> None:
    add_accounts(app, 1, prefix="gone", active=False)
    homeroom_id = add_homeroom(app, "5B", teachers=[4])
    client = app.test_client(user="editor")
    form = {**FORM, "version": "1", "teachers": ["4"], "add_teacher": typed}
    response = client.post(f"/homerooms/{homeroom_id}/edit", data=form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="add_teacher-error"' in html
    assert "No active account has this email address." in html
    assert f'value="{typed}"' in html  # kept for correcting
    assert teachers_of(app, homeroom_id) == ["teacher@school.example"]
    assert len(events(app)) == 0


def test_after_a_miss_the_suggestions_contain_what_was_typed(app: Flask) -> None:
    add_accounts(app, 60)
    form = {**FORM, "add_teacher": "TEACHER"}
    response = app.test_client(user="editor").post("/homerooms/new", data=form)
    assert response.status_code == 422
    suggestions = SUGGESTION.findall(response.get_data(as_text=True))
    assert suggestions == ["teacher2@school.example", "teacher@school.example"]


def test_a_deactivated_teacher_stays_until_unticked(app: Flask) -> None:
    homeroom_id = add_homeroom(app, "5B", teachers=[4])
    with app.app_context():
        db.session.execute(update(User).where(User.id == 4).values(active=False))
        db.session.commit()
    client = app.test_client(user="editor")
    html = client.get(f"/homerooms/{homeroom_id}/edit").get_data(as_text=True)
    assert BOX.findall(html) == ["teacher@school.example (teacher, deactivated)"]
    form = {**FORM, "version": "1", "teachers": ["4"], "room": "12"}
    assert client.post(f"/homerooms/{homeroom_id}/edit", data=form).status_code == 302
    assert teachers_of(app, homeroom_id) == ["teacher@school.example"]
    form = {**FORM, "version": "2", "teachers": []}
    assert client.post(f"/homerooms/{homeroom_id}/edit", data=form).status_code == 302
    assert teachers_of(app, homeroom_id) == []


def test_ticked_ids_must_be_active_accounts(app: Flask) -> None:
    """A box is an account id (as a raw-id field): an active account's is taken; an
    unknown or deactivated one is refused (422), and nothing is saved."""
    add_accounts(app, 1, prefix="gone", active=False)
    with app.app_context():
        gone = db.session.scalar(select(User.id).where(User.email.startswith("gone")))
    client = app.test_client(user="editor")
    for ids in (["99999"], [str(gone)], ["4", "x"]):
        response = client.post("/homerooms/new", data={**FORM, "teachers": ids})
        assert response.status_code == 422, ids
    with app.app_context():
        assert db.session.scalar(select(Homeroom)) is None
    response = client.post("/homerooms/new", data={**FORM, "teachers": ["4", "5"]})
    assert response.status_code == 302


@pytest.mark.parametrize("page", ["new", "edit"])
def test_the_form_costs_the_same_whatever_the_number_of_accounts(app: Flask, page: str) -> None:
    homeroom_id = add_homeroom(app, "5B", teachers=[4])
    url = "/homerooms/new" if page == "new" else f"/homerooms/{homeroom_id}/edit"
    counts, sizes = [], []
    added = 0
    for size in (120, 600):
        add_accounts(app, size - added, prefix=f"s{size}-")
        added = size
        statements, html = measured_get(app, url, "editor")
        assert len(SUGGESTION.findall(html)) == TEACHER_LIMIT
        assert html.count('name="teachers"') == (0 if page == "new" else 1)
        counts.append(statements)
        sizes.append(len(html))
    assert counts[0] == counts[1], f"{counts} statements at 120 and 600 accounts"
    assert abs(sizes[0] - sizes[1]) < 500, sizes
