"""Stage 1 of an import, its limits: what a file may cost, and the error that refuses a file.

:class:`ImportLimits` bound a file's bytes, rows and columns before anything else runs
(the app's ``IMPORT_MAX_BYTES``, ``IMPORT_MAX_ROWS`` and ``IMPORT_MAX_COLUMNS``:
:func:`configured_limits`); :class:`ImportFileError` refuses a file as a whole, with a
message for office staff (:func:`too_large_message`, :func:`too_many_rows_message`).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

#: Default largest file accepted, in bytes (``IMPORT_MAX_BYTES`` in the app config).
#: About 130,000 rows of typical student data as CSV.
DEFAULT_MAX_BYTES = 10_000_000
#: Default most rows after the header (``IMPORT_MAX_ROWS``): above what 10 MB of
#: typical rows hold, so that rows, not bytes, bound a file of tiny rows.
DEFAULT_MAX_ROWS = 100_000
#: Default most columns (``IMPORT_MAX_COLUMNS``): the rightmost column holding a value.
DEFAULT_MAX_COLUMNS = 200


class ImportFileError(ValueError):
    """The file as a whole cannot be imported; the message says why, for office staff."""


@dataclass(frozen=True)
class ImportLimits:
    """What an import accepts; each bounds the work and memory a file can cost.

    Attributes:
        max_bytes: the largest file, in bytes.
        max_rows: the most non-blank rows after the header.
        max_columns: the most columns (the rightmost one holding a value).
    """

    max_bytes: int = DEFAULT_MAX_BYTES
    max_rows: int = DEFAULT_MAX_ROWS
    max_columns: int = DEFAULT_MAX_COLUMNS


def configured_limits() -> ImportLimits:
    """The limits of the current app (``IMPORT_MAX_BYTES``, ``_ROWS``, ``_COLUMNS``)."""
    config = current_app.config
    return ImportLimits(
        max_bytes=int(config.get("IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)),
        max_rows=int(config.get("IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS)),
        max_columns=int(config.get("IMPORT_MAX_COLUMNS", DEFAULT_MAX_COLUMNS)),
    )


def configured_max_bytes() -> int:
    """The largest file the current app imports (``IMPORT_MAX_BYTES``, 10 MB by default)."""
    return configured_limits().max_bytes


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


def too_many_rows_message(limits: ImportLimits) -> str:
    """The message for a file of more than ``limits.max_rows`` rows after the header."""
    return (
        f"The file has more than {limits.max_rows:,} rows; up to {limits.max_rows:,} can be "
        "imported at once. Split it into smaller files and import them one after the other."
    )
