"""The roster, a class page, a printable class list and a student's page run the same
number of SQL statements however many students there are (eager loading, no N+1).

Each page is requested at two sizes of the school, and the statements counted with
SQLAlchemy's ``before_cursor_execute`` event (transaction control left out).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import event, insert, select

from tests.helpers import add_student
from tests.test_homerooms import add_homeroom
from webapp.extensions import db
from webapp.models import Enrollment, SchoolYear, Student
from webapp.models.types import utcnow

SIZES = (3, 40)


@contextmanager
def counted(app: Flask) -> Iterator[list[str]]:
    """The SQL statements run inside the block, on ``app``'s engine."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.split()[0].upper() not in {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT"}:
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def measured_get(app: Flask, url: str, user: str = "admin") -> tuple[int, str]:
    """GET ``url`` as ``user`` after a warm-up request (first-request caches): the number
    of SQL statements it ran and its HTML (the status must be 200)."""
    client = app.test_client(user=user)
    client.get(url)
    with counted(app) as statements:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(statements), response.get_data(as_text=True)


def grow(app: Flask, homeroom_id: int, count: int, teacher_of: int | None = None) -> None:
    """Add ``count`` students of grade 5 in the homeroom, in bulk."""
    with app.app_context():
        year_id = db.session.scalar(select(SchoolYear.id).where(SchoolYear.is_current))
        first = (
            db.session.scalar(select(Student.id).order_by(Student.id.desc()).limit(1)) or 0
        ) + 1
        now = utcnow()
        students = [
            {
                "id": first + n,
                "name": f"Pupil {first + n:04}",
                "enrolled_on": date(2020, 9, 1),
                "created_at": now,
                "updated_at": now,
                "sourced_id": f"00000000-0000-4000-8000-{first + n:012}",
            }
            for n in range(count)
        ]
        db.session.execute(insert(Student), students)
        db.session.execute(
            insert(Enrollment),
            [
                {
                    "student_id": row["id"],
                    "school_year_id": year_id,
                    "grade": 5,
                    "status": "enrolled",
                    "entered_on": date(2020, 9, 1),
                    "homeroom_id": homeroom_id,
                    "created_at": now,
                    "updated_at": now,
                    "sourced_id": f"10000000-0000-4000-8000-{row['id']:012}",
                }
                for row in students
            ],
        )
        if db.engine.dialect.name == "postgresql":
            db.session.execute(
                db.text(
                    "SELECT setval(pg_get_serial_sequence('students', 'id'),"
                    " (SELECT max(id) FROM students))"
                )
            )
        db.session.commit()


PAGES: dict[str, Callable[[int, int], str]] = {
    "roster": lambda homeroom, student: "/students/?per_page=100",
    "roster (teacher)": lambda homeroom, student: "/students/?per_page=100",
    "class page": lambda homeroom, student: f"/homerooms/{homeroom}",
    "class list": lambda homeroom, student: f"/homerooms/{homeroom}/print",
    "student": lambda homeroom, student: f"/students/{student}",
    "dashboard (teacher)": lambda homeroom, student: "/",
}


@pytest.mark.parametrize("page", PAGES)
def test_statements_do_not_grow_with_the_students(app: Flask, page: str) -> None:
    homeroom = add_homeroom(app, "5A", capacity=200, teachers=[4])
    student = add_student(app, name="Ada Watched", grade=5)
    app.test_client(user="editor").post(
        f"/homerooms/{homeroom}/assign", data={"student": [str(student)]}
    )
    user = "teacher" if "teacher" in page else "admin"
    counts = []
    grown = 0
    for size in SIZES:
        grow(app, homeroom, size - grown)
        grown = size
        client = app.test_client(user=user)
        url = PAGES[page](homeroom, student)
        client.get(url)  # warm up (first-request caches)
        with counted(app) as statements:
            response = client.get(url)
        assert response.status_code == 200
        counts.append(len(statements))
    print(f"{page}: {counts[0]} statements at {SIZES[0]} and {SIZES[1]} students")
    assert counts[0] == counts[1], f"{page}: {counts} statements at {SIZES} students"
