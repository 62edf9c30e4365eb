"""OneRoster export (and import) at 10,000 and 100,000 students, SQLite and PostgreSQL.

Each database is made by the real migrations and filled set-based
(:func:`bench.schoolyear_data.seed`: students enrolled in the current year, one in 40
withdrawn or transferred). Every command runs as its own process, as an operator runs it,
and is measured from outside by GNU ``time``: wall time and peak resident memory.

* ``flask oneroster export`` at 10,000 and then at 100,000 students (demographics on; a
  guardian for every two students): a streaming export's peak memory stays the same when
  the roster grows tenfold.
* Peers in the same run, on the same database: ``flask oneroster --help`` (the interpreter
  and the app's imports: the memory floor), and ``flask students export`` (the roster's
  CSV export, a single-file streaming export of the same students).
* The strict validator on the 100,000-student bundle.
* ``flask oneroster import`` of that bundle into a freshly migrated database, then an
  export from there, compared file by file with the first (the round trip at scale).

Run (a few minutes)::

    .venv/bin/python -m bench.oneroster

It writes ``bench/results/oneroster.md`` (``--results`` to write elsewhere).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from bench.schoolyear_data import connect, seed
from tests.postgres import postgres_server
from webapp import create_app
from webapp.extensions import db
from webapp.years.rollover_sql import uuid_sql

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "oneroster.md"
#: GNU time (Debian's package ``time``), which measures a command's peak memory.
TIME = "/usr/bin/time"
SETTINGS = {
    "ONEROSTER_SCHOOL_SOURCED_ID": "school-bench",
    "ONEROSTER_SCHOOL_NAME": "Bench School",
    "ONEROSTER_EXPORT_DEMOGRAPHICS": "true",
}


@dataclass(frozen=True)
class Run:
    """One command's measurement: wall seconds, peak resident MiB, and its output."""

    seconds: float
    peak_mib: float
    output: str


