"""The roster's substring search: the plain rule, and the index that makes it fast.

The rule (what a search finds) is plain and the same for every query: a student matches
when the name or the email contains the text, ignoring case, with ``%``, ``_`` and ``/``
taken literally. It is :func:`plain_rule`, SQLAlchemy's ``icontains`` with
``autoescape``: on SQLite ``lower(column) LIKE '%' || lower(text) || '%' ESCAPE '/'``, on
PostgreSQL ``column ILIKE '%' || text || '%' ESCAPE '/'``. What "ignoring case" means is
the database's: SQLite's ``lower()`` and ``LIKE`` fold ASCII letters only (``É`` does not
find ``é``), PostgreSQL's ``ILIKE`` folds every letter its locale knows.

The index (migration 0015) only narrows the rows the rule is checked on; it never
decides alone, so the results are the rule's exactly:

* SQLite: an FTS5 table with the ``trigram`` tokenizer. A phrase query of the text finds
  the rows whose name or email holds every trigram of it, in order, folded by Unicode
  case: a superset of the rule's matches (folding more letters only adds candidates),
  which the rule then filters. Trigrams need 3 characters, so shorter texts are checked
  by the rule alone (a scan; their pages stay correct).
* PostgreSQL: GIN ``gin_trgm_ops`` indexes on ``name`` and ``email`` serve the rule's own
  ``ILIKE`` (pg_trgm, "Index Support"), so the rule is the whole query.
"""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
)

from webapp.models import Student

#: Shortest text the trigram indexes can serve.
MIN_INDEXED_LENGTH = 3


class SearchPlan(enum.Enum):
    """How a search reads its rows (SQLite); the rows are the rule's whichever it is.

    ``CANDIDATES``: read the FTS5 candidates, check each against the rule, sort them (a
    rare text). ``WALK``: read the students in the sorted column's index order and keep
    those among the candidates (a common text: a page is found after a few rows, where
    sorting every candidate would cost more). ``RULE``: the rule alone, in index order
    (a text most rows hold, like the domain of every address; also texts shorter than a
    trigram): listing a million candidates would cost more than checking the rows read.
    """

    CANDIDATES = "candidates"
    WALK = "walk"
    RULE = "rule"


#: Above this many FTS5 candidates a text is common (:attr:`SearchPlan.WALK`). Where
#: walking the name index until 25 rows are found costs what checking and sorting the
#: candidates does, at 1,000,000 students (bench/results/scale.md).
COMMON_CANDIDATES = 2_000
#: Above this many, the candidates are not worth listing (:attr:`SearchPlan.RULE`).
VERY_COMMON_CANDIDATES = 50_000

#: The FTS5 table of migration 0015 (SQLite). Not a model: the ORM never writes it; the
#: triggers on ``students`` do.
STUDENTS_FTS = table("students_fts", column("rowid", Integer))


def plain_rule(text: str) -> ColumnElement[bool]:
    """The condition "name or email contains ``text``, ignoring case", literally.

    Args:
        text: the search text (``%``, ``_`` and ``/`` match themselves).

    Returns:
        A condition on ``students``.
    """
    return or_(
        Student.name.icontains(text, autoescape=True),
        Student.email.icontains(text, autoescape=True),
    )


def fts_phrase(text: str) -> str:
    """``text`` as an FTS5 phrase: in double quotes, its own double quotes doubled.

    Source: SQLite, "FTS5 Full-text Query Syntax", 3.1 (strings).
    """
    return '"' + text.replace('"', '""') + '"'


def fts_candidates(text: str) -> Any:
    """The ids of the students whose name or email may contain ``text`` (SQLite's FTS5).

    Args:
        text: at least :data:`MIN_INDEXED_LENGTH` characters.

    Returns:
        A SELECT of ``students_fts.rowid``: a superset of the rule's matches.
    """
    match = literal_column("students_fts").op("MATCH")(fts_phrase(text))
    return select(STUDENTS_FTS.c.rowid).where(match)


def search_plan(count: int, *, ordered: bool) -> SearchPlan:
    """The plan for a text with ``count`` FTS5 candidates (counted up to
    :data:`VERY_COMMON_CANDIDATES` + 1), for rows read in an index's order (``ordered``)
    or counted in any order."""
    if count > VERY_COMMON_CANDIDATES:
        return SearchPlan.RULE
    if count > COMMON_CANDIDATES and ordered:
        return SearchPlan.WALK
    return SearchPlan.CANDIDATES


def candidate_count(text: str) -> Any:
    """A SELECT of how many FTS5 candidates ``text`` has, up to
    :data:`VERY_COMMON_CANDIDATES` + 1 (SQLite; it reads no more than that).

    Args:
        text: at least :data:`MIN_INDEXED_LENGTH` characters.
    """
    first = fts_candidates(text).limit(VERY_COMMON_CANDIDATES + 1).subquery()
    return select(func.count()).select_from(first)


def search_condition(
    text: str, dialect: str, plan: SearchPlan = SearchPlan.CANDIDATES
) -> ColumnElement[bool]:
    """The roster's search condition for ``text`` on ``dialect``: the rule, through the
    index where one serves it.

    Args:
        text: the search text, not empty.
        dialect: the SQLAlchemy dialect name (``"sqlite"``, ``"postgresql"``).
        plan: how SQLite reads the rows (:func:`search_plan`); for ``WALK``, ``id + 0``
            keeps its planner from driving the query by the candidates.

    Returns:
        A condition on ``students`` that selects exactly the rows of :func:`plain_rule`.
    """
    rule = plain_rule(text)
    if dialect != "sqlite" or len(text) < MIN_INDEXED_LENGTH or plan is SearchPlan.RULE:
        return rule
    student_id = (Student.id + 0) if plan is SearchPlan.WALK else Student.id
    return and_(student_id.in_(fts_candidates(text)), rule)
