"""``flask backup create``, ``verify`` and ``restore`` on both databases, and the rotation.

The drill under load (a backup while gunicorn serves concurrent writers) is in
``tests/test_backup_drill.py``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from tests.accounts import ACCOUNTS
from tests.conftest import make_app
from tests.helpers import add_student
from tests.migration_helpers import HEAD
from webapp.backup import files
from webapp.backup.files import NAME, backups_to_keep


def create(runner: FlaskCliRunner, folder: Path, *extra: str) -> Path:
    """Run ``flask backup create -o folder`` and return the new backup file."""
    before = set(folder.glob("students-*")) if folder.exists() else set()
    result = runner.invoke(args=["backup", "create", "--output", str(folder), *extra])
    assert result.exit_code == 0, result.output
    made = [p for p in set(folder.glob("students-*")) - before if NAME.match(p.name)]
    assert len(made) == 1, result.output
    return made[0]


def rows(url: str, sql: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


@pytest.fixture
def filled(app: Flask) -> Flask:
    """The app with three students, one of them edited in the audit-free way."""
    for name in ("Ada", "Émile Zola", "Bob"):
        add_student(app, name=name)
    return app


def test_create_names_the_revision_and_time_makes_0600_files_and_a_manifest(
    filled: Flask, runner: FlaskCliRunner, tmp_path: Path, database_backend: str
) -> None:
    path = create(runner, tmp_path / "backups")
    match = NAME.match(path.name)
    assert match is not None
    assert match["revision"] == HEAD
    taken = datetime.strptime(match["time"], files.TIME_FORMAT).replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - taken) < timedelta(minutes=1)
    assert path.suffix == (".sqlite3" if database_backend == "sqlite" else ".dump")
    manifest_file = files.manifest_path(path)
    for made in (path, manifest_file):
        assert stat.S_IMODE(made.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    manifest = json.loads(manifest_file.read_text())
    assert manifest["database"] == database_backend
    assert manifest["revision"] == HEAD
    assert manifest["tables"]["students"] == 3
    assert manifest["tables"]["alembic_version"] == 1
    assert manifest["tables"]["users"] == len(ACCOUNTS)  # the test accounts
    assert manifest["size"] == path.stat().st_size
    assert not list(path.parent.glob("*.partial"))


def test_verify_passes_on_a_fresh_backup(
    filled: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = create(runner, tmp_path)
    result = runner.invoke(args=["backup", "verify", str(path)])
    assert result.exit_code == 0, result.output
    for check in ("manifest", "checksum", "integrity", "revision", "row counts"):
        assert f"ok    {check}" in result.output
    assert "this release's head" in result.output
    assert "The backup is good." in result.output


def test_create_with_verify_checks_the_new_backup(
    filled: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    result = runner.invoke(args=["backup", "create", "-o", str(tmp_path), "--verify"])
    assert result.exit_code == 0, result.output
    assert "ok    integrity" in result.output
    assert "The backup is good." in result.output


def test_verify_fails_when_the_file_was_changed(
    filled: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = create(runner, tmp_path)
    with path.open("r+b") as handle:  # flip bytes in the middle of the file
        handle.seek(path.stat().st_size // 2)
        chunk = handle.read(64)
        handle.seek(-len(chunk), os.SEEK_CUR)
        handle.write(bytes(b ^ 0xFF for b in chunk))
    result = runner.invoke(args=["backup", "verify", str(path)])
    assert result.exit_code == 1
    assert "FAIL  checksum" in result.output


def test_verify_compares_the_rows_with_the_manifest(
    filled: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = create(runner, tmp_path)
    manifest_file = files.manifest_path(path)
    manifest = json.loads(manifest_file.read_text())
    manifest["tables"]["students"] = 4
    manifest_file.write_text(json.dumps(manifest))
    result = runner.invoke(args=["backup", "verify", str(path)])
    assert result.exit_code == 1
    assert "FAIL  row counts: students: 3 rows, manifest says 4" in result.output


def test_verify_without_manifest_fails_but_still_reads_the_file(
    filled: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = create(runner, tmp_path)
    files.manifest_path(path).unlink()
    result = runner.invoke(args=["backup", "verify", str(path)])
    assert result.exit_code == 1
    assert "FAIL  manifest: No manifest beside the backup" in result.output
    assert "ok    integrity" in result.output


def test_verify_reports_a_truncated_file(
    filled: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = create(runner, tmp_path)
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size // 2)
    result = runner.invoke(args=["backup", "verify", str(path)])
    assert result.exit_code == 1
    assert "FAIL  integrity" in result.output


def test_restore_into_a_new_database_brings_every_row_back(
    filled: Flask,
    runner: FlaskCliRunner,
    tmp_path: Path,
    empty_database_url: str,
    database_url: str,
) -> None:
    path = create(runner, tmp_path / "backups")
    add_student(filled, name="After the backup")
    result = runner.invoke(args=["backup", "restore", str(path), "--to", empty_database_url])
    assert result.exit_code == 0, result.output
    assert "ok    row counts" in result.output
    assert "Next: run `flask db upgrade`" in result.output
    query = "SELECT name FROM students ORDER BY name"
    assert rows(empty_database_url, query) == [("Ada",), ("Bob",), ("Émile Zola",)]
    assert rows(database_url, "SELECT count(*) FROM students") == [(4,)]
    # Ids go on where they stopped: a restored database never reuses an id.
    assert add_student(make_app(empty_database_url), name="New") == 4


def test_restore_refuses_the_served_database(
    filled: Flask, runner: FlaskCliRunner, tmp_path: Path, database_url: str
) -> None:
    path = create(runner, tmp_path)
    result = runner.invoke(args=["backup", "restore", str(path), "--to", database_url])
    assert result.exit_code == 1
    assert "the database the app is configured to serve" in result.output
    assert rows(database_url, "SELECT count(*) FROM students") == [(3,)]


def test_restore_refuses_a_database_that_is_not_empty(
    filled: Flask,
    runner: FlaskCliRunner,
    tmp_path: Path,
    empty_database_factory: Callable[[], str],
) -> None:
    path = create(runner, tmp_path)
    target = empty_database_factory()
    first = runner.invoke(args=["backup", "restore", str(path), "--to", target])
    assert first.exit_code == 0, first.output
    again = runner.invoke(args=["backup", "restore", str(path), "--to", target])
    assert again.exit_code == 1
    assert "restore into a new" in again.output


def test_restore_refuses_a_backup_that_fails_verification(
    filled: Flask, runner: FlaskCliRunner, tmp_path: Path, empty_database_url: str
) -> None:
    path = create(runner, tmp_path)
    files.manifest_path(path).unlink()
    result = runner.invoke(args=["backup", "restore", str(path), "--to", empty_database_url])
    assert result.exit_code == 1
    assert "failed verification, so it was not restored" in result.output


@pytest.mark.sqlite_only
def test_restore_refuses_a_database_of_the_other_kind(
    filled: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = create(runner, tmp_path)
    result = runner.invoke(
        args=["backup", "restore", str(path), "--to", "postgresql://nobody@127.0.0.1:1/x"]
    )
    assert result.exit_code == 1
    assert "A sqlite backup restores into sqlite, not postgresql." in result.output


@pytest.mark.sqlite_only
def test_sqlite_backup_of_an_older_revision_verifies_with_advice(
    tmp_path: Path, empty_database_url: str
) -> None:
    app = make_app(empty_database_url)
    with app.app_context():
        upgrade(revision="0007")
    result = app.test_cli_runner().invoke(args=["backup", "create", "-o", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    (path,) = (tmp_path / "b").glob("*.sqlite3")
    assert "-0007." in path.name
    verified = app.test_cli_runner().invoke(args=["backup", "verify", str(path)])
    assert verified.exit_code == 0, verified.output
    assert f"behind this release's head {HEAD}: run `flask db upgrade`" in verified.output


@pytest.mark.sqlite_only
def test_verify_runs_integrity_check(filled: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    """A page of an index overwritten in place: the header still reads, the check fails."""
    path = create(runner, tmp_path)
    with sqlite3.connect(path) as connection:
        root = connection.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'ix_students_name'"
        ).fetchone()[0]
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    with path.open("r+b") as handle:
        handle.seek((root - 1) * page_size + 8)
        handle.write(b"\xff" * 32)
    result = runner.invoke(args=["backup", "verify", str(path)])
    assert result.exit_code == 1
    assert "FAIL  integrity" in result.output


@pytest.mark.postgres_only
def test_pg_bin_dir_without_pg_dump_is_a_clear_error(app: Flask, tmp_path: Path) -> None:
    app.config["PG_BIN_DIR"] = str(tmp_path)
    result = app.test_cli_runner().invoke(args=["backup", "create", "-o", str(tmp_path / "b")])
    assert result.exit_code == 1
    assert f"pg_dump 15 or later is needed and was not found in PG_BIN_DIR={tmp_path}" in (
        result.output
    )
    assert not list((tmp_path / "b").glob("*"))


@pytest.mark.postgres_only
def test_pg_dump_older_than_the_server_is_refused(app: Flask, tmp_path: Path) -> None:
    """An old client cannot dump a newer server; it is refused before it runs.

    The old ``pg_dump`` is a stand-in script (no old PostgreSQL is installed here).
    """
    fake = tmp_path / "pg_dump"
    fake.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 13.4'\n")
    fake.chmod(0o755)
    app.config["PG_BIN_DIR"] = str(tmp_path)
    result = app.test_cli_runner().invoke(args=["backup", "create", "-o", str(tmp_path / "b")])
    assert result.exit_code == 1
    assert "found only" in result.output
    assert "13.4" in result.output


def test_default_folder_is_backup_dir_or_the_instance_folder(app: Flask, tmp_path: Path) -> None:
    app.config["BACKUP_DIR"] = str(tmp_path / "configured")
    result = app.test_cli_runner().invoke(args=["backup", "create"])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "configured").glob("students-*"))) == 2  # file and manifest


# --- rotation ----------------------------------------------------------------------------


def fake_backups(folder: Path, times: list[datetime], database: str = "sqlite") -> list[Path]:
    folder.mkdir(exist_ok=True)
    made = []
    for taken in times:
        path = folder / files.backup_name(database, taken, "0008")
        path.write_bytes(b"")
        files.manifest_path(path).write_text("{}")
        made.append(path)
    return made


def test_rotation_keeps_the_newest_of_each_recent_day_and_week() -> None:
    start = datetime(2026, 11, 30, 2, 15, tzinfo=UTC)  # a Monday
    times = [start - timedelta(hours=12 * n) for n in range(40)]  # two a day, 20 days
    backups = [(Path(f"b{n}"), t) for n, t in enumerate(times)]
    kept = backups_to_keep(backups, keep_daily=3, keep_weekly=2)
    kept_times = sorted((t for p, t in backups if p in kept), reverse=True)
    # Newest of 30, 29 and 28 November; newest of the weeks of 30 and 29 November.
    assert [t.strftime("%d %H") for t in kept_times] == ["30 02", "29 14", "28 14"]
    kept = backups_to_keep(backups, keep_daily=1, keep_weekly=3)
    assert sorted(t.strftime("%d %H") for p, t in backups if p in kept) == [
        "22 14",
        "29 14",
        "30 02",
    ]
    assert backups_to_keep(backups, keep_daily=0, keep_weekly=0) == set()


def test_create_with_keep_options_deletes_older_backups_and_their_manifests(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, database_backend: str
) -> None:
    folder = tmp_path / "backups"
    now = datetime.now(UTC)
    old = fake_backups(
        folder, [now - timedelta(days=n) for n in (1, 2, 3, 10, 11)], database_backend
    )
    other = folder / "students-notes.txt"
    other.write_text("not a backup")
    new = create(runner, folder, "--keep-daily", "2", "--keep-weekly", "0")
    assert new.exists()
    assert old[0].exists()  # yesterday's: the second of the last two days
    for gone in old[1:]:
        assert not gone.exists()
        assert not files.manifest_path(gone).exists()
    assert other.exists()


def test_create_without_keep_options_deletes_nothing(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, database_backend: str
) -> None:
    folder = tmp_path / "backups"
    old = fake_backups(folder, [datetime.now(UTC) - timedelta(days=400)], database_backend)
    create(runner, folder)
    assert old[0].exists()
