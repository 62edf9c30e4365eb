"""Request tests for the students blueprint: roster, detail, create, edit, delete."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from tests.helpers import add_student, current_grade, fetch_student, field_errors, valid_form
from webapp.extensions import db
from webapp.models import Student


def count_students(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Student.id)))


# --- roster -----------------------------------------------------------------------------


def test_root_is_the_dashboard(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "<h1>Dashboard" in response.get_data(as_text=True)


def test_empty_roster_says_what_to_do(client: FlaskClient) -> None:
    html = client.get("/students/").get_data(as_text=True)
    assert "No students enrolled in" in html
    assert 'href="/students/new"' in html


def test_roster_lists_students_with_every_column(app: Flask, client: FlaskClient) -> None:
    add_student(
        app,
        name="Alan Turing",
        email="alan@example.org",
        grade=9,
        birthday=date(2011, 6, 23),
        enrolled_on=date(2017, 9, 4),
    )
    html = client.get("/students/").get_data(as_text=True)
    for text in ("Alan Turing", "alan@example.org", ">9<", "23 Jun 2011", "4 Sep 2017"):
        assert text in html
    assert "<strong>1</strong> student" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=ada", {"Ada Lovelace"}),
        ("q=ADA", {"Ada Lovelace"}),
        ("q=example.net", {"Charles Babbage"}),
        ("q=love", {"Ada Lovelace"}),
        ("grade=3", {"Charles Babbage"}),
        ("q=a&grade=5", {"Ada Lovelace"}),
        ("q=%25", set()),
        ("q=_", set()),
        ("q=nobody", set()),
    ],
)
def test_roster_search_and_grade_filter(
    app: Flask, client: FlaskClient, query: str, expected: set[str]
) -> None:
    add_student(app, name="Ada Lovelace", email="ada@example.org", grade=5)
    add_student(app, name="Charles Babbage", email="charles@example.net", grade=3)
    html = client.get(f"/students/?{query}").get_data(as_text=True)
    shown = {name for name in ("Ada Lovelace", "Charles Babbage") if f">{name}</a>" in html}
    assert shown == expected
    if not expected:
        assert "No students match" in html


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Ann", "Bea", "Cid"]),
        ("-name", ["Cid", "Bea", "Ann"]),
        ("grade", ["Bea", "Cid", "Ann"]),
        ("-grade", ["Ann", "Cid", "Bea"]),
        ("email", ["Cid", "Ann", "Bea"]),
        ("-email", ["Ann", "Cid", "Bea"]),
        ("birthday", ["Cid", "Bea", "Ann"]),
        ("-birthday", ["Bea", "Cid", "Ann"]),
        ("enrolled_on", ["Bea", "Ann", "Cid"]),
        ("-enrolled_on", ["Cid", "Ann", "Bea"]),
    ],
)
def test_roster_sorts_on_every_column(
    app: Flask, client: FlaskClient, sort: str, expected: list[str]
) -> None:
    # Empty emails and birthdays sort last in both directions.
    add_student(app, name="Ann", email="b@x.org", grade=9, enrolled_on=date(2020, 1, 1))
    add_student(app, name="Bea", grade=1, birthday=date(2015, 1, 1), enrolled_on=date(2019, 1, 1))
    add_student(
        app,
        name="Cid",
        email="A@x.org",
        grade=4,
        birthday=date(2012, 1, 1),
        enrolled_on=date(2021, 1, 1),
    )
    html = client.get(f"/students/?sort={sort}").get_data(as_text=True)
    positions = [html.index(f">{name}</a>") for name in expected]
    assert positions == sorted(positions)


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "page=-3",
        "page=abc",
        "page=99999",
        "sort=password",
        "sort=--name",
        "sort=",
        "per_page=10000",
        "per_page=0",
        "per_page=-1",
        "per_page=x",
        "grade=abc",
        "grade=13",
        "grade=",
        "q=" + "x" * 5000,
        "q=%00%27%22<script>",
    ],
)
def test_roster_bad_parameters_are_corrected_not_500(
    app: Flask, client: FlaskClient, query: str
) -> None:
    add_student(app, name="Ada Lovelace")
    response = client.get(f"/students/?{query}")
    assert response.status_code == 200
    assert "<script>" not in response.get_data(as_text=True)


def test_roster_paginates_with_default_25_and_max_100(app: Flask, client: FlaskClient) -> None:
    for i in range(130):
        add_student(app, name=f"Student {i:03}", grade=1 + i % 12, enrolled_on=date(2020, 9, 1))
    html = client.get("/students/").get_data(as_text=True)
    assert html.count('<th scope="row"') == 25
    assert "Showing 1–25 of" in html
    assert 'rel="next"' in html
    html = client.get("/students/?per_page=10000").get_data(as_text=True)
    assert html.count('<th scope="row"') == 100
    html = client.get("/students/?page=6").get_data(as_text=True)
    assert "Showing 126–130 of" in html
    html = client.get("/students/?page=99").get_data(as_text=True)
    assert "Showing 126–130 of" in html


def test_roster_links_keep_search_state(app: Flask, client: FlaskClient) -> None:
    for i in range(30):
        add_student(app, name=f"Ada {i:02}", grade=5)
    html = client.get("/students/?q=ada&grade=5&sort=-grade").get_data(as_text=True)
    assert "/students/?q=ada&amp;grade=5&amp;sort=-grade&amp;page=2" in html


def test_roster_page_issues_at_most_six_sql_statements(app: Flask, client: FlaskClient) -> None:
    for i in range(40):
        add_student(app, name=f"Student {i}", grade=1 + i % 12)
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

        def record(conn, cursor, statement, parameters, context, executemany):
            # Transaction control (SQLite's explicit BEGIN) is not a query.
            if statement.split()[0].upper() not in {"BEGIN", "COMMIT", "ROLLBACK"}:
                statements.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            response = client.get("/students/?q=student&sort=-birthday&page=2")
        finally:
            event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200
    # The logged-in account, the current school year, the count, the page, (for an
    # editor or administrator) the homerooms the bulk action suggests, and (SQLite) how
    # many candidates the search's index has, read once.
    assert len(statements) <= 6, statements


# --- detail -----------------------------------------------------------------------------


def test_detail_shows_student_and_age(app: Flask, client: FlaskClient) -> None:
    today = date.today()
    ten_years_ago = today.replace(year=today.year - 10) - timedelta(days=1)
    student_id = add_student(app, name="Ada Lovelace", birthday=ten_years_ago)
    html = client.get(f"/students/{student_id}").get_data(as_text=True)
    assert "<h1>Ada Lovelace</h1>" in html
    assert "(age 10)" in html


def test_detail_of_unknown_student_is_404_page(client: FlaskClient) -> None:
    response = client.get("/students/999")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Page not found" in html
    assert 'class="site-header"' in html


# --- create -----------------------------------------------------------------------------


def test_create_form_has_labelled_html5_fields(client: FlaskClient) -> None:
    html = client.get("/students/new").get_data(as_text=True)
    for field_id, label, input_type in [
        ("name", "Name", "text"),
        ("email", "Email", "email"),
        ("grade", "Grade", "number"),
        ("birthday", "Birthday", "date"),
        ("enrolled_on", "Enrollment date", "date"),
    ]:
        assert f'<label class="field__label" for="{field_id}">{label}</label>' in html
        assert f'id="{field_id}"' in html
        assert f'type="{input_type}"' in html
    assert f'value="{date.today().isoformat()}"' in html
    assert "Save and add another" in html


def test_create_saves_and_redirects_to_detail(app: Flask, client: FlaskClient) -> None:
    response = client.post(
        "/students/new", data=valid_form(name="  Grace   Hopper ", email="Grace@EXAMPLE.org")
    )
    assert response.status_code == 302
    student_id = int(response.location.rsplit("/", 1)[1])
    student = fetch_student(app, student_id)
    assert student is not None
    assert student.name == "Grace Hopper"
    assert student.email == "Grace@example.org"
    assert current_grade(app, student_id) == 7
    assert student.birthday == date(2013, 12, 9)
    assert student.enrolled_on == date(2019, 9, 2)
    assert student.created_at.tzinfo is not None
    html = client.get(response.location).get_data(as_text=True)
    assert "Added Grace Hopper." in html


def test_create_without_enrollment_date_uses_today(app: Flask, client: FlaskClient) -> None:
    response = client.post("/students/new", data=valid_form(enrolled_on=""))
    student = fetch_student(app, int(response.location.rsplit("/", 1)[1]))
    assert student is not None
    assert student.enrolled_on == date.today()


def test_create_with_empty_email_stores_null(app: Flask, client: FlaskClient) -> None:
    client.post("/students/new", data=valid_form(email=""))
    client.post("/students/new", data=valid_form(name="Other", email="  "))
    with app.app_context():
        emails = db.session.scalars(select(Student.email)).all()
    assert emails == [None, None]


def test_save_and_add_another_returns_to_empty_form(app: Flask, client: FlaskClient) -> None:
    data = valid_form()
    data["save_and_add"] = "Save and add another"
    response = client.post("/students/new", data=data)
    assert response.status_code == 302
    assert response.location == "/students/new"
    html = client.get(response.location).get_data(as_text=True)
    assert "Added Grace Hopper." in html
    assert 'value="Grace Hopper"' not in html
    assert count_students(app) == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "Enter the student's name."),
        ({"name": "   "}, "name", "Enter the student's name."),
        ({"name": "x" * 101}, "name", "101"),
        ({"name": "\u200b"}, "name", "Enter the student's name."),
        ({"email": "not-an-email"}, "email", "Enter a valid email address"),
        ({"email": "a@b"}, "email", "Enter a valid email address"),
        ({"grade": ""}, "grade", "Enter a grade from 1 to 12."),
        ({"grade": "0"}, "grade", "from 1 to 12"),
        ({"grade": "13"}, "grade", "from 1 to 12"),
        ({"grade": "abc"}, "grade", "The grade 'abc' is not a whole number."),
        ({"grade": "5.5"}, "grade", "The grade '5.5' is not a whole number."),
        ({"birthday": "2020-02-30"}, "birthday", "The birthday '2020-02-30' is not a real date"),
        ({"birthday": "2999-01-01"}, "birthday", "in the future"),
        ({"enrolled_on": "2010-01-01"}, "enrolled_on", "before the birthday"),
        ({"enrolled_on": "soon"}, "enrolled_on", "is not a date in the form YYYY-MM-DD."),
    ],
)
def test_invalid_create_rerenders_422_with_inline_error_and_typed_values(
    app: Flask, client: FlaskClient, changes: dict[str, str], field: str, message: str
) -> None:
    data = valid_form(**changes)
    response = client.post("/students/new", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    errors = field_errors(html)
    assert message in errors[field]
    assert 'aria-invalid="true"' in html
    assert f'aria-describedby="{field}-error"' in html or f"{field}-help {field}-error" in html
    for name, value in data.items():
        if name != "name" or value.strip():
            assert f'value="{value}"' in html, name
    assert count_students(app) == 0


def test_duplicate_email_is_a_field_error_case_insensitively(
    app: Flask, client: FlaskClient
) -> None:
    add_student(app, name="Existing", email="grace@example.org")
    response = client.post("/students/new", data=valid_form(email="GRACE@example.org"))
    assert response.status_code == 422
    assert "already has this email" in field_errors(response.get_data(as_text=True))["email"]
    assert count_students(app) == 1


def test_duplicate_email_caught_by_the_database_is_a_field_error(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A concurrent save can pass the form's check; the unique index still catches it."""
    add_student(app, name="Existing", email="grace@example.org")
    monkeypatch.setattr("webapp.students.forms.email_taken", lambda *args, **kwargs: False)
    response = client.post("/students/new", data=valid_form(email="Grace@Example.org"))
    assert response.status_code == 422
    assert "already has this email" in field_errors(response.get_data(as_text=True))["email"]
    assert count_students(app) == 1


