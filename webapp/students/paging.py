"""Keyset pagination (seek method) of the roster (its page object is
:class:`webapp.paging.Page`).

Keyset pagination: a page that follows another starts *after* that page's last row, by
a condition on the sorted column and ``id``, instead of skipping ``OFFSET`` rows; its
cost does not grow with the page number. Source: Markus Winand, "Paging Through Results"
(use-the-index-luke.com/no-offset). The roster's links to the next and previous page
carry the id of the row they continue from (``after`` / ``before``); the page numbers
near the current page carry it too, with a few pages to skip. A page number alone (a
typed or shared URL) is still served, by ``OFFSET`` from whichever end is nearer.
"""

from __future__ import annotations

from dataclasses import dataclass
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
