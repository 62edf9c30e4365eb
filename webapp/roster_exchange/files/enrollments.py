"""enrollments.csv (binding section 3.9): who is in each homeroom, and who teaches it.

Export: a ``student`` row per student assigned to a homeroom of the year (by the
student's sourcedId), then a ``teacher`` row per teacher of each homeroom (by the
homeroom's sourcedId, teachers by email); ``primary`` is ``true`` for a homeroom's
first teacher by email and ``false`` for the others and for students. The rows'
sourcedIds are derived (:mod:`..ids`): from the enrollment's stored UUID for a student,
from the homeroom's and the account's for a teacher. ``beginDate`` and ``endDate`` are
blank (roles.csv has the student's dates).

Import (:func:`plan_rows`), only when the bundle has enrollments.csv: a student row puts
the student's enrollment of the class's school year (planned from roles.csv) in that
homeroom, and every other enrollment of the bundle is then in no homeroom; the teacher
rows of a homeroom of classes.csv become its teachers (accounts of :mod:`.teachers`).
A bundle without enrollments.csv leaves homerooms and teachers as they are. Other roles,
and classes that are not imported homerooms, are skipped.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Enrollment, Homeroom, Student, User, homeroom_teachers
from webapp.roster_exchange.files.base import ExportContext, stream
from webapp.roster_exchange.ids import derived
from webapp.roster_exchange.planning import HomeroomChange, Outcome, Plan, PlannedRow, records

STEM = "enrollments"
FILE = "enrollments.csv"


def student_enrollment_id(enrollment_sourced_id: str) -> str:
    """The sourcedId of a student's homeroom enrollment row."""
    return derived("class-student", enrollment_sourced_id)


def teacher_enrollment_id(homeroom_sourced_id: str, user_sourced_id: str) -> str:
    """The sourcedId of a teacher's homeroom enrollment row."""
    return derived("class-teacher", homeroom_sourced_id, user_sourced_id)


def export_rows(context: ExportContext) -> Iterator[list[str]]:
    """The enrollments.csv rows: students by their sourcedId, then teachers."""
    school = context.settings.school_sourced_id
    students = (
        select(Enrollment.sourced_id, Homeroom.sourced_id, Student.sourced_id)
        .join(Homeroom, Homeroom.id == Enrollment.homeroom_id)
        .join(Student, Student.id == Enrollment.student_id)
        .where(Enrollment.school_year_id == context.year.id)
        .order_by(Student.sourced_id)
    )
    for enrollment_id, class_id, user_id in stream(students):
        row_id = student_enrollment_id(enrollment_id)
        yield [row_id, "", "", class_id, school, user_id, "student", "false", "", ""]
    teachers = (
        select(Homeroom.sourced_id, User.sourced_id)
        .join(homeroom_teachers, homeroom_teachers.c.homeroom_id == Homeroom.id)
        .join(User, User.id == homeroom_teachers.c.user_id)
        .where(Homeroom.school_year_id == context.year.id)
        .order_by(Homeroom.sourced_id, User.email)
    )
    previous = None
    for class_id, user_id in stream(teachers):
        primary = "true" if class_id != previous else "false"
        previous = class_id
        row_id = teacher_enrollment_id(class_id, user_id)
        yield [row_id, "", "", class_id, school, user_id, "teacher", primary, "", ""]


