"""The audit trail: events for every change, history, the log, revert and restore."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.accounts import ACCOUNTS
from tests.helpers import current_enrollment, current_grade, fetch_student, valid_form
from webapp.audit import service as audit_service
from webapp.extensions import db
from webapp.models import AuditEvent


def events(app: Flask, student_id: int | None = None) -> list[AuditEvent]:
    with app.app_context():
        statement = select(AuditEvent).order_by(AuditEvent.id)
        if student_id is not None:
            statement = statement.where(AuditEvent.student_id == student_id)
        found = list(db.session.scalars(statement))
        for event in found:
            db.session.expunge(event)
        return found


def create(client: FlaskClient, **changes: str) -> int:
    response = client.post("/students/new", data=valid_form(**changes))
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.location.rsplit("/", 1)[1])


@pytest.fixture
def editor(app: Flask) -> FlaskClient:
    return app.test_client(user="editor")


def change_enrollment(client: FlaskClient, app: Flask, student_id: int, **values: str) -> None:
    """Post the enrollment form of the student's current year with ``values``."""
    enrollment = current_enrollment(app, student_id)
    assert enrollment is not None
    data = {"grade": str(enrollment.grade), "status": enrollment.status, "version": "1"}
    data.update(values)
    response = client.post(f"/students/{student_id}/enrollments/{enrollment.id}", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)


def test_create_records_every_value_and_who(app: Flask, editor: FlaskClient) -> None:
    student_id = create(editor, name="Grace Hopper", email="", grade="7")
    event, enrolled = events(app, student_id)
    assert (event.action, event.entity, event.entity_id) == ("create", "student", student_id)
    assert (event.user_id, event.actor) == (ACCOUNTS["editor"].id, ACCOUNTS["editor"].email)
    assert event.changes == {
        "name": [None, "Grace Hopper"],
        "birthday": [None, "2013-12-09"],
        "enrolled_on": [None, "2019-09-02"],
    }
    assert (enrolled.action, enrolled.entity) == ("create", "enrollment")
    assert enrolled.student_id == student_id
    assert enrolled.changes == {
        "grade": [None, 7],
        "status": [None, "enrolled"],
        "entered_on": [None, "2019-09-02"],
    }


def test_update_records_only_changed_fields_old_and_new(app: Flask, editor) -> None:
    student_id = create(editor)
    editor.post(f"/students/{student_id}/edit", data=valid_form(name="Grace B. Hopper"))
    event = events(app, student_id)[-1]
    assert event.action == "update"
    assert event.changes == {"name": ["Grace Hopper", "Grace B. Hopper"]}
    change_enrollment(editor, app, student_id, grade="8")
    event = events(app, student_id)[-1]
    assert (event.action, event.entity) == ("update", "enrollment")
    assert event.changes == {"grade": [7, 8]}


def test_save_without_changes_records_nothing(app: Flask, editor: FlaskClient) -> None:
    student_id = create(editor)
    editor.post(f"/students/{student_id}/edit", data=valid_form())
    assert [event.action for event in events(app, student_id)] == ["create", "create"]


def test_delete_records_the_last_values(app: Flask, editor: FlaskClient) -> None:
    student_id = create(editor)
    editor.post(f"/students/{student_id}/delete", data={"version": "1"})
    event = events(app, student_id)[-1]
    assert event.action == "delete"
    assert event.changes["name"] == ["Grace Hopper", None]
    assert event.changes["email"] == ["grace@example.org", None]


def test_failed_save_writes_no_event(app: Flask, editor: FlaskClient, monkeypatch) -> None:
    create(editor, email="taken@example.org")
    monkeypatch.setattr("webapp.students.forms.email_taken", lambda *a, **k: False)
    response = editor.post(
        "/students/new", data=valid_form(name="Other", email="TAKEN@example.org")
    )
    assert response.status_code == 422
    assert len(events(app)) == 2  # the database refused the row, and its events with it


def test_history_page_lists_changes_newest_first(app: Flask, editor: FlaskClient) -> None:
    student_id = create(editor)
    editor.post(f"/students/{student_id}/edit", data=valid_form(name="Grace B. Hopper"))
    html = (
        app.test_client(user="viewer").get(f"/students/{student_id}/history").get_data(as_text=True)
    )
    assert html.index("Update") < html.index("Create")
    assert "Grace B. Hopper" in html
    assert ACCOUNTS["editor"].email in html
    assert "Revert this change" not in html  # a viewer sees no undo buttons


