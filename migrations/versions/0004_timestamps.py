"""Timestamps: ``created_at`` and ``updated_at``, NOT NULL, holding UTC.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

The model's type for both is ``UTCDateTime``, whose storage is a plain ``sa.DateTime()``
holding naive UTC (the type converts at the edge), so that is what is created here.

Upgrade, to existing rows: both columns are set to the time this migration runs, in UTC.
The real creation time of a row from before this revision is unknown; the migration time
is a lower bound on "we have had this row since". It is written as the text SQLAlchemy's
``DateTime`` stores on SQLite (``2026-11-22 09:30:00.123456``), which PostgreSQL reads as
the same timestamp. New rows get their values from the model's Python defaults; there is
no server default.

How: the columns are added NOT NULL with the migration time as their default, which
fills every existing row without writing it (PostgreSQL 11+ keeps such a value in its
catalog; SQLite reads it from the table's schema), then the default is dropped. Updating
a million rows instead took 83 s on PostgreSQL (a new version of every row, and an entry
in every index). On SQLite dropping the default rebuilds the table (batch mode), which
copies the values into the rows and would lose the functional index
``uq_students_email_lower`` (SQLite's reflection cannot see expression-based indexes), so
on SQLite that index is dropped before the rebuild and created again after it.

Downgrade: drops both columns; the timestamps are lost, every other value is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

EMAIL_INDEX = "uq_students_email_lower"


@contextmanager
def _email_index_set_aside() -> Iterator[None]:
    """On SQLite, drop the functional email index around a batch rebuild of the table."""
    sqlite = op.get_context().dialect.name == "sqlite"
    if sqlite:
        op.drop_index(op.f(EMAIL_INDEX), table_name="students")
    yield
    if sqlite:
        op.create_index(op.f(EMAIL_INDEX), "students", [sa.text("lower(email)")], unique=True)


def upgrade() -> None:
    """Add the timestamps; existing rows get the migration time in UTC."""
    now = datetime.now(UTC).replace(tzinfo=None)  # naive UTC, as UTCDateTime stores it
    # The text SQLAlchemy's DateTime stores on SQLite; PostgreSQL reads it as the same time.
    # A plain string (a quoted literal), so that SQLite adds the columns with ALTER TABLE.
    stamp = f"{now:%Y-%m-%d %H:%M:%S.%f}"
    with op.batch_alter_table("students") as batch:
        batch.add_column(
            sa.Column("created_at", sa.DateTime(), nullable=False, server_default=stamp)
        )
        batch.add_column(
            sa.Column("updated_at", sa.DateTime(), nullable=False, server_default=stamp)
        )

    with _email_index_set_aside(), op.batch_alter_table("students") as batch:
        for column in ("created_at", "updated_at"):
            batch.alter_column(
                column, existing_type=sa.DateTime(), existing_nullable=False, server_default=None
            )


def downgrade() -> None:
    """Drop both timestamp columns (their values are lost)."""
    with _email_index_set_aside(), op.batch_alter_table("students") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("created_at")
