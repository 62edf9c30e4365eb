"""A school year from start to finish in a real Chromium, against gunicorn with CSRF on.

The office enrolls students, records a withdrawal (first dated before the enrollment
began, which is refused, then right), defines next year, previews the rollover, holds a
student back, confirms, finds the rollover refused a second time, and undoes it. The
dashboard draws its charts with the vendored Chart.js under the Content-Security-Policy
(no violation reported), the roster filters by status and prints without navigation.
Each new page is checked with axe-core (WCAG 2.2 AA): no violation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.browser.conftest import assert_accessible, log_in

# The pages are the same on both databases: the browser runs them on SQLite (request
# tests cover PostgreSQL; test_students_flow, test_homeroom_flow and the takeover run
# the browser on both).
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]


DETAIL_URL = re.compile(r"/students/(\d+)$")


def post(page: Page, button: str) -> int:
    """Click ``button`` and return the HTTP status of the POST it sends."""
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name=button, exact=True).click()
    return posted.value.status


def add_student(page: Page, name: str, grade: str) -> int:
    """Add a student through the form; return the new id."""
    page.goto("/students/new")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Grade", exact=True).fill(grade)
    page.get_by_label("Enrollment date", exact=True).fill("2020-09-01")
    assert post(page, "Save") in {302, 303}
    expect(page).to_have_url(DETAIL_URL)
    match = DETAIL_URL.search(page.url)
    assert match is not None
    return int(match.group(1))


def test_dashboard_draws_its_charts_without_breaking_the_policy(
    page: Page, screenshot: Callable[[str], None]
) -> None:
    problems: list[str] = []

    def listen(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("console", listen)
    page.on("pageerror", lambda error: problems.append(str(error)))
    log_in(page, "admin")
    add_student(page, "Dash Board", "4")
    page.goto("/")

    expect(page.get_by_role("heading", level=1)).to_contain_text("Dashboard")
    charts = page.locator("figure.chart")
    expect(charts).to_have_count(3)
    expect(page.locator("figure.chart.chart--drawn")).to_have_count(3)
    for index in range(3):
        box = charts.nth(index).locator("canvas").bounding_box()
        assert box is not None
        assert box["height"] > 100
    # The data tables stay for screen readers: in the accessibility tree, off the screen.
    expect(
        page.get_by_role("table", name=re.compile("Enrolled students per grade"))
    ).to_be_attached()
    assert_accessible(page)
    screenshot("dashboard")
    assert problems == [], problems

    # Printed, the tables are on paper and the navigation is not.
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(
        page.get_by_role("table", name=re.compile("Enrolled students per grade"))
    ).to_be_visible()
    page.emulate_media(media="screen")


def test_a_school_year_from_start_to_finish(page: Page, screenshot: Callable[[str], None]) -> None:
    log_in(page, "admin")
    ivy = add_student(page, "Ivy Withdrawn", "3")
    hal = add_student(page, "Hal Heldback", "5")
    tom = add_student(page, "Tom Topgrade", "12")

    # A withdrawal, recorded from the student's page.
    page.goto(f"/students/{ivy}")
    expect(page.get_by_role("heading", name="School years")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name=re.compile(r"^Change")).first.click()
    assert_accessible(page)
    page.get_by_label("Status", exact=True).select_option("withdrawn")
    page.get_by_label("Status date", exact=True).fill("2019-06-30")
    page.get_by_label("Withdrawal reason", exact=True).fill("Moved abroad")
    assert post(page, "Save") == 422
    expect(page.locator(".field-error")).to_contain_text("is before the enrollment began")
    assert_accessible(page)
    page.get_by_label("Status date", exact=True).fill(date.today().isoformat())
    assert post(page, "Save") in {302, 303}
    expect(page).to_have_url(DETAIL_URL)
    expect(page.locator(".status--withdrawn")).to_have_text("Withdrawn")
    screenshot("student-withdrawn")

    # The roster shows the enrolled by default; the status filter finds the withdrawal.
    page.goto("/students/?q=withdrawn")
    expect(page.get_by_text("No students match")).to_be_visible()
    page.get_by_label(re.compile("^Status in")).select_option("withdrawn")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("link", name="Ivy Withdrawn", exact=True)).to_be_visible()
    assert_accessible(page)

    # Printed: no navigation, the table header repeats on each page.
    page.goto("/students/?grade=5")
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator("form.filters")).to_be_hidden()
    header_display = page.locator("table.roster thead").evaluate(
        "element => getComputedStyle(element).display"
    )
    assert header_display == "table-header-group"
    screenshot("roster-print")
    page.emulate_media(media="screen")

    # Next year, defined by the admin with the suggested dates.
    page.goto("/years/")
    assert_accessible(page)
    page.get_by_role("link", name="Define a school year").click()
    assert_accessible(page)
    assert post(page, "Save") in {302, 303}
    expect(page.locator(".flash")).to_contain_text("Saved the school year")
    page.get_by_role("link", name=re.compile(r"^Edit")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Edit")
    assert_accessible(page)
    page.goto(f"/students/{hal}/enroll")  # next year is one Hal is not enrolled in
    expect(page.get_by_role("heading", level=1)).to_contain_text("Enroll Hal Heldback")
    assert_accessible(page)
    page.goto("/years/")

    # The rollover: preview, hold Hal back, confirm.
    page.get_by_role("link", name=re.compile("^Roll over into")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Roll over")
    assert_accessible(page)
    page.get_by_label(re.compile("^Hal Heldback")).check()
    assert post(page, "Update the preview") == 200
    expect(page.get_by_label(re.compile("^Hal Heldback"))).to_be_checked()
    screenshot("rollover-preview")
    assert post(page, "Confirm the rollover") in {302, 303}
    expect(page.locator(".flash")).to_contain_text("1 held back")
    assert_accessible(page)
    screenshot("years-after-rollover")

    # Next year is current now: Hal stays in grade 5, Tom graduated.
    page.goto(f"/students/{hal}")
    expect(page.locator("table.enrollments tbody tr").first).to_contain_text("current")
    expect(page.locator("table.enrollments tbody tr").first.locator(".col-grade")).to_have_text("5")
    page.goto(f"/students/{tom}")
    expect(page.locator(".status--graduated")).to_have_text("Graduated")
    screenshot("student-graduated")

    # Run twice: refused, with the reason.
    page.goto("/years/")
    page.get_by_role("row").filter(has_text="current").get_by_role("link", name="Edit")
    rolled = page.locator("a", has_text=re.compile("^Roll over into"))
    expect(rolled).to_have_count(0)  # the year rolled over offers no second rollover

    # Undo the whole batch.
    assert post(page, "Undo this rollover") in {302, 303}
    expect(page.locator(".flash")).to_contain_text("Undid the rollover")
    page.goto(f"/students/{tom}")
    expect(page.locator(".status--enrolled, .status").first).to_have_text("Enrolled")
    page.goto(f"/students/{ivy}/history")
    expect(page.get_by_text("Moved abroad")).to_be_visible()
    assert_accessible(page)
