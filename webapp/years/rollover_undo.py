"""The undo of a year-end rollover: whether it is still possible, and the undo itself.

An undo removes the enrollments a rollover made and enrolls its graduates again, in
set-based SQL like the rollover (:mod:`webapp.years.rollover`), as long as nothing in
the new year has changed since.
"""

from __future__ import annotations

from sqlalchemy import func, select, text

from webapp import trail
from webapp.database import begin_write
from webapp.extensions import db
from webapp.models import AuditBatch, AuditEvent, Enrollment, Rollover, Status
from webapp.models.types import utcnow
from webapp.years import service
from webapp.years.rollover import RolloverError
from webapp.years.rollover_sql import events_sql, json_functions, typed_sql


def undo_blockers(rollover: Rollover) -> list[str]:
    """Why the rollover cannot be undone now (nothing when it can).

    An undo removes the enrollments it made and gives the graduates their enrollment
    back, so it is refused once any of them, or anything else in the new year, changed
    since: an enrollment it made was edited or deleted, another enrollment in the new
    year was made or changed, or a graduation was changed.

    Returns:
        One message per reason.
    """
    if rollover.undo_batch_id is not None:
        return [f"This rollover was already undone on {rollover.undo_batch.occurred_at:%-d %b %Y}."]  # type: ignore[union-attr]  # (set with undo_batch_id)
    reasons = []
    session = db.session
    untouched = session.scalar(
        select(func.count())
        .select_from(Enrollment)
        .where(Enrollment.rollover_id == rollover.id, Enrollment.version == 1)
    )
    if untouched != rollover.created:
        reasons.append(
            f"{rollover.created - (untouched or 0):,} of the enrollments it made in "
            f"{rollover.to_year.name} were changed or deleted since."
        )
    others = session.scalar(
        select(func.count())
        .select_from(Enrollment)
        .where(
            Enrollment.school_year_id == rollover.to_year_id,
            Enrollment.updated_at > rollover.created_at,
            (Enrollment.rollover_id.is_(None)) | (Enrollment.rollover_id != rollover.id),
        )
    )
    if others:
        reasons.append(
            f"{others:,} other enrollments in {rollover.to_year.name} were made or changed since."
        )
    graduations = select(AuditEvent.entity_id).where(
        AuditEvent.batch_id == rollover.batch_id,
        AuditEvent.entity == "enrollment",
        AuditEvent.action == "update",
    )
    later = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.entity == "enrollment",
            AuditEvent.entity_id.in_(graduations),
            AuditEvent.occurred_at > rollover.created_at,
            (AuditEvent.batch_id.is_(None)) | (AuditEvent.batch_id != rollover.batch_id),
        )
    )
    still = session.scalar(
        select(func.count())
        .select_from(Enrollment)
        .where(Enrollment.id.in_(graduations), Enrollment.status == Status.GRADUATED.value)
    )
    if later or still != rollover.graduated:
        reasons.append(f"Graduations it recorded in {rollover.from_year.name} were changed since.")
    return reasons


def undo(rollover: Rollover) -> AuditBatch:
    """Undo a rollover as a whole, in one transaction, and commit.

    The enrollments it made are deleted, its graduates are enrolled again, and, if it
    made the new year current and that year still is, the ending year is current again.
    Each of these changes gets an audit event (``revert``, pointing to the event it
    undoes), all in a new batch.

    Args:
        rollover: a rollover in force.

    Returns:
        The undo's audit batch.

    Raises:
        RolloverError: something in the new year changed since (the message lists what),
            or it was undone already. Nothing changed.
    """
    begin_write()
    reasons = undo_blockers(rollover)
    if reasons:
        raise RolloverError("Not undone: " + " ".join(reasons) + " Nothing was changed.")
    dialect = db.session.get_bind().dialect.name
    obj, arr = json_functions(dialect)
    from_year, to_year = rollover.from_year, rollover.to_year
    session = db.session
    try:
        batch = trail.new_batch(
            "rollover undo", f"Undo of the rollover {from_year.name} → {to_year.name}"
        )
        params = {
            "now": utcnow(),
            "user_id": batch.user_id,
            "actor": batch.actor,
            "batch_id": batch.id,
            "old_batch": rollover.batch_id,
            "rollover_id": rollover.id,
            "note": f"undo of the rollover from {from_year.name}",
        }
        session.execute(
            typed_sql(
                events_sql(
                    dialect,
                    "audit_events a JOIN enrollments e ON e.id = a.entity_id"
                    " JOIN students s ON s.id = e.student_id"
                    " WHERE a.batch_id = :old_batch AND a.entity = 'enrollment'"
                    " AND a.action = 'create'",
                    f"{obj}('grade', {arr}(e.grade, NULL), 'status', {arr}(e.status, NULL),"
                    f" 'entered_on', {arr}(CAST(e.entered_on AS TEXT), NULL))",
                    "revert",
                    "note",
                )
            ),
            params,
        )
        session.execute(
            typed_sql(
                events_sql(
                    dialect,
                    "audit_events a JOIN enrollments e ON e.id = a.entity_id"
                    " JOIN students s ON s.id = e.student_id"
                    " WHERE a.batch_id = :old_batch AND a.entity = 'enrollment'"
                    " AND a.action = 'update'",
                    f"{obj}('status', {arr}(e.status, 'enrolled'),"
                    f" 'status_on', {arr}(CAST(e.status_on AS TEXT), NULL))",
                    "revert",
                    "note",
                )
            ),
            params,
        )
        session.execute(text("DELETE FROM enrollments WHERE rollover_id = :rollover_id"), params)
        session.execute(
            typed_sql(
                "UPDATE enrollments SET status = 'enrolled', status_on = NULL,"
                " version = version + 1, updated_at = :now"
                " WHERE id IN (SELECT entity_id FROM audit_events"
                " WHERE batch_id = :old_batch AND entity = 'enrollment' AND action = 'update')"
            ),
            params,
        )
        if rollover.made_current and to_year.is_current:
            service.set_current(from_year, commit=False, batch=batch)
        rollover.undo_batch_id = batch.id
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return batch


def undoable(rollover: Rollover) -> bool:
    """Whether :func:`undo` would accept ``rollover`` now."""
    return not undo_blockers(rollover)
