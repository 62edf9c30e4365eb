"""Create, verify and restore backups of the application's database (SQLite or PostgreSQL).

Used by ``flask backup ...`` (:mod:`webapp.backup.cli`); see ``docs/backups.md``.

* :func:`create_backup` takes one consistent snapshot while the app serves and writes:
  SQLite's online backup API, or ``pg_dump --snapshot`` of a snapshot that this module
  exported and counted the rows in, so the manifest's counts describe exactly the dump.
* :func:`verify_backup` checks a backup against its manifest without touching any
  served database.
* :func:`restore_backup` restores into a new, empty database, never over the served one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, func, inspect, select, table, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from webapp.backup import postgres, sqlite
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
from webapp.config import normalise_database_url

__all__ = [
    "BackupError",
    "BackupResult",
    "Check",
    "VerifyReport",
    "create_backup",
    "restore_backup",
    "verify_backup",
]


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


def _utcnow() -> datetime:
    return datetime.now(UTC)


# --- create ------------------------------------------------------------------------------


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


# --- verify ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One finding of a verification: what was checked, whether it passed, and detail."""

    name: str
    ok: bool
    detail: str


@dataclass
class VerifyReport:
    """The outcome of :func:`verify_backup`.

    Attributes:
        path: the backup checked.
        database: its kind.
        manifest: its manifest, ``None`` when missing or unreadable.
        revision: the revision found in the backup.
        counts: rows per table found in the backup.
        checks: every check, in order.
    """

    path: Path
    database: str
    manifest: Manifest | None = None
    revision: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return bool(self.checks) and all(check.ok for check in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> None:
        """Record a check."""
        self.checks.append(Check(name, ok, detail))


def _kind_of_file(path: Path) -> str:
    for kind, extension in EXTENSIONS.items():
        if path.name.endswith(extension):
            return kind
    raise BackupError(f"{path.name} is not a backup: expected a .sqlite3 or .dump file.")


def _compare_counts(expected: dict[str, int], found: dict[str, int]) -> list[str]:
    return [
        f"{name}: {found.get(name, 'missing')} rows, manifest says {expected.get(name, 'none')}"
        for name in sorted(set(expected) | set(found))
        if expected.get(name) != found.get(name)
    ]


def _check_revision(report: VerifyReport, known: Collection[str], heads: Collection[str]) -> None:
    revision = report.revision
    expected = report.manifest.revision if report.manifest else None
    if report.manifest and revision != expected:
        report.add("revision", False, f"{revision}, but the manifest says {expected}")
        return
    parts = revision.split(",") if revision else []
    if not parts:
        report.add("revision", False, "no alembic_version: not a database made by this app")
    elif not all(part in known for part in parts):
        report.add(
            "revision",
            False,
            f"{revision} is unknown to this release: restore it with the release that made "
            "it (or a newer one)",
        )
    elif set(parts) == set(heads):
        report.add("revision", True, f"{revision} (this release's head)")
    else:
        report.add(
            "revision",
            True,
            f"{revision}, behind this release's head {','.join(sorted(heads))}: run "
            "`flask db upgrade` on the restored database",
        )


def verify_backup(
    path: Path,
    *,
    known_revisions: Collection[str],
    heads: Collection[str],
    pg_bin_dir: str | None = None,
) -> VerifyReport:
    """Check a backup file against its manifest, without any server.

    Checks, in order: the manifest is there; the file's size and SHA-256 match it; the
    file reads as a whole (SQLite: ``PRAGMA integrity_check``; PostgreSQL: ``pg_restore``
    reads every entry); its Alembic revision matches the manifest and is known to this
    release; its rows per table match the manifest's counts.

    Args:
        path: the backup file (``.sqlite3`` or ``.dump``).
        known_revisions: every revision of this release's migrations.
        heads: this release's head revisions.
        pg_bin_dir: ``PG_BIN_DIR``, where to find ``pg_restore``.

    Returns:
        The report; ``report.ok`` tells whether every check passed.

    Raises:
        BackupError: when ``path`` is missing or not named like a backup.
    """
    if not path.is_file():
        raise BackupError(f"No backup file at {path}.")
    report = VerifyReport(path, _kind_of_file(path))
    try:
        report.manifest = Manifest.read(manifest_path(path))
    except BackupError as error:
        report.add("manifest", False, str(error))
    else:
        report.add(
            "manifest", True, f"{report.manifest.database}, taken {report.manifest.taken_at}"
        )
        size, digest = path.stat().st_size, sha256_of(path)
        same = size == report.manifest.size and digest == report.manifest.sha256
        report.add(
            "checksum",
            same,
            f"{size:,} bytes, SHA-256 as in the manifest"
            if same
            else f"{size:,} bytes, SHA-256 {digest[:16]}…: not the file the manifest describes",
        )

    if report.database == "sqlite":
        problems = sqlite.integrity_problems(path)
        report.add("integrity", not problems, "; ".join(problems[:5]) or "integrity_check: ok")
        if problems:
            return report
        report.revision, report.counts = read_database(create_engine(sqlite.read_only_url(path)))
    else:
        major = postgres.major_version(report.manifest.tool if report.manifest else "") or 0
        tool = postgres.find_tool("pg_restore", major, pg_bin_dir)
        try:
            report.counts, revisions = postgres.read_archive(tool, path)
        except BackupError as error:
            report.add("integrity", False, str(error))
            return report
        report.add("integrity", True, f"{tool.version} read every entry")
        report.revision = ",".join(sorted(revisions)) or None

    _check_revision(report, known_revisions, heads)
    if report.manifest:
        differences = _compare_counts(report.manifest.tables, report.counts)
        total = sum(report.counts.values())
        report.add(
            "row counts",
            not differences,
            "; ".join(differences)
            or f"{len(report.counts)} tables, {total:,} rows, as in the manifest",
        )
    return report


# --- restore -----------------------------------------------------------------------------


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
    differences = _compare_counts(verified.manifest.tables, report.counts)
    report.add(
        "row counts",
        not differences,
        "; ".join(differences)
        or f"{len(report.counts)} tables, {sum(report.counts.values()):,} rows, as in the manifest",
    )
    if not report.ok and undo is not None:
        undo()
    return report
