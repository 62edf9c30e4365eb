"""The roster: which students a page, an export or a command lists, in one place.

Every list of students goes through :func:`roster_statement`: the roster page, its CSV
export and ``flask students export``. It joins each student to the enrollment in the
school year shown (the current one by default), filters by search text, grade and
status, applies the viewer's scope, and orders the rows. So the next features plug in
here once: issue 13's teacher scope (a teacher sees only the students of the homerooms
they teach: :func:`webapp.homerooms.scope.scoped`), and issue 14's keyset pagination
(a ``position`` to continue from, :mod:`webapp.students.paging`) and indexed substring
search (:mod:`webapp.students.search`). :func:`roster_page` adds the cheap total
(:func:`roster_total`).

What a roster shows (the state its URL carries) is a
:class:`webapp.students.roster_query.RosterQuery`.
"""

from __future__ import annotations

from typing import Any

from flask import g
from sqlalchemy import ColumnElement, Select, and_, func, select

from webapp.extensions import db
from webapp.homerooms.scope import scoped
from webapp.models import Enrollment, EnrollmentCount, Status, Student, User
from webapp.paging import Page
from webapp.students.paging import Position, keyset_condition
from webapp.students.roster_query import (
    ALL,
    MAX_SKIP,
    NOT_ENROLLED,
    SORTABLE_COLUMNS,
    RosterQuery,
)
from webapp.students.search import (
    MIN_INDEXED_LENGTH,
    SearchPlan,
    candidate_count,
    search_condition,
    search_plan,
)
from webapp.years.service import current_year_id

#: Sorted columns of the student's own, each with an index in that order.
_STUDENT_SORTS = frozenset({"name", "email", "birthday", "enrolled_on"})
#: Sorted columns that may be empty: their blanks come last in both directions.
_NULLABLE_SORTS = frozenset({"email", "grade", "birthday"})
#: A count that is not kept (a search, all students, a teacher's scope) stops here: the
#: page says "more than 10,000" (one index scan of at most this many rows).
COUNT_LIMIT = 10_000
#: A search's count stops here: each match it counts is a row checked against the rule
#: (a common text has a hundred thousand candidates); nobody pages through 1,000 results.
SEARCH_COUNT_LIMIT = 1_000


def _narrows(viewer: User | None) -> bool:
    """Whether :func:`scoped` hides some students from ``viewer`` (then the kept counts,
    which are of everyone, do not apply)."""
    probe: Select[Any] = select(Student.id)
    return scoped(probe, viewer) is not probe


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _search_plan(query: RosterQuery, viewer: User | None, *, ordered: bool) -> SearchPlan:
    """How the search of ``query`` reads its rows (SQLite): by its FTS5 candidates,
    unless the text is common, the rows are read in the order of the student's own
    indexed column, and no scope narrows them to a few (see
    :class:`~webapp.students.search.SearchPlan`). One read of at most 50,001 candidates
    per text and app context (a request, a command).
    """
    if _dialect() != "sqlite" or len(query.q) < MIN_INDEXED_LENGTH:
        return SearchPlan.CANDIDATES
    if _narrows(viewer) or (ordered and query.sort_key not in _STUDENT_SORTS):
        return SearchPlan.CANDIDATES
    # Read once per request: the count and the page of one request ask alike.
    counts: dict[str, int] = g.setdefault("fts_candidates", {})
    if query.q not in counts:
        counts[query.q] = int(db.session.execute(candidate_count(query.q)).scalar_one())
    return search_plan(counts[query.q], ordered=ordered)


