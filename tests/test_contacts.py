"""Contact lists for a group of students (a homeroom's): rows in the students' order and
contact order, the CSV with the csv module, and a fixed number of statements."""

from __future__ import annotations

import csv
import io

from flask import Flask

from tests.guardian_helpers import add_guardian, count_statements
from tests.helpers import add_student
from webapp.contacts import (
    CSV_COLUMNS,
    class_list_phones,
    homeroom_contacts,
    write_contacts_csv,
)
from webapp.extensions import db


def test_contacts_follow_the_students_order_then_contact_order(app: Flask) -> None:
    ann, bob, cy = (add_student(app, name=n) for n in ("Ann Lee", "Bob Lee", "Cy Orphan"))
    add_guardian(app, (ann, bob), name="Cat Lee", emergency_contact=True)
    dan = add_guardian(app, (), name="Dan Lee", phones=(("work", "+442079460000"),))
    with app.app_context():
        from webapp.models import StudentGuardian

        db.session.add(
            StudentGuardian(student_id=bob, guardian_id=dan, relationship="father", contact_order=1)
        )
        db.session.commit()

        contacts = homeroom_contacts([bob, cy, ann])

        assert [(c.student_name, c.guardian.name if c.guardian else None) for c in contacts] == [
            ("Bob Lee", "Dan Lee"),  # contact order 1, before Cat Lee's 2 for Bob
            ("Bob Lee", "Cat Lee"),
            ("Cy Orphan", None),
            ("Ann Lee", "Cat Lee"),
        ]
        assert contacts[0].phones == (("work", "+44 20 7946 0000"),)


def test_contacts_csv_has_a_row_per_student_and_guardian(app: Flask) -> None:
    ann = add_student(app, name="=HYPERLINK(1)")
    add_guardian(
        app,
        (ann,),
        name="Cat Lee",
        phones=(("mobile", "+12015550123"), ("mobile", "+12015550124"), ("home", "+12015550125")),
        emergency_contact=True,
        pickup_allowed=True,
    )
    stream = io.StringIO(newline="")
    with app.app_context():
        written = write_contacts_csv(homeroom_contacts([ann]), stream)

    rows = list(csv.reader(io.StringIO(stream.getvalue())))
    assert written == 1
    assert tuple(rows[0]) == CSV_COLUMNS
    assert dict(zip(rows[0], rows[1], strict=True)) == {
        "Student": "'=HYPERLINK(1)",  # a formula defused
        "Student ID": str(ann),
        "Guardian": "Cat Lee",
        "Relationship": "Mother",
        "Contact order": "1",
        "Emergency contact": "yes",
        "Pickup allowed": "yes",
        "Lives with the student": "no",
        "Mobile phone": "+1 201-555-0123",  # the first mobile number
        "Home phone": "+1 201-555-0125",
        "Work phone": "",
        "Email": "cat@example.org",
        "Preferred language": "",
    }


def test_no_students_no_contacts(app: Flask) -> None:
    with app.app_context():
        assert homeroom_contacts([]) == []
        assert homeroom_contacts([12345]) == []


def test_contacts_run_three_statements_for_2_or_30_students(app: Flask) -> None:
    students = [add_student(app, name=f"Student {i}") for i in range(30)]
    for i in range(0, 30, 2):
        add_guardian(app, (students[i], students[i + 1]), name=f"Parent {i}")
        add_guardian(app, (students[i],), name=f"Other {i}", phones=(("home", "+12015550100"),))

    def contacts_statements(ids: list[int]) -> int:
        return count_statements(app, lambda: homeroom_contacts(ids))

    assert contacts_statements(students[:2]) == contacts_statements(students) == 3


def test_class_list_phones_per_student_in_contact_order(app: Flask) -> None:
    ann, bob = add_student(app, name="Ann Lee"), add_student(app, name="Bob Lee")
    add_guardian(
        app, (ann,), name="Cat Lee", phones=(("mobile", "+12015550123"), ("work", "+442079460000"))
    )
    add_guardian(app, (ann,), name="Dan Lee", relationship="father", phones=())

    with app.app_context():
        phones = class_list_phones([ann, bob])

    assert phones == {
        ann: [
            ("Cat Lee", "Mother", "+1 201-555-0123"),
            ("Cat Lee", "Mother", "+44 20 7946 0000"),
        ]
    }
