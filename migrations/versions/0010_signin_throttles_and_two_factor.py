"""Sign-in throttles per email and client address, and two-factor sign-in.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

Upgrade:

* creates ``login_throttles`` (failed attempts per hashed email, or account, and client
  address) and ``recovery_codes`` (hashed single-use codes), both empty;
* adds ``users.totp_secret`` and ``users.totp_last_step``, empty: every account keeps
  signing in with its password alone until its owner turns two-factor sign-in on;
* drops ``users.failed_logins`` and ``users.locked_until``, the per-account lockout that
  let anyone lock any account (issue 18). A lockout in force is lifted; no other data
  is lost. Every account row is kept.

On SQLite the ``users`` table is rebuilt (batch mode). Its expression index on
``lower(email)``, which SQLite's reflection cannot see, is dropped before and created
again after. Dropping the old table would run ``audit_events.user_id``'s
``ON DELETE SET NULL`` (foreign keys are on), so the audit events' account ids are saved
in a temporary table first and written back after.

Downgrade: drops ``recovery_codes`` and ``login_throttles`` (every throttle and recovery
code), and ``users``' two-factor columns (two-factor sign-in is off for everyone
afterwards); adds ``failed_logins`` (0) and ``locked_until`` (empty) back, in their old
place among the columns (on PostgreSQL by moving ``created_at`` and ``last_login_at``
after them, values kept). Rows are kept the same way on SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

EMAIL_INDEX = "uq_users_email_lower"


@contextmanager
def _users_rebuilt() -> Iterator[sa.engine.Connection | None]:
    """On SQLite, keep the email index and the audit events' account ids across a rebuild
    of ``users``; elsewhere change nothing."""
    if op.get_context().dialect.name != "sqlite":
        yield None
        return
    bind = op.get_bind()
    bind.exec_driver_sql(
        "CREATE TEMPORARY TABLE _saved_audit_users AS "
        "SELECT id, user_id FROM audit_events WHERE user_id IS NOT NULL"
    )
    op.drop_index(EMAIL_INDEX, table_name="users")
    yield bind
    op.create_index(EMAIL_INDEX, "users", [sa.text("lower(email)")], unique=True)
    bind.exec_driver_sql(
        "UPDATE audit_events SET user_id = (SELECT s.user_id FROM _saved_audit_users s "
        "WHERE s.id = audit_events.id) WHERE id IN (SELECT id FROM _saved_audit_users)"
    )
    bind.exec_driver_sql("DROP TABLE _saved_audit_users")


def upgrade() -> None:
    """Create the throttle and recovery-code tables; swap the lockout columns for TOTP."""
    op.create_table(
        "login_throttles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=45), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "step IN ('password', 'second_factor')", name=op.f("ck_login_throttles_step_known")
        ),
        sa.CheckConstraint("failures >= 0", name=op.f("ck_login_throttles_failures_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttles")),
        sa.UniqueConstraint(
            "step", "subject", "client", name=op.f("uq_login_throttles_step_subject_client")
        ),
    )
    op.create_index(
        op.f("ix_login_throttles_updated_at"), "login_throttles", ["updated_at"], unique=False
    )
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=255), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_recovery_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
    )
    op.create_index(op.f("ix_recovery_codes_user_id"), "recovery_codes", ["user_id"], unique=False)
    with _users_rebuilt(), op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("ck_users_failed_logins_not_negative"), type_="check")
        batch.drop_column("failed_logins")
        batch.drop_column("locked_until")
        batch.add_column(sa.Column("totp_secret", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))


def _move_to_the_end(table: str, column: str, type_: sa.types.TypeEngine, nullable: bool) -> None:
    """Move ``column`` of ``table`` after the others, keeping its values (PostgreSQL).

    PostgreSQL adds columns at the end only; moving the two that followed the lockout
    columns in 0006 gives the table its old column order back.
    """
    op.alter_column(table, column, new_column_name=f"_old_{column}")
    op.add_column(table, sa.Column(column, type_, nullable=True))
    op.execute(sa.text(f"UPDATE {table} SET {column} = _old_{column}"))
    if not nullable:
        op.alter_column(table, column, nullable=False)
    op.drop_column(table, f"_old_{column}")


def downgrade() -> None:
    """Drop the new tables and the TOTP columns; add the lockout columns back (no lockout)."""
    sqlite = op.get_context().dialect.name == "sqlite"
    with _users_rebuilt(), op.batch_alter_table("users") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_secret")
        # Where 0006 put them, so that the schema is the same as before the upgrade
        # (PostgreSQL: see _move_to_the_end below).
        place = {"insert_before": "created_at"} if sqlite else {}
        batch.add_column(
            sa.Column("failed_logins", sa.Integer(), server_default=sa.text("0"), nullable=False),
            **place,
        )
        batch.add_column(sa.Column("locked_until", sa.DateTime(), nullable=True), **place)
        batch.create_check_constraint(
            op.f("ck_users_failed_logins_not_negative"), "failed_logins >= 0"
        )
    if not sqlite:
        _move_to_the_end("users", "created_at", sa.DateTime(), nullable=False)
        _move_to_the_end("users", "last_login_at", sa.DateTime(), nullable=True)
    op.drop_index(op.f("ix_recovery_codes_user_id"), table_name="recovery_codes")
    op.drop_table("recovery_codes")
    op.drop_index(op.f("ix_login_throttles_updated_at"), table_name="login_throttles")
    op.drop_table("login_throttles")
