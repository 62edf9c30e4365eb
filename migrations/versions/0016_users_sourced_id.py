"""Accounts get a ``sourced_id``: the UUID that names a teacher to other systems (OneRoster).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30

Upgrade:

* ``users`` gains ``sourced_id`` (36 characters), filled with a random version-4 UUID for
  every existing account, and a unique index ``uq_users_sourced_id``.
* It stays NULL-able in the schema: making it NOT NULL on SQLite needs a rebuild of
  ``users``, whose dropped copy would fire the ``ON DELETE`` actions of every table that
  refers to accounts (the trail, sign-in throttles, homeroom teachers; see 0013). The
  application gives every new account one (the model's default), and the unique index
  holds the invariant that matters: no two accounts share one.
* On SQLite the column is added in batch mode, which adds it in place (``ALTER TABLE
  ADD COLUMN``): no table is rebuilt.

Downgrade drops the index, then the column in place (``ALTER TABLE DROP COLUMN``,
SQLite 3.35+; no rebuild, so nothing that refers to an account is touched); the
accounts stay.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

INDEX = "uq_users_sourced_id"
#: A random version-4 UUID per row, as migration 0011 makes them.
UUID_SQL = {
    "postgresql": "gen_random_uuid()::text",
    "sqlite": (
        "lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4'"
        " || substr(hex(randomblob(2)), 2) || '-'"
        " || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2)"
        " || '-' || hex(randomblob(6)))"
    ),
}


def upgrade() -> None:
    """Add ``users.sourced_id``, a UUID for every account, and its unique index."""
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("sourced_id", sa.String(length=36), nullable=True))
    op.execute(f"UPDATE users SET sourced_id = {UUID_SQL[op.get_context().dialect.name]}")
    op.create_index(INDEX, "users", ["sourced_id"], unique=True)


def downgrade() -> None:
    """Drop the index and the column; the accounts stay."""
    op.drop_index(INDEX, table_name="users")
    op.drop_column("users", "sourced_id")
