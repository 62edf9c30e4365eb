"""OneRoster in a real Chromium, against gunicorn with CSRF on.

An administrator downloads the bundle (which the strict validator accepts), uploads a
broken one (refused with its file, line and rule), then uploads the download itself to
another look: its preview lists every file and the import changes nothing. The pages
have no axe-core violation (WCAG 2.2 AA).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in
from tests.browser.test_school_year_flow import assert_accessible
from webapp.oneroster import validate_bundle

# The pages are the same on both databases: the browser runs them on SQLite (request
# tests cover PostgreSQL; test_students_flow, test_homeroom_flow and the takeover run
# the browser on both).
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

PREVIEW_URL = re.compile(r"/oneroster/import/[A-Za-z0-9_-]{32}$")


def upload(page: Page, name: str, content: bytes) -> int:
    """Upload ``content`` as the bundle; return the HTTP status of the POST."""
    page.get_by_label("OneRoster 1.2 CSV zip").set_input_files(
        files=[{"name": name, "mimeType": "application/zip", "buffer": content}]
    )
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name="Upload and preview").click()
    return posted.value.status


def test_download_refuse_a_broken_bundle_preview_and_import(
    page: Page, tmp_path: Path, screenshot: Callable[[str], None]
) -> None:
    log_in(page, "admin")
    page.goto("/students/new")
    page.get_by_label("Name", exact=True).fill("Roster Exchange")
    page.get_by_label("Grade", exact=True).fill("6")
    page.get_by_label("Enrollment date", exact=True).fill("2020-09-01")
    page.get_by_role("button", name="Save", exact=True).click()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="OneRoster").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("OneRoster")
    assert_accessible(page)
    screenshot("oneroster-index")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download the OneRoster zip").click()
    bundle = tmp_path / "download.zip"
    download_info.value.save_as(bundle)
    assert validate_bundle(bundle) == []
    data = bundle.read_bytes()

    broken = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(broken, "w") as target:
        for name in source.namelist():
            if name != "manifest.csv":
                target.writestr(name, source.read(name))
    assert upload(page, "broken.zip", broken.getvalue()) == 422
    problems = page.locator("#bundle-problems")
    expect(problems).to_contain_text("manifest.missing")
    expect(problems).to_contain_text("manifest.csv")
    assert_accessible(page)
    screenshot("oneroster-refused")

    assert upload(page, "download.zip", data) == 303
    expect(page).to_have_url(PREVIEW_URL)
    expect(page.locator("#totals")).to_contain_text("users.csv")
    expect(page.get_by_role("heading", name="Nothing to import")).to_be_visible()
    assert_accessible(page)
    screenshot("oneroster-preview")
    page.get_by_role("button", name="Cancel import").click()
    expect(page.get_by_role("status")).to_contain_text("Import cancelled")
