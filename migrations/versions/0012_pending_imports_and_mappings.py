"""Pending imports and remembered column mappings in the database.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01

Upgrade: creates three empty tables.

- ``pending_imports``: an uploaded file, being read in the background or read, with its
  preview's summary, waiting for its confirm; ``pending_import_pages``: its preview, page
  by page (deleted with it).
  Until now these lived as files in ``instance/imports/``, which one host of a
  deployment could not see from another. Uploads still waiting there when the revision
  runs are not moved (they expire within the hour anyway); their owners upload again.
- ``import_mappings``: the column mapping last used for a file's headers, offered for
  the next file with the same headers.

Other tables are untouched. Downgrade drops the three tables: pending imports are lost
(their owners upload the files again) and remembered mappings are forgotten.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``pending_imports``, ``pending_import_pages`` and ``import_mappings``."""
    op.create_table(
        "pending_imports",
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("table", sa.LargeBinary(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('reading', 'ready', 'failed')",
            name=op.f("ck_pending_imports_status_known"),
        ),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_pending_imports")),
    )
    op.create_index(
        op.f("ix_pending_imports_created_at"), "pending_imports", ["created_at"], unique=False
    )
    op.create_table(
        "pending_import_pages",
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("view", sa.String(length=16), nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["token"],
            ["pending_imports.token"],
            name=op.f("fk_pending_import_pages_token_pending_imports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token", "view", "number", name=op.f("pk_pending_import_pages")),
    )
    op.create_table(
        "import_mappings",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("date_orders", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_import_mappings_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("fingerprint", name=op.f("pk_import_mappings")),
    )
    op.create_index(
        op.f("ix_import_mappings_updated_by_id"),
        "import_mappings",
        ["updated_by_id"],
        unique=False,
    )


def downgrade() -> None:
    """Drop the three tables (pending imports and remembered mappings are lost)."""
    op.drop_index(op.f("ix_import_mappings_updated_by_id"), table_name="import_mappings")
    op.drop_table("import_mappings")
    op.drop_table("pending_import_pages")
    op.drop_index(op.f("ix_pending_imports_created_at"), table_name="pending_imports")
    op.drop_table("pending_imports")
