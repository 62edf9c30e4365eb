"""Imports waiting for their confirm, their preview pages, and remembered column mappings.

They live in the database, so that every host of a deployment sees them: a file uploaded
through one gunicorn host is confirmed through another (issue 18, "several hosts").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import Model
from webapp.models.types import UTCDateTime, utcnow

#: Length of an upload's random token (``secrets.token_urlsafe(24)``).
TOKEN_LENGTH = 32
#: Longest file name kept (display only).
FILENAME_MAX_LENGTH = 200


class PendingImport(Model):
    """An uploaded file, read and previewed, waiting for its owner's confirm or cancel.

    A file is read, and a new mapping applied, in the background (``status`` ``reading``),
    so that the request that sent it returns at once whatever the file's size.

    Attributes:
        token: the random, unguessable name of the upload in its URLs.
        owner: who may see and confirm it: ``user:<account id>`` (or a session's id).
        filename: the file's name on the uploader's computer, for display only.
        size: the uploaded file's size in bytes.
        created_at: when it was uploaded (aware UTC); it expires ``IMPORT_UPLOAD_TTL``
            seconds later.
        table: the file as read: header and rows of text, packed
            (:attr:`webapp.import_export.importer.Table.packed`), so the confirm and a new
            mapping need not parse a workbook again.
        summary: the preview's totals, column mapping, date orders and notes (JSON).
        status: ``reading`` (being read or planned), ``ready`` (its preview is stored) or
            ``failed`` (``error`` says why).
        error: why the file could not be read, for its owner.
        started_at: when the current reading or planning started (aware UTC); one that
            runs far longer than a file can take was stopped (the server restarted).
    """

    __tablename__ = "pending_imports"
    __table_args__ = (
        CheckConstraint("status IN ('reading', 'ready', 'failed')", name="status_known"),
    )

    token: Mapped[str] = mapped_column(String(TOKEN_LENGTH), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(FILENAME_MAX_LENGTH))
    size: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    table: Mapped[bytes] = mapped_column(LargeBinary())
    summary: Mapped[dict[str, Any]] = mapped_column(JSON())
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text())
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<PendingImport {self.token[:6]}… {self.filename!r} of {self.owner}>"


class PendingImportPage(Model):
    """One page of a pending import's preview: up to a page of rows of one view.

    The preview shows a page at a time, by view (all rows, errors, new, changed,
    unchanged), so each page is stored ready to show: a page view reads one row of this
    table, whatever the file's size.

    Attributes:
        token: the pending import.
        view: ``all`` or an action (``error``, ``create``, ``update``, ``unchanged``).
        number: the page number, from 1.
        data: the page's rows as the preview shows them: JSON, zlib-compressed (rows of
            errors repeat their messages, which compress well).
    """

    __tablename__ = "pending_import_pages"

    token: Mapped[str] = mapped_column(
        String(TOKEN_LENGTH),
        ForeignKey("pending_imports.token", ondelete="CASCADE"),
        primary_key=True,
    )
    view: Mapped[str] = mapped_column(String(16), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary())

    def __repr__(self) -> str:
        return f"<PendingImportPage {self.token[:6]}… {self.view} {self.number}>"


class ImportMapping(Model):
    """A column mapping used for an import, remembered for the next file with its headers.

    Attributes:
        fingerprint: SHA-256 of the headers (:attr:`webapp.spreadsheets.ColumnMapping.fingerprint`).
        headers: the headers, as written in the file the mapping was made for.
        targets: per column, its target (a field, ``first_name``, ``last_name``,
            ``ignore``) or ``None``.
        date_orders: ``{field: order}`` chosen for date columns whose values did not
            show it.
        updated_at: when it was last used for an import (aware UTC).
        updated_by_id: the account that did, if any.
    """

    __tablename__ = "import_mappings"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    headers: Mapped[list[str]] = mapped_column(JSON())
    targets: Mapped[list[str | None]] = mapped_column(JSON())
    date_orders: Mapped[dict[str, str]] = mapped_column(JSON())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )

    def __repr__(self) -> str:
        return f"<ImportMapping {self.fingerprint[:8]} {len(self.headers)} columns>"
