"""Every table the SQLAlchemy tutorial's scripts make is taken over, and given back.

The lesson (see ``tests/tutorial_db.py``) makes its ``students`` table from the seed
article's model or from the CRUD chapter's, with any subset of that chapter's three
constraints and with or without the name index; then a learner adds, bulk-saves,
updates, merges and deletes students, among them the lesson's own Albert Einstein (born
1879). On each such database, on SQLite and PostgreSQL:

* ``flask db upgrade`` takes the table over with zero manual edits, keeping every row
  value for value (dates to the day), and leaves the schema of a database migrated from
  empty, ``flask db check`` clean: the lesson's constraints and index are replaced by the
  app's named equivalents;
* emails that the lesson's case-sensitive ``unique_email`` let through but the app's
  case-insensitive index cannot take stop the upgrade cleanly, naming the rows;
* a table that only looks like the lesson's is still refused, listing the differences;
* ``flask db downgrade 0001`` gives back a table the lesson's own script reads and
  writes (``query(Student).all()``, ``add``, ``merge``, ``commit``), with every row, and
  the upgrade takes it over again.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.util import CommandError
from sqlalchemy.orm import Session

from tests.migration_helpers import (
    HEAD,
    Database,
    alembic_config,
    app_context_on,
    flask_cli,
    run,
)
from tests.tutorial_db import (
    EINSTEIN,
    TURING,
    Student,
    lesson_model,
    lesson_session,
    make_tutorial_db,
    read_tutorial_rows,
)
from webapp.extensions import db
from webapp.models import Student as AppStudent

#: Each subset of the CRUD chapter's constraints, with and without the name index; the
#: empty one is the seed article's model itself.
VARIANTS = [
    pytest.param(constraints + index, id="+".join(constraints + index) or "seed-article")
    for index in [(), ("name_index",)]
    for size in range(4)
    for constraints in itertools.combinations(("id_pk", "unique_email", "grade_check"), size)
]

#: Students the learner adds with ``add_all``: 19th-century birthdays, emails in mixed
#: case and none at all.
LEARNERS_STUDENTS: list[dict[str, Any]] = [
    {
        "name": "Marie Curie",
        "email": "Marie.Curie@Sorbonne.FR",
        "grade": 9,
        "birthday": datetime(1867, 11, 7),
    },
    {"name": "Ada Lovelace", "grade": 5, "birthday": datetime(1815, 12, 10, 8, 30)},
    {"name": "Grace Hopper", "grade": 7},
    {"name": "Emmy Noether", "email": "emmy@example.org", "grade": 10},
]

#: A student the learner merges in under an id of their choosing.
KATHERINE = {
    "id": 10,
    "name": "Katherine Johnson",
    "email": "KJohnson@NASA.gov",
    "grade": 8,
    "birthday": datetime(1918, 8, 26),
}


def model_of(variant: tuple[str, ...]) -> Any:
    """The lesson's model for ``variant``: the seed article's verbatim for none."""
    return lesson_model(*variant) if variant else Student


def learners_script(session: Session, model: Any) -> None:
    """What a learner of the lesson runs against the file: its verbs, in its order.

    ``add`` and ``commit`` (Einstein), ``bulk_save_objects`` (Turing), ``add_all``, the
    lesson's "every student moves up a grade", ``merge`` of an existing row (a change of
    email) and of a new one (an id of the learner's choosing), then ``delete``.
    """
    session.add(model(**EINSTEIN))
    session.commit()
    session.bulk_save_objects([model(**TURING)])
    session.commit()
    session.add_all([model(**row) for row in LEARNERS_STUDENTS])
    session.commit()
    for student in session.query(model):
        student.grade += 1
    session.commit()
    turing = session.query(model).filter(model.name == "Alan Turing").one()
    session.merge(model(id=turing.id, email="Alan.Turing@Sherborne.EDU"))
    session.merge(model(**KATHERINE))
    session.commit()
    session.delete(session.query(model).filter(model.name == "Grace Hopper").one())
    session.commit()


def make_learners_db(database: Database, variant: tuple[str, ...]) -> list[dict[str, Any]]:
    """The lesson's table of ``variant`` after the learner's script; its rows as read back."""
    model = model_of(variant)
    make_tutorial_db(database.url, [], model)
    with lesson_session(database.url) as session:
        learners_script(session, model)
    return read_tutorial_rows(database.url, model)


def at_head(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What the app stores for the lesson's ``rows``: dates to the day, blank emails NULL."""
    return [
        (
            row["id"],
            row["name"],
            (row["email"] or "").strip() or None,
            row["grade"],
            row["birthday"] and row["birthday"].date(),
            row["enrolled_date"].date(),
        )
        for row in rows
    ]


HEAD_COLUMNS = sa.text(
    "SELECT id, name, email, grade, birthday, enrolled_on FROM students ORDER BY id"
).columns(birthday=sa.Date(), enrolled_on=sa.Date())


#: The name each of the lesson's ``__table_args__`` gives the database.
LESSON_NAMES = {
    "id_pk": "id_pk",
    "unique_email": "unique_email",
    "grade_check": "grade_between_1_and_12",
    "name_index": "index_name",
}


def lesson_schema_names(database: Database) -> set[str]:
    """Every name of the lesson's constraints and index the students table still has."""
    schema = database.schema()
    table = schema["tables"]["students"]
    names = {table["primary key"][0], *table["checks"], *schema["indexes"]}
    names |= {name for name, _ in table["unique"]}
    return names & set(LESSON_NAMES.values())


# --- every variant is taken over -------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_lesson_table_is_taken_over_keeping_every_row(
    empty: Database, migrated: Database, variant: tuple[str, ...]
) -> None:
    rows = make_learners_db(empty, variant)
    assert [row["name"] for row in rows] == [
        "Albert Einstein",
        "Alan Turing",
        "Marie Curie",
        "Ada Lovelace",
        "Emmy Noether",
        "Katherine Johnson",
    ]
    assert rows[0]["birthday"] == datetime(1879, 3, 14)
    assert lesson_schema_names(empty) == {LESSON_NAMES[name] for name in variant}

    run(empty, "upgrade", "head")

    assert empty.current_revision() == HEAD
    assert empty.query(HEAD_COLUMNS) == at_head(rows)
    # The lesson's constraints and index are gone, the app's named equivalents there:
    # the same schema as a database migrated from empty.
    assert lesson_schema_names(empty) == set()
    assert empty.schema() == migrated.schema()
    with app_context_on(empty):
        command.check(alembic_config())  # raises AutogenerateDiffsDetected on drift


