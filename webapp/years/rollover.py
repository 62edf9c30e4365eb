"""The year-end rollover: next year's enrollments made from this year's.

Every student enrolled at the end of a year moves up a grade into the next year, except
those held back (who stay in their grade); students in the top grade graduate instead
(their enrollment in the ending year becomes ``graduated``, dated the year's last day).
Students who withdrew, transferred out or graduated during the year, and students
already enrolled in the next year, are left as they are.

The writes are set-based SQL, a handful of statements whatever the number of students
(``INSERT ... SELECT``, ``UPDATE ... WHERE``), in one transaction with their audit events,
which share one :class:`~webapp.models.AuditBatch`; 100,000 students roll over in
seconds (``bench/results/rollover.md``).

This module holds the rollover and where rollovers stand; :mod:`~webapp.years.rollover_preview`
what one would do, :mod:`~webapp.years.rollover_undo` its undo, and
:mod:`~webapp.years.rollover_sql` the SQL pieces both write with.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, cast

from sqlalchemy import CursorResult, func, select
from sqlalchemy.exc import IntegrityError

from webapp import trail
from webapp.database import begin_write
from webapp.extensions import db
from webapp.models import Enrollment, Rollover, SchoolYear
from webapp.models.student import GRADE_MAX
from webapp.models.types import utcnow
from webapp.years import service
from webapp.years.rollover_sql import events_sql, json_functions, typed_sql, uuid_sql

#: The most students that can be held back at once (a bound list of ids in one statement).
MAX_HELD_BACK = 10_000


class RolloverError(Exception):
    """A rollover or its undo was refused; ``str(error)`` says why, for the user."""


def target_year(from_year: SchoolYear) -> SchoolYear:
    """The year a rollover from ``from_year`` goes to: the next one defined.

    Raises:
        RolloverError: no later year is defined.
    """
    to_year = service.next_year(from_year)
    if to_year is None:
        raise RolloverError(
            f"No school year follows {from_year.name}. Define the next year first, then roll over."
        )
    return to_year


def rollover_in_force(from_year: SchoolYear) -> Rollover | None:
    """The rollover from ``from_year`` that has not been undone, if any."""
    return db.session.scalar(
        select(Rollover).where(
            Rollover.from_year_id == from_year.id, Rollover.undo_batch_id.is_(None)
        )
    )


def check_not_rolled_over(from_year: SchoolYear) -> None:
    """Refuse a second rollover from the same year.

    Raises:
        RolloverError: a rollover from ``from_year`` is in force (the message says when and
            by whom, and that it can be undone).
    """
    done = rollover_in_force(from_year)
    if done is not None:
        raise RolloverError(
            f"{from_year.name} was already rolled over into {done.to_year.name} on "
            f"{done.created_at:%-d %b %Y at %H:%M} UTC by {done.batch.actor}. Nothing was "
            "changed. Undo that rollover first to run it again."
        )


def run(
    from_year: SchoolYear,
    holds: Collection[int] = (),
    *,
    make_current: bool = True,
) -> Rollover:
    """Roll ``from_year`` over into the next year, in one transaction, and commit.

    Set-based: one ``INSERT ... SELECT`` makes the next year's enrollments (grade + 1, or
    the same grade for the held back), one ``UPDATE`` graduates the top grade, and two
    ``INSERT ... SELECT`` write their audit events, all in one audit batch.

    Args:
        from_year: the ending year.
        holds: ids of students who stay in their grade.
        make_current: also make the next year the current one.

    Returns:
        The rollover, with its counts.

    Raises:
        RolloverError: no next year; the year was rolled over already; too many held
            back; or the database refused (a concurrent rollover). Nothing changed.
    """
    begin_write()
    to_year = target_year(from_year)
    check_not_rolled_over(from_year)
    held = sorted(set(holds))
    if len(held) > MAX_HELD_BACK:
        raise RolloverError(f"At most {MAX_HELD_BACK:,} students can be held back at once.")
    dialect = db.session.get_bind().dialect.name
    obj, arr = json_functions(dialect)
    now = utcnow()
    try:
        batch = trail.new_batch("rollover", f"Rollover {from_year.name} → {to_year.name}")
        rollover = Rollover(
            from_year_id=from_year.id,
            to_year_id=to_year.id,
            batch_id=batch.id,
            made_current=False,
            created_at=now,
        )
        db.session.add(rollover)
        db.session.flush()
        params = {
            "from_id": from_year.id,
            "to_id": to_year.id,
            "rollover_id": rollover.id,
            "starts_on": to_year.starts_on,
            "ends_on": from_year.ends_on,
            "now": now,
            "held": held or [-1],
            "top": GRADE_MAX,
            "user_id": batch.user_id,
            "actor": batch.actor,
            "batch_id": batch.id,
            "note_new": f"rollover from {from_year.name}",
            "note_graduated": f"rollover: graduated from {from_year.name}",
        }
        not_yet = (
            "NOT EXISTS (SELECT 1 FROM enrollments n WHERE n.student_id = e.student_id"
            " AND n.school_year_id = :to_id)"
        )
        movers = "e.school_year_id = :from_id AND e.status = 'enrolled' AND " + not_yet
        session = db.session
        inserted = session.execute(
            typed_sql(
                "INSERT INTO enrollments (sourced_id, student_id, school_year_id, grade, status,"
                " entered_on, rollover_id, version, created_at, updated_at)"
                f" SELECT {uuid_sql(dialect)}, e.student_id, :to_id,"
                " CASE WHEN e.student_id IN :held THEN e.grade ELSE e.grade + 1 END,"
                " 'enrolled', :starts_on, :rollover_id, 1, :now, :now"
                f" FROM enrollments e WHERE {movers}"
                " AND (e.grade < :top OR e.student_id IN :held)"
            ),
            params,
        )
        created = cast(CursorResult[Any], inserted).rowcount
        session.execute(
            typed_sql(
                events_sql(
                    dialect,
                    "enrollments e JOIN students s ON s.id = e.student_id"
                    " WHERE e.rollover_id = :rollover_id",
                    f"{obj}('grade', {arr}(NULL, e.grade), 'status', {arr}(NULL, e.status),"
                    f" 'entered_on', {arr}(NULL, CAST(e.entered_on AS TEXT)))",
                    "create",
                    "note_new",
                )
            ),
            params,
        )
        graduated_on = "CASE WHEN e.entered_on > :ends_on THEN e.entered_on ELSE :ends_on END"
        session.execute(
            typed_sql(
                events_sql(
                    dialect,
                    "enrollments e JOIN students s ON s.id = e.student_id"
                    f" WHERE {movers} AND e.grade = :top AND e.student_id NOT IN :held",
                    f"{obj}('status', {arr}('enrolled', 'graduated'),"
                    f" 'status_on', {arr}(NULL, CAST({graduated_on} AS TEXT)))",
                    "update",
                    "note_graduated",
                )
            ),
            params,
        )
        updated = session.execute(
            typed_sql(
                "UPDATE enrollments SET status = 'graduated',"
                " status_on = CASE WHEN entered_on > :ends_on THEN entered_on ELSE :ends_on END,"
                " version = version + 1, updated_at = :now"
                " WHERE id IN (SELECT entity_id FROM audit_events"
                " WHERE batch_id = :batch_id AND entity = 'enrollment' AND action = 'update')"
            ),
            params,
        )
        rollover.graduated = cast(CursorResult[Any], updated).rowcount
        rollover.held_back = (
            session.scalar(
                select(func.count())
                .select_from(Enrollment)
                .where(Enrollment.rollover_id == rollover.id, Enrollment.student_id.in_(held))
            )
            or 0
            if held
            else 0
        )
        rollover.promoted = created - rollover.held_back
        if make_current and not to_year.is_current:
            service.set_current(to_year, commit=False, batch=batch)
            rollover.made_current = True
        session.commit()
    except IntegrityError as error:
        session.rollback()
        raise RolloverError(
            f"The database refused the rollover of {from_year.name}: it may have been rolled "
            "over meanwhile. Nothing was changed."
        ) from error
    except BaseException:
        session.rollback()
        raise
    return rollover


def rollovers(limit: int = 20) -> list[Rollover]:
    """The latest rollovers, newest first."""
    return list(db.session.scalars(select(Rollover).order_by(Rollover.id.desc()).limit(limit)))
