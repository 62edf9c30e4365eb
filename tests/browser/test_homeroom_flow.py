"""Homerooms in a real Chromium, against gunicorn with CSRF on.

An editor defines a homeroom with a teacher, assigns two students from the class page
with the keyboard, then a third from the roster (ticked, "Assign to a homeroom", the
confirmation page with its capacity warning, confirmed), and prints the class list. The
teacher then signs in and finds exactly that class: another student is a 404. Each new
page is checked with axe-core (WCAG 2.2 AA): no violation.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in
from tests.browser.test_school_year_flow import add_student, assert_accessible, post

pytestmark = pytest.mark.browser

HOMEROOM_URL = re.compile(r"/homerooms/(\d+)$")


def test_an_editor_builds_a_class_and_its_teacher_sees_only_it(
    page: Page, screenshot: Callable[[str], None]
) -> None:
    tag = secrets.token_hex(3)
    names = [f"{first} Hr{tag}" for first in ("Ines", "Jonas", "Kira")]
    log_in(page, "editor")
    ids = [add_student(page, name, "4") for name in names]
    outsider = add_student(page, f"Lena Out{tag}", "4")

    # A homeroom for two, taught by the teacher account.
    page.goto("/homerooms/new")
    assert_accessible(page)
    page.get_by_label("Name", exact=True).fill(f"4{tag}")
    page.get_by_label("Grade", exact=True).fill("4")
    page.get_by_label("Room", exact=True).fill("12")
    page.get_by_label("Capacity", exact=True).fill("2")
    page.get_by_label("Add a teacher", exact=True).fill("teacher@bench.example")
    assert post(page, "Save") in {302, 303}
    expect(page).to_have_url(HOMEROOM_URL)
    homeroom_url = page.url
    assert_accessible(page)

    # Two students from the class page, ticked with the keyboard.
    page.get_by_label("Search by name").fill(f"Hr{tag}")
    page.get_by_role("button", name="Search", exact=True).click()
    for name in names[:2]:
        page.get_by_label(name, exact=False).first.focus()
        page.keyboard.press("Space")
    assert post(page, "Assign to this homeroom") in {302, 303}
    expect(page.get_by_text("Assigned 2 students")).to_be_visible()
    table = page.get_by_role("table", name=re.compile("Students of"))
    for name in names[:2]:
        expect(table.get_by_role("link", name=name)).to_be_visible()

    # The third from the roster: over the capacity, confirmed on the confirmation page.
    page.goto(f"/students/?q=Kira+Hr{tag}")
    assert_accessible(page)
    page.get_by_label(f"Select {names[2]}").check()
    page.get_by_label("Action").select_option("homeroom")
    page.get_by_label("Homeroom", exact=True).fill(f"4{tag}")
    assert post(page, "Continue") == 200
    expect(page.get_by_role("heading", name="1 student will move into")).to_be_visible()
    expect(page.get_by_text("would have 3 students; its capacity is 2")).to_be_visible()
    assert_accessible(page)
    screenshot("bulk-confirmation")
    page.get_by_label(re.compile("over its capacity")).check()
    assert post(page, "Confirm: change 1 student") in {302, 303}
    expect(page.get_by_text("Assigned 1 student to")).to_be_visible()

    # The printable class list.
    page.goto(homeroom_url + "/print")
    assert_accessible(page)
    for name in names:
        expect(page.get_by_role("rowheader", name=name)).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    screenshot("class-list-print")
    page.emulate_media(media="screen")
    page.goto("/homerooms/")
    assert_accessible(page)

    # The teacher sees this class and no one else.
    page.context.clear_cookies()
    log_in(page, "teacher")
    page.goto("/students/?status=all&per_page=100")
    for name in names:
        expect(page.get_by_role("link", name=name)).to_be_visible()
    expect(page.get_by_text(f"Lena Out{tag}")).to_have_count(0)
    assert page.goto(f"/students/{outsider}").status == 404
    assert page.goto(f"/students/{ids[0]}").status == 200
    page.goto(homeroom_url)
    assert_accessible(page)
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    screenshot("class-page-teacher")
