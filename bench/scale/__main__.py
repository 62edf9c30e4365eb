"""District scale (issue 14): build a large roster and audit trail, load the pages, report.

Full run (``make bench-scale``; writes ``bench/results/scale.md``)::

    .venv/bin/python -m bench.scale --label "..."

Quick run for developers (100,000 students, 1,000,000 events, 1 short round; writes
``bench/out/scale-quick.md``)::

    .venv/bin/python -m bench.scale --quick

Steps, each skippable (``--skip takeover,seed,import,pages``) and each database optional
(``--databases sqlite``):

1. Data: a tutorial-made ``students.db`` of ``--students`` rows, taken over by ``flask db
   upgrade`` (timed), plus ``--events`` audit events; a ``--small-students`` one the same
   way; on PostgreSQL the same in a throwaway server (``COPY``). Cached in ``--out``.
2. ``flask students seed --count --seed-count`` into a fresh database (timed), and ``flask
   students import`` of ``--import-rows`` rows (time and peak memory, SQLite).
3. The servers side by side, each under gunicorn with 2 workers: the app (logged in as an
   administrator), the raw driver + Jinja page, Flask-Admin's list; every page of
   :data:`bench.scale.pages.PAGES` loaded with wrk for ``--seconds`` after ``--warm-up``,
   ``--rounds`` times, alternating.
4. The report: figures, and the goals of issue 14 as ratios, met or not.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from bench.import_export import load_average, machine
from bench.scale import build, load, pages, report, serve
from bench.scale.build import Builder, Served
from bench.server import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "bench" / "results" / "scale.md"
OUT = PROJECT_ROOT / "bench" / "out" / "scale"
STEPS = ("takeover", "seed", "import", "pages")
NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
SERVER_NAMES = {
    "app": "our app",
    "app-small": "our app",
    "raw": "raw driver + Jinja",
    "admin": "Flask-Admin",
}

FULL = {
    "students": 1_000_000,
    "small_students": 10_000,
    "events": 10_000_000,
    "seed_count": 1_000_000,
    "import_rows": 1_000_000,
    "seconds": 5.0,
    "warm_up": 1.0,
    "rounds": 3,
}
QUICK = {
    "students": 100_000,
    "small_students": 10_000,
    "events": 1_000_000,
    "seed_count": 100_000,
    "import_rows": 100_000,
    "seconds": 2.0,
    "warm_up": 1.0,
    "rounds": 1,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module's docstring)."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, one short round")
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    parser.add_argument("--skip", default="", help=f"comma-separated steps: {', '.join(STEPS)}")
    parser.add_argument("--rebuild", action="store_true", help="ignore cached databases")
    parser.add_argument("--students", type=int)
    parser.add_argument("--small-students", type=int)
    parser.add_argument("--events", type=int)
    parser.add_argument("--seed-count", type=int)
    parser.add_argument("--import-rows", type=int)
    parser.add_argument("--seconds", type=float, help="measured seconds per page and round")
    parser.add_argument("--warm-up", type=float, help="seconds of warm-up before each")
    parser.add_argument("--rounds", type=int)
    parser.add_argument(
        "--pause",
        type=float,
        default=1.0,
        help="seconds between runs, for requests still in flight",
    )
    parser.add_argument(
        "--loader",
        choices=("wrk", "python"),
        default="wrk",
        help="python: a slow stand-in where wrk is missing (smoke tests)",
    )
    parser.add_argument(
        "--url",
        action="append",
        default=[],
        metavar="KEY=PATH",
        help="another app page to load, e.g. after=/students/?after=Smith",
    )
    parser.add_argument("--label", default="", help="a line saying what this run is")
    parser.add_argument("--out", type=Path, default=OUT, help="the cache folder")
    parser.add_argument(
        "--results",
        type=Path,
        help="the report (default: bench/results/scale.md, "
        "or bench/out/scale-quick.md with --quick)",
    )
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.results is None:
        args.results = PROJECT_ROOT / "bench" / "out" / "scale-quick.md" if args.quick else RESULTS
    args.databases = [d for d in args.databases.split(",") if d]
    args.skip = {s for s in args.skip.split(",") if s}
    unknown = set(args.databases) - set(NAMES) | args.skip - set(STEPS)
    if unknown:
        parser.error(f"unknown: {', '.join(sorted(unknown))}")
    for spec in args.url:
        key, _, path = spec.partition("=")
        if not key or not path.startswith("/"):
            parser.error(f"--url wants KEY=/path, got {spec!r}")
        pages.PAGES.append(pages.Page(key, f"`{path}`", "app", path))
    if args.loader == "wrk" and "pages" not in args.skip and not load.have_wrk():
        parser.error(
            "wrk is not installed: `scripts/install-system-deps.sh wrk` (make bench-scale "
            "does it), or --loader python for a smoke test"
        )
    return args


def log(line: str) -> None:
    """Print a progress line with the time."""
    print(f"[{datetime.now():%H:%M:%S}] {line}", flush=True)


class Run:
    """One run: the databases built, the timings, the pages' results."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.builder = Builder(
            args.out, args.out / f"work-{os.getpid()}", rebuild=args.rebuild, log=log
        )
        self.timings: dict[str, dict[str, float | None]] = {}
        self.served: dict[str, tuple[Served, Served]] = {}
        self.import_figures: tuple[float, int] | None = None
        self.targets: list[pages.Target] = []

    def _timing(self, database: str, name: str, value: float | None) -> None:
        self.timings.setdefault(database, {})[name] = value
        if value is not None:
            self.timings[database][f"{name}-cpu"] = build.LAST_CPU_SECONDS[0]

    def build_sqlite(self) -> None:
        args, builder = self.args, self.builder
        taken_over = None
        if "takeover" not in args.skip:
            taken_over, seconds = builder.takeover_sqlite(args.students, "takeover.db")
            self._timing("sqlite", "takeover", seconds)
        large = builder.served_sqlite(args.students, args.events, taken_over)
        small_db, seconds = builder.takeover_sqlite(args.small_students, "small.db")
        self._timing("sqlite", "takeover-small", seconds)
        self.served["sqlite"] = (large, builder.small_sqlite(small_db, args.small_students))
        if "seed" not in args.skip:
            target = builder.work / "seed.db"
            self._timing(
                "sqlite", "seed", builder.time_seed(f"sqlite:///{target}", args.seed_count)
            )
            target.unlink(missing_ok=True)
        if "import" not in args.skip:
            self.import_figures = builder.measure_import(args.import_rows)

    def build_postgres(self, server) -> None:
        args, builder = self.args, self.builder
        taken_over = None
        if "takeover" not in args.skip:
            taken_over, seconds = builder.takeover_postgres(server, args.students)
            self._timing("postgresql", "takeover", seconds)
        large = builder.served_postgres(server, args.students, args.events, taken_over)
        if taken_over and not large.url.endswith(f"/{taken_over}"):
            server.drop_database(taken_over)
        small_name, seconds = builder.takeover_postgres(server, args.small_students)
        self._timing("postgresql", "takeover-small", seconds)
        small = builder.small_postgres(server, small_name, args.small_students)
        self.served["postgresql"] = (large, small)
        if "seed" not in args.skip:
            name = server.new_name("seed")
            seconds = builder.time_seed(server.create_database(name), args.seed_count)
            self._timing("postgresql", "seed", seconds)
            server.drop_database(name)

    def start_servers(self, stack: ExitStack) -> None:
        """Start every server and make the targets (probing each page once)."""
        folder = self.builder.work
        for database, (large, small) in self.served.items():
            running = {
                "app": stack.enter_context(
                    serve.app("app", large.url, folder / f"{database}-app.log")
                ),
                "app-small": stack.enter_context(
                    serve.app("app-small", small.url, folder / f"{database}-small.log")
                ),
                "raw": stack.enter_context(
                    serve.peer("raw", "raw", large.peer_url, "/", folder / f"{database}-raw.log")
                ),
                "admin": stack.enter_context(
                    serve.peer(
                        "admin",
                        "admin",
                        large.peer_url,
                        "/admin/students/",
                        folder / f"{database}-admin.log",
                        cheap_path="/admin/",
                    )
                ),
            }
            for page in pages.PAGES:
                served = small if page.server == "app-small" else large
                server = running[page.server]
                path = page.resolve(served)
                serve.probe(server, path)  # a worker's first request costs more
                status, size, seconds = serve.probe(server, path)
                target = pages.Target(
                    database,
                    page,
                    server.url + path,
                    server.headers,
                    pages.label(page, served),
                    status,
                    size,
                    seconds,
                    server.drain,
                )
                log(
                    f"{database} {page.key} {path}: HTTP {status}, {size:,} characters, "
                    f"{seconds * 1000:.0f} ms"
                )
                self.targets.append(target)

    def load_pages(self) -> None:
        loader = load.run_wrk if self.args.loader == "wrk" else load.run_python
        ready = [t for t in self.targets if t.status == 200]
        pages.run_rounds(
            ready,
            loader,
            rounds=self.args.rounds,
            seconds=self.args.seconds,
            warm_up=self.args.warm_up,
            pause=self.args.pause,
            log=log,
        )


