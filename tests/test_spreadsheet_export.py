"""The .xlsx export writer, and memory that stays flat while reading and writing
(webapp.spreadsheets.export, webapp.spreadsheets.reader).

The figures for 100,000 and 1,000,000 rows are in ``bench/results/spreadsheets.md``; the
tests here check the shape (memory does not grow with rows) with generous margins.
"""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook

from bench.spreadsheets import HEADER, students
from tests.spreadsheet_files import read_all
from webapp.spreadsheets import read_table, write_xlsx
from webapp.spreadsheets.export import Value

pytestmark = pytest.mark.sqlite_only  # no database: once is enough


def test_export_reads_back_value_for_value() -> None:
    rows: list[list[Value]] = [
        [1, "=1+1", "+44 20 7946 0000", 3, date(2015, 3, 14), datetime(2024, 9, 2, 8, 30)],
        [2, "-minus", "@home", 12, None, None],
        [3, "#N/A", "#DIV/0!", 1, date(1900, 3, 1), None],
        [4, "bell\x07ring", "tab\tand\nnewline", 5, None, None],
    ]
    out = io.BytesIO()

    assert write_xlsx(out, HEADER, rows) == 4

    header, cells = read_all(out.getvalue(), "export.xlsx")
    assert header == HEADER
    assert cells == [
        ["1", "=1+1", "+44 20 7946 0000", "3", "2015-03-14", "2024-09-02 08:30:00"],
        ["2", "-minus", "@home", "12", "", ""],
        ["3", "#N/A", "#DIV/0!", "1", "1900-03-01", ""],
        ["4", "bell\ufffdring", "tab\tand\nnewline", "5", "", ""],
    ]


def test_export_has_no_formula_and_real_dates() -> None:
    out = io.BytesIO()
    write_xlsx(out, HEADER, [[1, '=HYPERLINK("http://x")', "@SUM(1)", 3, date(2015, 3, 14), None]])

    sheet = load_workbook(out).active
    assert sheet is not None
    types = [cell.data_type for row in sheet.iter_rows() for cell in row]
    birthday = sheet["E2"]

    assert "f" not in types
    assert sheet["B2"].value == '=HYPERLINK("http://x")'
    assert birthday.is_date
    assert birthday.number_format == "yyyy-mm-dd"
    assert birthday.value == datetime(2015, 3, 14)


def test_export_writes_aware_datetimes_in_utc() -> None:
    out = io.BytesIO()
    moment = datetime(2024, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    write_xlsx(out, ["when"], [[moment]])

    assert read_all(out.getvalue(), "x.xlsx")[1] == [["2024-01-01 10:00:00"]]


def test_export_refuses_a_string_excel_would_cut() -> None:
    with pytest.raises(ValueError, match="does not fit in Excel"):
        write_xlsx(io.BytesIO(), ["notes"], [["x" * 32_768]])


def test_export_writes_to_a_stream_that_cannot_seek() -> None:
    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self.received = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, data: bytes) -> int:  # type: ignore[override]
            self.received += data
            return len(data)

    pipe = Pipe()
    write_xlsx(pipe, HEADER, students(10))  # type: ignore[arg-type]

    assert len(read_all(bytes(pipe.received), "x.xlsx")[1]) == 10


def peak_bytes(action: Callable[[], object]) -> int:
    """The most memory Python held (tracemalloc) while ``action`` ran."""
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def exported(count: int) -> bytes:
    out = io.BytesIO()
    write_xlsx(out, HEADER, students(count))
    return out.getvalue()


def count_rows(data: bytes, name: str) -> int:
    with read_table(data, name) as table:
        return sum(1 for _ in table)


def test_writing_memory_does_not_grow_with_rows() -> None:
    small = peak_bytes(lambda: write_xlsx(io.BytesIO(), HEADER, students(1_000)))
    large = peak_bytes(lambda: write_xlsx(io.BytesIO(), HEADER, students(5_000)))

    # Only the output buffer grows (about 35 bytes a row, compressed).
    assert large < small + 4_000 * 100


def test_reading_memory_grows_by_openpyxls_cleared_rows_only() -> None:
    """openpyxl clears each row's XML element but keeps it in the tree: ~100 bytes a row.

    That is the bound stated in webapp.spreadsheets.xlsx (about 15 MB for the 130,000
    rows of a 10 MB upload); everything else stays flat.
    """
    small_file, large_file = exported(1_000), exported(5_000)

    small = peak_bytes(lambda: count_rows(small_file, "x.xlsx"))
    large = peak_bytes(lambda: count_rows(large_file, "x.xlsx"))

    assert large < small + 4_000 * 250
    assert large < 2_500_000


def test_a_failed_export_leaves_no_temporary_file() -> None:
    import glob
    import tempfile

    pattern = f"{tempfile.gettempdir()}/openpyxl.*"
    before = set(glob.glob(pattern))
    with pytest.raises(ValueError, match="does not fit"):
        write_xlsx(io.BytesIO(), ["notes"], [["ok"], ["x" * 40_000]])

    assert set(glob.glob(pattern)) - before == set()
