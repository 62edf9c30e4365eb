"""Who sees which students: the teacher's scope, applied in the queries.

Every account sees every student, except a ``teacher``: a teacher sees the students
enrolled (status ``enrolled``) in the current school year in a homeroom they teach, and
no one else, on every page, export and figure. The condition is a subquery added to the
caller's SELECT (:func:`scoped`), so it costs no extra statement, and a student outside
it is simply not found: a 404, as for a student that does not exist.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, select

from webapp.models import Enrollment, Homeroom, Role, SchoolYear, Status, Student, User
from webapp.models import homeroom_teachers as teaches

#: Any SELECT, whatever its columns (``scoped`` returns the type it was given).
AnySelect = TypeVar("AnySelect", bound="Select[*tuple[Any, ...]]")


def is_restricted(viewer: User | None) -> bool:
    """Whether ``viewer`` sees only some students (a teacher); ``None`` (the command
    line) and every other role see everyone."""
    return viewer is not None and getattr(viewer, "role", None) == Role.TEACHER.value


def visible_student_ids(viewer: User) -> Select[int]:
    """The ids of the students a teacher may see, as a subquery-ready SELECT.

    Args:
        viewer: the teacher.

    Returns:
        ``SELECT enrollments.student_id`` of the current year's enrolled students in the
        homerooms ``viewer`` teaches.
    """
    return (
        select(Enrollment.student_id)
        .join(teaches, teaches.c.homeroom_id == Enrollment.homeroom_id)
        .join(SchoolYear, SchoolYear.id == Enrollment.school_year_id)
        .where(
            teaches.c.user_id == viewer.id,
            SchoolYear.is_current.is_(True),
            Enrollment.status == Status.ENROLLED.value,
        )
    )


def student_visible(viewer: User | None, column: Any = Student.id) -> ColumnElement[bool] | None:
    """The condition "``column`` names a student ``viewer`` may see", or ``None`` (all).

    Args:
        viewer: the account looking; ``None`` for the command line.
        column: the column holding a student id (``AuditEvent.student_id``...).
    """
    if viewer is None or not is_restricted(viewer):
        return None
    condition: ColumnElement[bool] = column.in_(visible_student_ids(viewer))
    return condition


def scoped(statement: AnySelect, viewer: User | None, column: Any = Student.id) -> AnySelect:
    """Narrow a SELECT to the students ``viewer`` may see.

    Args:
        statement: a SELECT whose FROM has the table of ``column``.
        viewer: the account looking; ``None`` (the command line) sees everyone.
        column: the column holding the student id; ``students.id`` by default.

    Returns:
        The SELECT, narrowed (unchanged for every role but ``teacher``).
    """
    condition = student_visible(viewer, column)
    return statement if condition is None else statement.where(condition)


def homeroom_visible(viewer: User | None) -> ColumnElement[bool] | None:
    """The condition "a homeroom ``viewer`` may see": for a teacher, those they teach in
    any year (the class list); ``None`` (all) for everyone else."""
    if viewer is None or not is_restricted(viewer):
        return None
    taught = select(teaches.c.homeroom_id).where(teaches.c.user_id == viewer.id)
    condition: ColumnElement[bool] = Homeroom.id.in_(taught)
    return condition
