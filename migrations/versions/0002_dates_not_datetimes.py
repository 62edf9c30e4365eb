"""Dates, not datetimes: ``birthday`` becomes DATE, ``enrolled_date`` becomes ``enrolled_on``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

The tutorial stored both as DATETIME; a birthday and an enrollment day have no time of day.

Upgrade, to existing rows:

* First runs the preflight of revision 0001 on the rows (see ``find_problems`` there):
  if any row would break the constraints of this revision or the next, the upgrade stops
  with an error naming the rows by id and how to fix each, before anything changes.
* On PostgreSQL, moves the ``id`` sequence past the largest id, as 0001's takeover does
  (the lesson's scripts may have merged in ids of their own while the database sat at
  0001, after ``flask db downgrade 0001``).
* ``birthday`` keeps its date part and drops the time (``2010-05-01 14:30`` becomes
  ``2010-05-01``); NULL stays NULL.
* ``enrolled_date`` is renamed ``enrolled_on`` and keeps its date part the same way. It
  becomes NOT NULL with ``server_default CURRENT_DATE`` (which SQLite and PostgreSQL both
  understand). A NULL ``enrolled_date`` is refused by the preflight, not filled in.

How: SQLite cannot change a column's type, and Alembic's batch mode copies a retyped
column with ``CAST(col AS DATE)``, which on SQLite (NUMERIC affinity) turns
``'2010-05-01 00:00:00'`` into ``2010``. So each column is not retyped in place: a new
DATE column is added, filled from the old one by an UPDATE (``date(col)`` on SQLite,
``CAST(col AS DATE)`` on PostgreSQL), the old column is dropped and the new one renamed.

Downgrade, to existing rows: the columns become DATETIME again (``enrolled_on`` back to a
nullable ``enrolled_date`` without server default), each value at midnight of its date.
The time of day the tutorial stored is gone for good.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _to_date(column: str) -> str:
    """SQL for the date part of a DATETIME column on the current dialect."""
    if op.get_context().dialect.name == "sqlite":
        return f"date({column})"
    return f"CAST({column} AS DATE)"


def _to_midnight(column: str) -> str:
    """SQL for a DATE column as a DATETIME at midnight on the current dialect."""
    if op.get_context().dialect.name == "sqlite":
        # The text SQLAlchemy's SQLite DateTime type itself writes for a midnight value.
        return f"date({column}) || ' 00:00:00.000000'"
    return f"CAST({column} AS TIMESTAMP)"


def upgrade() -> None:
    """Convert the two DATETIME columns to DATE, keeping each value's date part."""
    takeover = op.get_context().script.get_revision("0001").module
    takeover.preflight(op.get_bind(), enrolled_column="enrolled_date")
    if not op.get_context().as_sql:
        takeover.sequence_past_the_rows(op.get_bind())

    with op.batch_alter_table("students") as batch:
        batch.add_column(sa.Column("birthday_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("enrolled_on", sa.Date(), nullable=True))
    op.execute(
        "UPDATE students SET "
        f"birthday_date = {_to_date('birthday')}, enrolled_on = {_to_date('enrolled_date')}"
    )
    with op.batch_alter_table("students") as batch:
        batch.drop_column("birthday")
        batch.drop_column("enrolled_date")
        batch.alter_column("birthday_date", new_column_name="birthday", existing_type=sa.Date())
        batch.alter_column(
            "enrolled_on",
            existing_type=sa.Date(),
            nullable=False,
            server_default=sa.text("CURRENT_DATE"),
        )


def downgrade() -> None:
    """Turn the DATE columns back into the tutorial's DATETIME columns, at midnight."""
    with op.batch_alter_table("students") as batch:
        batch.add_column(sa.Column("birthday_datetime", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("enrolled_date", sa.DateTime(), nullable=True))
    op.execute(
        "UPDATE students SET "
        f"birthday_datetime = {_to_midnight('birthday')}, "
        f"enrolled_date = {_to_midnight('enrolled_on')}"
    )
    with op.batch_alter_table("students") as batch:
        batch.drop_column("birthday")
        batch.drop_column("enrolled_on")
        batch.alter_column(
            "birthday_datetime", new_column_name="birthday", existing_type=sa.DateTime()
        )
