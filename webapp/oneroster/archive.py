"""Opening a bundle's zip safely, and reading its CSV members as a stream of records.

Section 2.2 of the binding ("Exchanging the CSV Files"): "the CSV files will be exchanged
as a zip file. The encompassed files must be at the root level i.e. they MUST NOT be
contained within an enclosing directory. There is NO constraint on the name of the zip
file but it must have a file extension of 'zip'. The compression MUST conform to
[RFC1951]" (deflate; stored entries are accepted too, as deflate's own stored blocks are).

Zip bombs (policy, not in the binding): before anything is decompressed, the sizes that
the central directory declares are checked against :class:`Limits`: the number of
entries, their total uncompressed size and each large entry's compression ratio. Reading
cannot then exceed them: Python's ``zipfile`` stops a member at its declared size and
checks its CRC at the end (a lie raises ``BadZipFile``, reported as ``zip.corrupt``).
Damaged archives raise a zoo of exceptions from ``zipfile`` and ``zlib``
(:data:`BROKEN_ZIP_ERRORS`); they are reported, never raised.
"""

from __future__ import annotations

import csv
import io
import os
import re
import struct
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, cast

from webapp.oneroster.files import KNOWN_FILENAMES
from webapp.oneroster.problems import ProblemSink, Rule

#: What :func:`webapp.oneroster.validate.validate_bundle` accepts: a path or the zip's bytes.
Source = str | os.PathLike[str] | bytes

#: What Python's zipfile (and zlib under it) raise for a damaged or unsupported archive:
#: a bad header or CRC, a broken deflate stream, a truncated member, an unsupported
#: version, method or encryption, an impossible offset (ValueError from BytesIO, OSError
#: from a real file).
BROKEN_ZIP_ERRORS: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    OSError,
    struct.error,
)


class CorruptMember(Exception):
    """A member of the zip cannot be unpacked (its cause is one of BROKEN_ZIP_ERRORS)."""


MIB = 1024 * 1024
#: The UTF-8 byte order mark (section 3: "the 3-byte sequence 'EF BB BF'").
UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Limits:
    """Limits that keep a hostile zip from exhausting memory, disk or time.

    Attributes:
        max_entries: entries in the central directory (the binding allows at most 22 files).
        max_total_size: bytes, the sum of the entries' declared uncompressed sizes.
        max_ratio: uncompressed size / compressed size, for any entry of at least
            ``ratio_min_size`` bytes. Roster CSV compresses about 3 to 10 times.
        ratio_min_size: bytes; smaller entries cannot do harm whatever their ratio.
    """

    max_entries: int = 64
    max_total_size: int = 4 * 1024 * MIB
    max_ratio: float = 100.0
    ratio_min_size: int = MIB


def open_archive(stream: BinaryIO, limits: Limits, sink: ProblemSink) -> zipfile.ZipFile | None:
    """Open the zip and vet its central directory before reading any member.

    Args:
        stream: the zip, readable and seekable (the caller closes it).
        limits: the zip-bomb limits.
        sink: receives the problems found (``file`` None for the zip as a whole).

    Returns:
        The open zip (the caller closes it), or None when it is not a zip or breaks a
        limit, in which case nothing may be extracted from it.
    """
    try:
        archive = zipfile.ZipFile(stream)
    except BROKEN_ZIP_ERRORS as error:
        sink.add(None, None, None, Rule.NOT_A_ZIP, f"not a zip file ({error})")
        return None
    try:
        if not _within_limits(archive, limits, sink):
            archive.close()
            return None
        _check_entries(archive, sink)
    except BaseException:
        archive.close()
        raise
    return archive


def check_extension(name: str, sink: ProblemSink) -> None:
    """Report a bundle whose file name does not end in ``.zip`` (section 2.2)."""
    if not name.lower().endswith(".zip"):
        sink.add(None, None, None, Rule.ZIP_EXTENSION, "the bundle's name must end in .zip")


