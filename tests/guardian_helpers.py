"""Helpers for the guardian tests: guardians added through the ORM, and form data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import event, select

from webapp.extensions import db
from webapp.models import AuditEvent, Guardian, GuardianPhone, StudentGuardian


def add_guardian(
    app: Flask,
    student_ids: tuple[int, ...] = (),
    name: str = "Cat Lee",
    phones: tuple[tuple[str, str], ...] = (("mobile", "+12015550123"),),
    **link: Any,
) -> int:
    """Insert a guardian with ``phones``, linked to each of ``student_ids``; return the id."""
    with app.app_context():
        guardian = Guardian(name=name, email=f"{name.split()[0].lower()}@example.org")
        guardian.phone_rows = [
            GuardianPhone(position=i, kind=kind, number=number)
            for i, (kind, number) in enumerate(phones, start=1)
        ]
        db.session.add(guardian)
        db.session.flush()
        for order, student_id in enumerate(student_ids, start=1):
            values = {"relationship": "mother", "contact_order": order, **link}
            db.session.add(
                StudentGuardian(student_id=student_id, guardian_id=guardian.id, **values)
            )
        db.session.commit()
        return guardian.id


def guardian_form(**changes: str) -> dict[str, str]:
    """A valid new-guardian submission, with ``changes`` applied (``None`` removes a key)."""
    data = {
        "name": "Maria García",
        "email": "maria@example.org",
        "preferred_language": "Spanish",
        "phone1_kind": "mobile",
        "phone1_number": "(201) 555-0123",
        "phone2_kind": "work",
        "phone2_number": "+44 20 7946 0000",
        "phone3_kind": "home",
        "phone3_number": "",
        "relationship": "mother",
        "contact_order": "1",
        "emergency_contact": "yes",
        "pickup_allowed": "yes",
    }
    data.update(changes)
    return data


def stored(app: Flask, guardian_id: int) -> dict[str, Any] | None:
    """The guardian as stored: fields, phones and links, or ``None``."""
    with app.app_context():
        guardian = db.session.get(Guardian, guardian_id)
        if guardian is None:
            return None
        links = db.session.scalars(
            select(StudentGuardian).where(StudentGuardian.guardian_id == guardian_id)
        )
        return {
            "name": guardian.name,
            "email": guardian.email,
            "preferred_language": guardian.preferred_language,
            "version": guardian.version,
            "phones": guardian.phones,
            "links": {
                link.student_id: (
                    link.relationship,
                    link.contact_order,
                    link.emergency_contact,
                    link.lives_with,
                    link.pickup_allowed,
                    link.version,
                )
                for link in links
            },
        }


def events(app: Flask, student_id: int) -> list[tuple[str, str, int]]:
    """``(action, entity, entity_id)`` of the student's audit events, oldest first."""
    return [event[1:] for event in events_with_ids(app, student_id)]  # type: ignore[misc]


def events_with_ids(app: Flask, student_id: int) -> list[tuple[int, str, str, int]]:
    """``(id, action, entity, entity_id)`` of the student's audit events, oldest first."""
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.id, AuditEvent.action, AuditEvent.entity, AuditEvent.entity_id)
            .where(AuditEvent.student_id == student_id)
            .order_by(AuditEvent.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def count_statements(app: Flask, run: Callable[[], object]) -> int:
    """How many SQL statements ``run()`` sends (transaction control left out)."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if statement.split()[0].upper() not in {"BEGIN", "COMMIT", "ROLLBACK"}:
            statements.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            run()
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
    return len(statements)


def all_rows(app: Flask) -> tuple[int, int, int, int]:
    """How many guardians, phones, links and audit events are stored."""
    with app.app_context():
        return tuple(  # type: ignore[return-value]
            db.session.scalar(select(db.func.count()).select_from(model))
            for model in (Guardian, GuardianPhone, StudentGuardian, AuditEvent)
        )
