"""One module per OneRoster file: what the export writes to it and what the import reads.

Each module has ``STEM`` (the file, e.g. ``"users"``), ``export_rows(context)`` (the
data rows, in the spec's column order, streamed) and, for the files the import reads,
``plan_rows(plan, records)``. :data:`EXPORTED` lists the export's modules in the order
their files are written; the manifest is written last by :mod:`..exporting`.
"""

from __future__ import annotations

from webapp.roster_exchange.files import (
    academic_sessions,
    classes,
    courses,
    demographics,
    enrollments,
    orgs,
    roles,
    users,
)

#: The modules of the exported files, in the order of the binding's sections.
EXPORTED = (academic_sessions, classes, courses, demographics, enrollments, orgs, roles, users)
