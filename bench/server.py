"""Start the real application under gunicorn for load, concurrency and browser runs.

Used by the benchmarks in ``bench/`` and by their short versions in ``tests/``. The
server is started the way production starts it: ``flask db upgrade``, then ``gunicorn -c
gunicorn.conf.py 'webapp:create_app()'``, on a free port of 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60.0  # seconds (a gunicorn start took over 30 s on a 2-core machine at load 6)
STOP_TIMEOUT = 40.0  # seconds; gunicorn's graceful_timeout is 30


#: One account per role, created at server start: ``{role: (email, password)}``.
ACCOUNTS = {
    role: (f"{role}@bench.example", f"{role}-bench-password")
    for role in ("admin", "editor", "viewer", "teacher")
}
#: The account that load and concurrency clients log in with.
ACCOUNT_EMAIL, ACCOUNT_PASSWORD = ACCOUNTS["editor"]

#: Settings for benchmark servers: logins hash cheaply and are neither rate limited nor
#: throttled, since every simulated user logs in from 127.0.0.1, dozens at once with one
#: account (an attempt counts as failed until its password is checked); what is measured
#: is the rest.
BENCH_ENVIRONMENT = {
    "FLASK_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    "LOGIN_RATE_LIMIT": "100000 per minute",
    "LOGIN_MAX_FAILURES": "100000",
}


class ServerError(RuntimeError):
    """gunicorn or the migration before it failed; the message carries their output."""


@dataclass
class Server:
    """A running gunicorn.

    Attributes:
        url: base URL, ``http://127.0.0.1:<port>``.
        database_url: the SQLAlchemy URL the server uses.
        process: the gunicorn master process.
        log_path: file receiving gunicorn's stdout and stderr.
        environment: the environment it was started with (to start it again).
    """

    url: str
    database_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    environment: dict[str, str] = field(default_factory=dict)

    def reload(self) -> None:
        """Send SIGHUP: gunicorn starts new workers and retires the old ones gracefully."""
        self.process.send_signal(signal.SIGHUP)

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the server log."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment(
    database_url: str, port: int, workers: int, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment for ``flask db upgrade`` and gunicorn: private database and key.

    Settings from the caller's shell that could point the server elsewhere are removed.
    """
    env = dict(os.environ)
    for name in ("BIND", "FLASK_APP", "GUNICORN_CMD_ARGS", "SESSION_COOKIE_SECURE"):
        env.pop(name, None)
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=secrets.token_hex(32),
        PORT=str(port),
        WEB_CONCURRENCY=str(workers),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


def flask(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``flask --app webapp ARGS`` with ``env`` from the project root.

    Returns:
        The finished process, with its output as text.

    Raises:
        ServerError: when the command fails.
    """
    return _python(env, f"flask {' '.join(args)}", "-m", "flask", "--app", "webapp", *args)


def _python(env: Mapping[str, str], what: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run this Python with ``args`` and ``env`` from the project root.

    Raises:
        ServerError: naming ``what``, with the output, when it fails.
    """
    result = subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ServerError(f"{what} failed:\n{result.stdout}{result.stderr}")
    return result


#: Creates ``ACCOUNTS`` (given as JSON) through the app's own account service.
_ACCOUNTS_SCRIPT = """
import json, sys
from webapp import create_app
from webapp.models import Role
from webapp.users.service import create_user
with create_app().app_context():
    for role, (email, password) in json.loads(sys.argv[1]).items():
        create_user(email, Role(role), password)
"""


def migrate(env: Mapping[str, str]) -> None:
    """Run ``flask db upgrade`` with ``env``, then create the accounts of ``ACCOUNTS``.

    The accounts are made in one process (one app start instead of three).

    Raises:
        ServerError: when a command fails.
    """
    flask(env, "db", "upgrade")
    _python(env, "creating the accounts", "-c", _ACCOUNTS_SCRIPT, json.dumps(ACCOUNTS))


def wait_until_healthy(server: Server, timeout: float = START_TIMEOUT) -> None:
    """Poll ``/healthz`` until it answers 200.

    Raises:
        ServerError: when gunicorn exits or ``timeout`` seconds pass first.
    """
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerError(
                f"gunicorn exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except urllib.error.HTTPError as error:
            last = f"HTTP {error.code}"
        except OSError as error:
            last = str(error)
        time.sleep(0.1)
    raise ServerError(f"not healthy after {timeout} s ({last}):\n{server.log_tail()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop gunicorn gracefully (SIGTERM), killing it if it does not exit in time."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_gunicorn(environment: Mapping[str, str], log_path: Path) -> Server:
    """Start gunicorn with ``environment`` (from :func:`server_environment`) and wait for it.

    The log is appended to, so a server started again (after a crash) keeps one log.

    Returns:
        The healthy :class:`Server`.

    Raises:
        ServerError: when it does not become healthy; it is stopped then.
    """
    # No control socket: its default path is one per user, and a test server must not
    # take it over from a developer's `make run`.
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--no-control-socket"]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [*command, "webapp:create_app()"],
            cwd=PROJECT_ROOT,
            env=dict(environment),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(
        f"http://127.0.0.1:{environment['PORT']}",
        environment["DATABASE_URL"],
        process,
        log_path,
        dict(environment),
    )
    try:
        wait_until_healthy(server)
    except BaseException:
        stop(process)
        raise
    return server


@contextmanager
def gunicorn_server(
    database_url: str,
    log_path: Path,
    *,
    workers: int = 2,
    env: Mapping[str, str] | None = None,
    prepare: bool = True,
) -> Iterator[Server]:
    """Migrate ``database_url``, add ``ACCOUNTS``, serve it with gunicorn, stop on exit.

    Args:
        database_url: SQLAlchemy URL of a database the caller owns (it is migrated).
        log_path: where gunicorn's output goes.
        workers: gunicorn worker processes.
        env: extra environment, e.g. ``{"FLASK_OPTIMISTIC_LOCKING": "false"}``, over
            ``BENCH_ENVIRONMENT``.
        prepare: migrate and create the accounts first; ``False`` for a second server
            ("another host") on a database a first one prepared.

    Yields:
        The healthy :class:`Server`. A caller that starts gunicorn again (after killing
        it) puts the new process in ``server.process``; that one is stopped on exit.

    Raises:
        ServerError: when the migration or the start fails.
    """
    port = free_port()
    environment = server_environment(
        database_url, port, workers, {**BENCH_ENVIRONMENT, **(env or {})}
    )
    if prepare:
        migrate(environment)
    log_path.unlink(missing_ok=True)
    server = start_gunicorn(environment, log_path)
    try:
        yield server
    finally:
        stop(server.process)
