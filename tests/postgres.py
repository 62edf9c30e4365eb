"""A throwaway PostgreSQL server for the test suite.

``make test`` runs the suite a second time with ``--db=postgresql``; that run starts its own
server with :func:`throwaway_cluster`: ``initdb`` into a new temporary directory (in
``/dev/shm`` when there is one), the server on a free port of 127.0.0.1 with its Unix
socket in that directory (never in ``/var/run/postgresql``), a random superuser password,
and durability switched off (``fsync``, ``synchronous_commit``, ``full_page_writes``): a
crash loses nothing we keep. On exit the server is stopped and the directory removed.

PostgreSQL's server refuses to run as root, and CI runs as root: then ``initdb`` and
``pg_ctl`` run as the ``postgres`` user (``runuser -u postgres``) on a directory owned by
it. Debian's ``postgresql`` package provides both the user and the binaries
(``scripts/install-system-deps.sh`` installs it, without the packaged cluster).

Set ``TEST_POSTGRESQL_URL`` (a superuser URL, or a role with CREATEDB, of a server you
run yourself) to use that server instead of starting one.

Nothing here skips: a server that cannot start raises :class:`ClusterError` with the
server's own log, and the test session fails with it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

#: The OS user that runs the server when the tests run as root.
SERVER_USER = "postgres"

#: Durability back on, as production servers have it (for fault-injection runs).
DURABLE_SETTINGS = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}

#: Settings for a server whose data may be lost: faster, never for real data.
TEST_SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
    # No autovacuum worker may sit in the template database: CREATE DATABASE ... TEMPLATE
    # would wait for it to leave (polling every 100 ms, up to 5 s).
    "autovacuum": "off",
}

START_TIMEOUT = 60  # seconds that pg_ctl waits for the server to accept connections
START_ATTEMPTS = 3  # another free port when the chosen one was taken meanwhile


class ClusterError(RuntimeError):
    """The throwaway server could not be set up; the message says why and shows its log."""


@dataclass
class PostgresServer:
    """A running PostgreSQL server on which the tests may create and drop databases.

    Attributes:
        url: SQLAlchemy URL of the maintenance database ``postgres``, as a role that may
            create databases.
        control: the ``pg_ctl --pgdata=...`` command of a server these tests started
            (empty for ``TEST_POSTGRESQL_URL``), for :meth:`restart`.
        start_options: the server options it was started with (``pg_ctl --options``).
    """

    url: URL
    control: list[str] = field(default_factory=list)
    start_options: str = ""
    _admin: psycopg.Connection | None = field(default=None, repr=False)
    _names: Iterator[int] = field(default_factory=itertools.count, repr=False)

    def database_url(self, database: str) -> str:
        """The ``postgresql+psycopg://`` URL of ``database`` on this server, with password."""
        return self.url.set(database=database).render_as_string(hide_password=False)

    def libpq_url(self, database: str) -> str:
        """The plain ``postgresql://`` URL of ``database``, for ``pg_dump`` and ``psycopg``."""
        return self.url.set(drivername="postgresql", database=database).render_as_string(
            hide_password=False
        )

    def admin(self) -> psycopg.Connection:
        """An autocommit connection to the maintenance database, kept for the session."""
        if self._admin is None or self._admin.closed:
            self._admin = psycopg.connect(self.libpq_url(self.url.database), autocommit=True)
        return self._admin

    def new_name(self, prefix: str = "test") -> str:
        """A database name not used before in this session (``<prefix>_<n>``)."""
        return f"{prefix}_{os.getpid()}_{next(self._names)}"

    def create_database(self, name: str, template: str = "template0") -> str:
        """Create database ``name`` as a copy of ``template``; return its SQLAlchemy URL.

        ``template0`` (the default) is PostgreSQL's pristine empty database. From
        PostgreSQL 15 on, ``STRATEGY FILE_COPY`` copies the files instead of WAL-logging
        every block: measured 20 ms instead of 33 ms for our small schema.
        """
        connection = self.admin()
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)
        )
        if connection.info.server_version >= 150000:
            statement += sql.SQL(" STRATEGY FILE_COPY")
        connection.execute(statement)
        return self.database_url(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name``, closing any connection a test left open to it."""
        self.admin().execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )

    def restart(self, mode: str = "fast", down_for: float = 0.0) -> None:
        """Stop the server (``-m MODE`` ends every session) and start it again.

        Args:
            mode: ``pg_ctl``'s shutdown mode: ``smart``, ``fast`` or ``immediate``.
            down_for: 0: ``pg_ctl restart``; more: ``pg_ctl stop``, this many seconds
                with no server, then ``pg_ctl start`` (a slow restart, a failover).

        Returns when the server accepts connections again (same port and settings).

        Raises:
            ClusterError: for a server these tests did not start, or when it fails.
        """
        if not self.control:
            raise ClusterError("only a throwaway server started by the tests can be restarted")
        self.close()
        wait = ["--wait", f"--timeout={START_TIMEOUT}"]
        if not down_for:
            _run([*self.control, "-m", mode, *wait, "restart"], "pg_ctl restart")
            return
        _run([*self.control, "-m", mode, *wait, "stop"], "pg_ctl stop")
        time.sleep(down_for)
        _run([*self.control, f"--options={self.start_options}", *wait, "start"], "pg_ctl start")

    def close(self) -> None:
        """Close the maintenance connection."""
        if self._admin is not None:
            self._admin.close()
            self._admin = None


def find_bindir() -> Path:
    """Return the directory holding ``initdb`` and ``pg_ctl``.

    ``PG_BINDIR`` wins; then Debian's ``/usr/lib/postgresql/<major>/bin`` (newest major);
    then ``initdb`` on ``PATH``.

    Raises:
        ClusterError: when no PostgreSQL server binaries are installed.
    """
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0,
    )
    if debian:
        return debian[-1].parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise ClusterError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found. Install Debian's postgresql "
        "package: `make system-deps` or `scripts/install-system-deps.sh` as root (the "
        "package's own cluster is not needed), or set PG_BINDIR."
    )


def free_port() -> int:
    """Ask the kernel for a free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


#: Free space ``/dev/shm`` needs to hold the cluster (about 40 MB, plus 8 MB a database).
SHM_MIN_FREE = 512 * 1024 * 1024


def _scratch_parent() -> str | None:
    """Where the cluster's directory goes: ``/dev/shm`` when it is roomy, else ``$TMPDIR``.

    A RAM-backed file system keeps ``CREATE DATABASE`` (a copy of the template's files)
    off the disk: measured 15 to 25 ms a database instead of 150 to 250 ms on a busy disk.
    Docker gives containers a 64 MB ``/dev/shm``, too small: then the disk it is.
    """
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK | os.X_OK)):
        return None
    stats = os.statvfs(shm)
    return str(shm) if stats.f_bavail * stats.f_frsize >= SHM_MIN_FREE else None


