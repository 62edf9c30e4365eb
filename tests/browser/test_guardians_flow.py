"""Guardians in a real browser, against gunicorn with CSRF on: add a mother with two
numbers to one child, trip over a bad number, link her to the sibling found by phone,
change what she is to the sibling, remove her from one child. Every page is checked
with axe-core (WCAG 2.2 AA): no violation.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_accessible, log_in

# The pages are the same on both databases: the browser runs them on SQLite (request
# tests cover PostgreSQL; test_students_flow, test_homeroom_flow and the takeover run
# the browser on both).
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

DETAIL_URL = re.compile(r"/students/(\d+)(#guardians)?$")


def post(page: Page, button: str) -> int:
    """Click ``button`` and return the HTTP status of the POST it sends."""
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name=button, exact=True).click()
    return posted.value.status


def add_student(page: Page, name: str) -> str:
    """Add a student through the form; return the page's path."""
    page.goto("/students/new")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Grade", exact=True).fill("4")
    assert post(page, "Save") == 302
    expect(page).to_have_url(DETAIL_URL)
    return page.url


def test_add_link_edit_and_unlink_guardians(page: Page, screenshot: Callable[[str], None]) -> None:
    log_in(page, "editor")
    sibling_url = add_student(page, "Lucas Moreau")
    student_url = add_student(page, "Emma Moreau")
    assert_accessible(page)

    # Add a guardian; a bad number first.
    page.get_by_role("link", name="Add a guardian").click()
    page.get_by_label("Name", exact=True).fill("Claire Moreau")
    page.get_by_label("Preferred language").fill("French")
    page.get_by_label("Phone 1: number").fill("555")
    page.get_by_label("Relationship").select_option("Mother")
    page.get_by_label("Emergency contact").check()
    assert post(page, "Save") == 422
    expect(page.locator(".field-error")).to_contain_text("not a valid phone number")
    assert_accessible(page)
    screenshot("guardian-form-invalid")
    page.get_by_label("Phone 1: number").fill("(415) 555-0134")
    page.get_by_label("Phone 2: kind").select_option("Work")
    page.get_by_label("Phone 2: number").fill("+33 6 12 34 56 78")
    assert post(page, "Save") == 302
    expect(page.locator(".flash")).to_contain_text("Added Claire Moreau")
    table = page.locator("table.guardians")
    expect(table).to_contain_text("+1 415-555-0134")
    expect(table).to_contain_text("+33 6 12 34 56 78")
    expect(table).to_contain_text("French [fr]")
    expect(table).to_contain_text("Emergency contact")
    assert_accessible(page)
    screenshot("student-guardians")

    # Link her to the sibling, found by her phone number.
    page.goto(sibling_url)
    page.get_by_role("link", name="Link an existing guardian").click()
    page.get_by_label("Name, email or phone number").fill("415 555 0134")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("row", name=re.compile("Claire Moreau"))).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Choose Claire Moreau").click()
    page.get_by_label("Relationship").select_option("Guardian")
    page.get_by_label("Contact order").fill("2")
    assert_accessible(page)
    assert post(page, "Link guardian") == 302
    expect(page.locator("table.guardians")).to_contain_text("Claire Moreau")

    # Her page lists both children.
    page.get_by_role("link", name="Claire Moreau", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Claire Moreau")
    expect(page.locator("main")).to_contain_text("Emma Moreau")
    expect(page.locator("main")).to_contain_text("Lucas Moreau")
    assert_accessible(page)
    screenshot("guardian-page")

    # Change what she is to the sibling; then remove her from him only.
    page.goto(sibling_url)
    page.get_by_role("link", name="Edit Claire Moreau").click()
    page.get_by_label("Relationship").select_option("Mother")
    page.get_by_label("Pickup allowed").check()
    assert_accessible(page)
    assert post(page, "Save") == 302
    expect(page.locator("table.guardians")).to_contain_text("Pickup allowed")
    page.get_by_role("link", name="Remove Claire Moreau").click()
    assert_accessible(page)
    assert post(page, "Remove guardian") == 302
    expect(page.locator(".empty-state")).to_contain_text("No guardian on record")

    # The history shows the changes, with an undo.
    page.goto(sibling_url + "/history")
    expect(page.get_by_role("button", name="Link this guardian again")).to_be_visible()
    assert_accessible(page)
    screenshot("guardian-history")
    page.goto(student_url)
    expect(page.locator("table.guardians")).to_contain_text("Claire Moreau")