def test_history_of_unknown_student_is_404(client: FlaskClient) -> None:
    assert client.get("/students/999/history").status_code == 404


def test_revert_restores_old_values_as_a_new_audited_change(app: Flask, editor) -> None:
    student_id = create(editor)
    editor.post(f"/students/{student_id}/edit", data=valid_form(name="Wrong Name"))
    update = events(app, student_id)[-1]

    response = editor.post(f"/audit/{update.id}/revert")

    assert response.status_code == 302
    student = fetch_student(app, student_id)
    assert student.name == "Grace Hopper"
    revert = events(app, student_id)[-1]
    assert revert.action == "revert"
    assert revert.reverts_id == update.id
    assert revert.changes == {"name": ["Wrong Name", "Grace Hopper"]}
    history = editor.get(f"/students/{student_id}/history").get_data(as_text=True)
    assert "Undone by" in history


def test_revert_refuses_when_the_fields_changed_again(app: Flask, editor) -> None:
    student_id = create(editor)
    editor.post(f"/students/{student_id}/edit", data=valid_form(name="Second", version="1"))
    first_update = events(app, student_id)[-1]
    editor.post(f"/students/{student_id}/edit", data=valid_form(name="Third", version="2"))

    response = editor.post(f"/audit/{first_update.id}/revert")

    assert response.status_code == 409
    assert "name of Third changed again since" in response.get_data(as_text=True)
    assert fetch_student(app, student_id).name == "Third"


def test_revert_of_an_untouched_field_still_works(app: Flask, editor) -> None:
    student_id = create(editor)
    change_enrollment(editor, app, student_id, grade="9")
    grade_change = events(app, student_id)[-1]
    editor.post(f"/students/{student_id}/edit", data=valid_form(name="New", version="1"))
    assert editor.post(f"/audit/{grade_change.id}/revert").status_code == 302
    assert fetch_student(app, student_id).name == "New"
    assert current_grade(app, student_id) == 7


def test_revert_of_a_withdrawal_enrolls_the_student_again(app: Flask, editor) -> None:
    student_id = create(editor)
    change_enrollment(
        editor, app, student_id, status="withdrawn", status_on="2026-10-01", reason="Moved away"
    )
    withdrawal = events(app, student_id)[-1]
    assert withdrawal.changes == {
        "status": ["enrolled", "withdrawn"],
        "status_on": [None, "2026-10-01"],
        "reason": [None, "Moved away"],
    }
    html = editor.get(f"/students/{student_id}/history").get_data(as_text=True)
    assert "Withdrawal reason" in html
    assert "Moved away" in html

    assert editor.post(f"/audit/{withdrawal.id}/revert").status_code == 302

    enrollment = current_enrollment(app, student_id)
    assert (enrollment.status, enrollment.status_on, enrollment.reason) == ("enrolled", None, None)
    assert events(app, student_id)[-1].reverts_id == withdrawal.id


def test_restore_brings_back_the_enrollments_too(app: Flask, editor) -> None:
    student_id = create(editor, grade="4")
    change_enrollment(
        editor, app, student_id, status="withdrawn", status_on="2026-10-01", reason="Moved"
    )
    editor.post(f"/students/{student_id}/delete", data={"version": "1"})
    assert current_enrollment(app, student_id) is None
    deletion = events(app, student_id)[-1]

    assert editor.post(f"/audit/{deletion.id}/restore").status_code == 302

    enrollment = current_enrollment(app, student_id)
    assert (enrollment.grade, enrollment.status, enrollment.reason) == (4, "withdrawn", "Moved")


