"""What a database or a backup holds: its kind, its Alembic revision and its rows per table.

Shared by the creation, the verification and the restore of backups
(:mod:`.creating`, :mod:`.verifying`, :mod:`.restoring`).
"""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, table
from sqlalchemy.engine import URL, Connection, Engine

from webapp.backup.files import EXTENSIONS, BackupError


def database_kind(url: URL) -> str:
    """``"sqlite"`` or ``"postgresql"`` for ``url``.

    Raises:
        BackupError: for any other database.
    """
    backend = url.get_backend_name()
    if backend not in EXTENSIONS:
        raise BackupError(f"Backups support SQLite and PostgreSQL, not {backend}.")
    return backend


def schema_revision(connection: Connection) -> str | None:
    """The database's Alembic revision (heads joined by ``,``), ``None`` when unversioned."""
    heads = MigrationContext.configure(connection).get_current_heads()
    return ",".join(sorted(heads)) or None


def table_counts(connection: Connection) -> dict[str, int]:
    """Rows per table of the connection's default schema, by table name."""
    return {
        name: connection.scalar(select(func.count()).select_from(table(name))) or 0
        for name in sorted(inspect(connection).get_table_names())
    }


def read_database(engine: Engine) -> tuple[str | None, dict[str, int]]:
    """The revision and rows per table of ``engine``'s database; the engine is disposed."""
    try:
        with engine.connect() as connection:
            return schema_revision(connection), table_counts(connection)
    finally:
        engine.dispose()
