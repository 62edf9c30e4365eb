"""``flask students seed``: a demo district, generated (:mod:`webapp.students.seed_rows`)
and inserted in bulk (:mod:`webapp.students.bulk_load`) in one transaction.

A large seed is generated in a worker process while this one inserts
(:mod:`webapp.students.seed_worker`). On SQLite, what would be done per row is done once
per table instead: the search index's and the enrollment counts' triggers are dropped and
their work done in one statement each; secondary indexes are made after the load; CHECK
constraints are checked in one query per table after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from sqlalchemy import func, select, text

from webapp.database import SQLITE_CACHE_KIB, begin_write
from webapp.extensions import db
from webapp.homerooms.seeding import HomeroomFiller
from webapp.models import Guardian, Student
from webapp.models.search_index import SEARCH_TRIGGERS, SQLITE_DDL
from webapp.models.types import utcnow
from webapp.students import bulk_load, bulk_postgres, seed_search, seed_worker
from webapp.students.seed_rows import GUARDIAN_TABLES, DistrictRows, Rows, SeedPlan
from webapp.years.service import current_year

#: SQLite's page cache while seeding, in KiB (a negative ``cache_size``): the random
#: inserts into the UUID and name indexes of a million rows stay in memory.
SEED_CACHE_KIB = 256 * 1024
#: From how many students a seed is generated in a worker process (starting one costs
#: about a second).
WORKER_MIN_COUNT = 50_000


def generate_students(
    count: int, *, first_serial: int = 1, random_seed: int | None = None
) -> Iterator[dict[str, Any]]:
    """Yield ``count`` rows of plausible student data (the seed's), as dictionaries.

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
    plan = SeedPlan(count, first_serial, 1, 0, False, random_seed, date.today(), utcnow())
    for rows in DistrictRows(plan, None).batches():
        for student, enrollment in zip(rows["students"], rows["enrollments"], strict=True):
            _, _, name, email, birthday, enrolled_on, created_at, updated_at = student
            yield {
                "name": name,
                "email": email,
                "grade": enrollment[3],
                "birthday": birthday,
                "enrolled_on": enrolled_on,
                "created_at": created_at,
                "updated_at": updated_at,
            }


def _next_id(model: type[Student] | type[Guardian], table: str) -> int:
    """The next free id of ``model``'s table (on SQLite, past deleted rows' ids too)."""
    next_id = (db.session.scalar(select(func.max(model.id))) or 0) + 1
    if db.session.get_bind().dialect.name == "sqlite":
        used = db.session.scalar(
            text("SELECT seq FROM sqlite_sequence WHERE name = :table"), {"table": table}
        )
        next_id = max(next_id, (used or 0) + 1)
    return next_id


def seed_students(
    count: int,
    *,
    random_seed: int | None = None,
    progress: Callable[[int], Any] | None = None,
    filler: HomeroomFiller | None = None,
    guardians: bool = True,
    worker: bool | None = None,
) -> int:
    """Insert ``count`` generated students in one transaction, each enrolled in the current
    school year (status enrolled, from the student's enrollment date), with guardians.

    About one student in four is the previous one's sibling: same surname, and the same
    guardians (:mod:`webapp.students.seed_rows`).

    Args:
        count: number of students to add.
        random_seed: seed for reproducible names and dates.
        progress: called with the number of students after each batch (a progress bar).
        filler: puts each student in a homeroom of the current year (and makes the
            homerooms and their teachers; its ``homerooms`` counts those written); none by
            default.
        guardians: also add the families' guardians, with phone numbers.
        worker: generate in a worker process (:mod:`webapp.students.seed_worker`); by
            default from :data:`WORKER_MIN_COUNT` students.

    Returns:
        The number of students added.

    Raises:
        bulk_load.CheckViolation: a generated row breaks a CHECK constraint (SQLite);
            nothing is added.
    """
    # A first seed on SQLite writes through a rollback journal (bulk_load.rollback_journal),
    # if the session has no transaction open yet (the mode cannot change inside one).
    with bulk_load.rollback_journal("students", when=not db.session().in_transaction()):
        return _seed(count, random_seed, progress, filler, guardians, worker)


def _seed(
    count: int,
    random_seed: int | None,
    progress: Callable[[int], Any] | None,
    filler: HomeroomFiller | None,
    guardians: bool,
    worker: bool | None,
) -> int:
    """:func:`seed_students`, in one write transaction of the session."""
    begin_write()
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    year_id = current_year().id
    first_id = _next_id(Student, "students")
    plan = SeedPlan(
        count=count,
        first_student_id=first_id,
        first_guardian_id=_next_id(Guardian, "guardians") if guardians else 1,
        year_id=year_id,
        guardians=guardians,
        random_seed=random_seed,
        today=date.today(),
        now=utcnow(),
    )
    written = [
        name
        for name in seed_worker.WRITE_ORDER
        if (filler or name in ("students", "enrollments", *GUARDIAN_TABLES))
        and (guardians or name not in GUARDIAN_TABLES)
    ]
    in_worker = worker if worker is not None else count >= WORKER_MIN_COUNT
    stored = db.session.scalar(select(func.count()).select_from(Student)) or 0
    raw = db.session.connection().connection.driver_connection
    with ExitStack() as outer:
        # A first seed's search index is built by the worker, whole (seed_search).
        index = None
        if in_worker:
            if sqlite and stored == 0:
                index = Path(outer.enter_context(TemporaryDirectory())) / "search.db"
            driver = db.session.connection().engine.url.drivername
            feed = outer.enter_context(seed_worker.generated_in_worker(plan, filler, driver, index))
            batches: Iterable[Rows] = feed.batches()
        else:
            batches = DistrictRows(plan, filler, db.session.get_bind().dialect).batches()
        if index:
            outer.callback(seed_search.detach, raw)  # after the commit or rollback
        try:
            with ExitStack() as stack:
                loaded = ("students", "enrollments", *(GUARDIAN_TABLES if guardians else ()))
                stack.enter_context(bulk_load.indexes_set_aside(loaded, when=count > stored))
                stack.enter_context(
                    bulk_postgres.foreign_keys_set_aside(loaded, when=count > stored)
                )
                if sqlite:
                    _search_triggers_set_aside()
                    stack.enter_context(_counts_kept_in_one_statement(year_id))
                    stack.enter_context(
                        bulk_load.checks_set_aside([seed_worker.table(name) for name in written])
                    )
                _write_batches(batches, filler, progress)
            if sqlite:
                if index:
                    feed.wait_for_index()
                _index_new_students(raw, first_id, index)
            else:
                _move_sequences_past(written)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    return count


def _write_batches(
    batches: Iterable[Rows], filler: HomeroomFiller | None, progress: Callable[[int], Any] | None
) -> None:
    """Insert each batch (rows per table, ready for the driver) through the driver."""
    statistics = bulk_postgres.GrowingStatistics(db.session.get_bind().dialect.name)
    for rows in batches:
        for name, columns in seed_worker.WRITE_ORDER.items():
            if rows.get(name):
                bulk_load.write_rows(seed_worker.table(name), columns, rows[name], ready=True)
                statistics.wrote(name, len(rows[name]))
        if filler:
            filler.homerooms += len(rows.get("homerooms", ()))
        if progress:
            progress(len(rows["students"]))


def _move_sequences_past(tables: list[str]) -> None:
    """PostgreSQL: explicit ids leave the tables' id sequences behind; move them past."""
    for name in tables:
        if "id" in seed_worker.WRITE_ORDER[name]:
            db.session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'),"
                    f" (SELECT max(id) FROM {name}))"
                )
            )


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
def _counts_kept_in_one_statement(year_id: int) -> Iterator[None]:
    """SQLite: drop the triggers that keep ``enrollment_counts`` for the block, then add
    the block's new enrollments of the year ``year_id`` to the counts in one statement,
    and create the triggers again from their own SQL.

    A row trigger's upsert per enrollment cost about 3 s a million rows. As with the
    search triggers, only inside the seeding transaction, which holds SQLite's write lock
    (no other writer runs meanwhile; a failed seed rolls the drop back). PostgreSQL keeps
    the counts per statement already (migration 0011).
    """
    triggers = db.session.execute(
        text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
            " AND tbl_name = 'enrollments' AND name LIKE 'trg_enrollments_counts_%'"
        )
    ).all()
    for name, _ in triggers:
        db.session.execute(text(f'DROP TRIGGER "{name}"'))
    before = db.session.scalar(text("SELECT max(id) FROM enrollments")) or 0
    yield
    db.session.execute(
        text(
            "INSERT INTO enrollment_counts (school_year_id, grade, status, students)"
            " SELECT school_year_id, grade, status, count(*) FROM enrollments"
            " WHERE id > :before AND school_year_id = :year GROUP BY grade, status"
            " ON CONFLICT (school_year_id, grade, status)"
            " DO UPDATE SET students = students + excluded.students"
        ),
        {"before": before, "year": year_id},
    )
    for _, sql in triggers:
        db.session.execute(text(sql))


def _index_new_students(raw: Any, first_id: int, index: Path | None) -> None:
    """SQLite: add the students from ``first_id`` on to the search index, in one
    statement (:func:`webapp.students.seed_search.fill`), or copy the index the worker
    built of them all (``index``, :func:`webapp.students.seed_search.copy_index`); then
    create the triggers again (see :func:`_search_triggers_set_aside`)."""
    if index:
        seed_search.copy_index(raw, index)
    else:
        seed_search.fill(raw, "SELECT id, name, email FROM students WHERE id >= ?", (first_id,))
    for sql in SQLITE_DDL[1:]:
        db.session.execute(text(sql))
    db.session.execute(text(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}"))
