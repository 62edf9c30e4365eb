"""Build (or take from the cache) the scale benchmark's databases, and time the commands.

Databases served, per database system:

* the *large* one: a tutorial-made roster of ``students`` rows taken over by
  ``flask db upgrade``, then the bench accounts and ``events`` generated audit events;
* the *small* one: the same way with ``small_students`` rows and no events.

Cache (``bench/out/scale/`` by default; ``--rebuild`` ignores it): the tutorial SQLite
files by generator version and size; the large served databases also by a hash of
``migrations/versions/`` (a new migration builds them anew): a SQLite file, and a
``pg_dump`` directory restored with ``pg_restore --jobs 2`` into the run's throwaway
PostgreSQL server. Small databases are built every run (seconds).

Timed here, as the wall time of the command an operator runs: the takeover (``flask db
upgrade`` of a fresh copy of the tutorial database), ``flask students seed --count N``
into a freshly migrated database, and ``flask students import`` of an N-row CSV file
(its peak resident memory too).
"""

from __future__ import annotations

import csv
import hashlib
import json
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psycopg

from bench import server as bench_server
from bench.import_export import timed_process
from bench.scale import data
from bench.server import PROJECT_ROOT
from tests.postgres import PostgresServer, find_bindir

#: Staff accounts that made the generated audit events (editors), besides the bench's own.
STAFF_ACCOUNTS = 12
#: Room for any CSV the import measurement writes (the app's default limits are smaller).
IMPORT_MAX_BYTES = 2_000_000_000
IMPORT_MAX_ROWS = 100_000_000


@dataclass
class Served:
    """A database ready to serve, and what the URLs need to know of it.

    Attributes:
        database: ``"sqlite"`` or ``"postgresql"``.
        url: its SQLAlchemy URL (for the app).
        peer_url: the URL the peers take (``sqlite:///...`` or ``postgresql://...``).
        students: rows in ``students``.
        events: generated audit events.
        accounts: ``{email: id}`` of every account.
        busy_ids: students with many events.
        typical_id: a student with an ordinary number of events.
        events_of: ``{student id: number of events}`` of those students.
        first_day, last_day: ISO dates of the oldest and newest events.
    """

    database: str
    url: str
    peer_url: str
    students: int
    events: int = 0
    accounts: dict[str, int] = field(default_factory=dict)
    busy_ids: list[int] = field(default_factory=list)
    typical_id: int | None = None
    events_of: dict[str, int] = field(default_factory=dict)
    first_day: str = ""
    last_day: str = ""

    def meta(self) -> dict:
        """What the cache keeps beside the database (not its URLs)."""
        kept = asdict(self)
        for name in ("url", "peer_url", "database"):
            kept.pop(name)
        return kept


def migrations_key() -> str:
    """A short hash of every migration script: cached migrated databases depend on them."""
    digest = hashlib.sha256()
    for path in sorted((PROJECT_ROOT / "migrations" / "versions").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:10]


def flask_env(url: str, **extra: str) -> dict[str, str]:
    """The environment of a ``flask`` command on ``url``, with the bench's settings."""
    return bench_server.server_environment(url, 0, 2, {**bench_server.BENCH_ENVIRONMENT, **extra})


#: CPU seconds (user + system) of the last :func:`timed_flask` command: on a machine
#: shared with other work, what the command itself cost (on SQLite all its work; on
#: PostgreSQL the server's share is not in it).
LAST_CPU_SECONDS: list[float] = [0.0]


def timed_flask(url: str, *args: str) -> float:
    """Run ``flask --app webapp ARGS`` on ``url``; return its wall time in seconds (its
    CPU time goes to :data:`LAST_CPU_SECONDS`)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    bench_server.flask(flask_env(url), *args)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU_SECONDS[0] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed


#: Creates accounts (``[[email, role, password], ...]`` in argv[1]) through the app's own
#: service and prints ``{email: id}``.
_ACCOUNTS_SCRIPT = """
import json, sys
from webapp import create_app
from webapp.models import Role
from webapp.users.service import create_user
with create_app().app_context():
    ids = {email: create_user(email, Role(role), password).id
           for email, role, password in json.loads(sys.argv[1])}
