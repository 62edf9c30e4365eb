"""What guardian writes share (:mod:`webapp.students.guardians`,
:mod:`webapp.students.guardian_links`): the audited fields, the errors the pages explain,
the audit events, and commits that turn a lost optimistic lock into
:class:`StaleGuardianError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from webapp import trail
from webapp.extensions import db
from webapp.fields.guardian import GUARDIAN, GUARDIAN_LINK
from webapp.models import (
    Action,
    AuditEvent,
    Entity,
    Guardian,
    Student,
    StudentGuardian,
)

#: The guardian fields a form sets (the phones are set apart, as rows).
GUARDIAN_FIELDS = tuple(field.name for field in GUARDIAN.form_fields)
LINK_FIELDS = tuple(field.name for field in GUARDIAN_LINK.fields)
ALREADY_LINKED_MESSAGE = "This guardian is already linked to this student."


class GuardianError(Exception):
    """A change to a guardian or a link was refused; ``str(error)`` says why, for the user."""


class AlreadyLinkedError(GuardianError):
    """The guardian is linked to the student already (the link's primary key)."""

    def __init__(self) -> None:
        super().__init__(ALREADY_LINKED_MESSAGE)


class StaleGuardianError(GuardianError):
    """The guardian or the link changed (or went) since the version the user saw.

    Attributes:
        current_version: the version now stored, or ``None`` when the row is gone.
    """

    def __init__(self, current_version: int | None) -> None:
        super().__init__(
            "Someone else changed this guardian while you were editing; nothing was saved. "
            "The form now shows the stored values."
        )
        self.current_version = current_version


Phones = Sequence[tuple[str, str]]


def snapshot(guardian: Guardian) -> dict[str, Any]:
    """The guardian's audited fields (name, email, language, phones), as the trail keeps them."""
    return GUARDIAN.snapshot(guardian)


def link_snapshot(link: StudentGuardian) -> dict[str, Any]:
    """The link's audited fields (relationship, contact order, the three flags)."""
    return GUARDIAN_LINK.snapshot(link)


def note(guardian: Guardian | str) -> str:
    """The audit event's note naming the guardian: ``guardian Ana Lima``."""
    name = guardian if isinstance(guardian, str) else guardian.name
    return f"guardian {name}"


def commit_or_stale(version_of: Callable[[], int | None]) -> None:
    """Commit; on a lost optimistic lock roll back and raise :class:`StaleGuardianError`."""
    try:
        db.session.commit()
    except StaleDataError as error:
        db.session.rollback()
        raise StaleGuardianError(version_of()) from error
    except Exception:
        db.session.rollback()
        raise


def flush_or_stale(version_of: Callable[[], int | None]) -> None:
    """Flush; on a lost optimistic lock roll back and raise :class:`StaleGuardianError`
    with ``version_of()``, the version now stored."""
    try:
        db.session.flush()
    except StaleDataError as error:
        db.session.rollback()
        raise StaleGuardianError(version_of()) from error


def commit() -> None:
    """Commit the session (rolled back on failure, and the error raised again)."""
    commit_or_stale(lambda: None)


def check_version(stored: int, expected: int | None) -> None:
    """Refuse a write based on a version other than the stored one (``None``: no check).

    Raises:
        StaleGuardianError: the versions differ.
    """
    if expected is not None and expected != stored:
        raise StaleGuardianError(stored)


def record(
    action: Action,
    entity: Entity,
    entity_id: int,
    changes: Mapping[str, list[Any]],
    student: Student | None,
    note: str,
    reverts: AuditEvent | None = None,
) -> None:
    """Add an audit event about a guardian or a link, in ``student``'s history; no commit."""
    trail.record_event(
        action,
        entity,
        entity_id,
        changes,
        student_id=student.id if student else None,
        student_name=student.name if student else None,
        note=note,
        reverts=reverts,
    )


def stored_version(model: type[Guardian] | type[StudentGuardian], key: Any) -> int | None:
    """The version now stored for ``key``, or ``None`` when the row is gone."""
    row = db.session.get(model, key, populate_existing=True)
    return None if row is None else int(getattr(row, "version"))  # noqa: B009
