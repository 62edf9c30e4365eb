"""Reading rosters as offices have them: CSV dialects, .xlsx and .ods (webapp.spreadsheets).

Each kind of file must give the rows, value for value, of the same roster saved as a
clean CSV (UTF-8, commas, ISO dates). Files come from the real programs: openpyxl and
odfpy here, LibreOffice for the files in ``tests/spreadsheets/`` (``make_fixtures.sh``).
No database is involved, so the tests run once, in the SQLite run.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date
from pathlib import Path

import pytest
from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table as OdsTable
from odf.table import TableCell
from odf.text import P, S, Span
from openpyxl import Workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from tests.spreadsheet_files import (
    HEADER,
    ROWS,
    Cell,
    csv_bytes,
    ods_bytes,
    ods_cell,
    ods_document,
    ods_row,
    read_all,
    rezip,
    sub_part,
    text_rows,
    xlsx_bytes,
)
from webapp.spreadsheets import FileKind, Limits, SpreadsheetError, read_table

pytestmark = pytest.mark.sqlite_only  # no database: once is enough

FIXTURES = Path(__file__).parent / "spreadsheets"
CLEAN = text_rows()


def clean_rows() -> tuple[list[str], list[list[str]]]:
    return read_all(csv_bytes(CLEAN), "clean.csv")


def test_clean_csv_reads_as_written() -> None:
    header, rows = clean_rows()

    assert [header, *rows] == CLEAN


# --- CSV dialects ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "delimiter", "newline", "shown_encoding"),
    [
        pytest.param("utf-8", ",", "\n", "UTF-8", id="utf8-comma-lf"),
        pytest.param("utf-8-sig", ",", "\r\n", "UTF-8 with BOM", id="excel-csv-utf8-bom"),
        pytest.param("cp1252", ";", "\r\n", "Windows-1252", id="french-excel-semicolon-cp1252"),
        pytest.param("utf-16", "\t", "\r\n", "UTF-16", id="excel-unicode-text-utf16-tab"),
        pytest.param("utf-8", "|", "\n", "UTF-8", id="pipe"),
        pytest.param("utf-16-be", "\t", "\n", "UTF-16", id="utf16-big-endian"),
    ],
)
def test_csv_dialects_give_the_clean_rows(
    encoding: str, delimiter: str, newline: str, shown_encoding: str
) -> None:
    data = csv_bytes(CLEAN, encoding=encoding, delimiter=delimiter, newline=newline)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data

    with read_table(data, "roster.csv") as table:
        cells = [row.cells for row in table]
        assert (table.kind, table.encoding, table.delimiter) == (
            FileKind.CSV,
            shown_encoding,
            delimiter,
        )
        assert table.header == HEADER
    assert cells == clean_rows()[1]


def test_latin1_file_reads_the_same_as_windows_1252() -> None:
    rows = [["name", "notes"], ["Zoë Ñúñez", "garçon, élève"], ["Jürgen Groß", "ÅÆØ"]]

    header, cells = read_all(csv_bytes(rows, encoding="latin_1"), "latin1.csv")

    assert [header, *cells] == rows


def test_libreoffice_semicolon_windows_1252_csv_gives_the_clean_rows() -> None:
    data = (FIXTURES / "roster-semicolon-cp1252.csv").read_bytes()

    with read_table(data, "roster.csv") as table:
        assert (table.encoding, table.delimiter) == ("Windows-1252", ";")
        assert [table.header, *(row.cells for row in table)] == CLEAN


def test_csv_line_numbers_count_blank_lines_and_multiline_cells() -> None:
    data = b'\n\nname;grade\n"Ann\nLee";3\n\n;\nBo;4\n'

    with read_table(data, "x.csv") as table:
        assert table.header_line == 3
        assert [(row.line, row.cells) for row in table] == [
            (4, ["Ann\nLee", "3"]),
            (8, ["Bo", "4"]),
        ]


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        pytest.param("name,notes\nAnn,likes; semicolons; a lot\n", ",", id="semicolons-in-cells"),
        pytest.param("nom;notes\nAnn;12,5 points, good\n", ";", id="decimal-commas"),
        pytest.param("name\tnotes\nAnn\tsays, hi; bye\n", "\t", id="tab-with-others-inside"),
        pytest.param('"a,b";c\n"1,2";3\n"4,5";6\n', ";", id="quoted-commas"),
        pytest.param("name\nAnn\n", ",", id="one-column"),
    ],
)
def test_delimiter_is_the_one_that_splits_the_header_consistently(
    text: str, delimiter: str
) -> None:
    with read_table(text.encode(), "x.csv") as table:
        assert table.delimiter == delimiter


def test_text_in_another_encoding_is_refused_not_misread() -> None:
    data = "Фамилия;Имя\nПетров;Аня\nИванова;Мария\n".encode("cp1251")

    with pytest.raises(SpreadsheetError, match="encoding that cannot be read"):
        read_table(data, "cyrillic.csv")


def test_binary_data_named_csv_is_refused() -> None:
    with pytest.raises(SpreadsheetError, match="not a text file"):
        read_table(b"\x00\x01\x02binary" * 10, "photo.csv")


def test_bom_utf8_file_with_a_bad_byte_names_its_line() -> None:
    data = b"\xef\xbb\xbfname,grade\nAnn,3\nB\xe9a,4\n"

    with pytest.raises(SpreadsheetError, match=r"Line 3: .*0xE9") as caught:
        read_table(data, "x.csv")
    assert caught.value.line == 3


def test_unbalanced_quote_is_an_error_on_its_line() -> None:
    data = b'name,grade\nAnn,3\n"Bo,4\nCy,5'

    with pytest.raises(SpreadsheetError, match="not valid CSV"):
        read_all(data, "x.csv")


# --- workbooks: the same rows -----------------------------------------------------------


def test_openpyxl_xlsx_gives_the_clean_rows() -> None:
    with read_table(xlsx_bytes(), "roster.xlsx") as table:
        assert (table.kind, table.sheet, table.encoding) == (FileKind.XLSX, "Roster", None)
        assert [table.header, *(row.cells for row in table)] == CLEAN


def test_odfpy_ods_gives_the_clean_rows() -> None:
    with read_table(ods_bytes(), "roster.ods") as table:
        assert (table.kind, table.sheet) == (FileKind.ODS, "Roster")
        assert [table.header, *(row.cells for row in table)] == CLEAN


@pytest.mark.parametrize("name", ["roster.xlsx", "roster.ods"])
def test_libreoffice_workbooks_give_the_clean_rows(name: str) -> None:
    header, rows = read_all((FIXTURES / name).read_bytes(), name)

    assert [header, *rows] == CLEAN


@pytest.mark.parametrize("name", ["formulas.xlsx", "formulas.ods"])
def test_formulas_give_the_values_saved_with_them(name: str) -> None:
    header, rows = read_all((FIXTURES / name).read_bytes(), name)

    assert header == ["First name", "Last name", "Name", "Year group", "Next year"]
    assert rows == [["Ann", "Lee", "Ann Lee", "3", "4"], ["Bo", "Ng", "Bo Ng", "11", "12"]]


def test_workbook_rows_keep_their_sheet_row_numbers_and_skip_blank_rows() -> None:
    rows: list[list[Cell]] = [["name", "grade"], [None, None], ["Ann", 3], [" ", None], ["Bo", 4]]

    for data, name in ((xlsx_bytes(rows), "x.xlsx"), (ods_bytes(rows), "x.ods")):
        with read_table(data, name) as table:
            assert [(row.line, row.cells) for row in table] == [(3, ["Ann", "3"]), (5, ["Bo", "4"])]


def test_workbook_rows_are_padded_to_the_header_and_trimmed_after_it() -> None:
    rows: list[list[Cell]] = [["name", "grade", "email"], ["Ann"], ["Bo", 4, None, None, None]]

    for data, name in ((xlsx_bytes(rows), "x.xlsx"), (ods_bytes(rows), "x.ods")):
        assert read_all(data, name)[1] == [["Ann", "", ""], ["Bo", "4", ""]]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(12.0, "12", id="whole-float"),
        pytest.param(12.5, "12.5", id="fraction"),
        pytest.param(0.1, "0.1", id="shortest-repr"),
        pytest.param(123456789012, "123456789012", id="big-id"),
        pytest.param(True, "TRUE", id="boolean"),
        pytest.param(date(2015, 3, 14), "2015-03-14", id="date"),
    ],
)
def test_workbook_values_read_as_a_person_would_type_them(value: Cell, text: str) -> None:
    rows: list[list[Cell]] = [["value"], [value]]

    assert read_all(xlsx_bytes(rows), "x.xlsx")[1] == [[text]]
    if not isinstance(value, bool):
        assert read_all(ods_bytes(rows), "x.ods")[1] == [[text]]


def test_xlsx_dates_in_the_1904_date_system_read_as_the_same_dates() -> None:
    def use_1904(workbook: Workbook) -> None:
        workbook.epoch = CALENDAR_MAC_1904

    data = xlsx_bytes([["birthday"], [date(2015, 3, 14)], [date(2000, 1, 1)]], setup=use_1904)

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert b'date1904="1"' in archive.read("xl/workbook.xml")
    assert read_all(data, "mac.xlsx")[1] == [["2015-03-14"], ["2000-01-01"]]


def test_xlsx_with_a_wrong_dimension_is_not_padded_to_it() -> None:
    data = rezip(
        xlsx_bytes([["name"], ["Ann"]]),
        replace=sub_part(
            "xl/worksheets/sheet1.xml", r'<dimension ref="[^"]*"', '<dimension ref="A1:XFD1048576"'
        ),
    )

    assert read_all(data, "x.xlsx") == (["name"], [["Ann"]])


# --- .ods specifics ----------------------------------------------------------------------


def test_ods_repeated_rows_and_cells_are_repeated() -> None:
    data = ods_document(
        ods_row(ods_cell("name"), ods_cell("grade"), ods_cell("email")),
        ods_row(ods_cell("Ann"), ods_cell(3, numbercolumnsrepeated="2")),
        ods_row(ods_cell("Twin"), ods_cell(4), repeated=2),  # LibreOffice saves equal rows so
    )

    with read_table(data, "x.ods") as table:
        assert [(row.line, row.cells) for row in table] == [
            (2, ["Ann", "3", "3"]),
            (3, ["Twin", "4", ""]),
            (4, ["Twin", "4", ""]),
        ]


def test_ods_sheet_padded_to_its_limits_reads_fast_in_little_memory() -> None:
    """LibreOffice's classic trap: blank rows and cells repeated to the sheet's end."""
    import tracemalloc

    data = ods_document(
        ods_row(ods_cell("name"), ods_cell(None, numbercolumnsrepeated="16383")),
        ods_row(ods_cell("Ann"), ods_cell(None, numbercolumnsrepeated="16383")),
        ods_row(ods_cell(None, numbercolumnsrepeated="16384"), repeated=1_048_574),
    )
    tracemalloc.start()
    try:
        header, rows = read_all(data, "x.ods")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert (header, rows) == (["name"], [["Ann"]])
    assert peak < 2_000_000


def test_ods_row_repeated_past_the_row_limit_is_refused() -> None:
    data = ods_document(ods_row(ods_cell("name")), ods_row(ods_cell("Ann"), repeated=1_000_000))

    with pytest.raises(SpreadsheetError, match="more than 1,000 rows"):
        read_all(data, "x.ods", limits=Limits(max_rows=1_000))


def test_ods_value_repeated_past_the_column_limit_is_refused() -> None:
    data = ods_document(ods_row(ods_cell("name"), ods_cell("x", numbercolumnsrepeated="16000")))

    with pytest.raises(SpreadsheetError, match="beyond the 1,000 columns"):
        read_all(data, "x.ods")


def test_ods_text_keeps_spaces_tabs_breaks_and_spans_and_skips_comments() -> None:
    from odf.office import Annotation
    from odf.text import LineBreak, Tab

    paragraph = P(text="Ann")
    paragraph.addElement(S(c=3))
    paragraph.addElement(Span(text="Lee"))
    paragraph.addElement(Tab())
    paragraph.addElement(LineBreak())
    cell = TableCell(valuetype="string")
    note = Annotation()
    note.addElement(P(text="a comment"))
    cell.addElement(note)
    cell.addElement(paragraph)
    cell.addElement(P(text="second line"))

    rows = read_all(ods_document(ods_row(ods_cell("name")), ods_row(cell)), "x.ods")[1]

    assert rows == [["Ann   Lee\t\n\nsecond line"]]


def test_ods_time_and_percentage_cells() -> None:
    data = ods_document(
        ods_row(ods_cell("t"), ods_cell("p")),
        ods_row(
            TableCell(valuetype="time", timevalue="PT13H30M05S"),
            TableCell(valuetype="percentage", value="0.25"),
        ),
    )

    assert read_all(data, "x.ods")[1] == [["13:30:05", "0.25"]]


# --- sheets ------------------------------------------------------------------------------


def two_sheets_xlsx() -> bytes:
    def add_sheet(workbook: Workbook) -> None:
        workbook.create_sheet("Year 5").append(["name"])
        workbook["Year 5"].append(["Cy"])

    return xlsx_bytes([["name"], ["Ann"]], title="Year 4", setup=add_sheet)


def test_first_sheet_is_read_and_the_others_are_noted() -> None:
    with read_table(two_sheets_xlsx(), "x.xlsx") as table:
        rows = [row.cells for row in table]
        assert (table.sheet, rows) == ("Year 4", [["Ann"]])
        assert table.notes == ["Only the sheet “Year 4” was read; the workbook also has “Year 5”."]


def test_a_sheet_can_be_chosen_by_name() -> None:
    assert read_all(two_sheets_xlsx(), "x.xlsx", sheet="Year 5")[1] == [["Cy"]]


def test_a_missing_sheet_is_an_error_listing_the_sheets() -> None:
    with pytest.raises(
        SpreadsheetError, match="no sheet named “Year 6”; its sheets are “Year 4”, “Year 5”"
    ):
        read_table(two_sheets_xlsx(), "x.xlsx", sheet="Year 6")


def test_ods_notes_other_sheets_once_read() -> None:
    document = OpenDocumentSpreadsheet()
    for name in ("Roster", "Old"):
        table = OdsTable(name=name)
        table.addElement(ods_row(ods_cell("name")))
        table.addElement(ods_row(ods_cell(name)))
        document.spreadsheet.addElement(table)
    out = io.BytesIO()
    document.write(out)

    with read_table(out.getvalue(), "x.ods", sheet="Old") as table:
        assert [row.cells for row in table] == [["Old"]]
        assert table.notes == ["Only the sheet “Old” was read; the workbook also has “Roster”."]


def test_a_workbook_named_csv_is_read_as_a_workbook_with_a_note() -> None:
    with read_table(xlsx_bytes(), "roster.csv") as table:
        assert table.kind is FileKind.XLSX
        assert table.notes == [
            "The file is named .csv but is an Excel workbook (.xlsx); it was read as one."
        ]


def test_a_binary_file_object_is_read_in_place() -> None:
    with read_table(io.BytesIO(xlsx_bytes()), "roster.xlsx") as table:
        assert len(list(table)) == len(ROWS)
