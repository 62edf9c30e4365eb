"""The faults, each injected into a live gunicorn while a :class:`Workload` writes.

Every scenario returns a :class:`FaultResult`: figures to report, and the problems
found (empty when the app behaved as promised). The promise, for every fault: no
acknowledged write is lost, nothing is half-written, no answer is a 500.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench.client import Client
from bench.faults import imports, processes
from bench.faults.workload import ACCOUNT, Check, Workload, check_database
from bench.server import Server, gunicorn_server, start_gunicorn
from webapp.backup.sqlite import integrity_problems

#: gunicorn's worker timeout (gunicorn.conf.py): no request may hang longer.
WORKER_TIMEOUT = 30.0


@dataclass
class FaultResult:
    """What one fault run measured.

    Attributes:
        fault: the fault's name (``worker-kill-import``, ...).
        database: ``sqlite`` or ``postgresql``.
        figures: label to value, in the order to report them.
        problems: broken promises; empty when the run passed.
    """

    fault: str
    database: str
    figures: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether no promise was broken."""
        return not self.problems

    def expect(self, condition: bool, problem: str) -> None:
        """Record ``problem`` unless ``condition`` holds."""
        if not condition:
            self.problems.append(problem)


def _kind(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


def _statuses(workload: Workload, since: float = 0.0, until: float = float("inf")) -> str:
    counts = workload.statuses(since, until)
    return ", ".join(f"{status}: {n:,}" for status, n in sorted(counts.items())) or "none"


def _report_writes(result: FaultResult, workload: Workload, check: Check) -> None:
    """Add the figures and promises every scenario shares."""
    result.figures["requests"] = f"{len(workload.outcomes):,} ({_statuses(workload)})"
    result.figures["longest request"] = f"{workload.longest():.2f} s"
    result.figures["writes acknowledged"] = (
        f"{check.creates_checked:,} creates, {check.edits_checked:,} edits"
    )
    result.figures["acknowledged writes lost"] = check.lost
    result.figures["students half-written"] = len(check.half_written)
    errors = workload.server_errors()
    result.figures["500 answers"] = len(errors)
    result.expect(check.lost == 0, f"acknowledged writes lost: {check.lost}")
    result.expect(not check.half_written, f"half-written: {check.half_written[:5]}")
    result.expect(not errors, f"{len(errors)} answers of 500 or more other than 503")
    result.expect(workload.longest() < WORKER_TIMEOUT, f"a request took {workload.longest():.1f} s")
    result.expect(check.creates_checked > 0, "no write was acknowledged at all")


def _integrity(result: FaultResult, database_url: str) -> None:
    if _kind(database_url) == "sqlite":
        problems = integrity_problems(Path(database_url.removeprefix("sqlite:///")))
        result.figures["integrity_check"] = "; ".join(problems[:3]) or "ok"
        result.expect(not problems, f"integrity_check: {problems[:3]}")


def _scalar(database_url: str, sql: str) -> Any:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def _wait_for_workers(master: int, count: int, timeout: float = 30.0) -> float:
    """Seconds until ``master`` has ``count`` workers again."""
    started = time.monotonic()
    while len(processes.children(master)) < count and time.monotonic() - started < timeout:
        time.sleep(0.05)
    return time.monotonic() - started


def _wait_for_replacement(master: int, killed: int, count: int, timeout: float = 30.0) -> float:
    """Wait until ``master`` has ``count`` workers, none of them ``killed``; return when."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers = processes.children(master)
        if len(workers) >= count and killed not in workers:
            break
        time.sleep(0.01)
    return time.monotonic()


@contextmanager
def _write_progress(database_url: str, worker: int) -> Iterator[Callable[[], int]]:
    """A gauge of how far the serving worker's write transaction has got, in bytes.

    SQLite: the bytes the worker wrote (pages spilled to the WAL before the commit).
    PostgreSQL: the growth of the two tables' files (pages added by uncommitted rows);
    ``/proc/<pid>/io`` does not count the worker's socket writes.
    """
    if _kind(database_url) == "sqlite":
        yield lambda: processes.written_bytes(worker)
        return
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    sql = text("SELECT pg_relation_size('students') + pg_relation_size('audit_events')")
    try:
        with engine.connect() as connection:
            yield lambda: int(connection.execute(sql).scalar() or 0)
    finally:
        engine.dispose()


def worker_kill_import(
    database_url: str,
    folder: Path,
    *,
    rows: int = 20_000,
    clients: int = 4,
    workers: int = 2,
    threshold: int = 1_000_000,
) -> FaultResult:
    """SIGKILL the worker applying a CSV import, in the middle of its write transaction.

    A file of ``rows`` new students is uploaded and confirmed (all or nothing) while
    ``clients`` others create and edit students. Once the serving worker's transaction
    has written ``threshold`` bytes, the worker gets SIGKILL. Then the import must have
    left nothing (it never committed); gunicorn must replace the worker; uploading the
    file again must import every row.
    """
    result = FaultResult("worker-kill-import", _kind(database_url))
    count_sql = "SELECT count(*) FROM students WHERE email LIKE 'imported-%'"
    content = imports.roster_csv(rows, "imported")
    with gunicorn_server(database_url, folder / "gunicorn.log", workers=workers) as server:
        master, port = server.process.pid, int(server.environment["PORT"])
        workload = Workload(server.url, clients=clients, prefix="imp-load")
        workload.start()
        try:
            importer = Client(server.url, timeout=120, login=ACCOUNT)
            pending = imports.upload(importer, content)
            connection, client_port = imports.send_confirm(importer, pending)
            sent = time.monotonic()
            worker = processes.worker_serving(master, port, client_port)
            if worker is None:
                raise RuntimeError("no worker accepted the confirm")
            with _write_progress(database_url, worker) as progress:
                start = progress()
                while progress() - start < threshold and time.monotonic() - sent < 120:
                    time.sleep(0.005)
                written = progress() - start
                processes.kill(worker)
                killed_at = time.monotonic()
            replaced = _wait_for_replacement(master, worker, workers) - killed_at
            status = imports.answer(connection)
            after_kill = _scalar(database_url, count_sql)
            again = imports.upload(importer, content)
            retry, _ = imports.send_confirm(importer, again)
            retry_status = imports.answer(retry)
            after_retry = _scalar(database_url, count_sql)
        finally:
            workload.stop()
    events = _scalar(
        database_url,
        "SELECT count(*) FROM audit_events WHERE student_name LIKE 'Imported Student %'",
    )
    check = check_database(database_url, workload)
    result.figures.update(
        {
            "rows in the file": f"{rows:,}",
            "killed after": f"{killed_at - sent:.2f} s, {written / 1e6:.1f} MB into the write",
            "confirm's answer": status or "none (connection closed by the kill)",
            "imported rows after the kill": after_kill,
            "worker replaced after": f"{replaced:.2f} s",
            "same file uploaded again": f"HTTP {retry_status}, {after_retry:,} rows imported",
            "import audit events": f"{events:,}",
        }
    )
    _report_writes(result, workload, check)
    _integrity(result, database_url)
    result.expect(status is None, f"the import answered {status} before the kill")
    result.expect(after_kill == 0, f"{after_kill} rows of the killed import were written")
    result.expect(retry_status == 303 and after_retry == rows, "the import again failed")
    result.expect(events == after_retry, f"{events} import events for {after_retry} rows")
    return result


def worker_kill_saves(
    database_url: str,
    folder: Path,
    *,
    duration: float = 20.0,
    kills: int = 5,
    clients: int = 8,
    workers: int = 2,
) -> FaultResult:
    """SIGKILL a busy worker ``kills`` times while ``clients`` create and edit students."""
    result = FaultResult("worker-kill-saves", _kind(database_url))
    rng = random.Random(16)
    with gunicorn_server(database_url, folder / "gunicorn.log", workers=workers) as server:
        master = server.process.pid
        workload = Workload(server.url, clients=clients, write_share=0.8, prefix="save")
        workload.start()
        started = time.monotonic()
        try:
            for number in range(kills):
                time.sleep(
                    max(0.0, started + duration * (number + 1) / (kills + 1) - time.monotonic())
                )
                processes.kill(rng.choice(processes.children(master)))
            time.sleep(max(0.0, started + duration - time.monotonic()))
        finally:
            workload.stop()
        _wait_for_workers(master, workers)
    check = check_database(database_url, workload)
    cut = [o for o in workload.outcomes if o.status is None]
    result.figures.update(
        {
            "duration": f"{duration:g} s, {clients} clients, {workers} workers",
            "workers killed": kills,
            "requests cut off by a kill": len(cut),
            "saves cut off by a kill": sum(1 for o in cut if o.kind in ("create", "edit")),
        }
    )
    _report_writes(result, workload, check)
    _integrity(result, database_url)
    result.expect(len(cut) > 0, "no request was cut off: the kills hit idle workers")
    return result


def master_kill(
    database_url: str,
    folder: Path,
    *,
    duration: float = 20.0,
    kill_at: float = 6.0,
    clients: int = 8,
    workers: int = 2,
) -> FaultResult:
    """SIGKILL the gunicorn master under load, then start gunicorn again (same settings).

    The orphaned workers finish their request and exit when they see their parent gone;
    gunicorn is started again once they have (the port is free).
    """
    result = FaultResult("master-kill", _kind(database_url))
    with gunicorn_server(database_url, folder / "gunicorn.log", workers=workers) as server:
        workload = Workload(server.url, clients=clients, write_share=0.5, prefix="master")
        workload.start()
        started = time.monotonic()
        try:
            time.sleep(kill_at)
            orphans = processes.children(server.process.pid)
            processes.kill(server.process.pid)
            killed = time.monotonic()
            server.process.wait()
            while any(map(processes.is_running, orphans)) and time.monotonic() - killed < 60:
                time.sleep(0.05)
            orphans_left = time.monotonic() - killed
            still = [pid for pid in orphans if processes.is_running(pid)]
            for pid in still:
                processes.kill(pid)
            restarted: Server = start_gunicorn(server.environment, server.log_path)
            server.process = restarted.process
            back = time.monotonic() - killed
            time.sleep(max(0.0, started + duration - time.monotonic()))
        finally:
            workload.stop()
    check = check_database(database_url, workload)
    result.figures.update(
        {
            "duration": f"{duration:g} s, {clients} clients, {workers} workers",
            "orphaned workers exited after": f"{orphans_left:.2f} s"
            + (f" ({len(still)} killed)" if still else " (by themselves)"),
            "serving again after": f"{back:.2f} s (new master healthy)",
            "requests while down": _statuses(workload, killed, killed + back),
        }
    )
    _report_writes(result, workload, check)
    _integrity(result, database_url)
    return result
