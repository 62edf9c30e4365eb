"""Enrollments: a student's grade and status in each school year, and changes to them.

Shared by the student pages, the student service (a new student is enrolled in the
current year) and the audit feature (reverting a status change). Each write function
commits once, with its audit event; the rollover's set-based writes are
:mod:`webapp.years.rollover`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.exc import StaleDataError

from webapp import trail
from webapp.extensions import db
from webapp.fields.enrollment import ENROLLMENT, STATUS_FIELDS
from webapp.models import (
    Action,
    AuditEvent,
    Enrollment,
    Entity,
    Homeroom,
    SchoolYear,
    Status,
    Student,
)

#: The enrollment fields the trail records, in display order.
AUDITED = tuple(field.name for field in ENROLLMENT.audited)


class EnrollmentError(Exception):
    """A change to an enrollment was refused; ``str(error)`` says why, for the user."""


class StaleEnrollmentError(EnrollmentError):
    """The enrollment changed since the version the user saw (or was deleted).

    Attributes:
        current_version: the version now stored, or ``None`` when the row is gone.
    """

    def __init__(self, current_version: int | None) -> None:
        super().__init__(
            "Someone else changed this enrollment while you were editing it; nothing was "
            "saved. The form now shows the stored values."
        )
        self.current_version = current_version


def enrollments_of(student_id: int) -> list[Enrollment]:
    """The student's enrollments, the latest school year first, with their years and
    homerooms loaded (one statement)."""
    statement = (
        select(Enrollment)
        .join(Enrollment.school_year)
        .outerjoin(Homeroom, Homeroom.id == Enrollment.homeroom_id)
        .options(contains_eager(Enrollment.school_year), contains_eager(Enrollment.homeroom))
        .where(Enrollment.student_id == student_id)
        .order_by(SchoolYear.starts_on.desc())
    )
    return list(db.session.scalars(statement))


def enrollment_in(student_id: int, year_id: int) -> Enrollment | None:
    """The student's enrollment in the school year ``year_id``, if any."""
    return db.session.scalar(
        select(Enrollment).where(
            Enrollment.student_id == student_id, Enrollment.school_year_id == year_id
        )
    )


def years_without_enrollment(student_id: int) -> list[SchoolYear]:
    """The school years the student is not enrolled in, the latest first."""
    enrolled = select(Enrollment.school_year_id).where(Enrollment.student_id == student_id)
    statement = (
        select(SchoolYear)
        .where(SchoolYear.id.not_in(enrolled))
        .order_by(SchoolYear.starts_on.desc())
    )
    return list(db.session.scalars(statement))


def first_day(student: Student, year: SchoolYear) -> date:
    """The day an enrollment of ``student`` in ``year`` begins, unless someone says otherwise.

    The student's first enrollment begins on the student's enrollment date (as migration
    0011 did for every existing student); a later one on the year's first day, or the
    enrollment date when that is later.
    """
    has_any = db.session.scalar(
        select(Enrollment.id).where(Enrollment.student_id == student.id).limit(1)
    )
    if has_any is None or student.enrolled_on > year.starts_on:
        return student.enrolled_on
    return year.starts_on


def snapshot(enrollment: Enrollment) -> dict[str, Any]:
    """The audited fields of ``enrollment``, as the trail stores them."""
    return ENROLLMENT.snapshot(enrollment)


def add_enrollment(
    student: Student,
    year: SchoolYear,
    grade: int,
    entered_on: date | None = None,
    *,
    note: str | None = None,
) -> Enrollment:
    """Enroll ``student`` in ``year`` with ``grade``, and record it; no commit.

    Args:
        student: a flushed student (it has an id).
        year: the school year.
        grade: the grade that year.
        entered_on: the day it begins; :func:`first_day` by default.
        note: for the audit event; the year's name by default.

    Returns:
        The pending (flushed) enrollment.
    """
    enrollment = Enrollment(
        student_id=student.id,
        school_year_id=year.id,
        grade=grade,
        status=Status.ENROLLED.value,
        entered_on=entered_on or first_day(student, year),
    )
    db.session.add(enrollment)
    db.session.flush()
    trail.record_event(
        Action.CREATE,
        Entity.ENROLLMENT,
        enrollment.id,
        trail.diff({}, snapshot(enrollment), AUDITED),
        student_id=student.id,
        student_name=student.name,
        note=note or f"school year {year.name}",
    )
    return enrollment


