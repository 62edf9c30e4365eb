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

from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, column, literal_column, or_, select, table

from webapp.models import Student

#: Shortest text the trigram indexes can serve.
MIN_INDEXED_LENGTH = 3
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


def search_condition(text: str, dialect: str) -> ColumnElement[bool]:
    """The roster's search condition for ``text`` on ``dialect``: the rule, through the
    index where one serves it.

    Args:
        text: the search text, not empty.
        dialect: the SQLAlchemy dialect name (``"sqlite"``, ``"postgresql"``).

    Returns:
        A condition on ``students`` that selects exactly the rows of :func:`plain_rule`.
    """
    rule = plain_rule(text)
    if dialect != "sqlite" or len(text) < MIN_INDEXED_LENGTH:
        return rule
    return and_(Student.id.in_(fts_candidates(text)), rule)
