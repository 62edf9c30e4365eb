"""School years: the admin pages and ``flask years``: define, change, make current."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from tests.helpers import field_errors
from webapp.extensions import db
from webapp.models import AuditEvent, SchoolYear


def years(app: Flask) -> list[tuple[str, date, date, bool]]:
    """Every year as ``(name, first day, last day, current)``, the earliest first."""
    with app.app_context():
        return [
            (year.name, year.starts_on, year.ends_on, year.is_current)
            for year in db.session.scalars(select(SchoolYear).order_by(SchoolYear.starts_on))
        ]


def current(app: Flask) -> SchoolYear:
    with app.app_context():
        year = db.session.scalar(select(SchoolYear).where(SchoolYear.is_current))
        assert year is not None
        db.session.expunge(year)
        return year


def next_year_form(app: Flask, **changes: str) -> dict[str, str]:
    """The new-year form for the year after the current one, with ``changes``."""
    year = current(app)
    data = {
        "name": f"{year.starts_on.year + 1}–{(year.starts_on.year + 2) % 100:02d}",
        "starts_on": date(year.starts_on.year + 1, 9, 1).isoformat(),
        "ends_on": date(year.starts_on.year + 2, 8, 31).isoformat(),
    }
    data.update(changes)
    return data


def test_the_migration_made_one_current_year_covering_today(app: Flask) -> None:
    [(name, starts_on, ends_on, is_current)] = years(app)
    assert is_current
    assert starts_on <= date.today() <= ends_on
    assert name == f"{starts_on.year}–{(starts_on.year + 1) % 100:02d}"


def test_years_page_lists_the_years(client: FlaskClient, app: Flask) -> None:
    html = client.get("/years/").get_data(as_text=True)
    assert current(app).name in html
    assert "current" in html
    assert "Define a school year" in html


def test_new_year_form_suggests_the_year_after_the_latest(client: FlaskClient, app: Flask) -> None:
    html = client.get("/years/new").get_data(as_text=True)
    suggested = next_year_form(app)
    for value in suggested.values():
        assert f'value="{value}"' in html


def test_define_a_year(client: FlaskClient, app: Flask) -> None:
    response = client.post("/years/new", data=next_year_form(app))
    assert response.status_code == 302
    assert [is_current for *_, is_current in years(app)] == [True, False]
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()))
        assert (event.entity, event.action) == ("school_year", "create")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        pytest.param({"starts_on": "ignored"}, "starts_on", "is not a date", id="not-a-date"),
        pytest.param(
            {"ends_on": "2020-01-01"},
            "ends_on",
            "The last day must be after the first day.",
            id="ends-before-start",
        ),
        pytest.param({"name": ""}, "name", "Enter the year's name", id="no-name"),
    ],
)
def test_invalid_year_is_422_with_the_message_beside_the_field(
    client: FlaskClient, app: Flask, changes: dict[str, str], field: str, message: str
) -> None:
    response = client.post("/years/new", data=next_year_form(app, **changes))
    assert response.status_code == 422
    assert message in field_errors(response.get_data(as_text=True))[field]
    assert len(years(app)) == 1


def test_a_year_that_overlaps_another_is_refused_and_changes_nothing(
    client: FlaskClient, app: Flask
) -> None:
    this_year = current(app)
    response = client.post(
        "/years/new",
        data=next_year_form(app, starts_on=date(this_year.ends_on.year, 6, 1).isoformat()),
    )
    assert response.status_code == 422
    errors = field_errors(response.get_data(as_text=True))
    assert f"These dates overlap {this_year.name}" in errors["starts_on"]
    assert len(years(app)) == 1


def test_a_name_that_is_taken_is_refused(client: FlaskClient, app: Flask) -> None:
    response = client.post("/years/new", data=next_year_form(app, name=current(app).name))
    assert response.status_code == 422
    assert "Another year is already called" in field_errors(response.get_data(as_text=True))["name"]


def test_edit_on_a_stale_version_is_409(client: FlaskClient, app: Flask) -> None:
    year = current(app)
    form = {
        "name": year.name,
        "starts_on": year.starts_on.isoformat(),
        "ends_on": year.ends_on.isoformat(),
        "version": str(year.version),
    }
    assert (
        client.post(f"/years/{year.id}/edit", data={**form, "name": "Renamed"}).status_code == 302
    )
    response = client.post(f"/years/{year.id}/edit", data={**form, "name": "Mine"})
    assert response.status_code == 409
    assert "changed by someone else" in response.get_data(as_text=True)
    assert current(app).name == "Renamed"


def test_make_current_keeps_exactly_one_current_year(client: FlaskClient, app: Flask) -> None:
    client.post("/years/new", data=next_year_form(app))
    with app.app_context():
        new_id = db.session.scalar(select(SchoolYear.id).where(SchoolYear.is_current.is_(False)))
    assert client.post(f"/years/{new_id}/current").status_code == 302
    assert [is_current for *_, is_current in years(app)] == [False, True]


def test_year_pages_are_for_admins_only(app: Flask) -> None:
    editor = app.test_client(user="editor")
    assert editor.get("/years/").status_code == 403
    assert editor.post("/years/new", data=next_year_form(app)).status_code == 403
    assert len(years(app)) == 1


def test_cli_defines_lists_and_makes_current(app: Flask, runner: FlaskCliRunner) -> None:
    form = next_year_form(app)
    result = runner.invoke(
        args=[
            "years",
            "create",
            form["name"],
            "--starts",
            form["starts_on"],
            "--ends",
            form["ends_on"],
        ]
    )
    assert result.exit_code == 0, result.output
    overlap = runner.invoke(
        args=["years", "create", "Clash", "--starts", form["starts_on"], "--ends", form["ends_on"]]
    )
    assert overlap.exit_code == 1
    assert "overlap" in overlap.output
    assert runner.invoke(args=["years", "set-current", form["name"]]).exit_code == 0
    listed = runner.invoke(args=["years", "list"]).output
    assert f"* {form['name']}" in listed
    assert len(years(app)) == 2