print(json.dumps(ids))
"""


def create_accounts(url: str) -> dict[str, int]:
    """Create the bench's accounts (``bench.server.ACCOUNTS``) and the staff accounts.

    Returns:
        ``{email: id}`` of all of them.
    """
    wanted = [[email, role, password] for role, (email, password) in bench_server.ACCOUNTS.items()]
    wanted += [
        [f"staff{n:02}@district.example", "editor", "staff-bench-password"]
        for n in range(1, STAFF_ACCOUNTS + 1)
    ]
    result = bench_server._python(
        flask_env(url), "creating the accounts", "-c", _ACCOUNTS_SCRIPT, json.dumps(wanted)
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _trail_accounts(accounts: Mapping[str, int]) -> list[tuple[int, str]]:
    """The accounts that made the generated events: staff first (the busiest), then admin."""
    staff = sorted((email, id_) for email, id_ in accounts.items() if email.startswith("staff"))
    admin = bench_server.ACCOUNTS["admin"][0]
    return [(id_, email) for email, id_ in staff] + [(accounts[admin], admin)]


class Builder:
    """Builds the databases of one run in ``out`` (the cache) and ``work`` (scratch).

    Args:
        out: the cache folder.
        work: a scratch folder for this run's copies (emptied by the caller).
        rebuild: ignore cached databases.
        log: called with a line of progress.
    """

    def __init__(self, out: Path, work: Path, *, rebuild: bool, log=print) -> None:
        self.out = out
        self.work = work
        self.rebuild = rebuild
        self.log = log
        self.migrations = migrations_key()
        out.mkdir(parents=True, exist_ok=True)
        work.mkdir(parents=True, exist_ok=True)

    # --- SQLite -------------------------------------------------------------------------

    def tutorial_sqlite(self, count: int) -> Path:
        """The cached tutorial-made ``students.db`` of ``count`` rows (built if missing)."""
        path = self.out / f"tutorial-v{data.GENERATOR_VERSION}-{count}.db"
        if self.rebuild or not path.exists():
            self.log(f"building a tutorial students.db of {count:,} rows")
            scratch = path.with_suffix(".building")
            data.fill_sqlite_tutorial(scratch, count)
            scratch.replace(path)
        return path

    def takeover_sqlite(self, count: int, name: str) -> tuple[Path, float]:
        """Copy the tutorial database into ``work/name`` and time ``flask db upgrade`` on it."""
        target = self.work / name
        shutil.copyfile(self.tutorial_sqlite(count), target)
        self.log(f"timing flask db upgrade of {count:,} tutorial rows (SQLite)")
        return target, timed_flask(f"sqlite:///{target}", "db", "upgrade")

    def _finish_served(self, served: Served, plan: data.TrailPlan | None, counts) -> Served:
        if plan is not None:
            served.busy_ids = plan.busy_ids
            served.first_day, served.last_day = (
                plan.first_day.isoformat(),
                plan.last_day.isoformat(),
            )
            served.typical_id = max(1, served.students // 3)
            ids = [*served.busy_ids[:1], served.typical_id]
            served.events_of = {str(i): counts(i) for i in ids}
        return served

    def served_sqlite(self, count: int, events: int, taken_over: Path | None = None) -> Served:
        """The large SQLite database: from the cache, or built (from ``taken_over`` if given)."""
        stem = f"served-v{data.GENERATOR_VERSION}-m{self.migrations}-{count}-{events}"
        path, meta = self.out / f"{stem}.db", self.out / f"{stem}.json"
        if not self.rebuild and path.exists() and meta.exists():
            self.log(f"using the cached {path.name}")
            return Served(
                "sqlite", f"sqlite:///{path}", f"sqlite:///{path}", **json.loads(meta.read_text())
            )
        started = time.perf_counter()
        if taken_over is None:
            taken_over, _ = self.takeover_sqlite(count, "takeover-for-cache.db")
        url = f"sqlite:///{taken_over}"
        served = Served("sqlite", url, url, count, events, create_accounts(url))
        self.log(f"adding {events:,} audit events (SQLite)")
        plan = data.append_sqlite_events(taken_over, events, _trail_accounts(served.accounts))

        def counts(student_id: int) -> int:
            import sqlite3

            with sqlite3.connect(taken_over) as connection:
                return connection.execute(
                    "SELECT count(*) FROM audit_events WHERE student_id = ?", (student_id,)
                ).fetchone()[0]

        self._finish_served(served, plan, counts)
        meta.write_text(json.dumps(served.meta(), indent=1))
        taken_over.replace(path)
        for suffix in ("-wal", "-shm"):
            Path(f"{taken_over}{suffix}").unlink(missing_ok=True)
        self.log(f"built {path.name} in {time.perf_counter() - started:.0f} s")
        return Served("sqlite", f"sqlite:///{path}", f"sqlite:///{path}", **served.meta())

    def small_sqlite(self, taken_over: Path, count: int) -> Served:
        """The small SQLite database: ``taken_over`` (already migrated) with the accounts."""
        url = f"sqlite:///{taken_over}"
        return Served("sqlite", url, url, count, 0, create_accounts(url))

    # --- PostgreSQL ---------------------------------------------------------------------

    def tutorial_postgres(self, server: PostgresServer, count: int) -> str:
        """A new PostgreSQL database holding the tutorial's table with ``count`` rows."""
        name = server.new_name("tutorial")
        url = server.create_database(name)
        data.fill_postgres_tutorial(url, server.libpq_url(name), count)
        return name

    def takeover_postgres(self, server: PostgresServer, count: int) -> tuple[str, float]:
        """Make a tutorial database of ``count`` rows and time ``flask db upgrade`` on it."""
        self.log(f"building a tutorial database of {count:,} rows on PostgreSQL (COPY)")
        name = self.tutorial_postgres(server, count)
        self.log(f"timing flask db upgrade of {count:,} tutorial rows (PostgreSQL)")
        return name, timed_flask(server.database_url(name), "db", "upgrade")

    def _pg_tool(self, tool: str, *args: str) -> None:
        command = [str(find_bindir() / tool), *args]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed: {result.stdout}{result.stderr}")

    def served_postgres(
        self, server: PostgresServer, count: int, events: int, taken_over: str | None = None
    ) -> Served:
        """The large PostgreSQL database: restored from the cached dump, or built and dumped."""
        stem = f"pg-served-v{data.GENERATOR_VERSION}-m{self.migrations}-{count}-{events}"
        dump, meta = self.out / f"{stem}.dump", self.out / f"{stem}.json"
        if not self.rebuild and dump.exists() and meta.exists():
            self.log(f"restoring the cached {dump.name}")
            name = server.new_name("served")
            server.create_database(name)
            self._pg_tool(
                "pg_restore",
                "--jobs=2",
                "--no-owner",
                f"--dbname={server.libpq_url(name)}",
                str(dump),
            )
            # As after building it (data.append_postgres_events): the visibility map, which
            # lets a count read only an index, as autovacuum keeps it on a live server.
            with psycopg.connect(server.libpq_url(name), autocommit=True) as connection:
                connection.execute("VACUUM ANALYZE")
            return Served(
                "postgresql",
                server.database_url(name),
                server.libpq_url(name),
                **json.loads(meta.read_text()),
            )
        started = time.perf_counter()
        if taken_over is None:
            taken_over, _ = self.takeover_postgres(server, count)
        url, libpq = server.database_url(taken_over), server.libpq_url(taken_over)
        served = Served("postgresql", url, libpq, count, events, create_accounts(url))
        self.log(f"adding {events:,} audit events (PostgreSQL, COPY)")
        plan = data.append_postgres_events(libpq, events, _trail_accounts(served.accounts))

        def counts(student_id: int) -> int:
            with psycopg.connect(libpq) as connection:
                return connection.execute(
                    "SELECT count(*) FROM audit_events WHERE student_id = %s", (student_id,)
                ).fetchone()[0]

        self._finish_served(served, plan, counts)
        shutil.rmtree(dump, ignore_errors=True)
        scratch = dump.with_suffix(".building")
        shutil.rmtree(scratch, ignore_errors=True)
        self._pg_tool("pg_dump", "--format=directory", "--jobs=2", f"--file={scratch}", libpq)
        scratch.replace(dump)
        meta.write_text(json.dumps(served.meta(), indent=1))
        self.log(f"built and dumped {dump.name} in {time.perf_counter() - started:.0f} s")
        return served

    def small_postgres(self, server: PostgresServer, taken_over: str, count: int) -> Served:
        """The small PostgreSQL database: ``taken_over`` (already migrated) with the accounts."""
        url = server.database_url(taken_over)
        return Served(
            "postgresql", url, server.libpq_url(taken_over), count, 0, create_accounts(url)
        )

    # --- seeding and import -------------------------------------------------------------

    def time_seed(self, url: str, count: int) -> float:
        """Migrate the empty database at ``url``, then time ``flask students seed``."""
        bench_server.flask(flask_env(url), "db", "upgrade")
        self.log(f"timing flask students seed --count {count}")
        return timed_flask(url, "students", "seed", "--count", str(count))

    def import_csv(self, count: int) -> Path:
        """A cached CSV file of ``count`` new students, in the export's column order."""
        path = self.out / f"import-v{data.GENERATOR_VERSION}-{count}.csv"
        if self.rebuild or not path.exists():
            scratch = path.with_suffix(".building")
            with scratch.open("w", newline="", encoding="utf-8") as file:
                writer = csv.writer(file)
                writer.writerow(["name", "email", "grade", "birthday", "enrolled_on"])
                for row in data.tutorial_rows(count, seed=99):
                    writer.writerow(
                        [
                            row.name,
                            row.email,
                            row.grade,
                            row.birthday.date().isoformat(),
                            "2026-09-01",
                        ]
                    )
            scratch.replace(path)
        return path

    def measure_import(self, count: int) -> tuple[float, int]:
        """Import an N-row CSV into a fresh migrated SQLite database with ``--jobs 1``.

        Returns:
            Wall seconds and peak resident memory (kB, ``wait4``'s ``ru_maxrss``) of the
            ``flask students import`` process.
        """
        source = self.import_csv(count)
        target = self.work / "import.db"
        target.unlink(missing_ok=True)
        url = f"sqlite:///{target}"
        bench_server.flask(flask_env(url), "db", "upgrade")
        self.log(f"measuring flask students import of {count:,} rows")
        env = flask_env(
            url,
            FLASK_IMPORT_MAX_BYTES=str(IMPORT_MAX_BYTES),
            FLASK_IMPORT_MAX_ROWS=str(IMPORT_MAX_ROWS),
        )
        command = [sys.executable, "-m", "flask", "--app", "webapp", "students", "import"]
        seconds, peak_kb, _ = timed_process([*command, "--jobs", "1", str(source)], env)
        target.unlink(missing_ok=True)
        return seconds, peak_kb
