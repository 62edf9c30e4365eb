"""The year-end rollover: next year's enrollments made from this year's, and its undo.

Every student enrolled at the end of a year moves up a grade into the next year, except
those held back (who stay in their grade); students in the top grade graduate instead
(their enrollment in the ending year becomes ``graduated``, dated the year's last day).
Students who withdrew, transferred out or graduated during the year, and students
already enrolled in the next year, are left as they are.

The writes are set-based SQL, a handful of statements whatever the number of students
(``INSERT ... SELECT``, ``UPDATE ... WHERE``), in one transaction with their audit events,
which share one :class:`~webapp.models.AuditBatch`; 100,000 students roll over in
seconds (``bench/results/rollover.md``). An undo removes the batch's work in the same
way, as long as nothing in the new year has changed since.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    CursorResult,
    Date,
    Select,
    TextClause,
    bindparam,
    exists,
    func,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import TypeEngine

from webapp import trail
from webapp.database import begin_write
from webapp.extensions import db
from webapp.models import (
    AuditBatch,
    AuditEvent,
    Enrollment,
    Rollover,
    SchoolYear,
    Status,
    Student,
)
from webapp.models.student import GRADE_MAX
from webapp.models.types import UTCDateTime, utcnow
from webapp.years import service

#: The most students that can be held back at once (a bound list of ids in one statement).
MAX_HELD_BACK = 10_000


class RolloverError(Exception):
    """A rollover or its undo was refused; ``str(error)`` says why, for the user."""


@dataclass(frozen=True)
class Mover:
    """A student in the preview: who, in which grade now."""

    student_id: int
    name: str
    grade: int


@dataclass
class GradeLine:
    """One grade of the preview.

    Attributes:
        grade: the grade in the ending year.
        moving_up: students who move up to the next grade (or graduate, from the top).
        held_back: students who stay in this grade.
        already: students already enrolled in the next year (left as they are).
    """

    grade: int
    moving_up: list[Mover] = field(default_factory=list)
    held_back: list[Mover] = field(default_factory=list)
    already: list[Mover] = field(default_factory=list)

    @property
    def graduating(self) -> bool:
        """Whether moving up from this grade means graduating."""
        return self.grade == GRADE_MAX


@dataclass
class Preview:
    """What a rollover would do, grade by grade.

    Attributes:
        from_year: the ending year.
        to_year: the next year.
        grades: one line per grade that has enrolled students, lowest first.
        unknown_holds: held-back ids that are not students enrolled in the ending year.
    """

    from_year: SchoolYear
    to_year: SchoolYear
    grades: list[GradeLine]
    unknown_holds: list[int] = field(default_factory=list)

    @property
    def promoted(self) -> int:
        """Students who would move up a grade."""
        return sum(len(line.moving_up) for line in self.grades if not line.graduating)

    @property
    def graduating(self) -> int:
        """Students who would graduate."""
        return sum(len(line.moving_up) for line in self.grades if line.graduating)

    @property
    def held_back(self) -> int:
        """Students who would stay in their grade."""
        return sum(len(line.held_back) for line in self.grades)

    @property
    def already(self) -> int:
        """Students already enrolled in the next year."""
        return sum(len(line.already) for line in self.grades)


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


def _next_enrollment(to_year_id: int) -> Select[tuple[int]]:
    """``SELECT 1`` for a student of ``enrollments`` (outer) already in ``to_year_id``."""
    later = Enrollment.__table__.alias("later")
    return select(1).where(
        later.c.student_id == Enrollment.student_id, later.c.school_year_id == to_year_id
    )


def preview(from_year: SchoolYear, holds: Collection[int] = ()) -> Preview:
    """What a rollover from ``from_year`` would do, with ``holds`` held back.

    Args:
        from_year: the ending year.
        holds: ids of students to hold back in their grade.

    Returns:
        The preview, every enrolled student of the ending year listed in their grade.

    Raises:
        RolloverError: no next year is defined.
    """
    to_year = target_year(from_year)
    held = set(holds)
    already = exists(_next_enrollment(to_year.id))
    statement = (
        select(Student.id, Student.name, Enrollment.grade, already)
        .join(Enrollment, Enrollment.student_id == Student.id)
        .where(
            Enrollment.school_year_id == from_year.id,
            Enrollment.status == Status.ENROLLED.value,
        )
        .order_by(Enrollment.grade, Student.name, Student.id)
    )
    lines: dict[int, GradeLine] = {}
    seen: set[int] = set()
    for student_id, name, grade, is_already in db.session.execute(statement):
        line = lines.setdefault(grade, GradeLine(grade))
        mover = Mover(student_id, name, grade)
        seen.add(student_id)
        if is_already:
            line.already.append(mover)
        elif student_id in held:
            line.held_back.append(mover)
        else:
            line.moving_up.append(mover)
    return Preview(from_year, to_year, list(lines.values()), sorted(held - seen))


def counts(from_year: SchoolYear, holds: Collection[int] = ()) -> Preview:
    """The preview's totals only (for the command line), in a few aggregate queries.

    Returns:
        A :class:`Preview` whose grade lines hold placeholder movers, one per student
        (names empty); cheap at any size compared with listing names.
    """
    to_year = target_year(from_year)
    already = exists(_next_enrollment(to_year.id))
    held = list(set(holds))
    # Never a constant: a constant in GROUP BY is a column number to SQLite.
    held_expr = Enrollment.student_id.in_(held) if held else Enrollment.student_id < 0
    statement = (
        select(Enrollment.grade, already, held_expr, func.count())
        .where(
            Enrollment.school_year_id == from_year.id,
            Enrollment.status == Status.ENROLLED.value,
        )
        .group_by(Enrollment.grade, already, held_expr)
    )
    lines: dict[int, GradeLine] = defaultdict(lambda: GradeLine(0))
    for grade, is_already, is_held, number in db.session.execute(statement):
        line = lines[grade]
        line.grade = grade
        placeholder = [Mover(0, "", grade)] * number
        if is_already:
            line.already.extend(placeholder)
        elif is_held:
            line.held_back.extend(placeholder)
        else:
            line.moving_up.extend(placeholder)
    return Preview(from_year, to_year, [lines[g] for g in sorted(lines)])


#: The types of the bound parameters the statements below share (values go through the
#: column types' conversions: aware UTC timestamps stored naive, dates as ISO text on SQLite).
_PARAMETER_TYPES: dict[str, TypeEngine[Any]] = {
    "now": UTCDateTime(),
    "starts_on": Date(),
    "ends_on": Date(),
}


def _sql(statement: str) -> TextClause:
    """``text(statement)`` with the shared parameters it uses typed, and ``:held`` a list."""
    clause = text(statement)
    typed: list[BindParameter[Any]] = [
        bindparam(name, type_=type_)
        for name, type_ in _PARAMETER_TYPES.items()
        if f":{name}" in statement
    ]
    if ":held" in statement:
        typed.append(bindparam("held", expanding=True))
    return clause.bindparams(*typed) if typed else clause


def _json(dialect: str) -> tuple[str, str]:
    """The SQL functions that build a JSON object and array on ``dialect``."""
    if dialect == "postgresql":
        return "json_build_object", "json_build_array"
    return "json_object", "json_array"


def uuid_sql(dialect: str) -> str:
    """SQL for a random version-4 UUID per row (as migration 0011 makes them)."""
    if dialect == "postgresql":
        return "gen_random_uuid()::text"
    return (
        "lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4'"
        " || substr(hex(randomblob(2)), 2) || '-'"
        " || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2)"
        " || '-' || hex(randomblob(6)))"
    )


def _events_sql(dialect: str, source: str, changes: str, action: str, note_param: str) -> str:
    """``INSERT INTO audit_events ... SELECT`` of one event per enrollment row of ``source``.

    ``source`` is a FROM clause that names the enrollment ``e`` and its student ``s``
    (and may name an event ``a``, which the event then reverts when ``action`` is
    ``revert``); ``changes`` is the JSON expression of the changes.
    """
    reverts = "a.id" if action == "revert" else "NULL"
    return (
        "INSERT INTO audit_events (occurred_at, user_id, actor, action, entity, entity_id,"
        " student_id, student_name, changes, reverts_id, batch_id, note)"
        f" SELECT :now, :user_id, :actor, '{action}', 'enrollment', e.id, e.student_id,"
        f" s.name, {changes}, {reverts}, :batch_id, :{note_param} FROM {source}"
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
    obj, arr = _json(dialect)
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
            _sql(
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
            _sql(
                _events_sql(
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
            _sql(
                _events_sql(
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
            _sql(
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
    obj, arr = _json(dialect)
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
            _sql(
                _events_sql(
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
            _sql(
                _events_sql(
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
            _sql(
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


def rollovers(limit: int = 20) -> list[Rollover]:
    """The latest rollovers, newest first."""
    return list(db.session.scalars(select(Rollover).order_by(Rollover.id.desc()).limit(limit)))


def undoable(rollover: Rollover) -> bool:
    """Whether :func:`undo` would accept ``rollover`` now."""
    return not undo_blockers(rollover)
