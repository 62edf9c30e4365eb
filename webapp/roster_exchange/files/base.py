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
