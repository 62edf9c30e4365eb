"""A database the SQLAlchemy tutorial made, taken over and edited in a real browser.

The lesson's CRUD chapter (all three of its constraints, and its name index in
``__table_args__``) makes the file and adds its sample students, Albert Einstein (born
1879) and Alan Turing; gunicorn is started on it the way production starts, so its
``flask db upgrade`` is the takeover. Then a secretary changes Einstein's grade and
nothing else, and types in another 19th-century student, confirming the birthday
warning (a page state checked with axe-core).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from bench.server import Server, ServerError, gunicorn_server
from tests.browser.conftest import log_in, open_page, take_screenshot
from tests.tutorial_db import EINSTEIN, TURING, lesson_model, make_tutorial_db

pytestmark = pytest.mark.browser

#: The CRUD chapter's model, every constraint and the index in the table.
CRUD_CHAPTER = lesson_model("id_pk", "unique_email", "grade_check", "name_index")

STORED_COLUMNS = sa.text(
    "SELECT id, name, email, grade, birthday, enrolled_on, version FROM students ORDER BY id"
).columns(birthday=sa.Date(), enrolled_on=sa.Date())


@pytest.fixture(scope="module")
def tutorial_database_url(
    request: pytest.FixtureRequest, database_backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The lesson's database with its two sample students, not yet taken over."""
    if database_backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('tutorial') / 'students.db'}"
        make_tutorial_db(url, [EINSTEIN, TURING], CRUD_CHAPTER)
        yield url
        return
    server = request.getfixturevalue("postgres")
    name = server.new_name("tutorial")
    url = server.create_database(name)
    make_tutorial_db(url, [EINSTEIN, TURING], CRUD_CHAPTER)
    yield url
    server.drop_database(name)


@pytest.fixture(scope="module")
def tutorial_server(
    tmp_path_factory: pytest.TempPathFactory, tutorial_database_url: str
) -> Iterator[Server]:
    """gunicorn on the lesson's database, after ``flask db upgrade`` took it over."""
    log_path = tmp_path_factory.mktemp("tutorial_server") / "gunicorn.log"
    try:
        with gunicorn_server(tutorial_database_url, log_path, workers=1) as server:
            yield server
    except ServerError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture
def tutorial_page(browser: Browser, tutorial_server: Server) -> Iterator[Page]:
    """A fresh page on the taken-over server."""
    with open_page(browser, tutorial_server) as page:
        yield page


def stored(url: str) -> list[tuple[Any, ...]]:
    """Every student as stored, by id."""
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(STORED_COLUMNS)]
    finally:
        engine.dispose()


def save(page: Page) -> int:
    """Press Save and return the HTTP status of the POST."""
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name="Save", exact=True).click()
    return posted.value.status


def test_the_takeover_kept_the_lessons_rows(tutorial_server: Server) -> None:
    rows = stored(tutorial_server.database_url)

    assert [(row[1], row[4]) for row in rows[:2]] == [
        ("Albert Einstein", date(1879, 3, 14)),
        ("Alan Turing", date(1912, 6, 23)),
    ]


def test_changing_only_the_grade_of_a_taken_over_record_saves(
    tutorial_page: Page, tutorial_server: Server
) -> None:
    page = tutorial_page
    before = {row[0]: row for row in stored(tutorial_server.database_url)}
    einstein = next(row for row in before.values() if row[1] == "Albert Einstein")
    log_in(page, "editor")

    page.goto(f"/students/{einstein[0]}/edit")
    expect(page.get_by_label("Birthday")).to_have_value("1879-03-14")
    page.get_by_label("Grade").fill("7")
    status = save(page)

    assert status in {302, 303}
    expect(page).to_have_url(re.compile(rf"/students/{einstein[0]}$"))
    expect(page.locator(".flash")).to_contain_text("Saved the changes to Albert Einstein.")
    take_screenshot(page, "tutorial-einstein-saved")
    after = {row[0]: row for row in stored(tutorial_server.database_url)}
    # Only the grade (and the version counter) changed; every legacy value as it was.
    assert after[einstein[0]] == (*einstein[:3], 7, *einstein[4:6], einstein[6] + 1)
    assert {k: v for k, v in after.items() if k != einstein[0]} == {
        k: v for k, v in before.items() if k != einstein[0]
    }


def test_a_19th_century_student_is_typed_in_after_confirming_the_birthday(
    tutorial_page: Page, tutorial_server: Server
) -> None:
    page = tutorial_page
    log_in(page, "editor")
    page.goto("/students/new")
    page.get_by_label("Name", exact=True).fill("Marie Curie")
    page.get_by_label("Email", exact=True).fill("marie.curie@sorbonne.fr")
    page.get_by_label("Grade").fill("9")
    page.get_by_label("Birthday").fill("1867-11-07")
    page.get_by_label("Enrollment date").fill("2024-09-02")

    assert save(page) == 422

    warning = page.get_by_role("alert")
    expect(warning).to_contain_text("Please check this date")
    expect(warning).to_contain_text("Born on 7 November 1867, the student was 156 years old")
    expect(warning).to_be_focused()
    expect(page.get_by_label("Birthday", exact=True)).to_have_value("1867-11-07")
    take_screenshot(page, "tutorial-birthday-warning")
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()

    page.get_by_label("Yes, this birthday is right").check()
    assert save(page) in {302, 303}

    expect(page).to_have_url(re.compile(r"/students/\d+$"))
    rows = stored(tutorial_server.database_url)
    assert [row[1:5] for row in rows if row[1] == "Marie Curie"] == [
        ("Marie Curie", "marie.curie@sorbonne.fr", 9, date(1867, 11, 7))
    ]
