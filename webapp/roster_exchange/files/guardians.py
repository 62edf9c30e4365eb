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
from typing import Any, TypeVar

from sqlalchemy import select

from webapp.models import Enrollment, Student
from webapp.models.guardian import Guardian, GuardianPhone, PhoneKind, Relationship, StudentGuardian
from webapp.roster_exchange.files.base import ExportContext, stream
from webapp.roster_exchange.ids import derived

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
