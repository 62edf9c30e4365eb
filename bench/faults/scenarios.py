"""gunicorn processes killed under load: a worker mid-import, workers mid-save, the master.

Each function injects its fault into a running gunicorn (:func:`bench.server.gunicorn_server`)
while a :class:`Workload` writes, and returns a :class:`FaultResult`: figures, and the
problems found (none when the app kept its promise: no acknowledged write lost, nothing
half-written, no 500).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench.client import Client
from bench.faults import imports, processes
from bench.faults.result import FaultResult, kind, started_between
from bench.faults.workload import ACCOUNT, Workload, check_database
from bench.server import Server, start_gunicorn


def _scalar(database_url: str, sql: str) -> Any:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def _workers(server: Server) -> int:
    return int(server.environment["WEB_CONCURRENCY"])


def _port(server: Server) -> int:
    return int(server.environment["PORT"])


@contextmanager
def _saving_workers(database_url: str, master: int) -> Iterator[Callable[[], int | None]]:
    """A probe for the worker in the middle of a save's write transaction, if any.

    SQLite: the worker holding the WAL write lock (a POST holds it from its first
    statement, ``BEGIN IMMEDIATE``, to its commit). PostgreSQL: the worker whose
    connection's backend has a transaction id (it has written, and not committed yet).
    """
    if kind(database_url) == "sqlite":
        path = Path(database_url.removeprefix("sqlite:///"))

        def writer() -> int | None:
            pid = processes.sqlite_writer(path)
            return pid if pid in processes.children(master) else None

        yield writer
        return
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    sql = text(
        "SELECT client_port FROM pg_stat_activity WHERE datname = current_database() "
        "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
    )
    try:
        with engine.connect() as connection:

            def backend() -> int | None:
                for port in connection.execute(sql).scalars():
                    worker = processes.worker_with_local_port(master, port)
                    if worker is not None:
                        return worker
                return None

            yield backend
    finally:
        engine.dispose()


def _poll(probe: Callable[[], int | None], timeout: float) -> int | None:
    """Call ``probe`` until it names a process or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.001)
    return None


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
    if kind(database_url) == "sqlite":
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
    server: Server, *, rows: int = 20_000, clients: int = 4, threshold: int = 1_000_000
) -> FaultResult:
    """SIGKILL the worker applying a CSV import, in the middle of its write transaction.

    A file of ``rows`` new students is uploaded and confirmed (all or nothing) while
    ``clients`` others create and edit students. Once the serving worker's transaction
    has written ``threshold`` bytes, the worker gets SIGKILL. Then the import must have
    left nothing (it never committed); gunicorn must replace the worker; uploading the
    file again must import every row, each with its audit event.
    """
    database_url = server.database_url
    result = FaultResult("worker-kill-import", kind(database_url))
    count_sql = "SELECT count(*) FROM students WHERE email LIKE 'imported-%'"
    content = imports.roster_csv(rows, "imported")
    master = server.process.pid
    workload = Workload(server.url, clients=clients, prefix="imp-load")
    workload.start()
    try:
        importer = Client(server.url, timeout=120, login=ACCOUNT)
        pending = imports.upload(importer, content)
        connection, client_port = imports.send_confirm(importer, pending)
        sent = time.monotonic()
        worker = processes.worker_serving(master, _port(server), client_port)
        if worker is None:
            raise RuntimeError("no worker accepted the confirm")
        with _write_progress(database_url, worker) as progress:
            start = progress()
            while progress() - start < threshold and time.monotonic() - sent < 120:
                time.sleep(0.005)
            written = progress() - start
            processes.kill(worker)
            killed = time.monotonic()
        replaced = _wait_for_replacement(master, worker, _workers(server)) - killed
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
    result.figures.update(
        {
            "rows in the file": f"{rows:,}",
            "killed after": f"{killed - sent:.2f} s, {written / 1e6:.1f} MB into the write",
            "confirm's answer": status or "none (connection closed by the kill)",
            "imported rows after the kill": after_kill,
            "worker replaced after": f"{replaced:.2f} s",
            "same file uploaded again": f"HTTP {retry_status}, {after_retry:,} rows imported",
            "import audit events": f"{events:,}",
        }
    )
    result.report_writes(workload, check_database(database_url, workload))
    result.check_integrity(database_url)
    result.expect(status is None, f"the import answered {status} before the kill")
    result.expect(after_kill == 0, f"{after_kill} rows of the killed import were written")
    result.expect(retry_status == 303 and after_retry == rows, "the import again failed")
    result.expect(events == after_retry, f"{events} import events for {after_retry} rows")
    return result


