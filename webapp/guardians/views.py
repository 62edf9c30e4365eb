"""Views of the guardians blueprint: thin wrappers over :mod:`webapp.students.guardians`.

Post/Redirect/Get as the student pages: an invalid form is shown again with 422 and the
input kept, a save based on an outdated version gets 409 with the stored values, a
guardian linked twice gets 409 and changes nothing.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from webapp.auth.access import role_required
from webapp.extensions import db
from webapp.fields.guardian import GUARDIAN, GUARDIAN_LINK, PHONE_NUMBER
from webapp.guardians import bp
from webapp.guardians.forms import ConfirmForm, GuardianFields, LinkForm
from webapp.models import Role, Student, StudentGuardian
from webapp.students import guardian_common, guardian_links, guardians
from webapp.students import guardian_queries as queries
from webapp.students.service import get_student

UNPROCESSABLE = 422
CONFLICT = 409


def _student_or_404(student_id: int) -> Student:
    """The student, through the viewer's scope, or a 404."""
    student = get_student(student_id, current_user)
    if student is None:
        abort(404)
    return student


def _link_or_404(student: Student, guardian_id: int) -> StudentGuardian:
    """The guardian's link to ``student``, or a 404."""
    link = queries.get_link(student.id, guardian_id)
    if link is None:
        raise NotFound(f"This guardian is not linked to {student.name}.")
    return link


def _checked(version: int | None) -> int | None:
    """The version a write must match: the form's, or 0 (never matches) when it sent none;
    ``None`` (no check) only with ``OPTIMISTIC_LOCKING`` off."""
    if not current_app.config.get("OPTIMISTIC_LOCKING", True):
        return None
    return version or 0


def _back(student: Student) -> Response:
    return redirect(url_for("students.detail", student_id=student.id, _anchor="guardians"))


def _form_page(
    form: GuardianFields,
    student: Student,
    link: StudentGuardian | None,
    status: int | None = None,
    conflict: bool = False,
) -> tuple[str, int]:
    if status is None:
        status = UNPROCESSABLE if request.method == "POST" else 200
    page = render_template(
        "guardians/form.html",
        form=form,
        student=student,
        link=link,
        guardian_fields=[form[d.name] for d in GUARDIAN.form_fields],
        link_fields=[form[d.name] for d in GUARDIAN_LINK],
        conflict=conflict,
    )
    return page, status


