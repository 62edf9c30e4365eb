"""School years, enrollments per year, rollovers, and an audit trail for every kind of record.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30

Upgrade, schema:

* ``school_years`` (name, first and last day, ``is_current``; at most one current, by a
  partial unique index), ``enrollments`` (one per student and year: grade, status, status
  date, withdrawal reason, destination school, the day it began), ``rollovers`` and
  ``audit_batches`` (a year-end rollover and the batch its audit events share), and
  ``enrollment_counts`` (enrollments per year, grade and status), kept in step by
  triggers on ``enrollments``: row triggers on SQLite, statement triggers over the
  transition tables on PostgreSQL (see ``POSTGRESQL_FUNCTIONS``).
* ``students`` gains ``sourced_id`` (a UUID, unique) and loses ``grade``, its CHECK and its
  index: the grade is per school year now.
* ``audit_events`` gains ``entity`` and ``entity_id`` (what kind of record, and which)
  and ``batch_id``; ``student_id`` and ``student_name`` may be NULL (an event about a
  school year concerns no student).

Upgrade, to existing rows:

* One school year is created, current, covering today: 1 September to 31 August, named
  like "2026–27".
* Each student gets an enrollment in that year with the student's grade, status
  ``enrolled``, begun on the student's enrollment date; and a random ``sourced_id``, as
  does each enrollment and the year.
* Every existing audit event is about a student: ``entity`` is ``student`` and
  ``entity_id`` the student's id.
* ``enrollment_counts`` is filled from the enrollments. Every row is kept.

On SQLite, ``students`` and ``audit_events`` are rebuilt (batch mode). ``students``'
functional email index, which SQLite's reflection cannot see, is dropped before and made
again after (as in 0008). ``audit_events.reverts_id`` refers to ``audit_events`` itself,
and the old table's implicit ``DELETE`` on ``DROP`` would break those references in the
new one, so they are set aside in a temporary table and written back. The grades are set
aside the same way while ``students`` is rebuilt, and the enrollments are made after it:
``enrollments.student_id`` cascades deletes, so dropping the old ``students`` table with
enrollments present would delete them. **A later revision that rebuilds ``students`` on
SQLite must set the enrollments aside the same way.**

Downgrade: each student's grade comes back from the enrollment in the current year, or
else in the latest year the student has one; the grades, statuses and years of other
years are lost, and so are the rollovers and the audit events of enrollments and years.
The audit events of deleted students get their grade back in their ``changes``, so a
restore still works. ``sourced_id`` is dropped. A student without any enrollment would
have no grade: the downgrade stops naming them. ``grade`` goes back to its place among
the columns (on PostgreSQL by moving the columns after it to the end, values kept).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

EMAIL_INDEX = "uq_students_email_lower"
STATUSES = "'enrolled', 'withdrawn', 'graduated', 'transferred'"
#: The CHECK on ``audit_events.entity`` at this revision.
ENTITIES = "'student', 'enrollment', 'school_year'"
#: The column order of ``students`` before this revision (the downgrade restores it).
STUDENT_COLUMNS_BEFORE = (
    "id",
    "name",
    "email",
    "grade",
    "birthday",
    "enrolled_on",
    "created_at",
    "updated_at",
    "version",
)

#: A random version-4 UUID per row, as text, in SQL (PostgreSQL 13+ has it built in).
UUID_SQL = {
    "postgresql": "gen_random_uuid()::text",
    "sqlite": (
        "lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4'"
        " || substr(hex(randomblob(2)), 2) || '-'"
        " || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2)"
        " || '-' || hex(randomblob(6)))"
    ),
}
#: SQLite: the same UUID formatted from ``h``, 32 random hex digits (one ``randomblob`` a
#: row instead of five: 1.6 s for 1,000,000 rows became 0.3 s).
_SQLITE_UUID_FROM_HEX = (
    "substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-'"
    " || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(h, 18, 3)"
    " || '-' || substr(h, 21, 12)"
)

#: The triggers that keep ``enrollment_counts`` in step, per dialect: (name, SQL) pairs.
_SQLITE_ADD = (
    "INSERT INTO enrollment_counts (school_year_id, grade, status, students)"
    " VALUES (NEW.school_year_id, NEW.grade, NEW.status, 1)"
    " ON CONFLICT (school_year_id, grade, status) DO UPDATE SET students = students + 1;"
)
_SQLITE_SUBTRACT = (
    "UPDATE enrollment_counts SET students = students - 1"
    " WHERE school_year_id = OLD.school_year_id AND grade = OLD.grade AND status = OLD.status;"
)
SQLITE_TRIGGERS = (
    (
        "trg_enrollments_counts_insert",
        f"CREATE TRIGGER trg_enrollments_counts_insert AFTER INSERT ON enrollments"
        f" BEGIN {_SQLITE_ADD} END",
    ),
    (
        "trg_enrollments_counts_delete",
        f"CREATE TRIGGER trg_enrollments_counts_delete AFTER DELETE ON enrollments"
        f" BEGIN {_SQLITE_SUBTRACT} END",
    ),
    (
        "trg_enrollments_counts_update",
        "CREATE TRIGGER trg_enrollments_counts_update"
        " AFTER UPDATE OF school_year_id, grade, status ON enrollments"
        " WHEN OLD.school_year_id IS NOT NEW.school_year_id OR OLD.grade IS NOT NEW.grade"
        " OR OLD.status IS NOT NEW.status"
        f" BEGIN {_SQLITE_SUBTRACT} {_SQLITE_ADD} END",
    ),
)
#: On PostgreSQL the counts are kept per statement, from its transition tables: a row
#: trigger would update the same few counter rows once per enrollment, and within one
#: transaction each such update leaves a row version the next one must step over, so a
#: rollover of 100,000 students slowed to minutes. One grouped update per statement does
#: not (PostgreSQL 10+; a trigger with transition tables cannot list columns, so every
#: UPDATE fires it, and it counts only the rows whose year, grade or status changed).
_PG_SUBTRACT = """
    UPDATE enrollment_counts c SET students = c.students - o.n
      FROM ({old}) o
     WHERE c.school_year_id = o.school_year_id AND c.grade = o.grade AND c.status = o.status;
