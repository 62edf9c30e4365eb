"""The roster: which students a page, an export or a command lists, in one place.

Every list of students goes through :func:`roster_statement`: the roster page, its CSV
export and ``flask students export``. It joins each student to the enrollment in the
school year shown (the current one by default), filters by search text, grade and
status, applies the viewer's scope, and orders the rows. So the next features plug in
here once: issue 13's teacher scope (a teacher sees only the students of the homerooms
they teach: :func:`webapp.homerooms.scope.scoped`), and issue 14's keyset pagination,
full-text search and cheap totals (:func:`roster_page`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from webapp.extensions import db
from webapp.homerooms.scope import scoped
from webapp.models import Enrollment, Status, Student, User
from webapp.models.student import GRADE_MAX, GRADE_MIN
from webapp.years.service import current_year_id

#: Columns the roster can be sorted by, keyed by their name in the ``sort`` parameter.
SORTABLE_COLUMNS: dict[str, Any] = {
    "name": Student.name,
    "email": func.lower(Student.email),
    "grade": Enrollment.grade,
    "birthday": Student.birthday,
    "enrolled_on": Student.enrolled_on,
}
#: Sorted columns that may be empty: their blanks come last in both directions.
_NULLABLE_SORTS = frozenset({"email", "grade", "birthday"})
DEFAULT_SORT = "name"
DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100
#: Highest page number accepted. Beyond some 10^17 the OFFSET overflows a 64-bit integer:
#: PostgreSQL answers "bigint out of range", Python's sqlite3 raises OverflowError. A page
#: past the end shows the last page anyway.
MAX_PAGE = 1_000_000

#: The status filter: a status, ``all`` (every student, enrolled this year or not) or
#: ``none`` (students without an enrollment in the year).
ALL, NOT_ENROLLED = "all", "none"
STATUS_FILTERS: dict[str, str] = {
    **{status.value: status.label for status in Status},
    ALL: "All students",
    NOT_ENROLLED: "Not enrolled this year",
}
DEFAULT_STATUS = Status.ENROLLED.value


@dataclass(frozen=True)
class RosterQuery:
    """What the roster shows: the state carried in its URL.

    Attributes:
        q: text searched for in name and email, case-insensitively; ``""`` for all.
        grade: only students in this grade (in the year shown), or ``None``.
        status: a key of :data:`STATUS_FILTERS`: students with this status in the year
            shown (``enrolled`` by default), ``all``, or ``none``.
        sort: a key of ``SORTABLE_COLUMNS``, prefixed with ``-`` for descending order.
        page: 1-based page number.
        per_page: rows per page.
    """

    q: str = ""
    grade: int | None = None
    status: str = DEFAULT_STATUS
    sort: str = DEFAULT_SORT
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @property
    def sort_key(self) -> str:
        """The sorted column's key, without the direction."""
        return self.sort.removeprefix("-")

    @property
    def descending(self) -> bool:
        """Whether the sort is descending."""
        return self.sort.startswith("-")

    @property
    def filtered(self) -> bool:
        """Whether a search, grade or status other than the default narrows the list."""
        return bool(self.q) or self.grade is not None or self.status != DEFAULT_STATUS

    def url_args(self, **changes: Any) -> dict[str, Any]:
        """Return the query-string arguments for this view with ``changes`` applied.

        Defaults are left out so that URLs stay short and shareable.
        """
        state = replace(self, **changes)
        args: dict[str, Any] = {}
        if state.q:
            args["q"] = state.q
        if state.grade is not None:
            args["grade"] = state.grade
        if state.status != DEFAULT_STATUS:
            args["status"] = state.status
        if state.sort != DEFAULT_SORT:
            args["sort"] = state.sort
        if state.page != 1:
            args["page"] = state.page
        if state.per_page != DEFAULT_PER_PAGE:
            args["per_page"] = state.per_page
        return args


