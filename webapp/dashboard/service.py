"""The dashboard's figures, each from a query that stays cheap at any size.

* Per grade and per status: the trigger-maintained ``enrollment_counts`` (a few dozen
  rows, whatever the number of students).
* Per month: one indexed range count per month and series, in one statement
  (``students.enrolled_on``; ``enrollments (status, status_on)``).
* The latest changes: the newest audit events, by primary key.

A teacher's dashboard counts only the students they may see
(:mod:`webapp.homerooms.scope`): the per-grade and per-status figures are then a GROUP BY
over those students' enrollments (a class or two, not the maintained counts), and the
monthly figures and the latest changes are narrowed by the same condition.

At 1,000,000 students the page renders in well under 200 ms (``bench/results/dashboard.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import pairwise

from sqlalchemy import func, literal, select, union_all

from webapp.extensions import db
from webapp.homerooms.scope import is_restricted, scoped
from webapp.models import (
    AuditEvent,
    Enrollment,
    EnrollmentCount,
    SchoolYear,
    Status,
    Student,
    User,
)
from webapp.models.student import GRADE_MAX, GRADE_MIN
from webapp.years.service import current_year

#: How many months the monthly chart covers, this month included.
MONTHS = 12
#: How many of the latest changes the page lists.
LATEST = 10


@dataclass(frozen=True)
class Month:
    """One month of the monthly chart.

    Attributes:
        first_day: the month's first day.
        enrolled: students whose first day at the school fell in the month.
        withdrawn: withdrawals dated in the month.
        transferred: transfers out dated in the month.
    """

    first_day: date
    enrolled: int
    withdrawn: int
    transferred: int


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard shows.

    Attributes:
        year: the current school year.
        per_grade: ``(grade, enrolled students)`` for every grade, lowest first.
        statuses: students per status in the year, every status present.
        months: the last :data:`MONTHS` months, oldest first.
        latest: the newest audit events, newest first.
    """

    year: SchoolYear
    per_grade: list[tuple[int, int]]
    statuses: dict[str, int]
    months: list[Month]
    latest: list[AuditEvent]

    @property
    def enrolled(self) -> int:
        """Students enrolled now."""
        return self.statuses[Status.ENROLLED.value]


def month_starts(today: date, count: int = MONTHS) -> list[date]:
    """The first days of the ``count`` months up to ``today``'s, oldest first, and of the
    month after (``count + 1`` dates: each month's bounds)."""
    starts = []
    year, month = today.year, today.month
    for _ in range(count):
        starts.append(date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    starts.reverse()
    last = starts[-1]
    starts.append(
        date(last.year + 1, 1, 1) if last.month == 12 else date(last.year, last.month + 1, 1)
    )
    return starts


def per_month(today: date, viewer: User | None = None) -> list[Month]:
    """New enrollments, withdrawals and transfers out per month, for the last months.

    One statement of ``3 * MONTHS`` range counts, each answered from an index; only the
    students ``viewer`` may see count.
    """
    bounds = month_starts(today)
    counts = []
    for index, (start, end) in enumerate(pairwise(bounds)):
        counts.append(
            scoped(
                select(literal(index), literal("enrolled"), func.count())
                .select_from(Student)
                .where(Student.enrolled_on >= start, Student.enrolled_on < end),
                viewer,
            )
        )
        for status in (Status.WITHDRAWN, Status.TRANSFERRED):
            counts.append(
                scoped(
                    select(literal(index), literal(status.value), func.count())
                    .select_from(Enrollment)
                    .where(
                        Enrollment.status == status.value,
                        Enrollment.status_on >= start,
                        Enrollment.status_on < end,
                    ),
                    viewer,
                    Enrollment.student_id,
                )
            )
    found: dict[tuple[int, str], int] = {
        (int(index), str(series)): int(number)
        for index, series, number in db.session.execute(union_all(*counts))
    }
    return [
        Month(
            first_day,
            found.get((index, "enrolled"), 0),
            found.get((index, Status.WITHDRAWN.value), 0),
            found.get((index, Status.TRANSFERRED.value), 0),
        )
        for index, first_day in enumerate(bounds[:-1])
    ]


def dashboard(today: date | None = None, viewer: User | None = None) -> Dashboard:
    """Gather the dashboard's figures for the current school year.

    Args:
        today: the day the monthly chart ends with; the real today by default.
        viewer: the account looking; a teacher's figures count only their students.

    Returns:
        The figures.
    """
    year = current_year()
    if is_restricted(viewer):
        counted = scoped(
            select(Enrollment.grade, Enrollment.status, func.count())
            .where(Enrollment.school_year_id == year.id)
            .group_by(Enrollment.grade, Enrollment.status),
            viewer,
            Enrollment.student_id,
        )
    else:
        counted = select(
            EnrollmentCount.grade, EnrollmentCount.status, EnrollmentCount.students
        ).where(EnrollmentCount.school_year_id == year.id)
    rows = db.session.execute(counted).all()
    enrolled = dict.fromkeys(range(GRADE_MIN, GRADE_MAX + 1), 0)
    statuses = {status.value: 0 for status in Status}
    for grade, status, number in rows:
        statuses[status] += number
        if status == Status.ENROLLED.value:
            enrolled[grade] += number
    newest = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(LATEST)
    latest = list(db.session.scalars(scoped(newest, viewer, AuditEvent.student_id)))
    return Dashboard(
        year=year,
        per_grade=sorted(enrolled.items()),
        statuses=statuses,
        months=per_month(today or date.today(), viewer),
        latest=latest,
    )
