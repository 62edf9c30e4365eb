"""Pages of a list: the page object that ``render_pagination`` (templates/_macros.html)
reads, and :func:`bounded_page`, an OFFSET pager whose total is counted only up to a
bound ("more than 10,000"), so that counting an unfiltered list (or one filtered by an
index) reads at most that many index entries; a filter no index serves still reads the
rows it has to look at.

The roster pages by keyset as well (:mod:`webapp.students.paging`); the audit log, the
accounts and the homerooms page by number with :func:`bounded_page`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select

from webapp.extensions import db

#: Lists count their rows up to this many; more shows as "more than 10,000".
COUNT_LIMIT = 10_000
#: Highest page number accepted. Beyond some 10^17 the OFFSET overflows a 64-bit integer:
#: PostgreSQL answers "bigint out of range", Python's sqlite3 raises OverflowError. A page
#: past the end shows the last page anyway.
MAX_PAGE = 1_000_000


def requested_page(args: Mapping[str, str]) -> int:
    """The page number of a query string's ``page``, clamped to ``1..MAX_PAGE`` (1 when
    absent or garbled)."""
    text = args.get("page", "")
    number = int(text) if text.isdecimal() and len(text) < 20 else 1
    return min(max(number, 1), MAX_PAGE)


@dataclass
class Page:
    """One page of a list (the roster, the audit log, the accounts, the homerooms), for
    the template and the ``render_pagination`` macro.

    Attributes:
        items: the rows, in the list's order: entities, or rows whose first entity has
            an ``id`` (the roster's ``(Student, Enrollment | None)``).
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
        # One entity (an event, an account) or a row whose first item is one.
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
        """The id of the page's first row, where the previous page ends (keyset)."""
        return self._ids[0] if self._ids else None

    @property
    def last_id(self) -> int | None:
        """The id of the page's last row, where the next page starts (keyset)."""
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


def bounded_page(
    statement: Select[Any],
    key: Any,
    number: int,
    per_page: int,
    count_limit: int | None = None,
) -> Page:
    """Page ``number`` of the ordered ``statement``, with its total counted up to
    ``count_limit``: two statements, the count stopping at ``count_limit + 1`` rows.

    Args:
        statement: the list's SELECT, ordered (its order decides the pages).
        key: a column the count reads instead of the whole row (the primary key).
        number: the 1-based page number; past the end of an exact total, the last page;
            past the end of a bounded one, an empty page.
        per_page: rows a page.
        count_limit: the most rows counted (:data:`COUNT_LIMIT` by default); beyond,
            the total is a lower bound.

    Returns:
        The page; its items are what ``statement`` selects (one entity: the entity;
        several columns: the rows).
    """
    if count_limit is None:
        count_limit = COUNT_LIMIT
    bounded = statement.order_by(None).with_only_columns(key).limit(count_limit + 1)
    counted = int(db.session.scalar(select(func.count()).select_from(bounded.subquery())) or 0)
    exact = counted <= count_limit
    if exact:
        number = min(number, max(1, math.ceil(counted / per_page)))
    window = statement.offset((number - 1) * per_page).limit(per_page + 1)
    result = db.session.execute(window)
    rows: list[Any] = list(result.scalars() if len(statement.column_descriptions) == 1 else result)
    total = counted if exact else count_limit
    return Page(rows[:per_page], number, per_page, total, exact, len(rows) > per_page)
