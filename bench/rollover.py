"""The year-end rollover at 100,000 students, on SQLite and PostgreSQL, against a peer.

Each database is made by the real migrations and filled with ``--students`` students
enrolled in the current year (:mod:`bench.schoolyear_data`); the next year is defined.
Then, ``--repeat`` times: the rollover as the page and ``flask years rollover`` run it
(:func:`webapp.years.rollover.run`: set-based SQL, one transaction, with its audit
batch), then its undo (:func:`webapp.years.rollover_undo.undo`), which brings the database
back to where it was for the next round. Once: ``flask years rollover`` itself, wall
time, interpreter start included.

The peer, measured in the same run on the same database: a rollover written row by row,
as the rest of the app writes (an ORM ``Enrollment`` and its audit event per student,
through :func:`webapp.students.enrollments.add_enrollment`), over the first
``--peer-students`` students and rolled back; its time per student times the number of
students is what a row-by-row rollover would take.

Run (about 3 minutes)::

    .venv/bin/python -m bench.rollover

It writes ``bench/results/rollover.md`` (``--results`` to write elsewhere).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy
from flask import Flask
from sqlalchemy import func, select

from bench.schoolyear_data import add_next_year, seed
from tests.postgres import postgres_server
from webapp import create_app
from webapp.extensions import db
from webapp.models import Enrollment, Rollover, SchoolYear, Status, Student

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "rollover.md"


def make_app(url: str) -> Flask:
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})


def migrate(url: str) -> None:
    from flask_migrate import upgrade

    app = make_app(url)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        db.engine.dispose()


@contextmanager
def databases(kinds: Sequence[str]) -> Iterator[list[tuple[str, str]]]:
    """``(kind, url)`` of an empty database per kind: a SQLite file, a throwaway PostgreSQL."""
    found: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-rollover-") as folder:
        if "sqlite" in kinds:
            found.append(("SQLite", f"sqlite:///{folder}/rollover.db"))
        if "postgresql" in kinds:
            with postgres_server() as server:
                found.append(("PostgreSQL", server.create_database(server.new_name("rollover"))))
                yield found
                return
        yield found


def rollover_rounds(
    app: Flask, repeat: int, hold_every: int
) -> tuple[list[float], list[float], dict[str, int]]:
    """Roll over and undo ``repeat`` times; seconds of each rollover and each undo, and
    the last rollover's counts."""
    from webapp.years import rollover, rollover_undo

    runs, undos = [], []
    done = None
    with app.app_context():
        holds = list(db.session.scalars(select(Student.id).where(Student.id % hold_every == 0)))
        for _ in range(repeat):
            year = db.session.scalar(select(SchoolYear).where(SchoolYear.is_current))
            started = time.perf_counter()
            done = rollover.run(year, holds)
            runs.append(time.perf_counter() - started)
            started = time.perf_counter()
            rollover_undo.undo(done)
            undos.append(time.perf_counter() - started)
            db.session.expire_all()
        assert done is not None
        db.session.refresh(done)
        counts = {
            "promoted": done.promoted,
            "held_back": done.held_back,
            "graduated": done.graduated,
            "created": done.created,
        }
        db.engine.dispose()
    return runs, undos, counts


def peer(app: Flask, students: int) -> float:
    """Seconds per student of a row-by-row rollover (ORM, one event each), rolled back."""
    from webapp.students.enrollments import add_enrollment

    with app.app_context():
        to_year = db.session.scalar(select(SchoolYear).where(SchoolYear.is_current.is_(False)))
        rows = db.session.execute(
            select(Student, Enrollment.grade)
            .join(Enrollment, Enrollment.student_id == Student.id)
            .where(Enrollment.status == Status.ENROLLED.value, Enrollment.grade < 12)
            .order_by(Student.id)
            .limit(students)
        ).all()
        started = time.perf_counter()
        for student, grade in rows:
            add_enrollment(student, to_year, grade + 1, to_year.starts_on)
        seconds = time.perf_counter() - started
        db.session.rollback()
        db.engine.dispose()
    return seconds / len(rows)


