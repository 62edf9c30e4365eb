"""The database going away under load: PostgreSQL restarted, SQLite's disk full.

Like :mod:`bench.faults.scenarios`, each function injects its fault into a running
gunicorn while a :class:`Workload` writes and returns a :class:`FaultResult`.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from bench.faults import processes
from bench.faults.result import FaultResult, count
from bench.faults.workload import Workload, check_database
from bench.server import Server
from tests.postgres import PostgresServer

#: Seconds within which the app must serve again once the database is back.
RECOVERY_LIMIT = 5.0


def _recovery(workload: Workload, since: float) -> tuple[float | None, float]:
    """After ``since``: seconds to the first good write, and to the end of the last failure.

    A failure is a 503 or a request without an answer.
    """
    good = [
        o.ended
        for o in workload.outcomes
        if o.ended >= since and o.kind in ("create", "edit") and o.status == 302
    ]
    failed = [o.ended for o in workload.outcomes if o.ended >= since and o.status in (None, 503)]
    first_good = min(good) - since if good else None
    return first_good, max(failed, default=since) - since


def postgres_restart(
    postgres: PostgresServer,
    server: Server,
    *,
    duration: float = 30.0,
    restart_at: float = 10.0,
    down_for: float = 0.0,
    clients: int = 8,
) -> FaultResult:
    """``pg_ctl restart -m fast`` of the database server under mixed load.

    With ``down_for``, the server is stopped (``-m fast``), stays down that many seconds,
    and is started again: a slow restart or a failover, during which every request
    needs an answer.

    Promised: 503 with ``Retry-After`` while it is down (never a 500, never a hang), the
    first write acknowledged within 5 s of its return and no failure after that, and the
    same gunicorn workers throughout (``pool_pre_ping`` replaces the dead connections).

    Args:
        postgres: the (throwaway) server holding ``server``'s database, to restart.
        server: gunicorn serving a database on it.
    """
    result = FaultResult("postgres-down" if down_for else "postgres-restart", "postgresql")
    master = server.process.pid
    before = processes.children(master)
    workload = Workload(server.url, clients=clients, write_share=0.3, prefix="restart")
    workload.start()
    started = time.monotonic()
    try:
        time.sleep(restart_at)
        down = time.monotonic()
        postgres.restart("fast", down_for)
        up = time.monotonic()
        time.sleep(max(0.0, started + duration - time.monotonic()))
    finally:
        workload.stop()
    after = processes.children(master)
    boots = server.log_path.read_text(errors="replace").count("Booting worker")
    window = [o for o in workload.outcomes if o.ended >= down and o.started <= up]
    unavailable = [o for o in window if o.status == 503]
    first_good, last_failure = _recovery(workload, up)
    workers = int(server.environment["WEB_CONCURRENCY"])
    result.figures.update(
        {
            "load": f"{duration:g} s, {clients} clients (30% writes), {workers} workers",
            "server down": f"{up - down:.2f} s ("
            + ("pg_ctl restart -m fast" if not down_for else f"stop -m fast, {down_for:g} s, start")
            + ")",
            "requests overlapping the restart": count(window),
            "503 answers with Retry-After": f"{sum(1 for o in unavailable if o.retry_after)} "
            f"of {len(unavailable)}",
            "first acknowledged write after the server was back": (
                f"{first_good:.2f} s" if first_good is not None else "none"
            ),
            "last failed request ended, after the server was back": f"{last_failure:.2f} s",
            "gunicorn workers": f"{len(before)} before, {len(after)} after, the same "
            f"processes: {before == after}; workers started in all: {boots}",
        }
    )
    result.report_writes(workload, check_database(server.database_url, workload))
    if down_for:
        result.expect(bool(unavailable), "no request met the outage: the fault did not bite")
    result.expect(all(o.retry_after for o in unavailable), "a 503 without Retry-After")
    result.expect(
        not [o for o in window if o.status is None], "requests without answer during restart"
    )
    result.expect(
        first_good is not None and first_good < RECOVERY_LIMIT,
        f"no write within {RECOVERY_LIMIT:g} s of the return",
    )
    result.expect(
        last_failure < RECOVERY_LIMIT, f"failures went on {last_failure:.1f} s after the return"
    )
    result.expect(before == after and boots == workers, "a worker was restarted")
    return result


@contextmanager
def database_on_small_disk(folder: Path, size: int = 24 * 2**20) -> Iterator[str]:
    """Mount a tmpfs of ``size`` bytes in ``folder`` and yield a SQLite URL on it."""
    with processes.small_disk(folder / "disk", size) as disk:
        yield f"sqlite:///{disk}/students.db"


def _page_message(page: str) -> str:
    """The heading and first paragraph of an error page, as text."""
    found = re.search(r"<h1[^>]*>(.*?)</h1>.*?<p[^>]*>(.*?)</p>", page, re.S)
    return " / ".join(" ".join(part.split()) for part in found.groups()) if found else "none"


def disk_full(
    server: Server,
    *,
    full_for: float = 10.0,
    before: float = 5.0,
    after: float = 10.0,
    clients: int = 8,
) -> FaultResult:
    """Fill the disk holding the SQLite database while ``clients`` write, then free it.

    ``server`` serves a database on a small disk of its own (:func:`database_on_small_disk`).
    After ``before`` seconds of load the WAL is checkpointed and truncated (so that every
    further commit needs new space: a WAL that is already long would take commits in the
    space it has until its next checkpoint), and a file fills the rest of the disk;
    ``full_for`` seconds later the file is deleted, and the load goes on ``after`` seconds.
    """
    result = FaultResult("disk-full", "sqlite")
    database = Path(server.database_url.removeprefix("sqlite:///"))
    disk = database.parent
    workload = Workload(server.url, clients=clients, write_share=0.5, prefix="disk")
    workload.start()
    try:
        time.sleep(before)
        with closing(sqlite3.connect(database, timeout=10)) as connection:
            busy = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        full = time.monotonic()
        filler = processes.fill_disk(disk)
        filled = time.monotonic()
        time.sleep(full_for)
        filler.unlink()
        freed = time.monotonic()
        time.sleep(after)
    finally:
        workload.stop()
    during = [o for o in workload.outcomes if filled <= o.started < freed]
    writes = [o for o in during if o.kind in ("create", "edit")]
    first_good, _ = _recovery(workload, freed)
    result.figures.update(
        {
            "full disk": f"filled in {filled - full:.2f} s, full for {full_for:g} s, "
            f"after a WAL checkpoint (TRUNCATE){' that found the WAL busy' if busy else ''}",
            "saves while full": count(writes),
            "reads while full": count(o for o in during if o.kind in ("list", "detail")),
            "the 503 page says": _page_message(workload.error_pages.get(503, "")),
            "first acknowledged write after freeing the space": (
                f"{first_good:.2f} s" if first_good is not None else "none"
            ),
        }
    )
    result.report_writes(workload, check_database(server.database_url, workload))
    result.check_integrity(server.database_url)
    result.expect(any(o.status == 503 for o in writes), "no save met the full disk")
    result.expect(first_good is not None, "no write succeeded after the space was freed")
    return result
