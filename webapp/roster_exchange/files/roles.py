"""roles.csv (binding section 3.18): each student's role at the school in the year.

Export, per enrollment of the year: ``sourcedId`` the enrollment's stored UUID,
``userSourcedId`` the student's, ``roleType`` primary, ``role`` student, ``beginDate``
the day the enrollment began, ``endDate`` the day the student left (withdrew, graduated
or transferred; blank while enrolled), ``orgSourcedId`` the school. Then each
guardian's role (:mod:`.guardians`) and each teacher's (:mod:`.teachers`).

Import: each student role is an enrollment in a school year (:func:`plan_rows`); the
role's org is not read (the bundle may hold several schools; all go to this one).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Enrollment, Status, Student
from webapp.roster_exchange.files import guardians, teachers
from webapp.roster_exchange.files.base import ExportContext, iso, stream
from webapp.roster_exchange.planning import (
    EnrollmentChange,
    Outcome,
    Plan,
    RoleRow,
    StudentChange,
    YearChange,
    check_sourced_id,
    records,
)

STEM = "roles"
#: Enrollments looked up per query.
LOOKUP_BATCH = 500


def export_rows(context: ExportContext) -> Iterator[list[str]]:
    """The roles.csv rows of the year's students, by the student's sourcedId."""
    statement = (
        select(
            Enrollment.sourced_id, Student.sourced_id, Enrollment.entered_on, Enrollment.status_on
        )
        .join(Student, Enrollment.student_id == Student.id)
        .where(Enrollment.school_year_id == context.year.id)
        .order_by(Student.sourced_id)
    )
    school = context.settings.school_sourced_id
    for role_id, user_id, entered_on, status_on in stream(statement):
        yield [
            role_id,
            "",
            "",
            user_id,
            "primary",
            "student",
            iso(entered_on),
            iso(status_on),
            school,
            "",
        ]
    for role_id, user_id, role in guardians.export_roles(context):
        yield [role_id, "", "", user_id, "primary", role, "", "", school, ""]
    yield from teachers.export_roles(context)


FILE = "roles.csv"


def collect(plan: Plan, archive: zipfile.ZipFile) -> None:
    """Read the student and guardian roles of roles.csv (users.csv needs them to know its
    students and guardians).

    A guardian role's row is planned with its guardian (:func:`.guardians.plan_roles`);
    other roles are skipped here, with their line.
    """
    for line, row in records(archive, STEM):
        if row["role"] in guardians.GUARDIAN_ROLES:
            plan.guardian_roles.setdefault(row["userSourcedId"], []).append(
                (line, row["sourcedId"], row["role"])
            )
            continue
        if row["role"] == "teacher":
            plan.teacher_roles.setdefault(row["userSourcedId"], []).append((line, row["sourcedId"]))
            continue
        if row["role"] != "student":
            plan.add(FILE, line, Outcome.SKIP, row["sourcedId"], f"a {row['role']} role")
            continue
        begin, end = row["beginDate"], row["endDate"]
        plan.student_roles.setdefault(row["userSourcedId"], []).append(
            RoleRow(
                line=line,
                sourced_id=row["sourcedId"],
                begin=date.fromisoformat(begin) if begin else None,
                end=date.fromisoformat(end) if end else None,
            )
        )


def plan_rows(plan: Plan) -> None:
    """Plan an enrollment for each student role of a student that users.csv accepted.

    The role's school year is the bundle's only school year, or else the one whose days
    hold its beginDate. It is matched to an enrollment by sourcedId, else by student and
    year. beginDate is the day the enrollment began (the year's first day when blank);
    an endDate says the student left that day: withdrawn, unless the stored enrollment
    already says graduated or transferred.
    """
    stored = _load_stored(plan)
    for user, roles in plan.student_roles.items():
        change = plan.students.get(user)
        seen: dict[str, int] = {}
        for role in roles:
            if change is None:
                plan.add(FILE, role.line, Outcome.ERROR, role.sourced_id, _no_student(plan, user))
                continue
            year = _year_of(plan, role)
            if isinstance(year, str):
                plan.add(FILE, role.line, Outcome.ERROR, role.sourced_id, year)
                continue
            if year.sourced_id in seen:
                message = (
                    f"another student role of this user in that year (line {seen[year.sourced_id]})"
                )
                plan.add(FILE, role.line, Outcome.ERROR, role.sourced_id, message)
                continue
            seen[year.sourced_id] = role.line
            _plan_enrollment(plan, stored, change, year, role)


def _no_student(plan: Plan, user: str) -> str:
    """Why a student role has no student: its users.csv row is in error."""
    return f"the user {user} is not imported (see users.csv)"


def _year_of(plan: Plan, role: RoleRow) -> YearChange | str:
    """The school year of a role, or a message saying why there is none."""
    years = list(plan.years.values())
    if len(years) == 1:
        return years[0]
    if role.begin is not None:
        for year in years:
            if year.values["starts_on"] <= role.begin <= year.values["ends_on"]:
                return year
    return "cannot tell the school year of this role (give a beginDate within one)"


def _plan_enrollment(
    plan: Plan, stored: _Stored, change: StudentChange, year: YearChange, role: RoleRow
) -> None:
    """Plan the enrollment of one student role."""
    enrollment = _stored_enrollment(stored, change, year, role.sourced_id)
    if isinstance(enrollment, str):
        plan.add(FILE, role.line, Outcome.ERROR, role.sourced_id, enrollment)
        return
    problem = check_sourced_id(role.sourced_id) if enrollment is None else None
    entered_on = role.begin or (
        enrollment.entered_on if enrollment is not None else year.values["starts_on"]
    )
    if problem is None and role.end is not None and role.end < entered_on:
        problem = f"the endDate {role.end} is before the enrollment began ({entered_on})"
    if problem is not None:
        plan.add(FILE, role.line, Outcome.ERROR, role.sourced_id, problem)
        return
    values: dict[str, Any] = {
        "grade": plan.grades[change.sourced_id],
        "entered_on": entered_on,
        "status_on": role.end,
        "status": Status.ENROLLED.value,
    }
    if role.end is None:
        values.update(reason=None, destination=None)
    elif enrollment is not None and enrollment.status != Status.ENROLLED.value:
        values["status"] = enrollment.status
    else:
        values["status"] = Status.WITHDRAWN.value
    if change.student is None:
        first = change.enrolled_on
        change.enrolled_on = entered_on if first is None else min(first, entered_on)
    plan.enrollments[role.sourced_id] = EnrollmentChange(
        role.sourced_id, change.sourced_id, year.sourced_id, values, enrollment, role.line
    )
    if enrollment is None:
        message = f"enrolled in {year.values['name']}, grade {values['grade']}"
        plan.add(FILE, role.line, Outcome.CREATE, role.sourced_id, message)
        return
    changed = [name for name, value in values.items() if getattr(enrollment, name) != value]
    outcome = Outcome.UPDATE if changed else Outcome.UNCHANGED
    plan.add(FILE, role.line, outcome, role.sourced_id, ", ".join(changed))


@dataclass
class _Stored:
    """The stored enrollments the plan's roles may update, loaded in batches."""

    by_id: dict[str, Enrollment]
    by_pair: dict[tuple[int, int], Enrollment]


def _load_stored(plan: Plan) -> _Stored:
    """Load the enrollments named by the roles' sourcedIds and those of stored students."""
    role_ids = [role.sourced_id for roles in plan.student_roles.values() for role in roles]
    student_ids = [c.student.id for c in plan.students.values() if c.student is not None]
    stored = _Stored({}, {})
    for start in range(0, len(role_ids), LOOKUP_BATCH):
        batch = role_ids[start : start + LOOKUP_BATCH]
        for enrollment in db.session.scalars(
            select(Enrollment).where(Enrollment.sourced_id.in_(batch))
        ):
            stored.by_id[enrollment.sourced_id] = enrollment
    for start in range(0, len(student_ids), LOOKUP_BATCH):
        ids = student_ids[start : start + LOOKUP_BATCH]
        for enrollment in db.session.scalars(
            select(Enrollment).where(Enrollment.student_id.in_(ids))
        ):
            stored.by_pair[enrollment.student_id, enrollment.school_year_id] = enrollment
    return stored


def _stored_enrollment(
    stored: _Stored, change: StudentChange, year: YearChange, sourced_id: str
) -> Enrollment | str | None:
    """The stored enrollment a role updates, None for a new one, or why it cannot be."""
    enrollment = stored.by_id.get(sourced_id)
    student, stored_year = change.student, year.year
    if enrollment is not None:
        if (
            student is None
            or stored_year is None
            or (enrollment.student_id, enrollment.school_year_id) != (student.id, stored_year.id)
        ):
            return "the sourcedId names another student's enrollment, or another year's"
        return enrollment
    if student is None or stored_year is None:
        return None
    return stored.by_pair.get((student.id, stored_year.id))
