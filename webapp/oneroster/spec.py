"""The files of OneRoster 1.2's CSV binding: headers in order, requirement, format, references.

Source: "1EdTech OneRoster 1.2.1: CSV Binding", Final Release (specDate 31 January 2023),
read from 1EdTech's ReSpec source of that document (mirrored in the public repository
``imsjapan/github.io``, ``docsv1p2/specification/csv-binding1p2p1/``). The page now at
imsglobal.org/spec/oneroster/v1p2/bind/csv is "Document Version 5, August 22nd, 2023" of
the same 1.2.1; only its front matter could be read here, so a change made between the
two versions would be missed. The rostering headers were cross-checked against an
independent implementation (the Ruby gem ``meibo``) and agree.

Section numbers below are that document's: 3.1 is manifest.csv, 3.2 to 3.22 are the
data files in alphabetical order (the key to the tables in section 3 defines the columns
Required, Format and the formats themselves). Each table lists the columns "in the same
order as defined in the tables below", which is the order of :attr:`FileSpec.headers`.

The data files themselves (sections 3.2 to 3.22) are :mod:`.files`; this module holds
what their tables say of a column and a file (:class:`Required`, :class:`Format`,
:class:`Field`, :class:`FileSpec`) and manifest.csv (section 3.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from webapp.oneroster.vocab import Vocabulary


class Required(Enum):
    """The "Required" column of the binding's tables (section 3, key to the tables)."""

    YES = "Yes"
    #: "Yes for Delta": populated in delta mode, blank in bulk mode.
    DELTA = "Yes for Delta"
    NO = "No"


class Format(Enum):
    """The "Format" column of the binding's tables (section 3, key to the tables)."""

    GUID = "GUID"
    GUID_REF = "GUID Reference"
    GUID_REF_LIST = "List of GUID References"
    ID = "ID"
    STRING = "String"
    STRING_LIST = "List of Strings"
    ENUM = "Enumeration"
    ENUM_LIST = "Enumeration List"
    BOOLEAN = "Boolean"
    FLOAT = "Float"
    INTEGER = "Integer"
    DATETIME = "DateTime"
    DATE = "Date"
    YEAR = "Year"


@dataclass(frozen=True)
class Field:
    """One column of a CSV file.

    Attributes:
        name: the column header, case-sensitive.
        required: the table's Required value.
        format: the table's Format value.
        vocabulary: the permitted tokens of an enumeration (or of a boolean).
        ref: the file stem a reference points to, e.g. ``"orgs"`` for orgs.csv.
        ref_type: the ``type`` the referenced org or academic session must have.
        item_shape: for ``{Type:Id}`` lists (users.userIds, scoreScales.scoreScaleValue).
        grades: True for the grade columns, checked against a grade vocabulary.
    """

    name: str
    required: Required
    format: Format
    vocabulary: Vocabulary | None = None
    ref: str | None = None
    ref_type: str | None = None
    item_shape: bool = False
    grades: bool = False


@dataclass(frozen=True)
class FileSpec:
    """One CSV file of the binding.

    Attributes:
        stem: the file name without ``.csv``, also the manifest's ``file.<stem>`` key.
        section: the section of the binding that defines it, e.g. ``"3.22"``.
        fields: its columns in the spec's order.
    """

    stem: str
    section: str
    fields: tuple[Field, ...]

    @property
    def filename(self) -> str:
        """The name of the file in the zip, e.g. ``users.csv``."""
        return f"{self.stem}.csv"

    @property
    def headers(self) -> tuple[str, ...]:
        """The header row, in the spec's order."""
        return tuple(field.name for field in self.fields)

    @property
    def manifest_key(self) -> str:
        """The manifest property that declares this file, e.g. ``file.users``."""
        return f"file.{self.stem}"


# --- manifest.csv (section 3.1) -----------------------------------------------------------

MANIFEST_FILENAME = "manifest.csv"
#: "The manifest file will consist of just two columns with the headers 'propertyName' and
#: 'value'" (section 3.1).
MANIFEST_HEADERS: tuple[str, ...] = ("propertyName", "value")
#: manifest.version: "For an initial value this must be '1.0'".
MANIFEST_VERSION = "1.0"
#: oneroster.version: "This must be '1.2' for implementations of this version".
ONEROSTER_VERSION = "1.2"
#: The required properties with a fixed value (Table 3.1).
MANIFEST_FIXED: dict[str, str] = {
    "manifest.version": MANIFEST_VERSION,
    "oneroster.version": ONEROSTER_VERSION,
}
#: The optional properties (Table 3.1, "Required: No").
MANIFEST_OPTIONAL: tuple[str, ...] = ("source.systemName", "source.systemCode")
#: The ``file.*`` properties in Table 3.1's order (courses comes before courseResources
#: there, unlike the sections).
MANIFEST_FILE_KEYS: tuple[str, ...] = tuple(
    f"file.{stem}"
    for stem in (
        "academicSessions",
        "categories",
        "classes",
        "classResources",
        "courses",
        "courseResources",
        "demographics",
        "enrollments",
        "lineItemLearningObjectiveIds",
        "lineItems",
        "lineItemScoreScales",
        "orgs",
        "resources",
        "resultLearningObjectiveIds",
        "results",
        "resultScoreScales",
        "roles",
        "scoreScales",
        "userProfiles",
        "userResources",
        "users",
    )
)
#: Every property of Table 3.1, in its order.
MANIFEST_PROPERTIES: tuple[str, ...] = (*MANIFEST_FIXED, *MANIFEST_FILE_KEYS, *MANIFEST_OPTIONAL)
