"""Shared fixtures: an app on a real, migrated database per test, its client and runner.

The whole suite runs once per database, chosen with ``--db``:

* ``pytest`` (``--db=sqlite``, the default): SQLite files. The schema is built once per
  session by the real migrations (``flask db upgrade``) into a template file, and each
  test gets a copy of that file.
* ``pytest --db=postgresql``: a throwaway PostgreSQL server started for the session (see
  ``tests/postgres.py``; ``TEST_POSTGRESQL_URL`` names your own server instead). A
  template database is migrated once, and each test gets its own database copied from
  it (``CREATE DATABASE ... TEMPLATE``, about 20 ms), dropped afterwards.

``make test`` runs both and prints the counts per database (``--db-summary``).

Tests that only make sense on one database say so with ``@pytest.mark.sqlite_only`` or
``@pytest.mark.postgres_only``; the other run deselects them. ``database_path`` (a SQLite
file) is for ``sqlite_only`` tests; everything else asks for ``database_url`` or ``app``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app
from flask.testing import FlaskClient, FlaskCliRunner
from flask_migrate import upgrade
from jinja2 import MemcachedBytecodeCache
from sqlalchemy import Engine, NullPool, create_engine

from tests.accounts import TEST_HASH_METHOD, StaffClient, add_test_accounts
from tests.postgres import PostgresServer, postgres_server
from tests.redis_server import redis_server
from tests.url_builders import install as cache_url_builders
from webapp import create_app
from webapp.extensions import db
from webapp.import_export import jobs

#: Fixtures of the migration tests: ``empty``, ``new_database``, ``migrated``.
pytest_plugins = ("tests.migration_helpers",)

# Each test makes its own app; its URL rules' builders are compiled once a run.
cache_url_builders()

DATABASES = ("sqlite", "postgresql")

#: Marker of the tests that run on one database only, by database.
ONLY_MARKERS = {"sqlite": "sqlite_only", "postgresql": "postgres_only"}

#: Outcomes in the per-database summary line, in pytest's order.
OUTCOMES = ("passed", "failed", "error", "skipped", "deselected", "xfailed", "xpassed")


# --- choosing the database ---------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--db`` and ``--db-summary``."""
    group = parser.getgroup("database", "database under test")
    group.addoption(
        "--db",
        choices=DATABASES,
        default="sqlite",
        help="run the suite on SQLite files (default) or on a throwaway PostgreSQL server",
    )
    group.addoption(
        "--db-summary",
        metavar="FILE",
        help="append a line '<database>: <counts>' to FILE at the end (used by `make test`)",
    )


#: When the session started, for the summary line.
_started = pytest.StashKey[float]()


def pytest_configure(config: pytest.Config) -> None:
    """Remember when the session started, for the summary line."""
    config.stash[_started] = time.monotonic()


def pytest_report_header(config: pytest.Config) -> str:
    """Say which database the run is on, at the top of the output."""
    return f"database: {config.getoption('db')}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the tests marked for the other database only.

    A test that asks for ``database_path`` works on a SQLite file, so it is marked
    ``sqlite_only`` here even when its author forgot to.
    """
    database = config.getoption("db")
    other = {marker for name, marker in ONLY_MARKERS.items() if name != database}
    keep, drop = [], []
    for item in items:
        if "database_path" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.sqlite_only)
        (drop if any(item.get_closest_marker(m) for m in other) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """Print ``<database>: <counts>``, and append it to ``--db-summary`` when given."""
    counts = [
        f"{len(terminalreporter.stats[outcome])} {outcome}"
        for outcome in OUTCOMES
        if terminalreporter.stats.get(outcome)
    ]
    seconds = time.monotonic() - config.stash[_started]
    line = f"{config.getoption('db')}: {', '.join(counts) or 'no tests ran'} in {seconds:.1f}s"
    terminalreporter.write_sep("-", line, bold=True)
    summary = config.getoption("db_summary")
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


@pytest.fixture(scope="session")
def database_backend(pytestconfig: pytest.Config) -> str:
    """The database this run is on: ``"sqlite"`` or ``"postgresql"``."""
    return pytestconfig.getoption("db")


# --- the app -----------------------------------------------------------------------------


class _TemplateMemory(dict[str, bytes]):
    """A process's compiled templates, as :class:`jinja2.MemcachedBytecodeCache` asks of
    its client (``get`` and ``set``)."""

    def set(self, key: str, value: bytes, timeout: int | None = None) -> None:
        self[key] = value


#: Every test's app has its own Jinja environment, which would parse and compile each
#: template it renders again (about 40% of a request test's time); they share the code.
TEMPLATE_CACHE = MemcachedBytecodeCache(_TemplateMemory())


def make_app(database_url: str, **overrides: object) -> Flask:
    """Create an app for tests on ``database_url`` with CSRF off unless overridden.

    Its ``test_client()`` is logged in as the test admin; pass ``user="editor"``,
    ``"viewer"`` or ``None`` (anonymous) for another (see ``tests/accounts.py``).
    """
    config: dict[str, object] = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "PASSWORD_HASH_METHOD": TEST_HASH_METHOD,
        "RATELIMIT_ENABLED": False,
    }
    config.update(overrides)
    app = create_app(config)
    app.test_client_class = StaffClient
    app.jinja_env.bytecode_cache = TEMPLATE_CACHE
    return app


def migrate_to_head(database_url: str) -> None:
    """Run the real migrations (``flask db upgrade``) on ``database_url``."""
    app = make_app(database_url)
    with app.app_context():
        upgrade()
        db.engine.dispose()


# --- SQLite ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file upgraded to head once per test session."""
    path = tmp_path_factory.mktemp("template") / "students.db"
    migrate_to_head(f"sqlite:///{path}")
    add_test_accounts(f"sqlite:///{path}")
    return path


