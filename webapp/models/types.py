"""Column types shared by the models."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

#: The largest id a table's ``INTEGER`` primary key holds on both databases (PostgreSQL's
#: ``integer`` is 32-bit; SQLite's is 64-bit). Larger numbers name no record.
MAX_ID = 2**31 - 1


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and returned as an aware UTC ``datetime``.

    SQLite has no time-zone type and PostgreSQL's ``timestamptz`` converts to the session
    time zone, so both databases store a plain ``TIMESTAMP``/``DATETIME`` holding UTC, and
    this type does the conversion at the edge.

    Raises:
        ValueError: when bound a naive ``datetime`` (its time zone would be a guess).
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert an aware ``datetime`` to naive UTC for storage."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs an aware datetime, got a naive one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to the naive value read from the database."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    """Return the current time as an aware UTC ``datetime`` (a callable column default)."""
    return datetime.now(UTC)


def new_sourced_id() -> str:
    """Return a new random UUID as text: a record's ``sourced_id`` (OneRoster's name)."""
    return str(uuid.uuid4())
