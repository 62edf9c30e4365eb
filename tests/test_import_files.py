"""Issue 17: rosters as offices have them import as their clean CSV does, value for value.

Each file below holds the roster of ``tests/spreadsheet_files.py`` (another system's
columns: "First name", "Last name", "DOB", "Year group", "Email", "Notes") in one of the
forms offices save it: CSV in each dialect Excel and LibreOffice write, workbooks made by
openpyxl, odfpy and LibreOffice. Each must give the same planned rows, value for value,
as the equivalent clean CSV (``name,email,grade,birthday`` in UTF-8 with ISO dates). The
four files the issue says were refused import through the pages with a correct preview.
Broken files are refused with a clear message and nothing written, in the browser and on
the command line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from openpyxl import Workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904
from sqlalchemy import func, select

from tests.helpers import current_grade, final_page, post_file
from tests.spreadsheet_files import (
    HEADER,
    ROWS,
    Cell,
    csv_bytes,
    ods_bytes,
    rezip,
    text_rows,
    xlsx_bytes,
)
from webapp.extensions import db
from webapp.import_export import importer, intake
from webapp.import_export.importer import Action, ImportFileError
from webapp.models import PendingImport, Student

FIXTURES = Path(__file__).parent / "spreadsheets"
#: The day the rules measure against, so that every run plans the same rows.
TODAY = date(2026, 6, 1)


def clean_csv() -> bytes:
    """The roster as our own clean CSV: joined names, ISO dates, UTF-8, commas."""
    lines = [["name", "email", "grade", "birthday"]]
    for first, last, birthday, grade, email, _ in ROWS:
        iso = birthday.isoformat() if isinstance(birthday, date) else ""
        lines.append([f"{first} {last}", email or "", str(grade), iso])
    return csv_bytes(lines)


def outcome(app: Flask, data: bytes, filename: str) -> list[tuple[Action, dict[str, Any] | None]]:
    """What importing ``data`` would do to each row: the action and the values written.

    Goes through the service's mapping (remembered mapping, DATE_INPUT_ORDER), as the
    pages and the command line do.
    """
    with app.app_context():
        table = importer.read_file(data, filename)
        parsed, _ = intake.prepare(table)
        assert not parsed.problems, parsed.problems
        plan = importer.plan_import(importer.validate_rows(parsed, today=TODAY), today=TODAY)
        db.session.rollback()
        return [(row.action, row.values) for row in plan.rows]


def latin1_rows(date_format: str) -> list[list[str]]:
    """The roster without its Notes column, whose quotes and euro sign Latin-1 lacks."""
    return [row[:5] for row in text_rows(date_format)]


def one_sheet(rows: list[list[Cell]], setup: Callable[[Workbook], None]) -> bytes:
    return xlsx_bytes(rows, setup=setup)


def use_1904(workbook: Workbook) -> None:
    workbook.epoch = CALENDAR_MAC_1904


FILES: list[Any] = [
    pytest.param(
        lambda: csv_bytes(text_rows(), newline="\n"), "roster.csv", id="utf8-comma-lf-iso"
    ),
    pytest.param(
        lambda: csv_bytes(text_rows("%d/%m/%Y"), encoding="utf-8-sig", delimiter=";"),
        "roster.csv",
        id="excel-csv-utf8-semicolon-day-first",
    ),
    pytest.param(
        lambda: csv_bytes(text_rows("%d/%m/%Y"), encoding="cp1252", delimiter=";"),
        "roster.csv",
        id="excel-french-cp1252-semicolon-day-first",
    ),
    pytest.param(
        lambda: csv_bytes(text_rows("%m/%d/%Y"), encoding="cp1252"),
        "roster.csv",
        id="excel-us-cp1252-comma-month-first",
    ),
    pytest.param(
        lambda: csv_bytes(text_rows("%d.%m.%Y"), encoding="utf-16", delimiter="\t"),
        "roster.txt",
        id="excel-unicode-text-utf16-tab-dotted",
    ),
    pytest.param(
        lambda: csv_bytes(latin1_rows("%d-%m-%Y"), encoding="latin-1", delimiter="|", newline="\n"),
        "roster.csv",
        id="latin1-pipe-lf-dashed",
    ),
    pytest.param(
        lambda: (FIXTURES / "roster-semicolon-cp1252.csv").read_bytes(),
        "roster.csv",
        id="libreoffice-semicolon-cp1252",
    ),
    pytest.param(lambda: xlsx_bytes(), "roster.xlsx", id="openpyxl-xlsx-date-cells"),
    pytest.param(
        lambda: one_sheet([HEADER, *ROWS], use_1904), "roster.xlsx", id="openpyxl-xlsx-1904"
    ),
    pytest.param(
        lambda: xlsx_bytes(text_rows("%d/%m/%Y")), "roster.xlsx", id="openpyxl-xlsx-text-dates"
    ),
    pytest.param(lambda: ods_bytes(), "roster.ods", id="odfpy-ods-date-cells"),
    pytest.param(
        lambda: (FIXTURES / "roster.xlsx").read_bytes(), "roster.xlsx", id="libreoffice-xlsx"
    ),
    pytest.param(
        lambda: (FIXTURES / "roster.ods").read_bytes(), "roster.ods", id="libreoffice-ods"
    ),
]


@pytest.mark.parametrize(("make", "filename"), FILES)
def test_each_file_imports_value_for_value_as_the_clean_csv(
    app: Flask, make: Callable[[], bytes], filename: str
) -> None:
    expected = outcome(app, clean_csv(), "clean.csv")
    assert [action for action, _ in expected] == [Action.CREATE] * len(ROWS)
    assert expected[0][1] is not None
    assert expected[0][1]["name"] == "Élodie Durand"
    assert expected[0][1]["birthday"] == date(2015, 3, 14)

    assert outcome(app, make(), filename) == expected


def test_excel_serial_dates_are_read_as_dates(app: Flask) -> None:
    data = xlsx_bytes([["name", "grade", "birthday"], ["Ann", 3, date(2015, 3, 14)]])
    with app.app_context():
        table = importer.read_file(data, "dates.xlsx")
    assert table.records == [(2, ["Ann", "3", "2015-03-14"])]
    assert outcome(app, data, "dates.xlsx")[0][1]["birthday"] == date(2015, 3, 14)  # type: ignore[index]


def test_a_workbook_cell_starting_with_a_quote_is_kept_as_typed(app: Flask) -> None:
    """A CSV export quotes formula-like text (and the import removes the quote); a
    workbook's cell holds exactly what was typed, so nothing is removed from it."""
    data = xlsx_bytes([["name", "grade"], ["'=x", 3]])
    assert outcome(app, data, "q.xlsx")[0][1]["name"] == "'=x"  # type: ignore[index]
    assert outcome(app, b"name,grade\n'=x,3\n", "q.csv")[0][1]["name"] == "=x"  # type: ignore[index]


