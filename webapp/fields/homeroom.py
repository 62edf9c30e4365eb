"""A homeroom's fields, one declaration each: name, grade, room and capacity.

The homeroom form, the class pages and the audit notes read these. Limits come from the
model (:mod:`webapp.models.homeroom`), whose constraints the database enforces. A
homeroom over its capacity is possible (a class of 26 for 25 seats) but unusual: a
:class:`~webapp.fields.records.RecordWarning` on the capacity, which the editor confirms,
when the homeroom is saved and when students are assigned to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from webapp.fields import rules
from webapp.fields.base import Field, FieldError, Kind
from webapp.fields.enrollment import GRADE
from webapp.fields.parsers import parse_text, parse_whole_number
from webapp.fields.records import RecordFields, RecordWarning
from webapp.models.homeroom import CAPACITY_MAX, HOMEROOM_NAME_MAX_LENGTH, ROOM_MAX_LENGTH

#: The value of :data:`HOMEROOM`'s warnings that says how many students a homeroom would
#: hold (not a field: the class list's length, or that plus the students being assigned).
STUDENTS = "students"


def _short_text(max_length: int, what: str) -> Any:
    """A rule that tidies spaces and refuses control characters and over-long text."""

    def clean(value: str, today: date) -> str:
        text = " ".join(value.split())
        if rules.has_control_characters(text):
            raise FieldError(f"The {what} cannot contain control characters.")
        if len(text) > max_length:
            raise FieldError(f"The {what} can have at most {max_length} characters.")
        return text

    return clean


def check_capacity(value: int, today: date) -> int:
    """Accept a capacity from 1 to ``CAPACITY_MAX`` students.

    Raises:
        FieldError: outside that range.
    """
    if not 1 <= value <= CAPACITY_MAX:
        raise FieldError(f"The capacity must be from 1 to {CAPACITY_MAX} students.")
    return value


def over_capacity(values: Mapping[str, Any], today: date) -> str | None:
    """Warn when a homeroom would hold more students than its capacity.

    Args:
        values: ``capacity``, :data:`STUDENTS` (how many it would hold) and ``name``.
        today: unused (the warnings' signature).

    Returns:
        ``"5B would have 27 students; its capacity is 25."``, or ``None``.
    """
    students = values.get(STUDENTS)
    capacity = values["capacity"]
    if students is None or students <= capacity:
        return None
    name = values.get("name") or "The homeroom"
    return f"{name} would have {students} students; its capacity is {capacity}."


NAME: Field[str] = Field(
    "name",
    "Name",
    Kind.TEXT,
    parse_text,
    rules=(_short_text(HOMEROOM_NAME_MAX_LENGTH, "name"),),
    required=True,
    required_message="Enter the homeroom's name, such as 5B.",
    description="Such as 5B. Each homeroom of a school year has its own name.",
    html={"maxlength": HOMEROOM_NAME_MAX_LENGTH, "autocomplete": "off"},
)

ROOM: Field[str] = Field(
    "room",
    "Room",
    Kind.TEXT,
    parse_text,
    rules=(_short_text(ROOM_MAX_LENGTH, "room"),),
    description="Where the class meets, such as 12 or Library. Optional.",
    html={"maxlength": ROOM_MAX_LENGTH},
)

CAPACITY: Field[int] = Field(
    "capacity",
    "Capacity",
    Kind.NUMBER,
    parse_whole_number,
    rules=(check_capacity,),
    required=True,
    required_message="Enter how many students the homeroom is for.",
    description="How many students it is meant for. More can be assigned, once confirmed.",
    html={"min": 1, "max": CAPACITY_MAX, "inputmode": "numeric"},
)

#: The homeroom record: its fields in display order, and the capacity warning.
HOMEROOM = RecordFields(
    (NAME, GRADE, ROOM, CAPACITY),  # (the grade is the enrollment's declaration)
    warnings=(RecordWarning("capacity", ("capacity",), over_capacity),),
)

#: How the audit trail shows a student's move between homerooms: an enrollment event's
#: ``homeroom`` change holds the names before and after (its ``homeroom_id`` change, the
#: ids, is what a revert puts back).
HOMEROOM_CHANGE: Field[str] = Field(
    "homeroom", "Homeroom", Kind.TEXT, parse_text, in_form=False, writable=False
)

#: How the audit trail shows a change of a homeroom's teachers: their emails, by email.
TEACHERS_CHANGE: Field[str] = Field(
    "teachers", "Teachers", Kind.TEXT, parse_text, in_form=False, writable=False
)
