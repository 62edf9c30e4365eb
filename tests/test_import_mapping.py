"""Issue 17: column mapping and date orders chosen on the preview, remembered, and ``--map``.

Columns the alias table does not know are mapped on the preview or ignored; whatever is
still unmapped is listed, never dropped silently. The mapping used for an import is
remembered for the next file with the same headers, in the browser and on the command
line. Dates whose order the values do not show are read as chosen.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from tests.helpers import current_grade, post_file
from webapp.extensions import db
from webapp.import_export import jobs
from webapp.models import ImportMapping, Student

#: Another system's export: nothing in it is in the alias table.
PUPILS = b"Pupil,Form,Bus,Born\nAnn Lee,3,12,03/04/2015\nBo Ng,4,7,05/06/2014\n"


def upload(client: FlaskClient, data: bytes, filename: str = "pupils.csv") -> str:
    response = post_file(client, data, filename)
    assert response.status_code == 303, response.text[:1000]
    location: str = response.location
    return location


def remap(client: FlaskClient, location: str, **choices: str) -> Any:
    response = client.post(f"{location}/mapping", data=choices)
    jobs.wait(60)
    return response


def students(app: Flask) -> list[tuple[str, int, date | None]]:
    with app.app_context():
        rows = db.session.scalars(select(Student).order_by(Student.name)).all()
        found = [(s.id, s.name, s.birthday) for s in rows]
    return [(name, current_grade(app, id_), born) for id_, name, born in found]


def mappings(app: Flask) -> list[ImportMapping]:
    with app.app_context():
        rows = list(db.session.scalars(select(ImportMapping)))
        for row in rows:
            db.session.expunge(row)
        return rows


def text(html: str) -> str:
    """The page's text, tags removed, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_unknown_columns_are_mapped_on_the_preview_then_remembered(
    app: Flask, client: FlaskClient
) -> None:
    location = upload(client, PUPILS)
    page = client.get(location).text
    assert "No column is mapped to a student field." in page
    assert "Confirm the import" not in page
    assert 'name="confirm"' not in page
    for header in ("Pupil", "Form", "Bus", "Born"):
        assert '<label class="visually-hidden" for="column_' in page
        assert f"Import “{header}” as" in page
    assert "<code>03/04/2015</code>" in page  # examples help to choose

    response = remap(
        client, location, column_0="name", column_1="grade", column_2="ignore", column_3="birthday"
    )
    assert response.status_code == 303
    page = client.get(location).text
    assert "No column is mapped" not in page
    # The birthdays could be read either way: the preview asks.
    assert "not known: choose the order below" in page
    assert re.search(r"<dt>Rows with errors</dt><dd>2</dd>", page)
    assert "could be day/month/year or month/day/year" in page

    remap(
        client,
        location,
        column_0="name",
        column_1="grade",
        column_2="ignore",
        column_3="birthday",
        order_birthday="dmy",
    )
    page = client.get(location).text
    assert "day/month/year (as chosen)" in text(page)
    assert re.search(r"<dt>New students</dt><dd>2</dd>", page)
    assert "Ignored: “Bus”" in page
    assert "The column mapping is remembered for the next file with these headers." in page
    assert students(app) == []

    assert client.post(location, data={"confirm": "Import"}).status_code == 303
    assert students(app) == [("Ann Lee", 3, date(2015, 4, 3)), ("Bo Ng", 4, date(2014, 6, 5))]
    (remembered,) = mappings(app)
    assert remembered.headers == ["Pupil", "Form", "Bus", "Born"]
    assert remembered.targets == ["name", "grade", "ignore", "birthday"]
    assert remembered.date_orders == {"birthday": "dmy"}
    assert remembered.updated_by_id is not None

    # The next file with these headers starts from that mapping, and says so.
    next_file = b"pupil, FORM ,Bus,Born\nCy Wu,5,1,07/08/2013\n"
    page = client.get(upload(client, next_file)).text
    assert "mapped as they were for the last file with these headers" in page
    assert re.search(r"<dt>New students</dt><dd>1</dd>", page)
    assert "day/month/year (as chosen)" in text(page)


def test_unmapped_columns_are_listed_and_the_import_goes_on_without_them(
    app: Flask, client: FlaskClient
) -> None:
    location = upload(client, b"name,grade,Tutor,\nAnn,3,Mrs Lee,\n")
    page = client.get(location).text
    listed = re.search(r'id="unmapped-columns">(.*?)</p>', page, re.S)
    assert listed is not None
    assert "“Tutor”" in listed.group(1)
    assert "The columns not mapped are not imported." in page
    client.post(location, data={"confirm": "Import"})
    assert students(app) == [("Ann", 3, None)]
    assert mappings(app) == []  # the alias table's own mapping is not stored


