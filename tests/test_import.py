"""CSV import: malformed files, row rules, merge/update/create, all-or-nothing, web flow."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import NullPool, create_engine, func, select, text
from sqlalchemy.exc import IntegrityError

from tests.helpers import add_student, final_page, post_file
from webapp.database import begin_write
from webapp.extensions import db
from webapp.import_export import importer, uploads
from webapp.import_export.importer import Action, ImportFileError, checking, support, writing
from webapp.models import AuditEvent, Enrollment, PendingImport, SchoolYear, Student

HEADER = "id,name,email,grade,birthday,enrolled_on\n"


def plan(app: Flask, text: str | bytes) -> importer.ImportPlan:
    """Plan an import of ``text`` against the app's database (nothing written)."""
    data = text.encode() if isinstance(text, str) else text
    with app.app_context():
        result = importer.plan_import(importer.read_and_validate(data))
        db.session.rollback()
        return result


def apply(app: Flask, text: str, **options: Any) -> importer.ImportResult:
    """Import ``text`` the way the command line does: plan in a write transaction, apply."""
    with app.app_context():
        validated = importer.read_and_validate(text.encode())
        importer.begin_import()
        return importer.apply_plan(importer.plan_import(validated, lock=True), **options)


def students(app: Flask) -> list[dict[str, Any]]:
    """Every student as a dict, by id, with the grade and status of the current year."""
    with app.app_context():
        year_id = db.session.scalar(select(SchoolYear.id).where(SchoolYear.is_current))
        rows = db.session.execute(
            select(Student, Enrollment)
            .outerjoin(
                Enrollment,
                (Enrollment.student_id == Student.id) & (Enrollment.school_year_id == year_id),
            )
            .order_by(Student.id)
        ).all()
        return [
            {
                "id": s.id,
                "name": s.name,
                "email": s.email,
                "grade": e.grade if e else None,
                "status": e.status if e else None,
                "birthday": s.birthday,
                "enrolled_on": s.enrolled_on,
                "version": s.version,
                "created_at": s.created_at,
                "updated_at": s.updated_at,
            }
            for s, e in rows
        ]


def count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Student.id)))


def only_row(result: importer.ImportPlan) -> importer.RowPlan:
    assert len(result.rows) == 1, result.rows
    return result.rows[0]


# --- malformed files ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"", "The file is empty.", id="empty"),
        pytest.param(
            b"\xef\xbb\xbf \r\n\r\n", "only empty lines and empty cells", id="only-bom-and-blanks"
        ),
        pytest.param(HEADER.encode(), "header but no rows", id="header-only"),
        pytest.param(
            b"Ada Lovelace,ada@example.org,7\n", "first line must be a header", id="no-header"
        ),
        pytest.param(b'name,grade\n"Ada,7\n', "not valid CSV", id="unclosed-quote"),
        pytest.param(
            b"name,notes\nAda,x\n", "no column gives the grade", id="create-without-grade"
        ),
        pytest.param(b"PK\x03\x04" + b"\x00" * 40, "damaged", id="broken-zip"),
        pytest.param(b"\x00\x01\x02binary" * 10, "not a text file", id="binary"),
        pytest.param(
            "name,grade\nЖанна,7\n".encode("koi8-r"), "encoding that cannot be read", id="koi8-r"
        ),
        pytest.param(b",,\n , \n", "only empty lines and empty cells", id="only-empty-cells"),
    ],
)
def test_unusable_file_is_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(ImportFileError, match=re.escape(message)):
        importer.parse_csv(data)


def test_file_over_the_limit_is_refused_with_sizes() -> None:
    data = (HEADER + ",Ada,,7,,\n" * 100).encode()
    with pytest.raises(ImportFileError) as raised:
        importer.parse_csv(data, max_bytes=1000)
    assert f"The file is {importer.format_size(len(data))}" in str(raised.value)
    assert "files up to 1 kB can be imported" in str(raised.value)


def test_header_is_matched_ignoring_case_spaces_and_bom(app: Flask) -> None:
    text = "\ufeff NAME ,Email,GRADE,Enrollment Date,Birthday\nAda,ada@example.org,7,2024-09-02,\n"
    result = plan(app, text.encode("utf-8"))
    assert result.fields == ("name", "email", "grade", "birthday", "enrolled_on")
    row = only_row(result)
    assert row.action is Action.CREATE
    assert row.values is not None
    assert row.values["enrolled_on"] == date(2024, 9, 2)


def test_unmapped_columns_are_listed_and_not_imported(app: Flask) -> None:
    result = plan(app, "name,notes,grade,,\nAda,likes maths,7,,\n")
    assert result.unmapped_columns == ("notes",)  # trailing blank columns hold nothing
    assert only_row(result).action is Action.CREATE


def test_a_blank_header_cell_with_values_is_listed_as_unmapped(app: Flask) -> None:
    result = plan(app, "name,,grade\nAda,x,7\n")
    assert result.unmapped_columns == ("column 2",)


