"""What a roster shows, as its URL carries it: :class:`RosterQuery` and its parsing.

The state of a roster page (search text, grade, status, sort, page and keyset position)
and :func:`parse_roster_query`, which reads it from request arguments and corrects what
is invalid. :mod:`webapp.students.roster` turns a query into its SELECT.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func

from webapp.models import Enrollment, Status, Student
from webapp.models.student import GRADE_MAX, GRADE_MIN
from webapp.paging import MAX_PAGE

#: Columns the roster can be sorted by, keyed by their name in the ``sort`` parameter.
SORTABLE_COLUMNS: dict[str, Any] = {
    "name": Student.name,
    "email": func.lower(Student.email),
    "grade": Enrollment.grade,
    "birthday": Student.birthday,
    "enrolled_on": Student.enrolled_on,
}
DEFAULT_SORT = "name"
DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100
#: Most pages a link may skip from the row it continues from (the pager's numbers near
#: the current page skip one); more is served by page number.
MAX_SKIP = 10

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
        after: keyset: the page starts after this student's row (the last row of the
            page ``page - 1 - skip``); ``None`` to go by page number.
        before: keyset: the page ends before this student's row (the first row of page
            ``page + 1 + skip``).
        skip: whole pages between the ``after``/``before`` row and this page.
    """

    q: str = ""
    grade: int | None = None
    status: str = DEFAULT_STATUS
    sort: str = DEFAULT_SORT
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    after: int | None = None
    before: int | None = None
    skip: int = 0

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

        Defaults are left out so that URLs stay short and shareable. The keyset fields
        (``after``, ``before``, ``skip``) are kept only when ``changes`` names them.
        """
        state = replace(self, **{"after": None, "before": None, "skip": 0, **changes})
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
        if state.after is not None:
            args["after"] = state.after
        if state.before is not None:
            args["before"] = state.before
        if state.skip:
            args["skip"] = state.skip
        return args


def _to_int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def parse_roster_query(args: Mapping[str, str]) -> RosterQuery:
    """Build a :class:`RosterQuery` from request arguments, correcting what is invalid.

    Bad values never raise: an unknown sort or status falls back to the default, ``page``
    is clamped to ``1..MAX_PAGE``, ``per_page`` to ``1..MAX_PER_PAGE``, ``skip`` to
    ``0..MAX_SKIP``; a grade that is not an integer in range is ignored, and so are
    ``after`` and ``before`` when not positive integers or given together.

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
    after, before = _to_int(args.get("after")), _to_int(args.get("before"))
    if (after is not None and before is not None) or (after or 1) < 1 or (before or 1) < 1:
        after = before = None
    skip = min(max(_to_int(args.get("skip")) or 0, 0), MAX_SKIP)
    return RosterQuery(
        q=q,
        grade=grade,
        status=status,
        sort=sort,
        page=page,
        per_page=per_page,
        after=after,
        before=before,
        skip=skip if after or before else 0,
    )