def worker_kill_saves(
    server: Server, *, duration: float = 30.0, kills: int = 6, clients: int = 8
) -> FaultResult:
    """SIGKILL a worker in the middle of a save, ``kills`` times, while ``clients`` save forms.

    90% of the clients' operations are saves (a new student, or an edit of one they made).
    Each kill hits a worker inside a save's write transaction (:func:`_saving_workers`);
    the kills are spread over ``duration``, each after gunicorn replaced the one before.
    """
    database_url = server.database_url
    result = FaultResult("worker-kill-saves", kind(database_url))
    master, workers = server.process.pid, _workers(server)
    workload = Workload(server.url, clients=clients, write_share=0.9, prefix="save")
    workload.start()
    started = time.monotonic()
    replaced: list[float] = []
    missed = 0
    try:
        with _saving_workers(database_url, master) as saving:
            for number in range(kills):
                time.sleep(
                    max(0.0, started + duration * (number + 1) / (kills + 1) - time.monotonic())
                )
                victim = _poll(saving, timeout=5.0)
                if victim is None:
                    missed += 1
                    continue
                processes.kill(victim)
                killed = time.monotonic()
                replaced.append(_wait_for_replacement(master, victim, workers) - killed)
        time.sleep(max(0.0, started + duration - time.monotonic()))
    finally:
        workload.stop()
    cut = [o for o in workload.outcomes if o.status is None]
    result.figures.update(
        {
            "load": f"{duration:g} s, {clients} clients, {workers} workers",
            "workers killed inside a save's transaction": f"{len(replaced)} of {kills}",
            "new worker forked after": f"{max(replaced, default=0):.2f} s at most",
            "requests cut off by a kill": len(cut),
            "of which saves (POST)": sum(1 for o in cut if o.kind in ("create", "edit")),
        }
    )
    result.report_writes(workload, check_database(database_url, workload))
    result.check_integrity(database_url)
    result.expect(not missed, f"{missed} kills found no worker inside a save")
    return result


def master_kill(
    server: Server,
    *,
    duration: float = 30.0,
    kill_at: float = 10.0,
    orphan_time: float = 3.0,
    clients: int = 8,
) -> FaultResult:
    """SIGKILL the gunicorn master under load, then start gunicorn again (same settings).

    A sync worker checks that its master lives only when no connection is waiting, so
    under steady load the orphaned workers go on serving. After ``orphan_time`` seconds
    they get SIGKILL, as systemd does to the rest of a unit whose main process died
    (``KillMode=mixed`` in docs/deployment.md) before ``Restart=on-failure`` starts it
    again; then gunicorn is started again with the same settings and port, and
    ``server.process`` becomes the new master.
    """
    result = FaultResult("master-kill", kind(server.database_url))
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
        server.process = start_gunicorn(server.environment, server.log_path).process
        back = time.monotonic()
        time.sleep(max(0.0, started + duration - time.monotonic()))
    finally:
        workload.stop()
    result.figures.update(
        {
            "load": f"{duration:g} s, {clients} clients, {_workers(server)} workers",
            f"orphaned workers, {orphan_time:g} s after the master's death": (
                f"{len(serving)} of {len(orphans)} still serving; requests meanwhile: "
                + started_between(workload, killed, orphans_killed)
            ),
            "after SIGKILL to the orphans, serving again in": (
                f"{back - orphans_killed:.2f} s (new master healthy); requests meanwhile: "
                + started_between(workload, orphans_killed, back)
            ),
        }
    )
    result.report_writes(workload, check_database(server.database_url, workload))
    result.check_integrity(server.database_url)
    return result
