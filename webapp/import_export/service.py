"""The import's workflow for the pages: upload, background reading, mapping, confirm.

:func:`begin_upload` stores an upload and :func:`read_upload` (run in the background by
:mod:`.jobs`) reads, maps and previews it; :func:`begin_remap` and :func:`replan` apply
another mapping or date order chosen on the preview; :func:`confirm` applies it;
:func:`cancel` forgets it. The command line reads and maps a file with
:func:`webapp.import_export.intake.read` and streams it through
:func:`webapp.import_export.importer.run_import`. Both start from the mapping remembered
for the file's headers (:mod:`.mappings`).

Every function here ends the transaction it runs in itself (committing what it wrote, or
rolling back). Reading and checking a file take seconds and hold no database lock: the
request's write transaction is ended first, and writes happen in short transactions at
the end.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

from webapp.database import begin_write
from webapp.extensions import db
from webapp.import_export import importer, mappings, uploads
from webapp.import_export.importer import ImportFileError, ImportResult, ParsedFile
from webapp.import_export.intake import kept_columns, prepare, read
from webapp.import_export.preview import build_preview, summarise
from webapp.spreadsheets import DateOrder


class UploadGone(Exception):
    """The upload was confirmed, cancelled or expired meanwhile (a second click, say)."""


class PreviewOutdated(Exception):
    """The roster changed since the preview, so rows would now do something else.

    Nothing was written; the upload's preview has been replaced by the new one.
    """


def begin_upload(*, filename: str, owner: str, size: int) -> uploads.Upload:
    """Store a new upload, ``reading``, for :func:`read_upload` to fill in the background.

    Args:
        filename: its name on the uploader's computer (display only).
        owner: who uploads it (:func:`webapp.import_export.uploads.current_owner`).
        size: its size in bytes.

    Returns:
        The upload, whose token names its preview.
    """
    db.session.rollback()
    begin_write()
    upload = uploads.create(filename=filename, size=size, owner=owner)
    db.session.commit()
    return upload


def _finish(upload: uploads.Upload, work: Callable[[], None]) -> None:
    """Run ``work`` (which stores a preview) in a write transaction on ``upload``, or store
    why it failed; commit. Nothing happens to an upload deleted meanwhile."""
    try:
        work()
    except ImportFileError as error:
        db.session.rollback()
        begin_write()
        if uploads.locked(upload.token, upload.owner) is not None:
            uploads.fail(upload, str(error))
        db.session.commit()


def read_upload(upload: uploads.Upload, data: bytes | IO[bytes]) -> None:
    """Read an upload's file, map it, and store it with its preview (or why it failed).

    Runs in the background (:mod:`webapp.import_export.jobs`). Reading and checking a
    large file take seconds and need the database only to match the rows, so no write
    lock is held meanwhile; the result is stored in one short transaction at the end.

    Args:
        upload: an upload :func:`begin_upload` made.
        data: the file's bytes, or the uploaded file.
    """

    def work() -> None:
        parsed, recalled, table = read(data, upload.filename, pack=True)
        pages = build_preview(parsed)
        summary = summarise(parsed, pages, recalled)
        packed = table.packed
        assert packed is not None
        del table, parsed  # the records: what follows needs only the packed file
        db.session.rollback()  # planning only read
        begin_write()
        if uploads.locked(upload.token, upload.owner) is not None:
            uploads.store(upload, table=packed, summary=summary, pages=pages.pages)
        db.session.commit()

    _finish(upload, work)


def _parsed(upload: uploads.Upload, **choices: Any) -> ParsedFile:
    """The upload's file mapped as its preview says, or with ``choices`` instead."""
    summary = upload.summary
    targets = importer.check_targets(
        choices.get("targets", summary.get("targets")) or [], len(summary.get("columns", []))
    )
    try:
        packed = uploads.table(upload)
    except LookupError as error:
        raise UploadGone(upload.token) from error
    table = importer.unpack_table(packed, keep=lambda header: kept_columns(targets))
    parsed, _ = prepare(
        table,
        targets=targets,
        date_orders=choices.get("date_orders", summary.get("date_orders")),
        remembered=False,
    )
    return parsed


