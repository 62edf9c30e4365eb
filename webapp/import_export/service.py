"""The import's workflow for the pages: check and store an upload, then confirm it.

The views call these functions and turn their outcomes into pages; the command line
calls :func:`webapp.import_export.importer.run_import` directly. Every function here
ends the request's transaction itself (committing what it wrote, or rolling back).
"""

from __future__ import annotations

from typing import Any

from webapp.extensions import db
from webapp.fields.student import ROSTER_ROW
from webapp.import_export import importer, uploads
from webapp.import_export.importer import ImportFileError, ImportPlan, ImportResult


class UploadGone(Exception):
    """The upload was claimed by another request (a second click on the confirm button)."""


class PreviewOutdated(Exception):
    """The roster changed since the preview, so rows would now do something else.

    Nothing was written; the upload's preview has been replaced by the new one.
    """


def preview_meta(plan: ImportPlan) -> dict[str, Any]:
    """What an upload stores for its preview: totals and one compact entry per row.

    Args:
        plan: the import's plan.

    Returns:
        ``{"digest", "fields", "ignored", "counts", "warned", "rows"}``, ``warned`` the
        number of rows with warnings; each row is ``[line, action, student id, name,
        [[field label, old, new], ...], [error, ...], [warning, ...]]``, values shown as
        their fields display them. JSON-serialisable.
    """
    return {
        "digest": plan.digest(),
        "fields": list(plan.fields),
        "ignored": list(plan.ignored_columns),
        "counts": {action.value: count for action, count in plan.counts.items()},
        "warned": sum(1 for row in plan.rows if row.warnings),
        "rows": [
            [
                row.line,
                row.action.value,
                row.student_id,
                row.name,
                [
                    [
                        ROSTER_ROW[change.field].noun,
                        importer.display(change.field, change.old),
                        importer.display(change.field, change.new),
                    ]
                    for change in row.changes
                ],
                list(row.errors),
                list(row.warnings),
            ]
            for row in plan.rows
        ],
    }


def check_upload(data: bytes, *, filename: str, owner: str) -> uploads.Upload:
    """Check an uploaded file and store it with its preview; nothing is imported yet.

    The request's transaction is ended first: checking a large file takes seconds and
    does not touch the database, and SQLite's write lock would stall every other writer
    meanwhile (read anything needed from the session, such as the user, before).

    Args:
        data: the file's bytes.
        filename: its name on the uploader's computer (display only).
        owner: who uploads it (:func:`webapp.import_export.uploads.current_owner`).

    Returns:
        The stored upload, whose token names its preview.

    Raises:
        ImportFileError: the file as a whole cannot be imported.
    """
    db.session.rollback()
    max_bytes = importer.configured_max_bytes()
    plan = importer.plan_import(importer.read_and_validate(data, max_bytes=max_bytes))
    db.session.rollback()  # the plan only read
    return uploads.save(data, filename=filename[:200], owner=owner, meta=preview_meta(plan))


def cancel(token: str) -> None:
    """Forget an upload and its preview; nothing was imported."""
    uploads.discard(token)


def confirm(upload: uploads.Upload, *, all_or_nothing: bool) -> ImportResult:
    """Apply a previewed upload in one transaction, if it still does what the preview said.

    The workflow: claim the upload (so a second click cannot apply it twice), check the
    file again, take the import's locks (:func:`importer.begin_import`), plan it against
    the roster as it is now and compare with the preview's digest, then apply the plan
    and commit. The upload is discarded once applied, and released (so it can be
    confirmed again) when the confirm fails for a reason that may pass.

    Args:
        upload: a loaded upload of the current user.
        all_or_nothing: write nothing when any row has an error.

    Returns:
        What the import did.

    Raises:
        UploadGone: another request claimed the upload first.
        PreviewOutdated: the plan differs from the preview; nothing was written, the
            preview was updated and the upload released.
        ImportFileError: the stored file cannot be imported; it was discarded.
        ImportConflictError: the database refused a row; nothing was written, the
            upload was released.
    """
    data = uploads.claim(upload)
    if data is None:
        raise UploadGone(upload.token)
    db.session.rollback()  # checking the file holds no lock (see check_upload)
    try:
        validated = importer.read_and_validate(data, max_bytes=importer.configured_max_bytes())
        importer.begin_import()
        plan = importer.plan_import(validated, lock=True)
        if plan.digest() != upload.meta.get("digest"):
            db.session.rollback()
            uploads.update_meta(upload, preview_meta(plan))
            uploads.release(upload)
            raise PreviewOutdated(upload.token)
        result = importer.apply_plan(plan, all_or_nothing=all_or_nothing, source=upload.filename)
    except ImportFileError:
        uploads.discard(upload.token)
        raise
    except PreviewOutdated:
        raise
    except BaseException:
        uploads.release(upload)
        raise
    uploads.discard(upload.token)
    return result
