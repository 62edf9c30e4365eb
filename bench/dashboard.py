"""The dashboard at 1,000,000 students, on SQLite and PostgreSQL, against a peer.

Each database is made by the real migrations and filled with ``--students`` students
enrolled in the current year, one in 40 of them gone during the last year
(:mod:`bench.schoolyear_data`). A test client logged in as an administrator then asks
for the dashboard (``GET /``: the figures, the template, the response) ``--requests``
times after three warm-up requests; the figures are the median and the slowest.

The peer, measured in the same run on the same database: the dashboard's figures
computed the direct way, with ``GROUP BY`` over the enrollments (per grade and status)
and over the students and enrollments by month (``strftime``/``to_char``), instead of
the trigger-kept counts and the per-month indexed range counts the page uses.

Run (about 4 minutes, most of it seeding)::

    .venv/bin/python -m bench.dashboard

It writes ``bench/results/dashboard.md`` (``--results`` to write elsewhere).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy
from flask import Flask
from sqlalchemy import text

from bench.rollover import databases, make_app, migrate
from bench.schoolyear_data import ADMIN_EMAIL, ADMIN_PASSWORD, add_admin, seed
from webapp.dashboard.service import month_starts
from webapp.extensions import db

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "dashboard.md"
TARGET_MS = 200


def page_times(app: Flask, requests: int) -> list[float]:
    """Milliseconds of each ``GET /`` by a logged-in administrator (after 3 warm-ups)."""
    app.config.update(RATELIMIT_ENABLED=False, WTF_CSRF_ENABLED=False)
    client = app.test_client()
    login = client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert login.status_code in {302, 303}, login.status_code
    times = []
    for number in range(requests + 3):
        started = time.perf_counter()
        response = client.get("/")
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.status_code
        if number >= 3:
            times.append(elapsed)
    html = response.get_data(as_text=True)
    assert "chart--wide" in html
    return times


def figures_times(app: Flask, requests: int) -> list[float]:
    """Milliseconds of the page's figures alone (:func:`webapp.dashboard.service.dashboard`)."""
    from webapp.dashboard import service

    times = []
    with app.app_context():
        for number in range(requests + 3):
            started = time.perf_counter()
            service.dashboard()
            elapsed = (time.perf_counter() - started) * 1000
            db.session.remove()
            if number >= 3:
                times.append(elapsed)
        db.engine.dispose()
    return times


def peer_times(app: Flask, requests: int) -> list[float]:
    """Milliseconds of the same figures by GROUP BY over the rows (no counts, no ranges)."""
    bounds = month_starts(date.today())
    with app.app_context():
        dialect = db.engine.dialect.name
        month = {
            "sqlite": "strftime('%Y-%m', {})",
            "postgresql": "to_char({}, 'YYYY-MM')",
        }[dialect]
        statements = [
            "SELECT e.grade, e.status, count(*) FROM enrollments e JOIN school_years y"
            " ON y.id = e.school_year_id WHERE y.is_current GROUP BY e.grade, e.status",
            f"SELECT {month.format('enrolled_on')}, count(*) FROM students"
            " WHERE enrolled_on >= :start GROUP BY 1",
            f"SELECT {month.format('status_on')}, status, count(*) FROM enrollments"
            " WHERE status_on >= :start GROUP BY 1, 2",
        ]
        times = []
        for number in range(requests + 3):
            started = time.perf_counter()
            with db.engine.connect() as connection:
                for statement in statements:
                    connection.execute(text(statement), {"start": bounds[0]}).all()
            elapsed = (time.perf_counter() - started) * 1000
            if number >= 3:
                times.append(elapsed)
        db.engine.dispose()
    return times


def run(args: argparse.Namespace, write: Callable[[str], object]) -> list[str]:
    lines = [
        "# Dashboard",
        "",
        f"Command: `python -m bench.dashboard{' ' + ' '.join(args.argv) if args.argv else ''}`. "
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.processor() or 'x86_64'}, "
        f"{os.cpu_count()} CPUs; Python {platform.python_version()}, SQLAlchemy "
        f"{sqlalchemy.__version__}. Load average (1 min) before: {os.getloadavg()[0]:.2f}. "
        f"{args.students:,} students enrolled in the current year, one in 40 gone during "
        "the last year; the database made by the migrations. Each figure over "
        f"{args.requests} requests after 3 warm-ups, in the same process (Flask's test "
        "client: the view, its queries, the template; no network).",
        "",
        f"| Database | `GET /` median | slowest | target ({TARGET_MS} ms) "
        "| the page's figures alone, median | peer: the figures by GROUP BY, median "
        "| peer ÷ figures |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    with databases(args.databases) as found:
        for kind, url in found:
            write(f"{kind}: migrating and seeding {args.students:,} students...")
            migrate(url)
            seeded = seed(url, args.students)
            add_admin(url)
            write(f"{kind}: seeded in {seeded:.0f} s; measuring...")
            app = make_app(url)
            ours = page_times(app, args.requests)
            figures = statistics.median(figures_times(app, args.requests))
            theirs = peer_times(app, args.requests)
            median, peer = statistics.median(ours), statistics.median(theirs)
            met = "met" if median < TARGET_MS else "**not met**"
            lines.append(
                f"| {kind} | {median:.1f} ms | {max(ours):.1f} ms | {met} "
                f"| {figures:.1f} ms | {peer:.1f} ms | {peer / figures:.0f}× |"
            )
            with app.app_context():
                db.engine.dispose()
    lines += [
        "",
        "The page reads the counts per year, grade and status from `enrollment_counts`, "
        "which triggers on `enrollments` keep in step (a few dozen rows at any size), the "
        "twelve months as 36 range counts answered from the indexes on "
        "`students (enrolled_on)` and `enrollments (status, status_on)` in one statement, "
        "and the ten newest audit events by primary key. The peer computes the same "
        "figures with `GROUP BY` over the rows: its time grows with the number of students.",
        "",
    ]
    return lines


def main(argv: Sequence[str] | None = None, *, write: Callable[[str], object] = print) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=30)
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
