"""Birthdays before 1900 are allowed: drop ``ck_students_birthday_after_1900``.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

Database constraints hold invariants only. "A birthday is not before 1900" is a
plausibility rule: the SQLAlchemy tutorial's own sample student, Albert Einstein, was
born on 14 March 1879. The form now warns about an unusual birthday and lets a person
confirm it (``webapp.students.rules.unusual_dates``); the database no longer refuses it.
Revision 0003 no longer adds this CHECK, so only databases migrated through 0003 before
this revision have it.

Upgrade: drops the CHECK when the table has it; otherwise changes nothing. Every row is
kept. On SQLite dropping a constraint rebuilds the table (batch mode), and the functional
email index, which SQLite's reflection cannot see and a rebuild would lose, is dropped
before and created again after (as in revision 0008).

Downgrade: adds the CHECK back, as revisions 0003 to 0008 had it, when every row allows
it. When some birthday is before 1900 the CHECK is left out and a warning names those
rows, instead of stopping: a plausibility rule never blocks a migration, and the way back
to the tutorial's table (``flask db downgrade 0001``) must keep the tutorial's own
Einstein. No row is changed either way.

Offline (``flask db upgrade --sql``), where nothing can be inspected: the upgrade emits
``DROP CONSTRAINT IF EXISTS`` on PostgreSQL, and the downgrade adds nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

CHECK = "ck_students_birthday_after_1900"
#: The CHECK's SQL as revisions 0003 to 0008 had it.
CHECK_SQL = "birthday IS NULL OR birthday >= '1900-01-01'"
EMAIL_INDEX = "uq_students_email_lower"
#: At most this many ids are named in the downgrade's warning.
MAX_IDS_SHOWN = 20

logger = logging.getLogger("alembic.runtime.migration")


def _has_check() -> bool:
    """Whether ``students`` has the CHECK (in offline mode nothing can be inspected: no)."""
    if op.get_context().as_sql:
        return False
    checks = sa.inspect(op.get_bind()).get_check_constraints("students")
    return any(check["name"] == CHECK for check in checks)


@contextmanager
def _batch() -> Iterator[Any]:
    """A batch alteration of ``students`` that keeps the functional email index on SQLite."""
    sqlite = op.get_context().dialect.name == "sqlite"
    if sqlite:
        op.drop_index(op.f(EMAIL_INDEX), table_name="students")
    with op.batch_alter_table("students") as batch:
        yield batch
    if sqlite:
        op.create_index(op.f(EMAIL_INDEX), "students", [sa.text("lower(email)")], unique=True)


def upgrade() -> None:
    """Drop the birthday CHECK where it exists."""
    if op.get_context().dialect.name == "postgresql":
        # IF EXISTS: right in offline mode (--sql) too, where nothing can be inspected.
        op.execute(f"ALTER TABLE students DROP CONSTRAINT IF EXISTS {CHECK}")
    elif _has_check():
        with _batch() as batch:
            batch.drop_constraint(op.f(CHECK), type_="check")


def downgrade() -> None:
    """Add the birthday CHECK back when every row allows it; otherwise warn and leave it out."""
    if op.get_context().as_sql or _has_check():
        return  # offline, the rows cannot be checked: nothing is added
    early = [
        row[0]
        for row in op.get_bind().execute(
            sa.text("SELECT id FROM students WHERE birthday < '1900-01-01' ORDER BY id")
        )
    ]
    if early:
        shown = ", ".join(str(i) for i in early[:MAX_IDS_SHOWN])
        if len(early) > MAX_IDS_SHOWN:
            shown += f" and {len(early) - MAX_IDS_SHOWN} more"
        logger.warning(
            "Not adding %s back: the birthday of student id %s is before 1900-01-01. "
            "Rows are kept as they are; the constraint was a plausibility rule.",
            CHECK,
            shown,
        )
        return
    with _batch() as batch:
        batch.create_check_constraint(op.f(CHECK), CHECK_SQL)
