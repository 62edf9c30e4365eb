"""Stage 3 of an import, its lookups: the students the rows name, as the roster was before.

:class:`RosterLookup` reads the students a chunk of rows refers to, by id and by email
(as the unique index compares emails: :func:`webapp.students.service.email_keys`), in a
few ``IN`` queries, and remembers what the import wrote since, so that every row is
judged against the roster as it was before the import (:class:`.planning.Planner`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.fields.enrollment import ENROLLMENT
from webapp.fields.student import ROSTER_ROW
from webapp.import_export.importer import support
from webapp.import_export.importer.plans import Action, RowPlan
from webapp.import_export.importer.row_checks import ValidRow
from webapp.import_export.importer.support import IdRuns, chunks
from webapp.models import Enrollment, Student
from webapp.students.service import email_keys

#: What a lookup reads of each student: the roster row, and its enrollment's id and start.
_LOOKUP_NAMES = (*ROSTER_ROW.names, "enrollment_id", "entered_on")
_LOOKUP_COLUMNS = (
    *(
        getattr(Enrollment if name in ENROLLMENT.by_name else Student, name)
        for name in ROSTER_ROW.names
    ),
    Enrollment.id,
    Enrollment.entered_on,
)


def fetch_students(
    where: Callable[[Sequence[Any]], Any], keys: Sequence[Any], lock: bool, year_id: int
) -> Iterator[dict[str, Any]]:
    """Yield the students matching ``where(chunk)`` for each chunk of ``keys``, as dicts
    of their roster row in the school year ``year_id`` (enrollment fields ``None`` when
    not enrolled that year)."""
    names = _LOOKUP_NAMES
    joined = (Enrollment.student_id == Student.id) & (Enrollment.school_year_id == year_id)
    for chunk in chunks(keys, support.LOOKUP_BATCH_SIZE):
        statement = select(*_LOOKUP_COLUMNS).outerjoin(Enrollment, joined).where(where(chunk))
        if lock:
            # Rows about to be updated cannot change before the commit (PostgreSQL;
            # SQLite has no row locks: begin_write's BEGIN IMMEDIATE covers it).
            statement = statement.with_for_update(of=Student)
        for row in db.session.execute(statement):
            yield dict(zip(names, row, strict=True))


class RosterLookup:
    """The students rows refer to, as the roster was before the import, chunk after chunk.

    After writing a chunk, call :meth:`written`: later lookups see the students it created
    as absent and the ones it updated with their stored values.

    Args:
        lock: lock the matched rows until the transaction ends (``SELECT ... FOR
            UPDATE``), for a plan that is about to be applied.
        year_id: the school year whose enrollment is read with each student.
    """

    def __init__(self, *, lock: bool, year_id: int) -> None:
        self.lock = lock
        self.year_id = year_id
        # The unique index's key of each email of the current chunk (see learn_keys).
        self.keys: dict[str, str] = {}
        # What this import wrote, as the roster was before it: the ids it created (new
        # ids come in blocks: runs; ids the file gives: a set) and the students it
        # updated, as they were.
        self._created = IdRuns()
        self._created_given: set[int] = set()
        self._before_by_id: dict[int, dict[str, Any]] = {}
        self._before_by_email: dict[str, dict[str, Any]] = {}

    def _was_written(self, student_id: int) -> bool:
        """Whether this import created or updated the student ``student_id``."""
        return (
            student_id in self._before_by_id
            or student_id in self._created_given
            or student_id in self._created
        )

    def learn_keys(self, emails: Iterable[str]) -> None:
        """Add the unique index's keys of ``emails`` to the cache (one batch of lookups)."""
        keys = self.keys
        unknown = [email for email in emails if email not in keys]
        if unknown:
            keys.update(email_keys(unknown))

    def lookup(
        self, rows: Sequence[ValidRow]
    ) -> tuple[dict[int, dict[str, Any]], dict[str, dict[str, Any]]]:
        """The students ``rows`` refer to, by id and by email key, as they were.

        A few ``IN`` queries in batches; students written by this import are answered
        from what :meth:`written` kept instead. Starts the chunk's cache of email keys.
        """
        self.keys = {}
        self.learn_keys(row.values["email"] for row in rows if row.values.get("email"))
        key = self.keys.__getitem__
        ids = sorted({row.values["id"] for row in rows if row.values.get("id") is not None})
        emails = sorted({key(row.values["email"]) for row in rows if row.values.get("email")})
        by_id: dict[int, dict[str, Any]] = {}
        unread_ids = []
        for student_id in ids:
            if (before := self._before_by_id.get(student_id)) is not None:
                by_id[student_id] = before
            elif student_id not in self._created_given and student_id not in self._created:
                unread_ids.append(student_id)
        by_id.update(
            (student["id"], student)
            for student in fetch_students(Student.id.in_, unread_ids, self.lock, self.year_id)
        )
        self.learn_keys(student["email"] for student in by_id.values() if student["email"])
        by_email = {
            key(student["email"]): student for student in by_id.values() if student["email"]
        }
        unread_emails = []
        for email in emails:
            if email in by_email:
                continue
            if email in self._before_by_email:
                by_email[email] = self._before_by_email[email]
            else:
                unread_emails.append(email)
        found = list(
            fetch_students(func.lower(Student.email).in_, unread_emails, self.lock, self.year_id)
        )
        self.learn_keys(student["email"] for student in found)
        for student in found:
            # A student this import wrote got the address from it: before, nobody had it.
            if not self._was_written(student["id"]):
                by_email[key(student["email"])] = student
        return by_id, by_email

    def written(self, plans: Sequence[RowPlan], created_ids: Iterable[int]) -> None:
        """Note that ``plans`` were written, so later lookups still see the roster as it was.

        Args:
            plans: planned rows that :meth:`.writing.PlanWriter.write` wrote.
            created_ids: the ids of the students it created (what it returned).
        """
        created = [row for row in plans if row.action is Action.CREATE and row.values]
        ids = list(created_ids)
        self._created.update(
            student_id
            for row, student_id in zip(created, ids, strict=True)
            if row.student_id is None
        )
        self._created_given.update(
            student_id
            for row, student_id in zip(created, ids, strict=True)
            if row.student_id is not None
        )
        updated = [row.before for row in plans if row.action is Action.UPDATE and row.before]
        self.learn_keys(before["email"] for before in updated if before["email"])
        for before in updated:
            self._before_by_id[before["id"]] = before
            if before["email"]:
                self._before_by_email[self.keys[before["email"]]] = before
