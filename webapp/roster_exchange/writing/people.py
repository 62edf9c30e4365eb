"""Writing the people of an import's plan: students, their enrollments (and homeroom
places), guardians with their numbers, and the links of students to guardians.

New records go in as multi-row inserts (:func:`~.events.insert_records`); records that
exist are updated through the ORM.
"""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert

from webapp import trail
from webapp.extensions import db
from webapp.fields.enrollment import ENROLLMENT
from webapp.fields.guardian import GUARDIAN, GUARDIAN_LINK
from webapp.fields.student import STUDENT
from webapp.models import Enrollment, Entity, Homeroom, Student
from webapp.models.guardian import Guardian, GuardianPhone, StudentGuardian
from webapp.roster_exchange.planning import Plan
from webapp.roster_exchange.writing.events import CHUNK, Events, assign, changed, insert_records
from webapp.students import guardian_common
from webapp.students import guardians as guardian_writes

#: The guardian fields the trail records.
GUARDIAN_FIELDS = tuple(field.name for field in GUARDIAN.audited)


def write_students(plan: Plan, events: Events) -> dict[str, int]:
    """Create (in bulk) and update the plan's students; return every student's id by
    sourcedId."""
    today = date.today()
    new = [c for c in plan.students.values() if c.student is None]
    rows = [
        {
            "birthday": None,
            **c.values,
            "sourced_id": c.sourced_id,
            "enrolled_on": c.enrolled_on or today,
        }
        for c in new
    ]
    ids: dict[str, int] = {}
    for change, row, new_id in zip(new, rows, insert_records(Student, rows), strict=True):
        ids[change.sourced_id] = new_id
        changes = changed(STUDENT, {}, SimpleNamespace(**row))
        events.add(
            Entity.STUDENT,
            new_id,
            changes,
            created=True,
            file="users.csv",
            line=change.line,
            student=(new_id, row["name"]),
        )
    for change in plan.students.values():
        student = change.student
        if student is None:
            continue
        ids[change.sourced_id] = student.id
        before = STUDENT.snapshot(student)
        assign(student, change.values)
        changes = changed(STUDENT, before, student)
        if changes:
            events.add(
                Entity.STUDENT,
                student.id,
                changes,
                created=False,
                file="users.csv",
                line=change.line,
                student=(student.id, student.name),
            )
    db.session.flush()
    return ids


def write_enrollments(
    plan: Plan, events: Events, student_ids: dict[str, int], homeroom_ids: dict[str, int]
) -> int:
    """Create (in bulk) and update the plan's enrollments, and put those that
    enrollments.csv places in their homerooms; return how many changed."""
    new = [c for c in plan.enrollments.values() if c.enrollment is None]
    rows = []
    for change in new:
        year = plan.years[change.year_sourced_id].year
        assert year is not None
        rows.append(
            {
                "reason": None,
                "destination": None,
                **change.values,
                "sourced_id": change.sourced_id,
                "student_id": student_ids[change.student_sourced_id],
                "school_year_id": year.id,
                "homeroom_id": homeroom_ids[change.homeroom] if change.homeroom else None,
            }
        )
    written = 0
    for change, row, new_id in zip(new, rows, insert_records(Enrollment, rows), strict=True):
        name = plan.students[change.student_sourced_id].values["name"]
        changes = changed(ENROLLMENT, {}, SimpleNamespace(**row))
        student = (row["student_id"], name)
        events.add(
            Entity.ENROLLMENT,
            new_id,
            changes,
            created=True,
            file="roles.csv",
            line=change.line,
            student=student,
        )
        written += 1
    for change in plan.enrollments.values():
        enrollment = change.enrollment
        if enrollment is None:
            continue
        before = ENROLLMENT.snapshot(enrollment)
        assign(enrollment, change.values)
        changes = changed(ENROLLMENT, before, enrollment)
        if change.placed:
            changes.update(place(enrollment, change.homeroom, homeroom_ids))
        if changes:
            name = plan.students[change.student_sourced_id].values["name"]
            events.add(
                Entity.ENROLLMENT,
                enrollment.id,
                changes,
                created=False,
                file="roles.csv",
                line=change.line,
                student=(enrollment.student_id, name),
            )
            written += 1
    db.session.flush()
    return written


