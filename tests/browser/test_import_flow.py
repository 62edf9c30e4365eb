"""Import and export in a real browser, against gunicorn with CSRF on.

An editor uploads a file with a mistake in it, reads the preview, confirms, and sees the
totals; then exports the roster and imports the export back, which changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_accessible, log_in

if TYPE_CHECKING:
    from bench.server import Server as LiveServer

# The pages are the same on both databases: the browser runs them on SQLite (request
# tests cover PostgreSQL; test_students_flow, test_homeroom_flow and the takeover run
# the browser on both).
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

PREVIEW_URL = re.compile(r"/students/import/[A-Za-z0-9_-]{32}$")

FIRST_FILE = (
    "name,email,grade,birthday,enrolled_on,notes\n"
    "Hedy Lamarr,hedy@import.example,8,2013-11-09,2019-09-02,new\n"
    "Alan Turing,alan@import.example,13,2012-06-23,2018-09-03,grade too high\n"
    "Grace Hopper,grace@import.example,9,2012-12-09,,\n"
)


def choose_file(page: Page, name: str, content: bytes) -> None:
    """Put a file into the upload form's file field."""
    page.get_by_label("File", exact=True).set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": content}]
    )


def submit(page: Page, button: str) -> int:
    """Click ``button`` and return the HTTP status of the POST it sends."""
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name=button).click()
    return posted.value.status


def total(page: Page, label: str) -> str:
    """The figure shown under a total's label."""
    return page.locator(f'.import-totals div:has(> dt:text-is("{label}")) > dd').inner_text()


def test_upload_preview_confirm_export_and_round_trip(
    page: Page, live_server: LiveServer, tmp_path: Path, screenshot: Callable[[str], None]
) -> None:
    log_in(page, "editor")
    page.goto("/students/")
    page.get_by_role("main").get_by_role("link", name="Import file").click()
    expect(page).to_have_url(f"{live_server.url}/students/import")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import students from a file")
    assert_accessible(page)
    screenshot("import-upload")

    # An old Excel file is refused, with the reason beside the field.
    choose_file(page, "old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    assert submit(page, "Upload and preview") == 422
    error = page.locator("#file-error")
    expect(error).to_contain_text("Choose a .csv, .xlsx or .ods file")
    assert_accessible(page)
    error_box = error.bounding_box()
    field_box = page.get_by_label("File", exact=True).bounding_box()
    assert error_box is not None
    assert field_box is not None
    assert abs(error_box["y"] - field_box["y"]) < 120, "the error is shown beside the field"
    screenshot("import-upload-error")

    # The real file: a preview, row by row, and nothing saved yet.
    choose_file(page, "new-students.csv", FIRST_FILE.encode())
    assert submit(page, "Upload and preview") in {302, 303}
    expect(page).to_have_url(PREVIEW_URL)
    preview_url = page.url
    assert total(page, "New students") == "2"
    assert total(page, "Rows with errors") == "1"
    expect(page.locator("#unmapped-columns")).to_contain_text("notes")
    assert_accessible(page)
    alan = page.locator(".import-preview").get_by_role("row").filter(has_text="Alan Turing")
    expect(alan.get_by_text("Error", exact=True)).to_be_visible()
    expect(alan).to_contain_text("The grade must be from 1 to 12.")
    expect(alan.get_by_role("cell").first).to_have_text("3")  # the line number
    screenshot("import-preview")

    page.goto("/students/?q=import.example")
    expect(page.get_by_text("No students match")).to_be_visible()

    # Confirm: the valid rows are written, the totals shown.
    page.goto(preview_url)
    assert submit(page, "Import 2 rows") in {302, 303}
    expect(page).to_have_url(f"{preview_url}/result")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import finished")
    assert total(page, "Students added") == "2"
    assert total(page, "Rows with errors, not imported") == "1"
    screenshot("import-result")

    page.get_by_role("link", name="See the students").click()
    page.get_by_label("Search", exact=True).fill("import.example")
    page.get_by_role("button", name="Search", exact=True).click()
    roster = page.get_by_role("table")
    expect(roster.get_by_role("link", name="Hedy Lamarr", exact=True)).to_be_visible()
    expect(roster.get_by_role("link", name="Grace Hopper", exact=True)).to_be_visible()

    # The upload is gone once used.
    page.goto(preview_url)
    expect(page).to_have_url(f"{live_server.url}/students/import")
    expect(page.locator(".flash")).to_contain_text("no longer available")

    # Export what the list shows, and import it back: nothing changes.
    page.goto("/students/?q=import.example&sort=-name")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert re.fullmatch(r"students-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    exported = tmp_path / download.suggested_filename
    download.save_as(exported)
    lines = exported.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == (
        "id,name,email,grade,birthday,enrolled_on,status,status_on,reason,destination"
    )
    assert [line.split(",")[1] for line in lines[1:]] == ["Hedy Lamarr", "Grace Hopper"]

    page.goto("/students/import")
    choose_file(page, exported.name, exported.read_bytes())
    assert submit(page, "Upload and preview") in {302, 303}
    assert total(page, "Unchanged") == "2"
    assert total(page, "New students") == "0"
    expect(page.get_by_role("heading", name="Nothing to import")).to_be_visible()
    assert submit(page, "Cancel import") in {302, 303}
    expect(page.locator(".flash")).to_contain_text("Import cancelled")

    # Edit the exported file: Hedy moves up a grade. The preview shows old and new.
    edited = exported.read_text(encoding="utf-8-sig").replace(
        "Hedy Lamarr,hedy@import.example,8,", "Hedy Lamarr,hedy@import.example,9,"
    )
    choose_file(page, "edited.csv", edited.encode())
    assert submit(page, "Upload and preview") in {302, 303}
    assert total(page, "Changed") == "1"
    hedy = page.locator(".import-preview").get_by_role("row").filter(has_text="Hedy Lamarr")
    expect(hedy.locator("del")).to_have_text("8")
    expect(hedy.locator("ins")).to_have_text("9")
    screenshot("import-preview-changes")
    assert submit(page, "Import 1 row") in {302, 303}
    assert total(page, "Students changed") == "1"
    page.goto("/students/?q=hedy")
    expect(page.get_by_role("table").get_by_role("cell", name="9", exact=True)).to_be_visible()
    screenshot("import-roster")
