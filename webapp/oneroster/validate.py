"""A strict validator of OneRoster 1.2 CSV bulk bundles: :func:`validate_bundle`.

Also runnable: ``python -m webapp.oneroster.validate FILE.zip`` prints one line per
problem and exits 1 when there is any (2 when the file cannot be read).

How it reads (memory stays flat whatever the size of the CSV files, apart from the sets of
sourcedIds that references are checked against):

1. The zip's central directory is vetted against :class:`Limits` before anything is
   unpacked (``archive.open_archive``).
2. manifest.csv is read and compared with the files present (``manifest.read_manifest``).
3. First pass, each data file in turn: encoding, CSV syntax, header, field counts, and
   the set of its sourcedIds (duplicates reported).
4. Second pass: every value of every row (``rows.RowChecker``), references included, now
   that every file's sourcedIds are known (files may refer forwards and to themselves).

Each CSV member is streamed through ``csv.reader`` over an ``io.TextIOWrapper``; the
problem list is capped (``max_problems``) so a badly broken file cannot grow it without
bound either.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import zipfile
from collections.abc import Sequence
from contextlib import ExitStack
from typing import BinaryIO

from webapp.oneroster.archive import (
    CorruptMember,
    Limits,
    Records,
    Source,
    check_extension,
    has_invalid_utf8,
    open_archive,
    readable_members,
)
from webapp.oneroster.files import FILES, FILES_BY_STEM, IMPLICIT_DEPENDENCIES, KNOWN_FILENAMES
from webapp.oneroster.headers import check_header, report_bom
from webapp.oneroster.manifest import read_manifest
from webapp.oneroster.problems import Problem, ProblemSink, Rule, TooManyProblems
from webapp.oneroster.rows import TYPE_VOCABULARIES, FileState, RowChecker
from webapp.oneroster.vocab import CEDS_GRADES, Vocabulary


def validate_bundle(
    source: Source,
    *,
    limits: Limits | None = None,
    grades: Vocabulary | None = CEDS_GRADES,
    allow_bom: bool = False,
    max_problems: int = 1000,
) -> list[Problem]:
    """Check a OneRoster 1.2 CSV bundle (a zip) against the binding's rules, in bulk mode.

    Args:
        source: the zip, as a path or as bytes.
        limits: zip-bomb limits; the defaults of :class:`Limits` when None.
        grades: the vocabulary of the grade columns (classes.grades, courses.grades,
            users.grades); None accepts any grade. The binding leaves grades to local
            agreement; the default is CEDS's, which this app uses.
        allow_bom: True to accept UTF-8 byte order marks, as the binding tells importers
            to; by default one is reported (``encoding.bom``), as issue 15 asks.
        max_problems: stop after this many problems (a last ``problems.truncated`` one
            says so).

    Returns:
        The problems, in the order found: the zip, manifest.csv, then the data files in
        the binding's order. An empty list means the bundle is valid.

    Raises:
        OSError: when ``source`` is a path that cannot be read.
    """
    sink = ProblemSink(max_problems)
    with ExitStack() as stack:
        if isinstance(source, bytes):
            stream: BinaryIO = io.BytesIO(source)
        else:
            stream = stack.enter_context(open(source, "rb"))
        try:
            if not isinstance(source, bytes):
                check_extension(os.fspath(source), sink)
            archive = open_archive(stream, limits or Limits(), sink)
            if archive is not None:
                with archive:
                    _validate_archive(archive, grades, allow_bom, sink)
        except TooManyProblems:
            pass
    return sink.problems


def _validate_archive(
    archive: zipfile.ZipFile, grades: Vocabulary | None, allow_bom: bool, sink: ProblemSink
) -> None:
    """Steps 2 to 4 of the module docstring, on an archive that passed the limits."""
    root_names = {name for name in archive.namelist() if name in KNOWN_FILENAMES}
    readable = readable_members(archive)
    modes = read_manifest(archive, root_names, readable, allow_bom, sink)
    states = {
        spec.stem: FileState(spec, mode="delta" if modes.get(spec.stem) == "delta" else "bulk")
        for spec in FILES
        if spec.filename in root_names
    }
    for stem, needs in IMPLICIT_DEPENDENCIES.items():
        for needed in needs:
            if stem in states and needed not in states:
                sink.add(
                    FILES_BY_STEM[stem].filename,
                    None,
                    None,
                    Rule.FILE_DEPENDENCY,
                    f"needs {needed}.csv (section {FILES_BY_STEM[stem].section}), "
                    "which the zip does not hold",
                )
    for state in states.values():
        if state.spec.filename in readable:
            _index_file(archive, state, allow_bom, sink)
    for state in states.values():
        if state.header is not None:
            _check_rows(archive, state, states, grades, sink)


def _index_file(
    archive: zipfile.ZipFile, state: FileState, allow_bom: bool, sink: ProblemSink
) -> None:
    """First pass over one file: syntax, header, field counts, sourcedIds and duplicates."""
    filename = state.spec.filename
    records = Records(archive, filename)
    rows = 0
    id_position: int | None = None
    type_position: int | None = None
    complete = False
    try:
        for line, fields in records:
            if state.header is None:
                if records.bom:
                    report_bom(filename, allow_bom, sink)
                _check_text(filename, line, fields, sink)
                state.header = check_header(filename, fields, state.spec.headers, sink)
                id_position = state.header.index.get("sourcedId")
                if state.spec.stem in TYPE_VOCABULARIES:
                    type_position = state.header.index.get("type")
                continue
            rows += 1
            _check_text(filename, line, fields, sink)
            width = len(state.header.names)
            if len(fields) != width:
                what = "is blank" if not fields else f"has {len(fields)} fields"
                sink.add(
                    filename,
                    line,
                    None,
                    Rule.FIELD_COUNT,
                    f"the row {what}; the header has {width}",
                )
            # A faulty row still defines its sourcedId, so that rows referring to it do not
            # report the same fault again as dangling references.
            if id_position is not None and id_position < len(fields):
                sourced_id = fields[id_position]
                kind = None
                if type_position is not None and len(fields) == width:
                    kind = fields[type_position]
                    if not TYPE_VOCABULARIES[state.spec.stem].allows(kind):
                        kind = None  # reported in the second pass; not a type to check against
                if not has_invalid_utf8(sourced_id):
                    _add_id(state, line, sourced_id, kind, sink)
        complete = True
    except csv.Error as error:
        sink.add(filename, records.line, None, Rule.MALFORMED_CSV, f"not RFC 4180 CSV: {error}")
    except CorruptMember as error:
        sink.add(filename, None, None, Rule.CORRUPT_ENTRY, f"cannot be unpacked: {error}")
    if state.header is None and complete:
        sink.add(filename, 1, None, Rule.NO_HEADER, "the file is empty; a header row is required")
    elif rows == 0 and complete:
        sink.add(
            filename,
            None,
            None,
            Rule.NO_DATA_ROWS,
            "files that contain no data rows are not permitted",
        )
    state.ids_complete = complete and id_position is not None


def _check_text(filename: str, line: int, fields: list[str], sink: ProblemSink) -> bool:
    """Report invalid UTF-8 or a carriage return inside a field; return whether neither."""
    joined = "\x00".join(fields)
    if has_invalid_utf8(joined):
        sink.add(filename, line, None, Rule.NOT_UTF8, "the record is not valid UTF-8")
        return False
    if "\r" in joined:
        sink.add(
            filename,
            line,
            None,
            Rule.CARRIAGE_RETURN,
            "a field holds a carriage return (not permitted within a field)",
        )
        return False
    return True


def _add_id(
    state: FileState, line: int, sourced_id: str, kind: str | None, sink: ProblemSink
) -> None:
    """Record a row's sourcedId (and its valid ``type``, if any), reporting a duplicate."""
    if not sourced_id:
        return
    if sourced_id in state.ids:
        sink.add(
            state.spec.filename,
            line,
            "sourcedId",
            Rule.DUPLICATE_ID,
            f"the sourcedId {sourced_id!r} is used by an earlier row",
        )
        return
    state.ids.add(sourced_id)
    if kind is not None:
        state.types[sourced_id] = kind


