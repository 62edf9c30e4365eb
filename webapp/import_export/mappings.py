"""Column mappings remembered for the next file with the same headers.

When an import is written with a mapping that differs from what the alias table suggests
(a column mapped or ignored by hand, a date order chosen), the mapping is stored under
the fingerprint of the file's headers (:attr:`webapp.spreadsheets.ColumnMapping.fingerprint`:
the headers in order, trimmed and case-folded). The next file with those headers, in the
browser or on the command line, starts from it, and the preview says so. One mapping per
set of headers, shared by every account: the office's colleagues export from the same
systems.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete

from webapp.extensions import db
from webapp.import_export.importer import ParsedFile, check_targets, date_order
from webapp.models import ImportMapping
from webapp.models.types import utcnow
from webapp.spreadsheets import DateOrder, suggest_mapping


@dataclass(frozen=True)
class Remembered:
    """A mapping stored for a set of headers.

    Attributes:
        targets: per column, its target or ``None``.
        date_orders: ``{field: order}`` chosen for date columns.
        updated_at: when it was last used (aware UTC).
    """

    targets: tuple[str | None, ...]
    date_orders: dict[str, DateOrder]
    updated_at: datetime


def recall(fingerprint: str, width: int) -> Remembered | None:
    """The mapping remembered for headers with ``fingerprint``, if any.

    Args:
        fingerprint: the headers' fingerprint.
        width: the number of columns (a stored mapping is fitted to it).

    Returns:
        The mapping, its targets checked against the known ones; ``None`` when none.
    """
    row = db.session.get(ImportMapping, fingerprint)
    if row is None:
        return None
    orders = {
        field: order
        for field, value in (row.date_orders or {}).items()
        if (order := date_order(value)) is not None
    }
    return Remembered(check_targets(list(row.targets or []), width), orders, row.updated_at)


def is_custom(parsed: ParsedFile) -> bool:
    """Whether the file's mapping differs from the alias table's, or has chosen date orders."""
    chosen = any(column.how == "chosen" for column in parsed.dates)
    return chosen or parsed.mapping.targets != suggest_mapping(parsed.header).targets


def chosen_orders(parsed: ParsedFile) -> dict[str, str]:
    """``{field: order}`` of the date columns whose order was chosen."""
    return {c.field: c.order for c in parsed.dates if c.how == "chosen" and c.order}


def remember(parsed: ParsedFile, user_id: int | None) -> bool:
    """Store the file's mapping for its headers when it is custom (no commit).

    A mapping stored earlier for the same headers is replaced; one equal to the alias
    table's suggestion is not stored (it would be suggested anyway) and removes the one
    stored earlier.

    Args:
        parsed: the file, as imported.
        user_id: the account importing it, if any.

    Returns:
        Whether a mapping is stored for the headers now.
    """
    mapping = parsed.mapping
    if not is_custom(parsed):
        db.session.execute(
            delete(ImportMapping).where(ImportMapping.fingerprint == mapping.fingerprint)
        )
        return False
    values: dict[str, Any] = {
        "headers": list(mapping.headers),
        "targets": list(mapping.targets),
        "date_orders": chosen_orders(parsed),
        "updated_at": utcnow(),
        "updated_by_id": user_id,
    }
    row = db.session.get(ImportMapping, mapping.fingerprint)
    if row is None:
        db.session.add(ImportMapping(fingerprint=mapping.fingerprint, **values))
    else:
        for name, value in values.items():
            setattr(row, name, value)
    db.session.flush()
    return True
