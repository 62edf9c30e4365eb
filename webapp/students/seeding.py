"""Realistic demo students, generated with Faker and inserted in bulk."""

from __future__ import annotations

import random
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import uuid_utils
from faker import Faker
from sqlalchemy import Table, func, select, text

from webapp.database import begin_write
from webapp.extensions import db
from webapp.homerooms.seeding import HomeroomFiller
from webapp.models import Enrollment, Status, Student
from webapp.models.search_index import SEARCH_TRIGGERS, SQLITE_DDL
from webapp.models.student import GRADE_MAX, GRADE_MIN
from webapp.models.types import utcnow
from webapp.students import bulk_load, guardian_seeding
from webapp.years.service import current_year

#: Rows per INSERT statement; large enough to amortise round trips, small enough to
#: keep memory flat.
BATCH_SIZE = 5_000
#: How often a demo student is the previous one's brother or sister.
SIBLING_SHARE = 0.25
#: The columns seeding writes, in the order of its tuples.
STUDENT_COLUMNS = (
    "id",
    "sourced_id",
    "name",
    "email",
    "birthday",
    "enrolled_on",
    "created_at",
    "updated_at",
)
ENROLLMENT_COLUMNS = (
    "sourced_id",
    "student_id",
    "school_year_id",
    "grade",
    "status",
    "entered_on",
    "homeroom_id",
    "created_at",
    "updated_at",
)
_STUDENTS: Table = Student.__table__  # type: ignore[assignment]  # (a declarative class's Table)
_ENROLLMENTS: Table = Enrollment.__table__  # type: ignore[assignment]
#: SQLite's page cache while seeding, in KiB (a negative ``cache_size``): the random
#: inserts into the UUID and name indexes of a million rows stay in memory.
SEED_CACHE_KIB = 256 * 1024


def _school_year_start(today: date) -> date:
    """Return the 1 September that opened the current school year."""
    year = today.year if today.month >= 9 else today.year - 1
    return date(year, 9, 1)