def test_a_second_column_for_a_field_is_listed_not_used(app: Flask) -> None:
    parsed = importer.parse_csv(b"name,email,Email,grade\nAda,a@example.org,b@example.org,7\n")
    assert parsed.unmapped_columns == ["Email"]
    assert "“Email” is not used: “email” already gives the email." in parsed.mapping.notes


def test_blank_lines_and_rows_of_empty_cells_are_skipped(app: Flask) -> None:
    result = plan(app, "name,grade\n\nAda,7\n,\n  ,  \nBob,8\n")
    assert [(row.line, row.name) for row in result.rows] == [(3, "Ada"), (6, "Bob")]


def test_blank_lines_before_the_header_are_skipped(app: Flask) -> None:
    result = plan(app, "\n,,\nname,grade\nAda,7\n")
    assert [(row.line, row.action) for row in result.rows] == [(4, Action.CREATE)]


def test_a_huge_cell_in_an_ignored_column_is_no_problem(app: Flask) -> None:
    result = plan(app, "name,grade,notes\nAda,7," + "x" * 300_000 + "\n")
    assert [row.action for row in result.rows] == [Action.CREATE]


def test_digits_of_other_scripts_count_as_in_the_form(app: Flask) -> None:
    """The form's IntegerField reads "٣" (Arabic-Indic three) as 3; so does the import."""
    assert only_row(plan(app, "name,grade\nAda,٣\n")).values["grade"] == 3


def test_emails_are_told_apart_as_the_database_tells_them_apart(app: Flask) -> None:
    """SQLite's lower() folds only A to Z (so does PostgreSQL's under the C locale), so its
    unique index holds both addresses below; the import must agree with the index."""
    upper = add_student(app, name="Upper", email="ÄDA@example.org", grade=7)
    try:
        lower = add_student(app, name="Lower", email="äda@example.org", grade=7)
    except IntegrityError:  # this database folds Ä: one address
        lower = None
    result = apply(app, "name,email,grade\nUpper,ÄDA@example.org,8\nLower,äda@example.org,9\n")
    if lower is None:
        assert (result.updated, result.errors) == (1, 1)
        assert {s["id"]: s["grade"] for s in students(app)} == {upper: 8}
    else:
        assert (result.updated, result.errors) == (2, 0)
        assert {s["id"]: s["grade"] for s in students(app)} == {upper: 8, lower: 9}


def test_line_numbers_count_lines_inside_quoted_cells(app: Flask) -> None:
    result = plan(app, 'name,grade\n"Ada\nLovelace",7\nBob,x\n')
    assert [row.line for row in result.rows] == [2, 4]
    assert result.rows[1].errors == ("The grade 'x' is not a whole number.",)


# --- row rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "message"),
    [
        pytest.param(",Ada,,abc,,", "grade 'abc' is not a whole number.", id="grade-text"),
        pytest.param(",Ada,,13,,", "The grade must be from 1 to 12.", id="grade-range"),
        pytest.param(",Ada,,,,", "Enter a grade from 1 to 12.", id="grade-blank"),
        pytest.param(",Ada,,7.5,,", "grade '7.5' is not a whole number.", id="grade-decimal"),
        pytest.param(",  ,,7,,", "Enter the student's name.", id="name-blank"),
        pytest.param(",Ada,ada(at)example.org,7,,", "Enter a valid email address", id="email"),
        pytest.param(
            ",Ada,,7,12/03/2012,",
            "The birthday '12/03/2012' could be day/month/year or month/day/year; choose the "
            "order of the dates.",
            id="birthday-order-unknown",
        ),
        pytest.param(
            ",Ada,,7,12.03.12,",
            "The birthday '12.03.12' has a two-digit year; write the year in full",
            id="birthday-two-digit-year",
        ),
        pytest.param(",Ada,,7,soon,", "The birthday 'soon' is not a date", id="birthday-text"),
        pytest.param(
            ",Ada,,7,2013-02-30,", "birthday '2013-02-30' is not a real date", id="birthday-day"
        ),
        pytest.param(
            ",Ada,,7,2013-01-01,2024/9/31",
            "The enrollment date '2024/9/31' is not a real date: September 2024 has 30 days.",
            id="enrolled-impossible",
        ),
        pytest.param(
            ",Ada,,7,2013-01-01,2012-09-01",
            "The enrollment date cannot be before the birthday.",
            id="enrolled-before-birthday",
        ),
        pytest.param("x,Ada,,7,,", "id 'x' is not a whole number.", id="id-text"),
        pytest.param("0,Ada,,7,,", "The id 0 is not a student id", id="id-zero"),
        pytest.param(
            "2147483648,Ada,,7,,",
            "The id 2147483648 is not a student id (ids go from 1 to 2147483647).",
            id="id-too-large",
        ),
        pytest.param("1²,Ada,,7,,", "id '1²' is not a whole number.", id="id-superscript"),
        pytest.param(",Ada,,7,", "The row has 5 cells but the header has 6 columns", id="short"),
        pytest.param(",Ada,,7,,,extra", "The row has 7 cells", id="long"),
    ],
)
def test_invalid_row_is_an_error_with_its_reason(app: Flask, row: str, message: str) -> None:
    result = plan(app, HEADER + row + "\n")
    error = only_row(result)
    assert error.action is Action.ERROR
    assert error.line == 2
    assert any(message in text for text in error.errors), error.errors


