"""Guardians in users.csv and roles.csv (binding sections 3.22 and 3.18).

Export: every guardian of a student exported, after the students in users.csv:
``sourcedId`` the guardian's stored UUID, ``enabledUser`` true, ``username`` the email
(or the sourcedId), the name split as a student's (:func:`.users.split_name`), ``email``,
``sms`` the first mobile number and ``phone`` the first other number (E.164),
``agentSourcedIds`` the guardian's students of the year, ``primaryOrgSourcedId`` the
school. A student's ``agentSourcedIds`` lists the student's guardians in contact order.
In roles.csv each guardian has one role at the school (sourcedId derived from the
guardian's): ``parent`` when every link is mother, father or parent, ``relative`` when
every link is grandparent, sibling or relative, else ``guardian``.

Import (:func:`plan_rows`): users with a guardian, parent or relative role become
guardians, matched by sourcedId (name, email, the two numbers); the links come from the
students' and the guardians' ``agentSourcedIds``. A new link's relationship is the
role's (parent, guardian or relative) and its contact order its place in the student's
list; an existing link keeps its own. The import adds links and never removes one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import select

from webapp.extensions import db
from webapp.fields.base import FieldError
from webapp.fields.guardian import GUARDIAN, parse_phone
from webapp.models import Enrollment, Student
from webapp.models.guardian import (
    PHONES_MAX,
    Guardian,
    GuardianPhone,
    PhoneKind,
    Relationship,
    StudentGuardian,
)
from webapp.roster_exchange.files.base import ExportContext, join_name, stream
from webapp.roster_exchange.ids import derived
from webapp.roster_exchange.planning import (
    GuardianChange,
    LinkChange,
    Outcome,
    Plan,
    check_sourced_id,
)

#: The roles.csv roles that make a user a guardian here.
GUARDIAN_ROLES = ("parent", "guardian", "relative")
#: Relationships by the role they export as; any other is ``guardian``.
ROLE_OF = {
    Relationship.MOTHER.value: "parent",
    Relationship.FATHER.value: "parent",
    Relationship.PARENT.value: "parent",
    Relationship.GRANDPARENT.value: "relative",
    Relationship.SIBLING.value: "relative",
    Relationship.RELATIVE.value: "relative",
}
#: The relationship a new link gets from the guardian's role.
RELATIONSHIP_OF = {
    "parent": Relationship.PARENT.value,
    "relative": Relationship.RELATIVE.value,
    "guardian": Relationship.GUARDIAN.value,
}

K = TypeVar("K")
T = TypeVar("T")
V = TypeVar("V")


def attach(
    items: Iterator[T], key: Callable[[T], K], pairs: Iterator[tuple[K, V]]
) -> Iterator[tuple[T, list[V]]]:
    """Merge two streams ordered by the same key: each item with the values paired to it.

    Both come from the database in one order (``ORDER BY`` the same column), so this
    holds one item's values at a time, never a whole table.
    """
    pending = next(pairs, None)
    for item in items:
        wanted = key(item)
        found: list[V] = []
        while pending is not None and pending[0] == wanted:
            found.append(pending[1])
            pending = next(pairs, None)
        yield item, found


def _in_year(context: ExportContext) -> Any:
    """The ids of the students exported (enrolled in the year, any status)."""
    return select(Enrollment.student_id).where(Enrollment.school_year_id == context.year.id)


def student_agents(context: ExportContext) -> Iterator[tuple[str, str]]:
    """``(student sourcedId, guardian sourcedId)`` of the year, by student, in contact order."""
    statement = (
        select(Student.sourced_id, Guardian.sourced_id)
        .join(StudentGuardian, StudentGuardian.student_id == Student.id)
        .join(Guardian, Guardian.id == StudentGuardian.guardian_id)
        .where(Student.id.in_(_in_year(context)))
        .order_by(Student.sourced_id, StudentGuardian.contact_order, Guardian.sourced_id)
    )
    yield from stream(statement)


def _guardian_links(context: ExportContext) -> Iterator[tuple[str, tuple[str, str]]]:
    """``(guardian sourcedId, (student sourcedId, relationship))``, by guardian and student."""
    statement = (
        select(Guardian.sourced_id, Student.sourced_id, StudentGuardian.relationship)
        .join(StudentGuardian, StudentGuardian.guardian_id == Guardian.id)
        .join(Student, Student.id == StudentGuardian.student_id)
        .where(Student.id.in_(_in_year(context)))
        .order_by(Guardian.sourced_id, Student.sourced_id)
    )
    for guardian, student, relationship in stream(statement):
        yield guardian, (student, relationship)


def _guardians(context: ExportContext) -> Iterator[tuple[str, str, str | None]]:
    """``(sourcedId, name, email)`` of the year's students' guardians, by sourcedId."""
    linked = select(StudentGuardian.guardian_id).where(
        StudentGuardian.student_id.in_(_in_year(context))
    )
    statement = (
        select(Guardian.sourced_id, Guardian.name, Guardian.email)
        .where(Guardian.id.in_(linked))
        .order_by(Guardian.sourced_id)
    )
    yield from stream(statement)


def _phones(context: ExportContext) -> Iterator[tuple[str, tuple[str, str]]]:
    """``(guardian sourcedId, (kind, number))`` in the guardians' order, numbers in order."""
    linked = select(StudentGuardian.guardian_id).where(
        StudentGuardian.student_id.in_(_in_year(context))
    )
    statement = (
        select(Guardian.sourced_id, GuardianPhone.kind, GuardianPhone.number)
        .join(GuardianPhone, GuardianPhone.guardian_id == Guardian.id)
        .where(Guardian.id.in_(linked))
        .order_by(Guardian.sourced_id, GuardianPhone.position)
    )
    for sourced_id, kind, number in stream(statement):
        yield sourced_id, (kind, number)


