"""The closed vocabularies (enumerations) of OneRoster 1.2's CSV binding.

Every token set below is copied from the tables of "1EdTech OneRoster 1.2.1: CSV
Binding", section 3 (one subsection per file; the field's "Description" column lists the
permitted values). Tokens are case-sensitive (section 3: "All header names and content
values within the CSV file are case-sensitive").

Section 4.1.2 ("Proprietary Vocabulary Terms") lets a producer extend exactly these
vocabularies, with tokens that "start with the characters 'ext:'": classType
(classes.csv), role (enrollments.csv and roles.csv), roles (resources.csv), scoreStatus
(results.csv), sex (demographics.csv), source (the two learning-objective files) and type
(academicSessions.csv and orgs.csv). They are the ones built with ``extensible=True``.

Grades are the exception: OneRoster 1.2 removed CEDS from its data model (section 1.2,
"all references to CEDS have been removed") and says of every ``grades`` column "The
permitted vocabulary should be agreed as part of the definition of the usage of this
specification". :data:`CEDS_GRADES` is the vocabulary OneRoster 1.1 named (CEDS "Entry
Grade Level"), which issue 15 asks this app to use; see its docstring for its source.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: The prefix of a proprietary token in an extensible vocabulary (section 4.1.2).
EXTENSION_PREFIX = "ext:"


@dataclass(frozen=True)
class Vocabulary:
    """A closed set of tokens, and whether ``ext:`` tokens extend it.

    Attributes:
        name: a label for messages, e.g. ``"org type"``.
        tokens: the permitted values, case-sensitive.
        extensible: True when section 4.1.2 allows ``ext:`` tokens as well.
    """

    name: str
    tokens: tuple[str, ...]
    extensible: bool = False
    _token_set: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_token_set", frozenset(self.tokens))

    def allows(self, value: str) -> bool:
        """Return whether ``value`` is one of the tokens (or a proprietary ``ext:`` token)."""
        if value in self._token_set:
            return True
        return self.extensible and value.startswith(EXTENSION_PREFIX) and len(value) > 4

    def describe(self) -> str:
        """Return the permitted tokens for an error message, e.g. ``{ a | b } or ext:...``."""
        listed = "{ " + " | ".join(self.tokens) + " }"
        return f"{listed} or an 'ext:' token" if self.extensible else listed


#: status, every file, delta mode only (bulk files leave it blank).
STATUS = Vocabulary("status", ("active", "tobedeleted"))
#: Boolean columns ("Permitted values are: { true | false }").
BOOLEAN = Vocabulary("boolean", ("true", "false"))
#: academicSessions.type (section 3.2).
SESSION_TYPE = Vocabulary(
    "academic session type", ("gradingPeriod", "semester", "schoolYear", "term"), extensible=True
)
#: classes.classType (section 3.4).
CLASS_TYPE = Vocabulary("class type", ("homeroom", "scheduled"), extensible=True)
#: demographics.sex (section 3.8; "unspecified" and "other" are new in 1.2).
SEX = Vocabulary("sex", ("male", "female", "unspecified", "other"), extensible=True)
#: enrollments.role (section 3.9).
ENROLLMENT_ROLE = Vocabulary(
    "enrollment role", ("administrator", "proctor", "student", "teacher"), extensible=True
)
#: lineItemLearningObjectiveIds.source and resultLearningObjectiveIds.source (3.10, 3.15).
LEARNING_OBJECTIVE_SOURCE = Vocabulary(
    "learning objective source", ("case", "unknown"), extensible=True
)
#: orgs.type (section 3.13).
ORG_TYPE = Vocabulary(
    "org type", ("department", "school", "district", "local", "state", "national"), extensible=True
)
#: resources.roles, a comma-separated list (section 3.14).
RESOURCE_ROLE = Vocabulary(
    "resource role",
    ("administrator", "aide", "guardian", "parent", "proctor", "relative", "student", "teacher"),
    extensible=True,
)
#: resources.importance (section 3.14).
IMPORTANCE = Vocabulary("importance", ("primary", "secondary"))
#: results.scoreStatus (section 3.16; the tokens contain spaces).
SCORE_STATUS = Vocabulary(
    "score status",
    ("exempt", "fully graded", "not submitted", "partially graded", "submitted"),
    extensible=True,
)
#: roles.roleType (section 3.18).
ROLE_TYPE = Vocabulary("role type", ("primary", "secondary"))
#: roles.role (section 3.18).
ROLE = Vocabulary(
    "role",
    (
        "aide",
        "counselor",
        "districtAdministrator",
        "guardian",
        "parent",
        "principal",
        "proctor",
        "relative",
        "siteAdministrator",
        "student",
        "systemAdministrator",
        "teacher",
    ),
    extensible=True,
)

#: The values of a manifest's ``file.*`` properties (section 3.1, Table 3.1).
FILE_MODE = Vocabulary("file mode", ("absent", "bulk", "delta"))

#: Grade levels: the CEDS "Entry Grade Level" codes (CEDS element 000100).
#:
#: Not in the 1.2 binding (see the module docstring). OneRoster 1.1's information model
#: named this CEDS option set for ``grades``; 1.2 moved vocabulary advice to its
#: Implementation Guide, whose text could not be read here. The list is taken from CEDS
#: as public implementations carry it (e.g. libre-oneroster's GradeType table, with
#: "Other"; the Swift OneRoster package's Grade enum citing CEDS term 7100), and matches
#: issue 15's "IT, PR, PK, TK, KG, 01..13, PS, UG, Other".
CEDS_GRADES = Vocabulary(
    "grade (CEDS)",
    ("IT", "PR", "PK", "TK", "KG", *(f"{n:02d}" for n in range(1, 14)), "PS", "UG", "Other"),
)
