"""Reading CSV files in the dialects spreadsheets write, row by row.

Encoding, in this order: a byte-order mark (UTF-8 or UTF-16, as Excel's “CSV UTF-8” and
“Unicode Text” write), then UTF-8 if every byte sequence is valid UTF-8, then
charset-normalizer limited to Windows-1252 and Latin-1 (what Excel's plain “CSV” writes
in Western Europe and the Americas). Left free, charset-normalizer takes short French or
German files for Central European (cp1250); limited, it refuses text in other
encodings (Cyrillic, say) rather than misread it.

Delimiter: comma, semicolon (Excel in most European locales), tab (“Unicode Text”) or
vertical bar. :class:`csv.Sniffer`, limited to those four, proposes one; its answer is
kept only when it splits the header into several columns and most sample rows into as
many cells as the header. Otherwise the candidate that does that best wins (more
consistent rows, then more columns, then the order above). Line endings CRLF or LF.

Memory: one record and a megabyte of the file; the text is decoded as it is read, from
the caller's bytes or from a seekable file (read twice: once to check the encoding, once
for the rows; Windows-1252 and Latin-1 files are read whole for charset-normalizer).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from typing import IO

import charset_normalizer

from webapp.spreadsheets.base import Limits, Row, SpreadsheetError

#: The delimiters recognised, in order of preference on a tie.
DELIMITERS = (",", ";", "\t", "|")
#: How delimiters are named to users.
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
#: Encodings charset-normalizer may choose between, and their names for users.
EIGHT_BIT_ENCODINGS = {"cp1252": "Windows-1252", "latin_1": "Latin-1"}

_SAMPLE_BYTES = 64 * 1024
#: Share of the sample's rows that must have the header's width for Sniffer's answer.
_CONSISTENT = 0.9
_CHUNK = 1 << 20


def detect_encoding(data: bytes | IO[bytes]) -> tuple[str, str]:
    """Return ``(codec, name for users)`` of a CSV file's text.

    Args:
        data: the file's bytes, or a seekable binary file (read from its current
            position, which is restored).

    Raises:
        SpreadsheetError: binary data, or text in an encoding not listed in the module
            docstring.
    """
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    start = source.tell()
    try:
        head = source.read(_SAMPLE_BYTES)
        if head.startswith(codecs.BOM_UTF8):
            _check_utf8(source, start)
            return "utf-8-sig", "UTF-8 with BOM"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16", "UTF-16"
        if b"\x00" in head:
            raise SpreadsheetError(
                "The file is not a text file (it holds binary data). Save the rows as .xlsx, "
                ".ods or CSV from your spreadsheet program and import that."
            )
        if _utf8_error(source, start) is None:
            return "utf-8", "UTF-8"
        source.seek(start)
        match = charset_normalizer.from_bytes(
            source.read(), cp_isolation=list(EIGHT_BIT_ENCODINGS)
        ).best()
    finally:
        source.seek(start)
    if match is None or match.encoding not in EIGHT_BIT_ENCODINGS:
        raise SpreadsheetError(
            "The file's text is in an encoding that cannot be read here. Save it as "
            "“CSV UTF-8 (comma delimited)” and try again."
        )
    return match.encoding, EIGHT_BIT_ENCODINGS[match.encoding]


def _blocks(source: IO[bytes], start: int) -> Iterator[bytes]:
    """The file from ``start`` to its end, :data:`_CHUNK` bytes at a time."""
    source.seek(start)
    while block := source.read(_CHUNK):
        yield block


def _utf8_error(source: IO[bytes], start: int) -> int | None:
    """The offset (from ``start``) of the first byte that is not valid UTF-8, or ``None``."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    for block in _blocks(source, start):
        pending = len(decoder.getstate()[0])  # bytes of a character cut by the last block
        try:
            decoder.decode(block)
        except UnicodeDecodeError as error:
            return offset - pending + error.start
        offset += len(block)
    pending = len(decoder.getstate()[0])  # a character cut by the file's end
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as error:
        return offset - pending + error.start
    return None


def _check_utf8(source: IO[bytes], start: int) -> None:
    """Refuse a file that says it is UTF-8 (its BOM) but is not, naming the line."""
    offset = _utf8_error(source, start)
    if offset is not None:
        source.seek(start)
        before = source.read(offset + 1)
        line = before.count(b"\n", 0, offset) + 1
        raise SpreadsheetError(
            f"Line {line}: the file starts as UTF-8 text but has a byte "
            f"(0x{before[offset]:02X}) that UTF-8 does not allow. Save it as “CSV UTF-8 "
            "(comma delimited)” and try again.",
            line=line,
        )


