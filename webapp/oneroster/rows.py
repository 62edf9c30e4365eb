"""Checking the values of one data row: required, formats, vocabularies and references.

The rules come from section 3 of the binding (the tables and the key to them):

* Required "Yes": a blank cell is an error (``field.required``).
* "Yes for Delta" (status, dateLastModified): "In BULK processing, the CSV files MUST NOT
  contain values in the 'dateLastModified' and 'status' fields" (``field.bulk-blank``).
* "For ALL fields that are optional and which have a defined enumeration token set, then
  the value of NULL/blank ... is permitted"; other values must be tokens of the vocabulary
  (``field.enum``) or ``ext:`` tokens where section 4.1.2 allows them.
* Lists ("List of GUID References", "List of Strings", "Enumeration List") are comma
  separated; each item is checked (an empty item is a ``field.format`` problem).
* Bulk sets "must be semantically complete i.e. every object referenced by another object
  MUST also be defined in the corresponding source CSV file" (section 3, BULK processing):
  ``ref.dangling``, or ``ref.file-absent`` once per column when the whole file is missing.
* Referenced orgs and sessions must have the type the column names (``ref.type``).
* classes/courses: "If the 'subjectCodes' attribute is present then the subjects and
  subjectCodes lists must have the same length" (``field.list-length``).
* roles: "Only one role per organization can be 'primary'" - read as one primary role per
  user and org (``roles.primary``).
* learning objectives: "If an 1EdTech CASE identifier then it MUST be a valid UUID URN".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from webapp.oneroster import formats, vocab
from webapp.oneroster.files import DEMOGRAPHICS_USER_REF
from webapp.oneroster.headers import Header
from webapp.oneroster.problems import ProblemSink, Rule
from webapp.oneroster.spec import Field, FileSpec, Format, Required
from webapp.oneroster.vocab import Vocabulary

#: The formats whose cell is a comma-separated list.
LIST_FORMATS = frozenset({Format.GUID_REF_LIST, Format.STRING_LIST, Format.ENUM_LIST})
#: The check of one item of a list, by the list's format.
ITEM_CHECKS: dict[Format, Callable[[str], str | None]] = {
    **formats.SCALAR_CHECKS,
    Format.GUID_REF_LIST: formats.check_guid,
}
#: The files whose ``type`` column other files' references constrain, with its vocabulary.
TYPE_VOCABULARIES: dict[str, Vocabulary] = {
    "orgs": vocab.ORG_TYPE,
    "academicSessions": vocab.SESSION_TYPE,
}

_DEMOGRAPHICS_USER = Field("sourcedId", Required.YES, Format.GUID, ref=DEMOGRAPHICS_USER_REF)


@dataclass
class FileState:
    """What the validator knows of one data file in the zip.

    Attributes:
        spec: the file's definition.
        mode: ``bulk`` or ``delta``, from the manifest (bulk when it says nothing valid).
        header: the header as read, or None when the file could not be read.
        ids: the sourcedIds defined in the file.
        types: for orgs and academicSessions, each sourcedId's ``type`` (when valid; a
            reference's type is not checked against an invalid one, already reported).
        ids_complete: True when ``ids`` holds every record (the sourcedId column exists
            and the whole file was read); references into the file are checked only then.
    """

    spec: FileSpec
    mode: str = "bulk"
    header: Header | None = None
    ids: set[str] = field(default_factory=set)
    types: dict[str, str] = field(default_factory=dict)
    ids_complete: bool = False


@dataclass(frozen=True, slots=True)
class _Column:
    """A column of the file being checked, with what its cells need worked out once.

    Attributes:
        field: the column's definition.
        position: its index in the row.
        bulk_blank: True for status and dateLastModified in a bulk file.
        required: True when a blank cell is an error.
        is_list: True when the cell is a comma-separated list.
        check: the format check of a value or list item, if the format has one.
    """

    field: Field
    position: int
    bulk_blank: bool
    required: bool
    is_list: bool
    check: Callable[[str], str | None] | None


class RowChecker:
    """Checks the data rows of one file, in the second pass (all sourcedIds are known).

    Args:
        state: the file being checked (its header must be known).
        states: every data file in the zip, by stem, for references.
        grades: the grade vocabulary, or None to accept any grade.
        sink: receives the problems.
    """

    def __init__(
        self,
        state: FileState,
        states: dict[str, FileState],
        grades: Vocabulary | None,
        sink: ProblemSink,
    ) -> None:
        assert state.header is not None
        self.state = state
        self.states = states
        self.grades = grades
        self.sink = sink
        self.filename = state.spec.filename
        self.index = state.header.index
        bulk = state.mode == "bulk"
        self.columns = [
            _Column(
                field=f,
                position=self.index[f.name],
                bulk_blank=bulk and f.required is Required.DELTA,
                required=f.required is not Required.NO,
                is_list=f.format in LIST_FORMATS or f.grades,
                check=ITEM_CHECKS.get(f.format, formats.check_pair if f.item_shape else None),
            )
            for f in state.spec.fields
            if f.name in self.index
        ]
        self._absent_reported: set[str] = set()
        self._primary_roles: set[tuple[str, str]] = set()

    def check(self, line: int, row: list[str]) -> None:
        """Check one row (whose field count matches the header) starting on ``line``."""
        for column in self.columns:
            self._check_value(line, column, row[column.position])
        self._check_row(line, row)

    def _value(self, row: list[str], name: str) -> str:
        """The row's value of column ``name``, or "" when the file lacks the column."""
        position = self.index.get(name)
        return "" if position is None else row[position]

    def _add(self, line: int, column: str, rule: Rule, message: str) -> None:
        self.sink.add(self.filename, line, column, rule, message)

    def _check_value(self, line: int, column: _Column, value: str) -> None:
        """Check one cell against its column's definition."""
        if column.bulk_blank:
            if value:
                self._add(line, column.field.name, Rule.BULK_BLANK, "must be blank in a bulk file")
            return
        if not value or value.isspace():
            if column.required:
                self._add(line, column.field.name, Rule.REQUIRED, "a value is required")
            return
        if not column.is_list:
            self._check_item(line, column, value)
            return
        for item in formats.split_list(value):
            if not item:
                self._add(line, column.field.name, Rule.FORMAT, f"{value!r} has an empty list item")
            else:
                self._check_item(line, column, item)

    def _check_item(self, line: int, column: _Column, item: str) -> None:
        """Check one value or list item, and the reference it makes."""
        field = column.field
        message = None
        rule = Rule.FORMAT
        if field.vocabulary is not None:
            if not field.vocabulary.allows(item):
                rule = Rule.ENUMERATION
                message = f"{item!r} is not one of {field.vocabulary.describe()}"
        elif column.check is not None:
            message = column.check(item)
        if message is None and field.grades and self.grades and not self.grades.allows(item):
            rule = Rule.GRADE
            message = f"{item!r} is not one of {self.grades.describe()}"
        if message is not None:
            self._add(line, field.name, rule, message)
        elif field.ref is not None:
            self._check_reference(line, field, item)

    def _check_reference(self, line: int, column: Field, item: str) -> None:
        """Check that ``item`` is a sourcedId of the file ``column`` refers to."""
        assert column.ref is not None
        target = self.states.get(column.ref)
        if target is None:
            if column.name not in self._absent_reported:
                self._absent_reported.add(column.name)
                self._add(
                    line,
                    column.name,
                    Rule.REFERENCED_FILE_ABSENT,
                    f"refers to {column.ref}.csv, which the zip does not hold",
                )
            return
        if "delta" in (self.state.mode, target.mode) or not target.ids_complete:
            return
        if item not in target.ids:
            self._add(
                line,
                column.name,
                Rule.DANGLING_REFERENCE,
                f"{item!r} is not a sourcedId in {target.spec.filename}",
            )
        elif (
            column.ref_type is not None
            and target.types.get(item, column.ref_type) != column.ref_type
        ):
            self._add(
                line,
                column.name,
                Rule.REFERENCE_TYPE,
                f"{item!r} in {target.spec.filename} has type "
                f"{target.types.get(item)!r}; it must be {column.ref_type!r}",
            )

    def _check_row(self, line: int, row: list[str]) -> None:
        """The rules that involve more than one cell of the row."""
        stem = self.state.spec.stem
        if stem == "demographics":
            user = self._value(row, "sourcedId")
            if user and formats.check_guid(user) is None:
                self._check_reference(line, _DEMOGRAPHICS_USER, user)
        elif stem in ("classes", "courses"):
            subjects, codes = self._value(row, "subjects"), self._value(row, "subjectCodes")
            if subjects and codes and len(subjects.split(",")) != len(codes.split(",")):
                self._add(
                    line,
                    "subjectCodes",
                    Rule.LIST_LENGTH,
                    "subjects and subjectCodes must list the same number of items",
                )
        elif stem == "roles" and self._value(row, "roleType") == "primary":
            key = (self._value(row, "userSourcedId"), self._value(row, "orgSourcedId"))
            if key in self._primary_roles:
                self._add(
                    line,
                    "roleType",
                    Rule.PRIMARY_ROLE,
                    f"user {key[0]!r} already has a primary role in org {key[1]!r}",
                )
            self._primary_roles.add(key)
        elif stem in ("lineItemLearningObjectiveIds", "resultLearningObjectiveIds"):
            identifier = self._value(row, "learningObjectiveId")
            if self._value(row, "source") == "case" and identifier:
                message = formats.check_uuid_urn(identifier)
                if message is not None:
                    self._add(line, "learningObjectiveId", Rule.FORMAT, message)