def enroll(student: Student, year: SchoolYear, grade: int, entered_on: date) -> Enrollment:
    """Enroll an existing student in another school year, and commit.

    Raises:
        EnrollmentError: the student is enrolled in that year already, or the database
            refused the row; nothing changed.
    """
    if enrollment_in(student.id, year.id) is not None:
        raise EnrollmentError(f"{student.name} is already enrolled in {year.name}.")
    try:
        enrollment = add_enrollment(student, year, grade, entered_on)
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise EnrollmentError(
            f"The database refused the enrollment: {student.name} may have been enrolled in "
            f"{year.name} meanwhile."
        ) from error
    return enrollment


def save_enrollment(
    enrollment: Enrollment,
    values: Mapping[str, Any],
    expected_version: int | None,
    *,
    action: Action = Action.UPDATE,
    reverts: AuditEvent | None = None,
) -> Enrollment:
    """Change an enrollment's grade and status, record it, and commit.

    Args:
        enrollment: an enrollment loaded in this session.
        values: cleaned values of some of :data:`STATUS_FIELDS` (the form's, checked with
            the declarations' rules against the stored ``entered_on``).
        expected_version: the version the user's form showed; ``None`` skips the check.
        action: how the trail calls it (``revert`` from the audit feature).
        reverts: the event a revert undoes.

    Returns:
        The saved enrollment. A save that changes nothing writes nothing.

    Raises:
        StaleEnrollmentError: it changed since ``expected_version``, or another
            transaction changed it before this one committed; rolled back.
        EnrollmentError: the database refused the values (a status dated before the
            enrollment began, say); rolled back.
    """
    if expected_version is not None and expected_version != enrollment.version:
        raise StaleEnrollmentError(enrollment.version)
    before = snapshot(enrollment)
    for name in STATUS_FIELDS:
        if name in values:
            setattr(enrollment, name, values[name])
    changes = trail.diff(before, snapshot(enrollment), AUDITED)
    if not changes:
        db.session.rollback()
        return enrollment
    student = db.session.get(Student, enrollment.student_id)
    try:
        db.session.flush()
        trail.record_event(
            action,
            Entity.ENROLLMENT,
            enrollment.id,
            changes,
            student_id=enrollment.student_id,
            student_name=student.name if student else None,
            reverts=reverts,
            note=f"school year {enrollment.school_year.name}",
        )
        db.session.commit()
    except StaleDataError as error:
        db.session.rollback()
        current = db.session.scalar(
            select(Enrollment.version).where(Enrollment.id == enrollment.id)
        )
        raise StaleEnrollmentError(current) from error
    except IntegrityError as error:
        db.session.rollback()
        raise EnrollmentError(
            "The database refused these values (a status needs a date, not before the "
            "enrollment began). Check them and try again."
        ) from error
    return enrollment


def deleted_snapshot(student_id: int, current_year_id: int) -> list[dict[str, Any]]:
    """What a student's deletion keeps of the enrollments, for a restore to put back.

    Returns:
        One dict per enrollment: its id, sourced id, school year (id and name), whether
        that year is the current one, its homeroom's id (``None`` when unassigned), and
        its audited fields in their audit form.
    """
    kept = []
    for enrollment in reversed(enrollments_of(student_id)):
        kept.append(
            {
                "id": enrollment.id,
                "sourced_id": enrollment.sourced_id,
                "school_year_id": enrollment.school_year_id,
                "school_year": enrollment.school_year.name,
                "current": enrollment.school_year_id == current_year_id,
                "homeroom_id": enrollment.homeroom_id,
                **snapshot(enrollment),
            }
        )
    return kept


def restore_enrollments(student: Student, kept: list[Mapping[str, Any]]) -> None:
    """Put back the enrollments a deletion kept (:func:`deleted_snapshot`); no commit.

    Enrollments of years that no longer exist are skipped. Each goes back into its
    homeroom while that homeroom exists (deletions recorded before the homeroom was kept
    put none back); a homeroom full meanwhile takes it all the same, as an undo (its
    capacity is a warning for new assignments).
    """
    for values in kept:
        year = db.session.get(SchoolYear, values["school_year_id"])
        if year is None:
            continue
        fields = ENROLLMENT.from_json(values)
        homeroom = db.session.get(Homeroom, values.get("homeroom_id") or 0)
        enrollment = Enrollment(
            id=values["id"],
            sourced_id=values["sourced_id"],
            student_id=student.id,
            school_year_id=year.id,
            homeroom_id=homeroom.id if homeroom and homeroom.school_year_id == year.id else None,
            **{name: fields.get(name) for name in AUDITED},
        )
        db.session.add(enrollment)
