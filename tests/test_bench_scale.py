"""The scale benchmark's harness (``bench/scale``) works: a tiny run writes its report.

A smoke test, not a measurement: a few hundred students, the Python stand-in loader
instead of wrk (which only ``make bench-scale`` installs), a fraction of a second per
page, and no assertion on any figure. The full run and its figures: ``make bench-scale``,
``bench/results/scale.md``.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from bench.scale import data
from bench.scale.__main__ import main
from bench.scale.pages import PAGES

pytestmark = pytest.mark.slow

TINY = [
    "--students", "300",
    "--small-students", "60",
    "--events", "3000",
    "--seed-count", "40",
    "--import-rows", "40",
    "--seconds", "0.15",
    "--warm-up", "0",
    "--rounds", "1",
    "--pause", "0",
    "--loader", "python",
]  # fmt: skip


def test_generated_events_are_what_the_app_writes() -> None:
    students = [(i, name) for i, name in enumerate(["Ada Hopper", 'Zoé "Z" Noether'] * 50, 1)]
    rows = list(data.audit_rows(2000, students, [(7, "staff07@district.example")]))
    assert len(rows) == 2000
    times = [row[0] for row in rows]
    assert times == sorted(times)
    assert all(isinstance(t, datetime) and t.tzinfo is None for t in times)
    for _, user_id, actor, action, student_id, name, changes, reverts, note, *entity in rows:
        assert entity == ["student", student_id]
        assert action in data.ACTION_WEIGHTS
        assert (user_id, actor) in {(7, "staff07@district.example"), (None, "command line")}
        assert (note is not None) == (user_id is None)
        assert dict(students)[student_id] == name
        decoded = json.loads(changes)
        assert all(isinstance(pair, list) and len(pair) == 2 for pair in decoded.values())
        assert reverts is None or action in ("revert", "restore")


def test_tutorial_rows_fit_the_tutorial_table(tmp_path: Path) -> None:
    path = tmp_path / "students.db"
    data.fill_sqlite_tutorial(path, 500)
    with sqlite3.connect(path) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(students)")]
        count, emails, grades = connection.execute(
            "SELECT count(*), count(DISTINCT lower(email)), min(grade) >= 1 AND max(grade) <= 12 "
            "FROM students"
        ).fetchone()
    assert columns == ["id", "name", "email", "grade", "birthday", "enrolled_date"]
    assert count == emails == 500
    assert grades == 1


def test_a_tiny_run_builds_serves_loads_and_writes_the_report(
    request: pytest.FixtureRequest,
    database_backend: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if database_backend == "postgresql":
        server = request.getfixturevalue("postgres")
        monkeypatch.setenv("TEST_POSTGRESQL_URL", server.url.render_as_string(hide_password=False))
    results = tmp_path / "scale.md"
    argv = [*TINY, "--databases", database_backend, "--out", str(tmp_path / "out")]
    main([*argv, "--results", str(results)])

    report = results.read_text(encoding="utf-8")
    name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[database_backend]
    assert "## Goals" in report
    assert "## Commands" in report
    goals = [line for line in report.splitlines() if line.startswith(f"| {name} |")]
    assert any("Takeover" in line and "| met |" in line for line in goals)
    assert any("Seeding" in line and " s |" in line for line in goals)
    assert any("page 1 / Flask-Admin" in line and "req/s" in line for line in goals)
    assert any("Audit log" in line and " ms (" in line for line in goals)
    if database_backend == "sqlite":
        assert any("Import memory" in line and " MB |" in line for line in goals)
    section = report.split(f"### {name}", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    loaded = [row for row in rows if re.search(r"\| \d+\.\d \| \d+\.\d \| \d+\.\d \| 0 \|$", row)]
    not_loaded = [row for row in rows if "not loaded" in row]
    assert len(loaded) + len(not_loaded) == len(PAGES), section
    # Only "/" may be left out: it redirects to the roster until there is a dashboard.
    assert all("dashboard" in row for row in not_loaded), section

    # A second run takes the large database from the cache (a SQLite file, a PostgreSQL
    # dump restored).
    capsys.readouterr()
    main([*argv, "--skip", "takeover,seed,import,pages", "--results", str(tmp_path / "again.md")])
    cached = {"sqlite": "using the cached served-", "postgresql": "restoring the cached pg-"}
    assert cached[database_backend] in capsys.readouterr().out
    assert "## Goals" in (tmp_path / "again.md").read_text(encoding="utf-8")
