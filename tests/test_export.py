"""CSV export: exactly the roster's rows and order, streamed, formulas neutralised."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import add_student
from webapp.import_export import csvformat, exporter, importer
from webapp.import_export.importer import Action
from webapp.students.roster_query import RosterQuery


def read_csv(body: bytes) -> list[list[str]]:
    """The rows of an exported file, header first (the BOM removed)."""
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def names(rows: list[list[str]]) -> list[str]:
    return [row[1] for row in rows[1:]]


HEADER = "id,name,email,grade,birthday,enrolled_on,status,status_on,reason,destination\r\n"


@pytest.fixture
def roster(app: Flask) -> Flask:
    """Five students over two grades, some without email or birthday."""
    add_student(app, name="Carl Gauss", email="carl@example.org", grade=5)
    add_student(app, name="Ada Lovelace", email="ada@example.org", grade=7,
                birthday=date(2013, 12, 10), enrolled_on=date(2019, 9, 2))  # fmt: skip
    add_student(app, name="Emmy Noether", grade=7)
    add_student(app, name="Bob Dylan", email="bob@example.org", grade=5)
    add_student(app, name="Dora Maar", email="dora@school.example", grade=7)
    return app


def test_export_is_a_utf8_csv_attachment_with_a_bom(roster: Flask, client: FlaskClient) -> None:
    response = client.get("/students/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="students-{date.today().isoformat()}.csv"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    assert response.data.startswith(b"\xef\xbb\xbf" + HEADER.encode())


def test_export_has_every_field_of_every_student(roster: Flask, client: FlaskClient) -> None:
    rows = read_csv(client.get("/students/export.csv").data)
    assert rows[0] == list(csvformat.FIELDS)
    ada = next(row for row in rows if row[1] == "Ada Lovelace")
    assert ada[2:] == ["ada@example.org", "7", "2013-12-10", "2019-09-02", "enrolled", "", "", ""]
    emmy = next(row for row in rows if row[1] == "Emmy Noether")
    assert emmy[2] == ""
    assert emmy[4] == ""


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(
            "",
            ["Ada Lovelace", "Bob Dylan", "Carl Gauss", "Dora Maar", "Emmy Noether"],
            id="default",
        ),
        pytest.param(
            "?sort=-name",
            ["Emmy Noether", "Dora Maar", "Carl Gauss", "Bob Dylan", "Ada Lovelace"],
            id="sort-desc",
        ),
        pytest.param("?grade=7", ["Ada Lovelace", "Dora Maar", "Emmy Noether"], id="grade-filter"),
        pytest.param("?q=example.org", ["Ada Lovelace", "Bob Dylan", "Carl Gauss"], id="search"),
        pytest.param("?q=a&grade=7&sort=-email", ["Dora Maar", "Ada Lovelace"], id="all"),
        pytest.param(
            "?page=2&per_page=2",
            ["Ada Lovelace", "Bob Dylan", "Carl Gauss", "Dora Maar", "Emmy Noether"],
            id="paging-ignored",
        ),
    ],
)
def test_export_is_exactly_what_the_list_shows(
    roster: Flask, client: FlaskClient, query: str, expected: list[str]
) -> None:
    assert names(read_csv(client.get(f"/students/export.csv{query}").data)) == expected
    unpaged = re.sub(r"[?&](page|per_page)=\d+", "", query)
    listed = client.get(f"/students/{unpaged}").get_data(as_text=True)
    assert re.findall(r'class="col-name"><a href="[^"]+">([^<]+)</a>', listed) == expected


def test_roster_export_link_carries_the_query(roster: Flask, client: FlaskClient) -> None:
    html = client.get("/students/?q=a&grade=7&sort=-email&page=2").get_data(as_text=True)
    assert 'href="/students/export.csv?q=a&amp;grade=7&amp;sort=-email"' in html


def test_viewers_may_export(roster: Flask) -> None:
    viewer = roster.test_client(user="viewer")
    assert viewer.get("/students/export.csv").status_code == 200
    assert "Import CSV" not in viewer.get("/students/").get_data(as_text=True)


def test_export_streams_in_batches(roster: Flask) -> None:
    with roster.test_request_context():
        chunks = list(exporter.iter_csv(RosterQuery(), batch_size=2))
    assert len(chunks) == 1 + 3  # the header, then ceil(5 / 2) batches
    assert chunks[0] == HEADER
    assert sum(chunk.count("\r\n") for chunk in chunks[1:]) == 5


def test_web_response_is_streamed(roster: Flask, client: FlaskClient) -> None:
    response = client.get("/students/export.csv", buffered=False)
    assert response.is_streamed
    response.close()


def test_empty_roster_exports_the_header_only(client: FlaskClient) -> None:
    assert read_csv(client.get("/students/export.csv").data) == [list(csvformat.FIELDS)]


# --- formula neutralising (OWASP "CSV Injection") -----------------------------------------


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-Bob", "'-Bob"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=x", "''=x"),
        ("''-x", "'''-x"),
        ("Ada", "Ada"),
        ("'Ofa", "'Ofa"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_formula_cells_are_neutralised_and_restored(text: str, written: str) -> None:
    assert csvformat.neutralise(text) == written
    assert csvformat.restore(written) == text


def test_exported_formula_names_and_emails_are_neutralised(app: Flask, client: FlaskClient) -> None:
    add_student(app, name="=1+1", email="=cmd@example.org", grade=3)
    add_student(app, name="@Ada", email="-bob@example.org", grade=4)
    add_student(app, name="+Bob", grade=5)
    body = client.get("/students/export.csv?sort=grade").data.decode("utf-8-sig")
    cells = [row[1:3] for row in csv.reader(io.StringIO(body))][1:]
    assert cells == [["'=1+1", "'=cmd@example.org"], ["'@Ada", "'-bob@example.org"], ["'+Bob", ""]]
    assert "\r\n=" not in body
    assert ",=" not in body


# --- round trip -------------------------------------------------------------------------------


def test_export_then_import_reports_every_row_unchanged(app: Flask, client: FlaskClient) -> None:
    add_student(app, name="Ada Lovelace", email="ada@example.org", grade=7,
                birthday=date(2013, 12, 10), enrolled_on=date(2019, 9, 2))  # fmt: skip
    add_student(app, name="=1+1", email="=x@example.org", grade=3)
    add_student(app, name="'=quoted", grade=4)
    add_student(app, name='Zoë "Z" O\'Neil, Jr.', email="zoe@example.org", grade=12)
    add_student(app, name="-Bob", email="+bob@example.org", grade=1)
    body = client.get("/students/export.csv").data
    with app.app_context():
        result = importer.plan_import(importer.read_and_validate(body))
    assert [row.action for row in result.rows] == [Action.UNCHANGED] * 5, [
        (row.name, row.changes, row.errors) for row in result.rows
    ]
    assert result.unmapped_columns == ()


def test_export_filename_names_the_grade() -> None:
    query = RosterQuery(grade=7)
    assert exporter.export_filename(query, date(2026, 1, 2)) == "students-grade-7-2026-01-02.csv"


def test_count_rows_matches_the_export(roster: Flask, tmp_path: Path) -> None:
    with roster.app_context():
        assert exporter.count_rows(RosterQuery(grade=7, sort="-name")) == 3
        with (tmp_path / "out.csv").open("w", newline="", encoding="utf-8") as stream:
            assert exporter.write_csv(RosterQuery(grade=7), stream) == 3
