"""Generated data for the scale benchmark: tutorial-made rosters and an audit trail.

Rows come from fixed name lists (Faker's person providers, read once as plain lists, not
a ``Faker`` call a row: 1,000,000 rows take seconds) and ``random.Random`` with a fixed
seed, so every build with the same :data:`GENERATOR_VERSION` makes the same data.

* :func:`tutorial_rows` yields rows of the SQLAlchemy tutorial's ``students`` table (the
  seed article's model, ``tests/tutorial_db.py``): ``enrolled_date`` is one timestamp for
  every row, as the tutorial's ``default=datetime.now()`` (evaluated once) leaves it.
* :func:`audit_rows` yields audit events across the given students and accounts, ids and
  times increasing together; a few "busy" students get many events each.

Writers: :func:`fill_sqlite_tutorial` and :func:`append_sqlite_events` (``executemany``,
journal off while building), :func:`fill_postgres_tutorial` and
:func:`append_postgres_events` (``COPY``).
"""

from __future__ import annotations

import json
import random
import sqlite3
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import create_engine

from tests import tutorial_db

#: Bump when the generated data changes: cached databases under ``bench/out/`` are keyed
#: by it (and by the migrations), so a new version builds them anew.
GENERATOR_VERSION = 1

#: Surnames the benchmark's search URLs look for, added to the lists so they match rows.
EXTRA_SURNAMES = ("Hopper", "Lovelace", "Turing", "Noether", "Curie", "Hamilton")


def _ascii(text: str) -> str:
    """``"Zoé O'Neil"`` -> ``"zoeoneil"``: lower-case ASCII letters and digits only."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum())


def _name_lists() -> tuple[list[str], list[str]]:
    """First names and surnames of Faker's en_US, en_GB, es_ES, fr_FR and de_DE people."""
    from faker.providers.person import de_DE, en_GB, en_US, es_ES, fr_FR

    firsts: dict[str, None] = {}
    lasts: dict[str, None] = {}
    for module in (en_US, en_GB, es_ES, fr_FR, de_DE):
        provider = module.Provider
        for attribute, target in (("first_names", firsts), ("last_names", lasts)):
            for name in getattr(provider, attribute):
                target.setdefault(name, None)
    for name in EXTRA_SURNAMES:
        lasts.setdefault(name, None)
    return list(firsts), list(lasts)


@dataclass(frozen=True)
class TutorialRow:
    """One row of the tutorial's table (its columns but ``id``, which the database gives)."""

    name: str
    email: str
    grade: int
    birthday: datetime
    enrolled_date: datetime


def tutorial_rows(count: int, *, seed: int = 14) -> Iterator[TutorialRow]:
    """Yield ``count`` plausible students for the tutorial's table.

    Args:
        count: rows to yield.
        seed: random seed; the same seed gives the same rows.

    Yields:
        Rows whose emails are unique (a serial number in each), whose grade agrees with
        the birthday (a grade-g student is g + 5 or g + 6), and whose ``enrolled_date``
        is one fixed timestamp, as the tutorial's once-evaluated default leaves it.
    """
    rng = random.Random(seed)
    firsts, lasts = _name_lists()
    first_keys = [_ascii(name) or "student" for name in firsts]
    last_keys = [_ascii(name) or "student" for name in lasts]
    enrolled = datetime(2026, 9, 1, 8, 30, 12, 345678)  # "datetime.now()" at the import
    year_start = date(2026, 9, 1)
    for serial in range(1, count + 1):
        f = rng.randrange(len(firsts))
        last = rng.randrange(len(lasts))
        grade = rng.randint(1, 12)
        age_days = 365 * (grade + 5 + (rng.random() < 0.25)) + rng.randint(-120, 240)
        born = year_start - timedelta(days=age_days)
        yield TutorialRow(
            name=f"{firsts[f]} {lasts[last]}",
            email=f"{first_keys[f]}.{last_keys[last]}.{serial}@example.org",
            grade=grade,
            birthday=datetime(born.year, born.month, born.day),
            enrolled_date=enrolled,
        )