def test_future_birthday_is_an_error(app: Flask) -> None:
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    error = only_row(plan(app, f"name,grade,birthday\nAda,7,{tomorrow}\n"))
    assert error.errors == ("The birthday cannot be in the future.",)


def test_trailing_empty_cells_are_accepted(app: Flask) -> None:
    assert only_row(plan(app, "name,grade\nAda,7,,\n")).action is Action.CREATE


def test_every_problem_of_a_row_is_reported(app: Flask) -> None:
    error = only_row(plan(app, HEADER + ",,not-an-email,abc,2020-13-01,\n"))
    assert len(error.errors) == 4


def test_names_and_emails_are_cleaned_as_by_the_form(app: Flask) -> None:
    row = only_row(plan(app, "name,email,grade\n  Ada   King ,Ada@EXAMPLE.org ,7\n"))
    assert row.values is not None
    assert row.values["name"] == "Ada King"
    assert row.values["email"] == "Ada@example.org"


def test_duplicate_emails_inside_the_file_ignore_case(app: Flask) -> None:
    result = plan(app, "name,email,grade\nAda,ada@example.org,7\nAdam,ADA@example.org,8\n")
    assert [row.action for row in result.rows] == [Action.CREATE, Action.ERROR]
    assert result.rows[1].errors == ("The email ADA@example.org is also on line 2.",)


def test_email_of_another_student_is_an_error(app: Flask) -> None:
    other = add_student(app, name="Grace Hopper", email="grace@example.org", grade=9)
    ada = add_student(app, name="Ada", email="ada@example.org", grade=7)
    error = only_row(plan(app, f"id,email\n{ada},GRACE@example.org\n"))
    assert error.action is Action.ERROR
    assert error.errors == (
        f"The email GRACE@example.org belongs to another student, Grace Hopper (id {other}).",
    )


def test_a_student_changed_by_two_rows_is_an_error(app: Flask) -> None:
    ada = add_student(app, name="Ada", email="ada@example.org", grade=7)
    result = plan(app, f"id,name,email,grade\n{ada},Ada,,8\n,Ada,ada@example.org,9\n")
    assert result.rows[0].action is Action.UPDATE
    assert result.rows[1].action is Action.ERROR
    assert result.rows[1].errors == (f"This row changes student {ada} (Ada), as line 2 does.",)


def test_new_student_needs_name_and_grade(app: Flask) -> None:
    error = only_row(plan(app, "id,email\n,new@example.org\n"))
    assert error.errors == (
        "A new student needs a name; this row has none.",
        "A new student needs a grade; this row has none.",
    )


# --- merge / update / create --------------------------------------------------------------


def test_row_with_a_known_id_updates_only_the_given_columns(app: Flask) -> None:
    ada = add_student(app, name="Ada", email="ada@example.org", grade=7, birthday=date(2013, 1, 2))
    row = only_row(plan(app, f"id,grade,name\n{ada},8,Ada\n"))
    assert row.action is Action.UPDATE
    assert [(c.field, c.old, c.new) for c in row.changes] == [("grade", 7, 8)]

    apply(app, f"id,grade,name\n{ada},8,Ada\n")
    [stored] = students(app)
    assert stored["grade"] == 8
    assert stored["birthday"] == date(2013, 1, 2)
    assert stored["email"] == "ada@example.org"


def test_row_with_a_free_id_creates_the_student_with_that_id(app: Flask) -> None:
    result = apply(app, "id,name,grade\n42,Ada,7\n")
    assert result.created == 1
    assert [s["id"] for s in students(app)] == [42]


def test_new_students_after_an_explicit_id_get_fresh_ids(app: Flask) -> None:
    """On PostgreSQL the id sequence must be moved past the ids the file set."""
    apply(app, "id,name,grade\n42,Ada,7\n")
    apply(app, "name,grade\nBob,8\n")
    add_student(app, name="Carl", grade=9)
    ids = [s["id"] for s in students(app)]
    assert len(set(ids)) == 3
    assert ids[0] == 42


def test_row_without_id_matching_an_email_updates_that_student(app: Flask) -> None:
    ada = add_student(app, name="Ada", email="Ada@example.org", grade=7)
    row = only_row(plan(app, "name,email,grade\nAda King,ada@EXAMPLE.org,7\n"))
    assert row.action is Action.UPDATE
    assert row.student_id == ada
    assert {c.field for c in row.changes} == {"name", "email"}


def test_row_without_id_or_known_email_creates_a_student(app: Flask) -> None:
    add_student(app, name="Ada", email="ada@example.org", grade=7)
    result = apply(app, "name,email,grade\nAda,other@example.org,7\nNo Email,,3\n")
    assert (result.created, result.updated) == (2, 0)
    assert count(app) == 3


