"""Bulk actions on the roster (editors): a confirmation page that shows what would change,
then one transaction, audited as one batch.

The roster's form posts the selection (``student`` checkboxes, or ``every`` for every
row the search matches, with the search itself) and the action to :func:`bulk`, which
shows the confirmation page; its Confirm button posts the same to :func:`bulk_apply`.
Exporting the selection is the export feature's (``import_export.export_selection``).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.auth.access import role_required
from webapp.extensions import db
from webapp.homerooms import assignments
from webapp.homerooms.service import HomeroomError, homeroom_named, homeroom_suggestions
from webapp.models import Role, SchoolYear
from webapp.students import bp, bulk, roster_query
from webapp.students.forms import BULK_ACTIONS, BulkForm
from webapp.years.service import current_year

UNPROCESSABLE = 422
CONFLICT = 409


def read_selection() -> bulk.Selection:
    """The selection a roster form posted: ``every`` (with the search), or the ticked ids."""
    query = roster_query.parse_roster_query(request.form)
    if request.form.get("every") == "1":
        return bulk.Selection(query, None)
    values = request.form.getlist("student")[: bulk.MAX_SELECTED + 1]
    ids = tuple(int(v) for v in values if v.isdecimal() and 0 < len(v) < 10)
    return bulk.Selection(query, ids)


def new_form() -> BulkForm:
    """The bulk action form (the posted values, on a POST)."""
    return BulkForm()


def suggestions(year: SchoolYear, grade: int | None) -> list[tuple[str, int, int]]:
    """The homerooms the roster's bulk bar suggests: ``grade``'s when the roster shows one
    grade, at most :data:`~webapp.homerooms.service.SUGGESTION_LIMIT`."""
    return homeroom_suggestions(year.id, grade)


def _plan(form: BulkForm, selection: bulk.Selection) -> dict[str, Any]:
    """What the action would do: the template's values, and ``seen`` (its fingerprint).

    Raises:
        BulkError, HomeroomError: the selection or the homeroom cannot be used.
    """
    year = current_year()
    rows = bulk.selected_rows(selection, current_user, year.id)
    if form.action.data == "homeroom":
        name = (form.homeroom.data or "").strip()
        homeroom = homeroom_named(year.id, name)
        if homeroom is None:
            raise HomeroomError(f"There is no homeroom called “{name}” in {year.name}.")
        plan = assignments.plan(homeroom, [student.id for student, _ in rows], year_id=year.id)
        pairs = [(m.enrollment.id, m.enrollment.version) for m in plan.moves]
        return {
            "assign": plan,
            "seen": bulk.fingerprint(pairs),
            "token": assignments.confirmation_token(plan),
            "count": len(plan.moves),
        }
    status_plan = bulk.plan_status(rows, form.status_values(), year)
    pairs = [(c.enrollment.id, c.enrollment.version) for c in status_plan.changes]
    return {
        "status_plan": status_plan,
        "seen": bulk.fingerprint(pairs),
        "token": "",
        "count": len(status_plan.changes),
    }


def _students(count: int) -> str:
    """``"1 student"``, ``"3 students"``."""
    return f"{count} student{'s' if count != 1 else ''}"


def _page(form: BulkForm, selection: bulk.Selection, status: int, **values: Any) -> tuple[str, int]:
    return render_template(
        "students/bulk.html",
        form=form,
        selection=selection,
        year=current_year(),
        actions=BULK_ACTIONS,
        back=url_for(".index", **selection.query.url_args()),
        **values,
    ), status


@bp.post("/bulk")
@role_required(Role.EDITOR)
def bulk_preview() -> tuple[str, int]:
    """The confirmation page: what the action would do to each selected student."""
    form, selection = new_form(), read_selection()
    if not form.validate_on_submit():
        return _page(form, selection, UNPROCESSABLE)
    try:
        return _page(form, selection, 200, **_plan(form, selection))
    except (bulk.BulkError, HomeroomError) as error:
        return _page(form, selection, UNPROCESSABLE, problem=str(error))


@bp.post("/bulk/apply")
@role_required(Role.EDITOR)
def bulk_apply() -> Response | tuple[str, int]:
    """Apply the confirmed action in one transaction; 409 if it would now do otherwise."""
    form, selection = new_form(), read_selection()
    if not form.validate_on_submit():
        return _page(form, selection, UNPROCESSABLE)
    try:
        planned = _plan(form, selection)
    except (bulk.BulkError, HomeroomError) as error:
        return _page(form, selection, UNPROCESSABLE, problem=str(error))
    if planned["seen"] != form.seen.data:
        db.session.rollback()
        problem = "The roster changed since this page was shown; check the changes again."
        return _page(form, selection, CONFLICT, problem=problem, **planned)
    if planned["count"] == 0:
        return _page(form, selection, UNPROCESSABLE, problem="Nothing to change.", **planned)
    if planned["token"] and form.confirm_capacity.data != planned["token"]:
        problem = "Tick the box to confirm the homeroom's capacity, or go back."
        return _page(form, selection, UNPROCESSABLE, problem=problem, **planned)
    try:
        if "assign" in planned:
            plan = planned["assign"]
            description = f"Bulk assignment of {planned['count']} students to {plan.homeroom.name}"
            done = assignments.apply(plan, description=description)
            flash(f"Assigned {_students(done)} to {plan.homeroom.name}.", "success")
        else:
            status_plan = planned["status_plan"]
            label = form["status"].declaration.display(status_plan.values["status"])
            done = bulk.apply_status(
                status_plan, f"Bulk status {label}: {planned['count']} students"
            )
            flash(f"Changed the status of {_students(done)} to {label.lower()}.", "success")
    except (bulk.BulkError, HomeroomError) as error:
        return _page(form, selection, CONFLICT, problem=str(error))
    return redirect(url_for(".index", **selection.query.url_args()))