def _wrk_version() -> str:
    if not shutil.which("wrk"):
        return "not installed"
    result = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return (result.stdout or result.stderr).split(" Copyright")[0].strip()


def _git_commit() -> str:
    result = subprocess.run(
        ["git", "log", "-1", "--format=%h %s"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or "?"


def write_report(run: Run, argv: list[str], started: float, loads: tuple[str, str]) -> None:
    """Write the Markdown report to ``--results``."""
    args = run.args
    minutes = (time.perf_counter() - started) / 60
    lines = ["# District scale (issue 14): a large roster and a long audit trail", ""]
    if args.label:
        lines += [f"**{args.label}**", ""]
    lines += [
        f"Command: `python -m bench.scale {shlex.join(argv)}`, run "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC on commit {_git_commit()}, "
        f"{minutes:.0f} minutes in all.",
        "",
        f"Machine: {machine()}; wrk {_wrk_version()}. Load average {loads[0]} at the start, "
        f"{loads[1]} at the end (other work shared the machine).",
        "",
        f"Data: a tutorial-made roster of {args.students:,} students taken over by `flask db "
        f"upgrade`, with {args.events:,} generated audit events; a small roster of "
        f"{args.small_students:,} students. Each server runs under gunicorn with 2 sync workers; "
        f"{'wrk' if args.loader == 'wrk' else 'the Python stand-in loader (not a measurement)'} "
        f"loads each page for {args.seconds:g} s (a slow page longer: 10 times its own time, up "
        f"to {6 * args.seconds:g} s) after {args.warm_up:g} s of warm-up, {args.rounds} round(s), "
        "every page in turn, alternating the order, each run after the server's queue has "
        "emptied; figures are the medians of the rounds. Roster pages: 8 connections "
        "(throughput); audit pages: 1 connection (the time of one page, no queue). Our app is "
        "logged in as an administrator; the peers have no login.",
        "",
        "## Goals",
        "",
    ]
    goals: list[report.Goal] = []
    for database in run.served:
        name = NAMES[database]
        goals += [
            report.Goal(name, g.goal, g.figure, g.target, g.met, g.context)
            for g in report.page_goals(database, run.targets)
        ]
        timing = run.timings.get(database, {})
        goals.append(
            report.seconds_goal(
                name,
                f"Seeding: `flask students seed --count {args.seed_count}`",
                timing.get("seed"),
                60,
            )
        )
        goals.append(
            report.seconds_goal(
                name,
                f"Takeover: `flask db upgrade` of a {args.students:,}-row tutorial database",
                timing.get("takeover"),
                60,
            )
        )
    if "sqlite" in run.served:
        peak = run.import_figures[1] if run.import_figures else None
        goals.append(report.memory_goal(peak, args.import_rows, 500))
    lines += report.goals_table(goals)
    lines += ["", *report.DESIGN]
    lines += ["", "## Pages", ""]
    for database in run.served:
        large, small = run.served[database]
        lines += [
            f"### {NAMES[database]}",
            "",
            f"Large roster: {large.students:,} students, {large.events:,} audit events; "
            f"small roster: {small.students:,} students.",
            "",
        ]
        lines += report.pages_table(run.targets, database, SERVER_NAMES.__getitem__)
        lines += ["", *report.history_note(database, run.targets, large), ""]
    lines += [
        "## Commands",
        "",
        "| database | command | wall seconds | CPU seconds of the command |",
        "| --- | --- | ---: | ---: |",
    ]
    for database, timing in run.timings.items():
        for key, what in (
            ("takeover", f"`flask db upgrade` of a tutorial database of {args.students:,} rows"),
            ("takeover-small", f"`flask db upgrade` of one of {args.small_students:,} rows"),
            ("seed", f"`flask students seed --count {args.seed_count}` (fresh database)"),
        ):
            if timing.get(key) is not None:
                cpu = timing.get(f"{key}-cpu")
                lines.append(
                    f"| {NAMES[database]} | {what} | {timing[key]:.1f} | "
                    + (f"{cpu:.1f} |" if cpu is not None else "– |")
                )
    if run.import_figures:
        seconds, peak = run.import_figures
        lines.append(
            f"| SQLite | `flask students import --jobs 1` of {args.import_rows:,} new rows "
            f"(fresh database), peak RSS {peak / 1024:.0f} MB | {seconds:.1f} | – |"
        )
    lines += [
        "",
        "Wall seconds are the command's, Python's start included; CPU seconds are its user "
        "and system time (on a shared machine, what the command itself cost; on PostgreSQL "
        "the server's work is not in it). Peak RSS is the import "
        "process's maximum resident set size (`wait4`); `--jobs 1` keeps the whole import in "
        "that one process.",
        "",
    ]
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text("\n".join(lines), encoding="utf-8")
    log(f"wrote {args.results}")


#: Prefixes of the databases a run creates (``PostgresServer.new_name``), dropped at its end.
OWN_PREFIXES = ("tutorial", "served", "seed")


def drop_own_databases(server) -> None:
    """Drop the databases this process created on ``server`` (one of a developer's too)."""
    pattern = f"^({'|'.join(OWN_PREFIXES)})_{os.getpid()}_[0-9]+$"
    names = (
        server.admin()
        .execute("SELECT datname FROM pg_database WHERE datname ~ %s", (pattern,))
        .fetchall()
    )
    for (name,) in names:
        server.drop_database(name)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark (see the module's docstring)."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    started = time.perf_counter()
    first_load = load_average()
    run = Run(args)
    shutil.rmtree(run.builder.work, ignore_errors=True)
    run.builder.work.mkdir(parents=True)
    try:
        with ExitStack() as stack:
            if "sqlite" in args.databases:
                run.build_sqlite()
            if "postgresql" in args.databases:
                from tests.postgres import postgres_server

                server = stack.enter_context(postgres_server())
                # Runs after the servers stop (the stack unwinds in reverse).
                stack.callback(drop_own_databases, server)
                run.build_postgres(server)
            if "pages" not in args.skip:
                run.start_servers(stack)
                run.load_pages()
        write_report(run, argv, started, (first_load, load_average()))
    finally:
        shutil.rmtree(run.builder.work, ignore_errors=True)
    log(f"done in {(time.perf_counter() - started) / 60:.1f} minutes")


if __name__ == "__main__":
    # SIGTERM (a background run being stopped) unwinds as Ctrl-C does: servers stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    main()
