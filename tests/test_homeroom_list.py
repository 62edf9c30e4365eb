"""The homeroom list (/homerooms/) at district scale: 50 homerooms a page by grade and name, a
search by name and a grade filter that give the right rows, a teacher's own homerooms
only, and a cost that does not grow with the number of homerooms (rows and statements)."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import insert, select

from tests.test_bounded_queries import grow, measured_get
from tests.test_homerooms import add_homeroom, add_next_year
from webapp.extensions import db
from webapp.homerooms.service import HOMEROOMS_PER_PAGE
from webapp.models import Homeroom, SchoolYear, homeroom_teachers

ROW = re.compile(r'<th scope="row"><a href="/homerooms/\d+">([^<]+)</a></th>')
#: The second test teacher (tests/accounts.py).
TEACHER2 = 5


def add_homerooms(app: Flask, names: list[str], grade: int = 5, teacher: int = TEACHER2) -> None:
    """Insert homerooms of the current year, each taught by ``teacher``, in bulk."""
    with app.app_context():
        year_id = db.session.scalar(select(SchoolYear.id).where(SchoolYear.is_current))
        db.session.execute(
            insert(Homeroom),
            [
                {"school_year_id": year_id, "name": name, "grade": grade, "capacity": 25}
                for name in names
            ],
        )
        ids = db.session.scalars(select(Homeroom.id).where(Homeroom.name.in_(names))).all()
        db.session.execute(
            insert(homeroom_teachers), [{"homeroom_id": i, "user_id": teacher} for i in ids]
        )
        db.session.commit()


def shown(app: Flask, url: str, user: str = "admin") -> tuple[list[str], str]:
    """The homeroom names a page of the list shows, in order, and its HTML."""
    response = app.test_client(user=user).get(url)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return ROW.findall(html), html


def test_the_list_pages_by_name(app: Flask) -> None:
    names = [f"H{n:03}" for n in range(70)]
    add_homerooms(app, names[::-1])
    first, html = shown(app, "/homerooms/")
    assert first == names[:HOMEROOMS_PER_PAGE]
    assert "not understood" not in html
    assert "Showing 1–50 of <strong>70</strong> homerooms." in html
    year_id = re.search(r'href="/homerooms/\?year=(\d+)&amp;page=2" rel="next"', html)
    assert year_id is not None
    second, html = shown(app, "/homerooms/?page=2")
    assert second == names[HOMEROOMS_PER_PAGE:]
    assert "not understood" not in html
    assert shown(app, "/homerooms/?page=-1")[0] == first  # garbled: page 1
    assert shown(app, "/homerooms/?page=5")[0] == second  # past the end: the last
    assert shown(app, "/homerooms/?page=99999999999")[0] == second


def test_the_list_goes_by_grade_then_name(app: Flask) -> None:
    add_homerooms(app, ["10A", "10B"], grade=10)
    add_homerooms(app, ["9B", "9A"], grade=9)
    add_homerooms(app, ["K-1"], grade=1)
    assert shown(app, "/homerooms/")[0] == ["K-1", "9A", "9B", "10A", "10B"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("grade=4", ["4A", "4b"]),
        ("q=B", ["4b", "5B", "5%B"]),  # any case
        ("q=+b+", ["4b", "5B", "5%B"]),  # spaces trimmed
        ("q=%25", ["5%B"]),  # % is a plain character
        ("q=b&grade=5", ["5B", "5%B"]),
        ("grade=13", ["4A", "4b", "5%B", "5B"]),  # not understood: ignored (and said)
        ("q=zz", []),
    ],
)
def test_search_and_grade_give_the_right_homerooms(
    app: Flask, query: str, expected: list[str]
) -> None:
    add_homerooms(app, ["4A", "4b"], grade=4)
    add_homerooms(app, ["5B", "5%B"], grade=5)
    add_homeroom(app, "4B", grade=4, school_year_id=add_next_year(app))  # another year
    rows, html = shown(app, f"/homerooms/?{query}")
    assert sorted(rows) == sorted(expected)
    if not expected:
        assert "No homeroom of" in html
        assert "matches these filters" in html
    if "13" in query:
        assert "Some filters were not understood and were ignored: grade." in html


def test_each_row_shows_its_students_and_teachers(app: Flask) -> None:
    full = add_homeroom(app, "5A", capacity=2, teachers=[4, 5])
    add_homeroom(app, "5C")
    grow(app, full, 3)
    html = shown(app, "/homerooms/")[1]
    row = html[html.index(">5A</a>") :].split("</tr>")[0]
    assert "3 / 2" in row
    assert "over capacity" in row
    assert "teacher2@school.example, teacher@school.example" in row
    row = html[html.index(">5C</a>") :].split("</tr>")[0]
    assert "0 / 25" in row
    assert "none yet" in row


def test_a_teacher_pages_through_their_own_homerooms_only(app: Flask) -> None:
    add_homerooms(app, [f"T{n:03}" for n in range(55)], teacher=4)
    add_homerooms(app, [f"U{n:03}" for n in range(10)], teacher=TEACHER2)
    rows, html = shown(app, "/homerooms/", user="teacher")
    assert rows == [f"T{n:03}" for n in range(50)]
    assert "of <strong>55</strong> homerooms" in html
    assert shown(app, "/homerooms/?page=2", user="teacher")[0] == [
        f"T{n:03}" for n in range(50, 55)
    ]
    assert shown(app, "/homerooms/?q=U", user="teacher")[0] == []


@pytest.mark.parametrize("url", ["/homerooms/", "/homerooms/?grade=5&q=h&page=2"])
@pytest.mark.parametrize("user", ["admin", "teacher2"])
def test_the_list_costs_the_same_whatever_the_number_of_homerooms(
    app: Flask, url: str, user: str
) -> None:
    homeroom = add_homeroom(app, "H000A", capacity=200, teachers=[TEACHER2])
    grow(app, homeroom, 3)
    counts, sizes = [], []
    added = 0
    for size in (120, 600):
        add_homerooms(app, [f"H{n:04}" for n in range(added, size)])
        added = size
        statements, html = measured_get(app, url, user)
        assert len(ROW.findall(html)) == HOMEROOMS_PER_PAGE
        counts.append(statements)
        sizes.append(len(html))
    assert counts[0] == counts[1], f"{counts} statements at 120 and 600 homerooms"
    assert abs(sizes[0] - sizes[1]) < 2_000, sizes  # the same rows; only numbers differ
