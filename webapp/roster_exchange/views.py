"""Views of the OneRoster blueprint (administrators only): thin wrappers over
:mod:`.exporting` and :mod:`.importing`.

The import is three requests, like the CSV import's: the upload (POST ``/oneroster/``)
checks and plans the bundle and stores it with its preview in the database, in the CSV
import's store of pending uploads (``import_export.uploads``); the preview (GET
``/oneroster/import/<token>``) shows what each file and line would do; the confirm (POST
there) plans it again inside the write transaction and applies it, deleting the upload
in the same transaction (two confirms cannot both apply it).
"""

from __future__ import annotations

import tempfile
from typing import Any

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from werkzeug.wrappers import Response

from webapp.auth.access import role_required
from webapp.database import begin_write, own_transactions
from webapp.extensions import db
from webapp.import_export import uploads
from webapp.models import Role
from webapp.roster_exchange import bp, exporting, importing, settings
from webapp.roster_exchange.forms import ConfirmForm, ExportForm, UploadBundleForm
from webapp.roster_exchange.planning import Outcome, Plan
from webapp.years.service import all_years, current_year

UNPROCESSABLE = 422
#: Rows the preview lists one by one (errors first); the totals count every row.
PREVIEW_MAX_ROWS = 2_000
#: Allowance for the multipart framing around the file, in bytes.
UPLOAD_OVERHEAD = 64 * 1024
#: The order in which the preview lists rows.
_LISTED = (Outcome.ERROR, Outcome.CREATE, Outcome.UPDATE, Outcome.SKIP)


def _max_bytes() -> int:
    return importing.max_bundle_bytes(current_app.config)


@bp.url_value_preprocessor
def allow_large_upload(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Let the upload's body be as large as the bundle limit (before CSRF reads the form)."""
    if endpoint == "oneroster.index" and request.method == "POST":
        request.max_content_length = _max_bytes() + UPLOAD_OVERHEAD


def _render_index(
    upload_form: UploadBundleForm, problems: list[Any] | None = None, status: int = 200
) -> tuple[str, int]:
    years = [year.name for year in all_years()]
    current = current_year().name
    years.sort(key=lambda name: name != current)
    try:
        settings.from_config(current_app.config)
        settings_problem = None
    except settings.SettingsError as error:
        settings_problem = str(error)
    page = render_template(
        "oneroster/index.html",
        export_form=ExportForm(formdata=None, years=years, data={"year": current}),
        upload_form=upload_form,
        problems=problems or [],
        settings_problem=settings_problem,
    )
    return page, status


@bp.route("/", methods=["GET", "POST"])
@role_required(Role.ADMIN)
@own_transactions
def index() -> Response | tuple[str, int]:
    """The export's download form and the import's upload form; the upload's POST.

    Planning a large bundle takes seconds and only reads, so it runs without the write
    lock (SQLite's one writer; issue 18, finding 2); the upload is stored in one short
    write transaction afterwards.
    """
    form = UploadBundleForm(max_bytes=_max_bytes())
    if request.method == "GET":
        return _render_index(form)
    if not form.validate_on_submit():
        return _render_index(form, status=UNPROCESSABLE)
    file = form.file.data
    filename = file.filename or "bundle.zip"
    data = file.read()
    try:
        plan = importing.plan_bundle(data, filename)
    except importing.BundleRejected as error:
        db.session.rollback()
        form.file.errors = [*form.file.errors, f"{error}; nothing was imported."]
        return _render_index(form, error.problems, UNPROCESSABLE)
    db.session.rollback()  # planning read the records; the store's transaction starts anew
    begin_write()
    upload = uploads.create(filename=filename, size=len(data), owner=uploads.current_owner())
    uploads.store(upload, table=data, summary=_meta(plan), pages={})
    db.session.commit()
    return redirect(url_for(".preview", token=upload.token), code=303)


def _meta(plan: Plan) -> dict[str, Any]:
    """What the preview page shows of a plan, as JSON."""
    listed = [row for outcome in _LISTED for row in plan.rows if row.outcome is outcome]
    return {
        "totals": plan.totals(),
        "fingerprint": plan.fingerprint(),
        "rows": [
            [row.file, row.line, row.outcome.value, row.record, row.message]
            for row in listed[:PREVIEW_MAX_ROWS]
        ],
        "listed": len(listed),
    }


@bp.get("/export.zip")
@role_required(Role.ADMIN)
def export_zip() -> Response:
    """Download the OneRoster bundle of the current school year, or of ``?year=NAME``.

    The zip is written to a temporary file first (memory stays flat; a failure gives an
    error page, not a truncated download), then sent.
    """
    try:
        config = settings.from_config(current_app.config)
        year = exporting.export_year(request.args.get("year") or None)
    except (settings.SettingsError, exporting.UnknownYearError) as error:
        flash(str(error), "error")
        return redirect(url_for(".index"))
    spool = tempfile.TemporaryFile()  # noqa: SIM115  (send_file closes it after the response)
    try:
        exporting.write_bundle(spool, year, config)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    response = send_file(
        spool,
        mimetype="application/zip",
        as_attachment=True,
        download_name=exporting.bundle_filename(year),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _gone() -> Response:
    flash(
        "That import is no longer available: it was finished or cancelled, or it expired. "
        "Upload the zip again.",
        "info",
    )
    return redirect(url_for(".index"))


@bp.get("/import/<token>")
@role_required(Role.ADMIN)
def preview(token: str) -> Response | str:
    """What the import would do: totals per file, then the rows in error, new and changed."""
    upload = uploads.load(token, uploads.current_owner())
    if upload is None:
        return _gone()
    if "fingerprint" not in upload.summary:  # a CSV import's upload
        return _gone()
    return render_template(
        "oneroster/preview.html", upload=upload, meta=upload.summary, form=ConfirmForm()
    )


@bp.post("/import/<token>")
@role_required(Role.ADMIN)
def confirm(token: str) -> Response:
    """Apply the previewed import in one transaction, or cancel it."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        return redirect(url_for(".preview", token=token))
    upload = uploads.locked(token, uploads.current_owner())
    if upload is None or "fingerprint" not in upload.summary:
        db.session.rollback()
        return _gone()
    if form.cancel.data:
        uploads.discard(token)
        db.session.commit()
        flash("Import cancelled. Nothing was changed.", "info")
        return redirect(url_for(".index"))
    data = uploads.table(upload)
    try:
        plan = importing.plan_bundle(data, upload.filename)
        written = importing.apply_plan(
            plan, upload.summary["fingerprint"], finish=lambda: uploads.discard(token)
        )
    except (importing.BundleRejected, importing.ImportRefused) as error:
        db.session.rollback()
        flash(f"Nothing was imported: {error}", "error")
        return redirect(url_for(".preview", token=token))
    except importing.PreviewOutdated:
        uploads.replace_preview(upload, _meta(plan), {})
        db.session.commit()
        flash(
            "The records changed since this preview was made, so nothing was imported. "
            "Check the updated preview and confirm again.",
            "error",
        )
        return redirect(url_for(".preview", token=token))
    flash(
        "Imported " + ", ".join(f"{count:,} {kind}" for kind, count in written.items()) + ".",
        "success",
    )
    return redirect(url_for(".index"), code=303)
