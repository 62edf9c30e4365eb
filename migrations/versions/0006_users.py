"""Staff accounts: the ``users`` table.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22

Upgrade: creates an empty ``users`` table (email unique ignoring case through a unique
index on ``lower(email)``, a CHECK on the role). No account exists afterwards: create the
first administrator with ``flask users create EMAIL --role admin`` (``make run`` does it
when there is none). Existing rows of other tables are untouched.

Downgrade: drops the table and with it every account.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``users``."""
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("session_token", sa.String(length=64), nullable=False),
        sa.Column("failed_logins", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "role IN ('viewer', 'editor', 'admin')", name=op.f("ck_users_role_known")
        ),
        sa.CheckConstraint("failed_logins >= 0", name=op.f("ck_users_failed_logins_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_index(op.f("uq_users_email_lower"), "users", [sa.text("lower(email)")], unique=True)


def downgrade() -> None:
    """Drop ``users``."""
    op.drop_index(op.f("uq_users_email_lower"), table_name="users")
    op.drop_table("users")
