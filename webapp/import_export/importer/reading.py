"""Stage 1 of an import, reading: a file's bytes to a header and rows of text.

Nothing here knows about students: :func:`read_csv` gives a :class:`Table` of strings,
with where each record starts and how the file was encoded, or refuses a file that cannot
be read at all (:class:`ImportFileError`). Which column holds which field is
:mod:`.columns`' business. A reader for another format (a spreadsheet, another CSV
dialect) gives the same :class:`Table`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from flask import current_app

#: Default largest file accepted, in bytes (``IMPORT_MAX_BYTES`` in the app config).
#: About 130,000 rows of typical student data.
DEFAULT_MAX_BYTES = 10_000_000


class ImportFileError(ValueError):
    """The file as a whole cannot be imported; the message says why, for office staff."""


@dataclass(frozen=True)
class Table:
    """The text of a file: its header and its records.

    Attributes:
        header: the cells of the first non-blank record.
        records: ``(line number, cells)`` of each non-blank record after the header; the
            line is where the record starts (a quoted cell may span lines). Records may
            have more or fewer cells than the header.
        encoding: how the bytes were decoded (``"utf-8"``, or ``"utf-8-sig"`` when the
            file starts with a byte order mark).
    """

    header: list[str]
    records: list[tuple[int, list[str]]]
    encoding: str


def configured_max_bytes() -> int:
    """The largest file the current app imports (``IMPORT_MAX_BYTES``, 10 MB by default)."""
    return int(current_app.config.get("IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def format_size(size: int) -> str:
    """Return ``size`` bytes for people: ``"980 bytes"``, ``"12.5 kB"``, ``"10 MB"``.

    Args:
        size: a number of bytes.

    Returns:
        The size in decimal units, as file managers show it.
    """
    if size < 1000:
        return f"{size} bytes"
    for unit in ("kB", "MB", "GB"):
        size_in_unit = size / 1000
        if size_in_unit < 1000 or unit == "GB":
            return f"{size_in_unit:.1f}".removesuffix(".0") + f" {unit}"
        size = int(size_in_unit)
    raise AssertionError("unreachable")  # pragma: no cover


def too_large_message(size: int | None, max_bytes: int) -> str:
    """The message for a file over the limit.

    Args:
        size: the file's size in bytes, when known.
        max_bytes: the limit.

    Returns:
        A sentence saying how large the file is, the limit, and what to do.
    """
    what = f"The file is {format_size(size)}" if size is not None else "The file is too large"
    return (
        f"{what}; files up to {format_size(max_bytes)} can be imported. "
        "Split it into smaller files and import them one after the other."
    )


def decode(data: bytes) -> tuple[str, str]:
    """Decode UTF-8 with or without BOM, explaining where the file is not UTF-8.

    Returns:
        ``(text, encoding)``.

    Raises:
        ImportFileError: the file is UTF-16, or holds bytes UTF-8 does not allow (the
            message names the first such line).
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFileError(
            "The file is UTF-16 text (Excel's “Unicode Text”). Save it as “CSV UTF-8 "
            "(comma delimited)” and try again."
        )
    encoding = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        return data.decode("utf-8-sig"), encoding
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ImportFileError(
            f"The file is not UTF-8 text: line {line} has a byte (0x{data[error.start]:02X}) "
            "that UTF-8 does not allow. Save it as “CSV UTF-8 (comma delimited)” and try again."
        ) from error


def read_csv(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Table:
    """Read a comma-separated file (RFC 4180, UTF-8) into a :class:`Table`.

    Blank lines, and records whose cells are all empty (spreadsheets leave some), are
    skipped, also before the header.

    Args:
        data: the file's bytes.
        max_bytes: the largest file accepted.

    Returns:
        The header and the records, with their line numbers; possibly no records.

    Raises:
        ImportFileError: the file is over ``max_bytes``, not UTF-8, empty, only blank, or
            not valid CSV (the message names the line).
    """
    if len(data) > max_bytes:
        raise ImportFileError(too_large_message(len(data), max_bytes))
    text, encoding = decode(data)
    if not text.strip():
        raise ImportFileError("The file is empty.")
    # A cell may be as large as the file (an ignored column of notes, say).
    csv.field_size_limit(max(csv.field_size_limit(), max_bytes))
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    try:
        header = next(reader, None)
        while header is not None and not "".join(header).strip():
            header = next(reader, None)
        if header is None:
            raise ImportFileError("The file has only empty lines and empty cells.")
        previous_line = reader.line_num
        for cells in reader:
            if "".join(cells).strip():
                records.append((previous_line + 1, cells))
            previous_line = reader.line_num
    except csv.Error as error:
        raise ImportFileError(
            f"line {reader.line_num}: the file is not valid CSV ({error})."
        ) from error
    return Table(header=header, records=records, encoding=encoding)
