"""District scale: a substring search index on students, and the audit log's indexes.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30

Upgrade, schema:

* SQLite: ``students_fts``, an FTS5 table with the ``trigram`` tokenizer over ``students``'
  ``name`` and ``email`` (external content: it stores only the index, and reads the text
  from ``students`` by ``rowid`` = ``students.id``), filled from the existing rows, and
  three triggers on ``students`` (``trg_students_fts_*``) that keep it in step with every
  insert, delete and change of a name or email, whatever code writes them.
* PostgreSQL: the ``pg_trgm`` extension (created if missing; trusted since PostgreSQL
  13, so the database owner may create it) and two GIN indexes over ``name`` and
  ``email`` with ``gin_trgm_ops``: they serve the very ``ILIKE`` the roster's search
  runs on PostgreSQL, and PostgreSQL keeps them in step itself.
* ``audit_events``: indexes for the log's filters, each ending in ``id`` so the newest
  events of any combination come first without a sort: ``(action, id)``,
  ``(user_id, id)`` (replacing the index on ``user_id`` alone, whose entries PostgreSQL
  does not keep in id order), ``(user_id, action, id)``; and ``reverts_id`` (whether an
  event was undone, looked up on every history page).

No row changes. On SQLite no table is rebuilt. **A later revision that rebuilds
``students`` on SQLite (batch mode) drops the triggers with the old table; it must
create them again** (``SQLITE_TRIGGERS`` below); ``tests/test_search_index.py`` checks
that they exist at head.

Downgrade: drops what the upgrade made; ``pg_trgm`` is left installed (other objects of
the database may use it).
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

#: The FTS5 table of the roster's search (SQLite).
SQLITE_FTS = (
    "CREATE VIRTUAL TABLE students_fts USING fts5("
    "name, email, content='students', content_rowid='id', tokenize='trigram')"
)
_FTS_ADD = "INSERT INTO students_fts (rowid, name, email) VALUES (NEW.id, NEW.name, NEW.email);"
_FTS_REMOVE = (
    "INSERT INTO students_fts (students_fts, rowid, name, email)"
    " VALUES ('delete', OLD.id, OLD.name, OLD.email);"
)
#: The triggers that keep ``students_fts`` in step with ``students``: (name, SQL) pairs.
SQLITE_TRIGGERS = (
    (
        "trg_students_fts_insert",
        f"CREATE TRIGGER trg_students_fts_insert AFTER INSERT ON students BEGIN {_FTS_ADD} END",
    ),
    (
        "trg_students_fts_delete",
        f"CREATE TRIGGER trg_students_fts_delete AFTER DELETE ON students BEGIN {_FTS_REMOVE} END",
    ),
    (
        "trg_students_fts_update",
        "CREATE TRIGGER trg_students_fts_update AFTER UPDATE OF id, name, email ON students"
        " WHEN OLD.id IS NOT NEW.id OR OLD.name IS NOT NEW.name OR OLD.email IS NOT NEW.email"
        f" BEGIN {_FTS_REMOVE} {_FTS_ADD} END",
    ),
)
#: The trigram indexes of the roster's search (PostgreSQL): (name, column).
POSTGRESQL_INDEXES = (
    ("ix_students_name_trgm", "name"),
    ("ix_students_email_trgm", "email"),
)
#: The audit log's indexes: (name, columns).
AUDIT_INDEXES = (
    ("ix_audit_events_action_id", ["action", "id"]),
    ("ix_audit_events_user_id_id", ["user_id", "id"]),
    ("ix_audit_events_user_id_action_id", ["user_id", "action", "id"]),
    ("ix_audit_events_reverts_id", ["reverts_id"]),
)


def _dialect() -> str:
    return op.get_context().dialect.name


def upgrade() -> None:
    """Create the search index (per dialect) and the audit log's indexes."""
    if _dialect() == "sqlite":
        op.execute(SQLITE_FTS)
        op.execute("INSERT INTO students_fts (students_fts) VALUES ('rebuild')")
        for _, sql in SQLITE_TRIGGERS:
            op.execute(sql)
    elif _dialect() == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, column in POSTGRESQL_INDEXES:
            op.execute(f"CREATE INDEX {name} ON students USING gin ({column} gin_trgm_ops)")
    op.drop_index("ix_audit_events_user_id", table_name="audit_events")
    for name, columns in AUDIT_INDEXES:
        op.create_index(name, "audit_events", columns)
    if _dialect() == "postgresql":
        op.execute("ANALYZE students")


def downgrade() -> None:
    """Drop what :func:`upgrade` made (``pg_trgm`` stays)."""
    for name, _ in reversed(AUDIT_INDEXES):
        op.drop_index(name, table_name="audit_events")
    op.create_index("ix_audit_events_user_id", "audit_events", ["user_id"])
    if _dialect() == "sqlite":
        for name, _ in reversed(SQLITE_TRIGGERS):
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE students_fts")
    elif _dialect() == "postgresql":
        for name, _ in reversed(POSTGRESQL_INDEXES):
            op.drop_index(name, table_name="students")