def plan_rows(plan: Plan, archive: zipfile.ZipFile) -> None:
    """Plan the homeroom of each student, and the teachers of each homeroom.

    Nothing happens without enrollments.csv in the bundle. With it, a student row puts
    the student's enrollment of the class's school year (planned from roles.csv) in that
    homeroom; every other enrollment of the plan is in no homeroom; each homeroom of the
    plan is taught by the teachers of its teacher rows.
    """
    if FILE not in archive.namelist():
        return
    by_pair = {(c.student_sourced_id, c.year_sourced_id): c for c in plan.enrollments.values()}
    current = _stored_homerooms(plan)
    for planned in plan.enrollments.values():
        planned.placed = True
    for class_change in plan.homerooms.values():
        class_change.teachers = []
    placed: dict[str, int] = {}
    for line, row in records(archive, STEM):
        sourced_id, role, user = row["sourcedId"], row["role"], row["userSourcedId"]
        homeroom = plan.homerooms.get(row["classSourcedId"])
        if role not in ("student", "teacher") or homeroom is None:
            why = f"a {role}" if homeroom is not None else "not an imported homeroom"
            plan.add(FILE, line, Outcome.SKIP, sourced_id, why)
            continue
        if role == "teacher":
            _plan_teacher(plan, line, sourced_id, homeroom, user)
            continue
        change = by_pair.get((user, homeroom.year_sourced_id))
        if change is None and user in plan.student_roles and user not in plan.students:
            message = f"the user {user} is not imported (see users.csv)"
            plan.add(FILE, line, Outcome.SKIP, sourced_id, message)
            continue
        if change is None:
            message = "the user has no student role of the class's school year"
            plan.add(FILE, line, Outcome.ERROR, sourced_id, message)
            continue
        if change.sourced_id in placed:
            first = placed[change.sourced_id]
            message = f"the student is in another homeroom that year (line {first})"
            plan.add(FILE, line, Outcome.ERROR, sourced_id, message)
            continue
        placed[change.sourced_id] = line
        change.homeroom = homeroom.sourced_id
        stored = change.enrollment
        if stored is None:
            outcome = Outcome.CREATE
        elif current.get(stored.id) == homeroom.sourced_id:
            outcome = Outcome.UNCHANGED
        else:
            outcome = Outcome.UPDATE
        plan.add(FILE, line, outcome, sourced_id, f"in {homeroom.values['name']}")
    _show_removals(plan, current)


def _show_removals(plan: Plan, current: dict[int, str]) -> None:
    """Make the preview show what no row of enrollments.csv says: a stored enrollment
    taken out of its homeroom (on its roles.csv line), a teacher no longer teaching a
    homeroom (on its classes.csv line)."""
    index = {(row.file, row.record): n for n, row in enumerate(plan.rows)}
    for change in plan.enrollments.values():
        stored = change.enrollment
        if stored is not None and change.homeroom is None and stored.id in current:
            _restate(plan, index.get(("roles.csv", change.sourced_id)), "out of its homeroom")
    for homeroom in plan.homerooms.values():
        if homeroom.homeroom is None or homeroom.teachers is None:
            continue
        kept = {plan.teachers[key].user for key in homeroom.teachers}
        if any(account not in kept for account in homeroom.homeroom.teachers):
            _restate(plan, index.get(("classes.csv", homeroom.sourced_id)), "teachers")


def _restate(plan: Plan, position: int | None, change: str) -> None:
    """Turn the planned row at ``position`` (if any) into an update that says ``change``."""
    if position is None:
        return
    row = plan.rows[position]
    message = ", ".join(part for part in (row.message, change) if part)
    if row.outcome in (Outcome.UNCHANGED, Outcome.UPDATE):
        plan.rows[position] = PlannedRow(row.file, row.line, Outcome.UPDATE, row.record, message)


def _plan_teacher(
    plan: Plan, line: int, sourced_id: str, homeroom: HomeroomChange, user: str
) -> None:
    """Plan one teacher row: the account teaches the homeroom."""
    teacher = plan.teachers.get(user)
    if teacher is None:
        plan.add(FILE, line, Outcome.SKIP, sourced_id, f"the user {user} is not imported")
        return
    assert homeroom.teachers is not None
    if user in homeroom.teachers:
        plan.add(FILE, line, Outcome.ERROR, sourced_id, "the teacher is listed twice")
        return
    homeroom.teachers.append(user)
    stored = homeroom.homeroom
    known = (
        stored is not None
        and teacher.user is not None
        and any(account.id == teacher.user.id for account in stored.teachers)
    )
    outcome = Outcome.UNCHANGED if known else Outcome.CREATE
    plan.add(FILE, line, outcome, sourced_id, f"{teacher.email} teaches {homeroom.values['name']}")


def _stored_homerooms(plan: Plan) -> dict[int, str]:
    """The homeroom sourcedId of each stored enrollment of the plan that has one, by id."""
    ids = [c.enrollment.id for c in plan.enrollments.values() if c.enrollment is not None]
    found: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        statement = (
            select(Enrollment.id, Homeroom.sourced_id)
            .join(Homeroom, Homeroom.id == Enrollment.homeroom_id)
            .where(Enrollment.id.in_(ids[start : start + 500]))
        )
        found.update((key, value) for key, value in db.session.execute(statement))
    return found