# --- dates ---------------------------------------------------------------------------------


def parse(app: Flask, text: str, **options: Any) -> importer.ParsedFile:
    with app.app_context():
        return importer.parse_file(text.encode(), "dates.csv", **options)


def test_date_order_is_inferred_per_column(app: Flask) -> None:
    parsed = parse(
        app,
        "name,grade,birthday,enrolled_on\nAnn,3,14/03/2015,09/02/2021\nBo,4,01/02/2014,09/13/2021\n",
    )
    assert [(c.field, c.order, c.how) for c in parsed.dates] == [
        ("birthday", "dmy", "values"),
        ("enrolled_on", "mdy", "values"),
    ]
    with app.app_context():
        rows = importer.validate_rows(parsed, today=TODAY).rows
    assert [(row.values["birthday"], row.values["enrolled_on"]) for row in rows] == [
        (date(2015, 3, 14), date(2021, 9, 2)),
        (date(2014, 2, 1), date(2021, 9, 13)),
    ]


@pytest.mark.parametrize(
    ("options", "order", "how"),
    [
        pytest.param({}, None, None, id="unknown"),
        pytest.param({"default_date_order": "mdy"}, "mdy", "setting", id="setting"),
        pytest.param(
            {"default_date_order": "mdy", "date_orders": {"birthday": "dmy"}},
            "dmy",
            "chosen",
            id="choice-over-setting",
        ),
    ],
)
def test_ambiguous_dates_take_the_choice_else_the_setting(
    app: Flask, options: dict[str, Any], order: str | None, how: str | None
) -> None:
    parsed = parse(app, "name,grade,birthday\nAnn,3,03/04/2015\n", **options)
    (column,) = parsed.dates
    assert (column.order, column.how, column.needs_order) == (order, how, True)
    with app.app_context():
        (row,) = importer.validate_rows(parsed, today=TODAY).rows
    if order is None:
        assert row.errors == [
            "The birthday '03/04/2015' could be day/month/year or month/day/year; choose "
            "the order of the dates."
        ]
    else:
        assert row.values["birthday"] == (date(2015, 4, 3) if order == "dmy" else date(2015, 3, 4))


