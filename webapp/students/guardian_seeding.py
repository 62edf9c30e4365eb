"""Demo guardians for the demo students: one or two per family, shared by siblings.

:func:`webapp.students.seeding.seed_students` groups its students into families (a
student is the previous one's sibling about one time in four, with the same surname)
and hands them here. Each family gets a mother and, four times in five, a father or a
second parent with the family's surname; numbers are fictional but valid (the US 555-01xx
range, checked with ``phonenumbers``), and some guardians prefer Spanish, French or
German. Rows are inserted in bulk, in the caller's transaction, without audit events
(as the demo students).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from faker import Faker
from sqlalchemy import func, insert, select, text

from webapp.extensions import db
from webapp.models import Guardian, GuardianPhone, StudentGuardian

#: Area codes of the fictional numbers (555-0100 to 555-0199 is set aside for fiction).
AREA_CODES = ("201", "212", "303", "312", "415", "617")
#: Languages some guardians prefer, with how often (the rest: none recorded).
LANGUAGES = (("es", 0.12), ("fr", 0.04), ("de", 0.03))


def fictional_number(rng: random.Random) -> str:
    """A valid US number in the range set aside for fiction, in E.164."""
    return f"+1{rng.choice(AREA_CODES)}5550{rng.randint(100, 199)}"


def _next_guardian_id() -> int:
    next_id = (db.session.scalar(select(func.max(Guardian.id))) or 0) + 1
    if db.session.get_bind().dialect.name == "sqlite":
        used = db.session.scalar(text("SELECT seq FROM sqlite_sequence WHERE name = 'guardians'"))
        next_id = max(next_id, (used or 0) + 1)
    return next_id


def _language(rng: random.Random) -> str | None:
    draw = rng.random()
    for tag, share in LANGUAGES:
        if draw < share:
            return tag
        draw -= share
    return None


def seed_guardians(
    families: Sequence[tuple[str, Sequence[int]]],
    now: datetime,
    rng: random.Random,
    fake: Faker,
) -> int:
    """Insert guardians for ``families`` and link them to each child; no commit.

    Args:
        families: ``(surname, student ids)`` per family.
        now: the rows' timestamps.
        rng, fake: the caller's random sources (reproducible with its seed).

    Returns:
        The number of guardians added.
    """
    guardian_id = _next_guardian_id()
    guardians: list[dict[str, Any]] = []
    phones: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    stamps = {"created_at": now, "updated_at": now}
    for surname, children in families:
        parents = [("mother", fake.first_name_female())]
        if rng.random() < 0.8:
            parents.append((rng.choice(("father", "father", "parent")), fake.first_name()))
        home = fictional_number(rng)
        for order, (relationship, first) in enumerate(parents, start=1):
            email = None
            if rng.random() < 0.85:
                email = f"{first}.{surname}.{guardian_id}@example.net".lower().replace(" ", "")
            guardians.append(
                {
                    "id": guardian_id,
                    "sourced_id": str(uuid.uuid4()),
                    "name": f"{first} {surname}",
                    "email": email if email and email.isascii() else None,
                    "preferred_language": _language(rng),
                    **stamps,
                }
            )
            numbers = [("mobile", fictional_number(rng)), ("home", home)]
            if rng.random() < 0.3:
                numbers.append(("work", fictional_number(rng)))
            phones.extend(
                {"guardian_id": guardian_id, "position": position, "kind": kind, "number": number}
                for position, (kind, number) in enumerate(numbers, start=1)
            )
            links.extend(
                {
                    "student_id": student_id,
                    "guardian_id": guardian_id,
                    "relationship": relationship,
                    "emergency_contact": order == 1 or rng.random() < 0.5,
                    "lives_with": rng.random() < 0.9,
                    "pickup_allowed": rng.random() < 0.95,
                    "contact_order": order,
                    **stamps,
                }
                for student_id in children
            )
            guardian_id += 1
    if guardians:
        db.session.execute(insert(Guardian), guardians)
        db.session.execute(insert(GuardianPhone), phones)
        db.session.execute(insert(StudentGuardian), links)
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('guardians', 'id'),"
                    " (SELECT max(id) FROM guardians))"
                )
            )
    return len(guardians)
