"""Views of the import and export blueprint: CSV upload, preview, confirm, result; export.

The import is three requests: the upload (POST ``/students/import``) checks the file and
stores it server-side with its preview, the preview page (GET ``/students/import/<token>``)
says what each row would do, and the confirm (POST to the same URL) applies it in one
transaction, then redirects to the result. Nothing is written before the confirm. The
workflow itself is :mod:`webapp.import_export.service`'s.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Response,
    flash,
    redirect,
    render_template,
    request,
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
from webapp.import_export import bp, exporter, importer, service, uploads
from webapp.import_export.forms import ConfirmImportForm, UploadForm
from webapp.import_export.importer import Action, ImportConflictError, ImportFileError
from webapp.models import Role
from webapp.students.bulk import MAX_SELECTED
from webapp.students.roster import parse_roster_query

#: HTTP status of a form that failed validation (RFC 9110 "Unprocessable Content").
UNPROCESSABLE = 422
#: Allowance for the multipart framing and the CSRF field around the file, in bytes.
UPLOAD_OVERHEAD = 64 * 1024
#: Rows per page of the preview.
PREVIEW_PER_PAGE = 100
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


class ListPagination(Pagination):
    """Flask-SQLAlchemy's pagination over a list, for the ``render_pagination`` macro."""

    def _query_items(self) -> list[Any]:
        items: list[Any] = self._query_args["items"]
        start = (self.page - 1) * self.per_page
        return items[start : start + self.per_page]

    def _query_count(self) -> int:
        return len(self._query_args["items"])


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


@bp.route("/import", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def upload() -> BaseResponse | tuple[str, int]:
    """Upload a CSV file; a usable one is stored and its preview shown."""
    form = UploadForm(max_bytes=importer.configured_max_bytes())
    if form.validate_on_submit():
        owner = uploads.current_owner()
        file = form.file.data
        try:
            stored = service.check_upload(
                file.read(), filename=file.filename or "upload.csv", owner=owner
            )
        except ImportFileError as error:
            form.file.errors = [*form.file.errors, str(error)]
        else:
            return redirect(url_for(".preview", token=stored.token), code=303)
    status = UNPROCESSABLE if request.method == "POST" else 200
    return render_template("import_export/upload.html", form=form, columns=_columns()), status


@bp.get("/import/<token>")
@role_required(Role.EDITOR)
def preview(token: str) -> BaseResponse | str:
    """Show what the import would do, row by row, with totals and the confirm form."""
    upload = uploads.load(token, uploads.current_owner())
    if upload is None:
        return _gone()
    show = request.args.get("show", "all")
    if show not in SHOW_CHOICES:
        show = "all"
    # Previews stored before warnings existed have six items a row.
    rows = [row if len(row) > 6 else [*row, []] for row in upload.meta["rows"]]
    if show != "all":
        rows = [row for row in rows if row[1] == show]
    per_page = PREVIEW_PER_PAGE
    last_page = max((len(rows) + per_page - 1) // per_page, 1)
    page_number = min(max(request.args.get("page", 1, type=int) or 1, 1), last_page)
    page = ListPagination(page=page_number, per_page=per_page, error_out=False, items=rows)
    return render_template(
        "import_export/preview.html",
        upload=upload,
        meta=upload.meta,
        counts=upload.meta["counts"],
        page=page,
        show=show,
        show_choices=SHOW_CHOICES,
        page_url=lambda number: url_for(".preview", token=token, show=show, page=number),
        form=ConfirmImportForm(),
    )


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
    if not form.validate_on_submit():
        return redirect(url_for(".preview", token=token))
    if form.cancel.data:
        service.cancel(token)
        flash("Import cancelled. Nothing was changed.", "info")
        return redirect(url_for(".upload"))
    try:
        result = service.confirm(upload, all_or_nothing=form.all_or_nothing.data)
    except service.UploadGone:  # a second click: the first one is applying it
        return _gone()
    except service.PreviewOutdated:
        flash(
            "The roster changed since this preview was made, so nothing was imported. "
            "Check the updated preview below and confirm again.",
            "error",
        )
        return redirect(url_for(".preview", token=token))
    except ImportFileError as error:
        flash(str(error), "error")
        return redirect(url_for(".upload"))
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
