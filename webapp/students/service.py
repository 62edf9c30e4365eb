"""Student queries and writes shared by the views and the ``flask students`` commands.

Views stay thin: they parse the request, call one function here and render. Each write
function changes the session and commits once; on failure it rolls back and raises an
exception the caller can explain to the user.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import ColumnElement, Select, func, inspect, literal, or_, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from webapp import trail
from webapp.extensions import db
from webapp.fields.student import STUDENT
from webapp.models import Action, AuditEvent, Student
from webapp.models.student import GRADE_MAX, GRADE_MIN

#: Columns the roster can be sorted by, keyed by their name in the ``sort`` parameter.
SORTABLE_COLUMNS: dict[str, Any] = {
    "name": Student.name,
    "email": func.lower(Student.email),
    "grade": Student.grade,
    "birthday": Student.birthday,
    "enrolled_on": Student.enrolled_on,
}
DEFAULT_SORT = "name"
DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100
#: Highest page number accepted. Beyond some 10^17 the OFFSET overflows a 64-bit integer:
#: PostgreSQL answers "bigint out of range", Python's sqlite3 raises OverflowError. A page
#: past the end shows the last page anyway.
MAX_PAGE = 1_000_000


DUPLICATE_EMAIL_MESSAGE = "Another student already has this email address."


class DuplicateEmailError(Exception):
    """Another student already has this email address (compared case-insensitively)."""


class StaleRecordError(Exception):
    """The record changed (or was deleted) since the version the user saw.

    Attributes:
        current_version: the version now stored, or ``None`` when the row is gone.
    """

    def __init__(self, current_version: int | None) -> None:
        super().__init__(current_version)
        self.current_version = current_version


def check_version(student: Student, expected_version: int | None) -> None:
    """Refuse a write based on a version of ``student`` other than the stored one.

    SQLAlchemy's ``version_id_col`` alone compares with the version *loaded in this
    request*, which is the current one; the version the user's form was rendered from
    must be compared too, or a stale form silently overwrites a newer save.

    Args:
        student: the persistent student, loaded in this transaction.
        expected_version: the version the form carried; ``None`` skips the check (a new
            record, or optimistic locking disabled by ``OPTIMISTIC_LOCKING = False``).

    Raises:
        StaleRecordError: when the versions differ.
    """
    if expected_version is not None and expected_version != student.version:
        raise StaleRecordError(student.version)


@dataclass(frozen=True)
class RosterQuery:
    """What the roster shows: the state carried in its URL.

    Attributes:
        q: text searched for in name and email, case-insensitively; ``""`` for all.
        grade: only students in this grade, or ``None`` for every grade.
        sort: a key of ``SORTABLE_COLUMNS``, prefixed with ``-`` for descending order.
        page: 1-based page number.
        per_page: rows per page.
    """

    q: str = ""
    grade: int | None = None
    sort: str = DEFAULT_SORT
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @property
    def sort_key(self) -> str:
        """The sorted column's key, without the direction."""
        return self.sort.removeprefix("-")

    @property
    def descending(self) -> bool:
        """Whether the sort is descending."""
        return self.sort.startswith("-")

    def url_args(self, **changes: Any) -> dict[str, Any]:
        """Return the query-string arguments for this view with ``changes`` applied.

        Defaults are left out so that URLs stay short and shareable.
        """
        state = replace(self, **changes)
        args: dict[str, Any] = {}
        if state.q:
            args["q"] = state.q
        if state.grade is not None:
            args["grade"] = state.grade
        if state.sort != DEFAULT_SORT:
            args["sort"] = state.sort
        if state.page != 1:
            args["page"] = state.page
        if state.per_page != DEFAULT_PER_PAGE:
            args["per_page"] = state.per_page
        return args