def begin_remap(upload: uploads.Upload) -> bool:
    """Put an upload back to ``reading`` for :func:`replan`.

    Returns:
        Whether it was still there (not confirmed, cancelled or expired meanwhile).
    """
    db.session.rollback()
    begin_write()
    current = uploads.locked(upload.token, upload.owner)
    if current is not None:
        uploads.restart(current)
    db.session.commit()
    return current is not None


def replan(
    upload: uploads.Upload,
    *,
    targets: Sequence[str | None],
    date_orders: Mapping[str, DateOrder],
) -> None:
    """Map the upload's columns and read its dates as chosen on the preview; re-plan it.

    Runs in the background, after :func:`begin_remap`; stores the new preview.

    Args:
        upload: an upload of the current user.
        targets: a target or ``None`` per column.
        date_orders: ``{field: order}`` for the date columns whose values do not show it.
    """

    def work() -> None:
        try:
            parsed = _parsed(upload, targets=targets, date_orders=date_orders)
        except UploadGone:
            return
        pages = build_preview(parsed)
        summary = summarise(parsed, pages)
        db.session.rollback()
        begin_write()
        if uploads.locked(upload.token, upload.owner) is not None:
            uploads.replace_preview(upload, summary, pages.pages)
            uploads.store_status(upload, uploads.READY)
        db.session.commit()

    _finish(upload, work)


def fail_upload(upload: uploads.Upload, message: str) -> None:
    """Mark an upload failed with ``message`` (a job that could not start)."""
    db.session.rollback()
    begin_write()
    uploads.fail(upload, message)
    db.session.commit()


def cancel(upload: uploads.Upload) -> None:
    """Forget an upload and its preview; nothing was imported."""
    db.session.rollback()
    begin_write()
    uploads.discard(upload.token)
    db.session.commit()


def confirm(
    upload: uploads.Upload, *, all_or_nothing: bool, user_id: int | None = None
) -> ImportResult:
    """Apply a previewed upload in one transaction, if it still does what the preview said.

    The file is checked again without a lock, then the import's locks are taken
    (:func:`importer.begin_import`), the upload is read again under them (another
    request may have confirmed it meanwhile), the rows are planned against the roster as
    it is now and compared with the preview's digest, and the plan is applied; the upload
    is deleted, and a custom mapping remembered, in the same transaction. A confirm that
    writes nothing (all-or-nothing with errors) deletes the upload too.

    Args:
        upload: a loaded upload of the current user.
        all_or_nothing: write nothing when any row has an error.
        user_id: the account confirming it, recorded with a remembered mapping.

    Returns:
        What the import did.

    Raises:
        UploadGone: another request confirmed or cancelled the upload first.
        PreviewOutdated: the plan differs from the preview; nothing was written, the
            preview was updated.
        ImportFileError: the upload's mapping cannot be imported; nothing was written.
        ImportConflictError: the database refused a row; nothing was written, the upload
            can be confirmed again.
    """
    db.session.rollback()  # checking the file holds no lock (see read_upload)
    parsed = _parsed(upload)
    if parsed.problems:
        raise ImportFileError(" ".join(parsed.problems))
    validated = importer.validate_rows(parsed)
    rows = len(parsed.records)
    parsed = dataclasses.replace(parsed, records=[])  # checked: the text is no longer needed
    db.session.rollback()
    importer.begin_import()
    if uploads.locked(upload.token, upload.owner) is None:
        db.session.rollback()
        raise UploadGone(upload.token)
    plan = importer.plan_import(validated, lock=True)
    if plan.digest() != upload.summary.get("digest"):
        pages = build_preview(parsed, plans=plan.rows)
        uploads.replace_preview(upload, summarise(parsed, pages, rows=rows), pages.pages)
        db.session.commit()
        raise PreviewOutdated(upload.token)

    def finish() -> None:
        uploads.discard(upload.token)
        mappings.remember(parsed, user_id)

    result = importer.apply_plan(
        plan, all_or_nothing=all_or_nothing, source=upload.filename, before_commit=finish
    )
    if not result.written:  # apply_plan rolled back: the upload is still there
        begin_write()
        uploads.discard(upload.token)
        db.session.commit()
    return result


def page_rows(upload: uploads.Upload, view: str, number: int) -> list[Any]:
    """One page of an upload's preview (see :class:`PreviewPages` for the entries)."""
    return uploads.page(upload, view, number)