def _ascii_local_part(text: str) -> str:
    """Turn "Zoé O'Neil" into "zoe.oneil": ASCII letters, digits and dots only."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    kept = "".join(ch for ch in decomposed if ch.isascii() and (ch.isalnum() or ch == "."))
    # "Hans-D. Davis" would give "hansd..davis": an address may not hold "..".
    return ".".join(part for part in kept.split(".") if part)


#: Names drawn from each Faker locale once; rows then pick from these pools (a Faker call
#: per row would take about 100 microseconds, 100 s for a million students).
NAME_POOL = 400
_LOCALES = ("en_US", "en_GB", "es_ES", "fr_FR", "de_DE")


def _name_pools(random_seed: int | None) -> tuple[list[str], list[str]]:
    """First and last names from Faker, :data:`NAME_POOL` of each per locale."""
    firsts: list[str] = []
    lasts: list[str] = []
    for locale in _LOCALES:
        fake = Faker(locale)
        if random_seed is not None:
            fake.seed_instance(random_seed)
        firsts += [fake.first_name() for _ in range(NAME_POOL)]
        lasts += [fake.last_name() for _ in range(NAME_POOL)]
    return firsts, lasts


def generate_students(
    count: int, *, first_serial: int = 1, random_seed: int | None = None
) -> Iterator[dict[str, Any]]:
    """Yield ``count`` rows of plausible student data, as dictionaries for ``insert()``.

    Names are a first and a last name from Faker's pools of several locales
    (:func:`_name_pools`), combined at random.

    Args:
        count: number of rows to produce.
        first_serial: the number embedded in the first email address; addresses embed
            consecutive numbers from there, so they are unique if the serials are new.
        random_seed: seed for Faker and ``random``, for reproducible data.

    Yields:
        Mappings with ``name``, ``email``, ``grade`` (for the enrollment), ``birthday``,
        ``enrolled_on``, ``created_at`` and ``updated_at``, each valid under the model's
        rules.
    """
    firsts, lasts = _name_pools(random_seed)
    local_parts = {name: _ascii_local_part(name) for name in {*firsts, *lasts}}
    rng = random.Random(random_seed)
    choice, random_number = rng.choice, rng.random
    today = date.today()
    year_start = _school_year_start(today)
    now = utcnow()
    # Days and dates repeat: made once each (a timedelta per row costs as much as a row).
    days = [timedelta(days=n) for n in range(365 * 20)]
    firsts_of_september = [date(year_start.year - n, 9, 1) for n in range(GRADE_MAX)]
    for serial in range(first_serial, first_serial + count):
        first, last = choice(firsts), choice(lasts)
        grade = GRADE_MIN + int(random_number() * (GRADE_MAX - GRADE_MIN + 1))
        # A grade-g student turns g + 5 during the school year, give or take a year.
        age = grade + 5 + (random_number() < 0.25)
        birthday = year_start - days[365 * age - 120 + int(random_number() * 361)]
        first_year = int(random_number() * grade)
        enrolled_on = firsts_of_september[first_year] + days[int(random_number() * 21)]
        enrolled_on = min(max(enrolled_on, birthday), today)
        email = None
        if random_number() < 0.9:
            local = ".".join(p for p in (local_parts[first], local_parts[last]) if p)
            email = f"{local or 'student'}.{serial}@example.org"
        yield {
            "name": f"{first} {last}",
            "email": email,
            "grade": grade,
            "birthday": birthday,
            "enrolled_on": enrolled_on,
            "created_at": now,
            "updated_at": now,
        }


def seed_students(
    count: int,
    *,
    random_seed: int | None = None,
    progress: Callable[[int], Any] | None = None,
    filler: HomeroomFiller | None = None,
    guardians: bool = True,
) -> int:
    """Insert ``count`` generated students in one transaction, each enrolled in the current
    school year (status enrolled, from the student's enrollment date), with guardians.

    About one student in four is the previous one's sibling: same surname, and the same
    guardians (:mod:`webapp.students.guardian_seeding`).

    Args:
        count: number of students to add.
        random_seed: seed for reproducible data.
        progress: called with the number of rows after each batch (a progress bar).
        filler: puts each student in a homeroom of the current year (and makes the
            homerooms and their teachers); none by default.
        guardians: also add the families' guardians, with phone numbers.

    Returns:
        The number of students added.
    """
    begin_write()
    year = current_year()
    next_id = (db.session.execute(select(func.max(Student.id))).scalar() or 0) + 1
    if db.session.get_bind().dialect.name == "sqlite":
        used = db.session.scalar(text("SELECT seq FROM sqlite_sequence WHERE name = 'students'"))
        next_id = max(next_id, (used or 0) + 1)
    rows = generate_students(count, first_serial=next_id, random_seed=random_seed)
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    stored = db.session.scalar(select(func.count()).select_from(Student)) or 0
    added_per_grade: Counter[int] = Counter()
    students: list[tuple[Any, ...]] = []
    enrollments: list[tuple[Any, ...]] = []
    # Random, never the --seed's: a second seed with the same --seed gets new sourced_ids.
    new_uuid = _uuid7_strings()
    enrolled, year_id = Status.ENROLLED.value, year.id
    families: list[tuple[str, list[int]]] = []
    rng = random.Random(random_seed)
    guardian_names = guardian_seeding.first_name_pools(random_seed) if guardians else ([], [])

    def flush() -> None:
        bulk_load.write_rows(_STUDENTS, STUDENT_COLUMNS, students)
        if filler:
            filler.write_pending()  # before the enrollments that refer to the homerooms
        bulk_load.write_rows(_ENROLLMENTS, ENROLLMENT_COLUMNS, enrollments)
        if guardians:
            guardian_seeding.seed_guardians(families, students[0][6], rng, guardian_names, new_uuid)
        if progress:
            progress(len(students))
        students.clear()
        enrollments.clear()
        families.clear()

    try:
        if sqlite:
            _search_triggers_set_aside()
        with (
            bulk_load.indexes_set_aside(
                ("students", "enrollments", *(guardian_seeding.TABLES if guardians else ())),
                when=count > stored,
            ),
            _counts_kept_in_one_statement(year_id, enrolled, added_per_grade),
        ):
            for student_id, row in enumerate(rows, start=next_id):
                if families and rng.random() < SIBLING_SHARE:
                    # A sibling of the previous student: the family's surname and guardians.
                    surname, children = families[-1]
                    row["name"] = f"{row['name'].split()[0]} {surname}"
                    children.append(student_id)
                else:
                    families.append((row["name"].split()[-1], [student_id]))
                grade = row["grade"]
                added_per_grade[grade] += 1
                students.append(
                    (
                        student_id,
                        next(new_uuid),
                        row["name"],
                        row["email"],
                        row["birthday"],
                        row["enrolled_on"],
                        row["created_at"],
                        row["updated_at"],
                    )
                )
                enrollments.append(
                    (
                        next(new_uuid),
                        student_id,
                        year_id,
                        grade,
                        enrolled,
                        row["enrolled_on"],
                        filler.homeroom_for(grade) if filler else None,
                        row["created_at"],
                        row["updated_at"],
                    )
                )
                if len(students) == BATCH_SIZE:
                    flush()
            if students:
                flush()
        if sqlite:
            _index_new_students(next_id)
        if db.session.get_bind().dialect.name == "postgresql":
            # Explicit ids leave the sequence behind: move it past them.
            db.session.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('students', 'id'),"
                    " (SELECT max(id) FROM students))"
                )
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return count


def _uuid7_strings() -> Iterator[str]:
    """Time-ordered UUIDs (version 7, RFC 9562) as text, from ``uuid_utils``.

    In (about) increasing order, a million new rows append to the unique ``sourced_id``
    indexes of ``students``, ``enrollments`` and ``guardians`` instead of landing at
    random places in them (random version-4 UUIDs cost about 3 s a table at that size on
    SQLite).
    """
    while True:
        yield str(uuid_utils.uuid7())


def _search_triggers_set_aside() -> None:
    """SQLite: drop the search index's triggers for the rest of this transaction.

    Indexing a million new rows in one statement (:func:`_index_new_students`) costs a
    third of what a trigger firing per row does. Only within the seeding transaction,
    which holds SQLite's write lock from its start (``BEGIN IMMEDIATE``): no other writer
    can run without the triggers, and a failed seed rolls the drop back with the rows.
    Also enlarges the page cache (:data:`SEED_CACHE_KIB`) for the bulk inserts.
    """
    db.session.execute(text(f"PRAGMA cache_size = -{SEED_CACHE_KIB}"))
    for name in SEARCH_TRIGGERS:
        db.session.execute(text(f"DROP TRIGGER {name}"))


@contextmanager
def _counts_kept_in_one_statement(
    year_id: int, status: str, added_per_grade: Counter[int]
) -> Iterator[None]:
    """SQLite: drop the triggers that keep ``enrollment_counts`` for the block, then add
    the block's enrollments to the counts (``added_per_grade``, filled by the caller) in
    one statement per grade, and create the triggers again from their own SQL.

    A row trigger's upsert per enrollment cost about 3 s a million rows. As with the
    search triggers, only inside the seeding transaction, which holds SQLite's write lock
    (no other writer runs meanwhile; a failed seed rolls the drop back). PostgreSQL keeps
    the counts per statement already (migration 0011), and nothing is done there.
    """
    if db.session.get_bind().dialect.name != "sqlite":
        yield
        return
    triggers = db.session.execute(
        text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
            " AND tbl_name = 'enrollments' AND name LIKE 'trg_enrollments_counts_%'"
        )
    ).all()
    for name, _ in triggers:
        db.session.execute(text(f'DROP TRIGGER "{name}"'))
    yield
    for grade, added in sorted(added_per_grade.items()):
        db.session.execute(
            text(
                "INSERT INTO enrollment_counts (school_year_id, grade, status, students)"
                " VALUES (:year, :grade, :status, :added)"
                " ON CONFLICT (school_year_id, grade, status)"
                " DO UPDATE SET students = students + excluded.students"
            ),
            {"year": year_id, "grade": grade, "status": status, "added": added},
        )
    for _, sql in triggers:
        db.session.execute(text(sql))


def _index_new_students(first_id: int) -> None:
    """SQLite: add the students from ``first_id`` on to the search index, in one
    statement, and create the triggers again (see :func:`_search_triggers_set_aside`)."""
    db.session.execute(
        text(
            "INSERT INTO students_fts (rowid, name, email)"
            " SELECT id, name, email FROM students WHERE id >= :first"
        ),
        {"first": first_id},
    )
    for sql in SQLITE_DDL[1:]:
        db.session.execute(text(sql))
    db.session.execute(text("PRAGMA cache_size = -2000"))
