"""The restore drill of ``docs/backups.md``, run against a live gunicorn under writes.

Steps, as an operator follows them: back up while the app serves concurrent writers
(``flask backup create``), verify the backup (``flask backup verify``), restore it into a
new database (``flask backup restore --to``), serve the restored database with gunicorn
and ask ``/healthz``. Then every write acknowledged before the backup began must be in
the restored database.
"""

from __future__ import annotations

import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.faults.workload import Check, Workload, check_database
from bench.server import flask, gunicorn_server, start_gunicorn, stop
from webapp.backup.files import NAME


@dataclass(frozen=True)
class DrillResult:
    """Figures of one drill.

    Attributes:
        backup: the backup file.
        backup_seconds: how long ``flask backup create`` took, under load.
        verify_seconds: ``flask backup verify``.
        restore_seconds: ``flask backup restore``.
        acknowledged_before: writes acknowledged before the backup began.
        acknowledged_during: writes acknowledged while it ran (may or may not be in it).
        check: the acknowledged-before writes looked for in the restored database.
        healthz: ``/healthz`` status of gunicorn serving the restored database.
        outputs: the three commands' output.
    """

    backup: Path
    backup_seconds: float
    verify_seconds: float
    restore_seconds: float
    acknowledged_before: int
    acknowledged_during: int
    check: Check
    healthz: int
    outputs: list[str]


def _timed(env: dict[str, str], *args: str) -> tuple[float, str]:
    started = time.monotonic()
    result = flask(env, *args)
    return time.monotonic() - started, result.stdout


def run_drill(
    database_url: str,
    restore_url: str,
    folder: Path,
    *,
    clients: int = 8,
    warm_up: float = 2.0,
    min_writes: int = 0,
    after: float = 1.0,
    workers: int = 2,
) -> DrillResult:
    """Serve ``database_url``, write to it, back it up, restore into ``restore_url``.

    Args:
        database_url: an empty database the drill may migrate and write to.
        restore_url: a new, empty database (SQLite: a file that does not exist yet;
            PostgreSQL: a database created empty).
        folder: where the backups and logs go.
        clients: concurrent writers.
        warm_up: seconds of writes before the backup starts...
        min_writes: ... and at least this many acknowledged (waiting up to a minute more).
        after: seconds the writers go on after the backup ends.
        workers: gunicorn workers.

    Raises:
        bench.server.ServerError: when a command fails (its output is in the message).
    """
    folder.mkdir(parents=True, exist_ok=True)
    backups = folder / "backups"
    with gunicorn_server(database_url, folder / "gunicorn.log", workers=workers) as server:
        workload = Workload(server.url, clients=clients, write_share=0.8, prefix="drill")
        workload.start()
        try:
            time.sleep(warm_up)
            deadline = time.monotonic() + 60
            while workload.writes_acknowledged() < min_writes and time.monotonic() < deadline:
                time.sleep(0.1)
            began = time.monotonic()
            backup_seconds, created = _timed(
                server.environment, "backup", "create", "--output", str(backups)
            )
            ended = time.monotonic()
            time.sleep(after)
        finally:
            workload.stop()
        (backup,) = [path for path in backups.iterdir() if NAME.match(path.name)]
        verify_seconds, verified = _timed(server.environment, "backup", "verify", str(backup))
        restore_seconds, restored = _timed(
            server.environment, "backup", "restore", str(backup), "--to", restore_url
        )

    # Switch over: gunicorn on the restored database, as docs/backups.md does it.
    environment = {**server.environment, "DATABASE_URL": restore_url}
    restored_server = start_gunicorn(environment, folder / "restored.log")
    try:
        with urllib.request.urlopen(f"{restored_server.url}/healthz", timeout=10) as response:
            healthz = response.status
    finally:
        stop(restored_server.process)
    return DrillResult(
        backup=backup,
        backup_seconds=backup_seconds,
        verify_seconds=verify_seconds,
        restore_seconds=restore_seconds,
        acknowledged_before=workload.writes_acknowledged(before=began),
        acknowledged_during=workload.writes_acknowledged(before=ended)
        - workload.writes_acknowledged(before=began),
        check=check_database(restore_url, workload, before=began),
        healthz=healthz,
        outputs=[created, verified, restored],
    )
