"""Keyset navigation of the roster: every sort order, forwards and backwards, and the
number of SQL statements a page costs (the same at page 2 and deep in the roster)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from tests.helpers import add_student
from webapp.extensions import db
from webapp.students.roster import page_link_args, roster_page, roster_statement
from webapp.students.roster_query import SORTABLE_COLUMNS, RosterQuery, parse_roster_query

SORTS = [key for name in SORTABLE_COLUMNS for key in (name, f"-{name}")]


@pytest.fixture
def roster(app: Flask) -> Flask:
    """23 students with repeated and blank values in every sortable column (one not
    enrolled this year, so the "all" filter has a blank grade)."""
    for i in range(23):
        add_student(
            app,
            grade=None if i == 7 else 1 + i % 3,
            name=f"Name {i % 5}",
            email=None if i % 4 == 0 else f"s{i % 6}-{i}@example.org",
            birthday=None if i % 3 == 0 else date(2010 + i % 2, 1, 1),
            enrolled_on=date(2020, 9, 1 + i % 2),
        )
    return app


def ids(app: Flask, query: RosterQuery) -> list[int]:
    with app.app_context():
        return [student.id for student, _ in db.session.execute(roster_statement(query))]


def walk(app: Flask, args: dict[str, Any], direction: int) -> list[list[int]]:
    """Follow the pager's next (1) or previous (-1) links from ``args``; the pages' ids."""
    pages = []
    with app.app_context():
        while True:
            query = parse_roster_query({key: str(value) for key, value in args.items()})
            page = roster_page(query)
            pages.append([student.id for student, _ in page.items])
            if (direction > 0 and not page.has_next) or (direction < 0 and not page.has_prev):
                return pages
            args = page_link_args(query, page, page.page + direction)
            if direction > 0:
                assert "after" in args or args.get("page") == page.pages
            assert len(pages) < 20


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("status", ["enrolled", "all"])
def test_next_and_previous_links_visit_every_row_once_in_order(
    roster: Flask, sort: str, status: str
) -> None:
    expected = ids(roster, RosterQuery(sort=sort, status=status))
    forwards = walk(roster, {"sort": sort, "status": status, "per_page": 4}, 1)
    assert [i for page in forwards for i in page] == expected
    last = len(forwards)
    backwards = walk(roster, {"sort": sort, "status": status, "per_page": 4, "page": last}, -1)
    assert backwards == forwards[::-1]


@pytest.mark.parametrize("sort", ["name", "-birthday", "grade"])
def test_page_numbers_near_the_current_page_skip_from_its_rows(roster: Flask, sort: str) -> None:
    with roster.app_context():
        by_number = {
            n: [s.id for s, _ in roster_page(RosterQuery(sort=sort, page=n, per_page=3)).items]
            for n in range(1, 8)
        }
        query = RosterQuery(sort=sort, page=4, per_page=3)
        page = roster_page(query)
        for target in (2, 3, 5, 6):
            args = page_link_args(query, page, target)
            assert "after" in args or "before" in args
            linked = roster_page(parse_roster_query({k: str(v) for k, v in args.items()}))
            assert [s.id for s, _ in linked.items] == by_number[target], target


def test_a_cursor_whose_student_is_gone_falls_back_to_the_page_number(roster: Flask) -> None:
    with roster.app_context():
        by_number = [s.id for s, _ in roster_page(RosterQuery(page=2, per_page=4)).items]
        gone = roster_page(parse_roster_query({"page": "2", "per_page": "4", "after": "9999"}))
        assert [s.id for s, _ in gone.items] == by_number


def statements_of(app: Flask, client: FlaskClient, url: str) -> list[str]:
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

        def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
            if statement.split()[0].upper() not in {"BEGIN", "COMMIT", "ROLLBACK"}:
                statements.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            response = client.get(url)
        finally:
            event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200
    return statements


def test_a_page_costs_the_same_statements_at_any_depth(roster: Flask, client: FlaskClient) -> None:
    first = statements_of(roster, client, "/students/?per_page=2")
    second = statements_of(roster, client, "/students/?per_page=2&page=2&after=1")
    deep = statements_of(roster, client, "/students/?per_page=2&page=9&after=17&skip=1")
    last = statements_of(roster, client, "/students/?per_page=2&page=11")
    # The account, the current year, the kept count, the page, the year's homerooms (the
    # bulk actions' choices); a keyset page also reads the row it continues from.
    assert len(first) == 5, first
    assert len(last) == 5, last
    assert len(second) == len(deep) == 6, deep
    assert not any("OFFSET" in s.upper() and "LIMIT" not in s.upper() for s in deep)
    assert "count(*)" not in " ".join(first).lower()  # the total is the kept count