def test_going_back_to_the_suggested_mapping_forgets_the_remembered_one(
    app: Flask, client: FlaskClient
) -> None:
    data = b"name,grade,Tutor\nAnn,3,Mrs Lee\n"
    location = upload(client, data)
    remap(client, location, column_0="name", column_1="grade", column_2="ignore")
    client.post(location, data={"confirm": "Import"})
    assert len(mappings(app)) == 1
    location = upload(client, data)
    remap(client, location, column_0="name", column_1="grade", column_2="")
    client.post(location, data={"confirm": "Import"})
    assert mappings(app) == []


def test_a_mapping_with_two_columns_for_one_field_is_a_problem_shown_on_the_preview(
    app: Flask, client: FlaskClient
) -> None:
    location = upload(client, b"name,grade,Year\nAnn,3,4\n")
    remap(client, location, column_0="name", column_1="grade", column_2="grade")
    page = client.get(location).text
    assert "Both “grade” and “Year” are mapped to grade" in page
    assert 'name="confirm"' not in page
    response = client.post(location, data={"confirm": "Import"}, follow_redirects=True)
    assert "Both “grade” and “Year” are mapped to grade" in response.text
    assert students(app) == []


def test_an_unknown_target_is_refused_with_422(client: FlaskClient) -> None:
    location = upload(client, b"name,grade\nAnn,3\n")
    response = remap(client, location, column_0="name", column_1="shoe size")
    assert response.status_code == 422
    assert "Not a valid choice" in response.text


def test_first_and_last_name_columns_are_joined(app: Flask, client: FlaskClient) -> None:
    location = upload(client, b"Surname,Forename,Year\nLovelace,Ada,7\nHopper,,8\n")
    client.post(location, data={"confirm": "Import"})
    assert students(app) == [("Ada Lovelace", 7, None), ("Hopper", 8, None)]


def test_the_mapping_form_needs_the_owner_and_a_csrf_token(
    app: Flask, client: FlaskClient, csrf_app: Flask
) -> None:
    location = upload(client, PUPILS)
    other = app.test_client(user="editor")
    assert remap(other, location, column_0="name").status_code == 302
    csrf_client = csrf_app.test_client()
    assert csrf_client.post(f"{location}/mapping", data={"column_0": "name"}).status_code == 400


# --- command line ---------------------------------------------------------------------------


def write(tmp_path: Path, data: bytes, name: str = "pupils.csv") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_cli_refuses_an_unmapped_file_and_says_how_to_map_it(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    result = runner.invoke(args=["students", "import", write(tmp_path, PUPILS)])
    assert result.exit_code == 1
    assert "No column is mapped to a student field." in result.output
    assert "“Pupil” → not mapped" in result.output
    assert "--map" in result.output


def test_cli_maps_with_map_and_date_order_and_remembers_it(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = write(tmp_path, PUPILS)
    spec = "Pupil=name,Form=grade,Bus=ignore,Born=birthday"
    result = runner.invoke(args=["students", "import", path, "--map", spec, "--date-order", "mdy"])
    assert result.exit_code == 0, result.output
    assert "Dates in “Born” read as month/day/year (as chosen)." in result.output
    assert "The column mapping is remembered" in result.output
    assert students(app) == [("Ann Lee", 3, date(2015, 3, 4)), ("Bo Ng", 4, date(2014, 5, 6))]

    # The next run needs neither option.
    again = runner.invoke(
        args=[
            "students",
            "import",
            "--dry-run",
            write(tmp_path, b"Pupil,Form,Bus,Born\nCy,5,1,07/08/2013\n", "n.csv"),
        ]
    )
    assert again.exit_code == 0, again.output
    assert "Columns mapped as for the last file with these headers." in again.output
    assert "would create 1" in again.output


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param("Shoe=name", "The file has no column “Shoe”", id="unknown-column"),
        pytest.param("Pupil=nom", "“nom” (for the column “Pupil”) is not a target", id="target"),
        pytest.param("Pupil", "“Pupil” is not a column=target pair", id="no-pair"),
        pytest.param(
            "Pupil=name,Bus=name", "Both “Pupil” and “Bus” are mapped to name", id="twice"
        ),
    ],
)
def test_cli_bad_map_is_a_clear_error(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, spec: str, message: str
) -> None:
    result = runner.invoke(args=["students", "import", write(tmp_path, PUPILS), "--map", spec])
    assert result.exit_code == 1
    assert message in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Student)) == 0


def test_cli_reads_workbooks_and_names_the_sheet(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    first = workbook.active
    assert first is not None
    first.title = "Notes"
    first.append(["nothing here"])
    second = workbook.create_sheet("Roster")
    second.append(["name", "grade", "birthday"])
    second.append(["Ann", 3, date(2015, 3, 14)])
    path = tmp_path / "book.xlsx"
    workbook.save(path)
    result = runner.invoke(args=["students", "import", str(path), "--sheet", "Roster"])
    assert result.exit_code == 0, result.output
    assert "Read as Excel workbook (.xlsx), sheet “Roster”; 1 rows." in result.output
    assert students(app) == [("Ann", 3, date(2015, 3, 14))]
