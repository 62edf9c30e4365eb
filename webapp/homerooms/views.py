"""Views of the homerooms feature: thin wrappers over :mod:`webapp.homerooms.service` and
:mod:`webapp.homerooms.assignments`.

Everyone signed in reads the homerooms they may see (a teacher: their own; another
homeroom is a 404); editors and administrators define them and assign students.
"""

from __future__ import annotations

import io

from flask import Response as FlaskResponse
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from webapp import contacts
from webapp.auth.access import role_required
from webapp.extensions import db
from webapp.fields.homeroom import HOMEROOM
from webapp.homerooms import assignments, bp, service
from webapp.homerooms.forms import (
    AssignForm,
    ButtonForm,
    HomeroomFilterForm,
    HomeroomForm,
    submitted_ids,
)
from webapp.models import Enrollment, Homeroom, Role, SchoolYear, User
from webapp.paging import requested_page
from webapp.years.service import all_years, current_year

UNPROCESSABLE = 422
#: Byte order mark first, so that Excel reads the CSV as UTF-8.
BOM = "\ufeff"
CONFLICT = 409


def _homeroom_or_404(homeroom_id: int) -> Homeroom:
    homeroom = service.get_homeroom(homeroom_id, current_user)
    if homeroom is None:
        raise NotFound("There is no such homeroom, or it is not one of yours.")
    return homeroom


def _year_from_args() -> SchoolYear:
    """The school year named by ``?year=``, else the current one."""
    year_id = request.args.get("year", type=int)
    year = db.session.get(SchoolYear, year_id) if year_id and 0 < year_id < 2**31 else None
    return year or current_year()


@bp.get("/")
def index() -> str:
    """A school year's homerooms (the current year by default) with teachers and sizes,
    a page at a time, searched by name and filtered by grade."""
    year = _year_from_args()
    form = HomeroomFilterForm(request.args)
    form.validate()
    page = service.homeroom_page(
        year.id, current_user, requested_page(request.args), form.search(), form.chosen_grade()
    )
    args = form.url_args()
    return render_template(
        "homerooms/index.html",
        year=year,
        years=all_years(),
        form=form,
        page=page,
        filtered=bool(args),
        page_url=lambda number: url_for(".index", year=year.id, page=number, **args),
    )


def _form_page(form: HomeroomForm, year: SchoolYear, status: int | None = None) -> tuple[str, int]:
    if status is None:
        status = UNPROCESSABLE if request.method == "POST" else 200
    # After an address no active account has, suggest those that contain what was typed.
    typed = (form.add_teacher.data or "").strip() if form.add_teacher.errors else ""
    return render_template(
        "homerooms/form.html",
        form=form,
        year=year,
        homeroom=form.homeroom,
        suggestions=service.teacher_suggestions(typed),
    ), status


def _teacher_options(homeroom: Homeroom | None) -> list[User]:
    """The form's teacher boxes: the homeroom's teachers, and those a POST ticked."""
    ticked = submitted_ids("teachers") if request.method == "POST" else []
    return service.teacher_options(homeroom.teachers if homeroom else [], ticked)


def _save(form: HomeroomForm, homeroom: Homeroom, year: SchoolYear) -> Response | tuple[str, int]:
    """Save a validated form, or show it again with the reason it was refused."""
    try:
        service.save_homeroom(homeroom, form.values(), form.teacher_ids(), form.expected_version())
    except service.StaleHomeroomError as error:
        db.session.rollback()
        db.session.refresh(homeroom)
        fresh = HomeroomForm(formdata=None, homeroom=homeroom, teachers=list(homeroom.teachers))
        fresh.version.data = str(homeroom.version)
        fresh.form_errors.append(str(error))
        return _form_page(fresh, year, CONFLICT)
    except service.HomeroomError as error:
        db.session.rollback()
        problems = service.check_homeroom(form.values(), year.id, homeroom.id)
        for name, message in problems.items():
            form[name].errors = [*form[name].errors, message]
        if not problems:
            form.form_errors.append(str(error))
        return _form_page(form, year, UNPROCESSABLE)
    flash(f"Saved the homeroom {homeroom.name} ({year.name}).", "success")
    return redirect(url_for(".detail", homeroom_id=homeroom.id))


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def create() -> Response | tuple[str, int]:
    """Define a homeroom in a school year (``?year=``, the current one by default)."""
    year = _year_from_args()
    form = HomeroomForm(teachers=_teacher_options(None), data={"capacity": 25})
    if form.validate_on_submit():
        return _save(form, Homeroom(school_year_id=year.id), year)
    return _form_page(form, year)


@bp.route("/<int:homeroom_id>/edit", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def edit(homeroom_id: int) -> Response | tuple[str, int]:
    """Change a homeroom; a save based on an outdated version gets a 409."""
    homeroom = _homeroom_or_404(homeroom_id)
    form = HomeroomForm(
        homeroom=homeroom,
        teachers=_teacher_options(homeroom),
        students=service.student_count(homeroom.id),
    )
    if request.method == "GET":
        form.version.data = str(homeroom.version)
    if form.validate_on_submit():
        return _save(form, homeroom, homeroom.school_year)
    return _form_page(form, homeroom.school_year)


@bp.route("/<int:homeroom_id>/delete", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def delete(homeroom_id: int) -> Response | tuple[str, int]:
    """Ask, then delete an empty homeroom; one with students is refused (409)."""
    homeroom = _homeroom_or_404(homeroom_id)
    form = ButtonForm()
    problem = None
    if form.validate_on_submit():
        name, year = homeroom.name, homeroom.school_year_id
        try:
            service.delete_homeroom(homeroom, form.expected_version())
        except service.HomeroomError as error:
            db.session.rollback()
            problem = str(error)
        else:
            flash(f"Deleted the homeroom {name}.", "success")
            return redirect(url_for(".index", year=year))
    form.version.data = str(homeroom.version)
    students = service.student_count(homeroom.id)
    page = render_template(
        "homerooms/delete.html", homeroom=homeroom, form=form, students=students, problem=problem
    )
    return page, CONFLICT if problem else 200


def _class_page(
    homeroom: Homeroom,
    status: int = 200,
    plan: assignments.Plan | None = None,
    problem: str | None = None,
) -> tuple[str, int]:
    """The class page: the students, and (for editors) the students who can join."""
    q = " ".join(request.args.get("q", "").split())[:100]
    can_edit = current_user.has_role(Role.EDITOR)
    return render_template(
        "homerooms/detail.html",
        homeroom=homeroom,
        students=service.class_list(homeroom, current_user),
        candidates=service.candidates(homeroom, q) if can_edit else [],
        q=q,
        form=AssignForm(),
        button=ButtonForm(),
        plan=plan,
        confirm_token=assignments.confirmation_token(plan) if plan else "",
        problem=problem,
        fields=HOMEROOM,
        can_edit=can_edit,
    ), status


@bp.get("/<int:homeroom_id>")
def detail(homeroom_id: int) -> tuple[str, int]:
    """The class page: its students with their grade and status; assign more (editors)."""
    return _class_page(_homeroom_or_404(homeroom_id))


@bp.post("/<int:homeroom_id>/assign")
@role_required(Role.EDITOR)
def assign(homeroom_id: int) -> Response | tuple[str, int]:
    """Assign the students ticked; over the capacity, confirm first (the page asks, 422)."""
    homeroom = _homeroom_or_404(homeroom_id)
    form = AssignForm()
    if not form.validate_on_submit():
        return _class_page(homeroom, UNPROCESSABLE, problem="The form expired; try again.")
    ids = form.student_ids()
    if not ids:
        return _class_page(homeroom, UNPROCESSABLE, problem="Tick the students to assign first.")
    plan = assignments.plan(homeroom, ids)
    if not plan.moves:
        reasons = "; ".join(f"{name}: {why}" for name, why in plan.refused) or "already in it"
        return _class_page(homeroom, UNPROCESSABLE, plan, f"Nobody was assigned ({reasons}).")
    token = assignments.confirmation_token(plan)
    if plan.warnings and form.confirm_capacity.data != token:
        return _class_page(homeroom, UNPROCESSABLE, plan)
    try:
        moved = assignments.apply(plan)
    except service.HomeroomError as error:
        return _class_page(homeroom, CONFLICT, problem=str(error))
    flash(f"Assigned {moved} student{'s' if moved != 1 else ''} to {homeroom.name}.", "success")
    return redirect(url_for(".detail", homeroom_id=homeroom.id))


@bp.post("/<int:homeroom_id>/students/<int:enrollment_id>/remove")
@role_required(Role.EDITOR)
def remove(homeroom_id: int, enrollment_id: int) -> Response | tuple[str, int]:
    """Take a student out of the homeroom (no homeroom that year); audited."""
    homeroom = _homeroom_or_404(homeroom_id)
    enrollment = db.session.get(Enrollment, enrollment_id)
    if enrollment is None or enrollment.homeroom_id != homeroom.id:
        raise NotFound("This student is not in this homeroom.")
    form = ButtonForm()
    if not form.validate_on_submit():
        return _class_page(homeroom, UNPROCESSABLE, problem="The form expired; try again.")
    try:
        assignments.take_out(enrollment, form.expected_version())
    except service.HomeroomError as error:
        db.session.rollback()
        return _class_page(homeroom, CONFLICT, problem=str(error))
    flash(f"Took the student out of {homeroom.name}.", "success")
    return redirect(url_for(".detail", homeroom_id=homeroom.id))


@bp.get("/<int:homeroom_id>/print")
def print_list(homeroom_id: int) -> str:
    """The printable class list: the students, with a column for their guardians' phones."""
    homeroom = _homeroom_or_404(homeroom_id)
    students = service.class_list(homeroom, current_user)
    return render_template(
        "homerooms/print.html",
        homeroom=homeroom,
        students=students,
        # The guardians' phone numbers per student id, (name, relationship, number) in
        # contact order: three statements however many students and guardians.
        contacts=contacts.class_list_phones([student for student, _ in students]),
    )


@bp.get("/<int:homeroom_id>/contacts.csv")
def contacts_csv(homeroom_id: int) -> FlaskResponse:
    """The homeroom's contacts as CSV: a row per student and guardian, in class order and
    contact order (the students ``viewer`` may see)."""
    homeroom = _homeroom_or_404(homeroom_id)
    students = [student for student, _ in service.class_list(homeroom, current_user)]
    buffer = io.StringIO(newline="")
    contacts.write_contacts_csv(contacts.homeroom_contacts(students), buffer)
    response = FlaskResponse(BOM + buffer.getvalue(), mimetype="text/csv")
    name = "".join(ch if ch.isalnum() else "-" for ch in homeroom.name)
    response.headers["Content-Disposition"] = f'attachment; filename="contacts-{name}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response
