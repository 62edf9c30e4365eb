"""The roster page with nothing but a database driver and Jinja: the benchmarks' floor.

``gunicorn -w 2 bench.peers.raw:app`` with ``PEER_DATABASE_URL`` set to ``sqlite:///PATH``
(the ``sqlite3`` module) or ``postgresql://...`` (``psycopg``, the same driver as the app).
``GET /`` answers 25 students in the roster's default order (name, then id) as an HTML
table; ``count=1`` adds the ``SELECT COUNT(*)`` a "Showing 1-25 of N" line needs;
``page=N`` pages by OFFSET as the app does; ``q=TEXT`` filters on name and email
containing the text, ignoring case, as the app's plain substring search does.

One connection per worker process, opened on its first request (after gunicorn forks).
When the roster's model changes, change :data:`COLUMNS` and :data:`FROM` to read what
the app's roster reads (today: students joined with the current year's enrollment).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, select_autoescape

PER_PAGE = 25
#: The columns the roster shows, and the rows it reads them from: the students enrolled
#: in the current school year, with that year's grade (the roster's default view).
COLUMNS = "s.id, s.name, s.email, e.grade, s.birthday, s.enrolled_on"
#: The rows, as the app reads them (``webapp.students.roster``). On SQLite its plan:
#: students in name order, each one's enrollment looked up (an inner join would let
#: SQLite's planner read the whole year's enrollments and sort them, and the peer would
#: measure that instead). On PostgreSQL an inner join, as the app's.
FROM = {
    "?": (
        "students s LEFT JOIN enrollments e ON e.student_id = s.id"
        " AND e.school_year_id = (SELECT id FROM school_years WHERE is_current)"
        " WHERE coalesce(e.status, '') = 'enrolled'"
    ),
    "%s": (
        "students s JOIN enrollments e ON e.student_id = s.id"
        " AND e.school_year_id = (SELECT id FROM school_years WHERE is_current)"
        " WHERE e.status = 'enrolled'"
    ),
}
ORDER = "ORDER BY s.name, s.id"

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(),
)
_connection: Any = None


def _connect() -> tuple[Any, str]:
    """This process's connection and its parameter style (``?`` or ``%s``)."""
    global _connection
    url = os.environ["PEER_DATABASE_URL"]
    if url.startswith("sqlite:///"):
        if _connection is None:
            _connection = sqlite3.connect(url.removeprefix("sqlite:///"), check_same_thread=False)
            # The app's page cache (webapp.database.SQLITE_CACHE_KIB).
            _connection.execute("PRAGMA cache_size=-65536")
        return _connection, "?"
    import psycopg

    if _connection is None or _connection.closed:
        _connection = psycopg.connect(url, autocommit=True)
    return _connection, "%s"


def roster(query: dict[str, list[str]]) -> str:
    """The page for the query-string arguments ``query`` (see the module's docstring)."""
    connection, mark = _connect()
    q = query.get("q", [""])[0].strip().lower()
    try:
        page = max(int(query.get("page", ["1"])[0]), 1)
    except ValueError:
        page = 1
    count = query.get("count", [""])[0] == "1"
    where, parameters = "", []
    if q:
        where = f" AND (lower(s.name) LIKE {mark} OR lower(s.email) LIKE {mark})"
        parameters = [f"%{q}%", f"%{q}%"]
    rows = connection.execute(
        f"SELECT {COLUMNS} FROM {FROM[mark]}{where} {ORDER} LIMIT {PER_PAGE} OFFSET {mark}",
        [*parameters, (page - 1) * PER_PAGE],
    ).fetchall()
    total = None
    if count:
        # Without a search, the count a raw page would make: the year's enrolled
        # students, by the enrollments' (year, status) index; with one, the join's.
        counting = (
            f"SELECT COUNT(*) FROM {FROM[mark]}{where}"
            if q
            else "SELECT COUNT(*) FROM enrollments WHERE status = 'enrolled'"
            " AND school_year_id = (SELECT id FROM school_years WHERE is_current)"
        )
        total = connection.execute(counting, parameters).fetchone()[0]
    return TEMPLATES.get_template("roster.html").render(
        rows=rows, total=total, page=page, first=(page - 1) * PER_PAGE + 1, q=q, count=count
    )


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The WSGI application: ``/`` is the roster, anything else 404."""
    if environ.get("PATH_INFO", "/") != "/":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    body = roster(parse_qs(environ.get("QUERY_STRING", ""))).encode()
    start_response(
        "200 OK",
        [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]
