"""Views of the import and export blueprint: upload, preview, mapping, confirm, result; export.

The import is three requests at least: the upload (POST ``/students/import``) reads the
file (CSV, ``.xlsx``, ``.ods``) and stores it with its preview, the preview page (GET
``/students/import/<token>``) says how the file was read, how its columns map to fields
and what each row would do, and the confirm (POST to the same URL) applies it in one
transaction, then redirects to the result. The preview's mapping form (POST
``/students/import/<token>/mapping``) maps columns and chooses date orders, and shows
the preview again. Nothing is written to the roster before the confirm. The workflow
itself is :mod:`webapp.import_export.service`'s.
"""

from __future__ import annotations

import tempfile
from typing import Any

from flask import (
    Response,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from flask_sqlalchemy.pagination import Pagination
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response as BaseResponse

from webapp.auth.access import role_required
from webapp.fields.student import ROSTER_ROW
from webapp.import_export import bp, exporter, importer, jobs, service, uploads
from webapp.import_export import preview as preview_pages
from webapp.import_export.forms import (
    ConfirmImportForm,
    MappingForm,
    UploadForm,
    mapping_form,
)
from webapp.import_export.importer import Action, ImportConflictError, ImportFileError, Source
from webapp.models import Role
from webapp.models.types import utcnow
from webapp.students.bulk import MAX_SELECTED
from webapp.students.roster_query import parse_roster_query

#: HTTP status of a form that failed validation (RFC 9110 "Unprocessable Content").
UNPROCESSABLE = 422
#: Allowance for the multipart framing and the CSRF field around the file, in bytes.
UPLOAD_OVERHEAD = 64 * 1024
#: HTTP status of an upload refused because the server is reading other files.
TOO_MANY = 429
#: Why.
BUSY_MESSAGE = (
    "The server is reading other files at the moment. Try again in a minute; nothing was imported."
)
#: Seconds between two loads of the page that waits for a file to be read.
REFRESH_SECONDS = 2
#: Rows per page of the preview.
PREVIEW_PER_PAGE = preview_pages.PREVIEW_PER_PAGE
#: The preview's filters: what ``?show=`` accepts, with their labels.
SHOW_CHOICES = {
    "all": "All rows",
    Action.ERROR.value: "Errors",
    Action.CREATE.value: "New",
    Action.UPDATE.value: "Changed",
    Action.UNCHANGED.value: "Unchanged",
}
#: Session key of the last finished import's totals, shown by the result page.
RESULT_KEY = "import_result"

GONE_MESSAGE = (
    "That import is no longer available: it was finished or cancelled, or it expired "
    "(uploads are kept for an hour). Upload the file again."
)


class StoredPagination(Pagination):
    """Flask-SQLAlchemy's pagination over a stored page, for the ``render_pagination`` macro.

    Takes ``items`` (the page's rows, read from the database) and ``total`` (the rows of
    the view), so that a page view reads one page, whatever the file's size.
    """

    def _query_items(self) -> list[Any]:
        items: list[Any] = self._query_args["items"]
        return items

    def _query_count(self) -> int:
        total: int = self._query_args["total"]
        return total


@bp.url_value_preprocessor
def allow_large_upload(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Let the upload's body be as large as the file limit allows.

    The site-wide ``MAX_CONTENT_LENGTH`` is sized for small forms. URL value preprocessors
    run before every ``before_request`` hook, and so before CSRFProtect reads the form.
    """
    if endpoint == "import_export.upload":
        request.max_content_length = importer.configured_max_bytes() + UPLOAD_OVERHEAD


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(error: RequestEntityTooLarge) -> tuple[str, int]:
    """Show the upload form again with the size problem beside the file field (413)."""
    form = UploadForm(formdata=None, max_bytes=importer.configured_max_bytes())
    form.file.errors = [
        importer.too_large_message(request.content_length, importer.configured_max_bytes())
    ]
    return render_template("import_export/upload.html", form=form, columns=_columns()), 413


def _gone() -> BaseResponse:
    """Send the user back to the upload form: the upload is gone or not theirs."""
    flash(GONE_MESSAGE, "info")
    return redirect(url_for(".upload"))


def _columns() -> list[Any]:
    """The declared student fields, for the upload page's description of the columns."""
    return list(ROSTER_ROW)


def _upload_page(form: UploadForm, status: int) -> tuple[str, int]:
    return render_template("import_export/upload.html", form=form, columns=_columns()), status


@bp.route("/import", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def upload() -> BaseResponse | tuple[str, int]:
    """Upload a file; it is read in the background while its preview page waits for it."""
    form = UploadForm(max_bytes=importer.configured_max_bytes())
    if not form.validate_on_submit():
        return _upload_page(form, UNPROCESSABLE if request.method == "POST" else 200)
    owner = uploads.current_owner()
    file = form.file.data
    data = file.read()  # the request's file is closed when the request ends
    if not data:
        form.file.errors = [*form.file.errors, "The file is empty."]
        return _upload_page(form, UNPROCESSABLE)
    stored = service.begin_upload(
        filename=file.filename or "upload.csv", owner=owner, size=len(data)
    )
    if not jobs.submit(stored, service.read_upload, data):
        service.cancel(stored)
        form.file.errors = [*form.file.errors, BUSY_MESSAGE]
        return _upload_page(form, TOO_MANY)
    return redirect(url_for(".preview", token=stored.token), code=303)


def _mapping_form(upload: uploads.Upload, **kwargs: Any) -> MappingForm:
    """The preview's mapping form, set to the upload's current mapping."""
    summary = upload.summary
    ordered = [
        (date["field"], date["header"], date["order"])
        for date in summary["dates"]
        if date["needs_order"] and date["how"] != "values"
    ]
    headers = [column["header"] for column in summary["columns"]]
    return mapping_form(headers, summary["targets"], ordered, **kwargs)


def _render_preview(upload: uploads.Upload, mapping: MappingForm | None = None) -> str:
    """The preview page of ``upload``: how it was read, its mapping, its rows, the confirm."""
    summary = upload.summary
    show = request.args.get("show", "all")
    if show not in SHOW_CHOICES:
        show = "all"
    counts = summary["counts"]
    total = sum(counts.values()) if show == "all" else counts.get(show, 0)
    per_page = PREVIEW_PER_PAGE
    last_page = max((total + per_page - 1) // per_page, 1)
    page_number = min(max(request.args.get("page", 1, type=int) or 1, 1), last_page)
    page = StoredPagination(
        page=page_number,
        per_page=per_page,
        error_out=False,
        items=service.page_rows(upload, show, page_number),
        total=total,
    )
    token = upload.token
    return render_template(
        "import_export/preview.html",
        upload=upload,
        summary=summary,
        source=Source.from_json(summary["source"]),
        counts=counts,
        page=page,
        show=show,
        show_choices=SHOW_CHOICES,
        page_url=lambda number: url_for(".preview", token=token, show=show, page=number),
        form=ConfirmImportForm(),
        mapping=mapping or _mapping_form(upload, formdata=None),
    )


def _stale(upload: uploads.Upload) -> bool:
    """Whether a reading upload has been reading for longer than any file takes."""
    started = upload.started or upload.created
    return (utcnow() - started).total_seconds() > jobs.read_timeout()


def _waiting_page(upload: uploads.Upload) -> BaseResponse | tuple[str, int]:
    """The page of an upload that is not ready: reading, or failed (the upload form)."""
    error = upload.error
    if upload.status == uploads.READING:
        if not _stale(upload):
            return render_template(
                "import_export/reading.html", upload=upload, refresh=REFRESH_SECONDS
            ), 200
        error = (
            "Reading the file was interrupted (the server restarted); nothing was imported. "
            "Upload it again."
        )
    form = UploadForm(formdata=None, max_bytes=importer.configured_max_bytes())
    form.file.errors = [error or jobs.SERVER_ERROR]
    return _upload_page(form, UNPROCESSABLE)


@bp.get("/import/<token>")
@role_required(Role.EDITOR)
def preview(token: str) -> BaseResponse | str | tuple[str, int]:
    """Show how the file was read and mapped and what each row would do, with the confirm.

    While the file is being read, a page that reloads itself; when it could not be read,
    the upload form with the reason beside the field (422).
    """
    upload = uploads.load(token, uploads.current_owner())
    if upload is None:
        return _gone()
    if upload.status != uploads.READY:
        return _waiting_page(upload)
    return _render_preview(upload)


@bp.get("/import/<token>/status")
@role_required(Role.EDITOR)
def status(token: str) -> tuple[dict[str, str], int]:
    """Whether an upload is still being read: ``{"status": "reading"}`` (for the page's
    script, which shows the preview once it is not)."""
    upload = uploads.load(token, uploads.current_owner())
    if upload is None:
        return {"status": "gone"}, 404
    stale = upload.status == uploads.READING and _stale(upload)
    return {"status": uploads.FAILED if stale else upload.status}, 200


@bp.post("/import/<token>/mapping")
@role_required(Role.EDITOR)
def remap(token: str) -> BaseResponse | tuple[str, int]:
    """Apply the columns' mapping and the date orders chosen on the preview, and re-plan."""
    upload = uploads.load(token, uploads.current_owner())
    if upload is None:
        return _gone()
    if upload.status != uploads.READY:
        return redirect(url_for(".preview", token=token), code=303)
    form = _mapping_form(upload)
    if not form.validate_on_submit():
        return _render_preview(upload, form), UNPROCESSABLE
    if not service.begin_remap(upload):
        return _gone()
    choices = {"targets": form.targets(), "date_orders": form.date_orders()}
    if not jobs.submit(upload, service.replan, **choices):
        service.fail_upload(upload, BUSY_MESSAGE)
    flash("The preview below follows your mapping. Nothing has been imported yet.", "info")
    return redirect(url_for(".preview", token=token), code=303)


@bp.post("/import/<token>")
@role_required(Role.EDITOR)
def confirm(token: str) -> BaseResponse:
    """Apply the previewed import in one transaction (or cancel it), then show the result.

    The file is checked and matched again inside the write transaction; if the roster
    changed since the preview so that some row would now do something else, nothing is
    written and the new preview is shown.
    """
    owner = uploads.current_owner()
    upload = uploads.load(token, owner)
    if upload is None:
        return _gone()
    form = ConfirmImportForm()
    if not form.validate_on_submit() or upload.status != uploads.READY:
        return redirect(url_for(".preview", token=token))
    if form.cancel.data:
        service.cancel(upload)
        flash("Import cancelled. Nothing was changed.", "info")
        return redirect(url_for(".upload"))
    user_id = current_user.id if current_user.is_authenticated else None
    try:
        result = service.confirm(upload, all_or_nothing=form.all_or_nothing.data, user_id=user_id)
    except service.UploadGone:  # a second click: the first one is applying it
        return _gone()
    except service.PreviewOutdated:
        flash(
            "The roster changed since this preview was made, so nothing was imported. "
            "Check the updated preview below and confirm again.",
            "error",
        )
        return redirect(url_for(".preview", token=token))
    except ImportFileError as error:  # the mapping has problems: the preview shows them
        flash(str(error), "error")
        return redirect(url_for(".preview", token=token))
    except ImportConflictError as error:
        flash(str(error), "error")
        return redirect(url_for(".preview", token=token))
    session[RESULT_KEY] = {
        "token": token,
        "filename": upload.filename,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "errors": result.errors,
        "written": result.written,
    }
    return redirect(url_for(".result", token=token), code=303)


@bp.get("/import/<token>/result")
@role_required(Role.EDITOR)
def result(token: str) -> BaseResponse | str:
    """Show the totals of the import just applied."""
    totals = session.get(RESULT_KEY)
    if not isinstance(totals, dict) or totals.get("token") != token:
        return redirect(url_for(".upload"))
    return render_template("import_export/result.html", totals=totals)


def _csv_response(query: Any, student_ids: list[int] | None = None) -> Response:
    response = Response(
        stream_with_context(
            exporter.iter_csv(query, bom=True, viewer=current_user, student_ids=student_ids)
        ),
        mimetype="text/csv",
    )
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{exporter.export_filename(query)}"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/export-selection.csv")
def export_selection() -> Response:
    """Download the roster's selection as CSV: the students ticked, or (``every``) every
    student the posted search matches; the same columns and order as the export."""
    query = parse_roster_query(request.form)
    if request.form.get("every") == "1":
        return _csv_response(query)
    values = request.form.getlist("student")[:MAX_SELECTED]
    return _csv_response(query, [int(v) for v in values if v.isdecimal() and 0 < len(v) < 10])


@bp.get("/export.csv")
def export_csv() -> Response:
    """Download the roster as CSV: the rows and order the list shows, all pages.

    The query string is the roster's (``q``, ``grade``, ``sort``; ``page`` and
    ``per_page`` are ignored). The body is streamed batch by batch.
    """
    return _csv_response(parse_roster_query(request.args))


#: Bytes of an ``.xlsx`` export kept in memory before it spills to a temporary file.
XLSX_SPOOL_BYTES = 8 * 1024 * 1024


@bp.get("/export.xlsx")
def export_xlsx() -> Response:
    """Download the roster as an Excel workbook: the same rows, columns and order as CSV.

    The workbook is written as rows are read (openpyxl's write-only workbook; memory
    stays flat) into a temporary file, then sent.
    """
    query = parse_roster_query(request.args)
    spool = tempfile.SpooledTemporaryFile(max_size=XLSX_SPOOL_BYTES)  # noqa: SIM115  (send_file closes it)
    try:
        exporter.write_xlsx(query, spool, viewer=current_user)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    response = send_file(
        spool,
        mimetype=exporter.XLSX_MIMETYPE,
        as_attachment=True,
        download_name=exporter.export_filename(query, extension="xlsx"),
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
