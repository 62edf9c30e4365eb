"""Roles and undo in a real browser: a viewer is refused, an editor edits and reverts."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PAGE_TIMEOUT_MS, log_in

if TYPE_CHECKING:
    from bench.server import Server

# The pages are the same on both databases: the browser runs them on SQLite (request
# tests cover PostgreSQL; test_students_flow, test_homeroom_flow and the takeover run
# the browser on both).
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]


def test_viewer_is_refused_editor_edits_and_reverts_from_history(
    browser: Browser, page: Page, live_server: Server, screenshot: Callable[[str], None]
) -> None:
    # The editor adds a student and corrects the name.
    log_in(page, "editor")
    page.goto("/students/new")
    page.get_by_label("Name", exact=True).fill("Mary Somerville")
    page.get_by_label("Grade", exact=True).fill("6")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mary Somerville")
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Name", exact=True).fill("Mary Fairfax")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mary Fairfax")
    student_url = page.url

    # A viewer sees the student but no way to change it, and is refused at the door.
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    viewer = context.new_page()
    log_in(viewer, "viewer")
    expect(viewer.get_by_role("link", name="Add student")).to_have_count(0)
    viewer.goto(student_url)
    expect(viewer.get_by_role("heading", level=1)).to_have_text("Mary Fairfax")
    expect(viewer.get_by_role("link", name="Edit")).to_have_count(0)
    response = viewer.goto(student_url + "/edit")
    assert response is not None
    assert response.status == 403
    expect(viewer.get_by_role("heading", level=1)).to_have_text("You may not do that")
    context.close()

    # The editor reverts the rename from the history page.
    page.goto(student_url)
    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("History of Mary Fairfax")
    screenshot("history")
    page.get_by_role("button", name="Revert this change").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mary Somerville")
    expect(page.locator(".flash")).to_contain_text("Reverted the change to Mary Somerville")
    page.get_by_role("link", name="History").click()
    expect(page.locator(".badge--revert")).to_have_count(1)
    expect(page.get_by_text("Undone by")).to_have_count(1)

    # Logging out ends the session: the student page now asks for a login.
    page.get_by_role("button", name="Log out").click()
    page.goto(student_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
