"""What the per-file modules share: the export's context and the streaming query helper."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import TypeVarTuple

from sqlalchemy import Row, Select

from webapp.extensions import db
from webapp.models import SchoolYear
from webapp.roster_exchange.settings import OneRosterSettings

#: Rows fetched from the database per round trip (a server-side cursor on PostgreSQL).
BATCH_SIZE = 2_000


@dataclass(frozen=True)
class ExportContext:
    """What an export is about.

    Attributes:
        year: the school year exported.
        settings: the school's OneRoster settings.
    """

    year: SchoolYear
    settings: OneRosterSettings


Ts = TypeVarTuple("Ts")


def stream(statement: Select[*Ts]) -> Iterator[Row[*Ts]]:
    """Run ``statement`` and yield its rows :data:`BATCH_SIZE` at a time (flat memory)."""
    result = db.session.execute(statement.execution_options(yield_per=BATCH_SIZE))
    yield from result


def iso(day: date | None) -> str:
    """A date as OneRoster's Date format (``YYYY-MM-DD``), or "" for none."""
    return "" if day is None else day.isoformat()


def split_name(name: str) -> tuple[str, str]:
    """Divide a full name into OneRoster's required ``givenName`` and ``familyName``.

    The family name is the last space-separated word. A name of one word, or one whose
    two halves would be the same (``"Ng Ng"``), goes whole into both, which
    :func:`join_name` reads back as the whole name.

    Returns:
        ``(givenName, familyName)``, both non-blank for a non-blank name.
    """
    given, _, family = name.rpartition(" ")
    if not given.strip() or not family.strip() or given == family:
        return name, name
    return given, family


def join_name(given: str, family: str, middle: str = "") -> str:
    """The full name of OneRoster's parts: the inverse of :func:`split_name`.

    Returns:
        ``given`` alone when both parts are equal, else the non-blank parts joined by spaces.
    """
    if given == family and not middle:
        return given
    return " ".join(part for part in (given, middle, family) if part.strip())
