"""Views of the students blueprint: thin wrappers over :mod:`webapp.students.service`.

Every write view follows Post/Redirect/Get: an invalid form is rendered again with
HTTP 422 and the user's input kept; a saved one redirects with a flash message.
"""

from __future__ import annotations

from datetime import date

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from webapp.auth.access import role_required
from webapp.extensions import db
from webapp.fields import guardian as guardian_fields
from webapp.fields.enrollment import ENROLLMENT, STATUS_FIELDS
from webapp.fields.student import ROSTER_ROW, STUDENT
from webapp.homerooms.scope import is_restricted
from webapp.models import AuditEvent, Enrollment, Role, Student
from webapp.models.student import GRADE_MAX, GRADE_MIN
from webapp.students import bp, bulk_views, enrollments, roster, roster_query, service
from webapp.students import guardian_queries as queries
from webapp.students.forms import (
    ConfirmForm,
    EnrollForm,
    EnrollmentForm,
    NewStudentForm,
    StudentForm,
)
from webapp.years.service import current_year

#: HTTP status of a form that failed validation (RFC 9110 "Unprocessable Content").
UNPROCESSABLE = 422
#: HTTP status of a write based on an outdated version of the record.
CONFLICT = 409


#: The roster's columns: the sortable ones, and the status when the filter shows several.
_ROSTER_COLUMNS = tuple(ROSTER_ROW[name] for name in roster_query.SORTABLE_COLUMNS)
#: The roster's columns that are the enrollment's (the others are the student's).
ENROLLMENT_COLUMNS = frozenset(field.name for field in ENROLLMENT)


@bp.get("/")
def index() -> str:
    """Show the roster of the current school year: search, grade and status filters, sort
    and pagination, all from the URL; enrolled students by default."""
    query = roster_query.parse_roster_query(request.args)
    year = current_year()
    page = roster.roster_page(query, current_user, year_id=year.id)
    editor = current_user.has_role(Role.EDITOR)
    columns = list(_ROSTER_COLUMNS)
    if query.status != roster_query.DEFAULT_STATUS:
        columns.append(ROSTER_ROW["status"])
    return render_template(
        "students/index.html",
        query=query,
        page=page,
        year=year,
        grades=range(GRADE_MIN, GRADE_MAX + 1),
        statuses=roster_query.STATUS_FILTERS,
        columns=columns,
        sortable=roster_query.SORTABLE_COLUMNS,
        enrollment_columns=ENROLLMENT_COLUMNS,
        per_page_choices=(10, 25, 50, 100),
        page_url=lambda number: url_for(".index", **roster.page_link_args(query, page, number)),
        bulk_form=bulk_views.new_form() if editor else None,
        homerooms=bulk_views.suggestions(year, query.grade) if editor else [],
    )


class StudentDeleted(NotFound):
    """The 404 for a student the audit trail saw deleted: when, by whom, and where to go.

    Args:
        event: the deletion's audit event.

    Attributes:
        link: ``(url, text)`` of the student's history, where an editor can restore it
            (shown by :func:`webapp.errors.render_error`).
    """

    def __init__(self, event: AuditEvent) -> None:
        when = event.occurred_at.strftime("%-d %B %Y at %H:%M UTC")
        super().__init__(f"{event.student_name} was deleted on {when} by {event.actor}.")
        self.link = (
            url_for("audit.history", student_id=event.student_id),
            "See the student's history (an editor can restore the record there)",
        )


def _student_or_404(student_id: int) -> Student:
    """The student, or a 404: one that says so when the student was deleted.

    Raises:
        StudentDeleted: the audit trail's last event of the student is its deletion.
        NotFound: there never was such a student (or the trail does not know it).
    """
    student = service.get_student(student_id, current_user)
    if student is None:
        if is_restricted(current_user):
            raise NotFound()  # (a teacher learns nothing of others' students, not even this)
        deletion = service.deletion_event(student_id)
        raise StudentDeleted(deletion) if deletion else NotFound()
    return student


