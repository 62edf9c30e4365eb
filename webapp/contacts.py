"""Contact lists: the guardians and phone numbers of a group of students, as rows and CSV.

For "a homeroom's contacts exported as CSV" and the printable class list's phone numbers:
the caller hands in the students (a homeroom's, in its order, already narrowed to what
the viewer may see) and gets one row per student and guardian, in contact order, with
the numbers formatted for people. Three statements whatever the number of students and
guardians. Read-only, over the models and the field declarations, so that any feature
(the homerooms' class list, the guardians' pages) may use it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from webapp.extensions import db
from webapp.fields.guardian import (
    GUARDIAN,
    GUARDIAN_LINK,
    PHONE_NUMBER,
    RELATIONSHIP,
)
from webapp.models import Guardian, PhoneKind, Student, StudentGuardian

#: The CSV's header, in column order.
CSV_COLUMNS = (
    "Student",
    "Student ID",
    "Guardian",
    "Relationship",
    "Contact order",
    "Emergency contact",
    "Pickup allowed",
    "Lives with the student",
    *(f"{kind.value.capitalize()} phone" for kind in PhoneKind),
    "Email",
    "Preferred language",
)


@dataclass(frozen=True)
class Contact:
    """One guardian of one student, as a contact list shows them.

    Attributes:
        student_id, student_name: the student.
        link: the guardian link (with the guardian and phones loaded), or ``None`` for
            a student without any guardian on record.
        phones: ``(kind, number in international format)`` pairs, in the guardian's order.
    """

    student_id: int
    student_name: str
    link: StudentGuardian | None = None
    phones: tuple[tuple[str, str], ...] = field(default=())

    @property
    def guardian(self) -> Guardian | None:
        """The guardian, or ``None``."""
        return self.link.guardian if self.link else None


def homeroom_contacts(students: Sequence[Student] | Sequence[int]) -> list[Contact]:
    """The contacts of ``students``, student by student in the order given.

    Args:
        students: the students (or their ids), in the order the list shows them (a
            homeroom's class list order). Ids not found are left out.

    Returns:
        For each student, one :class:`Contact` per guardian in contact order, or one
        without a guardian when the student has none on record.
    """
    ids = [s if isinstance(s, int) else s.id for s in students]
    if not ids:
        return []
    named = select(Student.id, Student.name).where(Student.id.in_(ids))
    names: dict[int, str] = dict(db.session.execute(named).all())
    statement = (
        select(StudentGuardian)
        .join(StudentGuardian.guardian)
        .options(contains_eager(StudentGuardian.guardian).selectinload(Guardian.phone_rows))
        .where(StudentGuardian.student_id.in_(ids))
        .order_by(StudentGuardian.contact_order, Guardian.name, Guardian.id)
    )
    by_student: dict[int, list[StudentGuardian]] = {}
    for link in db.session.scalars(statement):
        by_student.setdefault(link.student_id, []).append(link)
    contacts: list[Contact] = []
    for student_id in dict.fromkeys(ids):
        if student_id not in names:
            continue
        links = by_student.get(student_id)
        if not links:
            contacts.append(Contact(student_id, names[student_id]))
            continue
        contacts.extend(
            Contact(
                student_id,
                names[student_id],
                link,
                tuple(
                    (row.kind, PHONE_NUMBER.display(row.number)) for row in link.guardian.phone_rows
                ),
            )
            for link in links
        )
    return contacts


def class_list_phones(
    students: Sequence[Student] | Sequence[int],
) -> dict[int, list[tuple[str, str, str]]]:
    """The guardians' phone numbers per student, for a printable class list.

    Args:
        students: the students (or their ids).

    Returns:
        ``{student id: [(guardian's name, relationship label, number), ...]}``, guardians
        in contact order and each guardian's numbers in order; a student without any
        number has no key.
    """
    phones: dict[int, list[tuple[str, str, str]]] = {}
    for contact in homeroom_contacts(students):
        if contact.link is None or contact.guardian is None:
            continue
        relationship = RELATIONSHIP.display(contact.link.relationship)
        phones.setdefault(contact.student_id, []).extend(
            (contact.guardian.name, relationship, number) for _, number in contact.phones
        )
    return phones


def csv_row(contact: Contact) -> list[str]:
    """One contact as the CSV's cells (see :data:`CSV_COLUMNS`); a number of each kind,
    the first of that kind when the guardian has several."""
    row = [contact.student_name, str(contact.student_id)]
    link, guardian = contact.link, contact.guardian
    if link is None or guardian is None:
        return row + [""] * (len(CSV_COLUMNS) - 2)
    first: dict[str, str] = {}
    for kind, number in contact.phones:
        first.setdefault(kind, number)
    return [
        *row,
        guardian.name,
        RELATIONSHIP.display(link.relationship),
        str(link.contact_order),
        *(
            GUARDIAN_LINK[name].display(getattr(link, name))
            for name in ("emergency_contact", "pickup_allowed", "lives_with")
        ),
        *(first.get(kind.value, "") for kind in PhoneKind),
        GUARDIAN["email"].display(guardian.email),
        GUARDIAN["preferred_language"].display(guardian.preferred_language),
    ]


def write_contacts_csv(contacts: Iterable[Contact], stream: IO[str]) -> int:
    """Write ``contacts`` as CSV (a header, then a row each) with the csv module.

    Cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
    ``@``) are prefixed with ``'``, except phone numbers, which start with ``+`` by nature
    and are written as they are shown.

    Args:
        contacts: rows from :func:`homeroom_contacts`.
        stream: a text stream opened with ``newline=""``.

    Returns:
        The number of data rows written.
    """
    writer = csv.writer(stream)
    writer.writerow(CSV_COLUMNS)
    phone_columns = {CSV_COLUMNS.index(f"{k.value.capitalize()} phone") for k in PhoneKind}
    count = 0
    for contact in contacts:
        writer.writerow(
            cell if index in phone_columns else _defused(cell)
            for index, cell in enumerate(csv_row(contact))
        )
        count += 1
    return count


def _defused(cell: str) -> str:
    """Prefix a cell a spreadsheet would take for a formula (OWASP "CSV injection")."""
    return "'" + cell if cell[:1] in {"=", "+", "-", "@", "\t", "\r"} else cell
