"""Make a ``students.db`` exactly the way the classic SQLAlchemy tutorial does.

The migrations start from the database this tutorial code leaves behind (see
``migrations/versions/0001_tutorial_schema.py``), so the takeover tests build one with the
tutorial's own code: its own declarative base, ``create_all``, ``add_all``, ``commit``.
Its two bugs are kept on purpose: the ``Index`` in the class body never reaches the
database, and ``default=datetime.now()`` is evaluated once, at import.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, DateTime, Index, Integer, String, create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import declarative_base, sessionmaker

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


def make_tutorial_db(target: Path | str, rows: list[dict[str, Any]]) -> None:
    """Create the tutorial's table with its ``create_all`` and add ``rows`` as it does.

    Args:
        target: the SQLite file to create, or the URL of an empty database.
        rows: keyword arguments for the tutorial's ``Student``, one dict per row.
    """
    engine = _engine(target)
    Base.metadata.create_all(engine)
    session = sessionmaker(bind=engine)()
    session.add_all([Student(**row) for row in rows])
    session.commit()
    session.close()
    engine.dispose()


def read_tutorial_rows(target: Path | str) -> list[dict[str, Any]]:
    """Read every row back through the tutorial's model, ordered by id."""
    engine = _engine(target)
    session = sessionmaker(bind=engine)()
    try:
        return [
            {column.name: getattr(student, column.name) for column in Student.__table__.c}
            for student in session.query(Student).order_by(Student.id)
        ]
    finally:
        session.close()
        engine.dispose()
