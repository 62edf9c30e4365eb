"""Two-factor sign-in in a real Chromium: set-up from the QR code page, the recovery codes,
the code step at the next login, and the account page's failed sign-ins and unlock.

Each page is checked with axe-core (axe-playwright-python, WCAG 2.2 AA rules): no
violation. The flow is driven from the keyboard where a person would type.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from bench.server import ACCOUNTS
from tests.browser.conftest import HOME, PAGE_TIMEOUT_MS, assert_accessible, log_in

if TYPE_CHECKING:
    from bench.server import Server

# The pages are the same on both databases: the browser runs them on SQLite (request
# tests cover PostgreSQL; test_students_flow, test_homeroom_flow and the takeover run
# the browser on both).
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]


def test_set_up_two_factor_then_sign_in_with_a_code(
    browser: Browser, page: Page, live_server: Server, screenshot: Callable[[str], None]
) -> None:
    log_in(page, "viewer")
    page.get_by_role("link", name="Two-factor sign-in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor sign-in")
    assert_accessible(page)
    page.get_by_role("link", name="Set up two-factor sign-in").click()

    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    assert_accessible(page)
    screenshot("two-factor-setup")
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    page.get_by_label("Code from the app").fill("000000")
    page.keyboard.press("Enter")
    expect(page.locator("#error-summary")).to_be_focused()
    assert_accessible(page)
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor sign-in is on")
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    assert_accessible(page)
    screenshot("two-factor-recovery-codes")
    recovery = page.locator(".recovery-codes li").first.inner_text()

    # The next login asks for a code after the password; a recovery code works.
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    other = context.new_page()
    email, password = ACCOUNTS["viewer"]
    other.goto("/login")
    other.get_by_label("Email").fill(email)
    other.get_by_label("Password").fill(password)
    other.keyboard.press("Enter")
    other.wait_for_url("**/login/code")
    expect(other.get_by_label("Code")).to_be_focused()
    assert_accessible(other)
    other.keyboard.type(recovery)
    other.keyboard.press("Enter")
    other.wait_for_url(HOME)
    context.close()


def test_the_account_page_shows_failed_sign_ins_and_unlocks(
    browser: Browser, page: Page, live_server: Server, screenshot: Callable[[str], None]
) -> None:
    email, _ = ACCOUNTS["editor"]
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    guesser = context.new_page()
    for attempt in range(2):
        guesser.goto("/login")
        guesser.get_by_label("Email").fill(email)
        guesser.get_by_label("Password").fill(f"wrong-password-{attempt}")
        guesser.get_by_role("button", name="Log in").click()
        expect(guesser.get_by_role("alert")).to_contain_text("not right")
    assert_accessible(guesser)
    context.close()

    log_in(page, "admin")
    page.get_by_role("link", name="Accounts").click()
    page.get_by_role("link", name=email).click()
    expect(page.get_by_role("heading", name="Failed sign-ins")).to_be_visible()
    expect(page.get_by_role("rowheader", name="127.0.0.1")).to_be_visible()
    assert_accessible(page)
    screenshot("account-failed-sign-ins")
    page.get_by_role("button", name="Unlock: lift every wait").click()
    expect(page.locator(".flash")).to_contain_text("Lifted the sign-in waits")
    expect(page.get_by_text("No failed sign-ins lately.")).to_be_visible()