@bp.route("/students/<int:student_id>/guardians/new", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def create(student_id: int) -> Response | tuple[str, int]:
    """Add a new guardian of the student: their details, numbers and the link's fields."""
    student = _student_or_404(student_id)
    form = GuardianFields()
    if form.validate_on_submit():
        link = guardians.create_guardian(student, form.values(), form.phones(), form.link_values())
        flash(f"Added {link.guardian.name} as a guardian of {student.name}.", "success")
        return _back(student)
    return _form_page(form, student, None)


@bp.route("/students/<int:student_id>/guardians/<int:guardian_id>/edit", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def edit(student_id: int, guardian_id: int) -> Response | tuple[str, int]:
    """Change a guardian's details and numbers and what they are to this student."""
    student = _student_or_404(student_id)
    link = _link_or_404(student, guardian_id)
    form = GuardianFields(guardian=link.guardian, link=link)
    if form.validate_on_submit():
        try:
            guardians.edit_guardian(
                link,
                form.values(),
                form.phones(),
                _checked(form.expected_version()),
                form.link_values(),
                _checked(form.expected_link_version()),
            )
        except guardian_common.StaleGuardianError:
            fresh_link = _link_or_404(student, guardian_id)
            db.session.refresh(fresh_link.guardian)
            fresh = GuardianFields(formdata=None, guardian=fresh_link.guardian, link=fresh_link)
            return _form_page(fresh, student, fresh_link, CONFLICT, conflict=True)
        flash(f"Saved {link.guardian.name}.", "success")
        return _back(student)
    return _form_page(form, student, link)


@bp.get("/students/<int:student_id>/guardians/link")
@role_required(Role.EDITOR)
def search(student_id: int) -> str:
    """Find an existing guardian (a sibling's parent) by name, email or phone number."""
    student = _student_or_404(student_id)
    query = request.args.get("q", "").strip()[:100]
    found = queries.search(query, exclude_student=student.id) if query else []
    return render_template(
        "guardians/search.html", student=student, query=query, found=found, phone=PHONE_NUMBER
    )


@bp.route("/students/<int:student_id>/guardians/link/<int:guardian_id>", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def link(student_id: int, guardian_id: int) -> Response | tuple[str, int]:
    """Link the guardian found to the student, with the link's fields."""
    student = _student_or_404(student_id)
    guardian = queries.get_guardian(guardian_id)
    if guardian is None:
        raise NotFound("There is no such guardian.")
    form = LinkForm()
    status = UNPROCESSABLE if request.method == "POST" else 200
    if form.validate_on_submit():
        try:
            guardian_links.link_guardian(student, guardian, form.link_values())
        except guardian_common.AlreadyLinkedError as error:
            form.form_errors.append(str(error))
            status = CONFLICT
        else:
            flash(f"Linked {guardian.name} to {student.name}.", "success")
            return _back(student)
    page = render_template(
        "guardians/link.html",
        form=form,
        student=student,
        guardian=guardian,
        link_fields=[form[d.name] for d in GUARDIAN_LINK],
    )
    return page, status


def _confirm_page(
    template: str, form: ConfirmForm, link: StudentGuardian, student: Student, changed: bool
) -> tuple[str, int]:
    page = render_template(
        template,
        form=form,
        link=link,
        guardian=link.guardian,
        student=student,
        others=[
            other
            for _, other in queries.students_of(link.guardian_id, current_user)
            if other.id != student.id
        ],
        changed=changed,
    )
    return page, CONFLICT if changed else 200


@bp.route("/students/<int:student_id>/guardians/<int:guardian_id>/unlink", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def unlink(student_id: int, guardian_id: int) -> Response | tuple[str, int]:
    """Ask (GET), then remove the guardian from the student (POST); the guardian stays."""
    student = _student_or_404(student_id)
    link = _link_or_404(student, guardian_id)
    form = ConfirmForm(data={"version": str(link.version)})
    if form.validate_on_submit():
        name = link.guardian.name
        try:
            guardian_links.unlink(link, _checked(form.expected_version()))
        except guardian_common.StaleGuardianError:
            link = _link_or_404(student, guardian_id)
            fresh = ConfirmForm(formdata=None, data={"version": str(link.version)})
            return _confirm_page("guardians/unlink.html", fresh, link, student, True)
        undo = url_for("audit.history", student_id=student.id)
        message = {"text": f"Removed {name} from {student.name}.", "url": undo, "link": "Undo"}
        flash(message, "success")  # type: ignore[arg-type]  # (base.html shows a dict as a link)
        return _back(student)
    return _confirm_page("guardians/unlink.html", form, link, student, False)


@bp.route("/students/<int:student_id>/guardians/<int:guardian_id>/delete", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def delete(student_id: int, guardian_id: int) -> Response | tuple[str, int]:
    """Ask (GET), then delete the guardian, their numbers and every link (POST)."""
    student = _student_or_404(student_id)
    link = _link_or_404(student, guardian_id)
    form = ConfirmForm(data={"version": str(link.guardian.version)})
    if form.validate_on_submit():
        name = link.guardian.name
        try:
            guardians.delete_guardian(link.guardian, _checked(form.expected_version()), student)
        except guardian_common.StaleGuardianError:
            link = _link_or_404(student, guardian_id)
            fresh = ConfirmForm(formdata=None, data={"version": str(link.guardian.version)})
            return _confirm_page("guardians/delete.html", fresh, link, student, True)
        undo = url_for("audit.history", student_id=student.id)
        message = {"text": f"Deleted the guardian {name}.", "url": undo, "link": "Undo"}
        flash(message, "success")  # type: ignore[arg-type]  # (base.html shows a dict as a link)
        return _back(student)
    return _confirm_page("guardians/delete.html", form, link, student, False)


@bp.get("/guardians/<int:guardian_id>")
def detail(guardian_id: int) -> str:
    """A guardian, their numbers, and the students of theirs the viewer may see (a 404
    when the viewer may see none of them)."""
    guardian = queries.get_guardian(guardian_id)
    students = queries.students_of(guardian_id, current_user) if guardian else []
    if guardian is None or not students:
        abort(404)
    return render_template(
        "guardians/detail.html",
        guardian=guardian,
        students=students,
        fields=[GUARDIAN[name] for name in ("email", "preferred_language")],
        link_fields=list(GUARDIAN_LINK),
        phone=PHONE_NUMBER,
    )
