"""``flask students import`` and ``flask students export``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from tests.helpers import add_student
from webapp.extensions import db
from webapp.import_export.importer import checking
from webapp.models import AuditEvent, Student

VALID = "name,email,grade,birthday\nAda,ada@example.org,7,2013-12-10\nBob,,8,\n"
MIXED = "name,email,grade\nAda,ada@example.org,7\nBob,bob@example.org,x\nCarl,,9\n"


def write(tmp_path: Path, text: str | bytes, name: str = "students.csv") -> str:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return str(path)


def count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Student.id)))


def names(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Student.name).order_by(Student.name)))


# --- import -------------------------------------------------------------------------------


def test_import_writes_valid_file_and_summarises(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    result = runner.invoke(args=["students", "import", write(tmp_path, VALID)])
    assert result.exit_code == 0, result.output
    assert "Created 2, updated 0; 0 unchanged; 0 rows with errors." in result.output
    assert "Time: " in result.output
    assert "(parse " in result.output
    assert "of which audit trail" in result.output
    assert names(app) == ["Ada", "Bob"]


def test_import_with_errors_lists_them_writes_the_rest_and_exits_1(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    result = runner.invoke(args=["students", "import", write(tmp_path, MIXED)])
    assert result.exit_code == 1
    assert "line 3: The grade 'x' is not a whole number." in result.output
    assert "Created 2, updated 0; 0 unchanged; 1 row with errors not imported." in result.output
    assert names(app) == ["Ada", "Carl"]


def test_all_or_nothing_writes_nothing_when_a_row_has_an_error(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    result = runner.invoke(args=["students", "import", "--all-or-nothing", write(tmp_path, MIXED)])
    assert result.exit_code == 1
    assert "Nothing written (--all-or-nothing): 1 row with errors" in result.output
    assert count(app) == 0


def test_dry_run_reports_and_writes_nothing(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    add_student(app, name="Ada", email="ada@example.org", grade=6)
    result = runner.invoke(
        args=["students", "import", "--dry-run", "--verbose", write(tmp_path, VALID)]
    )
    assert result.exit_code == 0, result.output
    assert "line 2: update student 1 (Ada): grade 6 → 7, birthday (blank) → 2013-12-10" in (
        result.output
    )
    assert "line 3: create a new student (Bob)" in result.output
    assert "Dry run, nothing written: would create 1, update 1; 0 unchanged" in result.output
    assert count(app) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"", "The file is empty.", id="empty"),
        pytest.param(b"Ada,7\n", "first line must be a header", id="no-header"),
        pytest.param(b"name,notes\nAda,x\n", "no column gives the grade", id="no-grade"),
        pytest.param(b"PK\x03\x04broken", "damaged", id="broken-zip"),
    ],
)
def test_unusable_file_exits_1_with_the_reason(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, data: bytes, message: str
) -> None:
    result = runner.invoke(args=["students", "import", write(tmp_path, data)])
    assert result.exit_code == 1
    assert "Error: " in result.output
    assert message in result.output
    assert count(app) == 0


def test_file_over_the_limit_is_refused_before_reading(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    app.config["IMPORT_MAX_BYTES"] = 100
    result = runner.invoke(args=["students", "import", write(tmp_path, VALID * 5)])
    assert result.exit_code == 1
    assert "files up to 100 bytes can be imported" in result.output


def test_missing_file_is_a_usage_error(runner: FlaskCliRunner, tmp_path: Path) -> None:
    result = runner.invoke(args=["students", "import", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_unknown_columns_are_reported(runner: FlaskCliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        args=["students", "import", write(tmp_path, "name,grade,notes\nAda,7,x\n")]
    )
    assert result.exit_code == 0, result.output
    assert "Not imported (not mapped): “notes”." in result.output


def test_import_with_worker_processes_says_how_the_checking_went(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checking, "PARALLEL_MIN_ROWS", 10)
    rows = "".join(f"Student {n},s{n}@example.org,{n % 12 + 1}\n" for n in range(30))
    path = write(tmp_path, "name,email,grade\n" + rows)
    result = runner.invoke(args=["students", "import", "--jobs", "2", path])
    assert result.exit_code == 0, result.output
    assert "Created 30, updated 0; 0 unchanged; 0 rows with errors." in result.output
    assert "Rows were checked in 2 processes alongside matching and writing: " in result.output
    assert count(app) == 30


def test_import_reads_standard_input(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["students", "import", "-"], input=VALID)
    assert result.exit_code == 0, result.output
    assert count(app) == 2


# --- export -------------------------------------------------------------------------------


@pytest.fixture
def roster(app: Flask) -> Flask:
    add_student(app, name="Carl", email="carl@example.org", grade=5)
    add_student(app, name="Ada", email="ada@example.org", grade=7, birthday=date(2013, 12, 10))
    add_student(app, name="=Bob", grade=7)
    return app


def test_export_to_stdout_matches_the_web_export(roster: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["students", "export", "--grade", "7", "--sort", "-name"])
    assert result.exit_code == 0, result.output
    web = roster.test_client().get("/students/export.csv?grade=7&sort=-name")
    assert result.stdout_bytes == web.data.removeprefix(b"\xef\xbb\xbf")
    assert result.stdout.splitlines()[1:] == [
        "2,Ada,ada@example.org,7,2013-12-10,2020-09-01,enrolled,,,",
        "3,'=Bob,,7,,2020-09-01,enrolled,,,",
    ]


def test_export_to_a_file(roster: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "out.csv"
    result = runner.invoke(args=["students", "export", "-o", str(target), "-q", "example"])
    assert result.exit_code == 0, result.output
    assert "Exported 2 students to" in result.output
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines[0] == (
        "id,name,email,grade,birthday,enrolled_on,status,status_on,reason,destination"
    )
    assert [line.split(",")[1] for line in lines[1:]] == ["Ada", "Carl"]
    assert [path.name for path in target.parent.iterdir()] == ["out.csv"]  # no partial file


def test_export_with_bom(roster: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    runner.invoke(args=["students", "export", "--bom", "-o", str(target)])
    assert target.read_bytes().startswith(b"\xef\xbb\xbfid,")


def test_export_rejects_an_unknown_sort(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["students", "export", "--sort", "shoe_size"])
    assert result.exit_code == 2


def test_export_then_import_changes_nothing(
    roster: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    target = tmp_path / "roster.csv"
    runner.invoke(args=["students", "export", "-o", str(target)])
    result = runner.invoke(args=["students", "import", str(target)])
    assert result.exit_code == 0, result.output
    assert "Created 0, updated 0; 3 unchanged; 0 rows with errors." in result.output


def test_command_line_import_is_audited_as_the_command_line(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    runner.invoke(args=["students", "import", write(tmp_path, VALID, "roster.csv")])
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [(e.actor, e.user_id, e.action, e.entity, e.note) for e in events] == [
            ("command line", None, "create", entity, f"import roster.csv, line {line}")
            for line in (2, 3)
            for entity in ("student", "enrollment")
        ]


def test_students_group_lists_import_and_export(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["students", "--help"])
    assert "import" in result.output
    assert "export" in result.output
