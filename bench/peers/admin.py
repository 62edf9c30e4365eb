"""Flask-Admin's ``ModelView`` list of the ``students`` table, as the benchmarks' peer.

``gunicorn -w 2 bench.peers.admin:app`` with ``PEER_DATABASE_URL`` (``sqlite:///PATH`` or
``postgresql://...``). ``GET /admin/students/`` is the list: 25 rows a page, sorted by
name then id as the roster is, with Flask-Admin's own total count and pager; no login
(Flask-Admin has none of its own), which only flatters it.

The table is reflected (SQLAlchemy's automap), so the peer follows the schema the
migrations made; :data:`LIST_COLUMNS` are the roster's columns.
"""

from __future__ import annotations

import os
import secrets
import warnings

from flask import Flask, redirect
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from sqlalchemy import create_engine
from sqlalchemy.ext.automap import automap_base
from sqlalchemy.orm import scoped_session, sessionmaker

LIST_COLUMNS = ["name", "email", "grade", "birthday", "enrolled_on"]


def _sqlalchemy_url(url: str) -> str:
    """``postgresql://`` -> ``postgresql+psycopg://`` (the driver installed); others as given."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def create_app(database_url: str) -> Flask:
    """The Flask app with Flask-Admin's list of ``students`` at ``/admin/students/``."""
    engine = create_engine(_sqlalchemy_url(database_url))
    base = automap_base()
    with warnings.catch_warnings():
        # The unique index on lower(email) is an expression SQLAlchemy does not reflect.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection")
        base.prepare(autoload_with=engine, reflection_options={"only": ["students"]})
    student = base.classes.students
    session = scoped_session(sessionmaker(bind=engine))
    shown = [column for column in LIST_COLUMNS if column in student.__table__.c]

    class StudentView(ModelView):
        page_size = 25
        can_set_page_size = False
        column_list = shown
        column_default_sort = [("name", False), ("id", False)]

    app = Flask(__name__)
    app.config["SECRET_KEY"] = secrets.token_hex(16)
    admin = Admin(app, name="Students")
    admin.add_view(StudentView(student, session, name="Students", endpoint="students"))

    @app.teardown_appcontext
    def remove_session(_error: BaseException | None) -> None:
        session.remove()

    @app.get("/")
    def index():  # type: ignore[no-untyped-def]
        return redirect("/admin/students/")

    return app


app = create_app(os.environ["PEER_DATABASE_URL"]) if "PEER_DATABASE_URL" in os.environ else None
