"""Start the servers the scale benchmark loads: the app and its peers, each under gunicorn.

The app starts as every bench starts it (:func:`bench.server.gunicorn_server`: its own
``gunicorn.conf.py``, 2 workers, the bench settings) on a database already migrated, and
gets an administrator's session cookie (the audit log is the administrators'). The peers
(:mod:`bench.peers`) start with ``gunicorn -w 2`` and an access log, as the app has one.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.client import Client
from bench.server import ACCOUNTS, PROJECT_ROOT, ServerError, free_port, gunicorn_server, stop

#: Sent with every request, at login and under load alike (Flask-Login's session
#: protection compares the client's User-Agent with the one it logged in with).
USER_AGENT = "bench-scale"


@dataclass
class Running:
    """A server under load: its base URL, the headers each request carries, a cheap page."""

    name: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    cheap_path: str = "/"

    def drain(self, requests: int = 8) -> None:
        """Send ``requests`` cheap requests at once and wait for every answer.

        Each waits behind the requests already queued at the server's workers (the
        listen backlog is served in order), so when all have answered the queue that was
        there before them is empty.
        """

        def get() -> None:
            with contextlib.suppress(OSError):
                probe(self, self.cheap_path)

        threads = [threading.Thread(target=get) for _ in range(requests)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def _wait(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(f"{url}: gunicorn exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise ServerError(f"{url} not answering after {timeout} s")


@contextmanager
def peer(
    name: str, module: str, database_url: str, path: str, log: Path, cheap_path: str = ""
) -> Iterator[Running]:
    """Serve ``bench.peers.<module>:app`` on ``database_url`` with ``gunicorn -w 2``.

    Args:
        name: the server's name in the report.
        module: ``"raw"`` or ``"admin"``.
        database_url: ``sqlite:///...`` or ``postgresql://...`` (``PEER_DATABASE_URL``).
        path: a page that must answer 200 before the server counts as started.
        log: gunicorn's output.
        cheap_path: a quick page, for :meth:`Running.drain` (``path`` if empty).
    """
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        f"--config={PROJECT_ROOT / 'bench' / 'peers' / 'gunicorn.conf.py'}",
        f"--bind=127.0.0.1:{port}",
        "--no-control-socket",
        f"bench.peers.{module}:app",
    ]
    env = {**os.environ, "PEER_DATABASE_URL": database_url}
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url + path, process, log)
        yield Running(name, url, {"User-Agent": USER_AGENT}, cheap_path or path)
    finally:
        stop(process)


@contextmanager
def app(name: str, database_url: str, log: Path) -> Iterator[Running]:
    """Serve the app on the migrated ``database_url`` (accounts made) and log in as admin."""
    with gunicorn_server(database_url, log, workers=2, prepare=False) as server:
        client = Client(server.url, timeout=120)
        client.opener.addheaders = [("User-Agent", USER_AGENT)]
        client.login(*ACCOUNTS["admin"])
        cookie = "; ".join(f"{c.name}={c.value}" for c in client.cookies)
        yield Running(name, server.url, {"User-Agent": USER_AGENT, "Cookie": cookie}, "/healthz")


def probe(running: Running, path: str) -> tuple[int, int, float]:
    """GET ``path`` once as the load will; return the status, the body's length, seconds.

    Redirects are not followed (a 302 is reported as such). A page whose worker gave up
    (gunicorn's worker timeout closes the connection) is status 0: it is not loaded.
    """
    client = Client(running.url, timeout=300)
    client.opener.addheaders = list(running.headers.items())
    started = time.perf_counter()
    try:
        reply = client.request(path)
    except (OSError, http.client.HTTPException):
        return 0, 0, time.perf_counter() - started
    return reply.status, len(reply.text), time.perf_counter() - started
