"""Verify a backup against its manifest, without touching any served database.

The manifest, the file's size and SHA-256, the file read as a whole, its Alembic
revision and its rows per table (:func:`verify_backup`); the findings are a
:class:`VerifyReport`, which the restore reuses for its own checks.
Used by ``flask backup verify`` (:mod:`webapp.backup.cli`); see ``docs/backups.md``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine

from webapp.backup import postgres, sqlite
from webapp.backup.contents import read_database
from webapp.backup.files import EXTENSIONS, BackupError, Manifest, manifest_path, sha256_of


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


def compare_counts(expected: dict[str, int], found: dict[str, int]) -> list[str]:
    """One line per table whose rows ``found`` differ from the ``expected`` (manifest's)."""
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
        differences = compare_counts(report.manifest.tables, report.counts)
        total = sum(report.counts.values())
        report.add(
            "row counts",
            not differences,
            "; ".join(differences)
            or f"{len(report.counts)} tables, {total:,} rows, as in the manifest",
        )
    return report
