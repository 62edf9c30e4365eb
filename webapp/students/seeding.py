"""Realistic demo students, generated with Faker and inserted in bulk."""

from __future__ import annotations

import random
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

from faker import Faker
from sqlalchemy import func, insert, select, text

from webapp.database import begin_write
from webapp.extensions import db
from webapp.models import Enrollment, Status, Student
from webapp.models.student import GRADE_MAX, GRADE_MIN
from webapp.models.types import utcnow
from webapp.students import guardian_seeding
from webapp.years.service import current_year

#: Rows per INSERT statement; large enough to amortise round trips, small enough to
#: keep memory flat.
BATCH_SIZE = 5_000
#: How often a demo student is the previous one's brother or sister.
SIBLING_SHARE = 0.25


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


def generate_students(
    count: int, *, first_serial: int = 1, random_seed: int | None = None
) -> Iterator[dict[str, Any]]:
    """Yield ``count`` rows of plausible student data, as dictionaries for ``insert()``.

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
    fake = Faker(["en_US", "en_GB", "es_ES", "fr_FR", "de_DE"])
    rng = random.Random(random_seed)
    if random_seed is not None:
        Faker.seed(random_seed)
    today = date.today()
    year_start = _school_year_start(today)
    now = utcnow()
    for serial in range(first_serial, first_serial + count):
        first, last = fake.first_name(), fake.last_name()
        grade = rng.randint(GRADE_MIN, GRADE_MAX)
        # A grade-g student turns g + 5 during the school year, give or take a year.
        age = grade + 5 + rng.choice((0, 0, 0, 1))
        birthday = year_start - timedelta(days=365 * age + rng.randint(-120, 240))
        first_year = rng.randint(0, grade - 1)
        enrolled_on = date(year_start.year - first_year, 9, 1) + timedelta(days=rng.randint(0, 20))
        enrolled_on = min(max(enrolled_on, birthday), today)
        email = None
        if rng.random() < 0.9:
            local = _ascii_local_part(f"{first}.{last}")
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
    students: list[dict[str, Any]] = []
    enrollments: list[dict[str, Any]] = []
    families: list[tuple[str, list[int]]] = []
    rng = random.Random(random_seed)
    fake = Faker(["en_US", "en_GB", "es_ES", "fr_FR", "de_DE"])

    def flush() -> None:
        db.session.execute(insert(Student), students)
        db.session.execute(insert(Enrollment), enrollments)
        if guardians:
            guardian_seeding.seed_guardians(families, students[0]["created_at"], rng, fake)
        if progress:
            progress(len(students))
        students.clear()
        enrollments.clear()
        families.clear()

    try:
        for student_id, row in enumerate(rows, start=next_id):
            if families and rng.random() < SIBLING_SHARE:
                # A sibling of the previous student: the family's surname and guardians.
                surname, children = families[-1]
                row["name"] = f"{row['name'].split()[0]} {surname}"
                children.append(student_id)
            else:
                families.append((row["name"].split()[-1], [student_id]))
            grade = row.pop("grade")
            students.append({**row, "id": student_id, "sourced_id": str(uuid.uuid4())})
            enrollments.append(
                {
                    "sourced_id": str(uuid.uuid4()),
                    "student_id": student_id,
                    "school_year_id": year.id,
                    "grade": grade,
                    "status": Status.ENROLLED.value,
                    "entered_on": row["enrolled_on"],
                    "created_at": row["created_at"],
                    "updated_at": row["updated_at"],
                }
            )
            if len(students) == BATCH_SIZE:
                flush()
        if students:
            flush()
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