def _to_int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def parse_roster_query(args: Mapping[str, str]) -> RosterQuery:
    """Build a :class:`RosterQuery` from request arguments, correcting what is invalid.

    Bad values never raise: an unknown sort falls back to the default, ``page`` is clamped
    to ``1..MAX_PAGE``, ``per_page`` to ``1..MAX_PER_PAGE``, and a grade that is not an
    integer in range is ignored.

    Args:
        args: the request's query-string arguments.

    Returns:
        The corrected query.
    """
    q = " ".join(args.get("q", "").split())
    q = "".join(ch for ch in q if ch.isprintable())[:200]
    grade = _to_int(args.get("grade"))
    if grade is not None and not GRADE_MIN <= grade <= GRADE_MAX:
        grade = None
    sort = args.get("sort", DEFAULT_SORT)
    if sort.removeprefix("-") not in SORTABLE_COLUMNS:
        sort = DEFAULT_SORT
    page = min(max(_to_int(args.get("page")) or 1, 1), MAX_PAGE)
    per_page = _to_int(args.get("per_page")) or DEFAULT_PER_PAGE
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    return RosterQuery(q=q, grade=grade, sort=sort, page=page, per_page=per_page)


def _filtered(query: RosterQuery) -> Select[Student]:
    statement = select(Student)
    if query.q:
        statement = statement.where(
            or_(
                Student.name.icontains(query.q, autoescape=True),
                Student.email.icontains(query.q, autoescape=True),
            )
        )
    if query.grade is not None:
        statement = statement.where(Student.grade == query.grade)
    return statement


def roster_statement(query: RosterQuery) -> Select[Student]:
    """Return the SELECT for the roster: filtered and ordered, not yet paginated.

    Rows with an empty sorted column come last in both directions, on SQLite and
    PostgreSQL alike; ties are broken by ``id`` so paging is stable.
    """
    column = SORTABLE_COLUMNS[query.sort_key]
    order: ColumnElement[Any] = column.desc() if query.descending else column.asc()
    tiebreak = Student.id.desc() if query.descending else Student.id.asc()
    if query.sort_key in {"email", "birthday"}:
        order = order.nulls_last()
    return _filtered(query).order_by(order, tiebreak)


def roster_page(query: RosterQuery) -> Pagination:
    """Return one page of the roster, with the total count.

    A page past the end is replaced by the last page. Two SQL statements (the count and
    the page) in the common case.
    """
    statement = roster_statement(query)
    page = db.paginate(statement, page=query.page, per_page=query.per_page, error_out=False)
    if page.total and query.page > (page.pages or 1):
        page = db.paginate(statement, page=page.pages, per_page=query.per_page, error_out=False)
    return page


def email_taken(email: str | None, exclude_id: int | None = None) -> bool:
    """Return whether another student already uses ``email``, as the database compares.

    Both sides go through the database's ``lower()``, the function its unique index on
    ``lower(email)`` uses, so this agrees with the index (and with the import) on every
    address: on SQLite, whose ``lower()`` folds only A to Z, ``ÄDA@x.org`` and
    ``äda@x.org`` are two addresses; on PostgreSQL they are one.

    Args:
        email: the normalised address, or ``None`` (never taken).
        exclude_id: the student being edited, whose own address does not count.
    """
    if not email:
        return False
    statement = select(Student.id).where(func.lower(Student.email) == func.lower(email))
    if exclude_id is not None:
        statement = statement.where(Student.id != exclude_id)
    return db.session.execute(statement.limit(1)).first() is not None


#: Addresses per query of :func:`email_keys`.
EMAIL_KEYS_BATCH = 500


def email_keys(emails: Iterable[str]) -> dict[str, str]:
    """Map each address to its key in the unique index: the database's ``lower(email)``.

    Two addresses are the same student's when their keys are equal. ASCII addresses are
    folded in Python (``str.lower`` and the databases' ``lower()`` agree on A to Z); the
    others are folded by the database, a few hundred per query, since its ``lower()`` may
    fold fewer letters than Python does (SQLite's folds only A to Z).

    Args:
        emails: normalised addresses.

    Returns:
        ``{address: key}`` for every distinct address.
    """
    keys: dict[str, str] = {}
    others: list[str] = []
    for email in dict.fromkeys(emails):
        if email.isascii():
            keys[email] = email.lower()
        else:
            others.append(email)
    for start in range(0, len(others), EMAIL_KEYS_BATCH):
        batch = others[start : start + EMAIL_KEYS_BATCH]
        selects = [select(literal(email), func.lower(literal(email))) for email in batch]
        statement = selects[0] if len(selects) == 1 else union_all(*selects)
        keys.update((email, key) for email, key in db.session.execute(statement))
    return keys


