"""Backup files on disk: names, manifests, private atomic writes and rotation."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Hashable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

#: Extension of a backup file, by database kind.
EXTENSIONS = {"sqlite": ".sqlite3", "postgresql": ".dump"}
#: What follows a backup file's name to make its manifest's.
MANIFEST_SUFFIX = ".manifest.json"
#: The time in a backup's name: UTC, to the second.
TIME_FORMAT = "%Y%m%dT%H%M%SZ"
#: ``students-<time>-<revision>[-<n>].<ext>``.
NAME = re.compile(
    r"\Astudents-(?P<time>\d{8}T\d{6}Z)-(?P<revision>[A-Za-z0-9_]+)(?:-\d+)?"
    r"(?P<ext>\.sqlite3|\.dump)\Z"
)
#: Version of the manifest's layout.
MANIFEST_FORMAT = 1


class BackupError(Exception):
    """A backup, verification or restore that cannot go on; the message says why."""


@dataclass(frozen=True)
class Manifest:
    """What a backup holds, written beside it as JSON.

    Attributes:
        database: ``"sqlite"`` or ``"postgresql"``.
        revision: the Alembic revision of the backed-up schema (heads joined by ``,``),
            ``None`` when the database had no ``alembic_version``.
        taken_at: when the snapshot was taken (ISO 8601, UTC).
        tables: rows per table, counted in the backup's own snapshot.
        file: the backup file's name (no folder).
        size: its size in bytes.
        sha256: its SHA-256, hex.
        tool: what made it (``pg_dump`` and its version, or SQLite's backup API).
        server_version: PostgreSQL's ``server_version``; ``None`` for SQLite.
        format: the manifest layout's version.
    """

    database: str
    revision: str | None
    taken_at: str
    tables: dict[str, int]
    file: str
    size: int
    sha256: str
    tool: str
    server_version: str | None = None
    format: int = MANIFEST_FORMAT

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """Read the manifest at ``path``.

        Raises:
            BackupError: when it is missing or not a manifest.
        """
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
            return cls(**known)
        except FileNotFoundError:
            raise BackupError(f"No manifest beside the backup: {path} is missing.") from None
        except (ValueError, TypeError) as error:
            raise BackupError(f"{path} is not a backup manifest: {error}") from None

    def write(self, path: Path) -> None:
        """Write the manifest to ``path`` (mode 0600, atomically)."""
        partial = path.with_name(path.name + ".partial")
        partial.unlink(missing_ok=True)
        create_private(partial)
        try:
            partial.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
            publish(partial, path)
        finally:
            partial.unlink(missing_ok=True)


def manifest_path(backup: Path) -> Path:
    """The manifest of the backup file ``backup``."""
    return backup.with_name(backup.name + MANIFEST_SUFFIX)


def backup_name(database: str, taken_at: datetime, revision: str | None) -> str:
    """The file name of a backup (without any ``-<n>`` added to avoid a clash).

    Args:
        database: ``"sqlite"`` or ``"postgresql"``.
        taken_at: aware time of the snapshot.
        revision: the schema revision, or ``None`` (named ``none``).
    """
    label = re.sub(r"[^A-Za-z0-9_]", "_", revision or "none")
    return f"students-{taken_at.astimezone(UTC):{TIME_FORMAT}}-{label}{EXTENSIONS[database]}"


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's contents, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def create_private(path: Path) -> None:
    """Create ``path`` empty, readable by its owner only (0600); fail if it exists.

    Raises:
        FileExistsError: when ``path`` exists.
    """
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def fsync_path(path: Path) -> None:
    """Flush a file's or a folder's contents to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(partial: Path, final: Path) -> None:
    """Move the finished ``partial`` file to ``final``, durably and atomically.

    Its contents are flushed to the disk before the rename and the folder after it, so a
    crash leaves either no file under ``final`` or a whole one, never a torn backup.
    """
    fsync_path(partial)
    os.replace(partial, final)
    fsync_path(final.parent)


def unused_path(folder: Path, name: str) -> Path:
    """``folder/name``, or ``...-2``, ``-3`` before the extension when that is taken."""
    path = folder / name
    stem, dot, ext = name.partition(".")
    number = 1
    while path.exists() or manifest_path(path).exists():
        number += 1
        path = folder / f"{stem}-{number}{dot}{ext}"
    return path


def backups_in(folder: Path, database: str) -> list[tuple[Path, datetime]]:
    """The backups of kind ``database`` in ``folder`` with their times, newest first."""
    found = []
    for path in folder.glob("students-*"):
        match = NAME.match(path.name)
        if match and match["ext"] == EXTENSIONS[database]:
            taken = datetime.strptime(match["time"], TIME_FORMAT).replace(tzinfo=UTC)
            found.append((path, taken))
    return sorted(found, key=lambda item: (item[1], item[0].name), reverse=True)


def _newest_per_period(
    backups: Iterable[tuple[Path, datetime]], count: int, period: Callable[[datetime], Hashable]
) -> set[Path]:
    kept: set[Path] = set()
    periods: set[Hashable] = set()
    for path, taken in backups:  # newest first
        key = period(taken)
        if key in periods:
            continue
        if len(periods) >= count:
            break
        periods.add(key)
        kept.add(path)
    return kept


def backups_to_keep(
    backups: list[tuple[Path, datetime]], *, keep_daily: int, keep_weekly: int
) -> set[Path]:
    """Which backups a rotation keeps (the policy of restic's ``forget``).

    ``keep_daily`` N: for each of the last N days that have a backup, the newest backup
    of that day. ``keep_weekly`` M: the same for the last M ISO weeks. A backup either rule
    keeps is kept; days and weeks are UTC, as in the names.

    Args:
        backups: ``(path, time)`` pairs, newest first (:func:`backups_in`).
        keep_daily: N, 0 or more.
        keep_weekly: M, 0 or more.

    Returns:
        The paths to keep.
    """
    return _newest_per_period(backups, keep_daily, lambda t: t.date()) | _newest_per_period(
        backups, keep_weekly, lambda t: t.isocalendar()[:2]
    )


def delete_backup(path: Path) -> None:
    """Remove a backup file and its manifest."""
    path.unlink(missing_ok=True)
    manifest_path(path).unlink(missing_ok=True)
