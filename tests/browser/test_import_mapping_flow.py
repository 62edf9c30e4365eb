"""Issue 17 in a real browser: a workbook with another system's columns, mapped on the preview.

An editor uploads an ``.xlsx`` whose columns the alias table only partly knows and whose
dates could be read either way. The preview says how the file was read, lists the column
it cannot map, and asks for the date order; the editor maps the column, chooses the
order, updates the preview, confirms, and finds the students on the roster; the next
file with the same headers starts from that mapping. Every page: 0 axe-core violations.
The roster is then exported as a workbook.
"""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from openpyxl import Workbook, load_workbook
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text

from bench.server import ACCOUNTS
from tests.browser.conftest import assert_accessible, log_in

if TYPE_CHECKING:
    from bench.server import Server as LiveServer

# The pages are the same on both databases: the browser runs them on SQLite (request
# tests cover PostgreSQL; test_students_flow, test_homeroom_flow and the takeover run
# the browser on both).
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

PREVIEW_URL = re.compile(r"/students/import/[A-Za-z0-9_-]{32}$")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Class list"
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


#: "Tutor group" is not in the alias table; the birthdays are text, day and month ≤ 12.
ROWS: list[list[object]] = [
    ["Forename", "Surname", "Tutor group", "DOB", "Year"],
    ["Mapping", "Ada", "7B", "03/04/2015", 3],
    ["Mapping", "Bo", "7C", "05/06/2014", 4],
]


def upload(page: Page, name: str, content: bytes) -> None:
    page.goto("/students/import")
    page.get_by_label("File", exact=True).set_input_files(
        files=[{"name": name, "mimeType": XLSX, "buffer": content}]
    )
    page.get_by_role("button", name="Upload and preview").click()
    expect(page).to_have_url(PREVIEW_URL)


def fact(page: Page, term: str) -> str:
    """The text beside a term of the preview's description of the file."""
    return page.locator(f'.import-facts div:has(> dt:text-is("{term}")) > dd').inner_text()


def test_map_a_column_choose_the_date_order_confirm_and_reuse_the_mapping(
    page: Page, live_server: LiveServer, tmp_path: Path, screenshot: Callable[[str], None]
) -> None:
    log_in(page, "editor")
    upload(page, "class-list.xlsx", workbook(ROWS))
    expect(page.get_by_role("heading", level=1)).to_have_text("Preview: class-list.xlsx")
    assert fact(page, "Read as") == "Excel workbook (.xlsx), sheet “Class list”"
    assert "not known" in fact(page, "Dates in “DOB”")
    expect(page.locator("#unmapped-columns")).to_contain_text("Tutor group")
    forename = page.get_by_label("Import “Forename” as")
    expect(forename).to_have_value("first_name")
    expect(page.get_by_label("Import “Tutor group” as")).to_have_value("")
    rows = page.locator(".import-preview")
    expect(rows.get_by_role("row").filter(has_text="could be day/month/year")).to_have_count(2)
    assert_accessible(page)
    screenshot("import-mapping-before")

    # Keyboard: ignore the tutor group, read the dates day first, update the preview.
    page.get_by_label("Import “Tutor group” as").focus()
    page.keyboard.press("ArrowDown")  # "Ignore this column", the next choice
    expect(page.get_by_label("Import “Tutor group” as")).to_have_value("ignore")
    page.get_by_label("Dates in “DOB” are written").select_option("dmy")
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name="Update the preview").click()
    assert posted.value.status == 303
    expect(page.locator(".flash")).to_contain_text("follows your mapping")
    assert fact(page, "Dates in “DOB”") == "day/month/year (as chosen)"
    expect(page.locator("#unmapped-columns")).to_have_count(0)
    expect(page.get_by_text("Ignored: “Tutor group”.")).to_be_visible()
    new = page.locator('.import-totals div:has(> dt:text-is("New students")) > dd')
    expect(new).to_have_text("2")
    expect(page.get_by_text("remembered for the next file with these headers")).to_be_visible()
    assert_accessible(page)
    screenshot("import-mapping-after")

    page.get_by_role("button", name="Import 2 rows").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import finished")
    assert_accessible(page)
    page.goto("/students/?q=Mapping")
    roster = page.get_by_role("table")
    expect(roster.get_by_role("link", name="Mapping Ada", exact=True)).to_be_visible()
    expect(roster.get_by_role("link", name="Mapping Bo", exact=True)).to_be_visible()
    expect(roster).to_contain_text("3 Apr 2015")

    # The next file with these headers is mapped the same way from the start.
    upload(page, "next.xlsx", workbook([ROWS[0], ["Mapping", "Cy", "8A", "07/08/2013", 5]]))
    expect(page.get_by_text("mapped as they were for the last file")).to_be_visible()
    expect(page.get_by_label("Import “Tutor group” as")).to_have_value("ignore")
    expect(page.locator('.import-totals div:has(> dt:text-is("New students")) > dd')).to_have_text(
        "1"
    )
    page.get_by_role("button", name="Cancel import").click()

    # Export what the list shows as a workbook: real dates, the same rows.
    page.goto("/students/?q=Mapping&sort=name")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export Excel").click()
    download = download_info.value
    assert re.fullmatch(r"students-\d{4}-\d{2}-\d{2}\.xlsx", download.suggested_filename)
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    sheet = load_workbook(path)["Students"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]
    assert [(row[1], row[3], row[4].date()) for row in rows] == [
        ("Mapping Ada", 3, date(2015, 4, 3)),
        ("Mapping Bo", 4, date(2014, 6, 5)),
    ]


def test_a_file_being_read_shows_a_page_that_waits_then_the_outcome(
    page: Page, live_server: LiveServer, screenshot: Callable[[str], None]
) -> None:
    """The reading page, driven by hand: a pending import is made reading in the database,
    then failed; the page's script notices and shows the reason beside the file field."""
    log_in(page, "editor")
    engine = create_engine(live_server.database_url)
    token = secrets.token_urlsafe(24)
    try:
        with engine.begin() as connection:
            editor = connection.execute(
                text("SELECT id FROM users WHERE email = :email"),
                {"email": ACCOUNTS["editor"][0]},
            ).scalar_one()
            now = datetime.now(UTC).replace(tzinfo=None)
            connection.execute(
                text(
                    "INSERT INTO pending_imports (token, owner, filename, size, created_at, "
                    '"table", summary, status, started_at) VALUES (:token, :owner, '
                    "'slow.xlsx', 10, :now, :empty, '{}', 'reading', :now)"
                ),
                {"token": token, "owner": f"user:{editor}", "now": now, "empty": b""},
            )
        page.goto(f"/students/import/{token}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Reading slow.xlsx")
        expect(page.locator("#reading-progress")).to_contain_text("Still reading")
        assert_accessible(page)
        screenshot("import-reading")

        with engine.begin() as connection:
            connection.execute(
                text(
                    "UPDATE pending_imports SET status = 'failed', error = :error "
                    "WHERE token = :token"
                ),
                {"token": token, "error": "The workbook contains macros (an .xlsm file)."},
            )
        expect(page.locator("#file-error")).to_have_text(
            "The workbook contains macros (an .xlsm file)."
        )
        expect(page.get_by_role("heading", level=1)).to_have_text("Import students from a file")
        assert_accessible(page)
    finally:
        engine.dispose()