@bp.get("/<int:student_id>")
def detail(student_id: int) -> str:
    """Show one student, with the student's age today, every school year's enrollment and
    the guardians with their numbers."""
    student = _student_or_404(student_id)
    return render_template(
        "students/detail.html",
        student=student,
        # The name is the page's heading; the other fields are listed below it.
        fields=[field for field in STUDENT.form_fields if field.name != "name"],
        enrollments=enrollments.enrollments_of(student.id),
        enrollment_fields=[ENROLLMENT[name] for name in STATUS_FIELDS],
        can_enroll=bool(enrollments.years_without_enrollment(student.id)),
        current=current_year(),
        today=date.today(),
        guardian_links=queries.guardians_of(student.id),
        phone=guardian_fields.PHONE_NUMBER,
        language=guardian_fields.PREFERRED_LANGUAGE,
    )


def _expected_version(form: StudentForm | ConfirmForm | EnrollmentForm) -> int | None:
    """The version a write must match: the form's, or 0 (never matches) when it has none.

    ``None`` (no check) only when ``OPTIMISTIC_LOCKING`` is off, which exists for the
    concurrency test's negative control and must stay on in production.
    """
    if not current_app.config.get("OPTIMISTIC_LOCKING", True):
        return None
    return form.expected_version() or 0


def _stored_differences(form: StudentForm, student: Student) -> dict[str, str]:
    """Map each field whose stored value differs from the user's to the stored value,
    shown as the form shows it."""
    return {
        name: STUDENT[name].display(getattr(student, name)) or "(empty)"
        for name, value in form.values().items()
        if getattr(student, name) != value
    }


def _render_form(
    form: StudentForm,
    student: Student | None,
    status: int | None = None,
    conflicts: dict[str, str] | None = None,
) -> tuple[str, int]:
    """Render the student form; 422 when it is shown again after a failed POST."""
    if status is None:
        status = UNPROCESSABLE if request.method == "POST" else 200
    return render_template(
        "students/form.html", form=form, student=student, conflicts=conflicts or {}
    ), status


def _gone(student_name: str) -> NotFound:
    """The 404 for a student someone else deleted while this user was looking at it."""
    return NotFound(
        f"{student_name} was deleted by someone else in the meantime, so your change was not saved."
    )


def _save_or_render(
    form: StudentForm,
    student: Student,
    expected_version: int | None = None,
    grade: int | None = None,
) -> tuple[str, int] | None:
    """Save the validated ``form`` into ``student``, or render why it could not be saved.

    Returns:
        ``None`` when saved; otherwise the response: the form with the database's
        objection (422), or the edit conflict (409) showing the stored values beside
        the user's, with the form now based on the stored version.

    Raises:
        NotFound: the student was deleted by someone else meanwhile.
    """
    name = student.name
    try:
        service.save_student(student, form.values(), expected_version=expected_version, grade=grade)
    except service.StaleRecordError as error:
        if error.current_version is None:
            raise _gone(name) from error
        db.session.refresh(student)
        form.version.data = str(student.version)
        return _render_form(form, student, CONFLICT, _stored_differences(form, student))
    except service.DuplicateEmailError:
        form["email"].errors = [*form["email"].errors, service.DUPLICATE_EMAIL_MESSAGE]
    except IntegrityError:
        form.form_errors.append("The database refused this record. Check the values and try again.")
    else:
        return None
    return _render_form(form, student if student.id else None)


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def create() -> Response | tuple[str, int]:
    """Add a student, enrolled in the current school year; "Save and add another" returns
    to an empty form."""
    form = NewStudentForm(data=STUDENT.defaults(date.today()))
    if form.validate_on_submit():
        student = Student()
        failed = _save_or_render(form, student, grade=form["grade"].data)
        if failed:
            return failed
        flash(f"Added {student.name}.", "success")
        if form.save_and_add.data:
            return redirect(url_for(".create"))
        return redirect(url_for(".detail", student_id=student.id))
    return _render_form(form, None)


