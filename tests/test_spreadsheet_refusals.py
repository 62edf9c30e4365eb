"""Files the spreadsheet reader refuses, each with a message office staff can act on.

Zip bombs, macros, external links, formulas without values, other documents, damaged
and empty files (webapp.spreadsheets). Every refusal happens before a row is returned,
except those that name a row.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from odf.table import TableCell

from tests.spreadsheet_files import (
    ods_bytes,
    ods_document,
    ods_row,
    read_all,
    rezip,
    sub_part,
    xlsx_bytes,
)
from webapp.spreadsheets import Limits, SpreadsheetError, read_table

pytestmark = pytest.mark.sqlite_only  # no database: once is enough

CONTENT_TYPES = (
    b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    b'content-types"><Override PartName="/xl/workbook.xml" ContentType="application/'
    b'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>'
)


def zip_of(parts: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


def refused(data: bytes, name: str = "roster.xlsx", **kwargs: object) -> str:
    """The message the file is refused with, reading all its rows."""
    with pytest.raises(SpreadsheetError) as caught:
        read_all(data, name, **kwargs)
    return str(caught.value)


def test_zip_bomb_disguised_as_xlsx_is_refused_from_its_directory() -> None:
    bomb = zip_of(
        {
            "[Content_Types].xml": CONTENT_TYPES,
            "xl/worksheets/sheet1.xml": b"<row/>" + b" " * 50_000_000,
        }
    )
    assert len(bomb) < 100_000

    message = refused(bomb)

    assert "zip bomb" in message
    assert "“xl/worksheets/sheet1.xml” would grow from" in message


def test_workbook_decompressing_past_the_total_limit_is_refused() -> None:
    message = refused(xlsx_bytes(), limits=Limits(max_uncompressed_bytes=5_000))

    assert "would decompress to" in message
    assert "more than the 5 kB accepted" in message


def test_workbook_with_too_many_parts_is_refused() -> None:
    data = zip_of({f"xl/part{i}.xml": b"<a/>" for i in range(1_001)})

    assert "has 1,001 parts" in refused(data)


def test_archive_nested_in_a_workbook_is_refused() -> None:
    data = rezip(xlsx_bytes(), add={"xl/embeddings/inner.xlsx": zip_of({"a": b"b" * 100})})

    assert "holds another compressed file (“xl/embeddings/inner.xlsx”" in refused(data)


def test_encrypted_zip_entries_are_refused() -> None:
    data = bytearray(xlsx_bytes())
    # Set the "encrypted" flag of the first entry in the central directory.
    central = data.rfind(b"PK\x01\x02", 0, data.find(b"PK\x05\x06"))
    first = data.find(b"PK\x01\x02")
    assert central >= first >= 0
    data[first + 8] |= 0x01

    assert "password-protected" in refused(bytes(data))


def test_xlsm_with_macros_is_refused() -> None:
    data = rezip(
        xlsx_bytes(),
        add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 fake VBA project"},
        replace=sub_part(
            "[Content_Types].xml",
            r"spreadsheetml\.sheet\.main\+xml",
            "ms-excel.sheet.macroEnabled.main+xml",
        ),
    )

    assert "contains macros" in refused(data, "roster.xlsm")


def test_vba_project_alone_is_refused_as_macros() -> None:
    data = rezip(xlsx_bytes(), add={"xl/vbaProject.bin": b"fake VBA project"})

    assert "contains macros" in refused(data)


def test_external_links_are_refused() -> None:
    data = rezip(xlsx_bytes(), add={"xl/externalLinks/externalLink1.xml": b"<externalLink/>"})

    assert "read other files (external links)" in refused(data)


def test_formula_without_a_saved_value_is_refused_naming_the_cell() -> None:
    def add_formula(workbook: object) -> None:
        workbook.active["G4"] = "=D4*2"  # type: ignore[attr-defined]  # openpyxl saves no value

    with pytest.raises(SpreadsheetError, match="Cell G4 has a formula saved without") as caught:
        read_table(xlsx_bytes(setup=add_formula), "roster.xlsx")
    assert caught.value.line == 4


def test_formula_with_a_saved_value_is_read_not_calculated() -> None:
    def add_formula(workbook: object) -> None:
        workbook.active["G2"] = "=1+1"  # type: ignore[attr-defined]

    # As Excel saves it: the formula and the value it showed (here a stale 7, not 2).
    data = rezip(
        xlsx_bytes(setup=add_formula),
        replace=sub_part(
            "xl/worksheets/sheet1.xml",
            r"<f>1\+1</f><v\s*/>|<f>1\+1</f><v></v>",
            "<f>1+1</f><v>7</v>",
        ),
    )

    assert read_all(data, "roster.xlsx")[1][0][-1] == "7"


def test_ods_formula_without_a_saved_value_is_refused_naming_the_cell() -> None:
    data = ods_document(
        ods_row(TableCell(valuetype="string"), TableCell(valuetype="string")),
        ods_row(TableCell(valuetype="float", value="1"), TableCell(formula="of:=[.A2]+1")),
    )

    assert "Cell B2 has a formula saved without its result" in refused(data, "x.ods")


def test_ods_with_macros_is_refused() -> None:
    data = rezip(ods_bytes(), add={"Basic/Standard/Module1.xml": b"<module/>"})

    assert "contains macros" in refused(data, "roster.ods")


def test_ods_linked_sheet_is_refused() -> None:
    data = rezip(
        ods_bytes(),
        replace=sub_part(
            "content.xml",
            r"(<table:table [^>]*>)",
            r'\1<table:table-source xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="file:///other.ods"/>',
        ),
    )

    assert "linked to other files" in refused(data, "roster.ods")


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        pytest.param(
            {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"},
            "The file is a Word document, not a spreadsheet",
            id="word-document",
        ),
        pytest.param(
            {"notes.txt": b"hello"}, "The file is a zip archive, not a spreadsheet", id="zip"
        ),
        pytest.param(
            {"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<a/>"},
            "The file is an OpenDocument text document, not a spreadsheet",
            id="odt",
        ),
    ],
)
def test_other_documents_named_xlsx_are_refused(parts: dict[str, bytes], message: str) -> None:
    assert message in refused(zip_of(parts))


def test_truncated_workbook_is_refused_as_damaged() -> None:
    data = xlsx_bytes()

    assert "damaged or was cut short" in refused(data[: len(data) // 2])


def test_damaged_sheet_xml_is_refused_as_damaged() -> None:
    data = rezip(xlsx_bytes(), replace=sub_part("xl/worksheets/sheet1.xml", r"</sheetData>", ""))

    assert "damaged" in refused(data)


def test_entity_declarations_are_refused() -> None:
    bomb = '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    data = rezip(ods_bytes(), replace=sub_part("content.xml", r"^(<\?xml[^>]*\?>)", r"\1" + bomb))

    assert "damaged" in refused(data, "roster.ods")


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        pytest.param(b"", "roster.xlsx", "The file is empty.", id="empty"),
        pytest.param(b"\n\n ,, \n", "roster.csv", "only empty lines and empty cells", id="blank"),
        pytest.param(
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512,
            "roster.xls",
            "old Excel 97-2003 workbook (.xls) or a password-protected",
            id="xls",
        ),
        pytest.param(
            b"name,grade\nAnn,3\n", "roster.xlsx", "named .xlsx but is not", id="csv-as-xlsx"
        ),
        pytest.param(
            b"x" * 2_000, "roster.csv", "The file is 2 kB; files up to 1 kB", id="too-large"
        ),
    ],
)
def test_unusable_files_are_refused(data: bytes, name: str, message: str) -> None:
    with pytest.raises(
        SpreadsheetError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")
    ):
        read_table(data, name, limits=Limits(max_bytes=1_000))


def test_too_large_file_object_is_refused_without_reading_it_all() -> None:
    class Endless(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            buffer[:] = b"x" * len(buffer)
            return len(buffer)

    with pytest.raises(SpreadsheetError, match="files up to 1 kB"):
        read_table(Endless(), "roster.csv", limits=Limits(max_bytes=1_000))  # type: ignore[arg-type]


def test_cell_longer_than_the_limit_is_refused_naming_it() -> None:
    rows = [["notes"], ["x" * 40_000]]

    assert "Cell A2 holds 40,000 characters" in refused(ods_bytes(rows), "x.ods")
    assert "Cell A2 holds 20,000 characters" in refused(
        xlsx_bytes([["notes"], ["x" * 20_000]]), limits=Limits(max_cell_chars=10_000)
    )


def test_value_far_to_the_right_is_refused_naming_the_column() -> None:
    def far(workbook: object) -> None:
        workbook.active["ZZ2"] = "stray"  # type: ignore[attr-defined]

    message = refused(xlsx_bytes([["name"], ["Ann"]], setup=far), limits=Limits(max_columns=100))

    assert message.startswith("Row 2: column ZZ has a value, beyond the 100 columns read")
