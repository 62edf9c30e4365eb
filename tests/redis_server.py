"""A throwaway Redis server for the tests that need shared rate-limit counts.

Debian's ``redis-server`` (``scripts/install-system-deps.sh`` installs it) runs on a
free port of 127.0.0.1, in the foreground, with no persistence and no config file, and
is stopped when the ``with`` block ends. Nothing skips: a missing binary or a server that
does not answer raises :class:`RedisError`.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.postgres import free_port

START_TIMEOUT = 10.0  # seconds


class RedisError(RuntimeError):
    """The throwaway Redis server could not be started; the message says why."""


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """Start Redis for the ``with`` block; yield its URL, ``redis://127.0.0.1:<port>/0``.

    Raises:
        RedisError: no ``redis-server`` binary, or it does not answer in time.
    """
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        raise RedisError(
            "redis-server not found: run `make system-deps` (scripts/install-system-deps.sh)."
        )
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="webapp-test-redis-")
    log = Path(workdir) / "redis.log"
    command = [
        binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--dir", workdir, "--logfile", str(log),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                text = log.read_text(errors="replace") if log.exists() else ""
                raise RedisError(f"redis-server did not start on port {port}:\n{text}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)
