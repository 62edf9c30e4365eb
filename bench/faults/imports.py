"""A CSV import through the web pages, with its confirm sent on a connection we can trace.

The confirm request is the one that writes (one transaction: every row and its audit
event). It is sent with :mod:`http.client` so that the client's port is known, and with
it the gunicorn worker that serves it (:func:`bench.faults.processes.worker_serving`).
"""

from __future__ import annotations

import http.client
import re
import time
import urllib.parse
from dataclasses import dataclass

from bench.client import CSRF_PATTERN, Client

_TOKEN = re.compile(r"/students/import/([A-Za-z0-9_-]{32})\Z")


def roster_csv(rows: int, prefix: str) -> bytes:
    """A CSV of ``rows`` new students with emails ``<prefix>-<n>@example.org``."""
    lines = ["name,email,grade,birthday,enrolled_on"]
    lines += [
        f"Imported Student {n},{prefix}-{n}@example.org,{1 + n % 12},2012-0{1 + n % 9}-1{n % 10},"
        "2020-09-01"
        for n in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


@dataclass(frozen=True)
class PendingImport:
    """An uploaded file waiting for its confirm: its page and the confirm form's token."""

    path: str
    csrf_token: str


def upload(client: Client, content: bytes) -> PendingImport:
    """Upload ``content`` on the import page, wait until it is read, open its preview.

    Raises:
        RuntimeError: when the upload or the preview fails.
    """
    form = client.request("/students/import")
    token = CSRF_PATTERN.search(form.text)
    if form.status != 200 or token is None:
        raise RuntimeError(f"import page: HTTP {form.status}")
    reply = client.request(
        "/students/import", {"csrf_token": token.group(1)}, files={"file": content}
    )
    if reply.status != 303 or not reply.location or not _TOKEN.search(reply.location):
        raise RuntimeError(f"upload: HTTP {reply.status} {reply.text[:500]}")
    path = urllib.parse.urlsplit(reply.location).path
    deadline = time.monotonic() + 300
    while '"reading"' in client.request(f"{path}/status").text:  # read in the background
        if time.monotonic() > deadline:
            raise RuntimeError("the upload was still being read after 300 s")
        time.sleep(0.2)
    preview = client.request(path)
    confirm = CSRF_PATTERN.search(preview.text)
    if preview.status != 200 or confirm is None:
        raise RuntimeError(f"preview: HTTP {preview.status}")
    return PendingImport(path, confirm.group(1))


def send_confirm(client: Client, pending: PendingImport) -> tuple[http.client.HTTPConnection, int]:
    """Send the confirm (all or nothing), without waiting for the answer.

    Returns:
        The connection (``getresponse()`` reads the answer) and the client's port.
    """
    url = urllib.parse.urlsplit(client.base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=client.timeout)
    connection.connect()
    port = connection.sock.getsockname()[1]
    cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in client.cookies)
    body = urllib.parse.urlencode(
        {"csrf_token": pending.csrf_token, "all_or_nothing": "y", "confirm": "Import"}
    )
    connection.request(
        "POST",
        pending.path,
        body,
        {"Cookie": cookies, "Content-Type": "application/x-www-form-urlencoded"},
    )
    return connection, port


def answer(connection: http.client.HTTPConnection) -> int | None:
    """The status of the confirm's answer, or ``None`` when the connection broke."""
    try:
        response = connection.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()
