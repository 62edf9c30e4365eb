"""The rows of a demo district for ``flask students seed``, generated without the database.

:class:`DistrictRows` turns a :class:`SeedPlan` into batches of plain tuples, one list per
table (:data:`COLUMNS`): students, their enrollments in the current school year, their
homerooms and teachers (from a :class:`HomeroomNumbering`, e.g.
:class:`webapp.homerooms.seeding.HomeroomFiller`), and their families' guardians with
phone numbers and links. About one student in four is the previous one's sibling: same
surname, same guardians. Each family gets a mother and, four times in five, a father or
a second parent; numbers are fictional but valid (the US 555-01xx range, checked with
``phonenumbers``), and some guardians prefer Spanish, French or German.

Names come from Faker, drawn once into pools per locale; rows then pick from the pools
and from precomputed dates with ``random`` (no Faker call, no ``timedelta`` and no
``random.choice`` per row: each of those costs about a microsecond, and a million
students make eight million rows). The plan holds plain values, so the same rows can be
made in a worker process (:mod:`webapp.students.seed_worker`).
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import uuid_utils
from sqlalchemy.engine import Dialect

from webapp.extensions import db
from webapp.models.enrollment import Status
from webapp.models.student import GRADE_MAX, GRADE_MIN
from webapp.students import bulk_load

#: Students per batch: large enough to amortise each statement, small enough to keep
#: memory flat.
BATCH_SIZE = 5_000
#: How often a demo student is the previous one's brother or sister.
SIBLING_SHARE = 0.25
#: Names drawn from each Faker locale once, per kind.
NAME_POOL = 400
_LOCALES = ("en_US", "en_GB", "es_ES", "fr_FR", "de_DE")
#: Area codes of the fictional numbers (555-0100 to 555-0199 is set aside for fiction).
AREA_CODES = ("201", "212", "303", "312", "415", "617")
#: Every fictional number a guardian may get (600 of them), in E.164.
FICTIONAL_NUMBERS = tuple(f"+1{area}5550{line}" for area in AREA_CODES for line in range(100, 200))
#: Languages some guardians prefer, in percent (the rest: none recorded).
LANGUAGES = (("es", 12), ("fr", 4), ("de", 3))
#: The tables written, in the order they must be written (a row's references first),
#: and the columns of their tuples.
COLUMNS: dict[str, tuple[str, ...]] = {
    "students": (
        "id",
        "sourced_id",
        "name",
        "email",
        "birthday",
        "enrolled_on",
        "created_at",
        "updated_at",
    ),
    "enrollments": (
        "sourced_id",
        "student_id",
        "school_year_id",
        "grade",
        "status",
        "entered_on",
        "homeroom_id",
        "created_at",
        "updated_at",
    ),
    "guardians": (
        "id",
        "sourced_id",
        "name",
        "email",
        "preferred_language",
        "created_at",
        "updated_at",
    ),
    "guardian_phones": ("guardian_id", "position", "kind", "number"),
    "student_guardians": (
        "student_id",
        "guardian_id",
        "relationship",
        "emergency_contact",
        "lives_with",
        "pickup_allowed",
        "contact_order",
        "created_at",
        "updated_at",
    ),
}
#: The guardians' tables, in :data:`COLUMNS`.
GUARDIAN_TABLES = ("guardians", "guardian_phones", "student_guardians")
Rows = dict[str, list[tuple[Any, ...]]]


class HomeroomNumbering(Protocol):
    """What the generator needs from :class:`webapp.homerooms.seeding.HomeroomFiller`."""

    #: The columns of :meth:`take_rows`' tuples, per table.
    columns: dict[str, tuple[str, ...]]

    def homeroom_for(self, grade: int) -> int:
        """The homeroom id of the next student of ``grade``."""
        ...

    def take_rows(self) -> Rows:
        """The homerooms, accounts and links numbered since the last call, per table."""
        ...


@dataclass(frozen=True)
class SeedPlan:
    """What to generate: plain values, so that a worker process can take it.

    Attributes:
        count: students to make.
        first_student_id: the first student's id (ids, and the number in each student's
            email address, are consecutive from here).
        first_guardian_id: the first guardian's id (consecutive from here).
        year_id: the school year of the enrollments.
        guardians: whether to make the families' guardians.
        random_seed: seed of ``random`` and Faker, for the same names on every run
            (``sourced_id`` UUIDs are new on every run).
        today: the day the seed runs; no enrollment date is later.
        now: the rows' ``created_at`` and ``updated_at``.
    """

    count: int
    first_student_id: int
    first_guardian_id: int
    year_id: int
    guardians: bool
    random_seed: int | None
    today: date
    now: datetime


def ascii_local_part(text: str) -> str:
    """Turn "Zoé O'Neil" into "zoe.oneil": ASCII letters, digits and dots only."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    kept = "".join(ch for ch in decomposed if ch.isascii() and (ch.isalnum() or ch == "."))
    # "Hans-D. Davis" would give "hansd..davis": an address may not hold "..".
    return ".".join(part for part in kept.split(".") if part)


