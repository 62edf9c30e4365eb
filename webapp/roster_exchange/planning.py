"""The import's plan: what each row of a bundle would do, and the values to write.

The per-file readers (:mod:`.files`) fill a :class:`Plan` from a bundle that the
validator accepted; :mod:`.importing` shows it (the preview) or applies it. Nothing here
writes to the database.
"""

from __future__ import annotations

import enum
import hashlib
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from webapp.models import Enrollment, Homeroom, SchoolYear, Student, User
from webapp.models.guardian import Guardian
from webapp.oneroster.archive import Records
from webapp.oneroster.files import FILES_BY_STEM

#: The longest sourcedId this app stores (its columns hold a UUID's 36 characters).
SOURCED_ID_MAX_LENGTH = 36


class Outcome(enum.StrEnum):
    """What a row of the bundle does."""

    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    SKIP = "skip"
    ERROR = "error"


#: The outcomes in the order totals list them.
OUTCOMES = tuple(Outcome)


@dataclass(frozen=True, slots=True)
class PlannedRow:
    """One row of the bundle and what it does.

    Attributes:
        file: the file's name (``users.csv``).
        line: the line the record starts on (the header is line 1).
        outcome: what it does.
        record: the row's sourcedId.
        message: what changes, why it is skipped, or what is wrong.
    """

    file: str
    line: int
    outcome: Outcome
    record: str
    message: str = ""


@dataclass
class YearChange:
    """A school year to create or update: ``year`` is None for a new one."""

    sourced_id: str
    values: dict[str, Any]
    year: SchoolYear | None
    line: int


@dataclass
class StudentChange:
    """A student to create or update (``student`` None for a new one).

    Attributes:
        values: ``name``, ``email`` and, when demographics.csv is in the bundle, ``birthday``.
        enrolled_on: for a new student, the first day of its earliest role.
    """

    sourced_id: str
    values: dict[str, Any]
    student: Student | None
    line: int
    enrolled_on: date | None = None


@dataclass
class EnrollmentChange:
    """An enrollment to create or update (``enrollment`` None for a new one).

    Attributes:
        values: ``grade``, ``status``, ``status_on``, ``entered_on`` (and ``reason`` and
            ``destination`` cleared when the student is enrolled again).
    """

    sourced_id: str
    student_sourced_id: str
    year_sourced_id: str
    values: dict[str, Any]
    enrollment: Enrollment | None
    line: int
    #: Whether enrollments.csv places this enrollment (it is in the bundle), and then
    #: the sourcedId of its homeroom (None: in no homeroom).
    placed: bool = False
    homeroom: str | None = None


@dataclass
class HomeroomChange:
    """A homeroom to create or update (``homeroom`` None for a new one).

    Attributes:
        year_sourced_id: its school year (one of the plan's years).
        values: ``name``, ``grade`` and ``room``.
        teachers: the sourcedIds of its teachers, when enrollments.csv is in the bundle
            (None leaves them as they are).
    """

    sourced_id: str
    year_sourced_id: str
    values: dict[str, Any]
    homeroom: Homeroom | None
    line: int
    teachers: list[str] | None = None


@dataclass
class TeacherChange:
    """A teacher of the bundle: an existing account (``user``), or one to create.

    Attributes:
        email: the account's email (a new account's login name).
        user: the account matched by sourcedId, else by email; None for a new one.
        enabled: the row's ``enabledUser``: whether a new account is active (it has no
            usable password either way).
    """

    sourced_id: str
    email: str
    user: User | None
    line: int
    enabled: bool = False


@dataclass
class GuardianChange:
    """A guardian to create or update (``guardian`` None for a new one).

    Attributes:
        values: ``name`` and ``email``.
        phones: the numbers to keep, ``(kind, E.164)`` pairs in order.
        role: the guardian's roles.csv role (parent, guardian or relative).
    """

    sourced_id: str
    values: dict[str, Any]
    phones: list[tuple[str, str]]
    guardian: Guardian | None
    line: int
    role: str


@dataclass(frozen=True)
class LinkChange:
    """A new link of a student to a guardian."""

    student_sourced_id: str
    guardian_sourced_id: str
    relationship: str
    contact_order: int
    line: int


