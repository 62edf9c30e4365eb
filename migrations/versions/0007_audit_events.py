"""Audit trail: the ``audit_events`` table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22

Upgrade: creates an empty ``audit_events`` table; from now on every create, update and
delete of a student writes one event in the same transaction. Students that exist before
this revision have no history; nothing is made up for them. Other tables are untouched.

Downgrade: drops the table and with it the whole history (reverts and restores are then
no longer possible).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``audit_events`` with its indexes."""
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("student_name", sa.String(length=100), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("reverts_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "action IN ('create', 'update', 'delete', 'revert', 'restore')",
            name=op.f("ck_audit_events_action_known"),
        ),
        sa.ForeignKeyConstraint(
            ["reverts_id"],
            ["audit_events.id"],
            name=op.f("fk_audit_events_reverts_id_audit_events"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_audit_events_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(
        op.f("ix_audit_events_occurred_at"), "audit_events", ["occurred_at"], unique=False
    )
    op.create_index(op.f("ix_audit_events_user_id"), "audit_events", ["user_id"], unique=False)
    op.create_index(
        "ix_audit_events_student_id_id", "audit_events", ["student_id", "id"], unique=False
    )


def downgrade() -> None:
    """Drop ``audit_events``."""
    op.drop_index("ix_audit_events_student_id_id", table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_user_id"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_occurred_at"), table_name="audit_events")
    op.drop_table("audit_events")