def _check_rows(
    archive: zipfile.ZipFile,
    state: FileState,
    states: dict[str, FileState],
    grades: Vocabulary | None,
    sink: ProblemSink,
) -> None:
    """Second pass over one file: every value; rows the first pass faulted are skipped."""
    assert state.header is not None
    checker = RowChecker(state, states, grades, sink)
    width = len(state.header.names)
    records = iter(Records(archive, state.spec.filename))
    try:
        next(records, None)  # the header
        for line, fields in records:
            joined = "\x00".join(fields)
            if len(fields) == width and not has_invalid_utf8(joined) and "\r" not in joined:
                checker.check(line, fields)
    except (csv.Error, CorruptMember):
        pass  # reported by the first pass, which stopped at the same place


def main(argv: Sequence[str] | None = None) -> int:
    """Validate the bundles named on the command line; print their problems.

    Returns:
        0 when every bundle is valid, 1 when one has a problem, 2 when one cannot be read.
    """
    parser = argparse.ArgumentParser(
        prog="python -m webapp.oneroster.validate",
        description="Check OneRoster 1.2 CSV bulk bundles (zip files) against the CSV binding.",
    )
    parser.add_argument("bundles", nargs="+", metavar="FILE.zip", help="the bundles to check")
    parser.add_argument(
        "--allow-bom", action="store_true", help="accept UTF-8 byte order marks, as the spec does"
    )
    parser.add_argument(
        "--any-grades", action="store_true", help="accept any grade, not only CEDS codes"
    )
    parser.add_argument(
        "--max-problems", type=int, default=1000, help="stop after this many (default 1000)"
    )
    args = parser.parse_args(argv)
    status = 0
    for bundle in args.bundles:
        try:
            problems = validate_bundle(
                bundle,
                grades=None if args.any_grades else CEDS_GRADES,
                allow_bom=args.allow_bom,
                max_problems=args.max_problems,
            )
        except OSError as error:
            print(f"{bundle}: cannot read: {error}", file=sys.stderr)
            status = 2
            continue
        for problem in problems:
            print(f"{bundle}: {problem}")
        print(f"{bundle}: {len(problems)} problem(s)", file=sys.stderr)
        if problems and status == 0:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