def test_values_that_show_the_order_win_over_the_setting(app: Flask) -> None:
    parsed = parse(
        app, "name,grade,birthday\nAnn,3,03/04/2015\nBo,3,25/12/2014\n", default_date_order="mdy"
    )
    assert [(c.order, c.how) for c in parsed.dates] == [("dmy", "values")]


def test_an_impossible_date_is_an_error_on_its_line(app: Flask) -> None:
    parsed = parse(app, "name,grade,birthday\nAnn,3,14/03/2015\nBo,3,31/02/2015\nCy,3,1/1/2015\n")
    with app.app_context():
        rows = importer.validate_rows(parsed, today=TODAY).rows
    assert [(row.line, row.errors) for row in rows] == [
        (2, []),
        (3, ["The birthday '31/02/2015' is not a real date: February 2015 has 28 days."]),
        (4, []),
    ]


def test_the_setting_is_read_from_the_configuration(app: Flask) -> None:
    app.config["DATE_INPUT_ORDER"] = "dmy"
    assert outcome(app, b"name,grade,birthday\nAnn,3,03/04/2015\n", "x.csv")[0][1]["birthday"] == (  # type: ignore[index]
        date(2015, 4, 3)
    )


# --- the four files the issue says were refused ----------------------------------------


def upload(client: FlaskClient, data: bytes, filename: str) -> Any:
    return post_file(client, data, filename)


def fact(html: str, term: str) -> str:
    """The text of a ``<dt>term</dt><dd>...</dd>`` pair on the preview."""
    found = re.search(rf"<dt>{term}</dt>\s*<dd>(.*?)</dd>", html, re.S)
    assert found, term
    return " ".join(re.sub(r"<[^>]+>", "", found.group(1)).split())


def students(app: Flask) -> list[tuple[str, str | None, int, date | None]]:
    with app.app_context():
        rows = db.session.scalars(select(Student).order_by(Student.name)).all()
        found = [(s.id, s.name, s.email, s.birthday) for s in rows]
    return [(name, email, current_grade(app, id_), born) for id_, name, email, born in found]


EXPECTED_STUDENTS = sorted(
    (f"{first} {last}", email, grade, birthday) for first, last, birthday, grade, email, _ in ROWS
)

REFUSED_BEFORE = [
    pytest.param(
        csv_bytes(text_rows(), encoding="utf-8", delimiter=";"),
        "french-excel.csv",
        {"Separator": "semicolon", "Encoding": "UTF-8"},
        id="semicolons",
    ),
    pytest.param(
        csv_bytes(text_rows(), encoding="cp1252"),
        "windows-excel.csv",
        {"Encoding": "Windows-1252", "Separator": "comma"},
        id="windows-1252",
    ),
    pytest.param(
        csv_bytes(text_rows("%d/%m/%Y")),
        "day-first.csv",
        {"Dates in “DOB”": "day/month/year (shown by the values)"},
        id="day-first-dates",
    ),
    pytest.param(
        xlsx_bytes(),
        "roster.xlsx",
        {"Read as": "Excel workbook (.xlsx), sheet “Roster”"},
        id="xlsx-with-another-systems-columns",
    ),
    pytest.param(
        ods_bytes(),
        "roster.ods",
        {"Read as": "OpenDocument spreadsheet (.ods), sheet “Roster”"},
        id="ods",
    ),
]


@pytest.mark.parametrize(("data", "filename", "facts"), REFUSED_BEFORE)
def test_files_refused_before_import_with_a_correct_preview(
    app: Flask, client: FlaskClient, data: bytes, filename: str, facts: dict[str, str]
) -> None:
    response = upload(client, data, filename)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    html = client.get(response.location).get_data(as_text=True)
    for term, text in facts.items():
        assert fact(html, term) == text
    assert fact(html, "Rows") == "5"
    assert re.search(r"<dt>New students</dt><dd>5</dd>", html)
    assert re.search(r"<dt>Rows with errors</dt><dd>0</dd>", html)
    assert re.search(r'id="unmapped-columns">.*“Notes”', html, re.S)  # listed, not dropped
    assert "Élodie Durand" in html

    confirmed = client.post(response.location, data={"confirm": "Import"})
    assert confirmed.status_code == 303
    assert students(app) == EXPECTED_STUDENTS