def test_restore_brings_back_a_deleted_student_with_its_id(app: Flask, editor) -> None:
    student_id = create(editor)
    editor.post(f"/students/{student_id}/delete", data={"version": "1"})
    deletion = events(app, student_id)[-1]
    html = editor.get(f"/students/{student_id}/history").get_data(as_text=True)
    assert "Restore Grace Hopper" in html

    response = editor.post(f"/audit/{deletion.id}/restore")

    assert response.status_code == 302
    assert response.location == f"/students/{student_id}"
    student = fetch_student(app, student_id)
    assert (student.name, student.email, student.birthday) == (
        "Grace Hopper",
        "grace@example.org",
        date(2013, 12, 9),
    )
    restore = events(app, student_id)[-1]
    assert (restore.action, restore.reverts_id) == ("restore", deletion.id)


def test_restore_refused_when_the_email_is_taken_now(app: Flask, editor) -> None:
    student_id = create(editor)
    editor.post(f"/students/{student_id}/delete", data={"version": "1"})
    deletion = events(app, student_id)[-1]
    create(editor, name="Newcomer", email="GRACE@example.org")
    response = editor.post(f"/audit/{deletion.id}/restore")
    assert response.status_code == 409
    assert "belongs to another student" in response.get_data(as_text=True)
    assert fetch_student(app, student_id) is None


def test_restore_twice_is_refused(app: Flask, editor: FlaskClient) -> None:
    student_id = create(editor)
    editor.post(f"/students/{student_id}/delete", data={"version": "1"})
    deletion = events(app, student_id)[-1]
    editor.post(f"/audit/{deletion.id}/restore")
    response = editor.post(f"/audit/{deletion.id}/restore")
    assert response.status_code == 409
    assert "exists already" in response.get_data(as_text=True)


def test_viewer_cannot_revert(app: Flask, editor: FlaskClient) -> None:
    student_id = create(editor)
    editor.post(f"/students/{student_id}/edit", data=valid_form(name="Changed"))
    update = events(app, student_id)[-1]
    assert app.test_client(user="viewer").post(f"/audit/{update.id}/revert").status_code == 403


def test_audit_log_filters_by_user_action_and_date(app: Flask, editor: FlaskClient) -> None:
    admin = app.test_client(user="admin")
    first = create(editor, name="By Editor", email="e@example.org")
    create(admin, name="By Admin", email="a@example.org")
    editor.post(
        f"/students/{first}/edit", data=valid_form(name="By Editor 2", email="e@example.org")
    )

    def shown(query: str) -> str:
        response = admin.get(f"/audit/?{query}")
        assert response.status_code == 200
        return response.get_data(as_text=True)

    # Each new student is two events: the student, and the enrollment in the current year.
    assert "<strong>5</strong> changes" in shown("")
    html = shown(f"user={ACCOUNTS['editor'].id}")
    assert "<strong>3</strong> changes" in html
    assert "By Admin" not in html
    # The account is typed by address (any case); an unknown one is ignored, and said so.
    assert "<strong>3</strong> changes" in shown(f"user={ACCOUNTS['editor'].email.upper()}")
    html = shown("user=nobody@example.org")
    assert "<strong>5</strong> changes" in html
    assert "were not understood and were ignored: user" in html
    assert "<strong>5</strong> changes" in shown("user=99999999999999999999")
    assert "<strong>1</strong> change." in shown("action=update")
    today = date.today()
    assert "<strong>5</strong> changes" in shown(f"since={today}&until={today}")
    assert "<strong>0</strong> changes" in shown(f"until={today - timedelta(days=1)}")
    assert "<strong>5</strong> changes" in shown("since=garbage&action=nonsense")


def test_audit_log_is_for_admins_only(app: Flask) -> None:
    assert app.test_client(user="editor").get("/audit/").status_code == 403


def test_revert_and_restore_need_csrf(csrf_app: Flask) -> None:
    client = csrf_app.test_client(user="editor")
    assert client.post("/audit/1/revert").status_code in {400, 404}


def test_delete_flash_offers_undo(app: Flask, editor: FlaskClient) -> None:
    student_id = create(editor)
    response = editor.post(f"/students/{student_id}/delete", data={"version": "1"})
    html = editor.get(response.location).get_data(as_text=True)
    assert f'Deleted Grace Hopper. <a href="/students/{student_id}/history">Undo</a>' in html