def _to_int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def parse_roster_query(args: Mapping[str, str]) -> RosterQuery:
    """Build a :class:`RosterQuery` from request arguments, correcting what is invalid.

    Bad values never raise: an unknown sort or status falls back to the default, ``page``
    is clamped to ``1..MAX_PAGE``, ``per_page`` to ``1..MAX_PER_PAGE``, and a grade that
    is not an integer in range is ignored.

    Args:
        args: the request's query-string arguments.

    Returns:
        The corrected query.
    """
    q = " ".join(args.get("q", "").split())
    q = "".join(ch for ch in q if ch.isprintable())[:200]
    grade = _to_int(args.get("grade"))
    if grade is not None and not GRADE_MIN <= grade <= GRADE_MAX:
        grade = None
    status = args.get("status", DEFAULT_STATUS)
    if status not in STATUS_FILTERS:
        status = DEFAULT_STATUS
    sort = args.get("sort", DEFAULT_SORT)
    if sort.removeprefix("-") not in SORTABLE_COLUMNS:
        sort = DEFAULT_SORT
    page = min(max(_to_int(args.get("page")) or 1, 1), MAX_PAGE)
    per_page = _to_int(args.get("per_page")) or DEFAULT_PER_PAGE
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    return RosterQuery(q=q, grade=grade, status=status, sort=sort, page=page, per_page=per_page)


def roster_statement(
    query: RosterQuery, viewer: User | None = None, *, year_id: int | None = None
) -> Select[Any]:
    """Return the roster's SELECT: ``(Student, Enrollment | None)`` rows, filtered, ordered.

    Each student is joined to the enrollment in the school year shown; with the status
    filter ``all`` or ``none`` that is an outer join, and the enrollment is ``None`` for a
    student not enrolled that year. Rows with an empty sorted column come last in both
    directions, on SQLite and PostgreSQL alike; ties are broken by ``id`` so paging is
    stable. Not yet paginated.

    Args:
        query: search, filters and sort.
        viewer: the account looking (see :func:`webapp.homerooms.scope.scoped`).
        year_id: the school year shown; the current one by default.

    Returns:
        The SELECT.
    """
    if year_id is None:
        year_id = current_year_id()
    joined = and_(Enrollment.student_id == Student.id, Enrollment.school_year_id == year_id)
    statement: Select[Any] = select(Student, Enrollment)  # type: ignore[assignment]  # (a row of two entities; mypy wants Select[tuple])
    if query.status in {ALL, NOT_ENROLLED}:
        statement = statement.outerjoin(Enrollment, joined)
        if query.status == NOT_ENROLLED:
            statement = statement.where(Enrollment.id.is_(None))
    else:
        statement = statement.join(Enrollment, joined).where(Enrollment.status == query.status)
    if query.q:
        statement = statement.where(
            or_(
                Student.name.icontains(query.q, autoescape=True),
                Student.email.icontains(query.q, autoescape=True),
            )
        )
    if query.grade is not None:
        statement = statement.where(Enrollment.grade == query.grade)
    statement = scoped(statement, viewer)
    column = SORTABLE_COLUMNS[query.sort_key]
    order: ColumnElement[Any] = column.desc() if query.descending else column.asc()
    tiebreak = Student.id.desc() if query.descending else Student.id.asc()
    if query.sort_key in _NULLABLE_SORTS:
        order = order.nulls_last()
    return statement.order_by(order, tiebreak)


class RowPagination(Pagination):
    """Flask-SQLAlchemy's pagination over rows of several entities (``Student, Enrollment``).

    Its ``SelectPagination`` returns only the first entity of each row (``scalars()``);
    this one keeps whole rows. Items are :class:`sqlalchemy.Row` objects.
    """

    def _query_items(self) -> list[Any]:
        select_: Select[Any] = self._query_args["select"]
        statement = select_.limit(self.per_page).offset(self._query_offset)
        return list(db.session.execute(statement).all())

    def _query_count(self) -> int:
        select_: Select[Any] = self._query_args["select"]
        counted = select(func.count()).select_from(select_.order_by(None).subquery())
        return int(db.session.execute(counted).scalar_one())


def roster_page(
    query: RosterQuery, viewer: User | None = None, *, year_id: int | None = None
) -> RowPagination:
    """Return one page of the roster, with the total count.

    A page past the end is replaced by the last page. Two SQL statements (the count and
    the page) in the common case.

    Args:
        query: search, filters, sort and page.
        viewer: the account looking (see :func:`webapp.homerooms.scope.scoped`).
        year_id: the school year shown; the current one by default.

    Returns:
        The page; its items are ``(Student, Enrollment | None)`` rows.
    """
    statement = roster_statement(query, viewer, year_id=year_id)
    page = RowPagination(
        select=statement, page=query.page, per_page=query.per_page, error_out=False
    )
    if page.total and query.page > (page.pages or 1):
        page = RowPagination(
            select=statement, page=page.pages, per_page=query.per_page, error_out=False
        )
    return page
