"""Restore a backup into a new, empty database, never over the served one.

The backup is verified first (:mod:`.verifying`); the restored database is then checked
against the manifest. Used by ``flask backup restore`` (:mod:`webapp.backup.cli`); see
``docs/backups.md``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from webapp.backup import postgres, sqlite
from webapp.backup.contents import database_kind, read_database
from webapp.backup.files import BackupError, create_private
from webapp.backup.verifying import VerifyReport, compare_counts, verify_backup
from webapp.config import normalise_database_url


def same_database(a: URL, b: URL) -> bool:
    """Whether two URLs name the same database (same file; same host, port and name)."""
    if a.get_backend_name() != b.get_backend_name():
        return False
    if a.get_backend_name() == "sqlite":
        first, second = sqlite.database_path(a), sqlite.database_path(b)
        if first.exists() and second.exists():
            return os.path.samefile(first, second)
        return first == second
    local = {None, "", "localhost", "127.0.0.1", "::1"}

    def where(url: URL) -> tuple[str | None, int, str | None]:
        host = "local" if url.host in local else url.host
        return host, url.port or 5432, url.database

    return where(a) == where(b)


def _is_empty_postgres(engine: Engine) -> bool:
    with engine.connect() as connection:
        found = connection.scalar(
            text(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
                "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'"
            )
        )
    return bool(found == 0)


def _restore_sqlite(archive: Path, target: Path) -> Callable[[], None]:
    """Copy the SQLite backup into the new file ``target``; return an undo function."""
    if not target.parent.is_dir():
        raise BackupError(f"The folder {target.parent} does not exist.")
    if target.exists():
        target.chmod(0o600)  # an empty file, as is_empty() checked
    else:
        create_private(target)

    def undo() -> None:
        target.unlink(missing_ok=True)

    try:
        sqlite.snapshot(archive, target)
    except BackupError:
        undo()
        raise
    return undo


def restore_backup(
    path: Path,
    target_url: str,
    *,
    served_url: str,
    known_revisions: Collection[str],
    heads: Collection[str],
    pg_bin_dir: str | None = None,
) -> VerifyReport:
    """Restore a backup into a new, empty database, then check it against the manifest.

    The backup is verified first (:func:`verify_backup`) and must pass. The target must be
    of the backup's kind, must not be the served database, and must be empty (SQLite: a
    file that does not exist yet; PostgreSQL: a database created for it, with no table).

    Args:
        path: the backup file.
        target_url: SQLAlchemy URL of the new database.
        served_url: the configured ``SQLALCHEMY_DATABASE_URI``, which is never written.
        known_revisions: every revision of this release's migrations.
        heads: this release's head revisions.
        pg_bin_dir: ``PG_BIN_DIR``, where to find ``pg_restore``.

    Returns:
        The checks of the restored database: its revision and rows per table compared
        with the manifest.

    Raises:
        BackupError: when the backup fails verification, the target is refused, or the
            restore fails (then nothing is left in the target).
    """
    verified = verify_backup(
        path, known_revisions=known_revisions, heads=heads, pg_bin_dir=pg_bin_dir
    )
    failed = [f"{c.name}: {c.detail}" for c in verified.checks if not c.ok]
    if failed or verified.manifest is None:
        raise BackupError(
            "The backup failed verification, so it was not restored: " + "; ".join(failed)
        )
    target = make_url(normalise_database_url(target_url))
    kind = database_kind(target)
    if kind != verified.database:
        raise BackupError(
            f"A {verified.database} backup restores into {verified.database}, not {kind}."
        )
    if same_database(target, make_url(normalise_database_url(served_url))):
        raise BackupError(
            "The target is the database the app is configured to serve. Restore into a new "
            "database, check it, then switch over (docs/backups.md)."
        )

    if kind == "sqlite":
        target_path = sqlite.database_path(target)
        if not sqlite.is_empty(target_path):
            raise BackupError(f"{target_path} already holds a database; restore into a new file.")
        undo = _restore_sqlite(path, target_path)
        engine = create_engine(sqlite.read_only_url(target_path))
    else:
        engine = create_engine(target)
        undo = None
        try:
            if not _is_empty_postgres(engine):
                raise BackupError(
                    f"The database {target.database} is not empty; restore into a new one "
                    "(createdb, see docs/backups.md)."
                )
            with engine.connect() as connection:
                server = postgres.major_version(str(connection.scalar(text("SHOW server_version"))))
            archive = postgres.major_version(verified.manifest.tool) or 0
            tool = postgres.find_tool("pg_restore", max(server or 0, archive), pg_bin_dir)
            postgres.restore(tool, path, target)
        except SQLAlchemyError as error:
            engine.dispose()
            raise BackupError(f"Could not use the target database: {error}") from error
        except BackupError:
            engine.dispose()
            raise

    report = VerifyReport(path, kind, manifest=verified.manifest)
    report.revision, report.counts = read_database(engine)
    same_revision = report.revision == verified.manifest.revision
    report.add(
        "revision", same_revision, f"{report.revision} (manifest: {verified.manifest.revision})"
    )
    differences = compare_counts(verified.manifest.tables, report.counts)
    report.add(
        "row counts",
        not differences,
        "; ".join(differences)
        or f"{len(report.counts)} tables, {sum(report.counts.values()):,} rows, as in the manifest",
    )
    if not report.ok and undo is not None:
        undo()
    return report
