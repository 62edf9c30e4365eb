"""SQL text shared by the rollover and its undo: typed parameters, JSON and UUID functions
per dialect, and the ``INSERT ... SELECT`` that writes one audit event per enrollment.

The rollover's writes are set-based SQL (see :mod:`webapp.years.rollover`); these helpers
build the statements' pieces that differ between SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BindParameter, Date, TextClause, bindparam, text
from sqlalchemy.types import TypeEngine

from webapp.models.types import UTCDateTime

#: The types of the bound parameters the rollover's statements share (values go through the
#: column types' conversions: aware UTC timestamps stored naive, dates as ISO text on SQLite).
_PARAMETER_TYPES: dict[str, TypeEngine[Any]] = {
    "now": UTCDateTime(),
    "starts_on": Date(),
    "ends_on": Date(),
}


def typed_sql(statement: str) -> TextClause:
    """``text(statement)`` with the shared parameters it uses typed, and ``:held`` a list."""
    clause = text(statement)
    typed: list[BindParameter[Any]] = [
        bindparam(name, type_=type_)
        for name, type_ in _PARAMETER_TYPES.items()
        if f":{name}" in statement
    ]
    if ":held" in statement:
        typed.append(bindparam("held", expanding=True))
    return clause.bindparams(*typed) if typed else clause


def json_functions(dialect: str) -> tuple[str, str]:
    """The SQL functions that build a JSON object and array on ``dialect``."""
    if dialect == "postgresql":
        return "json_build_object", "json_build_array"
    return "json_object", "json_array"


def uuid_sql(dialect: str) -> str:
    """SQL for a random version-4 UUID per row (as migration 0011 makes them)."""
    if dialect == "postgresql":
        return "gen_random_uuid()::text"
    return (
        "lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4'"
        " || substr(hex(randomblob(2)), 2) || '-'"
        " || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2)"
        " || '-' || hex(randomblob(6)))"
    )


def events_sql(dialect: str, source: str, changes: str, action: str, note_param: str) -> str:
    """``INSERT INTO audit_events ... SELECT`` of one event per enrollment row of ``source``.

    ``source`` is a FROM clause that names the enrollment ``e`` and its student ``s``
    (and may name an event ``a``, which the event then reverts when ``action`` is
    ``revert``); ``changes`` is the JSON expression of the changes.
    """
    reverts = "a.id" if action == "revert" else "NULL"
    return (
        "INSERT INTO audit_events (occurred_at, user_id, actor, action, entity, entity_id,"
        " student_id, student_name, changes, reverts_id, batch_id, note)"
        f" SELECT :now, :user_id, :actor, '{action}', 'enrollment', e.id, e.student_id,"
        f" s.name, {changes}, {reverts}, :batch_id, :{note_param} FROM {source}"
    )