def roster_statement(
    query: RosterQuery,
    viewer: User | None = None,
    *,
    year_id: int | None = None,
    position: Position | None = None,
    backwards: bool = False,
    ordered: bool = True,
) -> Select[Any]:
    """Return the roster's SELECT: ``(Student, Enrollment | None)`` rows, filtered, ordered.

    Each student is joined to the enrollment in the school year shown; with the status
    filter ``all`` or ``none`` that is an outer join, and the enrollment is ``None`` for a
    student not enrolled that year. Rows with an empty sorted column come last in both
    directions, on SQLite and PostgreSQL alike; ties are broken by ``id`` so paging is
    stable. The search goes through the trigram index (:mod:`webapp.students.search`).
    Not limited: the caller takes a page.

    Args:
        query: search, filters and sort.
        viewer: the account looking (see :func:`webapp.homerooms.scope.scoped`).
        year_id: the school year shown; the current one by default.
        position: keyset: only the rows after (or before) this row; with ``before``, in
            reverse roster order (the caller reverses the page it takes).
        backwards: in reverse roster order (blanks first), to read the last pages.
        ordered: whether the rows will be read in roster order (``False`` for a count;
            it changes how a search reads them, see :func:`_search_plan`).

    Returns:
        The SELECT.
    """
    if year_id is None:
        year_id = current_year_id()
    joined = and_(Enrollment.student_id == Student.id, Enrollment.school_year_id == year_id)
    statement: Select[Any] = select(Student, Enrollment)  # type: ignore[assignment]  # (a row of two entities; mypy wants Select[tuple])
    grade: Any = Enrollment.grade
    if query.status in {ALL, NOT_ENROLLED}:
        statement = statement.outerjoin(Enrollment, joined)
        if query.status == NOT_ENROLLED:
            statement = statement.where(Enrollment.id.is_(None))
    elif query.status == Status.ENROLLED and _dialect() == "sqlite":
        # Most students are enrolled: read students in roster order (by the sorted
        # column's index, or the search's candidates) and each one's enrollment, and stop
        # at a page. SQLite's planner would rather read every enrollment of the year by
        # (year, status) and sort them all. A LEFT JOIN keeps students the outer loop,
        # and coalesce() keeps SQLite from turning it back into an inner join; the rows
        # are the inner join's (a missing enrollment has no status).
        statement = statement.outerjoin(Enrollment, joined).where(
            func.coalesce(Enrollment.status, "") == query.status
        )
        grade = func.coalesce(Enrollment.grade, 0)
    else:
        statement = statement.join(Enrollment, joined).where(Enrollment.status == query.status)
    if query.q:
        plan = _search_plan(query, viewer, ordered=ordered)
        statement = statement.where(search_condition(query.q, _dialect(), plan))
    if query.grade is not None:
        statement = statement.where(grade == query.grade)
    statement = scoped(statement, viewer)
    column = SORTABLE_COLUMNS[query.sort_key]
    nullable = query.sort_key in _NULLABLE_SORTS
    descending = query.descending
    if position is not None:
        statement = statement.where(
            keyset_condition(column, position, descending=descending, nullable=nullable)
        )
        backwards = backwards or position.before
    descending = descending != backwards
    order: ColumnElement[Any] = column.desc() if descending else column.asc()
    tiebreak = Student.id.desc() if descending else Student.id.asc()
    if nullable:
        order = order.nulls_first() if backwards else order.nulls_last()
    return statement.order_by(order, tiebreak)


def roster_total(
    query: RosterQuery, viewer: User | None = None, *, year_id: int | None = None
) -> tuple[int, bool]:
    """How many students the roster of ``query`` lists, cheaply: ``(count, exact)``.

    Exact, from the counts that database triggers keep per year, grade and status
    (``enrollment_counts``, migration 0011), when the roster lists one status without a
    search and the viewer sees everyone: one read of at most 12 rows. Otherwise counted
    up to :data:`COUNT_LIMIT` (a search: :data:`SEARCH_COUNT_LIMIT`) and no further (one
    index scan of at most that many rows): ``(limit, False)`` means "more than limit".

    Args:
        query: search and filters (sort and page do not matter).
        viewer: the account looking (see :func:`scoped`).
        year_id: the school year shown; the current one by default.

    Returns:
        The count, and whether it is exact.
    """
    if year_id is None:
        year_id = current_year_id()
    one_status = query.status not in {ALL, NOT_ENROLLED}
    if one_status and not query.q and not _narrows(viewer):
        kept = select(func.coalesce(func.sum(EnrollmentCount.students), 0)).where(
            EnrollmentCount.school_year_id == year_id, EnrollmentCount.status == query.status
        )
        if query.grade is not None:
            kept = kept.where(EnrollmentCount.grade == query.grade)
        return int(db.session.execute(kept).scalar_one()), True
    limit = SEARCH_COUNT_LIMIT if query.q else COUNT_LIMIT
    rows = (
        roster_statement(query, viewer, year_id=year_id, ordered=False)
        .order_by(None)
        .with_only_columns(Student.id)
        .limit(limit + 1)
    )
    counting = select(func.count()).select_from(rows.subquery())
    counted = int(db.session.execute(counting).scalar_one())
    return (counted, True) if counted <= limit else (limit, False)


