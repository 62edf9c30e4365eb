"""users.csv (binding section 3.22): the students of the school year.

Export, per student enrolled in the year (any status):

* ``sourcedId``: the student's stored UUID.
* ``enabledUser``: ``true`` while the status is enrolled, ``false`` once the student has
  left (withdrawn, graduated, transferred); roles.csv's ``endDate`` says when.
* ``username``: the email, or the sourcedId for a student without one (required, and
  consumers match accounts on it).
* ``givenName``, ``familyName``: this app keeps one ``name``; :func:`split_name` divides
  it at the last space, and :func:`join_name` puts it back together exactly.
* ``email``; ``grades``: the year's grade as a CEDS code (``"01"`` to ``"12"``);
  ``primaryOrgSourcedId``: the school.
* Left blank: userIds, middleName, identifier (our ids differ between databases), sms,
  phone, password, userMasterIdentifier, the preferred names, pronouns.

Guardians (:mod:`.guardians`) and teachers (:mod:`.teachers`) follow the students.

Import: users with a student role in roles.csv become students (:func:`plan_rows`):
name from givenName, middleName and familyName, email, and the grade from ``grades``.
enabledUser is not read: whether a student has left is roles.csv's ``endDate``.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import select

from webapp.extensions import db
from webapp.fields.base import FieldError
from webapp.fields.student import STUDENT
from webapp.models import Enrollment, Status, Student
from webapp.models.student import GRADE_MAX, GRADE_MIN
from webapp.roster_exchange.files import guardians, teachers
from webapp.roster_exchange.files.base import ExportContext, join_name, split_name, stream
from webapp.roster_exchange.ids import ceds_grade
from webapp.roster_exchange.planning import Outcome, Plan, StudentChange, check_sourced_id, records

STEM = "users"


def username(email: str | None, sourced_id: str) -> str:
    """The exported username: the email, or the sourcedId without one."""
    return email or sourced_id


def _sourced_id(row: Any) -> str:
    return str(row[0])


def user_row(
    sourced_id: str,
    enabled: bool,
    name: str,
    email: str | None,
    school: str,
    *,
    grade: str = "",
    agents: str = "",
    sms: str = "",
    phone: str = "",
) -> list[str]:
    """One users.csv row, in the spec's column order (blank where this app has nothing)."""
    given, family = split_name(name)
    return [
        sourced_id,
        "",
        "",
        "true" if enabled else "false",
        username(email, sourced_id),
        "",
        given,
        family,
        "",
        "",
        email or "",
        sms,
        phone,
        agents,
        grade,
        "",
        "",
        "",
        "",
        "",
        school,
        "",
    ]


def export_rows(context: ExportContext) -> Iterator[list[str]]:
    """The users.csv rows: the year's students, their guardians, then the teachers of
    its homerooms, each by sourcedId."""
    statement = (
        select(Student.sourced_id, Student.name, Student.email, Enrollment.grade, Enrollment.status)
        .join(Enrollment, Enrollment.student_id == Student.id)
        .where(Enrollment.school_year_id == context.year.id)
        .order_by(Student.sourced_id)
    )
    school = context.settings.school_sourced_id
    enrolled = Status.ENROLLED.value
    rows = iter(stream(statement))
    for row, agents in guardians.attach(rows, _sourced_id, guardians.student_agents(context)):
        sourced_id, name, email, grade, status = row
        yield user_row(
            sourced_id,
            status == enrolled,
            name,
            email,
            school,
            grade=ceds_grade(grade),
            agents=",".join(agents),
        )
    for sourced_id, name, email, sms, phone, agents_of in guardians.export_users(context):
        yield user_row(
            sourced_id, True, name, email, school, agents=agents_of, sms=sms, phone=phone
        )
    for sourced_id, active, name, email in teachers.export_users(context):
        yield user_row(sourced_id, active, name, email, school)


FILE = "users.csv"
#: Our grades as CEDS codes, and back.
GRADES = {ceds_grade(grade): grade for grade in range(GRADE_MIN, GRADE_MAX + 1)}
#: Students looked up per query.
LOOKUP_BATCH = 500


