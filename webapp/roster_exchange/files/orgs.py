"""orgs.csv (binding section 3.13): the school, and its district when one is configured.

Orgs are configuration here (:mod:`..settings`), not records: the import reads none.
"""

from __future__ import annotations

from collections.abc import Iterator

from webapp.roster_exchange.files.base import ExportContext

STEM = "orgs"


def export_rows(context: ExportContext) -> Iterator[list[str]]:
    """``sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId`` rows."""
    settings = context.settings
    if settings.district_sourced_id is not None:
        yield [settings.district_sourced_id, "", "", settings.district_name, "district", "", ""]
    yield [
        settings.school_sourced_id,
        "",
        "",
        settings.school_name,
        "school",
        settings.school_identifier,
        settings.district_sourced_id or "",
    ]