def deletion_event(student_id: int) -> AuditEvent | None:
    """The audit event that deleted the student, if it is deleted and the trail knows.

    Args:
        student_id: a student's id.

    Returns:
        The newest event of the student when it is a deletion, else ``None``.
    """
    statement = (
        select(AuditEvent)
        .where(AuditEvent.student_id == student_id)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    event = db.session.scalar(statement)
    return event if event is not None and event.action == Action.DELETE.value else None


def save_student(
    student: Student,
    values: Mapping[str, Any],
    expected_version: int | None = None,
    *,
    action: Action | None = None,
    reverts: AuditEvent | None = None,
    note: str | None = None,
) -> Student:
    """Apply ``values`` to ``student`` (new or existing), record it in the audit trail,
    and commit both in one transaction.

    Args:
        student: a transient ``Student()`` to create, or one loaded in this session.
        values: cleaned field values by name (see :data:`webapp.fields.student.STUDENT`);
            a blank (``None``) enrollment date means today for a new student and the
            stored date for an existing one (:meth:`RecordFields.complete`).
        expected_version: for an existing student, the version the user edited
            (see :func:`check_version`).
        action: how the audit trail calls the change; ``create`` or ``update`` by default
            (``revert`` and ``restore`` come from :mod:`webapp.audit.service`).
        reverts: the audit event a revert or restore undoes.
        note: where the change came from, for the audit trail.

    Returns:
        The saved student, with its id. A save that changes nothing writes nothing.

    Raises:
        StaleRecordError: the student changed since ``expected_version``, or another
            transaction changed or deleted it before this one committed; the session
            has been rolled back.
        DuplicateEmailError: the database found the email already in use (a concurrent
            save got there first); the session has been rolled back.
        IntegrityError: any other constraint violation; the session has been rolled back.
    """
    existing = inspect(student).persistent
    if existing:
        check_version(student, expected_version)
    before = STUDENT.snapshot(student) if existing else {}
    stored = {name: getattr(student, name) for name in values} if existing else None
    for name, value in STUDENT.complete(values, stored, date.today()).items():
        if name in trail.AUDITED_FIELDS:
            setattr(student, name, value)
    if not existing:
        db.session.add(student)
    try:
        db.session.flush()  # the id of a new student; the version check of an update
        changes = trail.diff(before, STUDENT.snapshot(student))
        if changes or not existing:
            default = Action.UPDATE if existing else Action.CREATE
            trail.record(
                action or default, student.id, student.name, changes, reverts=reverts, note=note
            )
        db.session.commit()
    except StaleDataError as error:
        db.session.rollback()
        raise StaleRecordError(_stored_version(student.id)) from error
    except IntegrityError as error:
        db.session.rollback()
        if "email" in str(error.orig).lower():
            raise DuplicateEmailError(values.get("email")) from error
        raise
    return student


def _stored_version(student_id: int | None) -> int | None:
    """Return the version now stored for ``student_id``, or ``None`` if the row is gone."""
    if student_id is None:
        return None
    return db.session.scalar(select(Student.version).where(Student.id == student_id))


def delete_student(student: Student, expected_version: int | None = None) -> None:
    """Delete ``student`` and commit.

    Args:
        student: the persistent student to delete.
        expected_version: the version the confirmation page showed (see
            :func:`check_version`).

    The audit trail keeps the student's last values, from which it can be restored.

    Raises:
        StaleRecordError: the student changed since ``expected_version`` or meanwhile;
            the session has been rolled back.
        SQLAlchemyError: when the database refuses; the session has been rolled back.
    """
    check_version(student, expected_version)
    student_id = student.id
    last_values = STUDENT.snapshot(student)
    db.session.delete(student)
    try:
        db.session.flush()
        changes = {field: [value, None] for field, value in last_values.items()}
        trail.record(Action.DELETE, student_id, last_values["name"], changes)
        db.session.commit()
    except StaleDataError as error:
        db.session.rollback()
        raise StaleRecordError(_stored_version(student_id)) from error
    except Exception:
        db.session.rollback()
        raise