def role_of(relationships: list[str]) -> str:
    """The roles.csv role of a guardian with these relationships (see the module)."""
    roles = {ROLE_OF.get(relationship, "guardian") for relationship in relationships}
    return roles.pop() if len(roles) == 1 else "guardian"


def role_id(guardian_sourced_id: str) -> str:
    """The sourcedId of a guardian's role at the school (derived from the guardian's)."""
    return derived("guardian-role", guardian_sourced_id)


def export_users(context: ExportContext) -> Iterator[tuple[str, str, str | None, str, str, str]]:
    """Each guardian: sourcedId, name, email, sms, phone, agentSourcedIds (for users.csv)."""
    first = attach(_guardians(context), _first, _guardian_links(context))
    for ((sourced_id, name, email), links), (_, phones) in zip(
        first, attach(_guardians(context), _first, _phones(context)), strict=True
    ):
        sms = next((n for kind, n in phones if kind == PhoneKind.MOBILE.value), "")
        phone = next((n for kind, n in phones if kind != PhoneKind.MOBILE.value), "")
        agents = ",".join(student for student, _ in links)
        yield sourced_id, name, email, sms, phone, agents


def export_roles(context: ExportContext) -> Iterator[tuple[str, str, str]]:
    """Each guardian's role row: (role sourcedId, guardian sourcedId, role)."""
    for (sourced_id, _, _), links in attach(_guardians(context), _first, _guardian_links(context)):
        yield role_id(sourced_id), sourced_id, role_of([r for _, r in links])


def _first(row: tuple[str, str, str | None]) -> str:
    return row[0]


USERS_FILE = "users.csv"
ROLES_FILE = "roles.csv"
#: Guardians looked up per query.
LOOKUP_BATCH = 500


def agents_of(row: dict[str, str]) -> list[str]:
    """A users.csv row's agentSourcedIds, as a list."""
    cell = row["agentSourcedIds"]
    return cell.split(",") if cell else []


def stored_guardians(sourced_ids: list[str]) -> dict[str, Guardian]:
    """The stored guardians with these sourcedIds, by sourcedId."""
    found: dict[str, Guardian] = {}
    for start in range(0, len(sourced_ids), LOOKUP_BATCH):
        batch = sourced_ids[start : start + LOOKUP_BATCH]
        statement = select(Guardian).where(Guardian.sourced_id.in_(batch))
        found.update((guardian.sourced_id, guardian) for guardian in db.session.scalars(statement))
    return found