def test_new_students_never_get_an_id_the_learner_merged_in(empty: Database) -> None:
    """The learner's ``merge`` stored id 10, which PostgreSQL's sequence never handed out."""
    make_learners_db(empty, ("id_pk",))
    run(empty, "upgrade", "head")

    with app_context_on(empty):
        for number in range(6):
            db.session.add(AppStudent(name=f"New {number}", grade=5))
        db.session.commit()
        ids = db.session.scalars(sa.select(AppStudent.id).order_by(AppStudent.id)).all()

    assert ids == [1, 2, 3, 4, 6, 10, 11, 12, 13, 14, 15, 16]


def test_the_lesson_table_is_taken_over_through_the_cli_as_the_readme_says(
    empty: Database,
) -> None:
    rows = make_learners_db(empty, ("id_pk", "unique_email", "grade_check", "name_index"))

    upgraded = flask_cli(empty, "db", "upgrade")
    checked = flask_cli(empty, "db", "check")

    assert upgraded.returncode == 0, upgraded.stderr
    assert empty.query(HEAD_COLUMNS) == at_head(rows)
    assert checked.returncode == 0, checked.stderr
    assert "No new upgrade operations detected." in checked.stdout


def test_the_lesson_table_is_the_seed_articles_at_the_takeover_revision(
    empty: Database, new_database: Any
) -> None:
    seed = new_database()
    make_tutorial_db(seed.url, [])
    make_learners_db(empty, ("id_pk", "unique_email", "grade_check", "name_index"))

    run(empty, "upgrade", "0001")

    assert empty.schema() == seed.schema()


# --- unique_email is case-sensitive; the app's index is not ------------------------------


def test_emails_differing_only_in_case_stop_the_upgrade_naming_the_rows(
    empty: Database,
) -> None:
    model = lesson_model("id_pk", "unique_email", "grade_check")
    make_tutorial_db(
        empty.url,
        [
            EINSTEIN,
            {**TURING, "email": "Albert.Einstein@Zurich.edu"},  # unique_email lets it in
            {"name": "Grace Hopper", "grade": 7},
        ],
        model,
    )
    before = empty.snapshot()

    with pytest.raises(CommandError) as error:
        run(empty, "upgrade", "head")

    assert "id 1, 2 share 'albert.einstein@zurich.edu'" in str(error.value)
    assert "UPDATE students SET email = NULL WHERE id IN (2);" in str(error.value)
    assert empty.snapshot() == before
    assert empty.current_revision() is None

    empty.execute("UPDATE students SET email = 'alan.turing@sherborne.edu' WHERE id = 2")
    run(empty, "upgrade", "head")

    assert empty.current_revision() == HEAD
    assert "uq_students_email_lower" in empty.indexes()
    with pytest.raises(sa.exc.IntegrityError):
        empty.execute("UPDATE students SET email = 'ALAN.TURING@sherborne.edu' WHERE id = 1")


# --- a table that only looks like the lesson's -----------------------------------------


