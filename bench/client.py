"""A minimal browser-like HTTP client for load and concurrency runs (stdlib only).

Each :class:`Client` has its own cookie jar, like one person's browser, follows no
redirects (so a 302 after a save is seen as such), opens a new connection per request
(as a browser does after a server restart), and reads the CSRF token and the record
version from the forms it is served.
"""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass

CSRF_PATTERN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
VERSION_PATTERN = re.compile(r'name="version" type="hidden" value="(\d+)"')


@dataclass(frozen=True)
class Reply:
    """One HTTP answer: status, ``Location`` and ``Retry-After`` headers, and body text."""

    status: int
    location: str | None
    text: str
    retry_after: str | None = None


def _multipart(boundary: str, fields: dict[str, str], files: dict[str, bytes]) -> bytes:
    """A multipart/form-data body (RFC 7578) of ``fields`` and ``files``."""
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    for name, content in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{name}.csv"\r\nContent-Type: text/csv\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class Client:
    """One user's browser session against ``base_url``.

    Args:
        base_url: e.g. ``http://127.0.0.1:8000``.
        timeout: seconds to wait for each answer.
        login: ``(email, password)`` to log in with at once, or ``None``.
    """

    def __init__(
        self, base_url: str, timeout: float = 30.0, login: tuple[str, str] | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )
        if login is not None:
            self.login(*login)

    def request(
        self,
        path: str,
        data: dict[str, str] | None = None,
        *,
        files: dict[str, bytes] | None = None,
    ) -> Reply:
        """GET ``path``, or POST ``data`` to it (with ``files``: as multipart/form-data).

        Args:
            path: the path, with its query string.
            data: form fields; ``None`` for a GET.
            files: ``{field: content}`` uploaded as files named ``<field>.csv``.

        Returns:
            The reply, whatever its status (4xx and 5xx included).

        Raises:
            OSError: when the connection fails (refused, reset, timed out).
        """
        headers = {}
        if files:
            boundary = uuid.uuid4().hex
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
            body: bytes | None = _multipart(boundary, data or {}, files)
        else:
            body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base_url + path, data=body, headers=headers)
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                return Reply(
                    response.status,
                    response.headers.get("Location"),
                    response.read().decode("utf-8", "replace"),
                    response.headers.get("Retry-After"),
                )
        except urllib.error.HTTPError as error:
            with error:
                return Reply(
                    error.code,
                    error.headers.get("Location"),
                    error.read().decode("utf-8", "replace"),
                    error.headers.get("Retry-After"),
                )

    def login(self, email: str, password: str) -> None:
        """Log in through the login form.

        Raises:
            PermissionError: when the login is refused.
        """
        token, _ = self.form("/login")
        reply = self.request("/login", {"csrf_token": token, "email": email, "password": password})
        if reply.status != 302:
            raise PermissionError(f"login as {email} refused: HTTP {reply.status}")

    def form(self, path: str) -> tuple[str, int | None]:
        """GET the form at ``path`` and return its CSRF token and record version.

        Raises:
            LookupError: when the page carries no CSRF token (not a form, or an error).
        """
        reply = self.request(path)
        token = CSRF_PATTERN.search(reply.text)
        if reply.status != 200 or token is None:
            raise LookupError(f"GET {path}: HTTP {reply.status}, no form")
        version = VERSION_PATTERN.search(reply.text)
        return token.group(1), int(version.group(1)) if version else None
