"""Stage 3 of an import, planning: each checked row against the roster, and what to do.

A :class:`Planner` matches the rows against the roster with a few set-based queries and
decides, row by row: create, update (with the changed fields), unchanged or error. The
session semantics follow the SQLAlchemy tutorial's verbs: a row with an ``id`` is
*merged* into that student (updated, or created with that id when the id is free); a row
without ``id`` whose email matches a student updates that student; any other row is
*added* as a new student. Emails match as the database's unique index compares them
(:func:`webapp.students.service.email_keys`).

Only the columns present in the file are written on update. What a blank cell means the
field declarations say (:meth:`webapp.fields.base.RecordFields.complete`): it clears an
optional field, is an error for a required one, and for the enrollment date means today
for a new student and the stored date for an existing one.

A row is a roster row (:data:`webapp.fields.student.ROSTER_ROW`): the student's fields
and the grade and status in the current school year, which are the student's enrollment
in that year. A new student is enrolled in the current year (from the enrollment date);
an existing student without an enrollment this year is enrolled when the row gives a
grade or status (from the year's first day, or the enrollment date if later). The status
lifecycle's rules hold as on the status form: a withdrawal has a date and a reason, a
transfer a date and a destination, no status is dated before its enrollment began. A
status change clears the date, reason or destination the new status has no use for,
when the file has no column for them.

An unusual value (the declarations' warnings: a birthday in 1879) is imported as written,
with the warning on the row's plan for the preview and the command line. As on the form,
only the values a row writes anew are judged: every field of a new student, the changed
fields of an existing one (:meth:`webapp.fields.base.RecordFields.check_warnings`).
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.fields.base import FieldError
from webapp.fields.enrollment import ENROLLMENT
from webapp.fields.student import ROSTER_ROW, STUDENT
from webapp.import_export.importer import support
from webapp.import_export.importer.checking import ValidatedFile
from webapp.import_export.importer.row_checks import ValidRow
from webapp.import_export.importer.support import IdRuns, chunks, paused_gc
from webapp.models import Enrollment, Status, Student
from webapp.students.service import email_keys
from webapp.years.service import current_year

#: Fields written to the tables (``id`` only identifies the row).
WRITABLE_FIELDS: tuple[str, ...] = tuple(f.name for f in ROSTER_ROW.writable)
#: The writable fields that are the student's, and those that are the enrollment's.
STUDENT_FIELDS: tuple[str, ...] = tuple(n for n in WRITABLE_FIELDS if n in STUDENT.by_name)
ENROLLMENT_FIELDS: tuple[str, ...] = tuple(n for n in WRITABLE_FIELDS if n in ENROLLMENT.by_name)
#: The fields a new student must have.
REQUIRED_FIELDS: tuple[str, ...] = tuple(f.name for f in ROSTER_ROW if f.required)
#: Every writable field blank: what a row's values are laid over.
_BLANK: dict[str, Any] = dict.fromkeys(WRITABLE_FIELDS)
#: For each status-dependent field, the statuses that have it.
_STATUS_HAS = {
    "status_on": {Status.WITHDRAWN.value, Status.GRADUATED.value, Status.TRANSFERRED.value},
    "reason": {Status.WITHDRAWN.value},
    "destination": {Status.TRANSFERRED.value},
}


class Action(StrEnum):
    """What the import does with one row."""

    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Change:
    """One field that an update changes."""

    field: str
    old: Any
    new: Any


@dataclass(slots=True)
class RowPlan:
    """What the import does with one row, and why.

    Attributes:
        line: line number in the file.
        action: create, update, unchanged or error.
        student_id: the student updated or left unchanged, the id a merge creates, or
            the student an erroneous row refers to; ``None`` for a plain create.
        name: the student's name, for display.
        changes: the fields an update changes, old and new values.
        errors: what is wrong with an erroneous row.
        values: what to write for a create or an update (``None`` otherwise): the
            fields to write, the student's ``id``, and ``enrollment_id`` (the enrollment
            in the current year to update, or ``None`` to make one when ``entered_on``
            is set).
        before: for an update, the student's stored fields as the plan read them.
        warnings: the plausibility warnings of the values a create or an update writes
            anew: imported as they are, and shown on the preview and by the command line.
    """

    line: int
    action: Action
    student_id: int | None
    name: str
    changes: tuple[Change, ...] = ()
    errors: tuple[str, ...] = ()
    values: dict[str, Any] | None = None
    before: dict[str, Any] | None = None
    warnings: tuple[str, ...] = ()


def display(name: str, value: Any) -> str:
    """A value of field ``name`` as the preview, the digest and the command line show it."""
    return ROSTER_ROW[name].display(value)


@dataclass
class ImportPlan:
    """The decision for every row of a file, against the roster as it was read.

    Attributes:
        fields: the student fields the file has.
        unmapped_columns: headers of the columns mapped to no field, not imported.
        rows: one plan per row, in file order.
        timings: seconds spent per step so far (parse, validate, match).
        largest_id: the largest id the file names (:func:`.checking.largest_id`).
    """

    fields: tuple[str, ...]
    unmapped_columns: tuple[str, ...]
    rows: list[RowPlan]
    timings: dict[str, float] = field(default_factory=dict)
    largest_id: int = 0

    @property
    def counts(self) -> dict[Action, int]:
        """Rows per action, every action present (zero when none)."""
        counter = Counter(row.action for row in self.rows)
        return {action: counter.get(action, 0) for action in Action}

    def digest(self) -> str:
        """A fingerprint of every decision, to notice when the roster changed meanwhile.

        Returns:
            :class:`PlanDigest` of the rows.
        """
        digest = PlanDigest()
        digest.update(self.rows)
        return digest.hexdigest()


class PlanDigest:
    """A fingerprint of a plan's decisions, fed chunk by chunk (a streamed preview).

    A hex SHA-256 over each row's line, action, student and changes or errors: two plans
    of the same file with the same digest do the same to the same students.
    """

    def __init__(self) -> None:
        self._hasher = hashlib.sha256()

    def update(self, rows: Iterable[RowPlan]) -> None:
        """Add the next rows of the plan, in file order."""
        hasher = self._hasher
        for row in rows:
            changes = [(change.field, display(change.field, change.new)) for change in row.changes]
            hasher.update(repr((row.line, row.action.value, row.student_id, changes)).encode())
            hasher.update(repr(row.errors).encode())

    def hexdigest(self) -> str:
        """The fingerprint of the rows added so far."""
        return self._hasher.hexdigest()


#: What a lookup reads of each student: the roster row, and its enrollment's id and start.
_LOOKUP_NAMES = (*ROSTER_ROW.names, "enrollment_id", "entered_on")
_LOOKUP_COLUMNS = (
    *(
        getattr(Enrollment if name in ENROLLMENT.by_name else Student, name)
        for name in ROSTER_ROW.names
    ),
    Enrollment.id,
    Enrollment.entered_on,
)


def _fetch_students(
    where: Callable[[Sequence[Any]], Any], keys: Sequence[Any], lock: bool, year_id: int
) -> Iterator[dict[str, Any]]:
    """Yield the students matching ``where(chunk)`` for each chunk of ``keys``, as dicts
    of their roster row in the school year ``year_id`` (enrollment fields ``None`` when
    not enrolled that year)."""
    names = _LOOKUP_NAMES
    joined = (Enrollment.student_id == Student.id) & (Enrollment.school_year_id == year_id)
    for chunk in chunks(keys, support.LOOKUP_BATCH_SIZE):
        statement = select(*_LOOKUP_COLUMNS).outerjoin(Enrollment, joined).where(where(chunk))
        if lock:
            # Rows about to be updated cannot change before the commit (PostgreSQL;
            # SQLite has no row locks: begin_write's BEGIN IMMEDIATE covers it).
            statement = statement.with_for_update(of=Student)
        for row in db.session.execute(statement):
            yield dict(zip(names, row, strict=True))


class Planner:
    """Decides what an import does with each row, in file order, chunk after chunk.

    Every row is judged against the roster *as it was before the import*, even when
    earlier chunks have already been written in the same transaction (the streamed
    import): after writing a chunk, call :meth:`written`, and later lookups see the
    students it created as absent and the ones it updated with their stored values. An
    email is a duplicate when an earlier row of the file has it, or when another student
    has it in that roster (a row that changes that student's email in the same file does
    not free it). A student may be changed by one row only.

    Args:
        fields: the student fields the file has.
        lock: lock the matched rows until the transaction ends (``SELECT ... FOR
            UPDATE``), for a plan that is about to be applied.
        today: the day defaults are computed for; the real today by default.
    """

    def __init__(
        self, fields: tuple[str, ...], *, lock: bool = False, today: date | None = None
    ) -> None:
        self.fields = fields
        self.lock = lock
        self.today = today or date.today()
        year = current_year()
        self.year_id, self.year_starts_on = year.id, year.starts_on
        self._defaults = ROSTER_ROW.defaults(self.today)
        self._given = [name for name in WRITABLE_FIELDS if name in fields]
        # The unique index's key of each email of the current chunk (see _learn_keys).
        self._keys: dict[str, str] = {}
        # Memory per row of the file: the line of each email key and of each student a
        # row names (an int id, a key string and two dict entries: about 150 bytes).
        self._line_of_student: dict[int, int] = {}
        self._line_of_email: dict[str, int] = {}
        # What this import wrote, as the roster was before it: the ids it created (new
        # ids come in blocks: runs; ids the file gives: a set) and the students it
        # updated, as they were.
        self._created = IdRuns()
        self._created_given: set[int] = set()
        self._before_by_id: dict[int, dict[str, Any]] = {}
        self._before_by_email: dict[str, dict[str, Any]] = {}

    def _was_written(self, student_id: int) -> bool:
        """Whether this import created or updated the student ``student_id``."""
        return (
            student_id in self._before_by_id
            or student_id in self._created_given
            or student_id in self._created
        )

    def _learn_keys(self, emails: Iterable[str]) -> None:
        """Add the unique index's keys of ``emails`` to the cache (one batch of lookups)."""
        keys = self._keys
        unknown = [email for email in emails if email not in keys]
        if unknown:
            keys.update(email_keys(unknown))

    def _lookup(
        self, rows: Sequence[ValidRow]
    ) -> tuple[dict[int, dict[str, Any]], dict[str, dict[str, Any]]]:
        """The students ``rows`` refer to, by id and by email key, as they were.

        A few ``IN`` queries in batches; students written by this import are answered
        from what :meth:`written` kept instead. Starts the chunk's cache of email keys.
        """
        self._keys = {}
        self._learn_keys(row.values["email"] for row in rows if row.values.get("email"))
        key = self._keys.__getitem__
        ids = sorted({row.values["id"] for row in rows if row.values.get("id") is not None})
        emails = sorted({key(row.values["email"]) for row in rows if row.values.get("email")})
        by_id: dict[int, dict[str, Any]] = {}
        unread_ids = []
        for student_id in ids:
            if (before := self._before_by_id.get(student_id)) is not None:
                by_id[student_id] = before
            elif student_id not in self._created_given and student_id not in self._created:
                unread_ids.append(student_id)
        by_id.update(
            (student["id"], student)
            for student in _fetch_students(Student.id.in_, unread_ids, self.lock, self.year_id)
        )
        self._learn_keys(student["email"] for student in by_id.values() if student["email"])
        by_email = {
            key(student["email"]): student for student in by_id.values() if student["email"]
        }
        unread_emails = []
        for email in emails:
            if email in by_email:
                continue
            if email in self._before_by_email:
                by_email[email] = self._before_by_email[email]
            else:
                unread_emails.append(email)
        found = list(
            _fetch_students(func.lower(Student.email).in_, unread_emails, self.lock, self.year_id)
        )
        self._learn_keys(student["email"] for student in found)
        for student in found:
            # A student this import wrote got the address from it: before, nobody had it.
            if not self._was_written(student["id"]):
                by_email[key(student["email"])] = student
        return by_id, by_email

    def plan(self, rows: Sequence[ValidRow]) -> list[RowPlan]:
        """Decide what to do with each of ``rows``, the next rows of the file.

        Args:
            rows: checked rows (:func:`.checking.iter_validated`), following the rows
                planned before.

        Returns:
            One plan per row, in order.
        """
        by_id, by_email = self._lookup(rows)
        keys = self._keys
        given = self._given
        line_of_student, line_of_email = self._line_of_student, self._line_of_email
        # What blanks mean and the rules across fields, from the declarations (as
        # RecordFields.complete and check_record do; inlined, since this loop is hot).
        defaults, student_rules = self._defaults, STUDENT.rules
        check_warnings, today = STUDENT.check_warnings, self.today
        enrollment_rules = ENROLLMENT.rules
        given_enrollment = [name for name in given if name in ENROLLMENT.by_name]
        absent_dependents = [name for name in _STATUS_HAS if name not in self.fields]
        year_starts_on = self.year_starts_on
        plans: list[RowPlan] = []
        append = plans.append
        for row in rows:
            values = row.values
            errors = list(row.errors)
            student_id = values.get("id")
            email = values.get("email")
            email_key = keys[email] if email else None
            if student_id is not None:
                target = by_id.get(student_id)
            else:
                target = by_email.get(email_key) if email_key else None
            target_id = target["id"] if target else student_id

            # A student is changed by one row at most; an address is used by one student.
            if target_id is not None:
                first = line_of_student.setdefault(target_id, row.line)
                if first != row.line:
                    who = f"student {target_id}" + (f" ({target['name']})" if target else "")
                    errors.append(f"This row changes {who}, as line {first} does.")
            if email_key:
                first = line_of_email.setdefault(email_key, row.line)
                owner = by_email.get(email_key)
                if first != row.line:
                    errors.append(f"The email {email} is also on line {first}.")
                elif owner is not None and (target is None or owner["id"] != target["id"]):
                    errors.append(
                        f"The email {email} belongs to another student, "
                        f"{owner['name']} (id {owner['id']})."
                    )

            cleared: list[str] = []
            enrolled = True  # whether the row leaves the student enrolled in the year
            if target is None:
                new = {**_BLANK, **values}
                new.pop("id", None)
                for name, default in defaults.items():
                    if new[name] is None:
                        new[name] = default
                for required in REQUIRED_FIELDS:
                    if new[required] is None and required not in row.bad_fields:
                        noun = ROSTER_ROW[required].noun
                        errors.append(f"A new student needs a {noun}; this row has none.")
                new["enrollment_id"] = None
                new["entered_on"] = new["enrolled_on"]
            else:
                new = {**target, **values}
                new.pop("id", None)
                for name in defaults:
                    if new[name] is None:
                        new[name] = target[name]
                if target["enrollment_id"] is None:
                    enrolled = any(values.get(name) is not None for name in given_enrollment)
                    if enrolled:
                        if new["status"] is None:
                            new["status"] = Status.ENROLLED.value
                        if new["grade"] is None and "grade" not in row.bad_fields:
                            errors.append(
                                "This student is not enrolled this school year: "
                                "a grade is needed to enroll them."
                            )
                        enrolled_on = new["enrolled_on"]
                        new["entered_on"] = (
                            enrolled_on
                            if enrolled_on and enrolled_on > year_starts_on
                            else year_starts_on
                        )
                elif values.get("status") is not None and values["status"] != target["status"]:
                    # A new status clears what it has no use for, if the file is silent.
                    for name in absent_dependents:
                        if new["status"] not in _STATUS_HAS[name] and new[name] is not None:
                            new[name] = None
                            cleared.append(name)
            for rule in student_rules:
                if row.bad_fields.isdisjoint(rule.reads):
                    try:
                        rule.check(new)
                    except FieldError as error:
                        errors.append(str(error))
            if enrolled:
                for rule in enrollment_rules:
                    if row.bad_fields.isdisjoint(rule.reads):
                        try:
                            rule.check(new)
                        except FieldError as error:
                            errors.append(str(error))

            label = new["name"] or row.label or (target["name"] if target else "")
            if errors:
                append(RowPlan(row.line, Action.ERROR, target_id, label, errors=tuple(errors)))
            elif target is None:
                warnings = tuple(message for _, message in check_warnings(new, today))
                if student_id is not None:
                    new["id"] = student_id
                append(
                    RowPlan(
                        row.line, Action.CREATE, student_id, label, values=new, warnings=warnings
                    )
                )
            else:
                changes = tuple(
                    Change(name, target[name], new[name])
                    for name in (*given, *cleared)
                    if target[name] != new[name]
                )
                if not changes:
                    append(RowPlan(row.line, Action.UNCHANGED, target_id, label))
                    continue
                # Only what the row writes anew: a stored value is not judged again.
                changed = {change.field for change in changes}
                warnings = tuple(message for _, message in check_warnings(new, today, changed))
                written = {name: new[name] for name in (*given, *cleared)}
                written["id"] = target_id
                written["enrollment_id"] = target["enrollment_id"]
                if target["enrollment_id"] is None and enrolled:
                    for name in ENROLLMENT_FIELDS:
                        written[name] = new[name]
                    written["entered_on"] = new["entered_on"]
                append(
                    RowPlan(
                        row.line,
                        Action.UPDATE,
                        target_id,
                        label,
                        changes,
                        values=written,
                        before=target,
                        warnings=warnings,
                    )
                )
        return plans

    def written(self, plans: Sequence[RowPlan], created_ids: Iterable[int]) -> None:
        """Note that ``plans`` were written, so later lookups still see the roster as it was.

        Args:
            plans: planned rows that :meth:`.writing.PlanWriter.write` wrote.
            created_ids: the ids of the students it created (what it returned).
        """
        created = [row for row in plans if row.action is Action.CREATE and row.values]
        ids = list(created_ids)
        self._created.update(
            student_id
            for row, student_id in zip(created, ids, strict=True)
            if row.student_id is None
        )
        self._created_given.update(
            student_id
            for row, student_id in zip(created, ids, strict=True)
            if row.student_id is not None
        )
        updated = [row.before for row in plans if row.action is Action.UPDATE and row.before]
        self._learn_keys(before["email"] for before in updated if before["email"])
        for before in updated:
            self._before_by_id[before["id"]] = before
            if before["email"]:
                self._before_by_email[self._keys[before["email"]]] = before


@paused_gc
def plan_import(
    validated: ValidatedFile, *, lock: bool = False, today: date | None = None
) -> ImportPlan:
    """Match the checked rows against the roster and decide what to do with each.

    One :class:`Planner` over all the rows; nothing is written.

    Args:
        validated: the output of :func:`.checking.validate_rows`.
        lock: lock the matched rows until the transaction ends (``SELECT ... FOR
            UPDATE``), for a plan that is about to be applied.
        today: the day defaults are computed for; the real today by default.

    Returns:
        The plan, with the rows in file order and the time matching took added to the
        checked file's timings.
    """
    started = time.perf_counter()
    planner = Planner(validated.fields, lock=lock, today=today)
    plans = planner.plan(validated.rows)
    timings = dict(validated.timings)
    timings["match"] = time.perf_counter() - started
    return ImportPlan(
        validated.fields, validated.unmapped_columns, plans, timings, validated.largest_id
    )
