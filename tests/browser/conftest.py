"""Browser-test fixtures: a real gunicorn on a migrated SQLite file, and Chromium pages.

The server is started the way production starts it (``gunicorn -c gunicorn.conf.py
'webapp:create_app()'``, two workers, CSRF on), once per test session, on a free port of
127.0.0.1. Chromium is Debian's ``/usr/bin/chromium`` (``make test`` installs it through
``scripts/install-system-deps.sh``), driven by Playwright's sync API: Playwright's own
browser download does not work on our machines.

Set ``SCREENSHOT_DIR`` to keep the screenshots that tests take with the ``screenshot``
fixture; without it they are not written.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

PROJECT_ROOT = Path(__file__).resolve().parents[2]

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

SERVER_START_TIMEOUT = 30  # seconds
SERVER_STOP_TIMEOUT = 40  # seconds; gunicorn's graceful_timeout is 30
PAGE_TIMEOUT_MS = 10_000  # a local page that takes longer than this is a failure


@dataclass(frozen=True)
class LiveServer:
    """A running gunicorn serving the app."""

    url: str
    database_path: Path
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines gunicorn wrote, for failure messages."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    """Ask the kernel for a free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment(database_path: Path, port: int) -> dict[str, str]:
    """The environment for ``flask db upgrade`` and gunicorn: a private database and key."""
    env = dict(os.environ)
    # Settings from the developer's shell must not point the server at their database.
    for name in ("BIND", "FLASK_APP", "GUNICORN_CMD_ARGS", "SESSION_COOKIE_SECURE"):
        env.pop(name, None)
    env.update(
        DATABASE_URL=f"sqlite:///{database_path}",
        SECRET_KEY=secrets.token_hex(32),
        PORT=str(port),
        WEB_CONCURRENCY="2",
        PYTHONUNBUFFERED="1",
    )
    return env


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll ``url`` until it answers 200, failing if gunicorn exits or time runs out."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"gunicorn exited with code {process.returncode} before it was healthy:\n"
                + log.read_text(encoding="utf-8", errors="replace"),
                pytrace=False,
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
                last_error = f"HTTP {response.status}"
        except urllib.error.HTTPError as error:
            last_error = f"HTTP {error.code}: {error.read().decode(errors='replace')}"
        except OSError as error:  # refused while gunicorn binds, or a timeout
            last_error = str(error)
        time.sleep(0.1)
    pytest.fail(
        f"{url} not healthy after {SERVER_START_TIMEOUT} s ({last_error}); gunicorn log:\n"
        + log.read_text(encoding="utf-8", errors="replace"),
        pytrace=False,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop gunicorn gracefully (SIGTERM), killing it if it does not exit in time."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=SERVER_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real gunicorn (two workers) on a freshly migrated SQLite file, for the session."""
    directory = tmp_path_factory.mktemp("live_server")
    database_path = directory / "students.db"
    log_path = directory / "gunicorn.log"
    port = free_port()
    env = server_environment(database_path, port)

    # The executables of the interpreter running pytest, i.e. .venv's under `make test`.
    upgrade = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "webapp", "db", "upgrade"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if upgrade.returncode != 0:
        pytest.fail(
            f"flask db upgrade failed ({upgrade.returncode}):\n{upgrade.stdout}{upgrade.stderr}",
            pytrace=False,
        )

    # No control socket: gunicorn's default path is one per user, and a test server must
    # not take it over from a developer's `make run` (each new master replaces it).
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--no-control-socket"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "webapp:create_app()"],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", database_path, log_path)
    try:
        wait_until_healthy(f"{server.url}/healthz", process, log_path)
        yield server
    finally:
        stop(process)


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


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A fresh page (own cookies) whose relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot(page: Page) -> Callable[[str], None]:
    """``screenshot(name)`` saves a full-page PNG into ``$SCREENSHOT_DIR``, if it is set."""
    target = os.environ.get("SCREENSHOT_DIR")

    def take(name: str) -> None:
        if not target:
            return
        folder = Path(target)
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=folder / f"{name}.png", full_page=True)

    return take
