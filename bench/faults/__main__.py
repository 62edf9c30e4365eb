"""Inject one fault (or all) into a live gunicorn under load and write down what happened.

Commands (``make bench-faults`` runs ``all``)::

    .venv/bin/python -m bench.faults worker-kill-import [--db sqlite|postgresql|both]
    .venv/bin/python -m bench.faults worker-kill-saves  [--db ...] [--duration 30] [--kills 6]
    .venv/bin/python -m bench.faults postgres-restart   [--duration 30]
    .venv/bin/python -m bench.faults postgres-down      [--duration 30]   (5 s without server)
    .venv/bin/python -m bench.faults disk-full          (SQLite; needs root to mount a tmpfs)
    .venv/bin/python -m bench.faults master-kill        [--db ...] [--duration 30]
    .venv/bin/python -m bench.faults drill              [--db ...]
    .venv/bin/python -m bench.faults all

Each run replaces its section of ``bench/results/faults.md`` (and the summary table at
its top) and exits 1 when a promise was broken. PostgreSQL runs start a throwaway server
with durability on (``fsync``, ``synchronous_commit``), as in production.
"""

from __future__ import annotations

import argparse
import itertools
import re
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack, nullcontext
from datetime import UTC, datetime
from pathlib import Path

from bench.faults import outages, scenarios
from bench.faults.drill import run_drill
from bench.faults.result import FaultResult
from bench.server import PROJECT_ROOT, gunicorn_server
from tests.postgres import PostgresServer, throwaway_cluster

RESULTS = PROJECT_ROOT / "bench" / "results" / "faults.md"

TITLES = {
    "worker-kill-import": "A worker SIGKILLed in the middle of a CSV import",
    "worker-kill-saves": "Workers SIGKILLed in the middle of form saves",
    "postgres-restart": "PostgreSQL restarted (pg_ctl restart -m fast) during mixed load",
    "postgres-down": "PostgreSQL down for 5 s (stop -m fast, start) during mixed load",
    "disk-full": "SQLite's disk fills up during writes",
    "master-kill": "The gunicorn master SIGKILLed under load, then started again",
    "drill": "Restore drill: back up during writes, verify, restore, serve",
}
DATABASES = {
    "worker-kill-import": ("sqlite", "postgresql"),
    "worker-kill-saves": ("sqlite", "postgresql"),
    "postgres-restart": ("postgresql",),
    "postgres-down": ("postgresql",),
    "disk-full": ("sqlite",),
    "master-kill": ("sqlite", "postgresql"),
    "drill": ("sqlite", "postgresql"),
}
DATABASE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}

HEADER = """# Faults injected under load

Each section is one run of `python -m bench.faults FAULT --db DATABASE` against a real
gunicorn (2 sync workers) serving browser-like clients that create, edit and read
students, on the 2-core development machine (clients, server and database share it).
A write counts as *acknowledged* when the app answered it with success (302); afterwards
every acknowledged write is looked for in the database, and every student the clients
made is checked to be whole (its row, its create event, one update event per version).
PostgreSQL runs use a throwaway server with durability on (`fsync`, `synchronous_commit`,
`full_page_writes`). Short versions run in the suite: `tests/test_faults.py`,
`tests/test_backup_drill.py`.

"""


def _drill(database_url: str, restore_url: str, folder: Path, args) -> FaultResult:
    drill = run_drill(
        database_url, restore_url, folder, clients=args.clients, warm_up=5.0, min_writes=50
    )
    result = FaultResult("drill", "sqlite" if database_url.startswith("sqlite") else "postgresql")
    result.figures.update(
        {
            "flask backup create, under load": f"{drill.backup_seconds:.2f} s",
            "flask backup verify": f"{drill.verify_seconds:.2f} s",
            "flask backup restore": f"{drill.restore_seconds:.2f} s",
            "writes acknowledged before the backup began": drill.acknowledged_before,
            "writes acknowledged while it ran (in it or not)": drill.acknowledged_during,
            "acknowledged writes lost": drill.check.lost,
            "students half-written": len(drill.check.half_written),
            "/healthz of gunicorn on the restored database": drill.healthz,
        }
    )
    result.expect(drill.check.lost == 0, f"lost: {drill.check.lost}")
    result.expect(not drill.check.half_written, "half-written students")
    result.expect(drill.healthz == 200, f"/healthz answered {drill.healthz}")
    return result


