"""Make a ``students.db`` exactly the way the SQLAlchemy tutorial's scripts do.

The tutorial is Flatiron School's SQLAlchemy lesson (``learn-co-curriculum``'s
``python-p3-crud-with-sqlalchemy``, "Create, Read, Update, and Delete with SQLAlchemy",
and the seed article before it). The migrations start from the database its code leaves
behind (see ``migrations/versions/0001_tutorial_schema.py``), so the takeover tests build
one with the lesson's own code: its own declarative base, ``create_all``, ``add``,
``add_all``, ``bulk_save_objects``, ``merge``, ``delete``, ``commit``.

* :class:`Student` is the seed article's model, verbatim. Its two bugs are kept on
  purpose: the ``Index`` in the class body never reaches the database, and
  ``default=datetime.now()`` is evaluated once, at import.
* :func:`lesson_model` is the CRUD chapter's model with any subset of its
  ``__table_args__`` (``PrimaryKeyConstraint('id', name='id_pk')``,
  ``UniqueConstraint('email', name='unique_email')``, ``CheckConstraint('grade BETWEEN 1
  AND 12', name='grade_between_1_and_12')``), and the ``Index('index_name', 'name')`` a
  learner moves into ``__table_args__``, where it does reach the table.
* :data:`EINSTEIN` and :data:`TURING` are the lesson's sample students.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
    create_engine,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, declarative_base, sessionmaker

Base = declarative_base()


class Student(Base):  # type: ignore[valid-type, misc]
    """The tutorial's model, verbatim."""

    __tablename__ = "students"
    Index("index_name", "name")  # in the class body: never reaches the database
    id = Column(Integer(), primary_key=True)
    name = Column(String())
    email = Column(String(55))
    grade = Column(Integer())
    birthday = Column(DateTime())
    enrolled_date = Column(DateTime(), default=datetime.now())  # evaluated once (the bug)


def _engine(target: Path | str) -> Engine:
    """An engine on ``target``: a SQLite file's path, or a database URL (PostgreSQL)."""
    return create_engine(target if isinstance(target, str) else f"sqlite:///{target}")


#: The lesson's sample students, as its CRUD chapter creates them.
EINSTEIN: dict[str, Any] = {
    "name": "Albert Einstein",
    "email": "albert.einstein@zurich.edu",
    "grade": 6,
    "birthday": datetime(year=1879, month=3, day=14),
}
TURING: dict[str, Any] = {
    "name": "Alan Turing",
    "email": "alan.turing@sherborne.edu",
    "grade": 11,
    "birthday": datetime(year=1912, month=6, day=23),
}

#: The CRUD chapter's ``__table_args__``, by the name the tests use for each.
LESSON_TABLE_ARGS = {
    "id_pk": lambda: PrimaryKeyConstraint("id", name="id_pk"),
    "unique_email": lambda: UniqueConstraint("email", name="unique_email"),
    "grade_check": lambda: CheckConstraint("grade BETWEEN 1 AND 12", name="grade_between_1_and_12"),
    "name_index": lambda: Index("index_name", "name"),
}


def lesson_model(*table_args: str) -> Any:
    """The CRUD chapter's ``Student``, on a declarative base of its own.

    Args:
        table_args: which of :data:`LESSON_TABLE_ARGS` its ``__table_args__`` holds; none
            gives the seed article's table. With ``id_pk`` the ``id`` column is declared
            ``Column(Integer())`` as the chapter does (the constraint makes it the key).

    Returns:
        The model class; its table is ``Model.__table__``, its metadata
        ``Model.metadata``.
    """
    base = declarative_base()
    namespace: dict[str, Any] = {
        "__tablename__": "students",
        "__table_args__": tuple(LESSON_TABLE_ARGS[name]() for name in table_args),
        "id": Column(Integer()) if "id_pk" in table_args else Column(Integer(), primary_key=True),
        "name": Column(String()),
        "email": Column(String(55)),
        "grade": Column(Integer()),
        "birthday": Column(DateTime()),
        "enrolled_date": Column(DateTime(), default=datetime.now()),  # once, as the lesson
    }
    return type("Student", (base,), namespace)


@contextmanager
def lesson_session(target: Path | str) -> Iterator[Session]:
    """A session as the lesson makes one (``sessionmaker(bind=engine)()``), closed after."""
    engine = _engine(target)
    session = sessionmaker(bind=engine)()
    try:
        yield session
    finally:
        session.close()
        engine.dispose()


def make_tutorial_db(target: Path | str, rows: list[dict[str, Any]], model: Any = None) -> None:
    """Create the tutorial's table with its ``create_all`` and add ``rows`` as it does.

    Args:
        target: the SQLite file to create, or the URL of an empty database.
        rows: keyword arguments for the tutorial's ``Student``, one dict per row.
        model: the lesson's model to use (:func:`lesson_model`); the seed article's
            :class:`Student` by default.
    """
    model = model or Student
    engine = _engine(target)
    model.metadata.create_all(engine)
    engine.dispose()
    with lesson_session(target) as session:
        session.add_all([model(**row) for row in rows])
        session.commit()


def read_tutorial_rows(target: Path | str, model: Any = None) -> list[dict[str, Any]]:
    """Read every row back through the lesson's model (``query``), ordered by id."""
    model = model or Student
    with lesson_session(target) as session:
        return [
            {column.name: getattr(student, column.name) for column in model.__table__.c}
            for student in session.query(model).order_by(model.id)
        ]
