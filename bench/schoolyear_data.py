"""Large school databases for the rollover and dashboard benchmarks, made in SQL.

``flask students seed`` makes realistic students through Faker, about 10,000 a second;
a million would take minutes. The benchmarks need many rows, not realistic names, so
this module inserts them set-based: one ``INSERT ... SELECT`` over a generated series
per table (``WITH RECURSIVE`` on SQLite, ``generate_series`` on PostgreSQL), into a
database made by the real migrations, with the real triggers keeping the counts. Each
student is enrolled in the current year with a grade from 1 to 12; one in 40 left during
the last year (withdrawn or transferred out, alternately); enrollment dates spread over
four years, so every month of the dashboard's chart has new students.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

from webapp.database import configure_engine
from webapp.years.rollover_sql import uuid_sql

#: The account the benchmarks log in as.
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@bench.example", "bench-password-123"

_SERIES = {
    "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)",
    "postgresql": "WITH n(i) AS (SELECT generate_series(1, :count))",
}


def _days_before(dialect: str, day: str, days: str) -> str:
    """SQL for the date ``days`` days before the date ``day`` (both SQL expressions)."""
    if dialect == "sqlite":
        return f"date({day}, '-' || ({days}) || ' days')"
    return f"(CAST({day} AS date) - CAST({days} AS integer))"


@contextmanager
def connect(url: str) -> Iterator[Connection]:
    """A connection set up as the app sets its own (SQLite pragmas), in a transaction."""
    engine = create_engine(url)
    configure_engine(engine)
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        engine.dispose()


def seed(url: str, count: int) -> float:
    """Add ``count`` students, each enrolled in the current school year; return seconds.

    Args:
        url: a database at the migration head, with its one current school year.
        count: how many students.
    """
    started = time.perf_counter()
    with connect(url) as connection:
        dialect = connection.dialect.name
        series, uuid = _SERIES[dialect], uuid_sql(dialect)
        today, now = date.today(), datetime.now(UTC).replace(tzinfo=None)
        year_id = connection.execute(
            text("SELECT id FROM school_years WHERE is_current")
        ).scalar_one()
        base = connection.execute(text("SELECT coalesce(max(id), 0) FROM students")).scalar_one()
        params = {"count": count, "base": base, "today": today, "now": now, "year": year_id}
        birthday = _days_before(dialect, "'2016-08-31'", "n.i % 3650")
        enrolled = _days_before(dialect, ":today", "n.i % 1460")
        connection.execute(
            text(
                f"{series} INSERT INTO students (id, name, email, birthday, enrolled_on,"
                " created_at, updated_at, version, sourced_id)"
                " SELECT :base + n.i, 'Student ' || n.i, 'student' || n.i || '@bench.example',"
                f" {birthday}, {enrolled}, :now, :now, 1, {uuid} FROM n"
            ),
            params,
        )
        connection.execute(
            text(
                "INSERT INTO enrollments (sourced_id, student_id, school_year_id, grade, status,"
                " entered_on, version, created_at, updated_at)"
                f" SELECT {uuid}, s.id, :year, 1 + s.id % 12, 'enrolled', s.enrolled_on, 1,"
                " :now, :now FROM students s WHERE s.id > :base"
            ),
            params,
        )
        left_on = _days_before(dialect, ":today", "e.id % 360")
        connection.execute(
            text(
                "UPDATE enrollments SET"
                " status = CASE WHEN id % 80 = 0 THEN 'withdrawn' ELSE 'transferred' END,"
                " reason = CASE WHEN id % 80 = 0 THEN 'Moved away' END,"
                " destination = CASE WHEN id % 80 = 0 THEN NULL ELSE 'Hill School' END,"
                " status_on = (SELECT CASE WHEN e.entered_on > "
                f"{left_on} THEN e.entered_on ELSE {left_on} END"
                " FROM enrollments e WHERE e.id = enrollments.id)"
                " WHERE id % 40 = 0 AND student_id > :base"
            ),
            params,
        )
        if dialect == "postgresql":
            connection.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('students', 'id'),"
                    " (SELECT max(id) FROM students))"
                )
            )
    if dialect == "postgresql":
        # Fresh statistics and visibility map, as autovacuum would leave them.
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("VACUUM ANALYZE"))
        engine.dispose()
    else:
        with connect(url) as connection:
            connection.execute(text("ANALYZE"))
    return time.perf_counter() - started


def add_admin(url: str) -> None:
    """Add the benchmark's admin account (cheap password hashing: it logs in once)."""
    from werkzeug.security import generate_password_hash

    with connect(url) as connection:
        connection.execute(
            text(
                "INSERT INTO users (email, password_hash, role, active, session_token,"
                " created_at) VALUES (:email, :hash, 'admin', true, :token, :now)"
            ),
            {
                "email": ADMIN_EMAIL,
                "hash": generate_password_hash(ADMIN_PASSWORD, method="pbkdf2:sha256:1000"),
                "token": os.urandom(16).hex(),
                "now": datetime.now(UTC).replace(tzinfo=None),
            },
        )


def add_next_year(url: str) -> None:
    """Define the school year after the current one (what a rollover needs)."""
    with connect(url) as connection:
        starts = connection.execute(
            text("SELECT starts_on FROM school_years WHERE is_current")
        ).scalar_one()
        starts = date.fromisoformat(str(starts))
        connection.execute(
            text(
                "INSERT INTO school_years (sourced_id, name, starts_on, ends_on, is_current,"
                " version, created_at, updated_at) VALUES ('next', 'Next year', :starts,"
                " :ends, false, 1, :now, :now)"
            ),
            {
                "starts": date(starts.year + 1, 9, 1),
                "ends": date(starts.year + 2, 8, 31),
                "now": datetime.now(UTC).replace(tzinfo=None),
            },
        )