def run_one(fault: str, database: str, args, postgres: PostgresServer | None) -> FaultResult:
    """Run ``fault`` on ``database`` against a new gunicorn in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix=f"fault-{fault}-") as name:
        folder = Path(name)
        numbers = itertools.count(1)

        def new_database() -> str:
            if postgres is None:
                return f"sqlite:///{folder}/students-{next(numbers)}.db"
            return postgres.create_database(postgres.new_name("faults"))

        if fault == "drill":
            return _drill(new_database(), new_database(), folder, args)
        with ExitStack() as stack:
            if fault == "disk-full":
                url = stack.enter_context(outages.database_on_small_disk(folder))
            else:
                url = new_database()
            server = stack.enter_context(gunicorn_server(url, folder / "gunicorn.log"))
            runs: dict[str, Callable[[], FaultResult]] = {
                "worker-kill-import": lambda: scenarios.worker_kill_import(server, rows=args.rows),
                "worker-kill-saves": lambda: scenarios.worker_kill_saves(
                    server, duration=args.duration, kills=args.kills, clients=args.clients
                ),
                "postgres-restart": lambda: outages.postgres_restart(
                    postgres, server, duration=args.duration, clients=args.clients
                ),
                "postgres-down": lambda: outages.postgres_restart(
                    postgres, server, duration=args.duration, clients=args.clients, down_for=5
                ),
                "disk-full": lambda: outages.disk_full(server, clients=args.clients),
                "master-kill": lambda: scenarios.master_kill(
                    server, duration=args.duration, clients=args.clients
                ),
            }
            return runs[fault]()


def section(result: FaultResult, command: str, seconds: float) -> str:
    """The Markdown section of one run."""
    lines = [
        f"## {TITLES[result.fault]}, {DATABASE_NAMES[result.database]}",
        "",
        f"Command: `{command}`, run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{seconds:.0f} s in all.",
        "",
        "**Passed.**" if result.ok else "**FAILED:** " + "; ".join(result.problems),
        "",
        "| measure | value |",
        "| --- | --- |",
        *(f"| {label} | {value} |" for label, value in result.figures.items()),
        "",
    ]
    return "\n".join(lines)


def _summary(sections: dict[str, str]) -> str:
    rows = ["| fault | database | result | acknowledged writes lost |", "| --- | --- | --- | --- |"]
    for heading, text in sections.items():
        what, _, database = heading.rpartition(", ")
        lost = re.search(r"^\| acknowledged writes lost \| (\S+) \|", text, re.M)
        passed = "passed" if "**Passed.**" in text else "**failed**"
        anchor = re.sub(r"[^a-z0-9 _-]", "", heading.lower()).replace(" ", "-")
        rows.append(f"| [{what}](#{anchor}) | {database} | {passed} | {lost[1] if lost else '?'} |")
    return "\n".join(rows) + "\n"


def write_results(new: str) -> None:
    """Replace or add a section of ``bench/results/faults.md`` and rebuild its summary."""
    sections: dict[str, str] = {}
    if RESULTS.exists():
        parts = re.split(r"^## ", RESULTS.read_text(encoding="utf-8"), flags=re.M)[1:]
        for part in parts:
            heading = part.split("\n", 1)[0]
            if heading != "Summary":
                sections[heading] = "## " + part.rstrip() + "\n"
    sections[new.split("\n", 1)[0][3:]] = new
    order = [f"{TITLES[f]}, {DATABASE_NAMES[d]}" for f in TITLES for d in DATABASE_NAMES]
    ordered = dict(
        sorted(sections.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99)
    )
    body = "\n".join(ordered.values())
    RESULTS.write_text(
        HEADER + "## Summary\n\n" + _summary(ordered) + "\n" + body, encoding="utf-8"
    )


def main() -> None:
    """Parse the arguments, run the faults, write their sections."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fault", choices=[*TITLES, "all"])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rows", type=int, default=20_000, help="rows in the imported file")
    parser.add_argument("--kills", type=int, default=6, help="workers killed (saves)")
    args = parser.parse_args()
    faults = list(TITLES) if args.fault == "all" else [args.fault]
    wanted = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    plan = [(f, d) for f in faults for d in DATABASES[f] if d in wanted]
    if not plan:
        parser.error(f"{args.fault} does not run on {args.db}")
    options = " ".join(
        f"--{name} {value:g}"
        for name, value in vars(args).items()
        if name not in ("fault", "db") and value != parser.get_default(name)
    )
    results = []
    needs_server = any(database == "postgresql" for _, database in plan)
    with throwaway_cluster(durable=True) if needs_server else nullcontext() as postgres:
        for fault, database in plan:
            started = time.monotonic()
            result = run_one(fault, database, args, postgres if database == "postgresql" else None)
            command = f".venv/bin/python -m bench.faults {fault} --db {database} {options}"
            text = section(result, command.strip(), time.monotonic() - started)
            print(text)
            results.append(result)
            write_results(text)
    raise SystemExit(0 if all(r.ok for r in results) else 1)


if __name__ == "__main__":
    main()