def _batches(rows: Iterable[tuple], size: int = 50_000) -> Iterator[list[tuple]]:
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _sqlite_datetime(value: datetime) -> str:
    """A ``datetime`` as SQLAlchemy's SQLite ``DateTime`` stores it."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def create_tutorial_schema(target: Path | str) -> None:
    """Create the tutorial's empty ``students`` table with its own ``create_all``.

    Args:
        target: a SQLite file's path, or a PostgreSQL SQLAlchemy URL.
    """
    engine = create_engine(target if isinstance(target, str) else f"sqlite:///{target}")
    try:
        tutorial_db.Student.metadata.create_all(engine)
    finally:
        engine.dispose()


def fill_sqlite_tutorial(path: Path, count: int) -> None:
    """Make a tutorial ``students.db`` at ``path`` holding ``count`` generated students.

    The table comes from the tutorial's model; the rows go in with raw ``executemany``
    (what the tutorial's ``add_all`` would store, far faster).
    """
    path.unlink(missing_ok=True)
    create_tutorial_schema(path)
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA journal_mode=OFF")
        connection.execute("PRAGMA synchronous=OFF")
        rows = (
            (
                row.name,
                row.email,
                row.grade,
                _sqlite_datetime(row.birthday),
                _sqlite_datetime(row.enrolled_date),
            )
            for row in tutorial_rows(count)
        )
        for batch in _batches(rows):
            connection.executemany(
                "INSERT INTO students (name, email, grade, birthday, enrolled_date) "
                "VALUES (?, ?, ?, ?, ?)",
                batch,
            )
        connection.commit()
        connection.execute("PRAGMA journal_mode=DELETE")  # as the tutorial leaves it
    finally:
        connection.close()


def fill_postgres_tutorial(sqlalchemy_url: str, libpq_url: str, count: int) -> None:
    """Make the tutorial's table in an empty PostgreSQL database and COPY ``count`` rows in.

    Args:
        sqlalchemy_url: the database's SQLAlchemy URL (for the tutorial's ``create_all``).
        libpq_url: the same database's plain ``postgresql://`` URL (for ``psycopg``).
        count: students to add.
    """
    create_tutorial_schema(sqlalchemy_url)
    with (
        psycopg.connect(libpq_url) as connection,
        connection.cursor().copy(
            "COPY students (name, email, grade, birthday, enrolled_date) FROM STDIN"
        ) as copy,
    ):
        for row in tutorial_rows(count):
            copy.write_row((row.name, row.email, row.grade, row.birthday, row.enrolled_date))


# --- the audit trail ------------------------------------------------------------------------

#: Actions and how often each happens, out of 100.
ACTION_WEIGHTS = {"update": 80, "create": 8, "revert": 5, "delete": 4, "restore": 3}
#: Students with many events each (their history is the "busy" history page).
BUSY_STUDENTS = 10
BUSY_EVENTS = 1_000
#: The trail covers this many days, ending on :data:`TRAIL_END`.
TRAIL_DAYS = 3 * 365
TRAIL_END = datetime(2026, 11, 30, 17, 0, 0)
#: Audit columns written, in order (the model's, less ``id``).
AUDIT_COLUMNS = (
    "occurred_at",
    "user_id",
    "actor",
    "action",
    "student_id",
    "student_name",
    "changes",
    "reverts_id",
    "note",
    "entity",
    "entity_id",
)


@dataclass(frozen=True)
class TrailPlan:
    """What :func:`audit_rows` makes, for the URLs that look at it.

    Attributes:
        busy_ids: students with :data:`BUSY_EVENTS` events each (or fewer in small runs).
        first_day: the day of the oldest event.
        last_day: the day of the newest event.
    """

    busy_ids: list[int]
    first_day: date
    last_day: date


def _busy_positions(students: int) -> list[int]:
    """Positions (in id order) of the busy students among ``students`` students."""
    step = max(students // (BUSY_STUDENTS + 1), 1)
    return sorted({i * step for i in range(1, BUSY_STUDENTS + 1) if i * step < students})


def plan_trail(student_ids: Sequence[int]) -> TrailPlan:
    """The busy students and the date range of a trail over ``student_ids`` (in id order)."""
    busy = [student_ids[position] for position in _busy_positions(len(student_ids))]
    return TrailPlan(busy, (TRAIL_END - timedelta(days=TRAIL_DAYS)).date(), TRAIL_END.date())


def audit_rows(
    count: int,
    students: Sequence[tuple[int, str]],
    accounts: Sequence[tuple[int, str]],
    *,
    first_id: int = 1,
    seed: int = 15,
) -> Iterator[tuple]:
    """Yield ``count`` audit events as tuples in the order of :data:`AUDIT_COLUMNS`.

    Args:
        count: events to yield.
        students: ``(id, name)`` of the students the events are about.
        accounts: ``(id, email)`` of the accounts that made them; a tenth of the events
            come from the command line (no account, a note naming an import file).
        first_id: the id the first event will get (for ``reverts_id``).
        seed: random seed.

    Yields:
        ``(occurred_at, user_id, actor, action, student_id, student_name, changes,
        reverts_id, note, entity, entity_id)``, every event about a student;
        ``occurred_at`` a naive UTC ``datetime`` increasing with the id, ``changes`` JSON
        text as the app writes it (``{field: [old, new]}``).
    """
    rng = random.Random(seed)
    busy = [students[position] for position in _busy_positions(len(students))]
    busy_share = min(len(busy) * BUSY_EVENTS / max(count, 1), 0.5)
    actions = [action for action, weight in ACTION_WEIGHTS.items() for _ in range(weight)]
    fields = ("grade", "grade", "grade", "email", "name", "birthday")
    last_event: dict[int, int] = {}
    start = TRAIL_END - timedelta(days=TRAIL_DAYS)
    step = timedelta(days=TRAIL_DAYS) / max(count, 1)
    random_number, choice, randint = rng.random, rng.choice, rng.randint
    for number in range(count):
        event_id = first_id + number
        student_id, name = choice(busy) if random_number() < busy_share else choice(students)
        action = choice(actions)
        grade = randint(1, 12)
        # JSON text built directly: json.dumps of a dict a row would double the time.
        quoted = json.dumps(name)
        email = f'"student{student_id}@example.org"'
        birthday = f'"{2026 - grade - 6}-0{randint(1, 9)}-1{randint(0, 9)}"'
        if action in ("create", "restore", "delete"):
            values = (quoted, email, str(grade), birthday, '"2026-09-01"')
            pairs = (f"[null, {v}]" if action != "delete" else f"[{v}, null]" for v in values)
            keys = ("name", "email", "grade", "birthday", "enrolled_on")
            changes = "{" + ", ".join(f'"{k}": {p}' for k, p in zip(keys, pairs, strict=True)) + "}"
        else:
            changed = choice(fields)
            if changed == "grade":
                pair = f"[{grade}, {min(grade + 1, 12)}]"
            elif changed == "email":
                pair = f'[{email}, "student{student_id}@mail.example.org"]'
            elif changed == "name":
                pair = f"[{quoted}, {json.dumps(name.upper())}]"
            else:
                pair = f'[{birthday}, "{2026 - grade - 5}-05-05"]'
            changes = f'{{"{changed}": {pair}}}'
        reverts = last_event.get(student_id) if action in ("revert", "restore") else None
        if random_number() < 0.1:
            user_id, actor = None, "command line"
            note = f"import roster-{randint(1, 40)}.csv, line {randint(2, 5000)}"
        else:
            user_id, actor = accounts[int(random_number() ** 2 * len(accounts))]
            note = None
        yield (
            start + step * number,
            user_id,
            actor,
            action,
            student_id,
            name,
            changes,
            reverts,
            note,
            "student",
            student_id,
        )
        last_event[student_id] = event_id


def read_sqlite_students(path: Path) -> list[tuple[int, str]]:
    """``(id, name)`` of every student in the SQLite database at ``path``, by id."""
    connection = sqlite3.connect(path)
    try:
        return connection.execute("SELECT id, name FROM students ORDER BY id").fetchall()
    finally:
        connection.close()


def append_sqlite_events(
    path: Path, count: int, accounts: Sequence[tuple[int, str]], *, seed: int = 15
) -> TrailPlan:
    """Add ``count`` generated audit events to the migrated SQLite database at ``path``.

    The table's indexes are dropped during the insert and created again after it (one
    sort each instead of 10,000,000 random B-tree inserts); journal and sync are off
    meanwhile, and the database is left in WAL mode as the app sets it.

    Returns:
        The trail's plan (busy students, date range).
    """
    students = read_sqlite_students(path)
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=OFF")
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-1000000")  # 1 GB of page cache, in KiB
        indexes = [
            (name, sql)
            for name, sql in connection.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name = 'audit_events' AND sql IS NOT NULL"
            )
        ]
        connection.execute("BEGIN")
        for name, _ in indexes:
            connection.execute(f'DROP INDEX "{name}"')
        first_id = (connection.execute("SELECT max(id) FROM audit_events").fetchone()[0] or 0) + 1
        placeholders = ", ".join("?" for _ in AUDIT_COLUMNS)
        statement = f"INSERT INTO audit_events ({', '.join(AUDIT_COLUMNS)}) VALUES ({placeholders})"
        rows = audit_rows(count, students, accounts, first_id=first_id, seed=seed)
        for batch in _batches((_sqlite_datetime(row[0]), *row[1:]) for row in rows):
            connection.executemany(statement, batch)
        for _, sql in indexes:
            connection.execute(sql)
        connection.execute("COMMIT")
        connection.execute("ANALYZE")
        connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()
    return plan_trail([student_id for student_id, _ in students])


def append_postgres_events(
    libpq_url: str, count: int, accounts: Sequence[tuple[int, str]], *, seed: int = 15
) -> TrailPlan:
    """Add ``count`` generated audit events to the migrated PostgreSQL database by COPY.

    Secondary indexes are dropped before the COPY and created again after it, from their
    own definitions (``pg_indexes``); the id sequence is moved past the new ids.

    Returns:
        The trail's plan (busy students, date range).
    """
    with psycopg.connect(libpq_url) as connection:
        students = connection.execute("SELECT id, name FROM students ORDER BY id").fetchall()
        indexes = connection.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "WHERE i.tablename = 'audit_events' AND i.indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid = 'audit_events'::regclass)"
        ).fetchall()
        for name, _ in indexes:
            connection.execute(f'DROP INDEX "{name}"')
        first_id = connection.execute(
            "SELECT coalesce(max(id), 0) + 1 FROM audit_events"
        ).fetchone()[0]
        columns = ", ".join(("id", *AUDIT_COLUMNS))
        with connection.cursor().copy(f"COPY audit_events ({columns}) FROM STDIN") as copy:
            rows = audit_rows(count, students, accounts, first_id=first_id, seed=seed)
            for number, row in enumerate(rows):
                copy.write_row((first_id + number, *row))
        for _, definition in indexes:
            connection.execute(definition)
        connection.execute(
            "SELECT setval(pg_get_serial_sequence('audit_events', 'id'), "
            "(SELECT max(id) FROM audit_events))"
        )
        connection.commit()
    with psycopg.connect(libpq_url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    return plan_trail([student_id for student_id, _ in students])
