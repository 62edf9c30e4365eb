"""sourcedIds of the records this app derives for OneRoster rather than stores.

Students, school years and enrollments carry a stored UUID (``sourced_id``). The export
also writes records that have no row of their own here: a course per grade and school
year. Their sourcedIds are UUIDv5 names (RFC 9562, section 5.5) built from the stored
UUID of the record they derive from, so they are the same at every export and, as the
stored UUIDs are never reused, never name anything else.
"""

from __future__ import annotations

import uuid

#: The namespace of this app's derived sourcedIds (a fixed, random UUID).
NAMESPACE = uuid.UUID("8f0f3a5e-54a8-4c1e-9a58-0d1c4d2b7a61")


def derived(kind: str, *parts: str) -> str:
    """A stable sourcedId for a derived record.

    Args:
        kind: what the record is (``"course"``).
        parts: the stored sourcedIds and values it derives from, in a fixed order.

    Returns:
        A lowercase UUID string (36 characters).
    """
    return str(uuid.uuid5(NAMESPACE, "/".join((kind, *parts))))


def course_id(year_sourced_id: str, grade: int) -> str:
    """The sourcedId of the homeroom course of ``grade`` in a school year."""
    return derived("course", year_sourced_id, f"{grade:02d}")


def ceds_grade(grade: int) -> str:
    """Our grade 1 to 12 as its CEDS Entry Grade Level code, ``"01"`` to ``"12"``."""
    return f"{grade:02d}"
