"""The faults, each injected into a live gunicorn while a :class:`Workload` writes.

Every scenario returns a :class:`FaultResult`: figures to report, and the problems
found (empty when the app behaved as promised). The promise, for every fault: no
acknowledged write is lost, nothing is half-written, no answer is a 500.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench.client import Client
from bench.faults import imports, processes
from bench.faults.workload import ACCOUNT, Check, Outcome, Workload, check_database
from bench.server import Server, gunicorn_server, start_gunicorn
from tests.postgres import PostgresServer
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


def _count(outcomes: Iterable[Outcome]) -> str:
    """``"200: 5, 503: 2"``: the outcomes by status (``no answer`` for a broken connection)."""
    counts = Counter(str(o.status) if o.status is not None else "no answer" for o in outcomes)
    return ", ".join(f"{status}: {n:,}" for status, n in sorted(counts.items())) or "none"


def _statuses(workload: Workload, since: float = 0.0, until: float = float("inf")) -> str:
    return _count(o for o in workload.outcomes if since <= o.started < until)


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


def _busy_worker(master: int, port: int, rng: random.Random, timeout: float = 5.0) -> int:
    """A worker serving a request now (waiting up to ``timeout`` s for one), else any."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = processes.busy_workers(master, port)
        if busy:
            return rng.choice(busy)
        time.sleep(0.001)
    return rng.choice(processes.children(master))


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
        master, port = server.process.pid, int(server.environment["PORT"])
        workload = Workload(server.url, clients=clients, write_share=0.8, prefix="save")
        workload.start()
        started = time.monotonic()
        try:
            for number in range(kills):
                time.sleep(
                    max(0.0, started + duration * (number + 1) / (kills + 1) - time.monotonic())
                )
                processes.kill(_busy_worker(master, port, rng))
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
    orphan_time: float = 3.0,
    clients: int = 8,
    workers: int = 2,
) -> FaultResult:
    """SIGKILL the gunicorn master under load, then start gunicorn again (same settings).

    A sync worker checks that its master lives only when no connection is waiting, so
    under steady load the orphaned workers go on serving. After ``orphan_time`` seconds
    they get SIGKILL, as systemd does to the rest of a unit whose main process died
    (``KillMode=mixed`` in docs/deployment.md) before ``Restart=on-failure`` starts it
    again; then gunicorn is started again with the same settings and port.
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
            time.sleep(orphan_time)
            serving = [pid for pid in orphans if processes.is_running(pid)]
            for pid in orphans:
                processes.kill(pid)
            orphans_killed = time.monotonic()
            restarted: Server = start_gunicorn(server.environment, server.log_path)
            server.process = restarted.process
            back = time.monotonic()
            time.sleep(max(0.0, started + duration - time.monotonic()))
        finally:
            workload.stop()
    check = check_database(database_url, workload)
    result.figures.update(
        {
            "duration": f"{duration:g} s, {clients} clients, {workers} workers",
            f"orphaned workers, {orphan_time:g} s after the master's death": (
                f"{len(serving)} of {len(orphans)} still serving; answers meanwhile: "
                + _statuses(workload, killed, orphans_killed)
            ),
            "after SIGKILL to the orphans, serving again in": (
                f"{back - orphans_killed:.2f} s (new master healthy); answers meanwhile: "
                + _statuses(workload, orphans_killed, back)
            ),
        }
    )
    _report_writes(result, workload, check)
    _integrity(result, database_url)
    return result


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
    server: PostgresServer,
    folder: Path,
    *,
    duration: float = 30.0,
    restart_at: float = 10.0,
    clients: int = 8,
    workers: int = 2,
) -> FaultResult:
    """``pg_ctl restart -m fast`` of the server under ``duration`` seconds of mixed load.

    Args:
        server: a throwaway PostgreSQL server these runs started (durable settings), to
            restart; a new database on it is served.
    """
    result = FaultResult("postgres-restart", "postgresql")
    database_url = server.create_database(server.new_name("faults"))
    with gunicorn_server(database_url, folder / "gunicorn.log", workers=workers) as app:
        master = app.process.pid
        before = processes.children(master)
        workload = Workload(app.url, clients=clients, write_share=0.3, prefix="restart")
        workload.start()
        started = time.monotonic()
        try:
            time.sleep(restart_at)
            down = time.monotonic()
            server.restart("fast")
            up = time.monotonic()
            time.sleep(max(0.0, started + duration - time.monotonic()))
        finally:
            workload.stop()
        after = processes.children(master)
    boots = app.log_path.read_text(errors="replace").count("Booting worker")
    check = check_database(database_url, workload)
    window = [o for o in workload.outcomes if o.ended >= down and o.started <= up]
    unavailable = [o for o in window if o.status == 503]
    first_good, last_failure = _recovery(workload, up)
    result.figures.update(
        {
            "duration": f"{duration:g} s, {clients} clients (30% writes), {workers} workers",
            "server down (pg_ctl restart -m fast)": f"{up - down:.2f} s",
            "answers overlapping the restart": _count(window),
            "503 answers with Retry-After": f"{sum(1 for o in unavailable if o.retry_after)} "
            f"of {len(unavailable)}",
            "first acknowledged write after the server was back": (
                f"{first_good:.2f} s" if first_good is not None else "none"
            ),
            "last failed request ended, after the server was back": f"{last_failure:.2f} s",
            "workers": f"{len(before)} before, {len(after)} after, same processes: "
            f"{before == after}; workers booted in all: {boots}",
        }
    )
    _report_writes(result, workload, check)
    result.expect(bool(unavailable), "no request met the restart: the fault did not bite")
    result.expect(all(o.retry_after for o in unavailable), "a 503 without Retry-After")
    result.expect(
        not [o for o in window if o.status is None], "requests without answer during restart"
    )
    result.expect(first_good is not None and first_good < 5, "no write within 5 s after")
    result.expect(last_failure < 5, f"failures went on {last_failure:.1f} s after the return")
    result.expect(before == after and boots == workers, "a worker was restarted")
    return result


def disk_full(
    folder: Path,
    *,
    size: int = 24 * 1024 * 1024,
    full_for: float = 5.0,
    before: float = 4.0,
    after: float = 5.0,
    clients: int = 8,
    workers: int = 2,
) -> FaultResult:
    """Fill the disk holding the SQLite database while ``clients`` write, then free it.

    The database lives on a tmpfs of ``size`` bytes mounted for the run (root only).
    After ``before`` seconds of load a file fills the rest of it; ``full_for`` seconds
    later the file is deleted, and the load goes on ``after`` seconds more.
    """
    result = FaultResult("disk-full", "sqlite")
    with processes.small_disk(folder / "disk", size) as disk:
        database_url = f"sqlite:///{disk}/students.db"
        with gunicorn_server(database_url, folder / "gunicorn.log", workers=workers) as app:
            workload = Workload(app.url, clients=clients, write_share=0.5, prefix="disk")
            workload.start()
            try:
                time.sleep(before)
                full = time.monotonic()
                filler = processes.fill_disk(disk)
                filled = time.monotonic()
                time.sleep(full_for)
                filler.unlink()
                freed = time.monotonic()
                time.sleep(after)
            finally:
                workload.stop()
        check = check_database(database_url, workload)
        _integrity(result, database_url)
    during = [o for o in workload.outcomes if filled <= o.started < freed]
    writes = [o for o in during if o.kind in ("create", "edit")]
    first_good, _ = _recovery(workload, freed)
    page = workload.error_pages.get(503, "")
    result.figures.update(
        {
            "disk": f"tmpfs of {size / 2**20:g} MiB, filled in {filled - full:.2f} s, "
            f"full for {full_for:g} s",
            "writes while full": _count(writes),
            "reads while full": _count(o for o in during if o.kind in ("list", "detail")),
            "the 503 page says": _page_message(page),
            "first acknowledged write after freeing": (
                f"{first_good:.2f} s" if first_good is not None else "none"
            ),
        }
    )
    _report_writes(result, workload, check)
    result.expect(any(o.status == 503 for o in writes), "no write met the full disk")
    result.expect(first_good is not None, "no write succeeded after the space was freed")
    return result


def _page_message(page: str) -> str:
    """The heading and first paragraph of an error page, as text."""
    texts = re.findall(r"<h1[^>]*>(.*?)</h1>.*?<p[^>]*>(.*?)</p>", page, re.S)
    return " / ".join(" ".join(t.split()) for t in texts[0]) if texts else "(no page)"
