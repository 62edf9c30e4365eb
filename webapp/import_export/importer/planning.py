"""Stage 3 of an import, planning: each checked row against the roster, and what to do.

A :class:`Planner` matches the rows against the roster with a few set-based queries and
decides, row by row: create, update (with the changed fields), unchanged or error. The
session semantics follow the SQLAlchemy tutorial's verbs: a row with an ``id`` is
*merged* into that student (updated, or created with that id when the id is free); a row
without ``id`` whose email matches a student updates that student; any other row is
*added* as a new student. Emails match as the database's unique index compares them
(:func:`webapp.students.service.email_keys`).

Only the columns present in the file are written on update. What a blank cell means the
field declarations say (:meth:`webapp.fields.records.RecordFields.complete`): it clears an
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
fields of an existing one (:meth:`webapp.fields.records.RecordFields.check_warnings`).

The lookups of the students the rows name are :mod:`.lookup`'s; the plan itself (what
each row gets) is :mod:`.plans`'.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from webapp.fields.base import FieldError
from webapp.fields.enrollment import ENROLLMENT
from webapp.fields.student import ROSTER_ROW, STUDENT
from webapp.import_export.importer.checking import ValidatedFile
from webapp.import_export.importer.lookup import RosterLookup
from webapp.import_export.importer.plans import (
    ENROLLMENT_FIELDS,
    WRITABLE_FIELDS,
    Action,
    Change,
    ImportPlan,
    RowPlan,
)
from webapp.import_export.importer.row_checks import ValidRow
from webapp.import_export.importer.support import paused_gc
from webapp.models import Status
from webapp.years.service import current_year

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
        # The students the rows name, as the roster was before the import.
        self._roster = RosterLookup(lock=lock, year_id=self.year_id)
        # Memory per row of the file: the line of each email key and of each student a
        # row names (an int id, a key string and two dict entries: about 150 bytes).
        self._line_of_student: dict[int, int] = {}
        self._line_of_email: dict[str, int] = {}

    def plan(self, rows: Sequence[ValidRow]) -> list[RowPlan]:
        """Decide what to do with each of ``rows``, the next rows of the file.

        Args:
            rows: checked rows (:func:`.checking.iter_validated`), following the rows
                planned before.

        Returns:
            One plan per row, in order.
        """
        by_id, by_email = self._roster.lookup(rows)
        keys = self._roster.keys
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
        self._roster.written(plans, created_ids)


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
