"""Uploaded files kept between the preview and the confirm, in the database.

An upload is a :class:`~webapp.models.PendingImport` (the file as read, packed, and the
preview's summary) and its :class:`~webapp.models.PendingImportPage` rows (the preview,
page by page). Being in the database, an upload made through one host of a deployment
is seen, and confirmed, through any other; nothing is written to the server's disks.
An upload is created ``reading`` (:func:`create`), then gets its preview (:func:`store`)
or its error (:func:`fail`) from the background reader.

The token is random and unguessable; the upload also records its *owner*, the signed-in
account, and only the owner can see or confirm it (see :func:`current_owner`). An upload
lives until it is confirmed or cancelled, or for ``IMPORT_UPLOAD_TTL`` seconds (an hour
by default); expired uploads are deleted whenever someone uploads a file.

Nothing here commits: the service decides where each transaction ends. A confirm reads
its upload again inside the import's write transaction (:func:`locked`) and deletes it
in the same transaction as the students it writes, so two confirms of one upload cannot
both apply it.
"""

from __future__ import annotations

import secrets
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from flask import current_app, session
from flask_login import current_user
from sqlalchemy import delete, insert, select

from webapp.extensions import db
from webapp.models import PendingImport, PendingImportPage
from webapp.models.imports import FILENAME_MAX_LENGTH, TOKEN_LENGTH
from webapp.models.types import utcnow

#: Default lifetime of an upload, in seconds.
DEFAULT_TTL = 3600
#: Session key of the browser's owner id.
OWNER_KEY = "import_owner"
#: Preview pages inserted per statement.
_PAGE_BATCH = 500
#: An upload's states.
READING, READY, FAILED = "reading", "ready", "failed"


@dataclass(frozen=True)
class Upload:
    """An uploaded file waiting for its confirm.

    Attributes:
        token: the random name of the upload, in its URLs.
        owner: who uploaded it.
        filename: the file's name on the uploader's computer, for display only.
        size: its size in bytes, as uploaded.
        created: when it was uploaded (aware UTC).
        summary: the preview's totals, mapping and notes (see the service).
        status: ``reading``, ``ready`` or ``failed``.
        error: why it failed.
        started: when its current reading or planning started (aware UTC).
    """

    token: str
    owner: str
    filename: str
    size: int
    created: datetime
    summary: dict[str, Any]
    status: str = READY
    error: str | None = None
    started: datetime | None = None


#: A stored preview: ``{(view, page number): the page's rows, packed}`` (see :func:`page`).
Pages = Mapping[tuple[str, int], bytes]


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


def _upload(row: PendingImport) -> Upload:
    return Upload(
        row.token,
        row.owner,
        row.filename,
        row.size,
        row.created_at,
        row.summary,
        row.status,
        row.error,
        row.started_at,
    )


def _insert_pages(token: str, pages: Pages) -> None:
    rows = [
        {"token": token, "view": view, "number": number, "data": data}
        for (view, number), data in pages.items()
    ]
    for start in range(0, len(rows), _PAGE_BATCH):
        db.session.execute(insert(PendingImportPage), rows[start : start + _PAGE_BATCH])


def create(*, filename: str, size: int, owner: str) -> Upload:
    """Store a new upload, ``reading``, with no file or preview yet (no commit).

    Expired uploads are deleted first.

    Args:
        filename: its name as sent by the browser (display only, never a path).
        size: its size in bytes, as uploaded.
        owner: :func:`current_owner`.

    Returns:
        The upload, with a new token.
    """
    purge_expired()
    token = secrets.token_urlsafe(24)
    assert len(token) == TOKEN_LENGTH
    now = utcnow()
    row = PendingImport(
        token=token,
        owner=owner,
        filename=filename[:FILENAME_MAX_LENGTH],
        size=size,
        created_at=now,
        started_at=now,
        table=b"",
        summary={},
        status=READING,
    )
    db.session.add(row)
    db.session.flush()
    return _upload(row)


def store(upload: Upload, *, table: bytes, summary: dict[str, Any], pages: Pages) -> None:
    """Give a reading upload its file as read and its preview; it is ``ready`` (no commit).

    Args:
        upload: the upload, locked (:func:`locked`).
        table: the file as read, packed (:attr:`webapp.import_export.importer.Table.packed`).
        summary: JSON-serialisable data for the preview.
        pages: the preview's rows, by view and page number, each page packed by
            :func:`pack_page`.
    """
    row = db.session.get(PendingImport, upload.token)
    if row is None:
        raise LookupError(upload.token)
    row.table = table
    row.status = READY
    row.error = None
    db.session.flush()
    replace_preview(upload, summary, pages)