# --- broken files ---------------------------------------------------------------------------


def _truncated_xlsx() -> bytes:
    data = xlsx_bytes()
    return data[: len(data) // 2]


def _macro_xlsx() -> bytes:
    return rezip(xlsx_bytes(), add={"xl/vbaProject.bin": b"\x00" * 64})


def _zip_bomb() -> bytes:
    return rezip(xlsx_bytes(), add={"xl/worksheets/sheet2.xml": b"<a/>" + b" " * 50_000_000})


def _external_link() -> bytes:
    return rezip(xlsx_bytes(), add={"xl/externalLinks/externalLink1.xml": b"<externalLink/>"})


BROKEN = [
    pytest.param(_truncated_xlsx, "roster.xlsx", "damaged or was cut short", id="truncated-xlsx"),
    pytest.param(_macro_xlsx, "roster.xlsx", "contains macros", id="macros"),
    pytest.param(_zip_bomb, "roster.xlsx", "(a “zip bomb”)", id="zip-bomb"),
    pytest.param(_external_link, "roster.xlsx", "external links", id="external-links"),
    pytest.param(
        lambda: (FIXTURES / "formulas.fods").read_bytes(),
        "f.ods",
        "is not an OpenDocument",
        id="flat-ods-renamed",
    ),
    pytest.param(lambda: b'name,grade\n"Ada,7\n', "r.csv", "not valid CSV", id="open-quote"),
    pytest.param(
        lambda: "name,grade\nЖанна,7\n".encode("koi8-r"), "r.csv", "encoding", id="cyrillic"
    ),
]


@pytest.mark.parametrize(("make", "filename", "message"), BROKEN)
def test_broken_file_is_refused_clearly_with_nothing_written(
    app: Flask,
    client: FlaskClient,
    runner: FlaskCliRunner,
    tmp_path: Path,
    make: Callable[[], bytes],
    filename: str,
    message: str,
) -> None:
    data = make()
    response = final_page(client, upload(client, data, filename))
    assert response.status_code == 422
    error = re.search(r'<p class="field-error" id="file-error">(.*?)</p>', response.text, re.S)
    assert error is not None
    assert message in error.group(1)

    path = tmp_path / filename
    path.write_bytes(data)
    result = runner.invoke(args=["students", "import", str(path)])
    assert result.exit_code == 1
    assert message in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Student)) == 0
        assert not db.session.scalar(select(func.max(func.length(PendingImport.table))))


def test_too_many_rows_or_columns_are_refused_with_the_limits(app: Flask) -> None:
    limits = importer.ImportLimits(max_rows=3, max_columns=4)
    with pytest.raises(ImportFileError, match=r"more than 3 rows; up to 3 can be imported"):
        importer.read_file(b"name,grade\n" + b"Ann,3\n" * 4, "x.csv", limits=limits)
    importer.read_file(b"name,grade\n" + b"Ann,3\n" * 3, "x.csv", limits=limits)
    with pytest.raises(ImportFileError, match=r"Line 1: the row has a value in column 5, beyond"):
        importer.read_file(b"a,b,c,d,e\n1,2,3,4,5\n", "x.csv", limits=limits)
    with pytest.raises(ImportFileError, match=r"Line 2: the row has a value in column 6"):
        importer.read_file(b"a,b\n1,2,,,,6\n", "x.csv", limits=limits)
    wide = xlsx_bytes([["name", "grade"], ["Ann", 3, None, None, None, "x"]])
    with pytest.raises(ImportFileError, match=r"Row 2: column F has a value, beyond the 4"):
        importer.read_file(wide, "x.xlsx", limits=limits)
    # Trailing blank cells cost nothing and are no reason to refuse.
    table = importer.read_file(b"name,grade,,,,,,,,\nAnn,3,,,,,,,,,,,,,,\n", "x.csv", limits=limits)
    assert (table.header, table.records) == (["name", "grade"], [(2, ["Ann", "3"])])