def cli_rollover(url: str) -> tuple[float, str]:
    """Wall seconds of ``flask years rollover`` and its last line; then undone."""
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench"}
    flask = [sys.executable, "-m", "flask", "--app", "webapp", "years"]
    started = time.perf_counter()
    done = subprocess.run(
        [*flask, "rollover"], env=env, capture_output=True, text=True, check=True, cwd=ROOT
    )
    wall = time.perf_counter() - started
    subprocess.run(
        [*flask, "undo-rollover"], env=env, capture_output=True, text=True, check=True, cwd=ROOT
    )
    return wall, done.stdout.strip().splitlines()[-1]


def run(args: argparse.Namespace, write: Callable[[str], object]) -> list[str]:
    lines = [
        "# Year-end rollover",
        "",
        f"Command: `python -m bench.rollover{' ' + ' '.join(args.argv) if args.argv else ''}`. "
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.processor() or 'x86_64'}, "
        f"{os.cpu_count()} CPUs; Python {platform.python_version()}, SQLAlchemy "
        f"{sqlalchemy.__version__}. Load average (1 min) before: {os.getloadavg()[0]:.2f}. "
        f"{args.students:,} students enrolled in the current year (grades 1 to 12), one in 40 "
        f"of them gone during the year, one in {args.hold_every} held back; the next year "
        "defined; the database made by the migrations (triggers keep the counts).",
        "",
        "| Database | rollover (median, range) | undo (median) | `flask years rollover` wall "
        "| row-by-row peer, per student | peer × students | ratio |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    notes = []
    with databases(args.databases) as found:
        for kind, url in found:
            write(f"{kind}: migrating and seeding {args.students:,} students...")
            migrate(url)
            seeded = seed(url, args.students)
            add_next_year(url)
            app = make_app(url)
            write(f"{kind}: seeded in {seeded:.1f} s; rolling over {args.repeat} times...")
            runs, undos, done = rollover_rounds(app, args.repeat, args.hold_every)
            write(f"{kind}: the row-by-row peer over {args.peer_students:,} students...")
            per_student = peer(app, args.peer_students)
            wall, said = cli_rollover(url)
            with app.app_context():
                left = db.session.scalar(select(func.count()).select_from(Rollover))
                db.engine.dispose()
            median = statistics.median(runs)
            estimate = per_student * args.students
            lines.append(
                f"| {kind} | {median:.2f} s ({min(runs):.2f}–{max(runs):.2f}) "
                f"| {statistics.median(undos):.2f} s | {wall:.2f} s "
                f"| {per_student * 1000:.2f} ms | {estimate:.0f} s | {estimate / median:.0f}× |"
            )
            notes.append(
                f"- {kind}: each round {done['promoted']:,} moved up, {done['held_back']:,} held "
                f"back, {done['graduated']:,} graduated ({done['created']:,} enrollments and "
                f"{done['created'] + done['graduated']:,} audit events); {left} rollovers run in "
                f"all, each undone. The command said: “{said}”"
            )
    lines += ["", *notes, ""]
    lines.append(
        "The rollover is a handful of statements whatever the number of students: one "
        "`INSERT ... SELECT` of the next year's enrollments, one `INSERT ... SELECT` of "
        "their audit events, the graduates' events and one `UPDATE`, in one transaction. "
        "The undo deletes by `rollover_id` and updates by the batch's events. The peer "
        "writes what the forms write, one ORM object and one event per student: the "
        "difference is the row-by-row round trips."
    )
    return lines


def main(argv: Sequence[str] | None = None, *, write: Callable[[str], object] = print) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peer-students", type=int, default=2_000)
    parser.add_argument(
        "--hold-every", type=int, default=100, help="hold back every student whose id is a multiple"
    )
    parser.add_argument(
        "--databases", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    raw = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(raw)
    args.argv = raw
    lines = run(args, write)
    args.results.write_text("\n".join(lines) + "\n", encoding="utf-8")
    write("\n".join(lines))


if __name__ == "__main__":
    main()
