"""Guardians from the student's page: add, edit, link an existing one, unlink, delete;
invalid input (422), a guardian linked twice and stale edits (409) change nothing; every
change is audited and can be undone from the student's history."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.guardian_helpers import (
    add_guardian,
    all_rows,
    count_statements,
    events,
    events_with_ids,
    guardian_form,
    stored,
)
from tests.helpers import add_student, field_errors


@pytest.fixture
def student_id(app: Flask) -> int:
    return add_student(app, name="Ann Lee")


def test_add_guardian_stores_e164_numbers_language_tag_and_link(
    app: Flask, client: FlaskClient, student_id: int
) -> None:
    response = client.post(f"/students/{student_id}/guardians/new", data=guardian_form())

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/students/{student_id}#guardians")
    [(action1, entity1, guardian_id), (action2, entity2, linked)] = events(app, student_id)
    assert (action1, entity1, action2, entity2) == ("create", "guardian", "create", "guardian_link")
    assert linked == guardian_id
    assert stored(app, guardian_id) == {
        "name": "Maria García",
        "email": "maria@example.org",
        "preferred_language": "es",
        "version": 1,
        "phones": [["mobile", "+12015550123"], ["work", "+442079460000"]],
        "links": {student_id: ("mother", 1, True, False, True, 1)},
    }


def test_students_page_shows_guardians_with_formatted_numbers(
    app: Flask, client: FlaskClient, student_id: int
) -> None:
    add_guardian(app, (student_id,), phones=(("mobile", "+12015550123"), ("work", "+442079460000")))

    html = client.get(f"/students/{student_id}").get_data(as_text=True)

    assert 'id="guardians"' in html
    assert "Cat Lee" in html
    assert '<a href="tel:+12015550123">+1 201-555-0123</a>' in html
    assert "+44 20 7946 0000" in html


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"phone1_number": "555"}, "phone1_number", "is not a valid phone number"),
        ({"phone2_number": "call me"}, "phone2_number", "is not a phone number"),
        ({"name": "  "}, "name", "Enter the guardian's name."),
        ({"email": "not-an-address"}, "email", "Enter a valid email address"),
        ({"preferred_language": "Elvish-ish"}, "preferred_language", "is not a language"),
        ({"relationship": "neighbour"}, "relationship", "is not one of: Mother"),
        ({"contact_order": "0"}, "contact_order", "must be from 1 to 99"),
    ],
)
def test_invalid_guardian_form_is_422_and_stores_nothing(
    app: Flask,
    client: FlaskClient,
    student_id: int,
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    before = all_rows(app)

    response = client.post(f"/students/{student_id}/guardians/new", data=guardian_form(**changes))

    assert response.status_code == 422
    assert message in field_errors(response.get_data(as_text=True))[field]
    assert all_rows(app) == before


def test_local_numbers_follow_phone_default_region(
    app: Flask, client: FlaskClient, student_id: int
) -> None:
    app.config["PHONE_DEFAULT_REGION"] = "GB"

    client.post(
        f"/students/{student_id}/guardians/new",
        data=guardian_form(phone1_number="020 7946 0000", phone2_number=""),
    )

    [(_, _, guardian_id), _] = events(app, student_id)
    assert stored(app, guardian_id)["phones"] == [["mobile", "+442079460000"]]


def test_edit_changes_guardian_and_link_in_one_audited_save(
    app: Flask, client: FlaskClient, student_id: int
) -> None:
    guardian_id = add_guardian(app, (student_id,))
    data = guardian_form(
        name="Cat Lee-Smith",
        phone1_number="+1 201 555 0199",
        phone2_number="",
        relationship="guardian",
        emergency_contact="",
        version="1",
        link_version="1",
    )
    del data["emergency_contact"]  # an unticked box sends nothing

    response = client.post(f"/students/{student_id}/guardians/{guardian_id}/edit", data=data)

    assert response.status_code == 302
    after = stored(app, guardian_id)
    assert after["name"] == "Cat Lee-Smith"
    assert after["phones"] == [["mobile", "+12015550199"]]
    assert after["version"] == 2
    assert after["links"][student_id][:5] == ("guardian", 1, False, False, True)
    assert [e[:2] for e in events(app, student_id)] == [
        ("update", "guardian"),
        ("update", "guardian_link"),
    ]


def test_phone_change_alone_bumps_the_guardians_version(
    app: Flask, client: FlaskClient, student_id: int
) -> None:
    guardian_id = add_guardian(app, (student_id,), relationship="mother")
    data = guardian_form(
        name="Cat Lee",
        email="cat@example.org",
        preferred_language="",
        phone1_number="+1 201 555 0177",
        phone2_number="",
        emergency_contact="",
        pickup_allowed="",
        version="1",
        link_version="1",
    )
    del data["emergency_contact"], data["pickup_allowed"]

    client.post(f"/students/{student_id}/guardians/{guardian_id}/edit", data=data)

    assert stored(app, guardian_id)["version"] == 2
    assert [e[:2] for e in events(app, student_id)] == [("update", "guardian")]


def test_stale_edit_is_409_and_changes_nothing(
    app: Flask, client: FlaskClient, student_id: int
) -> None:
    guardian_id = add_guardian(app, (student_id,))
    url = f"/students/{student_id}/guardians/{guardian_id}/edit"
    client.post(url, data=guardian_form(name="First Save", version="1", link_version="1"))
    before = stored(app, guardian_id)

    response = client.post(
        url, data=guardian_form(name="Stale Save", version="1", link_version="1")
    )

    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Someone else changed this guardian" in html
    assert 'value="First Save"' in html
    assert stored(app, guardian_id) == before


def test_search_finds_a_siblings_guardian_by_name_email_or_phone(
    app: Flask, client: FlaskClient, student_id: int
) -> None:
    sibling = add_student(app, name="Bob Lee")
    add_guardian(app, (sibling,), name="Cat Lee", phones=(("mobile", "+12015550123"),))
    add_guardian(app, (student_id,), name="Cathy Linked")  # linked already: not listed

    for query in ("cat", "CAT@example", "(201) 555-0123", "5550123"):
        html = client.get(f"/students/{student_id}/guardians/link", query_string={"q": query})
        text = html.get_data(as_text=True)
        assert "Cat Lee" in text, query
        assert "Cathy Linked" not in text, query


def test_search_treats_like_wildcards_as_text(
    app: Flask, client: FlaskClient, student_id: int
) -> None:
    add_guardian(app, (), name="Cat Lee")

    html = client.get(f"/students/{student_id}/guardians/link?q=%25").get_data(as_text=True)

    assert "Cat Lee" not in html


def test_link_existing_guardian_to_a_sibling(
    app: Flask, client: FlaskClient, student_id: int
) -> None:
    sibling = add_student(app, name="Bob Lee")
    guardian_id = add_guardian(app, (sibling,))

    response = client.post(
        f"/students/{student_id}/guardians/link/{guardian_id}",
        data={"relationship": "father", "contact_order": "2", "lives_with": "yes"},
    )

    assert response.status_code == 302
    links = stored(app, guardian_id)["links"]
    assert links[student_id][:5] == ("father", 2, False, True, False)
    assert sibling in links
    assert events(app, student_id) == [("create", "guardian_link", guardian_id)]


def test_guardian_linked_twice_is_409_and_changes_nothing(
    app: Flask, client: FlaskClient, student_id: int
) -> None:
    guardian_id = add_guardian(app, (student_id,))
    before = all_rows(app)

    response = client.post(
        f"/students/{student_id}/guardians/link/{guardian_id}",
        data={"relationship": "father", "contact_order": "2"},
    )

    assert response.status_code == 409
    assert "already linked to this student" in response.get_data(as_text=True)
    assert all_rows(app) == before


def test_unlink_keeps_the_guardian_for_the_sibling_and_can_be_undone(
    app: Flask, client: FlaskClient, student_id: int
) -> None:
    sibling = add_student(app, name="Bob Lee")
    guardian_id = add_guardian(app, (student_id, sibling), emergency_contact=True)
    url = f"/students/{student_id}/guardians/{guardian_id}/unlink"
    assert "Bob Lee" in client.get(url).get_data(as_text=True)

    response = client.post(url, data={"version": "1"})

    assert response.status_code == 302
    assert set(stored(app, guardian_id)["links"]) == {sibling}
    [(_, _, _), (action, entity, _)] = [("", "", 0), *events(app, student_id)]
    assert (action, entity) == ("delete", "guardian_link")
    event_id = last_event_id(app, student_id)

    undone = client.post(f"/audit/{event_id}/restore")

    assert undone.status_code == 302
    assert stored(app, guardian_id)["links"][student_id][:3] == ("mother", 1, True)
    assert events(app, student_id)[-1][:2] == ("restore", "guardian_link")


def test_stale_unlink_is_409_and_keeps_the_link(
    app: Flask, client: FlaskClient, student_id: int
) -> None:
    guardian_id = add_guardian(app, (student_id,))

    response = client.post(
        f"/students/{student_id}/guardians/{guardian_id}/unlink", data={"version": "7"}
    )

    assert response.status_code == 409
    assert student_id in stored(app, guardian_id)["links"]


def test_revert_a_guardian_update_from_the_students_history(
    app: Flask, client: FlaskClient, student_id: int
) -> None:
    guardian_id = add_guardian(app, (student_id,))
    before = stored(app, guardian_id)
    client.post(
        f"/students/{student_id}/guardians/{guardian_id}/edit",
        data=guardian_form(name="Wrong Name", phone2_number="", version="1", link_version="1"),
    )
    history = client.get(f"/students/{student_id}/history").get_data(as_text=True)
    assert "guardian Cat Lee" not in history  # the note names the guardian as saved
    assert "guardian Wrong Name" in history
    update = [e for e in events_with_ids(app, student_id) if e[1:3] == ("update", "guardian")]

    response = client.post(f"/audit/{update[0][0]}/revert")

    assert response.status_code == 302
    after = stored(app, guardian_id)
    assert (after["name"], after["email"], after["phones"]) == (
        before["name"],
        before["email"],
        before["phones"],
    )


def test_delete_guardian_removes_every_link_and_restore_brings_them_back(
    app: Flask, client: FlaskClient, student_id: int
) -> None:
    sibling = add_student(app, name="Bob Lee")
    guardian_id = add_guardian(app, (student_id, sibling))
    before = stored(app, guardian_id)

    response = client.post(
        f"/students/{student_id}/guardians/{guardian_id}/delete", data={"version": "1"}
    )

    assert response.status_code == 302
    assert stored(app, guardian_id) is None
    deletion = last_event_id(app, student_id)
    client.post(f"/audit/{deletion}/restore")
    after = stored(app, guardian_id)
    assert after is not None
    assert (after["name"], after["phones"], set(after["links"])) == (
        before["name"],
        before["phones"],
        {student_id, sibling},
    )
    assert events(app, sibling)[-1][:2] == ("restore", "guardian_link")


def test_guardian_page_lists_their_students(
    app: Flask, client: FlaskClient, student_id: int
) -> None:
    sibling = add_student(app, name="Bob Lee")
    guardian_id = add_guardian(app, (student_id, sibling))

    html = client.get(f"/guardians/{guardian_id}").get_data(as_text=True)

    assert "<h1>Cat Lee</h1>" in html
    assert "Ann Lee" in html
    assert "Bob Lee" in html


def test_guardian_without_visible_students_is_404(app: Flask, client: FlaskClient) -> None:
    guardian_id = add_guardian(app, ())

    assert client.get(f"/guardians/{guardian_id}").status_code == 404
    assert client.get("/guardians/999").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/students/{s}/guardians/new",
        "/students/{s}/guardians/{g}/edit",
        "/students/{s}/guardians/{g}/unlink",
        "/students/{s}/guardians/{g}/delete",
        "/students/{s}/guardians/link/{g}",
    ],
)
def test_viewer_may_not_change_guardians(app: Flask, student_id: int, path: str) -> None:
    guardian_id = add_guardian(app, (student_id,))
    viewer = app.test_client(user="viewer")
    url = path.format(s=student_id, g=guardian_id)

    assert viewer.get(url).status_code == 403
    assert viewer.post(url, data=guardian_form()).status_code == 403


def test_guardian_forms_of_unknown_student_are_404(app: Flask, client: FlaskClient) -> None:
    guardian_id = add_guardian(app, ())

    assert client.get("/students/999/guardians/new").status_code == 404
    assert client.get(f"/students/999/guardians/{guardian_id}/edit").status_code == 404


def page_statements(app: Flask, client: FlaskClient, url: str) -> int:
    def get() -> None:
        assert client.get(url).status_code == 200

    return count_statements(app, get)


def test_students_page_runs_the_same_statements_for_1_or_12_guardians(
    app: Flask, client: FlaskClient
) -> None:
    few, many = add_student(app, name="Few"), add_student(app, name="Many")
    add_guardian(app, (few,))
    for i in range(12):
        add_guardian(
            app,
            (many,),
            name=f"Guardian {i}",
            phones=(("home", "+12015550100"), ("work", "+12015550101")),
        )

    assert page_statements(app, client, f"/students/{few}") == page_statements(
        app, client, f"/students/{many}"
    )


def last_event_id(app: Flask, student_id: int) -> int:
    return events_with_ids(app, student_id)[-1][0]


@pytest.mark.parametrize("text", ["\x000000", "es\x00", "x" * 81])
def test_language_with_control_characters_or_too_long_is_refused(text: str) -> None:
    from webapp.fields.base import FieldError
    from webapp.fields.guardian import PREFERRED_LANGUAGE

    with pytest.raises(FieldError, match="is not a language"):
        PREFERRED_LANGUAGE.clean(text, None)  # type: ignore[arg-type]


def test_edit_with_a_stale_link_saves_nothing_of_the_guardian_either(
    app: Flask, client: FlaskClient, student_id: int
) -> None:
    guardian_id = add_guardian(app, (student_id,))
    before = stored(app, guardian_id)

    response = client.post(
        f"/students/{student_id}/guardians/{guardian_id}/edit",
        data=guardian_form(name="Half Saved", version="1", link_version="9"),
    )

    assert response.status_code == 409
    assert stored(app, guardian_id) == before
    assert events(app, student_id) == []


def test_edit_without_versions_is_refused_as_stale(
    app: Flask, client: FlaskClient, student_id: int
) -> None:
    guardian_id = add_guardian(app, (student_id,))
    before = stored(app, guardian_id)

    response = client.post(
        f"/students/{student_id}/guardians/{guardian_id}/edit", data=guardian_form(name="X")
    )

    assert response.status_code == 409
    assert stored(app, guardian_id) == before