def _within_limits(archive: zipfile.ZipFile, limits: Limits, sink: ProblemSink) -> bool:
    """Check the declared sizes against ``limits``; report and return False if one is broken."""
    entries = archive.infolist()
    if len(entries) > limits.max_entries:
        sink.add(
            None,
            None,
            None,
            Rule.TOO_MANY_ENTRIES,
            f"the zip has {len(entries)} entries; at most {limits.max_entries} are accepted",
        )
        return False
    total = sum(entry.file_size for entry in entries)
    if total > limits.max_total_size:
        sink.add(
            None,
            None,
            None,
            Rule.TOO_LARGE,
            f"the zip would unpack to {total} bytes; at most {limits.max_total_size} are accepted",
        )
        return False
    ok = True
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size >= limits.ratio_min_size and ratio > limits.max_ratio:
            sink.add(
                entry.filename,
                None,
                None,
                Rule.COMPRESSION_RATIO,
                f"{entry.file_size} bytes compressed {ratio:.0f} times; "
                f"at most {limits.max_ratio:.0f} times is accepted (a zip bomb?)",
            )
            ok = False
    return ok


def _check_entries(archive: zipfile.ZipFile, sink: ProblemSink) -> None:
    """Report entries that are not readable files of the binding at the zip's root."""
    counts = Counter(entry.filename for entry in archive.infolist())
    for name, count in counts.items():
        if count > 1:
            sink.add(
                name, None, None, Rule.DUPLICATE_ENTRY, f"the zip holds {count} entries {name}"
            )
    for entry in archive.infolist():
        name = entry.filename
        if "/" in name:
            sink.add(
                name,
                None,
                None,
                Rule.NOT_AT_ROOT,
                "the files must be at the root of the zip, not in a folder",
            )
        elif name not in KNOWN_FILENAMES:
            sink.add(
                name, None, None, Rule.UNKNOWN_ENTRY, "not a file of OneRoster 1.2's CSV binding"
            )
        elif entry.flag_bits & 0x1:
            sink.add(name, None, None, Rule.ENCRYPTED, "the file is encrypted")
        elif entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            sink.add(
                name,
                None,
                None,
                Rule.COMPRESSION_METHOD,
                f"compression method {entry.compress_type} is not deflate (RFC 1951)",
            )


def readable_members(archive: zipfile.ZipFile) -> set[str]:
    """The names of the binding's files at the root that can be read (deflated or stored)."""
    return {
        entry.filename
        for entry in archive.infolist()
        if entry.filename in KNOWN_FILENAMES
        and not entry.flag_bits & 0x1
        and entry.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
    }


class Records:
    """The records of one CSV member, streamed: iterate for ``(line, fields)`` pairs.

    Lines are 1-based and name where a record starts (the header is line 1). Invalid
    UTF-8 does not stop the stream: each bad byte becomes a lone surrogate (U+DC80 to
    U+DCFF, Python's "surrogateescape"), which :func:`has_invalid_utf8` finds, so the
    problem is reported on its own line rather than wherever the decoder's buffer was.

    Iterating raises ``csv.Error`` for text that is not RFC 4180 CSV (the reader runs with
    ``strict=True``; a field over ``csv.field_size_limit()`` characters is an error too,
    which bounds memory per record) and :class:`CorruptMember` for a member that cannot
    be unpacked; :attr:`line` then says where.
    """

    def __init__(self, archive: zipfile.ZipFile, name: str) -> None:
        self.archive = archive
        self.name = name
        #: The line of the record being read (after an error: where the error is).
        self.line = 1
        #: Whether the member starts with a UTF-8 byte order mark (skipped, not returned).
        self.bom = False

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        """Yield ``(line, fields)`` for every record, header included."""
        try:
            # ZipFile.open returns a ZipExtFile for reading; typeshed says only IO[bytes].
            with cast(zipfile.ZipExtFile, self.archive.open(self.name)) as raw:
                self.bom = raw.peek(len(UTF8_BOM))[: len(UTF8_BOM)] == UTF8_BOM
                if self.bom:
                    raw.read(len(UTF8_BOM))
                text = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")
                reader = csv.reader(text, strict=True)
                self.line = 1
                for fields in reader:
                    yield self.line, fields
                    self.line = reader.line_num + 1
        except BROKEN_ZIP_ERRORS as error:
            raise CorruptMember(str(error) or type(error).__name__) from error


#: The lone surrogates that "surrogateescape" decodes invalid bytes to.
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def has_invalid_utf8(value: str) -> bool:
    """Return whether ``value`` came from bytes that are not UTF-8 (see :class:`Records`)."""
    return _ESCAPED_BYTE.search(value) is not None