@pytest.fixture
def database_path(request: pytest.FixtureRequest, tmp_path: Path, database_backend: str) -> Path:
    """A fresh copy of the migrated template for one test (SQLite only)."""
    if database_backend != "sqlite":
        pytest.fail(
            "database_path is a SQLite file: mark the test @pytest.mark.sqlite_only, "
            "or use database_url",
            pytrace=False,
        )
    path = tmp_path / "students.db"
    shutil.copy(request.getfixturevalue("migrated_template"), path)
    return path


# --- PostgreSQL --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres(database_backend: str) -> Iterator[PostgresServer]:
    """The PostgreSQL server of this run, started on first use and removed at the end."""
    if database_backend != "postgresql":
        pytest.fail("this test needs PostgreSQL: mark it @pytest.mark.postgres_only", pytrace=False)
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A throwaway Redis server for the session (``tests/redis_server.py``): its URL."""
    with redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_template(postgres: PostgresServer) -> str:
    """The name of a PostgreSQL database upgraded to head once per test session."""
    name = postgres.new_name("template_head")
    url = postgres.create_database(name)
    migrate_to_head(url)
    add_test_accounts(url)
    return name


# --- either database ---------------------------------------------------------------------


@pytest.fixture
def database_url(request: pytest.FixtureRequest, database_backend: str) -> Iterator[str]:
    """The URL of a fresh database at the migration head, empty, for one test."""
    if database_backend == "sqlite":
        yield f"sqlite:///{request.getfixturevalue('database_path')}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    name = server.new_name()
    yield server.create_database(name, template=request.getfixturevalue("postgres_template"))
    server.drop_database(name)


@pytest.fixture
def empty_database_factory(
    request: pytest.FixtureRequest, database_backend: str, tmp_path: Path
) -> Iterator[Callable[[], str]]:
    """``new()`` returns the URL of another fresh database with nothing in it.

    SQLite: a file name in the test's temporary directory (the file does not exist yet).
    PostgreSQL: a new database, dropped after the test.
    """
    created: list[str] = []
    server: PostgresServer | None = None
    if database_backend == "postgresql":
        server = request.getfixturevalue("postgres")

    def new() -> str:
        if server is None:
            created.append(f"empty_{len(created)}.db")
            return f"sqlite:///{tmp_path / created[-1]}"
        created.append(server.new_name("empty"))
        return server.create_database(created[-1])

    yield new
    if server is not None:
        for name in created:
            server.drop_database(name)


@pytest.fixture
def empty_database_url(empty_database_factory: Callable[[], str]) -> str:
    """The URL of a fresh database with nothing in it, not even ``alembic_version``."""
    return empty_database_factory()


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    """The application on a migrated, empty database, CSRF checks off."""
    app = make_app(database_url)
    yield app
    jobs.wait(60)  # uploads read in the background use the database too
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def csrf_app(database_url: str) -> Iterator[Flask]:
    """The application with CSRF protection on, as in production."""
    app = make_app(database_url, WTF_CSRF_ENABLED=True)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for ``app``."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """A CLI runner for ``app``'s ``flask`` commands."""
    return app.test_cli_runner()


# --- pytest-alembic ----------------------------------------------------------------------
#
# pytest-alembic's standard tests (single head revision, upgrade, model definitions match
# DDL, up/down consistency) run from the library itself, on the database of the run:
# `--test-alembic` in pyproject.toml's addopts collects them here, under
# tests/conftest.py::pytest-alembic. They take the two fixtures below. Its experimental
# downgrade_leaves_no_trace stays off: under SQLAlchemy 2.1 it fails whatever the project
# does (it wraps the connection in a class that `inspect()` refuses); the project's own
# test_each_downgrade_leaves_no_trace (tests/test_migrations.py) checks the same thing.


@pytest.fixture
def alembic_engine(empty_database_url: str) -> Iterator[Engine]:
    """An engine on an empty database of the run, inside an app context on it.

    pytest-alembic hands this engine to ``migrations/env.py`` through
    ``config.attributes["connection"]``; env.py needs the app context for Flask-Migrate.
    """
    app = make_app(empty_database_url)
    engine = create_engine(empty_database_url, poolclass=NullPool)
    with app.app_context():
        try:
            yield engine
        finally:
            engine.dispose()
            db.engine.dispose()


@pytest.fixture
def alembic_config(alembic_engine: Engine) -> AlembicConfig:
    """Flask-Migrate's Alembic config of the app (``migrations/``), as ``flask db`` uses it."""
    config: AlembicConfig = current_app.extensions["migrate"].migrate.get_config()
    config.attributes["skip_logging_config"] = True  # keep pytest's logging set-up
    return config