def grade_of(cell: str) -> int:
    """Our grade from a student's ``grades`` cell: exactly one CEDS code, ``01`` to ``12``.

    Raises:
        FieldError: blank, several grades, or a grade this school does not have.
    """
    if not cell:
        raise FieldError("a student needs a grade (the grades column is blank)")
    if "," in cell:
        raise FieldError(f"a student has one grade a year, not {cell!r}")
    if cell not in GRADES:
        raise FieldError(
            f"the grade {cell!r} is not one of this school's grades, "
            f"{ceds_grade(GRADE_MIN)} to {ceds_grade(GRADE_MAX)}"
        )
    return GRADES[cell]


def stored_students(sourced_ids: list[str]) -> dict[str, Student]:
    """The stored students with these sourcedIds, by sourcedId."""
    found: dict[str, Student] = {}
    for start in range(0, len(sourced_ids), LOOKUP_BATCH):
        batch = sourced_ids[start : start + LOOKUP_BATCH]
        statement = select(Student).where(Student.sourced_id.in_(batch))
        found.update((student.sourced_id, student) for student in db.session.scalars(statement))
    return found


def plan_rows(plan: Plan, archive: zipfile.ZipFile, today: date) -> None:
    """Plan the students of users.csv (the users with a student role in roles.csv) and
    its guardians (a guardian, parent or relative role; :func:`.guardians.plan_user`).

    A user is matched to a student by sourcedId; an unknown one is a new student. The
    name is :func:`join_name` of the name columns, the email is checked as the student
    form checks it and must be no other student's; the grade must be one of ours.
    """
    wanted = [
        row["sourcedId"]
        for _, row in records(archive, STEM)
        if row["sourcedId"] in plan.student_roles or row["sourcedId"] in plan.guardian_roles
    ]
    students = stored_students(wanted)
    stored_guardians = guardians.stored_guardians(wanted)
    owners = {
        email.lower(): sourced_id
        for email, sourced_id in db.session.execute(
            select(Student.email, Student.sourced_id).where(Student.email.is_not(None))
        )
        if email is not None
    }
    for line, row in records(archive, STEM):
        sourced_id = row["sourcedId"]
        if sourced_id not in plan.student_roles:
            if sourced_id in plan.guardian_roles:
                guardians.plan_user(plan, line, row, stored_guardians, today)
            elif sourced_id in plan.teacher_roles:
                teachers.plan_user(plan, line, row)
            else:
                message = "neither a student, a guardian nor a teacher"
                plan.add(FILE, line, Outcome.SKIP, sourced_id, message)
            continue
        try:
            values = _values(row, today)
            plan.grades[sourced_id] = grade_of(row["grades"])
        except FieldError as error:
            plan.add(FILE, line, Outcome.ERROR, sourced_id, str(error))
            continue
        problem = check_sourced_id(sourced_id)
        email = values["email"]
        if problem is None and email is not None:
            owner = owners.setdefault(email.lower(), sourced_id)
            if owner != sourced_id:
                problem = f"the email {email} is another student's ({owner})"
        if problem is not None:
            plan.add(FILE, line, Outcome.ERROR, sourced_id, problem)
            continue
        student = students.get(sourced_id)
        plan.students[sourced_id] = StudentChange(sourced_id, values, student, line)
        plan.agents[sourced_id] = guardians.agents_of(row)
        if student is None:
            plan.add(FILE, line, Outcome.CREATE, sourced_id, values["name"])
            continue
        changed = [name for name, value in values.items() if getattr(student, name) != value]
        outcome = Outcome.UPDATE if changed else Outcome.UNCHANGED
        plan.add(FILE, line, outcome, sourced_id, ", ".join(changed))


def _values(row: dict[str, str], today: date) -> dict[str, Any]:
    """A student's name and email from a users.csv row (FieldError when not acceptable)."""
    name = join_name(row["givenName"], row["familyName"], row["middleName"])
    return {
        "name": STUDENT["name"].clean(name, today),
        "email": STUDENT["email"].clean(row["email"], today),
    }
