"""The roster's search index, for databases made from the models (``db.create_all()``).

Migration 0015 makes the same objects in migrated databases (its SQL is its own, as a
migration's must be); ``tests/test_migrations.py`` compares the two schemas. See
:mod:`webapp.students.search` for how the search uses them.

* SQLite: ``students_fts``, an FTS5 table with the ``trigram`` tokenizer over ``name`` and
  ``email``, external content (``students``), and the triggers that keep it in step.
* PostgreSQL: ``pg_trgm`` and GIN ``gin_trgm_ops`` indexes on ``name`` and ``email``.
"""

from __future__ import annotations

from sqlalchemy import DDL, event

from webapp.models.student import Student

_ADD = "INSERT INTO students_fts (rowid, name, email) VALUES (NEW.id, NEW.name, NEW.email);"
_REMOVE = (
    "INSERT INTO students_fts (students_fts, rowid, name, email)"
    " VALUES ('delete', OLD.id, OLD.name, OLD.email);"
)
#: SQLite: the FTS5 table, then its triggers on ``students``.
SQLITE_DDL = (
    "CREATE VIRTUAL TABLE students_fts USING fts5("
    "name, email, content='students', content_rowid='id', tokenize='trigram')",
    f"CREATE TRIGGER trg_students_fts_insert AFTER INSERT ON students BEGIN {_ADD} END",
    f"CREATE TRIGGER trg_students_fts_delete AFTER DELETE ON students BEGIN {_REMOVE} END",
    "CREATE TRIGGER trg_students_fts_update AFTER UPDATE OF id, name, email ON students"
    " WHEN OLD.id IS NOT NEW.id OR OLD.name IS NOT NEW.name OR OLD.email IS NOT NEW.email"
    f" BEGIN {_REMOVE} {_ADD} END",
)
#: The names of the triggers of :data:`SQLITE_DDL`.
SEARCH_TRIGGERS = ("trg_students_fts_insert", "trg_students_fts_delete", "trg_students_fts_update")
#: PostgreSQL: the extension, then the trigram indexes.
POSTGRESQL_DDL = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_students_name_trgm ON students USING gin (name gin_trgm_ops)",
    "CREATE INDEX ix_students_email_trgm ON students USING gin (email gin_trgm_ops)",
)

for _dialect, _statements in (("sqlite", SQLITE_DDL), ("postgresql", POSTGRESQL_DDL)):
    for _sql in _statements:
        _ddl = DDL(_sql).execute_if(dialect=_dialect)  # type: ignore[no-untyped-call]
        event.listen(Student.__table__, "after_create", _ddl)
