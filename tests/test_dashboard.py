"""The dashboard (the home page) and the counts that keep it cheap."""

from __future__ import annotations

import random
import re
from datetime import date

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select, update

from tests.helpers import add_student, current_enrollment
from webapp.dashboard import service
from webapp.extensions import db
from webapp.models import Enrollment, EnrollmentCount, SchoolYear, Student


def test_dashboard_shows_the_current_year_per_grade_status_and_month(
    app: Flask, client: FlaskClient
) -> None:
    today = date.today()
    add_student(app, name="Ann", grade=3, enrolled_on=today)
    add_student(app, name="Bob", email="bob@example.org", grade=3, enrolled_on=date(2020, 9, 1))
    cid = add_student(
        app, name="Cid", email="cid@example.org", grade=7, enrolled_on=date(2020, 9, 1)
    )
    with app.app_context():
        enrollment = db.session.get(Enrollment, current_enrollment(app, cid).id)
        enrollment.status, enrollment.status_on, enrollment.reason = "withdrawn", today, "Moved"
        db.session.commit()

    html = client.get("/").get_data(as_text=True)

    # Per grade: enrolled only.
    assert re.search(r">Grade 3</a></th><td>2</td>", html)
    assert re.search(r">Grade 7</a></th><td>0</td>", html)
    # Status counts.
    assert re.search(r"<th scope=\"row\">Withdrawn</th><td>1</td>", html)
    # This month: one new student, one withdrawal.
    month = today.strftime("%b %Y")
    assert re.search(rf">{month}</time></th><td>1</td><td>1</td><td>0</td>", html)
    # The charts' script is ours, served from static/, and nothing is inline.
    assert '<script src="/static/vendor/chartjs/chart.umd.min.js"></script>' in html
    assert "<script>" not in html
    assert " style=" not in html
    # Latest changes.
    assert "Latest changes" in html
    assert "No changes recorded yet." in html  # add_student writes no audit event


def test_month_bounds_cover_the_last_twelve_months() -> None:
    starts = service.month_starts(date(2026, 2, 14))
    assert starts[0] == date(2025, 3, 1)
    assert starts[-2] == date(2026, 2, 1)
    assert starts[-1] == date(2026, 3, 1)
    assert len(starts) == 13


def test_every_viewer_sees_the_dashboard(app: Flask) -> None:
    assert app.test_client(user="viewer").get("/").status_code == 200
    assert app.test_client(user=None).get("/").status_code == 302  # to the login page


def counts(app: Flask) -> dict[tuple[int, int, str], int]:
    with app.app_context():
        kept = {
            (year, grade, status): number
            for year, grade, status, number in db.session.execute(
                select(
                    EnrollmentCount.school_year_id,
                    EnrollmentCount.grade,
                    EnrollmentCount.status,
                    EnrollmentCount.students,
                ).where(EnrollmentCount.students != 0)
            )
        }
        counted = {
            (year, grade, status): number
            for year, grade, status, number in db.session.execute(
                select(
                    Enrollment.school_year_id, Enrollment.grade, Enrollment.status, func.count()
                ).group_by(Enrollment.school_year_id, Enrollment.grade, Enrollment.status)
            )
        }
    assert kept == counted
    return kept


def test_triggers_keep_the_counts_in_step_with_every_kind_of_write(app: Flask) -> None:
    """Inserts, updates of grade, status and year, deletes, and a student's deletion
    cascading to its enrollments: the counts always equal a GROUP BY of the rows."""
    rng = random.Random(12)
    ids = [
        add_student(app, name=f"S{n}", email=f"s{n}@example.org", grade=rng.randint(1, 12))
        for n in range(30)
    ]
    counts(app)
    with app.app_context():
        year = db.session.scalar(select(SchoolYear))
        other = SchoolYear(
            name="Other",
            starts_on=date(year.starts_on.year + 1, 9, 1),
            ends_on=date(year.starts_on.year + 2, 8, 31),
        )
        db.session.add(other)
        db.session.commit()
        for student_id in ids[:10]:
            db.session.execute(
                update(Enrollment)
                .where(Enrollment.student_id == student_id)
                .values(grade=Enrollment.grade % 12 + 1)
            )
        db.session.execute(
            update(Enrollment)
            .where(Enrollment.student_id.in_(ids[10:15]))
            .values(status="graduated", status_on=date(2030, 6, 30))
        )
        db.session.execute(
            update(Enrollment)
            .where(Enrollment.student_id.in_(ids[15:18]))
            .values(school_year_id=other.id)
        )
        db.session.execute(
            update(Enrollment).where(Enrollment.student_id == ids[18]).values(reason="no change")
        )
        db.session.execute(delete(Enrollment).where(Enrollment.student_id.in_(ids[19:21])))
        db.session.execute(delete(Student).where(Student.id.in_(ids[21:24])))  # cascades
        db.session.commit()
    kept = counts(app)
    assert sum(kept.values()) == 30 - 2 - 3