def test_identical_row_is_unchanged(app: Flask) -> None:
    ada = add_student(app, name="Ada", email="ada@example.org", grade=7)
    row = only_row(plan(app, f"id,name,email,grade\n{ada},Ada,ada@example.org,7\n"))
    assert row.action is Action.UNCHANGED
    assert row.changes == ()


def test_blank_optional_cells_clear_and_blank_enrollment_keeps(app: Flask) -> None:
    ada = add_student(
        app,
        name="Ada",
        email="ada@example.org",
        grade=7,
        birthday=date(2013, 1, 2),
        enrolled_on=date(2019, 9, 2),
    )
    apply(app, f"id,email,birthday,enrolled_on\n{ada},,,\n")
    [stored] = students(app)
    assert stored["email"] is None
    assert stored["birthday"] is None
    assert stored["enrolled_on"] == date(2019, 9, 2)


def test_new_student_without_enrollment_date_is_enrolled_today(app: Flask) -> None:
    apply(app, "name,grade,enrolled_on\nAda,7,\n")
    assert students(app)[0]["enrolled_on"] == date.today()


def test_enrollment_is_checked_against_the_stored_birthday(app: Flask) -> None:
    ada = add_student(app, name="Ada", grade=7, birthday=date(2013, 1, 2))
    error = only_row(plan(app, f"id,enrolled_on\n{ada},2012-09-01\n"))
    assert error.errors == ("The enrollment date cannot be before the birthday.",)


def test_update_bumps_version_and_updated_at_and_keeps_created_at(app: Flask) -> None:
    ada = add_student(app, name="Ada", grade=7)
    [before] = students(app)
    apply(app, f"id,name\n{ada},Ada King\n")
    [after] = students(app)
    assert after["version"] == before["version"] + 1
    assert after["updated_at"] > before["updated_at"]
    assert after["created_at"] == before["created_at"]


def test_created_students_get_timestamps_and_version_one(app: Flask) -> None:
    started = datetime.now(UTC)
    apply(app, "name,grade\nAda,7\n")
    [stored] = students(app)
    assert stored["version"] == 1
    assert stored["created_at"] == stored["updated_at"]
    assert stored["created_at"] >= started - timedelta(seconds=1)


# --- applying -----------------------------------------------------------------------------

MIXED = "name,email,grade\nAda,ada@example.org,7\nBob,bob@example.org,x\nCarl,,9\n"


def test_valid_rows_are_written_and_rows_with_errors_skipped(app: Flask) -> None:
    result = apply(app, MIXED)
    assert (result.created, result.errors, result.written) == (2, 1, True)
    assert sorted(s["name"] for s in students(app)) == ["Ada", "Carl"]


def test_all_or_nothing_writes_nothing_when_a_row_has_an_error(app: Flask) -> None:
    result = apply(app, MIXED, all_or_nothing=True)
    assert result.written is False
    assert result.created == 2  # what it would have done
    assert count(app) == 0


def test_all_or_nothing_writes_everything_when_every_row_is_valid(app: Flask) -> None:
    result = apply(app, "name,grade\nAda,7\nBob,8\n", all_or_nothing=True)
    assert result.written is True
    assert count(app) == 2


def test_dry_run_writes_nothing(app: Flask) -> None:
    result = apply(app, MIXED, dry_run=True)
    assert (result.created, result.written) == (2, False)
    assert count(app) == 0


