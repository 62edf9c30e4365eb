"""Bounded mixed load against gunicorn: 90% reads, 10% writes, many concurrent clients.

Each client is one browser session (own cookies, CSRF token from the forms) looping until
the deadline over: roster pages (random sort and page), searches, detail pages, and
writes (creating a student, or editing one through its form). Traffic goes to
127.0.0.1 only and stops by itself. Checked afterwards: no answer of 500 or more, no
failed request (connection refused or reset), and every student whose creation got a
success answer exists in the database. With ``--hup N``, gunicorn is sent SIGHUP N times
during the run (a graceful reload, as on a deploy), and still no request may fail.

Full runs (60 s, 32 clients, gunicorn with 2 workers on SQLite; then with two HUPs)::

    .venv/bin/python -m bench.load --duration 60 --clients 32 --workers 2
    .venv/bin/python -m bench.load --duration 60 --clients 32 --workers 2 --hup 2

Each appends a section to ``bench/results/load.md``. ``tests/test_live_server.py`` runs
a short version under ``make test``.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.client import Client, Reply
from bench.server import (
    ACCOUNT_EMAIL,
    ACCOUNT_PASSWORD,
    PROJECT_ROOT,
    flask,
    gunicorn_server,
    server_environment,
)

ACCOUNT = (ACCOUNT_EMAIL, ACCOUNT_PASSWORD)
RESULTS = PROJECT_ROOT / "bench" / "results" / "load.md"
SEARCH_TERMS = ["an", "smith", "mar", "example", "jo", "lee", "zz", "o", "ch", "el"]
SORTS = ["name", "-name", "email", "grade", "-grade", "birthday", "-enrolled_on"]


@dataclass
class LoadResult:
    """Outcome of a load run."""

    duration: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    operations: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    created_emails: list[str] = field(default_factory=list)
    missing_after: int = 0
    latencies: list[float] = field(default_factory=list)

    @property
    def requests(self) -> int:
        """Answers received."""
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        """Answers with a status of 500 or more."""
        return sum(n for code, n in self.statuses.items() if code >= 500)

    def percentile(self, fraction: float) -> float:
        """Latency at ``fraction`` (0..1) in milliseconds."""
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


def seed(database_url: str, count: int) -> None:
    """Add ``count`` demo students with ``flask students seed``."""
    env = server_environment(database_url, port=0, workers=1)
    flask(env, "students", "seed", "-n", str(count), "--seed", "1")


def _create(client: Client, rng: random.Random, name: str, email: str) -> Reply:
    token, _ = client.form("/students/new")
    data = {
        "csrf_token": token,
        "name": name,
        "email": email,
        "grade": str(rng.randint(1, 12)),
        "enrolled_on": "",
    }
    return client.request("/students/new", data)


def _edit(client: Client, rng: random.Random, student: int, name: str) -> Reply:
    path = f"/students/{student}/edit"
    token, version = client.form(path)
    data = {
        "csrf_token": token,
        "version": str(version),
        "name": name,
        "email": "",
        "grade": str(rng.randint(1, 12)),
        "birthday": "",
        "enrolled_on": "2020-09-01",
    }
    return client.request(path, data)


def _client_loop(
    base_url: str,
    number: int,
    deadline: float,
    max_id: int,
    result: LoadResult,
    lock: threading.Lock,
) -> None:
    """One simulated user: a random mix of requests until ``deadline``.

    The first request creates a student, so that every run, however short or slow,
    checks that created students are kept.
    """
    rng = random.Random(number)
    try:
        client = Client(base_url, login=ACCOUNT)
    except (OSError, LookupError, PermissionError) as error:
        with lock:
            result.failures.append(f"login: {error}")
        return
    serial = 0

    def record(kind: str, call: Callable[..., Reply], *args: object) -> Reply | None:
        started = time.perf_counter()
        try:
            reply = call(*args)
        except (OSError, LookupError) as error:
            with lock:
                result.failures.append(f"{kind}: {error}")
            return None
        with lock:
            result.latencies.append(time.perf_counter() - started)
            result.operations[kind] += 1
            result.statuses[reply.status] += 1
        return reply

    while time.monotonic() < deadline:
        roll = rng.random() if serial else 0.92  # the first request: a create
        serial += 1
        if roll < 0.40:
            path = f"/students/?sort={rng.choice(SORTS)}&page={rng.randint(1, 20)}"
            record("list", client.request, path)
        elif roll < 0.65:
            record("search", client.request, f"/students/?q={rng.choice(SEARCH_TERMS)}")
        elif roll < 0.90:
            record("detail", client.request, f"/students/{rng.randint(1, max_id)}")
        elif roll < 0.95:
            email = f"load-{number}-{serial}@example.org"
            reply = record("create", _create, client, rng, f"Load Client {number} {serial}", email)
            if reply is not None and reply.status == 302:
                with lock:
                    result.created_emails.append(email)
        else:
            student = rng.randint(1, max_id)
            record("edit", _edit, client, rng, student, f"Edited {number}-{serial}")


def run_load(
    base_url: str,
    database_url: str,
    *,
    duration: float,
    clients: int,
    max_id: int,
    reload=None,
    hups: int = 0,
) -> LoadResult:
    """Drive ``clients`` concurrent sessions for ``duration`` seconds.

    Args:
        base_url: the server.
        database_url: its database, to check the created students afterwards.
        duration: seconds of load.
        clients: concurrent sessions (threads).
        max_id: highest student id to pick for detail and edit requests.
        reload: called ``hups`` times, evenly spread, during the run (gunicorn SIGHUP).
        hups: how many reloads.

    Returns:
        The :class:`LoadResult`, including ``missing_after``: created students not found.
    """
    result = LoadResult()
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + duration
    threads = [
        threading.Thread(target=_client_loop, args=(base_url, n, deadline, max_id, result, lock))
        for n in range(clients)
    ]
    for thread in threads:
        thread.start()
    for index in range(hups):
        time.sleep(max(0.0, started + duration * (index + 1) / (hups + 1) - time.monotonic()))
        if reload is not None:
            reload()
    for thread in threads:
        thread.join()
    result.duration = time.monotonic() - started

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            found = set(
                connection.execute(
                    text("SELECT email FROM students WHERE email LIKE 'load-%'")
                ).scalars()
            )
    finally:
        engine.dispose()
    result.missing_after = len(set(result.created_emails) - found)
    return result


def run(
    database_url: str,
    log_path: Path,
    *,
    duration: float,
    clients: int,
    workers: int,
    hups: int = 0,
    students: int = 1000,
) -> LoadResult:
    """Seed, start gunicorn, run the load, stop gunicorn."""
    with gunicorn_server(database_url, log_path, workers=workers) as server:
        seed(database_url, students)
        return run_load(
            server.url,
            database_url,
            duration=duration,
            clients=clients,
            max_id=students,
            reload=server.reload,
            hups=hups,
        )


def main() -> None:
    """Run one load test and append its figures to ``bench/results/load.md``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--hup", type=int, default=0, help="SIGHUPs sent during the run")
    parser.add_argument("--students", type=int, default=1000, help="seeded first")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        result = run(
            f"sqlite:///{folder}/students.db",
            Path(folder) / "gunicorn.log",
            duration=args.duration,
            clients=args.clients,
            workers=args.workers,
            hups=args.hup,
            students=args.students,
        )
    command = (
        f".venv/bin/python -m bench.load --duration {args.duration:g} "
        f"--clients {args.clients} --workers {args.workers}"
        + (f" --hup {args.hup}" if args.hup else "")
    )
    ops = ", ".join(f"{kind} {n:,}" for kind, n in sorted(result.operations.items()))
    statuses = ", ".join(f"{code}: {n:,}" for code, n in sorted(result.statuses.items()))
    section = [
        f"## {args.clients} clients, {args.workers} workers, SQLite"
        + (f", {args.hup} × SIGHUP" if args.hup else ""),
        "",
        f"Command: `{command}`, run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on the 2-core "
        "development machine (client and server share it).",
        "",
        f"- requests answered: {result.requests:,} in {result.duration:.1f} s "
        f"({result.requests / result.duration:,.0f}/s); operations: {ops}",
        f"- statuses: {statuses}",
        f"- latency: median {result.percentile(0.5):.0f} ms, "
        f"p95 {result.percentile(0.95):.0f} ms, p99 {result.percentile(0.99):.0f} ms",
        f"- server errors (>= 500): {result.server_errors}; failed requests (connection "
        f"errors): {len(result.failures)}",
        f"- students created with a success answer: {len(result.created_emails):,}; "
        f"missing afterwards: {result.missing_after}",
        "",
    ]
    if not RESULTS.exists():
        RESULTS.write_text("# Load test\n\n", encoding="utf-8")
    with RESULTS.open("a", encoding="utf-8") as handle:
        handle.write("\n".join(section) + "\n")
    print("\n".join(section))
    for failure in result.failures[:10]:
        print("failure:", failure)
    ok = not result.server_errors and not result.failures and not result.missing_after
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