@dataclass(slots=True)
class RoleRow:
    """A student role read from roles.csv, waiting for its user's row."""

    line: int
    sourced_id: str
    begin: date | None
    end: date | None


@dataclass
class Plan:
    """What importing a bundle would do.

    Attributes:
        filename: the bundle's name, for the audit trail.
        rows: every row read, with its outcome.
        years: the school years to write, by sourcedId (existing ones included when
            unchanged, as the enrollments need them).
        students: the students to create or update, by sourcedId.
        enrollments: the enrollments to create or update, by sourcedId.
        student_roles: the student roles of roles.csv, by user sourcedId.
        grades: users.csv's grades cell of each student, by sourcedId.
        guardians: the guardians to create or update, by sourcedId.
        links: the new links of students to guardians.
        guardian_roles: roles.csv's guardian roles ``(line, sourcedId, role)`` by user.
        agents: users.csv's agentSourcedIds of each student and guardian read.
        teacher_roles: roles.csv's teacher roles ``(line, sourcedId)`` by user.
        teachers: the teachers accepted from users.csv, by sourcedId.
        homerooms: the homerooms to create or update, by sourcedId.
    """

    filename: str
    rows: list[PlannedRow] = field(default_factory=list)
    years: dict[str, YearChange] = field(default_factory=dict)
    students: dict[str, StudentChange] = field(default_factory=dict)
    enrollments: dict[str, EnrollmentChange] = field(default_factory=dict)
    student_roles: dict[str, list[RoleRow]] = field(default_factory=dict)
    grades: dict[str, int] = field(default_factory=dict)
    guardians: dict[str, GuardianChange] = field(default_factory=dict)
    links: list[LinkChange] = field(default_factory=list)
    guardian_roles: dict[str, list[tuple[int, str, str]]] = field(default_factory=dict)
    agents: dict[str, list[str]] = field(default_factory=dict)
    teacher_roles: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    teachers: dict[str, TeacherChange] = field(default_factory=dict)
    homerooms: dict[str, HomeroomChange] = field(default_factory=dict)

    def add(self, file: str, line: int, outcome: Outcome, record: str, message: str = "") -> None:
        """Record what a row does."""
        self.rows.append(PlannedRow(file, line, outcome, record, message))

    @property
    def errors(self) -> int:
        """How many rows are in error (an import with any is refused)."""
        return sum(1 for row in self.rows if row.outcome is Outcome.ERROR)

    def totals(self) -> dict[str, dict[str, int]]:
        """``{file: {outcome: count}}`` plus a ``"total"`` entry over every file."""
        per_file: dict[str, Counter[str]] = {}
        overall: Counter[str] = Counter()
        for row in self.rows:
            per_file.setdefault(row.file, Counter())[row.outcome.value] += 1
            overall[row.outcome.value] += 1
        result = {
            name: {o.value: counts[o.value] for o in OUTCOMES} for name, counts in per_file.items()
        }
        result["total"] = {o.value: overall[o.value] for o in OUTCOMES}
        return result

    def fingerprint(self) -> str:
        """A digest of what the preview promised: each row's file, line and outcome."""
        digest = hashlib.sha256()
        for row in self.rows:
            digest.update(f"{row.file}\x00{row.line}\x00{row.outcome.value}\n".encode())
        return digest.hexdigest()


def records(archive: zipfile.ZipFile, stem: str) -> Iterator[tuple[int, dict[str, str]]]:
    """The data rows of ``stem``.csv as ``(line, {column: value})``; none when absent.

    The bundle has passed the validator, so the header is the spec's and every row has
    its fields (extension columns are ignored).
    """
    filename = FILES_BY_STEM[stem].filename
    if filename not in archive.namelist():
        return
    rows = iter(Records(archive, filename))
    _, header = next(rows)
    for line, fields in rows:
        yield line, dict(zip(header, fields, strict=True))


def check_sourced_id(value: str) -> str | None:
    """A message when ``value`` is too long for this app to store, else None."""
    if len(value) > SOURCED_ID_MAX_LENGTH:
        return (
            f"the sourcedId {value!r} has {len(value)} characters; this app stores at most "
            f"{SOURCED_ID_MAX_LENGTH} (a UUID)"
        )
    return None
