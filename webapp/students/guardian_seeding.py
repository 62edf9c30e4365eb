"""Demo guardians for the demo students: one or two per family, shared by siblings.

:func:`webapp.students.seeding.seed_students` groups its students into families (a
student is the previous one's sibling about one time in four, with the same surname)
and hands them here. Each family gets a mother and, four times in five, a father or a
second parent with the family's surname; numbers are fictional but valid (the US 555-01xx
range, checked with ``phonenumbers``), and some guardians prefer Spanish, French or
German. Rows are inserted in bulk, in the caller's transaction, without audit events
(as the demo students): tuples through :func:`webapp.students.bulk_load.write_rows`,
first names drawn from pools that Faker filled once (:func:`first_name_pools`), not a
Faker call and an ORM insert per row.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from faker import Faker
from sqlalchemy import Table, func, select, text

from webapp.extensions import db
from webapp.models import Guardian, GuardianPhone, StudentGuardian
from webapp.students import bulk_load

#: Area codes of the fictional numbers (555-0100 to 555-0199 is set aside for fiction).
AREA_CODES = ("201", "212", "303", "312", "415", "617")
#: Languages some guardians prefer, with how often (the rest: none recorded).
LANGUAGES = (("es", 0.12), ("fr", 0.04), ("de", 0.03))
#: First names drawn from each Faker locale once, per kind (see :func:`first_name_pools`).
NAME_POOL = 400
_LOCALES = ("en_US", "en_GB", "es_ES", "fr_FR", "de_DE")
GUARDIAN_COLUMNS = (
    "id",
    "sourced_id",
    "name",
    "email",
    "preferred_language",
    "created_at",
    "updated_at",
)
PHONE_COLUMNS = ("guardian_id", "position", "kind", "number")
LINK_COLUMNS = (
    "student_id",
    "guardian_id",
    "relationship",
    "emergency_contact",
    "lives_with",
    "pickup_allowed",
    "contact_order",
    "created_at",
    "updated_at",
)
#: The tables written, for :func:`webapp.students.bulk_load.indexes_set_aside`.
TABLES = ("guardians", "guardian_phones", "student_guardians")
_GUARDIANS: Table = Guardian.__table__  # type: ignore[assignment]  # (a declarative class's Table)
_PHONES: Table = GuardianPhone.__table__  # type: ignore[assignment]
_LINKS: Table = StudentGuardian.__table__  # type: ignore[assignment]


def first_name_pools(random_seed: int | None) -> tuple[list[str], list[str]]:
    """Female first names and first names of any kind, :data:`NAME_POOL` per locale each.

    A Faker call costs tens of microseconds; a million students have 1.3 million
    guardians, so the seed draws these pools once and picks from them.
    """
    female: list[str] = []
    anyone: list[str] = []
    for locale in _LOCALES:
        fake = Faker(locale)
        if random_seed is not None:
            fake.seed_instance(random_seed)
        female += [fake.first_name_female() for _ in range(NAME_POOL)]
        anyone += [fake.first_name() for _ in range(NAME_POOL)]
    return female, anyone


#: Every number :func:`fictional_number` gives (600 of them), made once.
FICTIONAL_NUMBERS = tuple(f"+1{area}5550{line}" for area in AREA_CODES for line in range(100, 200))


def fictional_number(rng: random.Random) -> str:
    """A valid US number in the range set aside for fiction, in E.164 (all equally likely)."""
    return rng.choice(FICTIONAL_NUMBERS)


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
    names: tuple[Sequence[str], Sequence[str]],
    new_uuid: Iterator[str],
) -> int:
    """Insert guardians for ``families`` and link them to each child; no commit.

    Args:
        families: ``(surname, student ids)`` per family.
        now: the rows' timestamps.
        rng: the caller's random source (reproducible with its seed).
        names: female first names and first names of anyone (:func:`first_name_pools`).
        new_uuid: yields a new random UUID as text for each guardian's ``sourced_id``.

    Returns:
        The number of guardians added.
    """
    guardian_id = _next_guardian_id()
    female, anyone = names
    choice, random_number = rng.choice, rng.random
    guardians: list[tuple[Any, ...]] = []
    phones: list[tuple[Any, ...]] = []
    links: list[tuple[Any, ...]] = []
    for surname, children in families:
        parents = [("mother", choice(female))]
        if random_number() < 0.8:
            parents.append((choice(("father", "father", "parent")), choice(anyone)))
        home = fictional_number(rng)
        for order, (relationship, first) in enumerate(parents, start=1):
            email = None
            if random_number() < 0.85:
                email = f"{first}.{surname}.{guardian_id}@example.net".lower().replace(" ", "")
            guardians.append(
                (
                    guardian_id,
                    next(new_uuid),
                    f"{first} {surname}",
                    email if email and email.isascii() else None,
                    _language(rng),
                    now,
                    now,
                )
            )
            numbers = [("mobile", fictional_number(rng)), ("home", home)]
            if random_number() < 0.3:
                numbers.append(("work", fictional_number(rng)))
            phones.extend(
                (guardian_id, position, kind, number)
                for position, (kind, number) in enumerate(numbers, start=1)
            )
            links.extend(
                (
                    student_id,
                    guardian_id,
                    relationship,
                    order == 1 or random_number() < 0.5,
                    random_number() < 0.9,
                    random_number() < 0.95,
                    order,
                    now,
                    now,
                )
                for student_id in children
            )
            guardian_id += 1
    if guardians:
        bulk_load.write_rows(_GUARDIANS, GUARDIAN_COLUMNS, guardians)
        bulk_load.write_rows(_PHONES, PHONE_COLUMNS, phones)
        bulk_load.write_rows(_LINKS, LINK_COLUMNS, links)
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('guardians', 'id'),"
                    " (SELECT max(id) FROM guardians))"
                )
            )
    return len(guardians)
