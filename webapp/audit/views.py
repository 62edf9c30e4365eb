"""History of a student, the site-wide audit log, and the undo buttons."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.audit import bp, service
from webapp.audit.forms import LogFilterForm, UndoForm
from webapp.auth.access import role_required
from webapp.extensions import db
from webapp.homerooms.scope import is_restricted
from webapp.models import AuditEvent, Role, Student
from webapp.paging import MAX_PAGE
from webapp.students.enrollments import StaleEnrollmentError
from webapp.students.service import DuplicateEmailError, StaleRecordError, get_student

CONFLICT = 409
LOG_PER_PAGE = 50
#: The query parameters of the audit log's filter form, kept in its page links.
LOG_FILTERS = ("user", "action", "since", "until")


def _history_page(
    student_id: int, status: int = 200, problem: str | None = None
) -> tuple[str, int]:
    """The student's history page, with ``problem`` (why an undo was refused) at its top.

    Raises:
        NotFound: no such student, and no events of one.
    """
    if is_restricted(current_user):
        # A teacher reads the history of their own students only: anyone else's is a 404.
        student = get_student(student_id, current_user)
        if student is None:
            abort(404)
    else:
        student = db.session.get(Student, student_id)
    events = service.history(student_id)
    if student is None and not events:
        abort(404)
    page = render_template(
        "audit/history.html",
        student=student,
        student_id=student_id,
        name=student.name if student else events[0].student_name,
        events=events,
        undone=service.undone_by(events),
        fields=service.AUDITED_FIELDS,
        form=UndoForm(),
        problem=problem,
    )
    return page, status


@bp.get("/students/<int:student_id>/history")
def history(student_id: int) -> tuple[str, int]:
    """Every recorded change of one student, newest first, with revert and restore."""
    return _history_page(student_id)


def _undo(
    event_id: int, undo: Callable[[AuditEvent], Student], done: str
) -> Response | tuple[str, int]:
    """Run ``undo`` (revert or restore) on the event; redirect to the student, or show the
    history page with the reason it was refused (409)."""
    event = db.get_or_404(AuditEvent, event_id)
    if event.student_id is None:
        abort(404)
    if not UndoForm().validate_on_submit():
        abort(400)
    try:
        student = undo(event)
    except service.UndoError as error:
        db.session.rollback()
        return _history_page(event.student_id, CONFLICT, str(error))
    except DuplicateEmailError:
        return _history_page(
            event.student_id,
            CONFLICT,
            "Not done: the email address now belongs to another student.",
        )
    except (StaleRecordError, StaleEnrollmentError):
        return _history_page(
            event.student_id, CONFLICT, "Not done: the student changed meanwhile. Try again."
        )
    flash(f"{done} {student.name}.", "success")
    return redirect(url_for("students.detail", student_id=student.id))


@bp.post("/audit/<int:event_id>/revert")
@role_required(Role.EDITOR)
def revert(event_id: int) -> Response | tuple[str, int]:
    """Put back the values an update replaced (a new, audited change)."""
    return _undo(event_id, service.revert, "Reverted the change to")


@bp.post("/audit/<int:event_id>/restore")
@role_required(Role.EDITOR)
def restore(event_id: int) -> Response | tuple[str, int]:
    """Bring back a deleted student (a new, audited change)."""
    return _undo(event_id, service.restore, "Restored")


@bp.get("/audit/")
@role_required(Role.ADMIN)
def log() -> str:
    """The site-wide audit log, filtered by account, action and date range, paginated."""
    form = LogFilterForm(request.args)
    valid = form.validate()
    user_id = None
    if valid and form.user.data and form.user.data.strip():
        user_id = service.account_id(form.user.data)
        if user_id is None:  # an unknown address or id is ignored, and said so
            form.user.errors = ["No such account."]
    statement = service.log_statement(
        user_id=user_id,
        action=form.action.data if valid else None,
        since=form.since.data if valid else None,
        until=form.until.data if valid else None,
    )
    page_number = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    page = service.log_page(statement, page_number, LOG_PER_PAGE)
    # Only the filters go into the page links: any other key would reach url_for, where
    # "_method", "_external" or "endpoint" change what it builds (issue 18, finding 6).
    args: dict[str, Any] = {
        key: value for key, value in request.args.items() if key in LOG_FILTERS and value
    }
    return render_template(
        "audit/log.html",
        form=form,
        page=page,
        page_url=lambda number: url_for(".log", page=number, **args),
        labels={field.name: field.noun for field in service.AUDITED_FIELDS},
        accounts=service.account_suggestions(),
    )
