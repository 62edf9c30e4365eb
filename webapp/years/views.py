"""Views of the school years feature: thin wrappers over :mod:`webapp.years.service` and
:mod:`webapp.years.rollover` (with its preview and undo). Administrators only."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from webapp.auth.access import role_required
from webapp.extensions import db
from webapp.models import EnrollmentCount, Role, Rollover, SchoolYear, Status
from webapp.years import bp, rollover, rollover_preview, rollover_undo, service
from webapp.years.forms import ButtonForm, RolloverForm, YearForm

UNPROCESSABLE = 422
CONFLICT = 409


def _enrolled_per_year() -> dict[int, int]:
    """Students enrolled (status ``enrolled``) per year id, from the maintained counts."""
    statement = (
        select(EnrollmentCount.school_year_id, func.sum(EnrollmentCount.students))
        .where(EnrollmentCount.status == Status.ENROLLED.value)
        .group_by(EnrollmentCount.school_year_id)
    )
    return {year_id: int(total or 0) for year_id, total in db.session.execute(statement)}


@bp.get("/")
@role_required(Role.ADMIN)
def index() -> str:
    """The school years, the latest first, with the rollovers and their undo buttons."""
    years = service.all_years()
    rolled = {r.from_year_id for r in rollover.rollovers(1000) if r.undo_batch_id is None}
    following = {year.id: service.next_year(year) for year in years}
    recent = rollover.rollovers()
    return render_template(
        "years/index.html",
        years=years,
        enrolled=_enrolled_per_year(),
        rolled=rolled,
        following=following,
        rollovers=recent,
        undoable={r.id: rollover_undo.undoable(r) for r in recent if r.undo_batch_id is None},
        form=ButtonForm(),
    )


def _year_or_404(year_id: int) -> SchoolYear:
    return db.get_or_404(SchoolYear, year_id)


def _save(form: YearForm, year: SchoolYear) -> Response | tuple[str, int]:
    """Save a validated form, or show it again with the reason it was refused."""
    try:
        service.save_year(year, form.values(), form.expected_version())
    except service.StaleYearError as error:
        db.session.rollback()
        db.session.refresh(year)
        fresh = YearForm(formdata=None, year=year)
        fresh.version.data = str(year.version)
        fresh.form_errors.append(str(error))
        return render_template("years/form.html", form=fresh, year=year), CONFLICT
    except service.YearError as error:
        db.session.rollback()
        problems = service.check_year(form.values(), year.id)
        for name, message in problems.items():
            form[name].errors = [*form[name].errors, message]
        if not problems:
            form.form_errors.append(str(error))
        return render_template(
            "years/form.html", form=form, year=year if year.id else None
        ), UNPROCESSABLE
    flash(f"Saved the school year {year.name}.", "success")
    return redirect(url_for(".index"))


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def create() -> Response | tuple[str, int]:
    """Define a school year; the form starts with the year after the latest one."""
    form = YearForm(data=service.suggested_next())
    if form.validate_on_submit():
        return _save(form, SchoolYear())
    status = UNPROCESSABLE if request.method == "POST" else 200
    return render_template("years/form.html", form=form, year=None), status


@bp.route("/<int:year_id>/edit", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def edit(year_id: int) -> Response | tuple[str, int]:
    """Change a year's name or days; a save based on an outdated version gets a 409."""
    year = _year_or_404(year_id)
    form = YearForm(year=year)
    if form.validate_on_submit():
        return _save(form, year)
    status = UNPROCESSABLE if request.method == "POST" else 200
    return render_template("years/form.html", form=form, year=year), status


@bp.post("/<int:year_id>/current")
@role_required(Role.ADMIN)
def make_current(year_id: int) -> Response:
    """Make the year the current one (the roster and the dashboard show it)."""
    year = _year_or_404(year_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    service.set_current(year)
    flash(f"{year.name} is now the current school year.", "success")
    return redirect(url_for(".index"))


def _rollover_page(
    form: RolloverForm, year: SchoolYear, holds: set[int], status: int = 200
) -> tuple[str, int]:
    preview = rollover_preview.preview(year, holds)
    return render_template(
        "years/rollover.html",
        form=form,
        year=year,
        preview=preview,
        holds=holds,
        done=rollover.rollover_in_force(year),
    ), status


@bp.route("/<int:year_id>/rollover", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def rollover_page(year_id: int) -> Response | tuple[str, int]:
    """Preview the year-end rollover grade by grade, hold students back, confirm it.

    A rollover of a year already rolled over, or without a next year, is refused with the
    reason (409) and changes nothing.
    """
    year = _year_or_404(year_id)
    form = RolloverForm()
    try:
        rollover.target_year(year)
    except rollover.RolloverError as error:
        return render_template("years/rollover.html", year=year, problem=str(error)), CONFLICT
    holds = form.holds() if request.method == "POST" else set()
    if form.validate_on_submit() and form.confirm.data:
        try:
            done = rollover.run(year, holds, make_current=form.make_current.data)
        except rollover.RolloverError as error:
            flash(str(error), "error")
            return _rollover_page(form, year, holds, CONFLICT)
        flash(
            f"Rolled {year.name} over into {done.to_year.name}: {done.promoted:,} moved up, "
            f"{done.held_back:,} held back, {done.graduated:,} graduated.",
            "success",
        )
        return redirect(url_for(".index"))
    if request.method == "POST" and form.errors:
        abort(400)
    return _rollover_page(form, year, holds)


@bp.post("/rollovers/<int:rollover_id>/undo")
@role_required(Role.ADMIN)
def undo_rollover(rollover_id: int) -> Response | tuple[str, int]:
    """Undo a rollover as a whole, while nothing in its new year changed since (else 409)."""
    done = db.get_or_404(Rollover, rollover_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        rollover_undo.undo(done)
    except rollover.RolloverError as error:
        flash(str(error), "error")
        return index(), CONFLICT
    flash(
        f"Undid the rollover {done.from_year.name} → {done.to_year.name}: its "
        f"{done.created:,} new enrollments are gone and {done.graduated:,} graduates are "
        "enrolled again.",
        "success",
    )
    return redirect(url_for(".index"))
