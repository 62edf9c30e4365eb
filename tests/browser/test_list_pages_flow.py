"""The accounts, the homerooms and a homeroom's teachers at district scale, in a real
Chromium against gunicorn with CSRF on, with the keyboard.

An administrator searches the accounts and pages through them, filters the homerooms by
name and grade, then gives a homeroom a teacher by typing an address (first one no
account has: the form says so inline), and takes them off again by unticking the box.
Each state is checked with axe-core (WCAG 2.2 AA): no violation.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, insert, select

from tests.browser.conftest import assert_accessible, log_in
from tests.browser.test_school_year_flow import post
from webapp.models import Homeroom, SchoolYear, User
from webapp.models.types import utcnow

# The same pages as the request tests (tests/test_account_list.py, test_homeroom_list.py,
# test_homeroom_teachers.py), which run on both databases.
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]


@pytest.fixture
def tag(live_database_url: str) -> Iterator[str]:
    """60 teacher accounts ``list-<tag>-NN@bench.example`` and 55 grade-7 homerooms
    ``Z<tag>-NN`` of the current year, written straight into the live database."""
    tag = secrets.token_hex(3)
    engine = create_engine(live_database_url)
    try:
        with engine.begin() as connection:
            year_id = connection.scalar(select(SchoolYear.id).where(SchoolYear.is_current))
            connection.execute(
                insert(User),
                [
                    {
                        "email": f"list-{tag}-{n:02}@bench.example",
                        "role": "teacher",
                        "password_hash": "x",
                        "created_at": utcnow(),
                    }
                    for n in range(60)
                ],
            )
            connection.execute(
                insert(Homeroom),
                [
                    {"school_year_id": year_id, "name": f"Z{tag}-{n:02}", "grade": 7}
                    | {"capacity": 25}
                    for n in range(55)
                ],
            )
        yield tag
    finally:
        engine.dispose()


def search(page: Page, label: str, text: str) -> None:
    """Type ``text`` into the field ``label`` and press Enter (the filter form's submit)."""
    field = page.get_by_label(label, exact=True)
    field.focus()
    page.keyboard.type(text)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def next_page(page: Page) -> None:
    """Follow the pager's "Next page" link from the keyboard."""
    page.get_by_role("link", name=re.compile(r"^Next page")).focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_an_admin_finds_accounts_and_homerooms_and_sets_a_teacher(
    page: Page, tag: str, screenshot: Callable[[str], None]
) -> None:
    log_in(page, "admin")

    # Accounts: searched, paged, filtered.
    page.goto("/users/")
    assert_accessible(page)
    search(page, "Search", f"LIST-{tag}")
    expect(page.get_by_role("status")).to_have_text(
        re.compile(rf"Showing 1–50 of 60 accounts matching “LIST-{tag}”")
    )
    next_page(page)
    rows = page.get_by_role("table").get_by_role("rowheader")
    expect(rows).to_have_count(10)
    expect(rows.first).to_have_text(f"list-{tag}-50@bench.example")
    expect(page.get_by_text("not understood")).to_have_count(0)
    assert_accessible(page)
    screenshot("accounts-page-2")
    page.get_by_label("Role", exact=True).select_option("admin")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_text("No account matches these filters.")).to_be_visible()

    # Homerooms: by name, then by grade.
    page.goto("/homerooms/")
    search(page, "Search", f"z{tag}")
    expect(page.get_by_role("status")).to_have_text(
        re.compile(r"Showing 1–50 of 55 homerooms matching")
    )
    page.get_by_label("Grade", exact=True).select_option("7")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(re.compile("of 55 homerooms of grade 7"))
    assert_accessible(page)
    screenshot("homerooms-filtered")

    # A teacher typed by address: an unknown one is refused inline, then the right one.
    page.get_by_role("link", name=f"Z{tag}-00", exact=True).click()
    page.get_by_role("link", name="Edit", exact=True).click()
    assert_accessible(page)
    page.get_by_label("Add a teacher", exact=True).fill(f"nobody-{tag}@bench.example")
    assert post(page, "Save") == 422
    expect(page.get_by_text("No active account has this email address.").first).to_be_visible()
    assert_accessible(page)
    screenshot("homeroom-teacher-refused")
    page.get_by_label("Add a teacher", exact=True).fill(f"list-{tag}-07@bench.example")
    assert post(page, "Save") in {302, 303}
    expect(page.get_by_text(f"list-{tag}-07@bench.example")).to_be_visible()

    # Taken off again: the box unticked with the keyboard.
    page.get_by_role("link", name="Edit", exact=True).click()
    box = page.get_by_label(f"list-{tag}-07@bench.example (teacher)")
    expect(box).to_be_checked()
    box.focus()
    page.keyboard.press("Space")
    expect(box).not_to_be_checked()
    assert post(page, "Save") in {302, 303}
    expect(page.get_by_text(f"list-{tag}-07@bench.example")).to_have_count(0)
