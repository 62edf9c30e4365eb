"""Guardians and contacts: guardians, their phone numbers, and their links to students.

Revision ID: 0014
Revises: 0012
Create Date: 2026-11-30

Upgrade, schema:

* ``guardians`` (name, email, preferred language as a BCP 47 tag, a ``sourced_id`` UUID,
  version and timestamps).
* ``guardian_phones`` (per guardian, numbered from 1: kind ``mobile``/``home``/``work`` and
  the number in E.164; CHECKs for the kind, the ``+`` and the length).
* ``student_guardians`` (primary key student and guardian, so a guardian is linked to a
  student once: the relationship from a fixed vocabulary, emergency contact, lives with,
  pickup allowed, contact order from 1, version and timestamps; deleting the student or
  the guardian deletes the link).
* ``audit_events.entity`` may also be ``guardian`` and ``guardian_link`` (its CHECK is
  replaced; on SQLite the table is rebuilt in batch mode, ``reverts_id`` set aside as in
  0011).

Upgrade, to existing rows: none change (no guardians exist before this revision).

Downgrade: drops the three tables (every guardian, phone number and link is lost) and
deletes the audit events about guardians and links, then puts the entity CHECK back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None

ENTITIES_BEFORE = "'student', 'enrollment', 'school_year'"
ENTITIES_AFTER = ENTITIES_BEFORE + ", 'guardian', 'guardian_link'"
PHONE_KINDS = "'mobile', 'home', 'work'"
RELATIONSHIPS = (
    "'mother', 'father', 'parent', 'guardian', 'grandparent', 'sibling', 'relative', 'other'"
)


def _dialect() -> str:
    return op.get_context().dialect.name


@contextmanager
def _audit_reverts_set_aside() -> Iterator[None]:
    """On SQLite, keep ``audit_events.reverts_id`` across a rebuild of the table (see 0011)."""
    if _dialect() != "sqlite":
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


def _entity_check(entities: str) -> None:
    """Replace the CHECK on ``audit_events.entity`` with one listing ``entities``."""
    with _audit_reverts_set_aside(), op.batch_alter_table("audit_events") as batch:
        batch.drop_constraint(op.f("ck_audit_events_entity_known"), type_="check")
        batch.create_check_constraint(
            op.f("ck_audit_events_entity_known"), f"entity IN ({entities})"
        )


def _stamps() -> list[sa.Column[object]]:
    return [
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    ]


def upgrade() -> None:
    """Create the guardian tables and let the audit trail name guardians and links."""
    op.create_table(
        "guardians",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sourced_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("preferred_language", sa.String(length=35), nullable=True),
        *_stamps(),
        sa.CheckConstraint("length(trim(name)) > 0", name=op.f("ck_guardians_name_not_blank")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guardians")),
        sa.UniqueConstraint("sourced_id", name=op.f("uq_guardians_sourced_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_guardians_name"), "guardians", ["name"])
    op.create_table(
        "guardian_phones",
        sa.Column("guardian_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.CheckConstraint(f"kind IN ({PHONE_KINDS})", name=op.f("ck_guardian_phones_kind_known")),
        sa.CheckConstraint(
            "number LIKE '+%' AND length(number) BETWEEN 3 AND 16",
            name=op.f("ck_guardian_phones_e164"),
        ),
        sa.CheckConstraint("position >= 1", name=op.f("ck_guardian_phones_position_positive")),
        sa.ForeignKeyConstraint(
            ["guardian_id"],
            ["guardians.id"],
            name=op.f("fk_guardian_phones_guardian_id_guardians"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("guardian_id", "position", name=op.f("pk_guardian_phones")),
    )
    op.create_index(op.f("ix_guardian_phones_number"), "guardian_phones", ["number"])
    op.create_table(
        "student_guardians",
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("guardian_id", sa.Integer(), nullable=False),
        sa.Column("relationship", sa.String(length=16), nullable=False),
        sa.Column(
            "emergency_contact", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("lives_with", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("pickup_allowed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("contact_order", sa.Integer(), server_default=sa.text("1"), nullable=False),
        *_stamps(),
        sa.CheckConstraint(
            f"relationship IN ({RELATIONSHIPS})",
            name=op.f("ck_student_guardians_relationship_known"),
        ),
        sa.CheckConstraint(
            "contact_order >= 1", name=op.f("ck_student_guardians_contact_order_positive")
        ),
        sa.ForeignKeyConstraint(
            ["guardian_id"],
            ["guardians.id"],
            name=op.f("fk_student_guardians_guardian_id_guardians"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_student_guardians_student_id_students"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("student_id", "guardian_id", name=op.f("pk_student_guardians")),
    )
    op.create_index("ix_student_guardians_guardian_id", "student_guardians", ["guardian_id"])
    _entity_check(ENTITIES_AFTER)


def downgrade() -> None:
    """Drop the guardian tables and the audit events about guardians and links."""
    op.execute("DELETE FROM audit_events WHERE entity IN ('guardian', 'guardian_link')")
    _entity_check(ENTITIES_BEFORE)
    op.drop_index("ix_student_guardians_guardian_id", table_name="student_guardians")
    op.drop_table("student_guardians")
    op.drop_index(op.f("ix_guardian_phones_number"), table_name="guardian_phones")
    op.drop_table("guardian_phones")
    op.drop_index(op.f("ix_guardians_name"), table_name="guardians")
    op.drop_table("guardians")
