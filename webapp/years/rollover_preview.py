"""What a rollover would do, before it runs: every enrolled student of the ending year,
grade by grade, as moving up (or graduating), held back, or already in the next year.

:func:`preview` lists the students (the page); :func:`counts` only counts them (the
command's dry run). The rollover itself is :mod:`webapp.years.rollover`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import Select, exists, func, select

from webapp.extensions import db
from webapp.models import Enrollment, SchoolYear, Status, Student
from webapp.models.student import GRADE_MAX
from webapp.years.rollover import target_year


@dataclass(frozen=True)
class Mover:
    """A student in the preview: who, in which grade now."""

    student_id: int
    name: str
    grade: int


@dataclass
class GradeLine:
    """One grade of the preview.

    Attributes:
        grade: the grade in the ending year.
        moving_up: students who move up to the next grade (or graduate, from the top).
        held_back: students who stay in this grade.
        already: students already enrolled in the next year (left as they are).
    """

    grade: int
    moving_up: list[Mover] = field(default_factory=list)
    held_back: list[Mover] = field(default_factory=list)
    already: list[Mover] = field(default_factory=list)

    @property
    def graduating(self) -> bool:
        """Whether moving up from this grade means graduating."""
        return self.grade == GRADE_MAX


@dataclass
class Preview:
    """What a rollover would do, grade by grade.

    Attributes:
        from_year: the ending year.
        to_year: the next year.
        grades: one line per grade that has enrolled students, lowest first.
        unknown_holds: held-back ids that are not students enrolled in the ending year.
    """

    from_year: SchoolYear
    to_year: SchoolYear
    grades: list[GradeLine]
    unknown_holds: list[int] = field(default_factory=list)

    @property
    def promoted(self) -> int:
        """Students who would move up a grade."""
        return sum(len(line.moving_up) for line in self.grades if not line.graduating)

    @property
    def graduating(self) -> int:
        """Students who would graduate."""
        return sum(len(line.moving_up) for line in self.grades if line.graduating)

    @property
    def held_back(self) -> int:
        """Students who would stay in their grade."""
        return sum(len(line.held_back) for line in self.grades)

    @property
    def already(self) -> int:
        """Students already enrolled in the next year."""
        return sum(len(line.already) for line in self.grades)


def _next_enrollment(to_year_id: int) -> Select[tuple[int]]:
    """``SELECT 1`` for a student of ``enrollments`` (outer) already in ``to_year_id``."""
    later = Enrollment.__table__.alias("later")
    return select(1).where(
        later.c.student_id == Enrollment.student_id, later.c.school_year_id == to_year_id
    )


def preview(from_year: SchoolYear, holds: Collection[int] = ()) -> Preview:
    """What a rollover from ``from_year`` would do, with ``holds`` held back.

    Args:
        from_year: the ending year.
        holds: ids of students to hold back in their grade.

    Returns:
        The preview, every enrolled student of the ending year listed in their grade.

    Raises:
        RolloverError: no next year is defined.
    """
    to_year = target_year(from_year)
    held = set(holds)
    already = exists(_next_enrollment(to_year.id))
    statement = (
        select(Student.id, Student.name, Enrollment.grade, already)
        .join(Enrollment, Enrollment.student_id == Student.id)
        .where(
            Enrollment.school_year_id == from_year.id,
            Enrollment.status == Status.ENROLLED.value,
        )
        .order_by(Enrollment.grade, Student.name, Student.id)
    )
    lines: dict[int, GradeLine] = {}
    seen: set[int] = set()
    for student_id, name, grade, is_already in db.session.execute(statement):
        line = lines.setdefault(grade, GradeLine(grade))
        mover = Mover(student_id, name, grade)
        seen.add(student_id)
        if is_already:
            line.already.append(mover)
        elif student_id in held:
            line.held_back.append(mover)
        else:
            line.moving_up.append(mover)
    return Preview(from_year, to_year, list(lines.values()), sorted(held - seen))


def counts(from_year: SchoolYear, holds: Collection[int] = ()) -> Preview:
    """The preview's totals only (for the command line), in a few aggregate queries.

    Returns:
        A :class:`Preview` whose grade lines hold placeholder movers, one per student
        (names empty); cheap at any size compared with listing names.
    """
    to_year = target_year(from_year)
    already = exists(_next_enrollment(to_year.id))
    held = list(set(holds))
    # Never a constant: a constant in GROUP BY is a column number to SQLite.
    held_expr = Enrollment.student_id.in_(held) if held else Enrollment.student_id < 0
    statement = (
        select(Enrollment.grade, already, held_expr, func.count())
        .where(
            Enrollment.school_year_id == from_year.id,
            Enrollment.status == Status.ENROLLED.value,
        )
        .group_by(Enrollment.grade, already, held_expr)
    )
    lines: dict[int, GradeLine] = defaultdict(lambda: GradeLine(0))
    for grade, is_already, is_held, number in db.session.execute(statement):
        line = lines[grade]
        line.grade = grade
        placeholder = [Mover(0, "", grade)] * number
        if is_already:
            line.already.extend(placeholder)
        elif is_held:
            line.held_back.extend(placeholder)
        else:
            line.moving_up.extend(placeholder)
    return Preview(from_year, to_year, [lines[g] for g in sorted(lines)])
