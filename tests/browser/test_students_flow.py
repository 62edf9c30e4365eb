"""A school secretary's day in a real browser, against gunicorn with CSRF on.

Create a student, trip over a bad email, fix it, edit the record, find it with the roster
search, delete it. Locators are roles and labels, as a screen reader would find them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Locator, Page, expect

from bench.server import ACCOUNTS
from tests.browser.conftest import log_in

if TYPE_CHECKING:
    from bench.server import Server as LiveServer

pytestmark = pytest.mark.browser

DETAIL_URL = re.compile(r"/students/(\d+)$")

#: What a successful POST answers (Post/Redirect/Get).
REDIRECTS = {302, 303}


def fill_student_form(page: Page, **values: str) -> None:
    """Type ``values`` into the form fields whose labels are the keys (``_`` for spaces)."""
    for key, value in values.items():
        page.get_by_label(key.replace("_", " "), exact=True).fill(value)


def submit(page: Page, button: str) -> int:
    """Click the form's ``button`` and return the HTTP status of the POST it sends."""
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name=button, exact=True).click()
    return posted.value.status


def flash(page: Page) -> Locator:
    """The flash messages of the page."""
    return page.locator(".flash")


def test_root_redirects_to_login_then_dashboard(page: Page, live_server: LiveServer) -> None:
    response = page.goto("/")

    assert response is not None
    assert response.status == 200
    expect(page).to_have_url(f"{live_server.url}/login?next=%2F")
    email, password = ACCOUNTS["editor"]
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/")


def test_create_fix_edit_search_delete(
    page: Page, live_server: LiveServer, screenshot: Callable[[str], None]
) -> None:
    log_in(page, "editor")
    # Someone else on the roster, so that the search has something to leave out.
    page.goto("/students/new")
    fill_student_form(page, Name="Charles Babbage", Email="charles@example.org", Grade="9")
    assert submit(page, "Save") in REDIRECTS
    expect(page).to_have_url(DETAIL_URL)

    # Create, with a mistyped email.
    page.goto("/")
    page.get_by_role("main").get_by_role("link", name="Add student").click()
    expect(page).to_have_url(f"{live_server.url}/students/new")
    fill_student_form(
        page,
        Name="Ada Lovelace",
        Email="ada.lovelace(at)example.org",
        Grade="7",
        Birthday="2012-12-10",
        Enrollment_date="2024-09-02",
    )
    assert submit(page, "Save") == 422
    # Keyboard and screen reader users land on the list of problems.
    expect(page.locator("#error-summary")).to_be_focused()

    email = page.get_by_label("Email", exact=True)
    error = page.locator(".field-error").filter(has_text=re.compile("email", re.IGNORECASE))
    expect(error).to_be_visible()
    error_box, email_box = error.bounding_box(), email.bounding_box()
    assert error_box is not None
    assert email_box is not None
    assert abs(error_box["y"] - email_box["y"]) < 120, "the error is shown beside the field"
    # What was typed is still there, the bad address included, to be corrected.
    expect(page.get_by_label("Name", exact=True)).to_have_value("Ada Lovelace")
    expect(email).to_have_value("ada.lovelace(at)example.org")
    expect(page.get_by_label("Grade", exact=True)).to_have_value("7")
    expect(page.get_by_label("Birthday", exact=True)).to_have_value("2012-12-10")
    expect(page.get_by_label("Enrollment date", exact=True)).to_have_value("2024-09-02")
    screenshot("form-with-error")

    # Fix it: saved, and shown on the detail page with a confirmation.
    email.fill("ada@example.org")
    assert submit(page, "Save") in REDIRECTS
    expect(page).to_have_url(DETAIL_URL)
    detail_url = page.url
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")
    expect(flash(page)).to_be_visible()
    expect(page.get_by_text("ada@example.org")).to_be_visible()
    screenshot("detail")

    # Edit: she married.
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page).to_have_url(f"{detail_url}/edit")
    expect(page.get_by_label("Email", exact=True)).to_have_value("ada@example.org")
    fill_student_form(page, Name="Ada King")
    assert submit(page, "Save") in REDIRECTS
    expect(page).to_have_url(detail_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada King")
    expect(flash(page)).to_be_visible()

    # Search the roster by name, then by grade.
    page.goto("/students/")
    roster = page.get_by_role("table")
    expect(roster.get_by_role("link", name="Ada King", exact=True)).to_be_visible()
    expect(roster.get_by_role("link", name="Charles Babbage", exact=True)).to_be_visible()
    screenshot("roster")

    page.get_by_label("Search", exact=True).fill("king")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(re.compile(r"[?&]q=king(&|$)"))
    expect(roster.get_by_role("link", name="Ada King", exact=True)).to_be_visible()
    expect(roster.get_by_role("link", name="Charles Babbage", exact=True)).to_have_count(0)

    page.get_by_label("Search", exact=True).fill("")
    page.get_by_label("Grade", exact=True).select_option("9")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(re.compile(r"[?&]grade=9(&|$)"))
    expect(roster.get_by_role("link", name="Charles Babbage", exact=True)).to_be_visible()
    expect(roster.get_by_role("link", name="Ada King", exact=True)).to_have_count(0)

    # Delete, through the confirmation page.
    page.goto(detail_url)
    page.get_by_role("link", name="Delete", exact=True).click()
    expect(page).to_have_url(f"{detail_url}/delete")
    assert submit(page, "Delete") in REDIRECTS
    expect(page).to_have_url(f"{live_server.url}/students/")
    expect(flash(page)).to_be_visible()
    expect(page.get_by_role("link", name="Ada King", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Charles Babbage", exact=True)).to_be_visible()

    gone = page.goto(detail_url)
    assert gone is not None
    assert gone.status == 404
