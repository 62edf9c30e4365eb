"""Create a backup: one consistent snapshot while the app serves and writes, then rotate.

SQLite's online backup API, or ``pg_dump --snapshot`` of a snapshot that this module
exported and counted the rows in, so the manifest's counts describe exactly the dump.
Used by ``flask backup create`` (:mod:`webapp.backup.cli`); see ``docs/backups.md``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import SQLAlchemyError

from webapp.backup import postgres, sqlite
from webapp.backup.contents import database_kind, read_database, schema_revision, table_counts
from webapp.backup.files import (
    EXTENSIONS,
    BackupError,
    Manifest,
    backup_name,
    backups_in,
    backups_to_keep,
    create_private,
    delete_backup,
    manifest_path,
    publish,
    sha256_of,
    unused_path,
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class BackupResult:
    """A backup just made.

    Attributes:
        path: the backup file.
        manifest: what it holds.
        deleted: older backups removed by the rotation.
    """

    path: Path
    manifest: Manifest
    deleted: list[Path] = field(default_factory=list)


def _snapshot_sqlite(url: URL, partial: Path) -> tuple[datetime, str | None, dict[str, int], str]:
    """Back a SQLite database up into ``partial``; return time, revision, counts, tool."""
    taken_at = _utcnow()
    sqlite.snapshot(sqlite.database_path(url), partial)
    revision, counts = read_database(create_engine(sqlite.read_only_url(partial)))
    return taken_at, revision, counts, f"SQLite online backup API (SQLite {sqlite.VERSION})"


def _snapshot_postgres(
    engine: Engine, partial: Path, bin_dir: str | None
) -> tuple[datetime, str | None, dict[str, int], str, str]:
    """Dump a PostgreSQL database into ``partial``; return time, revision, counts, tools.

    The rows are counted in a ``REPEATABLE READ`` transaction whose snapshot is exported
    to ``pg_dump --snapshot`` while the transaction stays open, so the counts are those
    of the dump, whatever is written meanwhile.
    """
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
            taken_at = _utcnow()
            server_version = str(connection.scalar(text("SHOW server_version")))
            revision, counts = schema_revision(connection), table_counts(connection)
            tool = postgres.find_tool(
                "pg_dump", postgres.major_version(server_version) or 0, bin_dir
            )
            postgres.dump(tool, engine.url, str(snapshot), partial)
    return taken_at, revision, counts, tool.version, server_version


def create_backup(
    engine: Engine,
    folder: Path,
    *,
    pg_bin_dir: str | None = None,
    keep_daily: int | None = None,
    keep_weekly: int | None = None,
) -> BackupResult:
    """Back up the database of ``engine`` into ``folder``, then rotate if asked.

    Args:
        engine: the application's engine (its URL names the database).
        folder: where backups go; created (mode 0700) when missing.
        pg_bin_dir: ``PG_BIN_DIR``, where to find ``pg_dump``.
        keep_daily: with ``keep_weekly``, the rotation (:func:`files.backups_to_keep`);
            both ``None``: no rotation.
        keep_weekly: see ``keep_daily``.

    Returns:
        The backup (mode 0600), its manifest (beside it, 0600) and the deleted backups.

    Raises:
        BackupError: when the database cannot be read or the dump fails; nothing is
            left in ``folder`` then.
    """
    kind = database_kind(engine.url)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = folder / f".students-{secrets.token_hex(6)}{EXTENSIONS[kind]}.partial"
    create_private(partial)
    try:
        server_version = None
        try:
            if kind == "sqlite":
                taken_at, revision, counts, tool = _snapshot_sqlite(engine.url, partial)
            else:
                taken_at, revision, counts, tool, server_version = _snapshot_postgres(
                    engine, partial, pg_bin_dir
                )
        except SQLAlchemyError as error:
            raise BackupError(f"Could not read the database: {error}") from error
        path = unused_path(folder, backup_name(kind, taken_at, revision))
        manifest = Manifest(
            database=kind,
            revision=revision,
            taken_at=taken_at.isoformat(timespec="seconds"),
            tables=counts,
            file=path.name,
            size=partial.stat().st_size,
            sha256=sha256_of(partial),
            tool=tool,
            server_version=server_version,
        )
        manifest.write(manifest_path(path))
        publish(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    deleted: list[Path] = []
    if keep_daily is not None or keep_weekly is not None:
        backups = backups_in(folder, kind)
        keep = backups_to_keep(backups, keep_daily=keep_daily or 0, keep_weekly=keep_weekly or 0)
        keep.add(path)
        for old, _ in backups:
            if old not in keep:
                delete_backup(old)
                deleted.append(old)
    return BackupResult(path, manifest, deleted)
