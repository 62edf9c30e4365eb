"""Issue 17: the ``.xlsx`` export, beside the CSV one, in the browser and on the command line.

The same rows, columns, filters and order as the CSV export; dates are real Excel dates;
no cell is a formula, whatever the text; an exported workbook imports back unchanged.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from openpyxl import load_workbook

from tests.helpers import add_student
from webapp.import_export import exporter, importer
from webapp.import_export.csvformat import restore
from webapp.import_export.importer import Action
from webapp.students.roster_query import RosterQuery

XLSX = exporter.XLSX_MIMETYPE


@pytest.fixture
def roster(app: Flask) -> Flask:
    """Students with text a spreadsheet could take for formulas, over two grades."""
    add_student(app, name="Carl Gauss", email="carl@example.org", grade=5)
    add_student(app, name="Ada Lovelace", email="ada@example.org", grade=7,
                birthday=date(2013, 12, 10), enrolled_on=date(2019, 9, 2))  # fmt: skip
    add_student(app, name="=1+1", email="=x@example.org", grade=7)
    add_student(app, name="-Bob", email="+bob@example.org", grade=5)
    add_student(app, name="@SUM(A1)", grade=7)
    add_student(app, name="#N/A", grade=7)
    return app


def sheet_rows(data: bytes) -> tuple[list[list[object]], list[str]]:
    """The values of the workbook's one sheet, and the types of its cells."""
    workbook = load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == ["Students"]
    sheet = workbook["Students"]
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    types = sorted({cell.data_type for row in sheet.iter_rows() for cell in row})
    return values, types


def csv_rows(client: FlaskClient, query: str) -> list[list[str]]:
    body = client.get(f"/students/export.csv{query}").data.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body, newline="")))


def as_csv_text(value: object) -> str:
    """A workbook value as the CSV export writes it (before neutralising)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value)


@pytest.mark.parametrize("query", ["", "?grade=7", "?q=a&sort=-name", "?sort=birthday"])
def test_xlsx_has_the_csv_exports_rows_columns_and_order(
    roster: Flask, client: FlaskClient, query: str
) -> None:
    response = client.get(f"/students/export.xlsx{query}")
    assert response.status_code == 200
    assert response.mimetype == XLSX
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    assert ".xlsx" in response.headers["Content-Disposition"]
    values, _ = sheet_rows(response.data)
    expected = csv_rows(client, query)
    # The CSV neutralises formula-like text with a quote; the workbook holds it as typed.
    unquoted = [[restore(cell) for cell in row] for row in expected]
    assert [[as_csv_text(value) for value in row] for row in values] == unquoted


def test_xlsx_dates_are_dates_and_no_cell_is_a_formula(roster: Flask, client: FlaskClient) -> None:
    data = client.get("/students/export.xlsx?sort=name").data
    _, types = sheet_rows(data)
    assert "f" not in types  # no formula cell
    workbook = load_workbook(io.BytesIO(data))
    cells = {row[1].value: row for row in workbook["Students"].iter_rows(min_row=2)}
    ada = cells["Ada Lovelace"]
    assert ada[4].value == datetime(2013, 12, 10)
    assert ada[4].is_date
    assert ada[4].number_format == "yyyy-mm-dd"
    assert ada[3].value == 7
    for text in ("=1+1", "-Bob", "@SUM(A1)", "#N/A"):
        assert cells[text][1].data_type == "s", text
    assert cells["=1+1"][2].value == "=x@example.org"


def test_exported_workbook_imports_back_unchanged(roster: Flask, client: FlaskClient) -> None:
    data = client.get("/students/export.xlsx").data
    with roster.app_context():
        plan = importer.plan_import(importer.read_and_validate(data, "students.xlsx"))
    assert [row.action for row in plan.rows] == [Action.UNCHANGED] * 6, [
        (row.name, row.changes, row.errors) for row in plan.rows
    ]
    assert plan.unmapped_columns == ()


def test_viewers_may_export_xlsx(roster: Flask) -> None:
    assert roster.test_client(user="viewer").get("/students/export.xlsx").status_code == 200


def test_cli_exports_xlsx_by_option_or_extension(
    roster: Flask, runner: FlaskCliRunner, client: FlaskClient, tmp_path: Path
) -> None:
    target = tmp_path / "grade7.xlsx"
    result = runner.invoke(args=["students", "export", "--grade", "7", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert "Exported 4 students" in result.output
    assert (
        sheet_rows(target.read_bytes())[0]
        == sheet_rows(client.get("/students/export.xlsx?grade=7").data)[0]
    )
    assert not list(tmp_path.glob(".*.part"))

    piped = runner.invoke(args=["students", "export", "--format", "xlsx"])
    assert piped.exit_code == 0
    assert piped.stdout_bytes.startswith(b"PK\x03\x04")


def test_export_filename_has_the_extension() -> None:
    query = RosterQuery(grade=7)
    name = exporter.export_filename(query, date(2026, 11, 22), extension="xlsx")
    assert name == "students-grade-7-2026-11-22.xlsx"
