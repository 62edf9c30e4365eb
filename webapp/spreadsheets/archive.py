"""Checks on a workbook's zip archive, made before any XML in it is parsed.

``.xlsx`` and ``.ods`` files are zip archives. A few kilobytes can declare gigabytes of
XML (a "zip bomb"), so the central directory, which lists every part with its sizes, is
read first and the file is refused when the parts would decompress to more than the
limits allow. The sizes it declares bind the reading too: :mod:`zipfile` stops each part
at its declared size and fails on a checksum when a part holds more. Sources: the zip
bomb classes in David Fifield, "A better zip bomb" (WOOT 2019), and OWASP's "File Upload
Cheat Sheet".
"""

from __future__ import annotations

import zipfile
import zlib
from typing import IO
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException

from webapp.spreadsheets.base import Limits, SpreadsheetError, format_size

#: How an archive inside the workbook starts (zip, also an embedded .xlsx, .docx, .ods).
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
#: Other compressed formats a nested bomb could use.
_OTHER_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf")

#: The errors that reading a damaged archive raises (catch :class:`SpreadsheetError` first:
#: it is a ``ValueError``).
ARCHIVE_ERRORS: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    NotImplementedError,
    ValueError,
)
#: The errors that reading a damaged archive's XML raises.
READ_ERRORS: tuple[type[Exception], ...] = (
    *ARCHIVE_ERRORS,
    ParseError,
    DefusedXmlException,
    KeyError,
)


def damaged(what: str) -> SpreadsheetError:
    """Return the error for an archive that cannot be read.

    Args:
        what: the kind of file, e.g. ``"Excel workbook (.xlsx)"``.
    """
    return SpreadsheetError(
        f"The file is not a complete {what}: it is damaged or was cut short while it "
        "was copied or uploaded. Open it in your spreadsheet program, save it again and "
        "try again."
    )


def open_checked_zip(source: IO[bytes], limits: Limits, what: str) -> zipfile.ZipFile:
    """Open a workbook's archive and check its central directory against ``limits``.

    Args:
        source: the file, seekable, positioned anywhere.
        limits: the limits to enforce (entries, total and per-part decompressed size,
            compression ratio).
        what: the kind of file, for messages.

    Returns:
        The open archive; the caller closes it.

    Raises:
        SpreadsheetError: the file is not a zip archive or is truncated; it has too many
            parts, parts that decompress to too much or at too high a ratio, encrypted
            parts, parts compressed with a method office programs do not use, or an
            archive nested inside it.
    """
    try:
        archive = zipfile.ZipFile(source)
    except ARCHIVE_ERRORS as error:
        raise damaged(what) from error
    try:
        _check_directory(archive, limits, what)
        _check_nested(archive, what)
    except BaseException:
        archive.close()
        raise
    return archive


def _check_directory(archive: zipfile.ZipFile, limits: Limits, what: str) -> None:
    infos = archive.infolist()
    if len(infos) > limits.max_zip_entries:
        raise SpreadsheetError(
            f"The {what} has {len(infos):,} parts; a workbook has a few dozen at most, "
            f"and files with more than {limits.max_zip_entries:,} are not accepted."
        )
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise SpreadsheetError(
                f"The {what} is password-protected. Save a copy without a password and import that."
            )
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise SpreadsheetError(
                f"The {what} is compressed in a way spreadsheet programs do not use "
                f"(part “{info.filename}”). Save it again from your spreadsheet program."
            )
        total += info.file_size
        ratio_limit = limits.max_compression_ratio * max(info.compress_size, 1)
        if info.file_size > limits.ratio_floor_bytes and info.file_size > ratio_limit:
            raise SpreadsheetError(
                f"The {what} is refused: its part “{info.filename}” would grow from "
                f"{format_size(info.compress_size)} to {format_size(info.file_size)} "
                "when decompressed, which spreadsheets never do (a “zip bomb”)."
            )
    if total > limits.max_uncompressed_bytes:
        raise SpreadsheetError(
            f"The {what} is refused: it would decompress to {format_size(total)}, more "
            f"than the {format_size(limits.max_uncompressed_bytes)} accepted. Split it "
            "into smaller files."
        )


def _check_nested(archive: zipfile.ZipFile, what: str) -> None:
    """Refuse archives inside the archive: nothing here opens them, so none is needed."""
    for info in archive.infolist():
        if info.file_size < 4 or info.is_dir():
            continue
        try:
            with archive.open(info) as part:
                magic = part.read(6)
        except ARCHIVE_ERRORS as error:
            raise damaged(what) from error
        if magic.startswith(_ZIP_MAGIC + _OTHER_MAGIC):
            raise SpreadsheetError(
                f"The {what} holds another compressed file (“{info.filename}”, for "
                "example an embedded workbook). Copy the rows into a new workbook without "
                "embedded files and import that."
            )


def read_small_part(
    archive: zipfile.ZipFile, name: str, what: str, limit: int = 2_000_000
) -> bytes:
    """Return a small part of the archive (a manifest, content types), or ``b""`` if absent.

    Args:
        archive: an archive checked by :func:`open_checked_zip`.
        name: the part's name.
        what: the kind of file, for messages.
        limit: the largest size accepted, in bytes.

    Raises:
        SpreadsheetError: the part is larger than ``limit`` or cannot be decompressed.
    """
    try:
        info = archive.getinfo(name)
    except KeyError:
        return b""
    if info.file_size > limit:
        raise SpreadsheetError(
            f"The {what} is refused: its part “{name}” is {format_size(info.file_size)}, "
            "far larger than any spreadsheet program writes."
        )
    try:
        return archive.read(info)
    except ARCHIVE_ERRORS as error:
        raise damaged(what) from error