def plan_user(
    plan: Plan, line: int, row: dict[str, str], stored: dict[str, Guardian], today: date
) -> None:
    """Plan the guardian of one users.csv row (a user with a guardian role)."""
    sourced_id = row["sourcedId"]
    role = plan.guardian_roles[sourced_id][0][2]
    try:
        name = join_name(row["givenName"], row["familyName"], row["middleName"])
        values = {
            "name": GUARDIAN["name"].clean(name, today),
            "email": GUARDIAN["email"].clean(row["email"], today),
        }
    except FieldError as error:
        plan.add(USERS_FILE, line, Outcome.ERROR, sourced_id, str(error))
        return
    numbers, notes = _numbers(row)
    guardian = stored.get(sourced_id)
    problem = check_sourced_id(sourced_id) if guardian is None else None
    if problem is not None:
        plan.add(USERS_FILE, line, Outcome.ERROR, sourced_id, problem)
        return
    phones = [] if guardian is None else [(kind, number) for kind, number in guardian.phones]
    known = {number for _, number in phones}
    phones += [(kind, number) for kind, number in numbers if number not in known]
    del phones[PHONES_MAX:]
    plan.guardians[sourced_id] = GuardianChange(sourced_id, values, phones, guardian, line, role)
    plan.agents[sourced_id] = agents_of(row)
    if guardian is None:
        message = " ".join([f"guardian {values['name']}.", *notes])
        plan.add(USERS_FILE, line, Outcome.CREATE, sourced_id, message)
        return
    changed = [n for n, value in values.items() if getattr(guardian, n) != value]
    if [(kind, number) for kind, number in guardian.phones] != phones:
        changed.append("phones")
    outcome = Outcome.UPDATE if changed else Outcome.UNCHANGED
    plan.add(USERS_FILE, line, outcome, sourced_id, " ".join([", ".join(changed), *notes]))


def _numbers(row: dict[str, str]) -> tuple[list[tuple[str, str]], list[str]]:
    """The row's sms (a mobile) and phone (home) numbers in E.164, and a note for each
    number that is not a valid phone number: such a number is left out, not an error
    that would stop the whole import."""
    numbers: list[tuple[str, str]] = []
    notes: list[str] = []
    for kind, column in ((PhoneKind.MOBILE.value, "sms"), (PhoneKind.HOME.value, "phone")):
        if row[column]:
            try:
                numbers.append((kind, parse_phone(row[column], f"{column} number")))
            except FieldError as error:
                notes.append(f"Not imported: {error}")
    return numbers, notes


def plan_links(plan: Plan) -> None:
    """Plan the links of students to guardians named by agentSourcedIds, and the rows of
    the guardians' roles.

    A student's list gives the contact order of its new links; a link only a guardian's
    list names comes after them. Agents that are not guardians of the bundle are skipped.
    """
    wanted: dict[tuple[str, str], tuple[int, int]] = {}
    for student, student_change in plan.students.items():
        for order, agent in enumerate(plan.agents.get(student, []), start=1):
            if agent in plan.guardians:
                wanted.setdefault((student, agent), (order, student_change.line))
    for guardian in plan.guardians:
        for student in plan.agents.get(guardian, []):
            if student in plan.students and (student, guardian) not in wanted:
                order = len(plan.agents.get(student, [])) + 1
                wanted[student, guardian] = (order, plan.students[student].line)
    stored = _stored_links(plan)
    for (student, guardian), (order, line) in wanted.items():
        if (student, guardian) in stored:
            continue
        relationship = RELATIONSHIP_OF[plan.guardians[guardian].role]
        plan.links.append(LinkChange(student, guardian, relationship, order, line))
        plan.add(USERS_FILE, line, Outcome.CREATE, f"{student} > {guardian}", "guardian link")
    for user, roles in plan.guardian_roles.items():
        change = plan.guardians.get(user)
        for index, (line, sourced_id, role) in enumerate(roles):
            if change is None or index:
                why = "another guardian role of this user" if index else "not an imported guardian"
                plan.add(ROLES_FILE, line, Outcome.SKIP, sourced_id, why)
                continue
            outcome = Outcome.CREATE if change.guardian is None else Outcome.UNCHANGED
            plan.add(ROLES_FILE, line, outcome, sourced_id, f"{role} of the guardian")


def _stored_links(plan: Plan) -> set[tuple[str, str]]:
    """The stored links between the plan's stored students and stored guardians."""
    students = [c.student.id for c in plan.students.values() if c.student is not None]
    found: set[tuple[str, str]] = set()
    for start in range(0, len(students), LOOKUP_BATCH):
        statement = (
            select(Student.sourced_id, Guardian.sourced_id)
            .join(StudentGuardian, StudentGuardian.student_id == Student.id)
            .join(Guardian, Guardian.id == StudentGuardian.guardian_id)
            .where(Student.id.in_(students[start : start + LOOKUP_BATCH]))
        )
        found.update((student, guardian) for student, guardian in db.session.execute(statement))
    return found
