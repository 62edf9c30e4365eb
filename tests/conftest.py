"""Shared fixtures: an app on a real, migrated SQLite file per test, its client and runner.

The schema is built once per session by running the real migrations (``flask db
upgrade``) into a template file; each test gets a copy of that file, which is much
faster than migrating again and still exercises the real schema.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from flask_migrate import upgrade

from webapp import create_app
from webapp.extensions import db


def make_app(database_url: str, **overrides: object) -> Flask:
    """Create an app for tests on ``database_url`` with CSRF off unless overridden."""
    config: dict[str, object] = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file upgraded to head once per test session."""
    path = tmp_path_factory.mktemp("template") / "students.db"
    app = make_app(f"sqlite:///{path}")
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return path


@pytest.fixture
def database_path(tmp_path: Path, migrated_template: Path) -> Path:
    """A fresh copy of the migrated template for one test."""
    path = tmp_path / "students.db"
    shutil.copy(migrated_template, path)
    return path


@pytest.fixture
def app(database_path: Path) -> Iterator[Flask]:
    """The application on a migrated, empty SQLite database, CSRF checks off."""
    app = make_app(f"sqlite:///{database_path}")
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def csrf_app(database_path: Path) -> Iterator[Flask]:
    """The application with CSRF protection on, as in production."""
    app = make_app(f"sqlite:///{database_path}", WTF_CSRF_ENABLED=True)
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
