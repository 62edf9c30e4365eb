"""What the validator reports: :class:`Problem`, the :class:`Rule` it breaks, and a capped sink."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Rule(StrEnum):
    """The rules a bundle can break; each value is a stable id for messages and tests.

    The sections named are those of the OneRoster 1.2.1 CSV binding; rules marked
    "policy" go beyond the binding's text and are explained where they are checked.
    """

    # The zip (section 2.2 "Exchanging the CSV Files"; size limits are policy).
    NOT_A_ZIP = "zip.not-a-zip"
    ZIP_EXTENSION = "zip.extension"
    TOO_MANY_ENTRIES = "zip.too-many-entries"
    TOO_LARGE = "zip.too-large"
    COMPRESSION_RATIO = "zip.ratio"
    ENCRYPTED = "zip.encrypted"
    COMPRESSION_METHOD = "zip.compression"
    NOT_AT_ROOT = "zip.directory"
    UNKNOWN_ENTRY = "zip.unknown-entry"
    DUPLICATE_ENTRY = "zip.duplicate-entry"
    CORRUPT_ENTRY = "zip.corrupt"
    # manifest.csv (sections 2.1, 2.3 and 3.1).
    MANIFEST_MISSING = "manifest.missing"
    MANIFEST_UNKNOWN_PROPERTY = "manifest.property-unknown"
    MANIFEST_DUPLICATE_PROPERTY = "manifest.property-duplicate"
    MANIFEST_MISSING_PROPERTY = "manifest.property-missing"
    MANIFEST_VALUE = "manifest.value"
    MANIFEST_FILE_MISMATCH = "manifest.file-mismatch"
    MANIFEST_NOT_BULK = "manifest.not-bulk"
    # Encoding and CSV syntax (section 3: RFC 4180, UTF-8; the BOM rule is policy).
    BOM = "encoding.bom"
    NOT_UTF8 = "encoding.utf8"
    MALFORMED_CSV = "csv.malformed"
    FIELD_COUNT = "csv.field-count"
    CARRIAGE_RETURN = "csv.carriage-return"
    NO_HEADER = "csv.no-header"
    NO_DATA_ROWS = "csv.no-data-rows"
    # The header row (section 3).
    HEADER_MISSING = "header.missing"
    HEADER_EXTRA = "header.extra"
    HEADER_DUPLICATE = "header.duplicate"
    HEADER_ORDER = "header.order"
    # Values (section 3's tables and the key to them).
    REQUIRED = "field.required"
    BULK_BLANK = "field.bulk-blank"
    FORMAT = "field.format"
    ENUMERATION = "field.enum"
    GRADE = "field.grade"
    LIST_LENGTH = "field.list-length"
    DUPLICATE_ID = "id.duplicate"
    PRIMARY_ROLE = "roles.primary"
    # References between files (sections 2.1 and 3: bulk sets are "semantically complete").
    DANGLING_REFERENCE = "ref.dangling"
    REFERENCED_FILE_ABSENT = "ref.file-absent"
    REFERENCE_TYPE = "ref.type"
    FILE_DEPENDENCY = "bundle.dependency"
    # Not a rule of the bundle: the report stopped early.
    TRUNCATED = "problems.truncated"


@dataclass(frozen=True)
class Problem:
    """One way a bundle breaks a rule.

    Attributes:
        file: the name of the file in the zip (``users.csv``), or None for the zip itself.
        line: the 1-based line where the offending record starts (the header is line 1),
            or None when the problem is not on a line.
        field: the column (or manifest property) concerned, or None.
        rule: the rule broken.
        message: a sentence for a person.
    """

    file: str | None
    line: int | None
    field: str | None
    rule: Rule
    message: str

    def __str__(self) -> str:
        """Render as ``users.csv:12: role: message [field.enum]``."""
        where = self.file or "(zip)"
        if self.line is not None:
            where += f":{self.line}"
        column = f" {self.field}:" if self.field else ""
        return f"{where}:{column} {self.message} [{self.rule}]"


class TooManyProblems(Exception):
    """Raised by :meth:`ProblemSink.add` once the cap is reached; the validator stops."""


class ProblemSink:
    """Collects problems, up to ``limit`` of them, so that memory stays bounded.

    Args:
        limit: the number of problems kept; the next one adds a final
            :attr:`Rule.TRUNCATED` problem and raises :class:`TooManyProblems`.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.problems: list[Problem] = []

    def add(
        self,
        file: str | None,
        line: int | None,
        field: str | None,
        rule: Rule,
        message: str,
    ) -> None:
        """Record a problem; raise :class:`TooManyProblems` past the limit."""
        if len(self.problems) >= self.limit:
            self.problems.append(
                Problem(None, None, None, Rule.TRUNCATED, f"stopped after {self.limit} problems")
            )
            raise TooManyProblems
        self.problems.append(Problem(file, line, field, rule, message))
