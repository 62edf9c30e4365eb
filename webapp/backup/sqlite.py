"""SQLite backups through SQLite's online backup API (``sqlite3.Connection.backup``).

Copying the database file while the app writes can tear it: in WAL mode the newest
commits live in ``-wal`` until a checkpoint, and a copy of the main file taken between
two checkpoint writes mixes old and new pages. The backup API instead copies pages
through SQLite, from one read transaction, so the copy is the database as of one
commit (https://www.sqlite.org/backup.html). In WAL mode readers do not block the
writers, so the app keeps serving and writing meanwhile.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import URL

from webapp.backup.files import BackupError

#: How long the backup waits for a lock, in seconds (as the app's busy timeout).
BUSY_TIMEOUT = 5.0
#: The SQLite library's version, named in the manifests.
VERSION = sqlite3.sqlite_version


def database_path(url: URL) -> Path:
    """The file of a SQLite URL, absolute (relative paths are from the working folder).

    Raises:
        BackupError: for an in-memory database, which has no file to back up or restore.
    """
    name = url.database
    if not name or name == ":memory:" or name.startswith("file::memory:"):
        raise BackupError("An in-memory SQLite database has no file to back up or restore to.")
    if name.startswith("file:"):
        name = name[len("file:") :].split("?", 1)[0]
    return Path(name).resolve()


def read_only_url(path: Path) -> str:
    """A SQLAlchemy URL opening ``path`` read-only (the file must exist)."""
    return f"sqlite:///file:{path}?mode=ro&uri=true"


def snapshot(source: Path, destination: Path) -> None:
    """Copy the database ``source`` into the empty file ``destination``, consistently.

    One ``sqlite3_backup_step(-1)`` copies every page within one read transaction, so
    the copy holds exactly the commits made before it began, however many writers run.
    The copy is left in rollback-journal mode (``DELETE``), a single self-contained file.

    Raises:
        BackupError: when ``source`` is missing or not a database.
    """
    if not source.is_file():
        raise BackupError(f"The database file {source} does not exist.")
    try:
        with (
            closing(sqlite3.connect(source, timeout=BUSY_TIMEOUT)) as src,
            closing(sqlite3.connect(destination)) as dst,
        ):
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.DatabaseError as error:
        raise BackupError(f"SQLite could not back up {source}: {error}") from error


def integrity_problems(path: Path) -> list[str]:
    """Run ``PRAGMA integrity_check`` on ``path`` (read-only).

    Returns:
        SQLite's findings; empty when it answered ``ok``.
    """
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            rows = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    except (sqlite3.DatabaseError, UnicodeDecodeError) as error:
        # A damaged schema page makes SQLite's own message undecodable as UTF-8.
        return [f"not a readable SQLite database: {error}"]
    return [] if rows == ["ok"] else rows


def is_empty(path: Path) -> bool:
    """Whether ``path`` is missing, zero bytes long, or a database without any table."""
    if not path.exists() or path.stat().st_size == 0:
        return True
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        (tables,) = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return bool(tables == 0)
