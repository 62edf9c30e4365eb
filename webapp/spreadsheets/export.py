"""Writing rows to an ``.xlsx`` file with openpyxl's write-only workbook.

Rows are written as they come: openpyxl streams the sheet's XML to a temporary file and
zips it into ``out`` at the end, so memory stays flat whatever the number of rows (the
zip is written at the end, so ``out`` only starts receiving bytes then).

- Dates and datetimes are real Excel dates with an ISO number format
  (``yyyy-mm-dd``, ``yyyy-mm-dd hh:mm:ss``); aware datetimes are written in UTC.
- No cell can start a formula: openpyxl turns a string starting with ``=`` into a
  formula and ``#N/A``-like strings into error cells, so such strings (and any starting
  with ``+``, ``-`` or ``@``, which Excel reads as formulas when typed) are written with
  the string type set explicitly. Excel never evaluates a stored string, so no quote is
  added: the file reads back exactly (unlike CSV, see ``webapp.import_export.csvformat``).
- Characters XML cannot hold (control characters but tab and newlines) become U+FFFD.
- A string longer than an Excel cell holds (32,767 characters) raises ``ValueError``;
  openpyxl would cut it silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import IO, Any

DATE_FORMAT = "yyyy-mm-dd"
#: The most characters an Excel cell holds.
MAX_CELL_CHARS = 32_767
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
#: Strings a spreadsheet could take for a formula or an error value.
_TRIGGERS = ("=", "+", "-", "@")

Value = str | int | float | date | datetime | bool | None


def write_xlsx(
    out: IO[bytes],
    header: Sequence[str],
    rows: Iterable[Sequence[Value]],
    *,
    sheet_title: str = "Students",
) -> int:
    """Write a header and rows as an ``.xlsx`` workbook of one sheet.

    Args:
        out: a binary file open for writing (a file, a ``BytesIO``, a spooled temporary
            file); it need not be seekable.
        header: the first row, written as text and bold-free (plain cells).
        rows: the rows, each a sequence of values (see ``Value``); read once, lazily.
        sheet_title: the sheet's name (Excel allows 31 characters, no ``[]:*?/\\``).

    Returns:
        The number of rows written after the header.

    Raises:
        ValueError: a value openpyxl cannot write (another type), or a string too long
            for a cell.
    """
    # openpyxl is imported when a workbook is written, not with the app (74 ms in every
    # process that loads it, most of which never write one).
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title)
    cell = _Cells(sheet)
    count = 0
    try:
        sheet.append([cell(name) for name in header])
        for row in rows:
            sheet.append([cell(value) for value in row])
            count += 1
    except BaseException:
        _discard(sheet)
        raise
    workbook.save(out)
    return count


def _discard(sheet: Any) -> None:
    """Close a sheet left half-written and remove its temporary file now.

    openpyxl would otherwise remove the file only when the process exits, and fail to
    finish the sheet's XML when it is garbage-collected.
    """
    try:
        sheet.close()
        sheet._writer.cleanup()
    except Exception:
        return


class _Cells:
    """Makes the cells of one sheet: the value, or a cell with its type or format set
    when the value needs one."""

    def __init__(self, sheet: Any) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE

        self.sheet = sheet
        self.new = WriteOnlyCell
        self.errors = frozenset(ERROR_CODES)
        self.illegal = ILLEGAL_CHARACTERS_RE

    def __call__(self, value: Value) -> Any:
        """The cell for ``value`` (see the module docstring).

        Raises:
            ValueError: a string longer than a cell holds.
        """
        sheet = self.sheet
        if isinstance(value, str):
            if len(value) > MAX_CELL_CHARS:
                raise ValueError(
                    f"A cell of {len(value):,} characters does not fit in Excel "
                    f"({MAX_CELL_CHARS:,} at most)."
                )
            if self.illegal.search(value):
                value = self.illegal.sub("\ufffd", value)
            if value.startswith(_TRIGGERS) or value in self.errors:
                cell = self.new(sheet, value)
                cell.data_type = "s"
                return cell
            return value
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                value = value.astimezone(UTC).replace(tzinfo=None)
            cell = self.new(sheet, value)
            cell.number_format = DATETIME_FORMAT
            return cell
        if isinstance(value, date):
            cell = self.new(sheet, value)  # type: ignore[arg-type]  # stubs omit date
            cell.number_format = DATE_FORMAT
            return cell
        return value