def name_pools(random_seed: int | None) -> dict[str, list[str]]:
    """First names, last names, female first names and first names of anyone, from
    Faker: :data:`NAME_POOL` of each kind per locale (keys ``first``, ``last``,
    ``female``, ``anyone``)."""
    # Imported here, not with the module: its locale tables take 45 ms to import in every
    # process that loads the app (each gunicorn worker), and only a seed needs them.
    from faker import Faker

    pools: dict[str, list[str]] = {"first": [], "last": [], "female": [], "anyone": []}
    for locale in _LOCALES:
        fake = Faker(locale)
        if random_seed is not None:
            fake.seed_instance(random_seed)
        pools["first"] += [fake.first_name() for _ in range(NAME_POOL)]
        pools["last"] += [fake.last_name() for _ in range(NAME_POOL)]
    for locale in _LOCALES:  # a second pass, so the students' names do not change
        fake = Faker(locale)
        if random_seed is not None:
            fake.seed_instance(random_seed)
        pools["female"] += [fake.first_name_female() for _ in range(NAME_POOL)]
        pools["anyone"] += [fake.first_name() for _ in range(NAME_POOL)]
    return pools


def _school_year_start(today: date) -> date:
    """The 1 September that opened the current school year."""
    return date(today.year if today.month >= 9 else today.year - 1, 9, 1)


def _days(start: date, first: int, count: int, sign: int, latest: date | None = None) -> list[date]:
    """``count`` dates ``first``, ``first + 1``, ... days after (``sign`` 1) or before
    (``sign`` -1) ``start``, none later than ``latest``."""
    found = [start + timedelta(days=sign * (first + n)) for n in range(count)]
    return [min(when, latest) for when in found] if latest else found


def _address_part(name: str) -> tuple[str, bool]:
    """A guardian address's part for ``name`` (lower case, no spaces), and whether it is
    ASCII (an address is only made of ASCII parts)."""
    part = name.lower().replace(" ", "")
    return part, part.isascii()


def _stored(table: str, column: str, dialect: Dialect | None) -> Any:
    """The column's bind processor on ``dialect`` (how the driver gets its values), or
    the identity without a dialect or a processor."""
    processor = None
    if dialect is not None:
        processor = db.metadata.tables[table].c[column].type._cached_bind_processor(dialect)
    return processor or (lambda value: value)


