"""Homerooms per school year, their teachers, a student's homeroom, and the teacher role.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30

Upgrade, schema:

* ``homerooms`` (per school year: name, grade, room, capacity, ``sourced_id``, version,
  timestamps; names unique within a year; ``(id, school_year_id)`` unique, the target of
  the enrollments' composite key) and ``homeroom_teachers`` (homeroom, account).
* ``enrollments`` gains ``homeroom_id`` (NULL: no homeroom) with a composite foreign key
  ``(homeroom_id, school_year_id)`` to ``homerooms (id, school_year_id)``: a student is in
  at most one homeroom a year (one enrollment a year), and only in a homeroom of that
  year. Indexed for the class lists.
* ``users.role`` may also be ``teacher`` (its CHECK is replaced).
* ``audit_events.entity`` may also be ``homeroom`` (its CHECK is replaced): a homeroom's
  definition is audited.

Upgrade, to existing rows: none change. No enrollment has a homeroom; no account is a
teacher. Every row is kept.

On SQLite ``enrollments``, ``users`` and ``audit_events`` are rebuilt (batch mode). The
events' ``reverts_id``, which refers to the table itself, is set aside and written back
(as in 0011). The enrollments' triggers (which keep ``enrollment_counts``) go with the old
table and are created again from their SQL as ``sqlite_master`` held it. Dropping the old
``users`` would run the ``ON DELETE`` actions of the tables that refer to it (foreign keys
are on): whatever refers to an account (the account ids of the audit trail, its batches
and the import mappings; recovery codes; homeroom teachers) is set aside in temporary
tables and written back; the expression index on ``lower(email)`` is dropped before and
made again after (as in 0010).

Downgrade: drops the homerooms, their teachers and every student's homeroom (those are
lost), and the audit events of homerooms, and puts back the old CHECKs. Accounts with the
``teacher`` role become **deactivated** viewers (named in a warning): before this revision
no role sees only some students, and a viewer sees everyone, so none of them may sign in
until an administrator decides (``flask users activate`` or ``set-role``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

logger = logging.getLogger("alembic.runtime.migration")

USERS_EMAIL_INDEX = "uq_users_email_lower"
ROLES_BEFORE = "'viewer', 'editor', 'admin'"
ROLES_AFTER = "'teacher', 'viewer', 'editor', 'admin'"
HOMEROOM_FK = "fk_enrollments_homeroom_id_homerooms"
ENTITIES_BEFORE = "'student', 'enrollment', 'school_year'"
ENTITIES_AFTER = "'student', 'enrollment', 'school_year', 'homeroom'"


def _sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


@contextmanager
def _enrollment_triggers_kept() -> Iterator[None]:
    """On SQLite, create the ``enrollments`` triggers again after a rebuild drops them."""
    if not _sqlite() or op.get_context().as_sql:
        yield
        return
    triggers = [
        sql
        for (sql,) in op.get_bind().exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'enrollments'"
            " ORDER BY name"
        )
    ]
    yield
    for sql in triggers:
        op.execute(sql)


def _references_to_users() -> list[tuple[str, str, str]]:
    """``(table, column, ON DELETE action)`` of every foreign key to ``users`` (SQLite)."""
    bind = op.get_bind()
    tables = [
        name
        for (name,) in bind.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY name"
        )
    ]
    found = []
    for table in tables:
        for row in bind.exec_driver_sql(f"PRAGMA foreign_key_list('{table}')"):
            if row[2] == "users":
                found.append((table, str(row[3]), str(row[6]).upper()))
    return found


@contextmanager
def _users_rebuilt() -> Iterator[None]:
    """On SQLite, keep what refers to ``users`` across a rebuild of the table.

    Dropping the old table runs each referring foreign key's ``ON DELETE`` action. So the
    rows of tables that cascade (recovery codes, homeroom teachers) are copied aside and
    put back, and the account ids of the others (the audit trail, its batches, import
    mappings) are saved, cleared, and written back, whatever tables exist by then.
    """
    if not _sqlite() or op.get_context().as_sql:
        yield
        return
    references = _references_to_users()
    for number, (table, column, action) in enumerate(references):
        if action == "CASCADE":
            op.execute(f"CREATE TEMPORARY TABLE _saved_users_{number} AS SELECT * FROM {table}")
        else:
            op.execute(
                f"CREATE TEMPORARY TABLE _saved_users_{number} AS SELECT rowid AS row_id,"
                f" {column} AS user_id FROM {table} WHERE {column} IS NOT NULL"
            )
            op.execute(f"UPDATE {table} SET {column} = NULL WHERE {column} IS NOT NULL")
    op.drop_index(USERS_EMAIL_INDEX, table_name="users")
    yield
    op.create_index(USERS_EMAIL_INDEX, "users", [sa.text("lower(email)")], unique=True)
    for number, (table, column, action) in enumerate(references):
        saved = f"_saved_users_{number}"
        if action == "CASCADE":
            op.execute(f"DELETE FROM {table}")
            op.execute(f"INSERT INTO {table} SELECT * FROM {saved}")
        else:
            op.execute(
                f"UPDATE {table} SET {column} = (SELECT s.user_id FROM {saved} s"
                f" WHERE s.row_id = {table}.rowid) WHERE rowid IN (SELECT row_id FROM {saved})"
            )
        op.execute(f"DROP TABLE {saved}")


@contextmanager
def _audit_reverts_set_aside() -> Iterator[None]:
    """On SQLite, keep ``audit_events.reverts_id`` across a rebuild of the table."""
    if not _sqlite():
        yield
        return
    op.execute(
        "CREATE TEMPORARY TABLE _saved_reverts AS"
        " SELECT id, reverts_id FROM audit_events WHERE reverts_id IS NOT NULL"
    )
    op.execute("UPDATE audit_events SET reverts_id = NULL WHERE reverts_id IS NOT NULL")
    yield
    op.execute(
        "UPDATE audit_events SET reverts_id ="
        " (SELECT s.reverts_id FROM _saved_reverts s WHERE s.id = audit_events.id)"
        " WHERE id IN (SELECT id FROM _saved_reverts)"
    )
    op.execute("DROP TABLE _saved_reverts")


def _set_entities(entities: str) -> None:
    with _audit_reverts_set_aside(), op.batch_alter_table("audit_events") as batch:
        batch.drop_constraint(op.f("ck_audit_events_entity_known"), type_="check")
        batch.create_check_constraint(
            op.f("ck_audit_events_entity_known"), f"entity IN ({entities})"
        )


def _set_roles(roles: str) -> None:
    with _users_rebuilt(), op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("ck_users_role_known"), type_="check")
        batch.create_check_constraint(op.f("ck_users_role_known"), f"role IN ({roles})")


def upgrade() -> None:
    """Create the homeroom tables, give enrollments a homeroom, allow the teacher role."""
    op.create_table(
        "homerooms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sourced_id", sa.String(length=36), nullable=False),
        sa.Column("school_year_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("room", sa.String(length=40), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("grade BETWEEN 1 AND 12", name=op.f("ck_homerooms_grade_range")),
        sa.CheckConstraint("capacity BETWEEN 1 AND 200", name=op.f("ck_homerooms_capacity_range")),
        sa.CheckConstraint(
            "length(trim(name)) >= 1 AND length(name) <= 40", name=op.f("ck_homerooms_name_length")
        ),
        sa.ForeignKeyConstraint(
            ["school_year_id"],
            ["school_years.id"],
            name=op.f("fk_homerooms_school_year_id_school_years"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_homerooms")),
        sa.UniqueConstraint("id", "school_year_id", name=op.f("uq_homerooms_id_school_year_id")),
        sa.UniqueConstraint(
            "school_year_id", "name", name=op.f("uq_homerooms_school_year_id_name")
        ),
        sa.UniqueConstraint("sourced_id", name=op.f("uq_homerooms_sourced_id")),
    )
    op.create_table(
        "homeroom_teachers",
        sa.Column("homeroom_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["homeroom_id"],
            ["homerooms.id"],
            name=op.f("fk_homeroom_teachers_homeroom_id_homerooms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_homeroom_teachers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("homeroom_id", "user_id", name=op.f("pk_homeroom_teachers")),
    )
    op.add_column("enrollments", sa.Column("homeroom_id", sa.Integer(), nullable=True))
    with _enrollment_triggers_kept(), op.batch_alter_table("enrollments") as batch:
        batch.create_foreign_key(
            HOMEROOM_FK, "homerooms", ["homeroom_id", "school_year_id"], ["id", "school_year_id"]
        )
        batch.create_index(op.f("ix_enrollments_homeroom_id"), ["homeroom_id"])
    _set_roles(ROLES_AFTER)
    _set_entities(ENTITIES_AFTER)


def downgrade() -> None:
    """Drop the homerooms and every student's homeroom; refuse while teachers exist."""
    # Before this revision no role sees only some students: a teacher kept as a viewer
    # would see everyone. Teachers become deactivated viewers (they cannot sign in) until
    # an administrator decides; they are named in the log.
    if not op.get_context().as_sql:
        teachers = [
            email
            for (email,) in op.get_bind().execute(
                sa.text("SELECT email FROM users WHERE role = 'teacher' ORDER BY email")
            )
        ]
        if teachers:
            logger.warning(
                "Downgrade below 0013: %d teacher account(s) became deactivated viewers: %s",
                len(teachers),
                ", ".join(teachers),
            )
    op.execute("UPDATE users SET role = 'viewer', active = false WHERE role = 'teacher'")
    _set_roles(ROLES_BEFORE)
    op.execute(
        "UPDATE audit_events SET reverts_id = NULL WHERE reverts_id IN"
        " (SELECT id FROM (SELECT id FROM audit_events WHERE entity = 'homeroom') AS h)"
    )
    op.execute("DELETE FROM audit_events WHERE entity = 'homeroom'")
    _set_entities(ENTITIES_BEFORE)
    with _enrollment_triggers_kept(), op.batch_alter_table("enrollments") as batch:
        batch.drop_index(op.f("ix_enrollments_homeroom_id"))
        batch.drop_constraint(HOMEROOM_FK, type_="foreignkey")
        batch.drop_column("homeroom_id")
    op.drop_table("homeroom_teachers")
    op.drop_table("homerooms")
