"""``flask backup ...``: back up, verify and restore the database (see ``docs/backups.md``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
from alembic.script import ScriptDirectory
from flask import current_app
from flask.cli import AppGroup

from webapp.backup.creating import create_backup
from webapp.backup.files import BackupError
from webapp.backup.restoring import restore_backup
from webapp.backup.verifying import VerifyReport, verify_backup
from webapp.extensions import db

backup_cli = AppGroup("backup", help="Back up the database, check a backup, restore one.")

#: Sub-folder of the instance folder where backups go unless told otherwise.
DEFAULT_FOLDER = "backups"


def _revisions() -> tuple[set[str], set[str]]:
    """Every revision of this release's migrations, and the heads."""
    migrate = current_app.extensions["migrate"]
    scripts = ScriptDirectory.from_config(migrate.migrate.get_config(str(migrate.directory)))
    return {script.revision for script in scripts.walk_revisions()}, set(scripts.get_heads())


def _bin_dir() -> str | None:
    return current_app.config.get("PG_BIN_DIR") or None


def _show_counts(counts: dict[str, int]) -> None:
    for name, rows in counts.items():
        click.echo(f"  {name:<20} {rows:>12,}")


def _show_report(report: VerifyReport) -> None:
    for check in report.checks:
        click.echo(f"  {'ok  ' if check.ok else 'FAIL'}  {check.name}: {check.detail}")


@backup_cli.command("create")
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the backup. Default: BACKUP_DIR, else instance/backups.",
)
@click.option(
    "--keep-daily",
    type=click.IntRange(min=0),
    default=None,
    help="Then delete older backups, keeping the newest of each of the last N days.",
)
@click.option(
    "--keep-weekly",
    type=click.IntRange(min=0),
    default=None,
    help="... and the newest of each of the last M weeks (ISO weeks, UTC).",
)
@click.option(
    "--verify",
    "then_verify",
    is_flag=True,
    help="Then check the new backup as `flask backup verify` does; exit 1 if it fails.",
)
def create_command(
    output: Path | None, keep_daily: int | None, keep_weekly: int | None, then_verify: bool
) -> None:
    """Back up the configured database while the app keeps serving.

    SQLite: SQLite's online backup API, from one read snapshot (never a file copy).
    PostgreSQL: pg_dump in custom format, at least as new as the server (from
    PG_BIN_DIR, else Debian's /usr/lib/postgresql/<major>/bin, else PATH). The file is named
    students-<UTC time>-<revision>.sqlite3 or .dump, has mode 0600, and gets a manifest
    (<file>.manifest.json: revision, time, rows per table, SHA-256). With --keep-daily or
    --keep-weekly, older backups in the folder are deleted; without, none is. With
    --verify, the new backup is then checked as `flask backup verify` does.
    """
    folder = output or Path(
        current_app.config.get("BACKUP_DIR") or Path(current_app.instance_path, DEFAULT_FOLDER)
    )
    try:
        result = create_backup(
            db.engine,
            folder,
            pg_bin_dir=_bin_dir(),
            keep_daily=keep_daily,
            keep_weekly=keep_weekly,
        )
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    manifest = result.manifest
    click.echo(
        f"Backed up the {manifest.database} database at revision {manifest.revision} "
        f"({manifest.taken_at}) to {result.path} ({manifest.size:,} bytes)."
    )
    _show_counts(manifest.tables)
    for path in result.deleted:
        click.echo(f"Deleted old backup {path.name}.")
    if then_verify:
        _verify(result.path)


def _checked(
    function: Callable[..., VerifyReport], *args: object, **kwargs: object
) -> VerifyReport:
    """Call a verifying function (verify, restore) with this release's revisions and ``PG_BIN_DIR``.

    Raises:
        click.ClickException: with the message of a :class:`BackupError`.
    """
    known, heads = _revisions()
    try:
        return function(*args, known_revisions=known, heads=heads, pg_bin_dir=_bin_dir(), **kwargs)
    except BackupError as error:
        raise click.ClickException(str(error)) from error


def _verify(file: Path) -> None:
    """Verify ``file`` and print the checks; exit 1 when one fails."""
    report = _checked(verify_backup, file)
    click.echo(f"{file}:")
    _show_report(report)
    if not report.ok:
        raise click.ClickException("The backup failed verification.")
    click.echo("The backup is good.")


@backup_cli.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def verify_command(file: Path) -> None:
    """Check a backup FILE: manifest, checksum, integrity, revision, rows per table.

    SQLite: PRAGMA integrity_check. PostgreSQL: pg_restore reads every entry (no server
    needed). The revision must be one of this release's migrations, and the rows per
    table must equal the manifest's. Exits 1 when a check fails.
    """
    _verify(file)


@backup_cli.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--to",
    "target",
    required=True,
    metavar="URL",
    help="The new database: sqlite:////path/new.db (a file that does not exist yet), or "
    "postgresql://user@host/newdb (created empty beforehand, e.g. with createdb).",
)
def restore_command(file: Path, target: str) -> None:
    """Restore a backup FILE into a new, empty database, never the served one.

    The backup is verified first. Afterwards the restored database's revision and rows
    per table are compared with the manifest. Nothing switches over by itself: point
    DATABASE_URL at the new database and restart the app (docs/backups.md). Exits 1 on
    failure.
    """
    report = _checked(
        restore_backup,
        file,
        target,
        served_url=current_app.config["SQLALCHEMY_DATABASE_URI"],
    )
    click.echo(f"Restored {file.name} into the new database:")
    _show_report(report)
    if not report.ok:
        raise click.ClickException("The restored database does not match the manifest.")
    _show_counts(report.counts)
    click.echo(
        "Next: run `flask db upgrade` with DATABASE_URL set to the new database if the "
        "backup is behind this release, then point DATABASE_URL at it and restart the app "
        "(a restart, not a reload: see docs/backups.md, 'Switching over')."
    )