@pytest.mark.parametrize(
    ("ddl", "differences"),
    [
        pytest.param(
            [
                "CREATE TABLE students (id INTEGER PRIMARY KEY, name VARCHAR,"
                " email VARCHAR(100), grade INTEGER, birthday TIMESTAMP, nickname VARCHAR)"
            ],
            [
                "missing column(s): enrolled_date",
                "unexpected column(s): nickname",
                "column email is VARCHAR(100), expected VARCHAR(55)",
            ],
            id="other-columns",
        ),
        pytest.param(
            [
                "CREATE TABLE students (id INTEGER NOT NULL, name VARCHAR, email VARCHAR(55),"
                " grade INTEGER, birthday TIMESTAMP, enrolled_date TIMESTAMP,"
                " CONSTRAINT id_pk PRIMARY KEY (id),"
                " CONSTRAINT unique_email UNIQUE (name),"
                " CONSTRAINT grade_between_1_and_12 CHECK (grade BETWEEN 0 AND 12),"
                " CONSTRAINT nickname_check CHECK (length(name) > 1))",
                "CREATE UNIQUE INDEX index_name ON students (name)",
                "CREATE INDEX ix_email ON students (email)",
            ],
            [
                "unexpected unique constraint unique_email",
                "unexpected check constraint grade_between_1_and_12",
                "unexpected check constraint nickname_check",
                "unexpected index index_name",
                "unexpected index ix_email",
            ],
            id="the-lessons-names-on-other-things",
        ),
    ],
)
def test_a_table_that_is_not_the_lessons_is_refused_listing_the_differences(
    empty: Database, ddl: list[str], differences: list[str]
) -> None:
    empty.execute(*ddl, "INSERT INTO students (id, name, grade) VALUES (1, 'Ann', 5)")
    before = empty.snapshot()

    with pytest.raises(CommandError) as error:
        run(empty, "upgrade", "head")

    assert "not the SQLAlchemy tutorial's table" in str(error.value)
    for difference in differences:
        assert difference in str(error.value)
    assert empty.snapshot() == before
    assert empty.current_revision() is None


# --- the way back ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param((), id="seed-article"),
        pytest.param(("id_pk", "unique_email", "grade_check", "name_index"), id="crud-chapter"),
    ],
)
def test_downgrade_to_the_takeover_revision_gives_the_lesson_its_table_back(
    empty: Database, variant: tuple[str, ...]
) -> None:
    rows = make_learners_db(empty, variant)
    run(empty, "upgrade", "head")
    # A student typed into the app meanwhile, born in the 19th century too.
    empty.execute(
        "INSERT INTO students (name, email, grade, birthday, enrolled_on, created_at, updated_at)"
        " VALUES ('Srinivasa Ramanujan', 'ramanujan@example.org', 11, '1887-12-22',"
        " '2025-09-01', '2026-01-01', '2026-01-01')"
    )

    downgraded = flask_cli(empty, "db", "downgrade", "0001")

    assert downgraded.returncode == 0, downgraded.stderr
    assert empty.current_revision() == "0001"
    # A copy of the lesson's script: its model, create_all, query(...).all(), add, merge.
    model = model_of(variant)
    engine = sa.create_engine(empty.url)
    model.metadata.create_all(engine)  # the lesson's script starts with it: a no-op now
    engine.dispose()
    with lesson_session(empty.url) as session:
        students = sorted(session.query(model).all(), key=lambda student: student.id)
        assert [(s.name, s.birthday) for s in students] == [
            *((row["name"], row["birthday"] and midnight(row["birthday"])) for row in rows),
            ("Srinivasa Ramanujan", datetime(1887, 12, 22)),
        ]
        assert all(s.enrolled_date == midnight(s.enrolled_date) for s in students)
        session.add(model(name="Dorothy Vaughan", email="dorothy@example.org", grade=9))
        session.merge(model(id=students[0].id, grade=7))
        session.merge(model(id=40, name="Mary Jackson", grade=10))
        session.commit()
    read_back = read_tutorial_rows(empty.url, model)
    assert len(read_back) == len(rows) + 3
    assert read_back[0]["grade"] == 7
    assert [row["name"] for row in read_back[-2:]] == ["Dorothy Vaughan", "Mary Jackson"]

    # And the app takes it over again, every row with it; its next id follows 40.
    run(empty, "upgrade", "head")

    assert empty.query(HEAD_COLUMNS) == at_head(read_back)
    with app_context_on(empty):
        db.session.add(AppStudent(name="Next", grade=5))
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.max(AppStudent.id))) == 41


def midnight(value: datetime) -> datetime:
    """``value`` at midnight: the downgrade gives DATE values back as DATETIMEs."""
    return datetime.combine(value.date(), datetime.min.time())


def test_downgrade_keeps_einsteins_birthday_to_the_day(empty: Database) -> None:
    make_tutorial_db(empty.url, [EINSTEIN], lesson_model("grade_check"))
    run(empty, "upgrade", "head")

    run(empty, "downgrade", "0001")

    (row,) = read_tutorial_rows(empty.url, lesson_model("grade_check"))
    assert row["birthday"] == datetime(1879, 3, 14)
    assert row["enrolled_date"].date() <= date.today()