def detect_delimiter(sample: str) -> str:
    """Return the delimiter of a CSV sample (see the module docstring).

    Args:
        sample: the start of the file's text; a last incomplete line is ignored.

    Returns:
        One of :data:`DELIMITERS`; a comma when the header has one column whatever the
        delimiter.
    """
    if "\n" in sample.rstrip("\r\n"):
        sample = sample[: sample.rstrip("\r\n").rfind("\n") + 1]
    scores = {delimiter: _score(sample, delimiter) for delimiter in DELIMITERS}
    try:
        sniffed: str | None = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    if sniffed in scores:
        width, consistency = scores[sniffed]
        if width > 1 and consistency >= _CONSISTENT:
            return sniffed
    best = max(
        DELIMITERS,
        key=lambda d: (scores[d][0] > 1, scores[d][1], scores[d][0], -DELIMITERS.index(d)),
    )
    return best if scores[best][0] > 1 else ","


def _score(sample: str, delimiter: str) -> tuple[int, float]:
    """``(header width, share of rows as wide)`` of the sample split by ``delimiter``."""
    try:
        rows = [cells for cells in csv.reader(io.StringIO(sample), delimiter=delimiter) if cells]
    except csv.Error:
        return 0, 0.0
    rows = [cells for cells in rows if "".join(cells).strip()]
    if not rows:
        return 0, 0.0
    width = len(rows[0])
    body = rows[1:] or rows
    return width, sum(len(cells) == width for cells in body) / len(body)


def read_csv(data: bytes | IO[bytes], limits: Limits) -> tuple[str, str, Iterator[Row]]:
    """Start reading a CSV file.

    Args:
        data: the file's bytes, or a seekable binary file at the file's start (left open:
            closing it is the caller's business), at most ``limits.max_bytes``.
        limits: ``max_bytes`` bounds a cell; ``max_rows`` the rows; ``max_columns`` the
            rightmost non-blank cell of a row (blank cells beyond it are dropped).

    Returns:
        ``(encoding name, delimiter, rows)``; the non-blank rows come lazily.

    Raises:
        SpreadsheetError: see :func:`detect_encoding`; the rows raise it for text that is
            not valid CSV or not in the detected encoding, naming the line.
    """
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    start = source.tell()
    codec, encoding = detect_encoding(source)
    if codec == "cp1252" and any(
        byte in block for block in _blocks(source, start) for byte in b"\x81\x8d\x8f\x90\x9d"
    ):
        codec, encoding = "latin_1", EIGHT_BIT_ENCODINGS["latin_1"]  # not in Windows-1252
    source.seek(start)
    sample_decoder = codecs.getincrementaldecoder(codec)(errors="replace")
    delimiter = detect_delimiter(sample_decoder.decode(source.read(_SAMPLE_BYTES)))
    source.seek(start)
    return encoding, delimiter, _rows(source, codec, delimiter, limits)


def _trim_to_limit(cells: list[str], line: int, limits: Limits) -> None:
    """Drop a wide row's trailing blank cells, refusing a value beyond ``max_columns``.

    A line of many delimiters costs a list of that many cells; spreadsheets write such
    lines for a column formatted far to the right, and an attacker to make each row
    expensive downstream.

    Raises:
        SpreadsheetError: a non-blank cell lies beyond ``limits.max_columns``.
    """
    width = len(cells)
    while width and not cells[width - 1].strip():
        width -= 1
    if width > limits.max_columns:
        raise SpreadsheetError(
            f"Line {line}: the row has a value in column {width:,}, beyond the "
            f"{limits.max_columns:,} columns read. Remove the columns you do not need.",
            line=line,
        )
    del cells[width:]


def _rows(source: IO[bytes], codec: str, delimiter: str, limits: Limits) -> Iterator[Row]:
    # A cell may be as large as the file (a column of notes); the limit is process-wide.
    csv.field_size_limit(max(csv.field_size_limit(), limits.max_bytes))
    text = io.TextIOWrapper(source, encoding=codec, newline="")
    try:
        yield from _records(text, codec, delimiter, limits)
    finally:
        text.detach()  # leave the caller's file open


def _records(text: io.TextIOWrapper, codec: str, delimiter: str, limits: Limits) -> Iterator[Row]:
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    previous_line = 0
    count = 0
    try:
        for cells in reader:
            line = previous_line + 1
            previous_line = reader.line_num
            if not "".join(cells).strip():  # blank (one C call: this loop is hot)
                continue
            if len(cells) > limits.max_columns:
                _trim_to_limit(cells, line, limits)
            count += 1
            if count > limits.max_rows:
                raise SpreadsheetError(
                    f"Line {line}: the file has more than {limits.max_rows:,} rows.", line=line
                )
            yield Row(line, cells)
    except csv.Error as error:
        line = reader.line_num or 1
        raise SpreadsheetError(
            f"Line {line}: the file is not valid CSV ({error}).", line=line
        ) from error
    except UnicodeDecodeError as error:
        line = previous_line + 1
        raise SpreadsheetError(
            f"Near line {line}: the file is not valid {codec.upper()} text ({error.reason}). "
            "Save it as “CSV UTF-8 (comma delimited)” and try again.",
            line=line,
        ) from error