def fail(upload: Upload, message: str) -> None:
    """Mark an upload ``failed`` with ``message`` for its owner (no commit)."""
    row = db.session.get(PendingImport, upload.token)
    if row is not None:
        row.status = FAILED
        row.error = message
        db.session.flush()


def store_status(upload: Upload, status: str) -> None:
    """Set an upload's status (``ready`` once a new preview is stored); no commit."""
    row = db.session.get(PendingImport, upload.token)
    if row is not None:
        row.status = status
        db.session.flush()


def restart(upload: Upload) -> None:
    """Put an upload back to ``reading`` for a new plan (a new mapping); no commit."""
    row = db.session.get(PendingImport, upload.token)
    if row is None:
        raise LookupError(upload.token)
    row.status = READING
    row.started_at = utcnow()
    db.session.flush()


def _fresh(row: PendingImport | None, owner: str) -> Upload | None:
    if row is None or not secrets.compare_digest(row.owner, owner):
        return None
    if utcnow() - row.created_at > timedelta(seconds=ttl()):
        return None
    return _upload(row)


def _select(token: str) -> Any:
    return select(PendingImport).where(PendingImport.token == token)


def load(token: str, owner: str) -> Upload | None:
    """Return the upload ``token`` if it exists, has not expired and belongs to ``owner``.

    Args:
        token: from the URL (anything; a malformed token is simply not found).
        owner: :func:`current_owner`.

    Returns:
        The upload, or ``None`` when it is unknown, expired, already used or not the
        owner's.
    """
    if len(token) != TOKEN_LENGTH:
        return None
    statement = _select(token).execution_options(populate_existing=True)
    return _fresh(db.session.scalars(statement).first(), owner)


def locked(token: str, owner: str) -> Upload | None:
    """:func:`load` inside a write transaction, locking the upload until it ends.

    On PostgreSQL the row is locked (``FOR UPDATE``): a second confirm waits, then finds
    it deleted. On SQLite the transaction's write lock does the same.
    """
    if len(token) != TOKEN_LENGTH:
        return None
    statement = _select(token).with_for_update().execution_options(populate_existing=True)
    return _fresh(db.session.scalars(statement).first(), owner)


def table(upload: Upload) -> bytes:
    """The packed table of ``upload``.

    Raises:
        LookupError: the upload was deleted meanwhile.
    """
    data = db.session.scalar(select(PendingImport.table).where(PendingImport.token == upload.token))
    if data is None:
        raise LookupError(upload.token)
    return data


def pack_page(rows: list[Any]) -> bytes:
    """A page's rows as stored: JSON, compressed."""
    return zlib.compress(orjson.dumps(rows), 1)


def page(upload: Upload, view: str, number: int) -> list[Any]:
    """The rows of one page of the preview (empty when there is no such page)."""
    data = db.session.scalar(
        select(PendingImportPage.data).where(
            PendingImportPage.token == upload.token,
            PendingImportPage.view == view,
            PendingImportPage.number == number,
        )
    )
    if data is None:
        return []
    rows: list[Any] = orjson.loads(zlib.decompress(data))
    return rows


def replace_preview(upload: Upload, summary: dict[str, Any], pages: Pages) -> Upload:
    """Replace the summary and pages of ``upload`` (a new mapping, a changed roster).

    Returns:
        The upload with the new summary.
    """
    db.session.execute(delete(PendingImportPage).where(PendingImportPage.token == upload.token))
    row = db.session.get(PendingImport, upload.token)
    if row is None:
        raise LookupError(upload.token)
    row.summary = summary
    db.session.flush()
    _insert_pages(upload.token, pages)
    return _upload(row)


def discard(tokens: str | Iterable[str]) -> None:
    """Delete uploads and their previews (after confirm, cancel or expiry); no commit."""
    keys = [tokens] if isinstance(tokens, str) else list(tokens)
    if keys:
        db.session.execute(delete(PendingImportPage).where(PendingImportPage.token.in_(keys)))
        db.session.execute(delete(PendingImport).where(PendingImport.token.in_(keys)))


def purge_expired(now: datetime | None = None) -> int:
    """Delete every upload older than :func:`ttl` (no commit).

    Args:
        now: the current time (aware UTC); for tests.

    Returns:
        The number of uploads deleted.
    """
    limit = (now or utcnow()) - timedelta(seconds=ttl())
    tokens = list(
        db.session.scalars(select(PendingImport.token).where(PendingImport.created_at < limit))
    )
    discard(tokens)
    return len(tokens)