"""
_PG_ADD = """
    INSERT INTO enrollment_counts (school_year_id, grade, status, students)
    {new}
    ON CONFLICT (school_year_id, grade, status)
    DO UPDATE SET students = enrollment_counts.students + EXCLUDED.students;
"""
_PG_GROUPED = "SELECT school_year_id, grade, status, count(*) AS n FROM {rows} GROUP BY 1, 2, 3"
_PG_CHANGED = (
    "SELECT {side}.school_year_id, {side}.grade, {side}.status, count(*) AS n"
    " FROM old_rows o JOIN new_rows n ON n.id = o.id"
    " WHERE (o.school_year_id, o.grade, o.status)"
    " IS DISTINCT FROM (n.school_year_id, n.grade, n.status) GROUP BY 1, 2, 3"
)
POSTGRESQL_FUNCTIONS = {
    "enrollment_counts_inserted": _PG_ADD.format(new=_PG_GROUPED.format(rows="new_rows")),
    "enrollment_counts_deleted": _PG_SUBTRACT.format(old=_PG_GROUPED.format(rows="old_rows")),
    "enrollment_counts_updated": _PG_SUBTRACT.format(old=_PG_CHANGED.format(side="o"))
    + _PG_ADD.format(new=_PG_CHANGED.format(side="n")),
}
POSTGRESQL_TRIGGERS = (
    (
        "trg_enrollments_counts_insert",
        "CREATE TRIGGER trg_enrollments_counts_insert AFTER INSERT ON enrollments"
        " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
        " EXECUTE FUNCTION enrollment_counts_inserted()",
    ),
    (
        "trg_enrollments_counts_delete",
        "CREATE TRIGGER trg_enrollments_counts_delete AFTER DELETE ON enrollments"
        " REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT"
        " EXECUTE FUNCTION enrollment_counts_deleted()",
    ),
    (
        "trg_enrollments_counts_update",
        "CREATE TRIGGER trg_enrollments_counts_update AFTER UPDATE ON enrollments"
        " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT"
        " EXECUTE FUNCTION enrollment_counts_updated()",
    ),
)


def _postgresql_function(name: str, body: str) -> str:
    """The SQL that creates the PL/pgSQL trigger function ``name`` running ``body``."""
    return (
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        f"{body}\n    RETURN NULL;\nEND\n$$"
    )


def _dialect() -> str:
    return op.get_context().dialect.name


def current_year_span(today: date) -> tuple[str, date, date]:
    """The school year covering ``today``: 1 September to 31 August, and its name.

    Returns:
        ``("2026–27", date(2026, 9, 1), date(2027, 8, 31))`` for a day in that span.
    """
    first = today.year if today.month >= 9 else today.year - 1
    return f"{first}–{(first + 1) % 100:02d}", date(first, 9, 1), date(first + 1, 8, 31)


def _sqlite_grades_and_uuids_set_aside() -> None:
    """On SQLite, keep each student's grade, and random UUIDs in the students' id order.

    Fills two temporary tables: ``_grades (n, id, grade)``, the students numbered 1, 2, ...
    in id order, and ``_uuids (n, uuid)``, as many random version-4 UUIDs numbered in
    their own sort order. Joined on ``n``, the n-th student (and the n-th enrollment) gets
    the n-th smallest UUID: the values are as random as before, but a table filled or
    copied in id order (this revision, and 0013's rebuild of ``enrollments``) appends to
    its unique index on ``sourced_id`` instead of inserting 1,000,000 keys at random
    places in it (3.5 s a table at that size). The ids are sequential already, so the
    UUIDs' order tells nothing the ids do not.
    """
    op.execute(
        "CREATE TEMPORARY TABLE _grades (n INTEGER PRIMARY KEY, id INTEGER NOT NULL, grade INTEGER)"
    )
    op.execute("INSERT INTO _grades (id, grade) SELECT id, grade FROM students ORDER BY id")
    op.execute("CREATE TEMPORARY TABLE _uuids (n INTEGER PRIMARY KEY, uuid VARCHAR(36) NOT NULL)")
    op.execute(
        "INSERT INTO _uuids (uuid)"
        " WITH r AS MATERIALIZED (SELECT lower(hex(randomblob(16))) AS h FROM _grades)"
        f" SELECT {_SQLITE_UUID_FROM_HEX} AS uuid FROM r ORDER BY uuid"
    )


@contextmanager
def _email_index_set_aside() -> Iterator[None]:
    """On SQLite, drop ``students``' functional email index around a rebuild (see 0003)."""
    if _dialect() != "sqlite":
        yield
        return
    op.drop_index(EMAIL_INDEX, table_name="students")
    yield
    op.create_index(EMAIL_INDEX, "students", [sa.text("lower(email)")], unique=True)


@contextmanager
def _audit_reverts_set_aside() -> Iterator[None]:
    """On SQLite, keep ``audit_events.reverts_id`` across a rebuild of the table."""
    if _dialect() != "sqlite":
        yield
        return
    op.execute(
        "CREATE TEMPORARY TABLE _saved_reverts AS"
        " SELECT id, reverts_id FROM audit_events WHERE reverts_id IS NOT NULL"
    )
    op.execute("UPDATE audit_events SET reverts_id = NULL WHERE reverts_id IS NOT NULL")
    yield
    op.execute(
        "UPDATE audit_events SET reverts_id ="
        " (SELECT s.reverts_id FROM _saved_reverts s WHERE s.id = audit_events.id)"
        " WHERE id IN (SELECT id FROM _saved_reverts)"
    )
    op.execute("DROP TABLE _saved_reverts")


def _timestamps() -> list[sa.Column[datetime]]:
    return [
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    ]


#: ``enrollments``' foreign keys: (name, column, referred table, ON DELETE).
ENROLLMENT_FOREIGN_KEYS = (
    ("fk_enrollments_rollover_id_rollovers", "rollover_id", "rollovers", "SET NULL"),
    ("fk_enrollments_school_year_id_school_years", "school_year_id", "school_years", None),
    ("fk_enrollments_student_id_students", "student_id", "students", "CASCADE"),
)
#: ``enrollments``' unique constraints: (name, columns).
ENROLLMENT_UNIQUES = (
    ("uq_enrollments_sourced_id", ["sourced_id"]),
    ("uq_enrollments_student_id_school_year_id", ["student_id", "school_year_id"]),
)


def _enrollment_links() -> list[sa.Constraint]:
    """The foreign keys and unique constraints of ``enrollments``, for its CREATE TABLE."""
    return [
        *(
            sa.ForeignKeyConstraint([column], [f"{table}.id"], name=op.f(name), ondelete=ondelete)
            for name, column, table, ondelete in ENROLLMENT_FOREIGN_KEYS
        ),
        *(sa.UniqueConstraint(*columns, name=op.f(name)) for name, columns in ENROLLMENT_UNIQUES),
    ]


def _add_enrollment_links() -> None:
    """Add the constraints of :func:`_enrollment_links` to the filled table (PostgreSQL)."""
    for name, column, table, ondelete in ENROLLMENT_FOREIGN_KEYS:
        op.create_foreign_key(op.f(name), "enrollments", table, [column], ["id"], ondelete=ondelete)
    for name, columns in ENROLLMENT_UNIQUES:
        op.create_unique_constraint(op.f(name), "enrollments", columns)


def upgrade() -> None:
    """Create the year tables, move each grade into an enrollment, generalise the trail."""
    dialect = _dialect()
    postgresql = dialect == "postgresql"
    new_uuid = UUID_SQL[dialect]
    now = datetime.now(UTC).replace(tzinfo=None)

    # School years, with the one covering today.
    op.create_table(
        "school_years",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sourced_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("is_current", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        *_timestamps(),
        sa.CheckConstraint("ends_on > starts_on", name=op.f("ck_school_years_ends_after_start")),
        sa.CheckConstraint(
            "length(trim(name)) >= 1 AND length(name) <= 40",
            name=op.f("ck_school_years_name_length"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_school_years")),
        sa.UniqueConstraint("name", name=op.f("uq_school_years_name")),
        sa.UniqueConstraint("sourced_id", name=op.f("uq_school_years_sourced_id")),
    )
    op.create_index(
        "uq_school_years_current",
        "school_years",
        ["is_current"],
        unique=True,
        sqlite_where=sa.text("is_current"),
        postgresql_where=sa.text("is_current"),
    )
    name, starts_on, ends_on = current_year_span(date.today())
    years = sa.table(
        "school_years",
        sa.column("sourced_id", sa.String()),
        sa.column("name", sa.String()),
        sa.column("starts_on", sa.Date()),
        sa.column("ends_on", sa.Date()),
        sa.column("is_current", sa.Boolean()),
        sa.column("version", sa.Integer()),
        sa.column("created_at", sa.DateTime()),
        sa.column("updated_at", sa.DateTime()),
    )
    op.bulk_insert(
        years,
        [
            {
                "sourced_id": str(uuid.uuid4()),
                "name": name,
                "starts_on": starts_on,
                "ends_on": ends_on,
                "is_current": True,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        ],
    )

    op.create_table(
        "audit_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_audit_batches_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_batches")),
    )
    op.create_index(op.f("ix_audit_batches_user_id"), "audit_batches", ["user_id"])

    op.create_table(
        "rollovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_year_id", sa.Integer(), nullable=False),
        sa.Column("to_year_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("undo_batch_id", sa.Integer(), nullable=True),
        sa.Column("made_current", sa.Boolean(), nullable=False),
        sa.Column("promoted", sa.Integer(), nullable=False),
        sa.Column("held_back", sa.Integer(), nullable=False),
        sa.Column("graduated", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["audit_batches.id"], name=op.f("fk_rollovers_batch_id_audit_batches")
        ),
        sa.ForeignKeyConstraint(
            ["from_year_id"],
            ["school_years.id"],
            name=op.f("fk_rollovers_from_year_id_school_years"),
        ),
        sa.ForeignKeyConstraint(
            ["to_year_id"], ["school_years.id"], name=op.f("fk_rollovers_to_year_id_school_years")
        ),
        sa.ForeignKeyConstraint(
            ["undo_batch_id"],
            ["audit_batches.id"],
            name=op.f("fk_rollovers_undo_batch_id_audit_batches"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollovers")),
        sa.UniqueConstraint("batch_id", name=op.f("uq_rollovers_batch_id")),
    )
    op.create_index(
        "uq_rollovers_from_year_in_force",
        "rollovers",
        ["from_year_id"],
        unique=True,
        sqlite_where=sa.text("undo_batch_id IS NULL"),
        postgresql_where=sa.text("undo_batch_id IS NULL"),
    )

    # Students: set the grades aside, drop the column, add sourced_id.
    sqlite = dialect == "sqlite" and not op.get_context().as_sql
    if sqlite:
        _sqlite_grades_and_uuids_set_aside()
    else:
        op.execute("CREATE TEMPORARY TABLE _grades AS SELECT id, grade FROM students")
    if dialect == "postgresql":
        # A volatile default makes PostgreSQL rewrite the table once, a new UUID a row;
        # an UPDATE of every row took 100 s at 1,000,000 (a dead row version each, and a
        # new entry in every index). The default is dropped right after.
        op.add_column(
            "students",
            sa.Column(
                "sourced_id",
                sa.String(length=36),
                nullable=False,
                server_default=sa.text(new_uuid),
            ),
        )
        op.alter_column(
            "students",
            "sourced_id",
            existing_type=sa.String(length=36),
            existing_nullable=False,
            server_default=None,
        )
    else:
        op.add_column("students", sa.Column("sourced_id", sa.String(length=36), nullable=True))
    if sqlite:
        op.execute(
            "UPDATE students SET sourced_id = u.uuid"
            " FROM _grades g JOIN _uuids u ON u.n = g.n WHERE students.id = g.id"
        )
    elif dialect != "postgresql":
        op.execute(f"UPDATE students SET sourced_id = {new_uuid}")
    with (
        _email_index_set_aside(),
        op.batch_alter_table("students", table_kwargs={"sqlite_autoincrement": True}) as batch,
    ):
        batch.drop_index("ix_students_grade")
        batch.drop_constraint(op.f("ck_students_grade_range"), type_="check")
        batch.drop_column("grade")
        batch.alter_column("sourced_id", existing_type=sa.String(length=36), nullable=False)
        batch.create_unique_constraint(op.f("uq_students_sourced_id"), ["sourced_id"])

    op.create_table(
        "enrollments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sourced_id", sa.String(length=36), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("school_year_id", sa.Integer(), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_on", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("destination", sa.String(length=200), nullable=True),
        sa.Column("entered_on", sa.Date(), nullable=False),
        sa.Column("rollover_id", sa.Integer(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint("grade BETWEEN 1 AND 12", name=op.f("ck_enrollments_grade_range")),
        sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f("ck_enrollments_status_known")),
        sa.CheckConstraint(
            "(status = 'enrolled' AND status_on IS NULL)"
            " OR (status <> 'enrolled' AND status_on IS NOT NULL)",
            name=op.f("ck_enrollments_status_date_when_left"),
        ),
        sa.CheckConstraint(
            "status_on IS NULL OR status_on >= entered_on",
            name=op.f("ck_enrollments_status_after_entry"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollments")),
        *([] if postgresql else _enrollment_links()),
        sqlite_autoincrement=True,
    )
    # One enrollment per student, in the students' id order; the indexes after the rows.
    if sqlite:
        op.execute("DELETE FROM _uuids")  # the enrollments' own UUIDs, again in order
        op.execute(
            "INSERT INTO _uuids (uuid)"
            " WITH r AS MATERIALIZED (SELECT lower(hex(randomblob(16))) AS h FROM _grades)"
            f" SELECT {_SQLITE_UUID_FROM_HEX} AS uuid FROM r ORDER BY uuid"
        )
        select = (
            "SELECT u.uuid, s.id, y.id, g.grade, 'enrolled', s.enrolled_on, 1, :now, :now"
            " FROM _grades g JOIN students s ON s.id = g.id JOIN _uuids u ON u.n = g.n"
            " CROSS JOIN school_years y WHERE y.is_current ORDER BY g.n"
        )
    else:
        select = (
            f"SELECT {new_uuid}, s.id, y.id, g.grade, 'enrolled', s.enrolled_on, 1, :now, :now"
            " FROM students s JOIN _grades g ON g.id = s.id"
            " CROSS JOIN school_years y WHERE y.is_current ORDER BY s.id"
        )
    op.execute(
        sa.text(
            "INSERT INTO enrollments (sourced_id, student_id, school_year_id, grade, status,"
            f" entered_on, version, created_at, updated_at) {select}"
        ).bindparams(now=now)
    )
    op.execute("DROP TABLE _grades")
    if sqlite:
        op.execute("DROP TABLE _uuids")
    if postgresql:
        # Checked once each after the rows, instead of a foreign-key trigger and a random
        # insert into the sourced_id index per row: the same constraints in the end.
        _add_enrollment_links()
    op.create_index(op.f("ix_enrollments_rollover_id"), "enrollments", ["rollover_id"])
    op.create_index(
        "ix_enrollments_year_status_grade", "enrollments", ["school_year_id", "status", "grade"]
    )
    op.create_index("ix_enrollments_status_status_on", "enrollments", ["status", "status_on"])

    op.create_table(
        "enrollment_counts",
        sa.Column("school_year_id", sa.Integer(), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("students", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_year_id"],
            ["school_years.id"],
            name=op.f("fk_enrollment_counts_school_year_id_school_years"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "school_year_id", "grade", "status", name=op.f("pk_enrollment_counts")
        ),
    )
    op.execute(
        "INSERT INTO enrollment_counts (school_year_id, grade, status, students)"
        " SELECT school_year_id, grade, status, count(*) FROM enrollments"
        " GROUP BY school_year_id, grade, status"
    )
    if dialect == "postgresql":
        for name, body in POSTGRESQL_FUNCTIONS.items():
            op.execute(_postgresql_function(name, body))
        for _, sql in POSTGRESQL_TRIGGERS:
            op.execute(sql)
    else:
        for _, sql in SQLITE_TRIGGERS:
            op.execute(sql)

    # The audit trail: every event so far is about a student.
    op.add_column(
        "audit_events",
        sa.Column("entity", sa.String(length=16), server_default="student", nullable=False),
    )
    op.add_column("audit_events", sa.Column("entity_id", sa.Integer(), nullable=True))
    op.add_column("audit_events", sa.Column("batch_id", sa.Integer(), nullable=True))
    op.execute("UPDATE audit_events SET entity_id = student_id")
    with _audit_reverts_set_aside(), op.batch_alter_table("audit_events") as batch:
        batch.alter_column("entity", existing_type=sa.String(length=16), server_default=None)
        batch.alter_column("entity_id", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("student_id", existing_type=sa.Integer(), nullable=True)
        batch.alter_column("student_name", existing_type=sa.String(length=100), nullable=True)
        batch.create_check_constraint(
            op.f("ck_audit_events_entity_known"), f"entity IN ({ENTITIES})"
        )
        batch.create_foreign_key(
            op.f("fk_audit_events_batch_id_audit_batches"), "audit_batches", ["batch_id"], ["id"]
        )
        batch.create_index(op.f("ix_audit_events_batch_id"), ["batch_id"])
        batch.create_index("ix_audit_events_entity_entity_id_id", ["entity", "entity_id", "id"])


def _students_without_enrollment() -> list[int]:
    if op.get_context().as_sql:
        return []
    rows = op.get_bind().execute(
        sa.text(
            "SELECT id FROM students s WHERE NOT EXISTS"
            " (SELECT 1 FROM enrollments e WHERE e.student_id = s.id) ORDER BY id LIMIT 20"
        )
    )
    return [row[0] for row in rows]


def _restore_grades_in_deletion_events() -> None:
    """Give the audit events of deleted students their grade back (for a restore)."""
    if op.get_context().as_sql:
        return
    bind = op.get_bind()
    events = sa.table(
        "audit_events",
        sa.column("id", sa.Integer()),
        sa.column("entity", sa.String()),
        sa.column("action", sa.String()),
        sa.column("changes", sa.JSON()),
    )
    rows = bind.execute(
        sa.select(events.c.id, events.c.changes).where(
            events.c.entity == "student", events.c.action == "delete"
        )
    ).all()
    for event_id, changes in rows:
        if "grade" in changes or not changes.get("enrollments"):
            continue
        enrollments = changes["enrollments"][0] or []
        current = [e for e in enrollments if e.get("current")] or enrollments[-1:]
        updated = {key: value for key, value in changes.items() if key != "enrollments"}
        updated["grade"] = [current[0]["grade"], None]
        bind.execute(sa.update(events).where(events.c.id == event_id).values(changes=updated))


def _move_columns_to_the_end(columns: list[str]) -> None:
    """On PostgreSQL, move ``students``' ``columns`` after the others, in order, values kept.

    Each column is copied into a new one, dropped and the copy renamed; its indexes, the
    CHECK constraints that read it, NOT NULL and its server default are made again.
    """
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    checks = inspector.get_check_constraints("students")
    moved = [c for c in checks if any(col in c["sqltext"] for col in columns)]
    for check in moved:
        op.drop_constraint(op.f(check["name"]), "students", type_="check")
    by_name = {c["name"]: c for c in inspector.get_columns("students")}
    indexes = inspector.get_indexes("students")
    for name in columns:
        column = by_name[name]
        own_indexes = [i for i in indexes if i["column_names"] == [name]]
        for index in own_indexes:
            op.drop_index(op.f(index["name"]), table_name="students")
        op.add_column("students", sa.Column(f"{name}_moved", column["type"], nullable=True))
        op.execute(f"UPDATE students SET {name}_moved = {name}")
        op.drop_column("students", name)
        op.alter_column(
            "students",
            f"{name}_moved",
            new_column_name=name,
            existing_type=column["type"],
            nullable=column["nullable"],
            server_default=sa.text(column["default"]) if column.get("default") else None,
        )
        for index in own_indexes:
            op.create_index(op.f(index["name"]), "students", [name], unique=bool(index["unique"]))
    for check in moved:
        op.create_check_constraint(op.f(check["name"]), "students", check["sqltext"])


def downgrade() -> None:
    """Put each student's grade back; drop the year tables and the trail's new columns."""
    dialect = _dialect()
    missing = _students_without_enrollment()
    if missing:
        ids = ", ".join(map(str, missing))
        raise CommandError(
            "Cannot downgrade to 0010: student id "
            + ids
            + " has no enrollment in any school year, so no grade to keep. Enroll them "
            "(or delete them) first; the downgrade stopped before changing anything."
        )

    op.add_column("students", sa.Column("grade", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE students SET grade = (SELECT e.grade FROM enrollments e"
        " JOIN school_years y ON y.id = e.school_year_id WHERE e.student_id = students.id"
        " ORDER BY y.is_current DESC, y.starts_on DESC LIMIT 1)"
    )

    # The trail: only students' events are left, as revision 0010 knew them.
    _restore_grades_in_deletion_events()
    op.execute("DELETE FROM audit_events WHERE entity <> 'student'")
    with _audit_reverts_set_aside(), op.batch_alter_table("audit_events") as batch:
        batch.drop_index("ix_audit_events_entity_entity_id_id")
        batch.drop_index(op.f("ix_audit_events_batch_id"))
        batch.drop_constraint(op.f("fk_audit_events_batch_id_audit_batches"), type_="foreignkey")
        batch.drop_constraint(op.f("ck_audit_events_entity_known"), type_="check")
        batch.alter_column("student_name", existing_type=sa.String(length=100), nullable=False)
        batch.alter_column("student_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("batch_id")
        batch.drop_column("entity_id")
        batch.drop_column("entity")

    if dialect == "postgresql":
        for name, _ in POSTGRESQL_TRIGGERS:
            op.execute(f"DROP TRIGGER {name} ON enrollments")
        for name in POSTGRESQL_FUNCTIONS:
            op.execute(f"DROP FUNCTION {name}()")
    else:
        for name, _ in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("enrollment_counts")
    op.drop_index("ix_enrollments_status_status_on", table_name="enrollments")
    op.drop_index("ix_enrollments_year_status_grade", table_name="enrollments")
    op.drop_index(op.f("ix_enrollments_rollover_id"), table_name="enrollments")
    op.drop_table("enrollments")
    op.drop_index("uq_rollovers_from_year_in_force", table_name="rollovers")
    op.drop_table("rollovers")
    op.drop_index(op.f("ix_audit_batches_user_id"), table_name="audit_batches")
    op.drop_table("audit_batches")
    op.drop_index("uq_school_years_current", table_name="school_years")
    op.drop_table("school_years")

    # Students: grade NOT NULL in its old place, with its CHECK and index; no sourced_id.
    after_grade = list(STUDENT_COLUMNS_BEFORE[STUDENT_COLUMNS_BEFORE.index("grade") + 1 :])
    if dialect == "postgresql" and not op.get_context().as_sql:
        op.drop_constraint(op.f("uq_students_sourced_id"), "students", type_="unique")
        op.drop_column("students", "sourced_id")
        _move_columns_to_the_end(after_grade)
    with (
        _email_index_set_aside(),
        op.batch_alter_table(
            "students",
            recreate="always" if dialect == "sqlite" else "auto",
            partial_reordering=[STUDENT_COLUMNS_BEFORE] if dialect == "sqlite" else None,
            table_kwargs={"sqlite_autoincrement": True},
        ) as batch,
    ):
        if dialect == "sqlite":
            batch.drop_constraint(op.f("uq_students_sourced_id"), type_="unique")
            batch.drop_column("sourced_id")
        batch.alter_column("grade", existing_type=sa.Integer(), nullable=False)
        batch.create_check_constraint(op.f("ck_students_grade_range"), "grade BETWEEN 1 AND 12")
        batch.create_index("ix_students_grade", ["grade"])
