"""academicSessions.csv (binding section 3.2): the school year exported.

Export: one row of type ``schoolYear``: the year's sourcedId, its name as the title, its
first and last day, and ``schoolYear`` the calendar year in which it ends (the binding:
"the school year for the academic session ... the year in which the school year ends").
"""

from __future__ import annotations

from collections.abc import Iterator

from webapp.roster_exchange.files.base import ExportContext, iso

STEM = "academicSessions"


def export_rows(context: ExportContext) -> Iterator[list[str]]:
    """``sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,
    schoolYear`` rows."""
    year = context.year
    yield [
        year.sourced_id,
        "",
        "",
        year.name,
        "schoolYear",
        iso(year.starts_on),
        iso(year.ends_on),
        "",
        str(year.ends_on.year),
    ]