class DistrictRows:
    """Generates the rows of :class:`SeedPlan` in batches of :data:`BATCH_SIZE` students.

    Args:
        plan: what to make.
        homerooms: numbers each student's homeroom and makes the homerooms; ``None``
            leaves the enrollments without one.
        dialect: make the values as this database's driver takes them (dates as text on
            SQLite, say): each distinct date, time and flag goes through its column's
            bind processor once, here, instead of once per row. ``None``: Python values.
    """

    def __init__(
        self, plan: SeedPlan, homerooms: HomeroomNumbering | None, dialect: Dialect | None = None
    ) -> None:
        self.plan = plan
        self.homerooms = homerooms
        self.dialect = dialect
        self.rng = random.Random(plan.random_seed)
        pools = name_pools(plan.random_seed)

        def with_dot(name: str) -> str:
            local = ascii_local_part(name)
            return f"{local}." if local else ""

        # (name, its part of a student's address) and (name, guardian address part, ASCII)
        self.firsts = [(name, with_dot(name)) for name in pools["first"]]
        self.lasts = [(name, with_dot(name), *_address_part(name)) for name in pools["last"]]
        self.female = [(name, *_address_part(name)) for name in pools["female"]]
        self.anyone = [(name, *_address_part(name)) for name in pools["anyone"]]
        year_start = _school_year_start(plan.today)
        # Birthdays by age (a grade-g student turns g + 5 during the school year, give or
        # take a year), and first days by years since (clipped to today): made once, as
        # (date, as stored) pairs (every date column is a ``Date``).
        day = _stored("students", "birthday", dialect)
        self.birthdays = {
            age: [(when, day(when)) for when in _days(year_start, 365 * age - 120, 361, -1)]
            for age in range(GRADE_MIN + 5, GRADE_MAX + 7)
        }
        self.first_days = [
            [
                (when, day(when))
                for when in _days(date(year_start.year - years, 9, 1), 0, 21, 1, plan.today)
            ]
            for years in range(GRADE_MAX)
        ]
        self.now = _stored("students", "created_at", dialect)(plan.now)
        flag = _stored("student_guardians", "lives_with", dialect)
        self.flags = (flag(False), flag(True))
        self.languages: list[str | None] = [tag for tag, share in LANGUAGES for _ in range(share)]
        self.languages += [None] * (100 - len(self.languages))
        self.next_guardian_id = plan.first_guardian_id

    def batches(self) -> Iterator[Rows]:
        """Yield the rows, :data:`BATCH_SIZE` students at a time, per table: the homeroom
        tables' rows (if any) first, then :data:`COLUMNS`' tables in order."""
        plan = self.plan
        end = plan.first_student_id + plan.count
        for first in range(plan.first_student_id, end, BATCH_SIZE):
            rows: Rows = {}
            students, enrollments, families = self._students(first, min(BATCH_SIZE, end - first))
            if self.homerooms is not None:
                for name, taken in self.homerooms.take_rows().items():
                    rows[name] = list(self._ready(name, taken))
            rows["students"], rows["enrollments"] = students, enrollments
            if plan.guardians:
                rows.update(self._guardians(families))
            yield rows

    def _students(
        self, first_id: int, count: int
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, list[int]]]]:
        """Students ``first_id`` to ``first_id + count - 1``, their enrollments, and their
        families as ``(surname entry of the pool, student ids)``."""
        rng, plan = self.rng, self.plan
        random_number = rng.random
        homeroom_for = self.homerooms.homeroom_for if self.homerooms else None
        birthdays, first_days = self.birthdays, self.first_days
        now, year_id, enrolled = self.now, plan.year_id, Status.ENROLLED.value
        students: list[tuple[Any, ...]] = []
        enrollments: list[tuple[Any, ...]] = []
        families: list[tuple[Any, list[int]]] = []
        grades = rng.choices(range(GRADE_MIN, GRADE_MAX + 1), k=count)
        firsts = rng.choices(self.firsts, k=count)
        lasts = rng.choices(self.lasts, k=count)
        uuid7 = uuid_utils.uuid7
        for student_id, grade, (first, first_part), last in zip(
            range(first_id, first_id + count), grades, firsts, lasts, strict=True
        ):
            if families and random_number() < SIBLING_SHARE:
                last = families[-1][0]  # a sibling: the family's surname and guardians
                families[-1][1].append(student_id)
            else:
                families.append((last, [student_id]))
            birthday = birthdays[grade + 5 + (random_number() < 0.25)][int(random_number() * 361)]
            entered = first_days[int(random_number() * grade)][int(random_number() * 21)]
            entered = max(entered, birthday)
            email = None
            if random_number() < 0.9:
                email = f"{first_part + last[1] or 'student.'}{student_id}@example.org"
            born, entered_on = birthday[1], entered[1]
            students.append(
                (student_id, str(uuid7()), f"{first} {last[0]}", email, born, entered_on, now, now)
            )
            homeroom = homeroom_for(grade) if homeroom_for else None
            enrollments.append(
                (str(uuid7()), student_id, year_id, grade, enrolled, entered_on, homeroom, now, now)
            )
        return students, enrollments, families

    def _guardians(self, families: list[tuple[Any, list[int]]]) -> Rows:
        """The guardians of ``families``, their phone numbers and links, per table."""
        rng, now, no_yes = self.rng, self.now, self.flags
        random_number = rng.random
        numbers, languages = FICTIONAL_NUMBERS, self.languages
        guardians: list[tuple[Any, ...]] = []
        phones: list[tuple[Any, ...]] = []
        links: list[tuple[Any, ...]] = []
        guardian_id = self.next_guardian_id
        mothers = rng.choices(self.female, k=len(families))
        others = rng.choices(self.anyone, k=len(families))
        uuid7 = uuid_utils.uuid7
        for ((surname, _, surname_part, surname_ascii), children), mother, other in zip(
            families, mothers, others, strict=True
        ):
            parents = [("mother", mother)]
            if random_number() < 0.8:
                parents.append((("father", "father", "parent")[int(random_number() * 3)], other))
            home = numbers[int(random_number() * 600)]
            for order, (relationship, (first, first_part, first_ascii)) in enumerate(parents, 1):
                email = None
                if random_number() < 0.85 and first_ascii and surname_ascii:
                    email = f"{first_part}.{surname_part}.{guardian_id}@example.net"
                language = languages[int(random_number() * 100)]
                guardians.append(
                    (guardian_id, str(uuid7()), f"{first} {surname}", email, language, now, now)
                )
                phones.append((guardian_id, 1, "mobile", numbers[int(random_number() * 600)]))
                phones.append((guardian_id, 2, "home", home))
                if random_number() < 0.3:
                    phones.append((guardian_id, 3, "work", numbers[int(random_number() * 600)]))
                for student_id in children:
                    links.append(
                        (
                            student_id,
                            guardian_id,
                            relationship,
                            no_yes[order == 1 or random_number() < 0.5],
                            no_yes[random_number() < 0.9],
                            no_yes[random_number() < 0.95],
                            order,
                            now,
                            now,
                        )
                    )
                guardian_id += 1
        self.next_guardian_id = guardian_id
        return {"guardians": guardians, "guardian_phones": phones, "student_guardians": links}

    def _ready(self, table: str, rows: list[tuple[Any, ...]]) -> Any:
        """``rows`` of ``table`` processed for :attr:`dialect` (if any)."""
        if self.dialect is None:
            return rows
        columns = self.homerooms.columns[table] if self.homerooms else ()
        return bulk_load.processed(db.metadata.tables[table], columns, rows, self.dialect)
