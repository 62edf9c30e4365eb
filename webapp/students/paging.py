"""Keyset pagination (seek method) and the page object the roster's template reads.

Keyset pagination: a page that follows another starts *after* that page's last row, by
a condition on the sorted column and ``id``, instead of skipping ``OFFSET`` rows; its
cost does not grow with the page number. Source: Markus Winand, "Paging Through Results"
(use-the-index-luke.com/no-offset). The roster's links to the next and previous page
carry the id of the row they continue from (``after`` / ``before``); the page numbers
near the current page carry it too, with a few pages to skip. A page number alone (a
typed or shared URL) is still served, by ``OFFSET`` from whichever end is nearer.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from webapp.models import Student


@dataclass(frozen=True)
class Position:
    """Where a keyset page starts: after (or before) a given row, in roster order.

    Attributes:
        before: ``False``: the page starts after the row; ``True``: it ends before it.
        student_id: the row's student.
        value: the row's value of the sorted column (``None`` when blank).
    """

    before: bool
    student_id: int
    value: Any


def keyset_condition(
    column: Any, position: Position, *, descending: bool, nullable: bool
) -> ColumnElement[bool]:
    """The rows after (or before) ``position`` in the order ``column, id``.

    The order is the roster's: ``column`` ascending (or descending), blanks last in both
    directions (``nullable`` columns only), ties by ``id`` in the same direction.

    Args:
        column: the sorted column (or expression).
        position: the row to continue from.
        descending: whether the order is descending.
        nullable: whether ``column`` may be NULL.

    Returns:
        A condition that selects the rows strictly after (``position.before`` false) or
        strictly before it, in that order.
    """
    forward = position.before == descending  # comparisons go upwards
    value, row_id = position.value, position.student_id

    def beyond(left: Any, right: Any, *, strict: bool = True) -> ColumnElement[bool]:
        if forward:
            return left > right if strict else left >= right  # type: ignore[no-any-return]
        return left < right if strict else left <= right  # type: ignore[no-any-return]

    if value is None:
        # Blanks come last: after a blank only later blanks; before it every value.
        if position.before:
            return or_(column.is_not(None), and_(column.is_(None), beyond(Student.id, row_id)))
        return and_(column.is_(None), beyond(Student.id, row_id))
    # column >= value AND (column > value OR id > row_id): the first part is an index range.
    within = and_(
        beyond(column, value, strict=False), or_(beyond(column, value), beyond(Student.id, row_id))
    )
    if not nullable:
        return within
    if position.before:
        return and_(column.is_not(None), within)
    return or_(within, column.is_(None))


@dataclass
class RosterPage:
    """One page of the roster (or of the audit log), for the template and the
    ``render_pagination`` macro.

    Attributes:
        items: the rows, in roster order (``(Student, Enrollment | None)``).
        page: the page number (1-based).
        per_page: rows per page.
        total: the number of rows when ``total_exact``; otherwise a lower bound: there
            are more than ``total``.
        total_exact: whether ``total`` is exact.
        has_next: whether a page follows.
    """

    items: list[Any]
    page: int
    per_page: int
    total: int
    total_exact: bool
    has_next: bool
    _ids: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        # A row of entities (the roster's) or one entity (the audit log's event).
        self._ids = [item.id if hasattr(item, "id") else item[0].id for item in self.items]

    @property
    def pages(self) -> int:
        """The number of pages: exact, or as many as are known to exist."""
        if self.total_exact:
            known = math.ceil(self.total / self.per_page) if self.total else 1
        else:
            known = max(math.ceil((self.total + 1) / self.per_page), self.page + int(self.has_next))
        return max(known, self.page)

    @property
    def has_prev(self) -> bool:
        """Whether a page comes before."""
        return self.page > 1

    @property
    def prev_num(self) -> int:
        """The previous page's number."""
        return self.page - 1

    @property
    def next_num(self) -> int:
        """The next page's number."""
        return self.page + 1

    @property
    def first(self) -> int:
        """The 1-based number of the page's first row (0 when empty)."""
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last(self) -> int:
        """The number of the page's last row (0 when empty)."""
        return self.first + len(self.items) - 1 if self.items else 0

    @property
    def first_id(self) -> int | None:
        """The id of the page's first student, where the previous page ends."""
        return self._ids[0] if self._ids else None

    @property
    def last_id(self) -> int | None:
        """The id of the page's last student, where the next page starts."""
        return self._ids[-1] if self._ids else None

    def iter_pages(
        self, left_edge: int = 2, left_current: int = 2, right_current: int = 4, right_edge: int = 2
    ) -> Iterator[int | None]:
        """Page numbers for a pager, ``None`` for a gap (as Flask-SQLAlchemy's
        ``Pagination.iter_pages``); without an exact total, no last pages (unknown)."""
        pages = self.pages
        right_edge = right_edge if self.total_exact else 0
        shown = sorted(
            {
                *range(1, min(left_edge, pages) + 1),
                *range(max(1, self.page - left_current), min(self.page + right_current, pages) + 1),
                *range(max(1, pages - right_edge + 1), pages + 1),
            }
        )
        previous = 0
        for number in shown:
            if number != previous + 1:
                yield None
            yield number
            previous = number
