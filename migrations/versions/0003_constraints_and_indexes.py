"""Constraints and indexes of the ``Student`` model.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Upgrade, schema:

* ``name`` VARCHAR(100) NOT NULL, ``email`` VARCHAR(254), ``grade`` NOT NULL;
* CHECK constraints (names from the naming convention ``ck_%(table_name)s_%(constraint_name)s``):
  ``ck_students_name_length``, ``ck_students_grade_range``,
  ``ck_students_enrolled_after_birthday``: invariants only. (Until revision 0009 this
  revision also added ``ck_students_birthday_after_1900``, a plausibility rule that
  refused the tutorial's own sample students; it no longer does, and 0009 drops it from
  databases that got it.)
* indexes ``ix_students_name``, ``ix_students_grade``, ``ix_students_birthday``,
  ``ix_students_enrolled_on``, and the unique functional index
  ``uq_students_email_lower`` on ``lower(email)`` (emails unique ignoring case);
* the primary key is named ``pk_students`` as the naming convention names it (the
  tutorial's was unnamed on SQLite, ``students_pkey`` on PostgreSQL), so that a database
  made from empty and one taken over from the tutorial end up the same.

Upgrade, to existing rows:

* First runs the preflight of revision 0001 again (it already ran in 0001's takeover or in
  0002; this covers a database that was left at 0002): a row that would break a new
  constraint stops the upgrade, naming the row by id and how to fix it.
* Empty or blank emails (``''``, ``'  '``) become NULL: "no email" has one spelling, and
  several blank emails would otherwise collide in the unique index. No other value changes.

The SQL of the CHECK constraints is copied from the model as it is at this revision, not
imported, so that this revision keeps meaning the same thing when the model changes.

Why the functional index is created outside the batch: on SQLite, batch mode rebuilds the
table from its reflection, and SQLAlchemy cannot reflect an expression-based index there
(it warns "Skipped unsupported reflection of expression-based index"), so a batch rebuild
would silently drop it. It is created after the rebuild, and any later batch rebuild of
this table must drop and recreate it (see revision 0004).

Downgrade: drops the indexes and CHECK constraints (``ck_students_birthday_after_1900``
too when the database has it, see 0009), gives the primary key its tutorial name back,
and restores the 0002 column types and NULL-ability (``name`` VARCHAR nullable,
``email`` VARCHAR(55), ``grade`` nullable). Rows are kept. Emails that were
blank before the upgrade stay NULL: the downgrade cannot tell them from emails that were
NULL all along. An email longer than 55 characters does not fit the tutorial's
VARCHAR(55) (PostgreSQL would reject it, SQLite would keep an over-long value), so the
downgrade stops with an error naming those rows instead.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

#: CHECK constraints: final name -> SQL (as in webapp/models/student.py at this revision).
CHECKS = {
    "ck_students_name_length": "length(trim(name)) >= 1 AND length(name) <= 100",
    "ck_students_grade_range": "grade BETWEEN 1 AND 12",
    "ck_students_enrolled_after_birthday": "birthday IS NULL OR enrolled_on >= birthday",
}

#: Plain indexes: name -> column.
INDEXES = {
    "ix_students_name": "name",
    "ix_students_grade": "grade",
    "ix_students_birthday": "birthday",
    "ix_students_enrolled_on": "enrolled_on",
}

EMAIL_INDEX = "uq_students_email_lower"
#: The plausibility CHECK this revision used to add; see revision 0009.
OLD_BIRTHDAY_CHECK = "ck_students_birthday_after_1900"
PRIMARY_KEY = "pk_students"


def _primary_key_name() -> str:
    """The current name of the primary key on PostgreSQL (``students_pkey`` by default)."""
    if op.get_context().as_sql:
        return "students_pkey"
    return sa.inspect(op.get_bind()).get_pk_constraint("students")["name"]


def upgrade() -> None:
    """Tighten the columns, add the CHECK constraints and the indexes."""
    preflight = op.get_context().script.get_revision("0001").module.preflight
    preflight(op.get_bind(), enrolled_column="enrolled_on")

    op.execute("UPDATE students SET email = NULL WHERE length(trim(email)) = 0")

    sqlite = op.get_context().dialect.name == "sqlite"
    with op.batch_alter_table("students") as batch:
        batch.alter_column(
            "name", existing_type=sa.String(), type_=sa.String(length=100), nullable=False
        )
        batch.alter_column("email", existing_type=sa.String(length=55), type_=sa.String(length=254))
        batch.alter_column("grade", existing_type=sa.Integer(), nullable=False)
        for name, sqltext in CHECKS.items():
            batch.create_check_constraint(op.f(name), sqltext)
        for name, column in INDEXES.items():
            batch.create_index(op.f(name), [column], unique=False)
        if sqlite:
            # The rebuild replaces the tutorial's unnamed primary key with a named one.
            batch.create_primary_key(op.f(PRIMARY_KEY), ["id"])
    if not sqlite:
        op.execute(f"ALTER TABLE students RENAME CONSTRAINT {_primary_key_name()} TO {PRIMARY_KEY}")

    op.create_index(op.f(EMAIL_INDEX), "students", [sa.text("lower(email)")], unique=True)


def _old_birthday_check() -> list[str]:
    """``[OLD_BIRTHDAY_CHECK]`` when the table has it (added by this revision until 0009)."""
    if op.get_context().as_sql:
        return []
    checks = sa.inspect(op.get_bind()).get_check_constraints("students")
    return [OLD_BIRTHDAY_CHECK] if any(c["name"] == OLD_BIRTHDAY_CHECK for c in checks) else []


def downgrade() -> None:
    """Drop the constraints and indexes, loosen the columns back to revision 0002's."""
    ids: list[str] = []
    if not op.get_context().as_sql:
        too_long = op.get_bind().execute(
            sa.text("SELECT id FROM students WHERE length(email) > 55 ORDER BY id")
        )
        ids = [str(row[0]) for row in too_long]
    if ids:
        raise CommandError(
            "Cannot downgrade to 0002: the email of student id "
            + ", ".join(ids)
            + " is longer than the tutorial's 55 characters; the downgrade stopped there. Fix: "
            "UPDATE students SET email = NULL WHERE id IN (" + ", ".join(ids) + ");"
        )

    sqlite = op.get_context().dialect.name == "sqlite"
    # Before the batch rebuild: SQLite's reflection would skip (and so lose) it anyway.
    op.drop_index(op.f(EMAIL_INDEX), table_name="students")
    if not sqlite:
        op.execute(f"ALTER TABLE students RENAME CONSTRAINT {PRIMARY_KEY} TO students_pkey")
    # On SQLite the rebuilt table gets the tutorial's unnamed primary key from table_args:
    # dropping the named one also clears the column's primary_key flag, so without it
    # the table would have no primary key at all. (PostgreSQL ignores table_args.)
    with op.batch_alter_table("students", table_args=(sa.PrimaryKeyConstraint("id"),)) as batch:
        if sqlite:
            batch.drop_constraint(op.f(PRIMARY_KEY), type_="primary")
        for name in INDEXES:
            batch.drop_index(op.f(name))
        for name in [*CHECKS, *_old_birthday_check()]:
            batch.drop_constraint(op.f(name), type_="check")
        batch.alter_column("grade", existing_type=sa.Integer(), nullable=True)
        batch.alter_column("email", existing_type=sa.String(length=254), type_=sa.String(length=55))
        batch.alter_column(
            "name", existing_type=sa.String(length=100), type_=sa.String(), nullable=True
        )
