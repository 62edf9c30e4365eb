"""Processes, sockets and disks as the fault runs see them, from Linux's ``/proc``.

gunicorn's workers are the children of its master; the worker serving a request is the
one holding the server side of its TCP connection; a worker's ``/proc/<pid>/io`` counts
the bytes it has written (to files and sockets alike).
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux 3.5+: ``/proc/<pid>/task/*/children``)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(n) for n in (task / "children").read_text().split()]
        except OSError:
            continue
    return sorted(found)


def is_running(pid: int) -> bool:
    """Whether ``pid`` is a live process (not gone, not a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def written_bytes(pid: int) -> int:
    """Bytes ``pid`` has passed to ``write``-like calls so far (``wchar``), 0 when gone."""
    try:
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("wchar:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").glob("*"):
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


#: ``st`` of an established connection in ``/proc/net/tcp``.
ESTABLISHED = "01"


def _tcp_sockets() -> Iterator[tuple[int, int, str, int]]:
    """``(local port, remote port, state, inode)`` of every TCP socket, from ``/proc/net``."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, remote = (int(address.rsplit(":", 1)[1], 16) for address in fields[1:3])
            yield local, remote, fields[3], int(fields[9])


def _accepted_connections(server_port: int) -> dict[int, int]:
    """``{client port: inode}`` of the accepted connections to ``server_port``."""
    return {
        remote: inode
        for local, remote, state, inode in _tcp_sockets()
        if local == server_port and state == ESTABLISHED and inode
    }


#: Byte of a WAL database's ``-shm`` file locked by the one writer (``WAL_WRITE_LOCK``:
#: ``WALINDEX_LOCK_OFFSET`` 120 in SQLite's wal.c).
SQLITE_WAL_WRITE_LOCK = 120


def sqlite_writer(database: Path) -> int | None:
    """The process in a write transaction on the SQLite (WAL) ``database``, from ``/proc/locks``.

    ``BEGIN IMMEDIATE`` takes the WAL write lock, an exclusive POSIX lock on one byte of
    the ``-shm`` file, until the commit or rollback.
    """
    try:
        inode = os.stat(f"{database}-shm").st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    held = [line.split() for line in lines]
    for fields in held:  # "1: POSIX ADVISORY WRITE <pid> <major>:<minor>:<inode> <from> <to>"
        if (
            fields[1:4] == ["POSIX", "ADVISORY", "WRITE"]
            and fields[6] == str(SQLITE_WAL_WRITE_LOCK)
            and fields[5].rsplit(":", 1)[1] == str(inode)
        ):
            return int(fields[4])
    return None


def worker_with_local_port(master: int, port: int) -> int | None:
    """The worker of ``master`` owning the TCP socket whose local port is ``port``."""
    inodes = {inode for local, _, _, inode in _tcp_sockets() if local == port and inode}
    for worker in children(master):
        if _socket_inodes(worker) & inodes:
            return worker
    return None


def worker_serving(
    master: int, server_port: int, client_port: int, timeout: float = 10.0
) -> int | None:
    """The gunicorn worker that accepted the connection from ``client_port``.

    Waits up to ``timeout`` seconds for a worker to accept it.

    Returns:
        The worker's pid, or ``None`` when none accepted it in time.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        inode = _accepted_connections(server_port).get(client_port)
        if inode is not None:
            for worker in children(master):
                if inode in _socket_inodes(worker):
                    return worker
        time.sleep(0.01)
    return None


def kill(pid: int) -> None:
    """Send SIGKILL to ``pid`` (nothing when it is already gone)."""
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@contextmanager
def small_disk(path: Path, size: int) -> Iterator[Path]:
    """Mount a tmpfs of ``size`` bytes at ``path`` (created), unmounted afterwards.

    Needs root (``mount``), as the tests and benchmarks run on this project's machines.

    Raises:
        PermissionError: when ``mount`` is refused; the message says so.
    """
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise PermissionError(
            f"cannot mount a {size}-byte tmpfs at {path} (the disk-full run needs root): "
            f"{result.stderr.strip()}"
        )
    try:
        yield path
    finally:
        subprocess.run(["umount", "--lazy", str(path)], capture_output=True, check=False)


def fill_disk(folder: Path) -> Path:
    """Write a file into ``folder`` until its file system has no space left.

    Returns:
        The filler file; delete it to free the space again.
    """
    filler = folder / "filler"
    block = b"\0" * 65536
    with filler.open("wb", buffering=0) as handle:
        while True:
            try:
                handle.write(block)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
                if len(block) == 1:
                    break
                block = block[: len(block) // 2]
    return filler
