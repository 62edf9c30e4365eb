"""Checking a CSV file's header row against the spec's (section 3 of the binding).

Section 3: "All header names ... are case-sensitive"; "The Header row for each file is
required"; "The Header fields for a file must be supplied in the same order as defined in
the tables below. If metadata extension fields are used, then they must be added to the
right of the defined data fields"; "Header field names must be uniquely named within a
file". Section 4.1.1 names the extension columns: "Extensions are ONLY permitted by
adding 'metadata' named columns"; they are read as headers starting with ``metadata.``,
the form public implementations use (e.g. the gem meibo's ``metadata.jp.kanaGivenName``);
the Implementation Guide's own example could not be read here.

Each kind of fault is reported once per header, so that one missing or one extra column
gives exactly one problem; the file's rows are still read through the columns that are
there (:attr:`Header.index`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from webapp.oneroster.problems import ProblemSink, Rule

#: The prefix of an extension column (section 4.1.1).
METADATA_PREFIX = "metadata."


@dataclass(frozen=True)
class Header:
    """A file's header row as read.

    Attributes:
        names: the column names, in the file's order.
        index: the position of each column the spec defines, by name (first occurrence).
    """

    names: tuple[str, ...]
    index: dict[str, int]


def check_header(
    filename: str, names: Sequence[str], expected: Sequence[str], sink: ProblemSink
) -> Header:
    """Compare a header row with the spec's and report what differs.

    Args:
        filename: the file's name, for the problems.
        names: the header row as read (any BOM already removed).
        expected: the spec's headers, in order.
        sink: receives ``header.*`` problems, all on line 1.

    Returns:
        The header, with the index of every expected column that is present.
    """
    expected_set = set(expected)
    for name, count in Counter(names).items():
        if count > 1:
            sink.add(
                filename,
                1,
                name,
                Rule.HEADER_DUPLICATE,
                f"the column {name!r} appears {count} times",
            )
    lowered = {name.lower(): name for name in expected}
    for name in names:
        if name in expected_set or name.startswith(METADATA_PREFIX):
            continue
        hint = ""
        if name.lower() in lowered:
            hint = f" (the spec spells it {lowered[name.lower()]!r}; headers are case-sensitive)"
        sink.add(filename, 1, name, Rule.HEADER_EXTRA, f"unexpected column {name!r}{hint}")
    present = set(names)
    for name in expected:
        if name not in present:
            sink.add(filename, 1, name, Rule.HEADER_MISSING, f"the column {name!r} is missing")
    defined = [name for name in names if name in expected_set]
    in_spec_order = [name for name in expected if name in present]
    if list(dict.fromkeys(defined)) != in_spec_order:
        sink.add(
            filename,
            1,
            None,
            Rule.HEADER_ORDER,
            "the columns are not in the spec's order: " + ",".join(expected),
        )
    elif _metadata_before_data(names, expected_set):
        sink.add(
            filename,
            1,
            None,
            Rule.HEADER_ORDER,
            "metadata.* columns must come after all the spec's columns",
        )
    index: dict[str, int] = {}
    for position, name in enumerate(names):
        if name in expected_set:
            index.setdefault(name, position)
    return Header(tuple(names), index)


def _metadata_before_data(names: Sequence[str], expected: set[str]) -> bool:
    """Return whether a ``metadata.`` column comes before one of the spec's columns."""
    seen_metadata = False
    for name in names:
        if name.startswith(METADATA_PREFIX):
            seen_metadata = True
        elif name in expected and seen_metadata:
            return True
    return False


def report_bom(filename: str, allow_bom: bool, sink: ProblemSink) -> None:
    """Report that ``filename`` starts with a byte order mark, unless ``allow_bom``.

    The binding (section 3) says "Importing processors must tolerate BOM (Byte Order Mark)
    prefixes and ignore them", so a BOM is not a fault of the bundle in the spec's terms.
    Issue 15 nevertheless counts "a BOM" among the broken bundles, and producers
    (including this app) need not write one, so by default it is reported as
    ``encoding.bom`` (policy); ``allow_bom=True`` follows the spec's tolerance instead.
    Either way the BOM is skipped before the header is read (see ``archive.Records``).
    """
    if not allow_bom:
        sink.add(
            filename,
            1,
            None,
            Rule.BOM,
            "the file starts with a byte order mark (EF BB BF); write UTF-8 without one",
        )