def run(url: str, *args: str) -> Run:
    """Run ``python -m <args>`` against ``url`` under GNU time; fail loudly if it fails.

    GNU ``time`` starts the command itself: Linux counts the peak memory of a child from
    its parent's size at the fork, so a child of this (large) process could never show
    less than this process.
    """
    env = {**os.environ, **SETTINGS, "DATABASE_URL": url, "SECRET_KEY": "bench"}
    with tempfile.NamedTemporaryFile("r", suffix=".time") as timing:
        done = subprocess.run(
            [TIME, "-f", "%e %M", "-o", timing.name, sys.executable, "-m", *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds, kib = timing.read().split()[-2:]
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return Run(float(seconds), int(kib) / 1024, done.stdout + done.stderr)


def flask(url: str, *args: str) -> Run:
    return run(url, "flask", "--app", "webapp", *args)


def migrate(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        db.engine.dispose()


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@contextmanager
def databases(kinds: Sequence[str], folder: str) -> Iterator[list[tuple[str, list[str]]]]:
    """``(kind, urls)`` per kind: three empty databases (small, large, import target)."""
    found: list[tuple[str, list[str]]] = []
    names = ("small", "large", "target")
    if "sqlite" in kinds:
        found.append(("SQLite", [f"sqlite:///{folder}/{name}.db" for name in names]))
    if "postgresql" in kinds:
        with postgres_server() as server:
            urls = [server.create_database(server.new_name(name)) for name in names]
            found.append(("PostgreSQL", urls))
            yield found
            return
    yield found


def add_guardians(url: str) -> int:
    """A guardian (with a mobile number) for every two students, linked to both, in SQL;
    returns how many guardians."""
    with connect(url) as connection:
        dialect = connection.dialect.name
        now = datetime.now(UTC).replace(tzinfo=None)
        connection.execute(
            text(
                "INSERT INTO guardians (sourced_id, name, email, version, created_at,"
                f" updated_at) SELECT {uuid_sql(dialect)}, 'Parent ' || s.id,"
                " 'parent' || s.id || '@bench.example', 1, :now, :now"
                " FROM students s WHERE s.id % 2 = 0 ORDER BY s.id"
            ),
            {"now": now},
        )
        connection.execute(
            text(
                "INSERT INTO guardian_phones (guardian_id, position, kind, number)"
                " SELECT g.id, 1, 'mobile', '+12015550' || (100 + g.id % 100) FROM guardians g"
            )
        )
        connection.execute(
            text(
                "INSERT INTO student_guardians (student_id, guardian_id, relationship,"
                " contact_order, version, created_at, updated_at)"
                " SELECT s.id, g.id, 'parent', 1, 1, :now, :now FROM students s"
                " JOIN guardians g ON g.email = 'parent' || (s.id + s.id % 2) || '@bench.example'"
            ),
            {"now": now},
        )
        count: int = connection.execute(text("SELECT count(*) FROM guardians")).scalar_one()
    return count


def row(label: str, students: int | None, measured: Run) -> str:
    """A line of the report's table."""
    count = "-" if students is None else f"{students:,}"
    return f"| {label} | {count} | {measured.seconds:.2f} s | {measured.peak_mib:.0f} MiB |"


def measure(kind: str, urls: list[str], folder: Path, small: int, large: int) -> list[str]:
    """Every measurement on one kind of database; returns the report's lines."""
    lines = [f"### {kind}", ""]
    small_url, url, other = urls
    migrate(small_url)
    seed(small_url, small)
    add_guardians(small_url)
    first = flask(small_url, "oneroster", "export", "-o", str(folder / "small.zip"))
    migrate(url)
    seed(url, large)
    guardians = add_guardians(url)
    bundle = folder / f"{kind}.zip"
    big = flask(url, "oneroster", "export", "-o", str(bundle))
    floor = flask(url, "oneroster", "--help")
    csv_peer = flask(url, "students", "export", "--output", str(folder / "peer.csv"))
    check = run(url, "webapp.oneroster.validate", str(bundle))
    migrate(other)
    imported = flask(other, "oneroster", "import", str(bundle))
    again = folder / f"{kind}-again.zip"
    flask(other, "oneroster", "export", "-o", str(again))
    same = members(bundle) == members(again)
    size = bundle.stat().st_size / 1024 / 1024
    lines += [
        "| command | students | wall time | peak RSS |",
        "| --- | ---: | ---: | ---: |",
        row("`flask oneroster --help` (floor: interpreter + app)", None, floor),
        row("`flask oneroster export`", small, first),
        row("`flask oneroster export`", large, big),
        row("`flask students export` (CSV peer)", large, csv_peer),
        row("`python -m webapp.oneroster.validate`", large, check),
        row("`flask oneroster import` (empty database)", large, imported),
        "",
        f"- Export at {large:,} / at {small:,}: time x{big.seconds / first.seconds:.1f}, "
        f"peak memory x{big.peak_mib / first.peak_mib:.2f}; above the floor: "
        f"{first.peak_mib - floor.peak_mib:.0f} MiB and {big.peak_mib - floor.peak_mib:.0f} MiB.",
        f"- Export / CSV peer at {large:,}: time x{big.seconds / csv_peer.seconds:.2f}, "
        f"peak memory x{big.peak_mib / csv_peer.peak_mib:.2f}.",
        f"- {large:,} students and {guardians:,} guardians (one for every two students, "
        "linked to both, with a mobile number).",
        f"- Bundle: {size:.1f} MB zip; validator: `{check.output.strip().splitlines()[-1]}`.",
        f"- Round trip at {large:,}: export, import into a fresh database, export: "
        f"{'identical, file for file' if same else 'DIFFERENT'}.",
        "",
    ]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    report = [
        "# OneRoster export and import: measured",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `python -m bench.oneroster` on "
        f"{platform.platform()}, {os.cpu_count()} CPUs (shared), "
        f"Python {platform.python_version()}.",
        "Each command is its own process; wall time and peak resident memory (GNU `time`) are",
        "measured from outside. One run each: read the ratios, not the last digit.",
        f"Load average at the start: {os.getloadavg()[0]:.1f} (other work shares the machine).",
        "",
    ]
    with (
        tempfile.TemporaryDirectory(prefix="bench-oneroster-") as folder,
        databases(args.databases, folder) as found,
    ):
        for kind, urls in found:
            report += measure(kind, urls, Path(folder), args.small, args.large)
            print("\n".join(report[-14:]), flush=True)
    args.results.write_text("\n".join(report), encoding="utf-8")
    print(f"Wrote {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
