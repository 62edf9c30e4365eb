"""The command line's streamed import: the file is read twice, never kept as records."""

from __future__ import annotations

import dataclasses
import io
import tracemalloc
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.helpers import add_student
from tests.test_import import outcome, plan, students
from webapp.extensions import db
from webapp.import_export import importer
from webapp.import_export.importer import Action, checking, support, writing
from webapp.import_export.importer import table as table_module
from webapp.import_export.importer.reading import StreamedRecords
from webapp.import_export.importer.support import IdRuns
from webapp.models import Enrollment, EnrollmentCount

TODAY = date(2026, 11, 30)


def roster_csv(rows: int) -> bytes:
    """A CSV of ``rows`` valid new students."""
    lines = (
        f"Student {n},s{n}@example.org,{n % 12 + 1},2015-03-{n % 28 + 1:02d}\n" for n in range(rows)
    )
    return ("name,email,grade,birthday\n" + "".join(lines)).encode()


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 100 to 200 rows, and at most 500 distinct values kept per column."""
    monkeypatch.setattr(support, "WRITE_BATCH_SIZE", 200)
    monkeypatch.setattr(checking, "PROGRESS_EVERY", 100)
    monkeypatch.setattr(table_module, "DISTINCT_MAX", 500)


def traced_peak(work: Any) -> tuple[Any, int]:
    """Run ``work()``; return its result and the peak of Python allocations during it (bytes)."""
    tracemalloc.start()
    try:
        result = work()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.usefixtures("small_batches")
def test_streamed_read_holds_one_record_not_the_file() -> None:
    rows = 20_000
    data = roster_csv(rows)
    kept, kept_peak = traced_peak(lambda: importer.parse_csv(data, max_bytes=10**9))
    assert isinstance(kept.records, list)
    del kept
    # Kept as lists, the records of 20,000 rows take about 8 MB (450 bytes a row).
    assert kept_peak > 6_000_000

    parsed, read_peak = traced_peak(lambda: importer.parse_csv(data, max_bytes=10**9, stream=True))
    assert isinstance(parsed.records, StreamedRecords)
    assert len(parsed.records) == rows
    assert parsed.date_orders == {"birthday": "ymd"}
    # The first pass: the reader's buffers (a megabyte of the file is decoded at once to
    # check it is UTF-8) and at most 500 distinct values a column, whatever the rows.
    assert read_peak < 3_000_000

    def read_again() -> tuple[int, int]:
        records = iter(parsed.records)
        next(records)  # the reader's start: the same buffers as above
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        count = 1 + sum(1 for _ in records)
        return count, tracemalloc.get_traced_memory()[1] - start

    (count, rest_peak), _ = traced_peak(read_again)
    assert count == rows
    assert rest_peak < 100_000  # one record and the decoder's few kilobytes


class Counted:
    """Records that count how many have been read."""

    def __init__(self, records: StreamedRecords) -> None:
        self.records = records
        self.read = 0

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Any:
        for record in self.records:
            self.read += 1
            yield record


@pytest.mark.parametrize("jobs", [1, 2])
def test_checking_reads_the_records_a_few_chunks_ahead(
    monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    monkeypatch.setattr(checking, "PARALLEL_MIN_ROWS", 10)
    monkeypatch.setattr(checking, "PROGRESS_EVERY", 10)
    monkeypatch.setattr(support, "WRITE_BATCH_SIZE", 10)
    parsed = importer.parse_csv(roster_csv(1_000), stream=True)
    assert isinstance(parsed.records, StreamedRecords)
    counted = Counted(parsed.records)
    chunks = importer.iter_validated(
        dataclasses.replace(parsed, records=counted), jobs=jobs, today=TODAY
    )
    first, _ = next(chunks)
    # Serial: the first chunk only; worker processes: as many as they may run ahead.
    assert counted.read <= 10 * (1 if jobs == 1 else jobs * checking.AHEAD_PER_PROCESS + 1)
    assert sum(len(chunk) for chunk, _ in chunks) + len(first) == 1_000
    assert counted.read == 1_000


def test_streamed_records_read_the_same_rows_again() -> None:
    text = b"name,Notes,grade\nAnn,x,3\n\nBob,,4,,,\nCy,y,5,extra\n"
    keep = lambda header: [0, 2]  # noqa: E731 - as intake's mapping gives it
    listed = importer.read_file(text, "x.csv", keep=keep)
    streamed = importer.read_file(text, "x.csv", keep=keep, stream=True)
    assert list(streamed.records) == list(streamed.records) == listed.records
    assert listed.records == [
        (2, ["Ann", "", "3"]),
        (4, ["Bob", "", "4"]),
        (5, ["Cy", "", "5", "extra"]),
    ]
    assert streamed.examples == listed.examples
    assert streamed.distinct == ({"Ann", "Bob", "Cy"}, None, {"3", "4", "5"})


def test_streamed_read_refuses_what_the_kept_read_refuses() -> None:
    limits = importer.ImportLimits(max_rows=3)
    with pytest.raises(importer.ImportFileError, match="more than 3 rows"):
        importer.read_file(b"name,grade\n" + b"Ann,3\n" * 4, "x.csv", limits=limits, stream=True)
    with pytest.raises(ValueError, match="packed"):
        importer.read_file(b"name\nAnn\n", "x.csv", pack=True, stream=True)


def test_date_order_of_a_column_with_many_values_reads_the_file_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(table_module, "DISTINCT_MAX", 3)
    text = "name,grade,birthday\n" + "".join(
        f"S{n},3,{n % 12 + 1:02d}/{n // 12 % 12 + 1:02d}/2015\n" for n in range(40)
    )
    text += "Late,3,25/12/2015\n"  # the one date that shows the order, after many others
    parsed = importer.parse_csv(text.encode(), stream=True)
    assert parsed.date_orders == {"birthday": "dmy"}


#: Rows whose outcome depends on the roster as it was, on earlier rows of the file, on
#: ids the file gives and on a date order the values show late.
TRICKY = (
    "id,name,email,grade,birthday\n"
    "{ada},Ada,ada.new@example.org,8,\n"
    ",Ann,ada@example.org,5,03/04/2015\n"
    "77,Merged,merged@example.org,6,\n"
    "77,Again,,6,\n"
    ",Fresh,fresh@example.org,4,\n"
    ",Fresh Two,FRESH@example.org,4,\n"
    ",Grace Hopper,grace@example.org,9,\n"
    ",Other,ada.new@example.org,3,\n"
    "{grace},Grace,,9,\n"
    ",Late,late@example.org,2,25/12/2015\n"
)


@pytest.mark.parametrize("chunk", [1, 5000], ids=["one row a chunk", "default chunks"])
def test_streamed_file_imports_as_the_kept_one(
    app: Flask, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(checking, "PROGRESS_EVERY", min(chunk, 1000))
    monkeypatch.setattr(support, "WRITE_BATCH_SIZE", chunk)
    monkeypatch.setattr(writing, "ANALYZE_FIRST_AT", 1)  # PostgreSQL: ANALYZE in the import
    ada = add_student(app, name="Ada", email="ada@example.org", grade=7)
    grace = add_student(app, name="Grace", email="grace@example.org", grade=9)
    text = TRICKY.format(ada=ada, grace=grace)
    expected = plan(app, text)
    seen: list[importer.RowPlan] = []
    with app.app_context():
        parsed = importer.parse_csv(text.encode(), stream=True)
        assert isinstance(parsed.records, StreamedRecords)
        result = importer.run_import(parsed, on_rows=seen.extend, today=TODAY)
    assert outcome(seen) == outcome(expected.rows)
    assert [row.action for row in seen].count(Action.CREATE) == 3
    assert (result.created, result.updated, result.errors, result.written) == (3, 2, 5, True)
    stored = {s["name"]: s for s in students(app)}
    assert stored["Merged"]["id"] == 77
    assert stored["Fresh"]["id"] > 77  # above every id the file names
    assert stored["Late"]["birthday"] == date(2015, 12, 25)
    with app.app_context():  # the triggers kept the counts (one statement per chunk)
        kept = db.session.execute(
            select(
                EnrollmentCount.school_year_id,
                EnrollmentCount.grade,
                EnrollmentCount.status,
                EnrollmentCount.students,
            ).where(EnrollmentCount.students != 0)
        ).all()
        counted = db.session.execute(
            select(
                Enrollment.school_year_id, Enrollment.grade, Enrollment.status, func.count()
            ).group_by(Enrollment.school_year_id, Enrollment.grade, Enrollment.status)
        ).all()
        assert sorted(kept) == sorted(counted)
        assert sum(row[3] for row in kept) == 5


def test_streamed_file_checked_in_worker_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checking, "PARALLEL_MIN_ROWS", 10)
    monkeypatch.setattr(checking, "PROGRESS_EVERY", 7)
    monkeypatch.setattr(support, "WRITE_BATCH_SIZE", 7)
    rows = "".join(f"Student {n},s{n}@example.org,{n % 14}\n" for n in range(60))
    data = ("name,email,grade\n" + rows).encode()
    parsed = importer.parse_csv(data, stream=True)
    chunks = [rows for rows, _ in importer.iter_validated(parsed, jobs=2, today=TODAY)]
    serial = importer.validate_rows(importer.parse_csv(data), today=TODAY)
    assert [row for chunk in chunks for row in chunk] == serial.rows
    assert len(chunks) > checking.AHEAD_PER_PROCESS * 2  # more chunks than run ahead


def test_id_runs() -> None:
    runs = IdRuns()
    runs.update(range(100, 200))
    runs.update(range(200, 300))
    assert len(runs) == 1
    runs.update([5, 7, 6, 50, 99, 1000])
    assert len(runs) == 4  # 5-7, 50, 99-299, 1000
    members = [n for n in range(1100) if n in runs]
    assert members == [5, 6, 7, 50, *range(99, 300), 1000]
    assert "7" not in runs


def test_streamed_read_of_a_file_reads_it_in_place(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes(b"prefix" + roster_csv(50))
    expected = importer.read_file(roster_csv(50), "roster.csv").records
    with path.open("rb") as handle:
        handle.seek(len(b"prefix"))  # the file starts where the caller's position is
        table = importer.read_file(handle, "roster.csv", stream=True)
        assert list(table.records) == list(table.records) == expected
        assert not handle.closed
    with path.open("rb") as handle, io.BufferedReader(Unseekable(handle)) as stream:
        handle.seek(len(b"prefix"))
        table = importer.read_file(stream, "roster.csv", stream=True)
        assert list(table.records) == expected


class Unseekable(io.RawIOBase):
    """A pipe-like reader over a file."""

    def __init__(self, handle: io.BufferedReader) -> None:
        self.handle = handle

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.handle.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