def test_invalid_form_escapes_html_payloads(client: FlaskClient) -> None:
    payload = '"><script>alert(1)</script>'
    response = client.post("/students/new", data=valid_form(name=payload, grade="x"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


# --- edit -------------------------------------------------------------------------------


def test_edit_form_is_prefilled(app: Flask, client: FlaskClient) -> None:
    student_id = add_student(app, name="Ada Lovelace", email="ada@example.org", grade=5)
    html = client.get(f"/students/{student_id}/edit").get_data(as_text=True)
    assert 'value="Ada Lovelace"' in html
    assert 'value="ada@example.org"' in html
    assert 'name="grade"' not in html  # the grade is the enrollment's, changed on its own form
    assert "Save and add another" not in html


def test_edit_saves_and_redirects(app: Flask, client: FlaskClient) -> None:
    student_id = add_student(app, name="Ada Lovelace", email="ada@example.org", grade=5)
    response = client.post(
        f"/students/{student_id}/edit", data=valid_form(name="Ada King", email="ada@example.org")
    )
    assert response.status_code == 302
    assert response.location == f"/students/{student_id}"
    student = fetch_student(app, student_id)
    assert student is not None
    assert (student.name, current_grade(app, student_id)) == ("Ada King", 5)
    assert student.updated_at >= student.created_at
    assert "Saved the changes to Ada King." in client.get(response.location).get_data(as_text=True)


def test_edit_keeping_own_email_in_other_case_is_allowed(app: Flask, client: FlaskClient) -> None:
    student_id = add_student(app, name="Ada", email="ada@example.org")
    response = client.post(f"/students/{student_id}/edit", data=valid_form(email="ADA@example.org"))
    assert response.status_code == 302


def test_edit_to_another_students_email_is_422(app: Flask, client: FlaskClient) -> None:
    add_student(app, name="Ada", email="ada@example.org")
    other = add_student(app, name="Bob", email="bob@example.org")
    response = client.post(f"/students/{other}/edit", data=valid_form(email="Ada@example.org"))
    assert response.status_code == 422
    student = fetch_student(app, other)
    assert student is not None
    assert student.email == "bob@example.org"


def test_invalid_edit_changes_nothing(app: Flask, client: FlaskClient) -> None:
    student_id = add_student(app, name="Ada", grade=5)
    response = client.post(f"/students/{student_id}/edit", data=valid_form(birthday="soon"))
    assert response.status_code == 422
    student = fetch_student(app, student_id)
    assert student is not None
    assert (student.name, current_grade(app, student_id)) == ("Ada", 5)


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("path", ["/students/999/edit", "/students/999/delete"])
def test_edit_or_delete_unknown_student_is_404(client: FlaskClient, method: str, path: str) -> None:
    response = getattr(client, method)(path, data=valid_form())
    assert response.status_code == 404


# --- delete -----------------------------------------------------------------------------


def test_delete_get_asks_for_confirmation_and_changes_nothing(
    app: Flask, client: FlaskClient
) -> None:
    student_id = add_student(app, name="Ada Lovelace")
    response = client.get(f"/students/{student_id}/delete")
    assert response.status_code == 200
    assert "Delete Ada Lovelace?" in response.get_data(as_text=True)
    assert count_students(app) == 1


def test_delete_post_removes_and_redirects_to_roster(app: Flask, client: FlaskClient) -> None:
    student_id = add_student(app, name="Ada Lovelace")
    response = client.post(f"/students/{student_id}/delete", data={"version": "1"})
    assert response.status_code == 302
    assert response.location == "/students/"
    assert count_students(app) == 0
    assert "Deleted Ada Lovelace." in client.get("/students/").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/students/{id}", "/students/{id}/edit", "/students/{id}/delete"])
def test_pages_of_a_deleted_student_say_who_deleted_it_and_link_the_history(
    app: Flask, client: FlaskClient, path: str
) -> None:
    student_id = add_student(app, name="Ada Lovelace")
    client.post(f"/students/{student_id}/delete", data={"version": "1"})
    response = client.get(path.format(id=student_id))
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Ada Lovelace was deleted on " in html
    assert " by admin@" in html
    assert f'href="/students/{student_id}/history"' in html


# --- CSRF and errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "needs_student"),
    [("/students/new", False), ("/students/{id}/edit", True), ("/students/{id}/delete", True)],
)
def test_post_without_csrf_token_is_friendly_400_and_changes_nothing(
    csrf_app: Flask, path: str, needs_student: bool
) -> None:
    student_id = add_student(csrf_app, name="Ada Lovelace", grade=5)
    client = csrf_app.test_client()
    response = client.post(path.format(id=student_id), data=valid_form(name="Changed"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "The form has expired" in html
    assert "nothing was changed" in html
    student = fetch_student(csrf_app, student_id)
    assert student is not None
    assert student.name == "Ada Lovelace"
    assert count_students(csrf_app) == 1


def test_form_with_csrf_token_from_the_page_is_accepted(csrf_app: Flask) -> None:
    client = csrf_app.test_client()
    html = client.get("/students/new").get_data(as_text=True)
    token = html.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    response = client.post("/students/new", data={**valid_form(), "csrf_token": token})
    assert response.status_code == 302


def test_roster_search_form_has_no_csrf_token(client: FlaskClient) -> None:
    html = client.get("/students/").get_data(as_text=True)
    search_form = html.split('role="search"', 1)[1].split("</form>", 1)[0]
    assert "csrf_token" not in search_form


def test_unhandled_error_renders_500_page_without_traceback(app: Flask) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret detail /srv/app/file.py")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong on our side" in html
    assert "secret detail" not in html
    assert "Traceback" not in html
    assert 'class="site-header"' in html


def test_method_not_allowed_uses_layout(client: FlaskClient) -> None:
    response = client.delete("/students/")
    assert response.status_code == 405
    assert 'class="site-header"' in response.get_data(as_text=True)


def test_name_is_trimmed_before_its_length_is_checked(app: Flask, client: FlaskClient) -> None:
    response = client.post("/students/new", data=valid_form(name=" " + "x" * 100 + " "))
    assert response.status_code == 302
    assert fetch_student(app, 1).name == "x" * 100


def test_a_long_name_gets_one_message(client: FlaskClient) -> None:
    response = client.post("/students/new", data=valid_form(name="x" * 101))
    assert response.status_code == 422
    errors = field_errors(response.get_data(as_text=True))["name"]
    assert errors.count("101") == 1, errors