@bp.route("/<int:student_id>/edit", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def edit(student_id: int) -> Response | tuple[str, int]:
    """Correct a student's record; a save based on an outdated version gets a 409."""
    student = _student_or_404(student_id)
    form = StudentForm(student=student)
    if form.validate_on_submit():
        failed = _save_or_render(form, student, _expected_version(form))
        if failed:
            return failed
        flash(f"Saved the changes to {student.name}.", "success")
        return redirect(url_for(".detail", student_id=student.id))
    return _render_form(form, student)


@bp.route("/<int:student_id>/delete", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def delete(student_id: int) -> Response | tuple[str, int]:
    """Ask for confirmation (GET), then delete the student (POST).

    A confirmation based on an outdated version gets a 409 and the page again, showing
    the record as it is now.
    """
    student = _student_or_404(student_id)
    form = ConfirmForm(obj=student)
    if form.validate_on_submit():
        name = student.name
        try:
            service.delete_student(student, _expected_version(form))
        except service.StaleRecordError as error:
            if error.current_version is None:
                raise _gone(name) from error
            db.session.refresh(student)
            form.version.data = str(student.version)
            return render_template(
                "students/delete.html", student=student, form=form, changed=True
            ), CONFLICT
        # A message with a link (see base.html): the history page has the Restore button.
        undo = url_for("audit.history", student_id=student_id)
        message = {"text": f"Deleted {name}.", "url": undo, "link": "Undo"}
        flash(message, "success")  # type: ignore[arg-type]  # (base.html shows a dict as a link)
        return redirect(url_for(".index"))
    return render_template("students/delete.html", student=student, form=form, changed=False), 200


def _enrollment_or_404(student: Student, enrollment_id: int) -> Enrollment:
    """The student's enrollment ``enrollment_id``, or a 404."""
    enrollment = db.session.get(Enrollment, enrollment_id)
    if enrollment is None or enrollment.student_id != student.id:
        raise NotFound("This student has no such enrollment.")
    return enrollment


def _enrollment_page(
    form: EnrollmentForm, student: Student, status: int | None = None, conflict: bool = False
) -> tuple[str, int]:
    if status is None:
        status = UNPROCESSABLE if request.method == "POST" else 200
    return render_template(
        "students/enrollment.html",
        form=form,
        student=student,
        enrollment=form.enrollment,
        conflict=conflict,
    ), status


@bp.route("/<int:student_id>/enrollments/<int:enrollment_id>", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def enrollment(student_id: int, enrollment_id: int) -> Response | tuple[str, int]:
    """Change one school year's grade or status (withdrawn, graduated, transferred out).

    A save based on an outdated version gets a 409 and the form again, now showing the
    stored values; a status dated before the enrollment began, or missing its date,
    reason or destination, gets a 422 with the message beside the field.
    """
    student = _student_or_404(student_id)
    enrollment = _enrollment_or_404(student, enrollment_id)
    form = EnrollmentForm(enrollment=enrollment)
    if form.validate_on_submit():
        try:
            enrollments.save_enrollment(enrollment, form.values(), _expected_version(form))
        except enrollments.StaleEnrollmentError as error:
            if error.current_version is None:
                raise NotFound("This enrollment was deleted meanwhile.") from error
            db.session.refresh(enrollment)
            fresh = EnrollmentForm(formdata=None, enrollment=enrollment)
            fresh.version.data = str(enrollment.version)
            return _enrollment_page(fresh, student, CONFLICT, conflict=True)
        except enrollments.EnrollmentError as error:
            form.form_errors.append(str(error))
            return _enrollment_page(form, student)
        flash(
            f"Saved {student.name}'s {enrollment.school_year.name}: "
            f"grade {enrollment.grade}, {enrollment.status_label.lower()}.",
            "success",
        )
        return redirect(url_for(".detail", student_id=student.id))
    return _enrollment_page(form, student)


@bp.route("/<int:student_id>/enroll", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def enroll(student_id: int) -> Response | tuple[str, int]:
    """Enroll the student in a school year they are not enrolled in (a returning student,
    or next year before the rollover)."""
    student = _student_or_404(student_id)
    years = enrollments.years_without_enrollment(student.id)
    if not years:
        flash(f"{student.name} is enrolled in every school year already.", "info")
        return redirect(url_for(".detail", student_id=student.id))
    form = EnrollForm(years=years)
    if request.method == "GET":
        year = next((y for y in years if y.is_current), years[0])
        form.school_year.data = str(year.id)
        form.entered_on.process_data(max(year.starts_on, min(date.today(), year.ends_on)))
    if form.validate_on_submit():
        year = form.chosen_year()
        try:
            enrollments.enroll(student, year, form.grade.data, form.entered_on.data)
        except enrollments.EnrollmentError as error:
            form.form_errors.append(str(error))
        else:
            flash(f"Enrolled {student.name} in {year.name}, grade {form.grade.data}.", "success")
            return redirect(url_for(".detail", student_id=student.id))
    status = UNPROCESSABLE if request.method == "POST" else 200
    return render_template("students/enroll.html", form=form, student=student), status