def place(
    enrollment: Enrollment, homeroom: str | None, homeroom_ids: dict[str, int]
) -> dict[str, list[Any]]:
    """Put a stored enrollment in ``homeroom`` (a sourcedId, None for none); return the
    audit changes, as the homeroom assignment records them (names and ids)."""
    new_id = homeroom_ids[homeroom] if homeroom else None
    old_id = enrollment.homeroom_id
    if old_id == new_id:
        return {}
    old = enrollment.homeroom.name if enrollment.homeroom is not None else None
    new = db.session.get(Homeroom, new_id).name if new_id is not None else None  # type: ignore[union-attr]
    enrollment.homeroom_id = new_id
    return {"homeroom": [old, new], "homeroom_id": [old_id, new_id]}


def write_guardians(plan: Plan, events: Events, student_ids: dict[str, int]) -> int:
    """Create (in bulk) and update the plan's guardians and their numbers, then add its
    links (in bulk); return how many guardians changed."""
    new = [c for c in plan.guardians.values() if c.guardian is None]
    rows = [{"preferred_language": None, **c.values, "sourced_id": c.sourced_id} for c in new]
    ids: dict[str, int] = {}
    phones: list[dict[str, Any]] = []
    for change, row, new_id in zip(new, rows, insert_records(Guardian, rows), strict=True):
        ids[change.sourced_id] = new_id
        numbers = [[kind, number] for kind, number in change.phones]
        phones += [
            {"guardian_id": new_id, "position": position, "kind": kind, "number": number}
            for position, (kind, number) in enumerate(change.phones, start=1)
        ]
        after = GUARDIAN.snapshot(SimpleNamespace(**row, phones=numbers))
        changes = trail.diff({}, after, GUARDIAN_FIELDS)
        events.add(
            Entity.GUARDIAN, new_id, changes, created=True, file="users.csv", line=change.line
        )
    for start in range(0, len(phones), CHUNK):
        db.session.execute(insert(GuardianPhone), phones[start : start + CHUNK])
    written = len(new)
    for change in plan.guardians.values():
        guardian = change.guardian
        if guardian is None:
            continue
        ids[change.sourced_id] = guardian.id
        before = guardian_common.snapshot(guardian)
        assign(guardian, change.values)
        guardian_writes.set_phones(guardian, change.phones)
        db.session.flush()
        changes = trail.diff(before, guardian_common.snapshot(guardian), GUARDIAN_FIELDS)
        if changes:
            events.add(
                Entity.GUARDIAN,
                guardian.id,
                changes,
                created=False,
                file="users.csv",
                line=change.line,
            )
            written += 1
    write_links(plan, events, student_ids, ids)
    return written


def write_links(
    plan: Plan, events: Events, student_ids: dict[str, int], guardian_ids: dict[str, int]
) -> None:
    """Insert the plan's new links of students to guardians, with their events."""
    rows: list[dict[str, Any]] = [
        {
            "student_id": student_ids[link.student_sourced_id],
            "guardian_id": guardian_ids[link.guardian_sourced_id],
            "relationship": link.relationship,
            "contact_order": link.contact_order,
            "emergency_contact": False,
            "lives_with": False,
            "pickup_allowed": False,
        }
        for link in plan.links
    ]
    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(StudentGuardian), rows[start : start + CHUNK])
    for link, row in zip(plan.links, rows, strict=True):
        after = GUARDIAN_LINK.snapshot(SimpleNamespace(**row))
        events.add(
            Entity.GUARDIAN_LINK,
            row["guardian_id"],
            {key: [None, value] for key, value in after.items()},
            created=True,
            file="users.csv",
            line=link.line,
            student=(row["student_id"], plan.students[link.student_sourced_id].values["name"]),
        )
