"""Reading manifest.csv and checking it against the files in the zip (binding 2.1, 2.3, 3.1).

Section 2.1: "An exchange MUST include the 'manifest.csv' file". Section 2.3: "The
manifest file contains the list of CSV files that MUST also accompany the manifest file.
If the set of supplied files differs from the list of files in the manifest then an import
error should be reported". Section 3.1 (Table 3.1) lists the properties: every
``file.<name>`` is required and is ``absent``, ``bulk`` or ``delta``; 'absent' means "the
CSV file is not supplied".
"""

from __future__ import annotations

import csv
import zipfile

from webapp.oneroster import vocab
from webapp.oneroster.archive import CorruptMember, Records, has_invalid_utf8
from webapp.oneroster.files import FILES
from webapp.oneroster.headers import check_header, report_bom
from webapp.oneroster.problems import ProblemSink, Rule
from webapp.oneroster.spec import (
    MANIFEST_FILE_KEYS,
    MANIFEST_FILENAME,
    MANIFEST_FIXED,
    MANIFEST_HEADERS,
    MANIFEST_PROPERTIES,
)

_STEM_BY_KEY = {spec.manifest_key: spec.stem for spec in FILES}


def read_manifest(
    archive: zipfile.ZipFile,
    root_names: set[str],
    readable: set[str],
    allow_bom: bool,
    sink: ProblemSink,
) -> dict[str, str]:
    """Check manifest.csv and its agreement with the zip's files.

    Args:
        archive: the open zip.
        root_names: the binding's file names found at the zip's root.
        readable: those of them that can be unpacked (neither encrypted nor compressed
            with a method other than deflate).
        allow_bom: True to accept a byte order mark (see ``headers.report_bom``).
        sink: receives ``manifest.*`` and syntax problems.

    Returns:
        The processing mode the manifest declares for each file stem, for the properties
        whose value is valid (``{"users": "bulk", "categories": "absent", ...}``); empty
        when there is no readable manifest.
    """
    if MANIFEST_FILENAME not in root_names:
        sink.add(
            MANIFEST_FILENAME,
            None,
            None,
            Rule.MANIFEST_MISSING,
            "the zip has no manifest.csv at its root (OneRoster 1.2 requires one)",
        )
        return {}
    if MANIFEST_FILENAME not in readable:
        return {}  # encrypted or of another compression method: reported with the zip
    values = _read_properties(archive, allow_bom, sink)
    if values is None:
        return {}
    for name in MANIFEST_PROPERTIES:
        if name not in values and (name in MANIFEST_FIXED or name in MANIFEST_FILE_KEYS):
            sink.add(
                MANIFEST_FILENAME,
                None,
                name,
                Rule.MANIFEST_MISSING_PROPERTY,
                f"the required property {name!r} is missing",
            )
    modes: dict[str, str] = {}
    for key, (line, value) in values.items():
        stem = _STEM_BY_KEY.get(key)
        if stem is None:
            continue
        if not vocab.FILE_MODE.allows(value):
            sink.add(
                MANIFEST_FILENAME,
                line,
                key,
                Rule.MANIFEST_VALUE,
                f"{value!r} is not one of {vocab.FILE_MODE.describe()}",
            )
            continue
        modes[stem] = value
        _check_mode(stem, key, line, value, root_names, sink)
    return modes


def _check_mode(
    stem: str, key: str, line: int, mode: str, root_names: set[str], sink: ProblemSink
) -> None:
    """Report a declared mode that disagrees with the zip, or that is not bulk."""
    filename = f"{stem}.csv"
    if mode == "absent" and filename in root_names:
        sink.add(
            MANIFEST_FILENAME,
            line,
            key,
            Rule.MANIFEST_FILE_MISMATCH,
            f"{key} is 'absent' but the zip holds {filename}",
        )
    elif mode != "absent" and filename not in root_names:
        sink.add(
            MANIFEST_FILENAME,
            line,
            key,
            Rule.MANIFEST_FILE_MISMATCH,
            f"{key} is {mode!r} but the zip has no {filename}",
        )
    if mode == "delta":
        sink.add(
            MANIFEST_FILENAME,
            line,
            key,
            Rule.MANIFEST_NOT_BULK,
            f"{filename} is declared 'delta'; only bulk bundles are accepted",
        )


def _read_properties(
    archive: zipfile.ZipFile, allow_bom: bool, sink: ProblemSink
) -> dict[str, tuple[int, str]] | None:
    """Read the property rows: ``{name: (line, value)}``, or None when unreadable."""
    records = Records(archive, MANIFEST_FILENAME)
    values: dict[str, tuple[int, str]] = {}
    header = None
    try:
        for line, fields in records:
            if header is None:
                if records.bom:
                    report_bom(MANIFEST_FILENAME, allow_bom, sink)
                header = check_header(MANIFEST_FILENAME, fields, MANIFEST_HEADERS, sink)
                continue
            _read_property(line, fields, header.index, len(header.names), values, sink)
    except csv.Error as error:
        sink.add(MANIFEST_FILENAME, records.line, None, Rule.MALFORMED_CSV, f"not CSV: {error}")
    except CorruptMember as error:
        sink.add(MANIFEST_FILENAME, None, None, Rule.CORRUPT_ENTRY, f"cannot be unpacked: {error}")
        return None
    if header is None:
        sink.add(MANIFEST_FILENAME, 1, None, Rule.NO_HEADER, "the file is empty")
        return None
    return values


def _read_property(
    line: int,
    fields: list[str],
    index: dict[str, int],
    width: int,
    values: dict[str, tuple[int, str]],
    sink: ProblemSink,
) -> None:
    """Check one ``propertyName,value`` row and store it in ``values``."""
    if len(fields) != width:
        sink.add(
            MANIFEST_FILENAME,
            line,
            None,
            Rule.FIELD_COUNT,
            f"the row has {len(fields)} fields; the header has {width}",
        )
        return
    if any(has_invalid_utf8(field) for field in fields):
        sink.add(MANIFEST_FILENAME, line, None, Rule.NOT_UTF8, "the row is not valid UTF-8")
        return
    if "propertyName" not in index or "value" not in index:
        return
    name, value = fields[index["propertyName"]], fields[index["value"]]
    if name not in MANIFEST_PROPERTIES:
        sink.add(
            MANIFEST_FILENAME,
            line,
            name,
            Rule.MANIFEST_UNKNOWN_PROPERTY,
            f"{name!r} is not a property of OneRoster 1.2's manifest",
        )
        return
    if name in values:
        sink.add(
            MANIFEST_FILENAME,
            line,
            name,
            Rule.MANIFEST_DUPLICATE_PROPERTY,
            f"{name!r} is given again (first on line {values[name][0]})",
        )
        return
    values[name] = (line, value)
    expected = MANIFEST_FIXED.get(name)
    if expected is not None and value != expected:
        sink.add(
            MANIFEST_FILENAME,
            line,
            name,
            Rule.MANIFEST_VALUE,
            f"{name} must be {expected!r}, not {value!r}",
        )
