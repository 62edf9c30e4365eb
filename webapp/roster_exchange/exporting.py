"""Writing a OneRoster 1.2 CSV bulk bundle (a zip) of one school year.

Shared by ``/oneroster/export.zip`` and ``flask oneroster export``. Each file's rows come
from its module in :mod:`.files`, streamed from the database in batches and written
through ``csv`` into a deflated zip member as they come, so memory does not grow with
the roster (``bench/results/oneroster.md`` measures it). A file without rows is left
out and declared ``absent`` (the binding forbids files without data rows); the manifest
is written last, once that is known.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from typing import BinaryIO

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import SchoolYear
from webapp.oneroster.files import FILES_BY_STEM
from webapp.oneroster.spec import (
    MANIFEST_FILE_KEYS,
    MANIFEST_FILENAME,
    MANIFEST_FIXED,
    MANIFEST_HEADERS,
)
from webapp.roster_exchange.files import EXPORTED
from webapp.roster_exchange.files.base import ExportContext
from webapp.roster_exchange.settings import SYSTEM_NAME, OneRosterSettings
from webapp.years.service import current_year


class UnknownYearError(LookupError):
    """The school year asked for does not exist."""


@dataclass
class ExportSummary:
    """What an export wrote.

    Attributes:
        year: the school year's name.
        rows: data rows per file name (``{"users.csv": 120, ...}``), files written only.
    """

    year: str
    rows: dict[str, int] = field(default_factory=dict)


def export_year(name: str | None) -> SchoolYear:
    """The school year to export: the one called ``name``, or the current one.

    Raises:
        UnknownYearError: no year has that name.
    """
    if name is None:
        return current_year()
    year = db.session.scalar(select(SchoolYear).where(SchoolYear.name == name))
    if year is None:
        raise UnknownYearError(f"There is no school year called {name!r}.")
    return year


def bundle_filename(year: SchoolYear) -> str:
    """A download name for the bundle, e.g. ``oneroster-2026-27.zip``."""
    safe = "".join(c if c.isalnum() else "-" for c in year.name)
    return f"oneroster-{safe}.zip"


def write_bundle(out: BinaryIO, year: SchoolYear, settings: OneRosterSettings) -> ExportSummary:
    """Write the bundle of ``year`` to ``out``.

    Args:
        out: a binary stream open for writing (a file, or any stream; the zip is written
            with data descriptors when it cannot seek). The caller closes it.
        year: the school year exported.
        settings: the school's settings.

    Returns:
        What was written.
    """
    context = ExportContext(year=year, settings=settings)
    summary = ExportSummary(year=year.name)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for module in EXPORTED:
            rows = module.export_rows(context)
            first = next(rows, None)
            if first is None:
                continue
            spec = FILES_BY_STEM[module.STEM]
            count = _write_member(archive, spec.filename, spec.headers, chain([first], rows))
            summary.rows[spec.filename] = count
        _write_manifest(archive, summary)
    return summary


def _write_member(
    archive: zipfile.ZipFile, name: str, headers: tuple[str, ...], rows: Iterator[list[str]]
) -> int:
    """Write one CSV member: the header, then ``rows``. Returns the number of data rows."""
    count = 0
    with archive.open(name, "w") as member:
        text = io.TextIOWrapper(member, encoding="utf-8", newline="")
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(headers)
        for row in rows:
            writer.writerow(row)
            count += 1
        text.flush()
        text.detach()
    return count


def _write_manifest(archive: zipfile.ZipFile, summary: ExportSummary) -> None:
    """Write manifest.csv: the fixed properties, every file's mode, the source system."""
    present = {name.removesuffix(".csv") for name in summary.rows}
    properties = [
        *MANIFEST_FIXED.items(),
        *(
            (key, "bulk" if key.removeprefix("file.") in present else "absent")
            for key in MANIFEST_FILE_KEYS
        ),
        ("source.systemName", SYSTEM_NAME),
    ]
    _write_member(archive, MANIFEST_FILENAME, MANIFEST_HEADERS, iter(map(list, properties)))
