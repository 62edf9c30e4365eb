"""Uploaded CSV files kept on the server between the preview and the confirm.

Each upload is two files in ``<instance>/imports/``: ``<token>.csv`` (the bytes as sent)
and ``<token>.json`` (who uploaded it, when, its name and the preview). The token is
random and unguessable; the upload also records its *owner*, the signed-in account, and
only the owner can see or confirm it (see :func:`current_owner`).

An upload lives until it is confirmed or cancelled, or for ``IMPORT_UPLOAD_TTL`` seconds
(an hour by default); expired uploads are swept whenever someone uploads a file.

Confirming *claims* the upload first by renaming its CSV file: a rename is atomic, so
when a confirm button is clicked twice only one request gets the file and applies it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app, session
from flask_login import current_user

#: Sub-folder of the instance folder holding the uploads.
FOLDER = "imports"
#: Default lifetime of an upload, in seconds.
DEFAULT_TTL = 3600
#: Session key of the browser's owner id.
OWNER_KEY = "import_owner"

_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}\Z")


@dataclass(frozen=True)
class Upload:
    """An uploaded file waiting for its confirm.

    Attributes:
        token: the random name of the upload, in its URLs.
        owner: who uploaded it.
        filename: the file's name on the uploader's computer, for display only.
        size: its size in bytes.
        created: when it was uploaded (seconds since the epoch).
        meta: what the views stored with it (the preview).
    """

    token: str
    owner: str
    filename: str
    size: int
    created: float
    meta: dict[str, Any]


def folder() -> Path:
    """The uploads folder of the current app (created when missing).

    Returns:
        ``<instance>/imports``, or ``IMPORT_FOLDER`` when the config sets it.
    """
    path = Path(current_app.config.get("IMPORT_FOLDER") or Path(current_app.instance_path, FOLDER))
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def ttl() -> int:
    """Seconds an upload is kept (``IMPORT_UPLOAD_TTL``, an hour by default)."""
    return int(current_app.config.get("IMPORT_UPLOAD_TTL", DEFAULT_TTL))


def current_owner() -> str:
    """Who is uploading: the signed-in account, else a random id kept in the session.

    Every import page needs an editor's login, so in practice this is the account
    (``user:<id>``): the same account may finish an import from another browser, and
    nobody else can see it. The session id is the fallback for an app without logins.

    Returns:
        The owner id of the current request.
    """
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    owner = session.get(OWNER_KEY)
    if not isinstance(owner, str) or not owner:
        owner = secrets.token_urlsafe(16)
        session[OWNER_KEY] = owner
    return f"session:{owner}"


def _paths(token: str) -> tuple[Path, Path]:
    base = folder()
    return base / f"{token}.csv", base / f"{token}.json"


def _write_json(path: Path, meta: dict[str, Any]) -> None:
    """Write ``meta`` to ``path`` atomically (a half-written preview is never read)."""
    partial = path.with_suffix(".json.part")
    partial.write_text(json.dumps(meta, separators=(",", ":")), encoding="utf-8")
    os.replace(partial, path)


def save(data: bytes, *, filename: str, owner: str, meta: dict[str, Any]) -> Upload:
    """Store an uploaded file and what to show about it.

    Args:
        data: the file's bytes.
        filename: its name as sent by the browser (display only, never a path).
        owner: :func:`current_owner`.
        meta: JSON-serialisable data for the preview.

    Returns:
        The stored upload, with a new token.
    """
    purge_expired()
    token = secrets.token_urlsafe(24)  # 32 URL-safe characters
    csv_path, json_path = _paths(token)
    fd = os.open(csv_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    created = time.time()
    record = {
        "owner": owner,
        "filename": filename,
        "size": len(data),
        "created": created,
        "meta": meta,
    }
    _write_json(json_path, record)
    return Upload(token, owner, filename, len(data), created, meta)


def load(token: str, owner: str) -> Upload | None:
    """Return the upload ``token`` if it exists, has not expired and belongs to ``owner``.

    An expired upload found here is deleted.

    Args:
        token: from the URL (anything; a malformed token is simply not found).
        owner: :func:`current_owner`.

    Returns:
        The upload, or ``None`` when it is unknown, expired, already used or not the
        owner's.
    """
    if not _TOKEN.match(token):
        return None
    csv_path, json_path = _paths(token)
    try:
        record = json.loads(json_path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if time.time() - float(record.get("created", 0)) > ttl():
        discard(token)
        return None
    if not secrets.compare_digest(str(record.get("owner", "")), owner):
        return None
    if not csv_path.exists():
        return None
    return Upload(
        token,
        record["owner"],
        record.get("filename", ""),
        int(record.get("size", 0)),
        float(record["created"]),
        record.get("meta", {}),
    )


def update_meta(upload: Upload, meta: dict[str, Any]) -> Upload:
    """Replace the preview data stored with ``upload``.

    Args:
        upload: a loaded upload.
        meta: the new data.

    Returns:
        The upload with the new data.
    """
    _, json_path = _paths(upload.token)
    record = {
        "owner": upload.owner,
        "filename": upload.filename,
        "size": upload.size,
        "created": upload.created,
        "meta": meta,
    }
    _write_json(json_path, record)
    return Upload(upload.token, upload.owner, upload.filename, upload.size, upload.created, meta)


def read(upload: Upload) -> bytes:
    """Return the bytes of an upload that has not been claimed.

    Raises:
        FileNotFoundError: it was claimed or deleted meanwhile.
    """
    csv_path, _ = _paths(upload.token)
    return csv_path.read_bytes()


def claim(upload: Upload) -> bytes | None:
    """Take the upload's file for a confirm, so that no other request can.

    The file is renamed to ``<token>.claimed``; of two requests renaming at once, only one
    succeeds (the other finds no file).

    Args:
        upload: a loaded upload.

    Returns:
        The file's bytes, or ``None`` when another request claimed it first.
    """
    csv_path, _ = _paths(upload.token)
    try:
        os.rename(csv_path, csv_path.with_suffix(".claimed"))
    except FileNotFoundError:
        return None
    return csv_path.with_suffix(".claimed").read_bytes()


def release(upload: Upload) -> None:
    """Give a claimed upload back: the confirm did not apply it, it can be confirmed again.

    Args:
        upload: an upload this request claimed.
    """
    csv_path, _ = _paths(upload.token)
    with contextlib.suppress(FileNotFoundError):
        os.rename(csv_path.with_suffix(".claimed"), csv_path)


def discard(token: str) -> None:
    """Delete an upload and its preview (after confirm, cancel or expiry).

    Args:
        token: the upload's token.
    """
    csv_path, json_path = _paths(token)
    for path in (csv_path, csv_path.with_suffix(".claimed"), json_path):
        path.unlink(missing_ok=True)


def purge_expired(now: float | None = None) -> int:
    """Delete every upload older than :func:`ttl`, and stray partial files.

    Args:
        now: the current time (seconds since the epoch); for tests.

    Returns:
        The number of files deleted.
    """
    now = time.time() if now is None else now
    limit = ttl()
    deleted = 0
    for path in folder().iterdir():
        try:
            expired = now - path.stat().st_mtime > limit
        except FileNotFoundError:
            continue
        if expired:
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted
