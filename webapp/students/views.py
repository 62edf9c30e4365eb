"""Views of the students blueprint: thin wrappers over :mod:`webapp.students.service`.

Every write view follows Post/Redirect/Get: an invalid form is rendered again with
HTTP 422 and the user's input kept; a saved one redirects with a flash message.
"""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from webapp.database import begin_write
from webapp.extensions import db
from webapp.models import Student
from webapp.models.student import GRADE_MAX, GRADE_MIN
from webapp.students import bp, service
from webapp.students.forms import ConfirmForm, StudentForm

#: HTTP status of a form that failed validation (RFC 9110 "Unprocessable Content").
UNPROCESSABLE = 422


@bp.get("/")
def index() -> str:
    """Show the roster: search, grade filter, sort and pagination, all from the URL."""
    query = service.parse_roster_query(request.args)
    page = service.roster_page(query)
    return render_template(
        "students/index.html",
        query=query,
        page=page,
        grades=range(GRADE_MIN, GRADE_MAX + 1),
        per_page_choices=(10, 25, 50, 100),
        page_url=lambda number: url_for(".index", **query.url_args(page=number)),
    )


@bp.get("/<int:student_id>")
def detail(student_id: int) -> str:
    """Show one student, with the student's age today."""
    student = db.get_or_404(Student, student_id)
    return render_template("students/detail.html", student=student, today=date.today())


def _try_save(form: StudentForm, student: Student) -> bool:
    """Save the validated ``form`` into ``student``; on a database refusal, explain it.

    Returns:
        ``True`` when saved; ``False`` when the database refused, with the reason added
        to the form's errors (the session has been rolled back).
    """
    try:
        service.save_student(student, form.values())
    except service.DuplicateEmailError:
        form.email.errors = [*form.email.errors, service.DUPLICATE_EMAIL_MESSAGE]
    except IntegrityError:
        form.form_errors.append("The database refused this record. Check the values and try again.")
    else:
        return True
    return False


def _render_form(form: StudentForm, student: Student | None) -> tuple[str, int]:
    """Render the student form; 422 when it is shown again after a failed POST."""
    status = UNPROCESSABLE if request.method == "POST" else 200
    return render_template("students/form.html", form=form, student=student), status


@bp.route("/new", methods=["GET", "POST"])
def create() -> Response | tuple[str, int]:
    """Add a student; "Save and add another" returns to an empty form."""
    if request.method == "POST":
        begin_write()
    form = StudentForm()
    if form.validate_on_submit():
        student = Student()
        if _try_save(form, student):
            flash(f"Added {student.name}.", "success")
            if form.save_and_add.data:
                return redirect(url_for(".create"))
            return redirect(url_for(".detail", student_id=student.id))
    elif request.method == "GET":
        form.enrolled_on.data = date.today()
    return _render_form(form, None)


@bp.route("/<int:student_id>/edit", methods=["GET", "POST"])
def edit(student_id: int) -> Response | tuple[str, int]:
    """Correct a student's record."""
    if request.method == "POST":
        begin_write()
    student = db.get_or_404(Student, student_id)
    form = StudentForm(obj=student, student_id=student.id)
    if form.validate_on_submit() and _try_save(form, student):
        flash(f"Saved the changes to {student.name}.", "success")
        return redirect(url_for(".detail", student_id=student.id))
    return _render_form(form, student)


@bp.route("/<int:student_id>/delete", methods=["GET", "POST"])
def delete(student_id: int) -> Response | str:
    """Ask for confirmation (GET), then delete the student (POST)."""
    if request.method == "POST":
        begin_write()
    student = db.get_or_404(Student, student_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        name = student.name
        service.delete_student(student)
        flash(f"Deleted {name}.", "success")
        return redirect(url_for(".index"))
    return render_template("students/delete.html", student=student, form=form)