def test_restore_of_an_older_deletion_is_refused_and_changes_nothing(
    app: Flask, editor: FlaskClient
) -> None:
    """Issue 18, finding 7: deleted, restored, edited, deleted again; the first deletion's
    values are stale, so restoring it would silently drop the edit."""
    student_id = create(editor)
    editor.post(f"/students/{student_id}/delete", data={"version": "1"})
    first_deletion = events(app, student_id)[-1]
    assert editor.post(f"/audit/{first_deletion.id}/restore").status_code == 302
    restored_version = fetch_student(app, student_id).version
    editor.post(
        f"/students/{student_id}/edit",
        data=valid_form(name="Grace Brewster Hopper", version=str(restored_version)),
    )
    editor.post(f"/students/{student_id}/delete", data={"version": str(restored_version + 1)})
    before = events(app, student_id)

    response = editor.post(f"/audit/{first_deletion.id}/restore")

    assert response.status_code == 409
    assert "already undone" in response.get_data(as_text=True)
    assert fetch_student(app, student_id) is None
    assert [e.id for e in events(app, student_id)] == [e.id for e in before]
    # The latest deletion restores the latest values.
    assert editor.post(f"/audit/{before[-1].id}/restore").status_code == 302
    assert fetch_student(app, student_id).name == "Grace Brewster Hopper"


def test_restore_of_a_deletion_that_is_not_the_latest_event_is_refused(
    app: Flask, editor: FlaskClient
) -> None:
    """A deletion restored by hand-made means (say, an import bringing the id back) is not
    marked undone, but later events still make it stale."""
    student_id = create(editor)
    editor.post(f"/students/{student_id}/delete", data={"version": "1"})
    deletion = events(app, student_id)[-1]
    with app.app_context():
        db.session.add(
            AuditEvent(
                actor="command line",
                action="create",
                entity="student",
                entity_id=student_id,
                student_id=student_id,
                student_name="Grace Hopper",
                changes={},
            )
        )
        db.session.add(
            AuditEvent(
                actor="command line",
                action="delete",
                entity="student",
                entity_id=student_id,
                student_id=student_id,
                student_name="Grace Hopper",
                changes={"name": ["Grace Hopper", None]},
            )
        )
        db.session.commit()

    response = editor.post(f"/audit/{deletion.id}/restore")

    assert response.status_code == 409
    assert "Only the latest deletion can be restored" in response.get_data(as_text=True)
    assert fetch_student(app, student_id) is None


def test_revert_of_an_already_reverted_change_is_refused(app: Flask, editor) -> None:
    student_id = create(editor)
    editor.post(f"/students/{student_id}/edit", data=valid_form(name="Wrong", version="1"))
    update = events(app, student_id)[-1]
    assert editor.post(f"/audit/{update.id}/revert").status_code == 302
    editor.post(f"/students/{student_id}/edit", data=valid_form(name="Wrong", version="3"))
    count = len(events(app, student_id))

    response = editor.post(f"/audit/{update.id}/revert")

    assert response.status_code == 409
    assert "already undone" in response.get_data(as_text=True)
    assert fetch_student(app, student_id).name == "Wrong"
    assert len(events(app, student_id)) == count


@pytest.mark.parametrize(
    "query",
    ["_method=POST", "endpoint=x", "_external=1", "_scheme=javascript", "_anchor=x", "page=2&x=1"],
)
def test_audit_log_ignores_query_keys_other_than_its_filters(app: Flask, query: str) -> None:
    """Issue 18, finding 6: every key used to reach url_for (500s, absolute links)."""
    admin = app.test_client(user="admin")
    editor = app.test_client(user="editor")
    for number in range(60):  # two pages of the log
        create(editor, name=f"Student {number}", email=f"s{number}@example.org")

    response = admin.get(f"/audit/?{query}&action=create")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'href="http' not in html  # no absolute links built from the Host header
    assert 'href="/audit/?' in html
    assert "_method" not in html
    assert "endpoint=" not in html
    assert "action=create" in html


def test_the_account_filter_suggests_a_bounded_list(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However many accounts there are, the log's page names at most a few."""
    monkeypatch.setattr(audit_service, "ACCOUNT_SUGGESTIONS", 1)
    html = app.test_client(user="admin").get("/audit/").get_data(as_text=True)
    datalist = re.search(r'<datalist id="audit-accounts">(.*?)</datalist>', html, re.S)
    assert datalist is not None
    assert datalist.group(1).count("<option") == 1
