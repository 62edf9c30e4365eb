"""The account list (/users/) at district scale: 50 accounts a page by email address, a
search and filters that give the right rows, and a cost that does not grow with the
number of accounts (rows and statements)."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import insert

from tests.test_bounded_queries import measured_get
from webapp.extensions import db
from webapp.models import User
from webapp.models.types import utcnow
from webapp.users.service import ACCOUNTS_PER_PAGE

#: The five test accounts (tests/accounts.py) are there too.
TEST_ACCOUNTS = 5
ROW = re.compile(r'<th scope="row"><a href="/users/\d+">([^<]+)</a></th>')


def add_accounts(
    app: Flask, count: int, *, role: str = "teacher", prefix: str = "t", active: bool = True
) -> list[str]:
    """Insert ``count`` accounts ``{prefix}0000@district.example``...; their addresses."""
    emails = [f"{prefix}{n:04}@district.example" for n in range(count)]
    with app.app_context():
        now = utcnow()
        rows = [
            {"email": email, "role": role, "password_hash": "x", "active": active}
            | {"created_at": now}
            for email in emails
        ]
        db.session.execute(insert(User), rows)
        db.session.commit()
    return emails


def shown(app: Flask, url: str) -> tuple[list[str], str]:
    """The addresses a page of /users/ lists, in order, and its HTML."""
    response = app.test_client(user="admin").get(url)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return ROW.findall(html), html


def test_the_list_pages_by_email_ignoring_case(app: Flask) -> None:
    emails = add_accounts(app, 60)
    add_accounts(app, 1, prefix="A-upper")  # sorts first: "a-upper" < "admin"
    everyone = sorted(
        [*emails, "A-upper0000@district.example", *(f"{n}@school.example" for n in NAMES)],
        key=str.lower,
    )
    first, html = shown(app, "/users/")
    assert first == everyone[:ACCOUNTS_PER_PAGE]
    assert "not understood" not in html
    assert "Showing 1–50 of <strong>66</strong> accounts." in html
    assert 'href="/users/?page=2" rel="next"' in html
    second, html = shown(app, "/users/?page=2")
    assert second == everyone[ACCOUNTS_PER_PAGE:]
    assert "not understood" not in html
    # Past the end: the last page; garbled: the first.
    assert shown(app, "/users/?page=99")[0] == second
    assert shown(app, "/users/?page=x")[0] == first


NAMES = ("admin", "editor", "viewer", "teacher", "teacher2")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=TEACHER", ["teacher2@school.example", "teacher@school.example"]),  # "2" < "@"
        ("q=%25", ["odd%sign@district.example"]),  # % is a plain character
        ("q=_", ["odd_line@district.example"]),  # and _ too
        ("q=+editor+", ["editor@school.example"]),  # spaces trimmed
        ("role=admin", ["admin@school.example"]),
        ("role=teacher&q=2", ["teacher2@school.example"]),
        ("status=inactive", ["gone0000@district.example"]),
        ("status=inactive&role=viewer", ["gone0000@district.example"]),
        ("status=inactive&role=admin", []),
        ("status=active&q=gone", []),
        ("q=nobody", []),
    ],
)
def test_search_and_filters_give_the_right_accounts(
    app: Flask, query: str, expected: list[str]
) -> None:
    add_accounts(app, 1, prefix="gone", role="viewer", active=False)
    with app.app_context():
        db.session.execute(
            insert(User),
            [
                {"email": email, "role": "viewer", "password_hash": "x", "created_at": utcnow()}
                for email in ("odd%sign@district.example", "odd_line@district.example")
            ],
        )
        db.session.commit()
    rows, html = shown(app, f"/users/?{query}")
    assert rows == expected
    if not expected:
        assert "No account matches these filters." in html


def test_the_pager_keeps_the_filters_and_nothing_else(app: Flask) -> None:
    add_accounts(app, 120)
    rows, html = shown(app, "/users/?q=T00&role=teacher&endpoint=x&_external=1")
    assert len(rows) == ACCOUNTS_PER_PAGE
    assert "of <strong>100</strong> accounts matching “T00”" in html
    assert 'href="/users/?page=2&amp;q=T00&amp;role=teacher" rel="next"' in html
    assert "endpoint" not in html.split("<main", 1)[1]


def test_an_unknown_filter_value_is_ignored_and_said(app: Flask) -> None:
    rows, html = shown(app, "/users/?role=superuser&status=maybe")
    assert len(rows) == TEST_ACCOUNTS
    assert "Some filters were not understood and were ignored" in html


def test_only_admins_see_the_list(app: Flask) -> None:
    assert app.test_client(user="editor").get("/users/?q=a").status_code == 403


@pytest.mark.parametrize("url", ["/users/", "/users/?q=0&role=teacher&page=2"])
def test_the_list_costs_the_same_whatever_the_number_of_accounts(app: Flask, url: str) -> None:
    counts, sizes = [], []
    added = 0
    for size in (120, 600):
        add_accounts(app, size - added, prefix=f"s{size}-")
        added = size
        statements, html = measured_get(app, url)
        assert len(ROW.findall(html)) == ACCOUNTS_PER_PAGE
        counts.append(statements)
        sizes.append(len(html))
    assert counts[0] == counts[1], f"{counts} statements at 120 and 600 accounts"
    assert abs(sizes[0] - sizes[1]) < 2_000, sizes  # the same rows; only numbers differ


def test_the_total_is_counted_up_to_a_bound(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("webapp.paging.COUNT_LIMIT", 60)
    add_accounts(app, 120)
    rows, html = shown(app, "/users/?page=2")
    assert len(rows) == ACCOUNTS_PER_PAGE
    assert "Showing 51–100 of <strong>more than 60</strong> accounts." in html
    assert 'href="/users/?page=3" rel="next"' in html
    rows, html = shown(app, "/users/?page=3")
    assert len(rows) == 120 + TEST_ACCOUNTS - 2 * ACCOUNTS_PER_PAGE
    assert 'rel="next"' not in html
