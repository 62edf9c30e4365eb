"""PostgreSQL backups with ``pg_dump`` (custom format) and ``pg_restore``.

The programs are found in ``PG_BIN_DIR`` when it is set, else in Debian's
``/usr/lib/postgresql/<major>/bin`` for the server's major version, else on ``PATH``; one
older than the server is refused (``pg_dump`` cannot dump a newer server). The password
goes to them in ``PGPASSWORD``, never on the command line, where ``ps`` would show it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy.engine import URL

from webapp.backup.files import BackupError

#: Debian installs each PostgreSQL major version's programs here.
DEBIAN_BIN = Path("/usr/lib/postgresql")
_VERSION = re.compile(r"\(PostgreSQL\) (\d+)(?:\.(\d+))?")
_COPY = re.compile(r'\ACOPY (?:"?[^".\s]+"?\.)?"?([^"\s(]+)"? \(.*\) FROM stdin;\n?\Z')


@dataclass(frozen=True)
class Tool:
    """A PostgreSQL client program: its path, and ``--version`` output."""

    path: Path
    version: str

    @property
    def major(self) -> int:
        """The major version (15 for ``pg_dump (PostgreSQL) 15.18``)."""
        return major_version(self.version) or 0


def major_version(text: str) -> int | None:
    """The major version in a ``--version`` line or a ``server_version``, or ``None``."""
    match = _VERSION.search(text) or re.match(r"\A(\d+)", text)
    return int(match.group(1)) if match else None


def _version_of(path: Path) -> str | None:
    try:
        result = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, check=False, timeout=30
        )
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def find_tool(name: str, major: int, bin_dir: str | None = None) -> Tool:
    """Find ``pg_dump`` or ``pg_restore`` of version ``major`` or newer.

    Args:
        name: the program.
        major: the oldest acceptable major version (the server's, or the archive's).
        bin_dir: ``PG_BIN_DIR``: look only there.

    Raises:
        BackupError: when none is found, or the one found is older than ``major``.
    """
    if bin_dir:
        candidates = [Path(bin_dir) / name]
    else:
        newer = sorted(
            (p for p in DEBIAN_BIN.glob(f"*/bin/{name}") if p.parts[-3].isdigit()),
            key=lambda p: int(p.parts[-3]),
        )
        candidates = [p for p in newer if int(p.parts[-3]) == major]
        candidates += [p for p in newer if int(p.parts[-3]) > major]
        on_path = shutil.which(name)
        if on_path:
            candidates.append(Path(on_path))
    seen = []
    for path in candidates:
        version = _version_of(path)
        if version is None:
            continue
        tool = Tool(path, version)
        if tool.major >= major:
            return tool
        seen.append(f"{path} ({version})")
    where = f"in PG_BIN_DIR={bin_dir}" if bin_dir else f"in {DEBIAN_BIN}/*/bin or on PATH"
    found = f"; found only {', '.join(seen)}" if seen else ""
    raise BackupError(
        f"{name} {major} or later is needed and was not found {where}{found}. Install the "
        f"PostgreSQL {major} client (Debian: postgresql-client-{major}) or set PG_BIN_DIR."
    )


def libpq_arguments(url: URL) -> tuple[str, dict[str, str]]:
    """The ``--dbname`` URL (no password) and the environment (``PGPASSWORD``) for ``url``."""
    conninfo = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return conninfo, env


def _run(
    command: list[str], env: Mapping[str, str] | None = None, stdout: IO[bytes] | None = None
) -> None:
    """Run ``command``, its output to ``stdout``.

    Raises:
        BackupError: the command failed; with its name, exit status and error output.
    """
    result = subprocess.run(command, env=env, stdout=stdout, stderr=subprocess.PIPE, check=False)
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip()
        raise BackupError(f"{Path(command[0]).name} failed (exit {result.returncode}): {message}")


def dump(tool: Tool, url: URL, snapshot: str, destination: Path) -> None:
    """Write a custom-format dump of ``url``'s database, as of ``snapshot``, to ``destination``.

    Args:
        tool: ``pg_dump``.
        url: the database.
        snapshot: an exported snapshot (``pg_export_snapshot()``) whose transaction stays
            open until this returns, so the dump and the manifest's counts see the same
            commits.
        destination: an existing, private, empty file.

    Raises:
        BackupError: with ``pg_dump``'s message when it fails.
    """
    conninfo, env = libpq_arguments(url)
    with destination.open("wb") as out:
        _run(
            [
                str(tool.path),
                "--format=custom",
                f"--snapshot={snapshot}",
                "--no-password",
                f"--dbname={conninfo}",
            ],
            env,
            stdout=out,
        )


def restore(tool: Tool, archive: Path, url: URL) -> None:
    """Restore ``archive`` into the (empty) database of ``url``, in one transaction.

    Objects are owned by the connecting role (``--no-owner``, ``--no-privileges``), so the
    dump of one server restores on another with other role names.

    Raises:
        BackupError: with ``pg_restore``'s message; nothing was restored then.
    """
    conninfo, env = libpq_arguments(url)
    _run(
        [
            str(tool.path),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "--no-password",
            f"--dbname={conninfo}",
            str(archive),
        ],
        env,
    )


def _copy_blocks(lines: Iterator[str]) -> Iterator[tuple[str, list[str]]]:
    """Yield ``(table, rows)`` for each ``COPY ... FROM stdin`` block of a SQL script.

    Every row of ``COPY``'s text format is one line (newlines in values are escaped).
    """
    for line in lines:
        match = _COPY.match(line)
        if not match:
            continue
        rows = []
        for row in lines:
            if row in ("\\.\n", "\\."):
                break
            rows.append(row.rstrip("\n"))
        yield match.group(1), rows


def read_archive(tool: Tool, archive: Path) -> tuple[dict[str, int], list[str]]:
    """Read a whole custom-format dump through ``pg_restore`` without a server.

    ``pg_restore --file=-`` decompresses and prints every entry as SQL; a damaged or
    truncated archive makes it fail.

    Returns:
        Rows per table, and the ``alembic_version`` rows (the revisions).

    Raises:
        BackupError: when ``pg_restore`` cannot read the archive.
    """
    command = [str(tool.path), "--file=-", str(archive)]
    counts: dict[str, int] = {}
    revisions: list[str] = []
    with tempfile.TemporaryFile() as stderr:
        # A damaged archive can make pg_restore print bytes that are not UTF-8 before
        # it fails: replace them rather than crash, and report its exit status.
        with subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            encoding="utf-8",
            errors="replace",
        ) as process:
            for table, rows in _copy_blocks(iter(process.stdout or ())):
                counts[table] = len(rows)
                if table == "alembic_version":
                    revisions = rows
        if process.returncode != 0:
            stderr.seek(0)
            message = stderr.read().decode("utf-8", "replace").strip()
            raise BackupError(f"pg_restore cannot read {archive}: {message}")
    return counts, revisions