def test_large_import_is_written_in_batches(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(support, "WRITE_BATCH_SIZE", 7)
    monkeypatch.setattr(support, "LOOKUP_BATCH_SIZE", 5)
    rows = "".join(f"Student {n},s{n}@example.org,{n % 12 + 1}\n" for n in range(40))
    assert apply(app, "name,email,grade\n" + rows).created == 40
    update = "".join(f"s{n}@example.org,{(n + 1) % 12 + 1}\n" for n in range(40))
    result = apply(app, "email,grade\n" + update)
    assert (result.created, result.updated) == (0, 40)
    assert [s["grade"] for s in students(app)] == [(n + 1) % 12 + 1 for n in range(40)]
    # The grade is the enrollment's: the students' own rows are left alone.
    assert {s["version"] for s in students(app)} == {1}
    with app.app_context():
        assert set(db.session.scalars(select(Enrollment.version))) == {2}


def test_rows_checked_in_worker_processes_match_one_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(checking, "PARALLEL_MIN_ROWS", 10)
    monkeypatch.setattr(checking, "PROGRESS_EVERY", 7)
    rows = "".join(f"Student {n},s{n}@example.org,{n % 14}\n" for n in range(60))
    parsed = importer.parse_csv(("name,email,grade\n" + rows).encode())
    chunks = [rows for rows, _ in importer.iter_validated(parsed, jobs=2)]
    serial = importer.validate_rows(parsed, jobs=1)
    assert [row for chunk in chunks for row in chunk] == serial.rows
    assert len(chunks) > 1


def test_plan_digest_changes_when_the_roster_does(app: Flask) -> None:
    text = "name,email,grade\nAda,ada@example.org,7\n"
    before = plan(app, text).digest()
    assert plan(app, text).digest() == before
    add_student(app, name="Ada", email="ada@example.org", grade=6)
    assert plan(app, text).digest() != before


def test_new_students_never_get_the_id_of_a_deleted_one(app: Flask) -> None:
    add_student(app, name="Ada", grade=7)
    last = add_student(app, name="Bob", grade=8)
    with app.app_context():
        db.session.delete(db.session.get(Student, last))
        db.session.commit()
    apply(app, "name,grade\nCarl,9\n")
    assert [s["name"] for s in students(app)] == ["Ada", "Carl"]
    assert students(app)[1]["id"] > last


# --- streamed import (the command line's) -------------------------------------------------


def streamed(
    app: Flask, text: str, **options: Any
) -> tuple[importer.ImportResult, list[importer.RowPlan]]:
    """Import ``text`` as ``flask students import`` does; also return every row's plan."""
    seen: list[importer.RowPlan] = []
    with app.app_context():
        parsed = importer.parse_csv(text.encode())
        result = importer.run_import(parsed, on_rows=seen.extend, **options)
    return result, seen


def outcome(rows: list[importer.RowPlan]) -> list[tuple[Any, ...]]:
    """What a plan says of each row (without the ids that writing gives new students)."""
    return [
        (
            row.line,
            row.action,
            None if row.action is Action.CREATE else row.student_id,
            row.name,
            [(c.field, c.old, c.new) for c in row.changes],
            row.errors,
        )
        for row in rows
    ]


@pytest.fixture
def one_row_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stream one row at a time: every row is matched after the rows before were written."""
    monkeypatch.setattr(checking, "PROGRESS_EVERY", 1)
    monkeypatch.setattr(support, "WRITE_BATCH_SIZE", 1)


@pytest.mark.usefixtures("one_row_chunks")
def test_streamed_import_judges_rows_against_the_roster_as_it_was(app: Flask) -> None:
    """Rows written earlier in the same import do not change how later rows are judged."""
    ada = add_student(app, name="Ada", email="ada@example.org", grade=7)
    grace = add_student(app, name="Grace", email="grace@example.org", grade=9)
    text = (
        "id,name,email,grade\n"
        f"{ada},Ada,ada.new@example.org,8\n"  # moves Ada's address away...
        ",Ann,ada@example.org,5\n"  # ...which still finds Ada
        "77,Merged,merged@example.org,6\n"  # creates student 77
        "77,Again,,6\n"  # 77 again
        ",Fresh,fresh@example.org,4\n"
        ",Fresh Two,FRESH@example.org,4\n"  # address of a student created above
        ",Grace Hopper,grace@example.org,9\n"  # updates Grace by address
        ",Other,ada.new@example.org,3\n"  # the address line 2 gave Ada
        f"{grace},Grace,,9\n"  # Grace again
    )
    expected = plan(app, text)
    result, rows = streamed(app, text)

    assert outcome(rows) == outcome(expected.rows)
    assert [row.action for row in rows] == [
        Action.UPDATE,
        Action.ERROR,
        Action.CREATE,
        Action.ERROR,
        Action.CREATE,
        Action.ERROR,
        Action.UPDATE,
        Action.ERROR,
        Action.ERROR,
    ]
    assert rows[1].errors == (f"This row changes student {ada} (Ada), as line 2 does.",)
    assert (result.created, result.updated, result.errors, result.written) == (2, 2, 5, True)
    stored = {s["name"]: s for s in students(app)}
    assert stored["Ada"]["email"] == "ada.new@example.org"
    assert stored["Grace Hopper"]["id"] == grace
    assert stored["Merged"]["id"] == 77
    assert stored["Fresh"]["id"] > 77  # above every id the file names


@pytest.mark.usefixtures("one_row_chunks")
def test_streamed_all_or_nothing_rolls_back_the_rows_already_written(app: Flask) -> None:
    result, _ = streamed(app, MIXED, all_or_nothing=True)
    assert (result.created, result.errors, result.written) == (2, 1, False)
    assert count(app) == 0


@pytest.mark.usefixtures("one_row_chunks")
def test_streamed_dry_run_writes_nothing(app: Flask) -> None:
    add_student(app, name="Ada", email="ada@example.org", grade=6)
    result, rows = streamed(app, MIXED, dry_run=True)
    assert (result.created, result.updated, result.errors, result.written) == (1, 1, 1, False)
    assert [row.action for row in rows] == [Action.UPDATE, Action.ERROR, Action.CREATE]
    assert count(app) == 1
    assert events(app) == []


def test_streamed_import_with_worker_processes(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checking, "PARALLEL_MIN_ROWS", 10)
    monkeypatch.setattr(checking, "PROGRESS_EVERY", 7)
    monkeypatch.setattr(support, "WRITE_BATCH_SIZE", 7)
    rows = "".join(f"Student {n},s{n}@example.org,{n % 14}\n" for n in range(60))
    text = "name,email,grade\n" + rows
    expected = plan(app, text)
    result, seen = streamed(app, text, jobs=2)
    assert outcome(seen) == outcome(expected.rows)
    assert (result.created, result.errors) == (51, 9)  # grades 0 and 13 are refused
    assert result.timings["check"] > 0
    assert count(app) == 51
    assert len(events(app)) == 2 * 51  # each new student, and its enrollment


def ids_by_name(app: Flask) -> dict[str, int]:
    return {s["name"]: s["id"] for s in students(app)}


@pytest.mark.parametrize("chunks", ["one row a chunk", "default chunks"])
def test_streamed_new_students_never_take_an_id_a_later_row_gives(
    app: Flask, monkeypatch: pytest.MonkeyPatch, chunks: str
) -> None:
    """Also when the first chunks create nobody (an exported roster with rows added)."""
    if chunks == "one row a chunk":
        monkeypatch.setattr(checking, "PROGRESS_EVERY", 1)
        monkeypatch.setattr(support, "WRITE_BATCH_SIZE", 1)
    for n in range(70):
        add_student(app, name=f"S{n}", grade=5)
    text = "id,name,grade\n" + "".join(f"{n + 1},S{n},6\n" for n in range(70))
    text += ",New,5\n71,Other,5\n"
    result, _ = streamed(app, text)
    assert (result.created, result.updated, result.written) == (2, 70, True)
    assert ids_by_name(app)["Other"] == 71
    assert ids_by_name(app)["New"] == 72


@pytest.mark.parametrize("how", ["streamed", "planned then applied"])
def test_fresh_ids_follow_the_ids_of_the_file_and_of_the_roster_alike(app: Flask, how: str) -> None:
    """The same ids both ways: a row with the wrong number of cells names no id, and a
    student matched by email does not move the id sequence."""
    add_student(app, name="Ada", email="ada@example.org", grade=7)
    text = "id,name,email,grade\n,Ada,ada@example.org,8\n,Bob,,5\n50,Cat\n"
    result = streamed(app, text)[0] if how == "streamed" else apply(app, text)
    assert (result.created, result.updated, result.errors) == (1, 1, 1)
    assert ids_by_name(app) == {"Ada": 1, "Bob": 2}


@pytest.mark.usefixtures("one_row_chunks")
def test_streamed_plans_are_not_changed_by_writes_rolled_back(app: Flask) -> None:
    result, rows = streamed(app, "name,grade\nAda,7\nBob,x\n", all_or_nothing=True)
    assert not result.written
    assert [(row.action, row.student_id) for row in rows] == [
        (Action.CREATE, None),
        (Action.ERROR, None),
    ]
    assert count(app) == 0


@pytest.mark.postgres_only
def test_one_import_writes_at_a_time_on_postgresql(app: Flask, database_url: str) -> None:
    other = create_engine(database_url, poolclass=NullPool)
    try:
        with app.app_context():
            importer.begin_import()
            with other.connect() as connection:
                free = connection.scalar(
                    text("SELECT pg_try_advisory_xact_lock(:key)"),
                    {"key": importer.IMPORT_LOCK_KEY},
                )
                assert free is False
            db.session.rollback()
        with other.connect() as connection:
            free = connection.scalar(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": importer.IMPORT_LOCK_KEY}
            )
            assert free is True
    finally:
        other.dispose()


def test_a_row_the_database_refuses_rolls_back_the_whole_import(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A concurrent save of the same address (simulated: the race cannot be timed here)."""
    real_insert = writing._insert

    def insert_after_a_concurrent_save(rows: Any, ids: Any, now: Any) -> None:
        db.session.execute(
            Student.__table__.insert().values(
                name="Zed", email="carl@example.org", sourced_id="z", enrolled_on=date(2020, 9, 1)
            )
        )
        real_insert(rows, ids, now)

    monkeypatch.setattr(writing, "_insert", insert_after_a_concurrent_save)
    with pytest.raises(importer.ImportConflictError, match="nothing was written"):
        streamed(app, "name,email,grade\nAda,ada@example.org,7\nCarl,carl@example.org,9\n")
    with pytest.raises(importer.ImportConflictError):
        apply(app, "name,email,grade\nCarl,carl@example.org,9\n")
    assert count(app) == 0
    assert events(app) == []


# --- audit trail --------------------------------------------------------------------------


def events(app: Flask) -> list[AuditEvent]:
    with app.app_context():
        found = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        db.session.expunge_all()
        return list(found)


def test_imported_changes_are_audited_like_form_saves(app: Flask) -> None:
    ada = add_student(app, name="Ada", email="ada@example.org", grade=7)
    with app.app_context():
        validated = importer.read_and_validate(
            f"id,name,grade,birthday\n{ada},Ada,8,2013-12-10\n,Bob,3,\n".encode()
        )
        begin_write()
        importer.apply_plan(importer.plan_import(validated, lock=True), source="roster.csv")
    bob = next(s["id"] for s in students(app) if s["name"] == "Bob")
    update, regrade, create, enroll = events(app)
    assert (update.action, update.student_id, update.student_name) == ("update", ada, "Ada")
    assert (update.entity, update.entity_id) == ("student", ada)
    assert update.changes == {"birthday": [None, "2013-12-10"]}
    assert update.note == "import roster.csv, line 2"
    assert update.actor == "command line"
    assert (regrade.action, regrade.entity, regrade.student_id) == ("update", "enrollment", ada)
    assert regrade.changes == {"grade": [7, 8]}
    assert (create.action, create.student_id, create.student_name) == ("create", bob, "Bob")
    assert create.changes == {
        "name": [None, "Bob"],
        "enrolled_on": [None, date.today().isoformat()],
    }
    assert create.note == "import roster.csv, line 3"
    assert (enroll.action, enroll.entity, enroll.student_id) == ("create", "enrollment", bob)
    assert enroll.changes == {
        "grade": [None, 3],
        "status": [None, "enrolled"],
        "entered_on": [None, date.today().isoformat()],
    }


def test_unchanged_rows_errors_and_dry_runs_are_not_audited(app: Flask) -> None:
    ada = add_student(app, name="Ada", grade=7)
    apply(app, f"id,name,grade\n{ada},Ada,7\n,Bob,x\n")
    apply(app, "name,grade\nCarl,7\n", dry_run=True)
    assert events(app) == []


# --- web flow -----------------------------------------------------------------------------


def upload(client: FlaskClient, text: str | bytes, filename: str = "students.csv") -> Any:
    data = text.encode() if isinstance(text, str) else text
    return post_file(client, data, filename)


def pending(app: Flask) -> int:
    """How many uploads wait for their confirm."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(PendingImport))


def test_upload_page_shows_the_form_and_the_columns(client: FlaskClient) -> None:
    html = client.get("/students/import").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html
    assert 'type="file"' in html
    assert "enrolled_on" in html


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        pytest.param(None, None, "Choose a file to import.", id="no-file"),
        pytest.param(b"name,grade\nAda,7\n", "students.xls", "Choose a .csv, .xlsx", id="xls"),
        pytest.param(
            b"name,grade\nAda,7\n", "students.xlsx", "is not an Excel workbook", id="fake-xlsx"
        ),
        pytest.param(b"", "s.csv", "The file is empty.", id="empty"),
        pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" * 4, "s.xlsx", "97-2003", id="ole2"),
    ],
)
def test_bad_upload_shows_the_form_again_with_the_error_beside_the_field(
    app: Flask, client: FlaskClient, data: bytes | None, filename: str, message: str
) -> None:
    if data is None:
        response = client.post("/students/import", data={}, content_type="multipart/form-data")
    else:
        response = final_page(client, upload(client, data, filename))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = re.search(r'<p class="field-error" id="file-error">(.*?)</p>', html, re.S)
    assert error is not None
    assert message in error.group(1).replace("&#34;", '"').replace("&#39;", "'")
    assert 'action="/students/import"' in html
    assert count(app) == 0
    with app.app_context():  # a failed upload keeps nothing of the file
        assert not db.session.scalar(select(func.max(func.length(PendingImport.table))))


def test_file_over_the_import_limit_gets_422_with_the_limit(
    app: Flask, client: FlaskClient
) -> None:
    app.config["IMPORT_MAX_BYTES"] = 2_000
    response = upload(client, "name,grade\n" + "Ada Lovelace,7\n" * 200)
    assert response.status_code == 422
    assert "files up to 2 kB can be imported" in response.get_data(as_text=True)


def test_body_far_over_the_limit_gets_413_with_a_clear_message(
    app: Flask, client: FlaskClient
) -> None:
    app.config["IMPORT_MAX_BYTES"] = 2_000
    response = upload(client, "name,grade\n" + "Ada Lovelace,7\n" * 10_000)
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "files up to 2 kB can be imported" in html
    assert 'type="file"' in html


def test_upload_shows_a_preview_and_writes_nothing(app: Flask, client: FlaskClient) -> None:
    ada = add_student(app, name="Ada", email="ada@example.org", grade=7)
    text = f"id,name,grade,notes\n{ada},Ada,8,moved up\n,Bob,x,\n,Carl,9,\n"
    response = upload(client, text)
    assert response.status_code == 303
    preview = client.get(response.location)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert re.search(r"<dt>New students</dt><dd>1</dd>", html)
    assert re.search(r"<dt>Changed</dt><dd>1</dd>", html)
    assert re.search(r"<dt>Rows with errors</dt><dd>1</dd>", html)
    assert "grade &#39;x&#39; is not a whole number." in html
    assert "<del>7</del>" in html
    assert "<ins>8</ins>" in html
    assert re.search(r'id="unmapped-columns">.*“notes”', html, re.S)
    assert "CSV file, UTF-8, comma-separated" in html
    assert count(app) == 1
    assert pending(app) == 1


def test_preview_filters_and_pages_rows(app: Flask, client: FlaskClient) -> None:
    rows = "".join(f"Student {n},{n % 12 + 1}\n" for n in range(150)) + "Bad,x\n"
    location = upload(client, "name,grade\n" + rows).location
    first = client.get(location).get_data(as_text=True)
    assert first.count('class="import-row ') == 100
    assert 'rel="next"' in first
    second = client.get(location + "?page=2").get_data(as_text=True)
    assert second.count('class="import-row ') == 51
    errors = client.get(location + "?show=error").get_data(as_text=True)
    assert errors.count('class="import-row ') == 1
    assert "Bad" in errors


def test_confirm_applies_the_import_and_shows_the_totals(app: Flask, client: FlaskClient) -> None:
    location = upload(client, MIXED).location
    response = client.post(location, data={"confirm": "Import"})
    assert response.status_code == 303
    assert response.location == location + "/result"
    html = client.get(response.location).get_data(as_text=True)
    assert "Import finished" in html
    assert re.search(r"<dt>Students added</dt><dd>2</dd>", html)
    assert re.search(r"<dt>Rows with errors, not imported</dt><dd>1</dd>", html)
    assert count(app) == 2
    assert pending(app) == 0
    assert {(e.actor, e.note) for e in events(app)} == {
        ("admin@school.example", "import students.csv, line 2"),
        ("admin@school.example", "import students.csv, line 4"),
    }


def test_confirm_all_or_nothing_with_errors_writes_nothing(app: Flask, client: FlaskClient) -> None:
    location = upload(client, MIXED).location
    response = client.post(location, data={"confirm": "Import", "all_or_nothing": "y"})
    html = client.get(response.location).get_data(as_text=True)
    assert "Nothing was imported" in html
    assert count(app) == 0
    assert pending(app) == 0


def test_cancel_deletes_the_upload_and_writes_nothing(app: Flask, client: FlaskClient) -> None:
    location = upload(client, MIXED).location
    response = client.post(location, data={"cancel": "Cancel import"})
    assert response.status_code == 302
    assert response.location == "/students/import"
    assert count(app) == 0
    assert pending(app) == 0
    assert client.get(location).status_code == 302


def test_second_confirm_does_not_import_twice(app: Flask, client: FlaskClient) -> None:
    location = upload(client, "name,grade\nAda,7\n").location
    client.post(location, data={"confirm": "Import"})
    again = client.post(location, data={"confirm": "Import"}, follow_redirects=True)
    assert "no longer available" in again.get_data(as_text=True)
    assert count(app) == 1


def test_confirm_after_the_roster_changed_shows_the_new_preview(
    app: Flask, client: FlaskClient
) -> None:
    location = upload(client, "name,email,grade\nAda,ada@example.org,7\n").location
    add_student(app, name="Ada", email="ada@example.org", grade=6)  # someone else, meanwhile
    response = client.post(location, data={"confirm": "Import"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "The roster changed since this preview was made" in html
    assert re.search(r"<dt>Changed</dt><dd>1</dd>", html)
    assert count(app) == 1
    # Confirming the new preview applies it.
    client.post(location, data={"confirm": "Import"})
    assert students(app)[0]["grade"] == 7


def test_an_upload_belongs_to_the_user_who_made_it(app: Flask, client: FlaskClient) -> None:
    location = upload(client, "name,grade\nAda,7\n").location
    other = app.test_client(user="editor")
    assert other.get(location).status_code == 302
    assert other.post(location, data={"confirm": "Import"}).status_code == 302
    assert count(app) == 0
    assert client.get(location).status_code == 200


def test_the_same_account_may_finish_an_import_from_another_browser(
    app: Flask, client: FlaskClient
) -> None:
    location = upload(client, "name,grade\nAda,7\n").location
    other_browser = app.test_client(user="admin")
    assert other_browser.get(location).status_code == 200


def test_viewers_may_not_import(app: Flask) -> None:
    viewer = app.test_client(user="viewer")
    assert viewer.get("/students/import").status_code == 403
    assert upload(viewer, "name,grade\nAda,7\n").status_code == 403


def test_expired_upload_is_gone(app: Flask, client: FlaskClient) -> None:
    location = upload(client, "name,grade\nAda,7\n").location
    app.config["IMPORT_UPLOAD_TTL"] = 0
    response = client.get(location, follow_redirects=True)
    assert "no longer available" in response.get_data(as_text=True)


def test_expired_uploads_are_swept_on_the_next_upload(app: Flask, client: FlaskClient) -> None:
    upload(client, "name,grade\nAda,7\n")
    with app.test_request_context():
        assert uploads.purge_expired(now=datetime.now(UTC) + timedelta(seconds=3601)) == 1
        db.session.commit()
    assert pending(app) == 0


@pytest.mark.parametrize("token", ["../../etc/passwd", "x" * 32, "short"])
def test_unknown_or_malformed_token_is_gone(client: FlaskClient, token: str) -> None:
    assert client.get(f"/students/import/{token}").status_code in {302, 404}


def test_upload_and_confirm_need_a_csrf_token(csrf_app: Flask) -> None:
    client = csrf_app.test_client()
    response = upload(client, "name,grade\nAda,7\n")
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
