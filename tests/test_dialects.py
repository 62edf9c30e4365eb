"""Where SQLite and PostgreSQL could answer the roster's queries differently.

The suite runs on both databases (see ``tests/conftest.py``); the tests here pin the
behaviour where the two dialects are known to differ: ``lower()`` (SQLite folds ASCII
letters only), ``LIKE`` wildcards in search text, NULL ordering, integer range of
``OFFSET``, and the wording of a unique-index violation, which the service inspects.
"""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask

from tests.helpers import add_student
from webapp.models import Student
from webapp.students import service
from webapp.students.roster import roster_page
from webapp.students.roster_query import RosterQuery, parse_roster_query


def names(app: Flask, **query: object) -> list[str]:
    """The names on the roster page for ``query``, in order."""
    with app.app_context():
        return [s.name for s, _ in roster_page(RosterQuery(**query)).items]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        pytest.param("ANN", ["Ann Lee", "Joanna Ng"], id="ascii-any-case"),
        pytest.param("lee@EXAMPLE", ["Ann Lee"], id="email-any-case"),
        pytest.param("100%", ["100% Sure"], id="percent-is-literal"),
        pytest.param("a_b", ["a_b Smith"], id="underscore-is-literal"),
        pytest.param("Zoë", ["Zoë Kim"], id="non-ascii-same-case"),
    ],
)
def test_search_is_case_insensitive_and_literal(app: Flask, q: str, expected: list[str]) -> None:
    add_student(app, name="Ann Lee", email="ann.lee@example.org")
    add_student(app, name="Joanna Ng")
    add_student(app, name="100% Sure")
    add_student(app, name="100 Percent")
    add_student(app, name="a_b Smith")
    add_student(app, name="axb Smith")
    add_student(app, name="Zoë Kim")

    assert names(app, q=q) == expected


@pytest.mark.postgres_only
def test_search_folds_non_ascii_case_on_postgresql(app: Flask) -> None:
    add_student(app, name="ÉLODIE Durand")

    assert names(app, q="élodie") == ["ÉLODIE Durand"]


@pytest.mark.sqlite_only
def test_search_folds_only_ascii_case_on_sqlite(app: Flask) -> None:
    """SQLite's built-in lower() leaves non-ASCII letters alone: a known limitation."""
    add_student(app, name="ÉLODIE Durand")

    assert names(app, q="élodie") == []
    assert names(app, q="Élodie") == ["ÉLODIE Durand"]


def test_empty_emails_and_birthdays_sort_last_both_ways(app: Flask) -> None:
    add_student(app, name="None")
    add_student(app, name="Late", email="z@x.org", birthday=date(2015, 1, 1))
    add_student(app, name="Early", email="a@x.org", birthday=date(2010, 1, 1))

    for key in ("email", "birthday"):
        assert names(app, sort=key) == ["Early", "Late", "None"]
        assert names(app, sort=f"-{key}") == ["Late", "Early", "None"]


def test_equal_values_page_in_id_order(app: Flask) -> None:
    ids = [add_student(app, name="Same Name") for _ in range(5)]

    with app.app_context():
        pages = [
            [s.id for s, _ in roster_page(RosterQuery(page=page, per_page=2)).items]
            for page in (1, 2, 3)
        ]

    assert pages == [ids[0:2], ids[2:4], ids[4:5]]


@pytest.mark.parametrize("page", ["368934881474191034", str(2**63), "9" * 4000])
def test_huge_page_number_shows_the_last_page(app: Flask, page: str) -> None:
    """Such an OFFSET overflowed: "bigint out of range" on PostgreSQL, OverflowError on SQLite."""
    add_student(app, name="Ann Lee")

    with app.app_context():
        result = roster_page(parse_roster_query({"page": page}))

    assert [s.name for s, _ in result.items] == ["Ann Lee"]
    assert result.page == 1


def test_duplicate_email_in_other_case_is_reported_as_such(app: Flask) -> None:
    """The service recognises the unique-index violation by each database's wording."""
    add_student(app, name="Ann Lee", email="ann@example.org")

    with app.app_context(), pytest.raises(service.DuplicateEmailError):
        service.save_student(
            Student(), {"name": "Ann Other", "email": "ANN@example.org", "grade": 5}
        )
