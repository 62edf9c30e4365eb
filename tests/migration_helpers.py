"""What the migration tests share: a database under test, and running Alembic on it.

Used by ``tests/test_migrations.py`` (the revision chain) and
``tests/test_tutorial_takeover.py`` (the SQLAlchemy tutorial's databases). Its fixtures
(``empty``, ``new_database``, ``migrated``) are registered by ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import current_app

from tests.conftest import make_app
from tests.postgres import find_bindir
from webapp.extensions import db

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = PROJECT_ROOT / "migrations"
FLASK = Path(sys.executable).with_name("flask")

#: The migration scripts, as Alembic reads them.
SCRIPT = ScriptDirectory(str(MIGRATIONS))
#: Every revision, oldest first.
REVISIONS = [s.revision for s in reversed(list(SCRIPT.walk_revisions()))]
HEAD = REVISIONS[-1]

# --- the database under test --------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    """A database under test, by URL, and what the tests read from it.

    Each call opens its own short-lived connection (no pool), so nothing stays connected
    while a migration runs, and reads see what the migration committed.
    """

    url: str

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return sa.make_url(self.url).get_backend_name()

    @contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        """A connection of its own; rolled back (if nothing committed) and closed after."""
        engine = sa.create_engine(self.url, poolclass=sa.NullPool)
        try:
            with engine.connect() as connection:
                yield connection
        finally:
            engine.dispose()

    def query(self, statement: str | sa.TextClause, **params: Any) -> list[tuple]:
        """The rows of ``statement`` as tuples."""
        if isinstance(statement, str):
            statement = sa.text(statement)
        with self.connect() as connection:
            return [tuple(row) for row in connection.execute(statement, params)]

    def execute(self, *statements: str) -> None:
        """Run ``statements`` (plain SQL, as an operator would) and commit."""
        with self.connect() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
            connection.commit()

    def tables(self) -> set[str]:
        """The names of the tables."""
        with self.connect() as connection:
            return set(sa.inspect(connection).get_table_names())

    def current_revision(self) -> str | None:
        """The revision in ``alembic_version``, or ``None`` without one (or the table)."""
        if "alembic_version" not in self.tables():
            return None
        rows = self.query("SELECT version_num FROM alembic_version")
        return rows[0][0] if rows else None

    def indexes(self) -> dict[str, str]:
        """Each index that backs no constraint, by name: its DDL as the database has it.

        Read from the catalog, not through SQLAlchemy's inspector: SQLite's reflection
        skips expression-based indexes such as ``uq_students_email_lower``.
        """
        if self.dialect == "sqlite":
            sql = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        else:
            sql = (
                "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x"
                " JOIN pg_class i ON i.oid = x.indexrelid"
                " JOIN pg_class t ON t.oid = x.indrelid"
                " JOIN pg_namespace n ON n.oid = t.relnamespace"
                " WHERE n.nspname = current_schema()"
                " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)"
            )
        return {name: " ".join(ddl.split()) for name, ddl in self.query(sql)}

    def schema(self) -> dict[str, Any]:
        """The schema as the database reports it, without ``alembic_version``.

        Per table: columns (name, type, NULL-able, server default) in order, primary key
        name and columns, unique constraints, CHECK constraints (name and SQL, as the
        database normalises it), foreign keys; and every index's DDL. Comparable between
        two databases of the same dialect.
        """
        tables: dict[str, Any] = {}
        with self.connect() as connection, warnings.catch_warnings():
            # SQLite's unique-constraint reflection looks at the indexes too, and skips
            # the expression-based one with this warning; indexes() reads it instead.
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression")
            inspector = sa.inspect(connection)
            for table in sorted(set(inspector.get_table_names()) - {"alembic_version"}):
                primary_key = inspector.get_pk_constraint(table)
                tables[table] = {
                    "columns": [
                        (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                        for c in inspector.get_columns(table)
                    ],
                    "primary key": (primary_key.get("name"), primary_key["constrained_columns"]),
                    "unique": sorted(
                        (u["name"], tuple(u["column_names"]))
                        for u in inspector.get_unique_constraints(table)
                    ),
                    "checks": {
                        c["name"]: c["sqltext"] for c in inspector.get_check_constraints(table)
                    },
                    "foreign keys": sorted(
                        (fk["name"], tuple(fk["constrained_columns"]), fk["referred_table"])
                        for fk in inspector.get_foreign_keys(table)
                    ),
                }
        return {"tables": tables, "indexes": self.indexes()}

    def snapshot(self) -> list[str]:
        """Schema and every row, as SQL text: SQLite's ``.dump``, or ``pg_dump``."""
        if self.dialect == "sqlite":
            path = sa.make_url(self.url).database
            if not path or not Path(path).exists():
                return []
            with closing(sqlite3.connect(path)) as connection:
                return list(connection.iterdump())
        url = sa.make_url(self.url).set(drivername="postgresql")
        dump = subprocess.run(
            [pg_dump(), "--no-owner", url.render_as_string(hide_password=False)],
            capture_output=True,
            text=True,
            check=True,
        )
        # pg_dump 15.14 and later fence the script with a random \restrict key.
        return [line for line in dump.stdout.splitlines() if not line.startswith("\\")]


def pg_dump() -> str:
    """The ``pg_dump`` beside the server binaries, or the one on ``PATH``."""
    beside_server = find_bindir() / "pg_dump"
    return str(beside_server) if beside_server.exists() else "pg_dump"


# --- helpers --------------------------------------------------------------------------


@contextmanager
def app_context_on(database: Database) -> Iterator[None]:
    """Push an app context of an app on ``database``; dispose its engine after."""
    app = make_app(database.url)
    with app.app_context():
        try:
            yield
        finally:
            db.engine.dispose()


def alembic_config() -> Config:
    """The current app's Flask-Migrate Alembic config (call inside an app context)."""
    config = current_app.extensions["migrate"].migrate.get_config()
    # env.py would otherwise reconfigure logging from alembic.ini on every run.
    config.attributes["skip_logging_config"] = True
    return config


def run(database: Database, action: str, revision: str) -> None:
    """Run ``alembic.command.<action>(config, revision)`` on ``database``."""
    with app_context_on(database):
        getattr(command, action)(alembic_config(), revision)


def cli_environment(database: Database) -> dict[str, str]:
    """The environment of a ``flask`` subprocess on ``database``."""
    return {**os.environ, "DATABASE_URL": database.url, "SECRET_KEY": "test"}


def flask_cli(database: Database, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``flask --app webapp <args>`` as a subprocess, as the README says."""
    return subprocess.run(
        [str(FLASK), "--app", "webapp", *args],
        cwd=PROJECT_ROOT,
        env=cli_environment(database),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def upgrades_run(output: str) -> list[tuple[str, str]]:
    """The ``(from, to)`` of each "Running upgrade" line Alembic logged in ``output``."""
    return re.findall(r"Running upgrade (\S*) -> (\S+),", output)


@pytest.fixture
def empty(empty_database_url: str) -> Database:
    """A database with nothing in it."""
    return Database(empty_database_url)


@pytest.fixture
def new_database(empty_database_factory: Callable[[], str]) -> Callable[[], Database]:
    """``new_database()``: one more empty database, for comparisons."""
    return lambda: Database(empty_database_factory())


@pytest.fixture
def migrated(database_url: str) -> Database:
    """A database at head, made by the migrations (a copy of the session's template)."""
    return Database(database_url)
