"""Browser-test fixtures: a real gunicorn on a freshly migrated database, and Chromium pages.

The server is started the way production starts it (``flask db upgrade``, then
``gunicorn -c gunicorn.conf.py 'webapp:create_app()'``, two workers, CSRF on) by
``bench.server``, once per test session, on a free port of 127.0.0.1, on the database of
the run: a SQLite file, or a new database on the run's PostgreSQL server
(``--db=postgresql``). It has one account per role; ``log_in(page, role)`` logs in.

Chromium is Debian's ``/usr/bin/chromium`` (``make test`` installs it through
``scripts/install-system-deps.sh``), driven by Playwright's sync API: Playwright's own
browser download does not work on our machines.

The browser tests of the students' pages, the homerooms (the teacher's scope) and the
tutorial takeover run on both databases; the others run on SQLite only (marked
``sqlite_only``): their pages issue the same queries as the request tests, which run on
both, and each Chromium run costs seconds of CPU that ``make test``'s budget needs.

Set ``SCREENSHOT_DIR`` to keep the screenshots that tests take with the ``screenshot``
fixture; without it they are not written.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from bench.server import ACCOUNTS, Server, ServerError, gunicorn_server

#: Debian's Chromium; ``CHROMIUM`` in the environment may name another build.
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

#: Flags for headless Chromium as root on a machine without outside network: without the
#: background-networking ones it keeps trying to reach Google's services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

PAGE_TIMEOUT_MS = 10_000  # a local page that takes longer than this is a failure

#: Where a login lands: the dashboard, the home page.
HOME = re.compile(r"^https?://[^/]+/$")


@pytest.fixture(scope="session")
def live_database_url(
    request: pytest.FixtureRequest, database_backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty database for the live server: a SQLite file, or a PostgreSQL database."""
    if database_backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('live_database') / 'students.db'}"
        return
    server = request.getfixturevalue("postgres")
    name = server.new_name("live")
    yield server.create_database(name)
    server.drop_database(name)


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, live_database_url: str
) -> Iterator[Server]:
    """A real gunicorn (two workers) on a freshly migrated database with one account per
    role (``bench.server.ACCOUNTS``), for the session."""
    log_path = tmp_path_factory.mktemp("live_server") / "gunicorn.log"
    try:
        env = {
            # The OneRoster pages' school (tests/browser/test_oneroster_flow.py).
            "ONEROSTER_SCHOOL_SOURCED_ID": "school-live",
            "ONEROSTER_SCHOOL_NAME": "Live School",
        }
        with gunicorn_server(live_database_url, log_path, workers=2, env=env) as server:
            yield server
    except ServerError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """Playwright's sync API for the session."""
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Headless Debian Chromium. Missing, it fails the tests: ``make test`` installs it."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run `make test`, or "
            "`scripts/install-system-deps.sh` as root, to install it.",
            pytrace=False,
        )
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@contextmanager
def open_page(browser: Browser, server: Server) -> Iterator[Page]:
    """A fresh page (own cookies) whose relative URLs go to ``server``; closed after."""
    context = browser.new_context(base_url=server.url)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(browser: Browser, live_server: Server) -> Iterator[Page]:
    """A fresh page (own cookies) whose relative URLs go to the live server."""
    with open_page(browser, live_server) as page:
        yield page


def take_screenshot(page: Page, name: str) -> None:
    """Save a full-page PNG of ``page`` as ``$SCREENSHOT_DIR/<name>.png``, if it is set."""
    target = os.environ.get("SCREENSHOT_DIR")
    if not target:
        return
    folder = Path(target)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=folder / f"{name}.png", full_page=True)


@pytest.fixture
def screenshot(page: Page) -> Callable[[str], None]:
    """``screenshot(name)`` saves a full-page PNG into ``$SCREENSHOT_DIR``, if it is set."""
    return lambda name: take_screenshot(page, name)


def log_in(page: Page, role: str) -> None:
    """Log in through the login page as the live server's account for ``role``."""
    email, password = ACCOUNTS[role]
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(HOME)


#: The axe-core rules run on every page: WCAG 2.0, 2.1 and 2.2, levels A and AA.
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}
}


def assert_accessible(page: Page) -> None:
    """No axe-core violation of WCAG 2.2 AA on the page as it is now."""
    results = Axe().run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, results.generate_report()