def _as_server_user() -> list[str]:
    """The command prefix that runs a server program as a user the server accepts."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError as error:
        raise ClusterError(
            f"Running as root, and there is no {SERVER_USER!r} user to run PostgreSQL as "
            "(the server refuses root). Install Debian's postgresql package, which creates it."
        ) from error
    return ["runuser", "-u", SERVER_USER, "--"]


def _run(command: list[str], what: str, log: Path | None = None) -> None:
    """Run a server program, raising ``ClusterError`` with its output if it fails."""
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        server_log = log.read_text(errors="replace") if log and log.exists() else ""
        raise ClusterError(
            f"{what} failed (exit {result.returncode}): {' '.join(command)}\n"
            f"{result.stdout}{result.stderr}\n{server_log}".rstrip()
        )


#: Waits for the test process to end, however it ends, then stops the server and removes
#: its directory. Arguments: the test process id, the directory, the stop command.
REAPER_SCRIPT = """
parent=$1 base=$2; shift 2
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
if [ -f "$base/data/postmaster.pid" ]; then "$@" >/dev/null 2>&1; fi
rm -rf "$base"
"""


def _start_reaper(base: Path, stop: list[str]) -> subprocess.Popen[bytes]:
    """Start a watcher that cleans up after a test process killed before its own cleanup.

    Without it, a ``kill -9`` or a CI timeout would leave a server running in the
    background. In its own session, so that Ctrl-C in the terminal does not stop it.
    """
    return subprocess.Popen(
        ["sh", "-c", REAPER_SCRIPT, "reaper", str(os.getpid()), str(base), *stop],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


@contextlib.contextmanager
def throwaway_cluster(durable: bool = False) -> Iterator[PostgresServer]:
    """Start a private PostgreSQL server for the duration of the ``with`` block.

    Args:
        durable: keep ``fsync``, ``synchronous_commit`` and ``full_page_writes`` on
            (``DURABLE_SETTINGS``), for runs that crash or restart the server on purpose.

    Yields:
        The running server; its superuser ``postgres`` has a random password.

    Raises:
        ClusterError: when the binaries are missing or the server does not start.
    """
    bindir = find_bindir()
    prefix = _as_server_user()
    base = Path(tempfile.mkdtemp(prefix="webapp-test-pg-", dir=_scratch_parent()))
    data, sockets, log = base / "data", base / "sockets", base / "server.log"
    stop = [*prefix, str(bindir / "pg_ctl"), f"--pgdata={data}", "-m", "immediate", "stop"]
    reaper = _start_reaper(base, stop)
    password = secrets.token_urlsafe(24)
    settings = {**TEST_SERVER_SETTINGS, **(DURABLE_SETTINGS if durable else {})}
    try:
        sockets.mkdir()
        password_file = base / "password"
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
        if prefix:  # the server user must own everything it writes to
            user = pwd.getpwnam(SERVER_USER)
            for path in (base, sockets, password_file):
                os.chown(path, user.pw_uid, user.pw_gid)

        _run(
            [
                *prefix,
                str(bindir / "initdb"),
                f"--pgdata={data}",
                "--username=postgres",
                f"--pwfile={password_file}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                # A UTF-8 locale as production servers have, so that lower() and upper()
                # fold non-ASCII letters as they will in production (C folds ASCII only).
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            "initdb",
        )
        password_file.unlink()

        for attempt in range(1, START_ATTEMPTS + 1):
            port = free_port()
            options = " ".join(
                [f"-p {port}", f"-k {sockets}"]
                + [f"-c {name}={value}" for name, value in settings.items()]
            )
            try:
                _run(
                    [
                        *prefix,
                        str(bindir / "pg_ctl"),
                        f"--pgdata={data}",
                        f"--log={log}",
                        f"--timeout={START_TIMEOUT}",
                        "--wait",
                        f"--options={options}",
                        "start",
                    ],
                    "pg_ctl start",
                    log,
                )
            except ClusterError as error:
                taken = re.search(r"could not bind|Address already in use", str(error))
                if taken and attempt < START_ATTEMPTS:
                    continue
                raise
            break

        server = PostgresServer(
            URL.create(
                "postgresql+psycopg",
                username="postgres",
                password=password,
                host="127.0.0.1",
                port=port,
                database="postgres",
            ),
            control=[*prefix, str(bindir / "pg_ctl"), f"--pgdata={data}", f"--log={log}"],
            start_options=options,
        )
        try:
            yield server
        finally:
            server.close()
    finally:
        if (data / "postmaster.pid").exists():
            # Immediate: nothing in a throwaway cluster needs a clean shutdown.
            subprocess.run(stop, capture_output=True, check=False)
        shutil.rmtree(base, ignore_errors=True)
        reaper.terminate()
        reaper.wait()


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """The server the tests use: ``TEST_POSTGRESQL_URL`` if set, else a throwaway one."""
    url = os.environ.get("TEST_POSTGRESQL_URL")
    if not url:
        with throwaway_cluster() as server:
            yield server
        return
    parsed = make_url(url).set(drivername="postgresql+psycopg")
    server = PostgresServer(parsed.set(database=parsed.database or "postgres"))
    try:
        yield server
    finally:
        server.close()
