"""Stage 3 of an import, its result: what the import does with each row (:class:`RowPlan`).

A plan is data only: each row's :class:`Action` (create, update, unchanged or error),
the fields an update changes (:class:`Change`), the values to write, and a fingerprint
of the decisions (:class:`PlanDigest`) that notices when the roster changed between the
preview and the confirm. :mod:`.planning` makes plans; :mod:`.writing` writes them.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from webapp.fields.enrollment import ENROLLMENT
from webapp.fields.student import ROSTER_ROW, STUDENT

#: Fields written to the tables (``id`` only identifies the row).
WRITABLE_FIELDS: tuple[str, ...] = tuple(f.name for f in ROSTER_ROW.writable)
#: The writable fields that are the student's, and those that are the enrollment's.
STUDENT_FIELDS: tuple[str, ...] = tuple(n for n in WRITABLE_FIELDS if n in STUDENT.by_name)
ENROLLMENT_FIELDS: tuple[str, ...] = tuple(n for n in WRITABLE_FIELDS if n in ENROLLMENT.by_name)


class Action(StrEnum):
    """What the import does with one row."""

    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Change:
    """One field that an update changes."""

    field: str
    old: Any
    new: Any


@dataclass(slots=True)
class RowPlan:
    """What the import does with one row, and why.

    Attributes:
        line: line number in the file.
        action: create, update, unchanged or error.
        student_id: the student updated or left unchanged, the id a merge creates, or
            the student an erroneous row refers to; ``None`` for a plain create.
        name: the student's name, for display.
        changes: the fields an update changes, old and new values.
        errors: what is wrong with an erroneous row.
        values: what to write for a create or an update (``None`` otherwise): the
            fields to write, the student's ``id``, and ``enrollment_id`` (the enrollment
            in the current year to update, or ``None`` to make one when ``entered_on``
            is set).
        before: for an update, the student's stored fields as the plan read them.
        warnings: the plausibility warnings of the values a create or an update writes
            anew: imported as they are, and shown on the preview and by the command line.
    """

    line: int
    action: Action
    student_id: int | None
    name: str
    changes: tuple[Change, ...] = ()
    errors: tuple[str, ...] = ()
    values: dict[str, Any] | None = None
    before: dict[str, Any] | None = None
    warnings: tuple[str, ...] = ()


def display(name: str, value: Any) -> str:
    """A value of field ``name`` as the preview, the digest and the command line show it."""
    return ROSTER_ROW[name].display(value)


@dataclass
class ImportPlan:
    """The decision for every row of a file, against the roster as it was read.

    Attributes:
        fields: the student fields the file has.
        unmapped_columns: headers of the columns mapped to no field, not imported.
        rows: one plan per row, in file order.
        timings: seconds spent per step so far (parse, validate, match).
        largest_id: the largest id the file names (:func:`.checking.largest_id`).
    """

    fields: tuple[str, ...]
    unmapped_columns: tuple[str, ...]
    rows: list[RowPlan]
    timings: dict[str, float] = field(default_factory=dict)
    largest_id: int = 0

    @property
    def counts(self) -> dict[Action, int]:
        """Rows per action, every action present (zero when none)."""
        counter = Counter(row.action for row in self.rows)
        return {action: counter.get(action, 0) for action in Action}

    def digest(self) -> str:
        """A fingerprint of every decision, to notice when the roster changed meanwhile.

        Returns:
            :class:`PlanDigest` of the rows.
        """
        digest = PlanDigest()
        digest.update(self.rows)
        return digest.hexdigest()


class PlanDigest:
    """A fingerprint of a plan's decisions, fed chunk by chunk (a streamed preview).

    A hex SHA-256 over each row's line, action, student and changes or errors: two plans
    of the same file with the same digest do the same to the same students.
    """

    def __init__(self) -> None:
        self._hasher = hashlib.sha256()

    def update(self, rows: Iterable[RowPlan]) -> None:
        """Add the next rows of the plan, in file order."""
        hasher = self._hasher
        for row in rows:
            changes = [(change.field, display(change.field, change.new)) for change in row.changes]
            hasher.update(repr((row.line, row.action.value, row.student_id, changes)).encode())
            hasher.update(repr(row.errors).encode())

    def hexdigest(self) -> str:
        """The fingerprint of the rows added so far."""
        return self._hasher.hexdigest()