def _position(query: RosterQuery, year_id: int) -> Position | None:
    """The keyset position of ``query`` (its ``after``/``before`` row and that row's sorted
    value), or ``None`` without one or when that student no longer exists."""
    student_id = query.after or query.before
    if student_id is None:
        return None
    column = SORTABLE_COLUMNS[query.sort_key]
    joined = and_(Enrollment.student_id == Student.id, Enrollment.school_year_id == year_id)
    found = db.session.execute(
        select(column, Student.id).outerjoin(Enrollment, joined).where(Student.id == student_id)
    ).first()
    if found is None:
        return None
    return Position(before=query.before is not None, student_id=student_id, value=found[0])


def _rows(statement: Select[Any], offset: int, limit: int) -> list[Any]:
    return list(db.session.execute(statement.offset(offset).limit(limit)).all())


def roster_page(
    query: RosterQuery, viewer: User | None = None, *, year_id: int | None = None
) -> Page:
    """Return one page of the roster, with its total (see :func:`roster_total`).

    With a keyset position (``after``/``before``) the page is read from that row on: the
    cost does not depend on how deep the page is. With a page number alone, by OFFSET
    from the nearer end (from the far end only when the total is exact). A page past the
    end is replaced by the last page; a position whose student is gone falls back to the
    page number. Three SQL statements (the total, the position's row, the page) in the
    common case.

    Args:
        query: search, filters, sort, page and position.
        viewer: the account looking (see :func:`webapp.homerooms.scope.scoped`).
        year_id: the school year shown; the current one by default.

    Returns:
        The page; its items are ``(Student, Enrollment | None)`` rows.
    """
    if year_id is None:
        year_id = current_year_id()
    per_page = query.per_page
    total, exact = roster_total(query, viewer, year_id=year_id)
    number = min(query.page, _last_page(total, per_page)) if exact else query.page
    position = _position(query, year_id) if number == query.page else None
    if position is not None:
        statement = roster_statement(query, viewer, year_id=year_id, position=position)
        if not position.before:
            rows = _rows(statement, query.skip * per_page, per_page + 1)
            if rows:
                more = len(rows) > per_page
                return Page(rows[:per_page], number, per_page, total, exact, more)
        else:
            rows = _rows(statement, query.skip * per_page, per_page)
            if len(rows) == per_page and number > 1:
                return Page(rows[::-1], number, per_page, total, exact, True)
            number = 1  # less than a page before that row: that is the first page
    page = _numbered_page(query, viewer, year_id, number, (total, exact))
    if page.items or number == 1 or exact:
        return page
    # Past the end of a roster counted only up to its limit: count it all, once.
    counted = roster_statement(query, viewer, year_id=year_id).order_by(None)
    total = int(
        db.session.execute(
            select(func.count()).select_from(counted.with_only_columns(Student.id).subquery())
        ).scalar_one()
    )
    return _numbered_page(query, viewer, year_id, _last_page(total, per_page), (total, True))


def _last_page(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


def _numbered_page(
    query: RosterQuery,
    viewer: User | None,
    year_id: int,
    number: int,
    counted: tuple[int, bool],
) -> Page:
    """Page ``number`` by OFFSET, from the nearer end when the total is exact."""
    total, exact = counted
    per_page = query.per_page
    start = (number - 1) * per_page
    if exact and total - start - per_page < start:
        # Nearer the end: read backwards from it (the last pages cost what the first do).
        end = min(start + per_page, total)
        backwards = roster_statement(query, viewer, year_id=year_id, backwards=True)
        rows = _rows(backwards, total - end, end - start)[::-1]
        return Page(rows, number, per_page, total, exact, end < total)
    rows = _rows(roster_statement(query, viewer, year_id=year_id), start, per_page + 1)
    return Page(rows[:per_page], number, per_page, total, exact, len(rows) > per_page)


def page_link_args(query: RosterQuery, page: Page, number: int) -> dict[str, Any]:
    """The query-string arguments of the pager's link to page ``number`` from ``page``.

    A page near the current one continues from the current page's first or last row
    (keyset, skipping the pages between); the first page, and the last when the total is
    exact, go by number (read from their end); other pages by number (OFFSET).

    Args:
        query: the roster's current view.
        page: the page shown.
        number: the page linked to.

    Returns:
        Arguments for ``url_for("students.index", ...)``.
    """
    if number == page.page:
        return query.url_args(after=query.after, before=query.before, skip=query.skip)
    gap = abs(number - page.page) - 1
    at_an_end = number == 1 or (page.total_exact and number == page.pages)
    if at_an_end or gap > MAX_SKIP or page.first_id is None:
        return query.url_args(page=number)
    if number > page.page:
        return query.url_args(page=number, after=page.last_id, skip=gap)
    return query.url_args(page=number, before=page.first_id, skip=gap)
