"""Optimistic locking: a ``version`` counter on ``students``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

The model uses the column as SQLAlchemy's ``version_id_col``: every UPDATE sets
``version = version + 1`` and carries ``WHERE version = <the version read>``, and the edit
and delete forms carry the version they were rendered from, so a save based on an old
version is refused (HTTP 409) instead of silently overwriting someone else's change.

Upgrade, to existing rows: every row starts at version 1 (the server default fills them,
and stays for rows inserted by plain SQL). ``ADD COLUMN ... NOT NULL DEFAULT 1`` needs no
table rebuild on either database, so no batch mode and the functional email index is
untouched.

Downgrade: drops the column with a plain ``ALTER TABLE ... DROP COLUMN`` (SQLite 3.35 and
later have it), not a batch rebuild, which on SQLite would lose the functional email index;
every other value is kept.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``version`` NOT NULL, 1 for every existing row."""
    op.add_column(
        "students",
        sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1")),
    )


def downgrade() -> None:
    """Drop ``version``."""
    op.drop_column("students", "version")
