"""Tests for ``GET /healthz``: 200 only on a reachable database at the migration head."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from flask import Flask
from flask.testing import FlaskClient

from webapp import create_app
from webapp.extensions import db
from webapp.health import _script_directory

RESPONSE_KEYS = {"status", "database", "revision", "head"}

#: Two revisions, ``FIRST`` then ``SECOND``, for databases behind or beyond a known head.
FIRST, SECOND = "aaaa00000001", "aaaa00000002"

REVISION_TEMPLATE = '''"""{message}"""
revision = "{revision}"
down_revision = {down_revision!r}
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
'''


@pytest.fixture
def make_app() -> Iterator[Callable[[str], Flask]]:
    """A factory of apps on a given database URL; their engines are disposed afterwards."""
    apps: list[Flask] = []

    def make(database_url: str) -> Flask:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test-secret-key",
                "SQLALCHEMY_DATABASE_URI": database_url,
            }
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def two_revisions(tmp_path: Path) -> Path:
    """A migrations directory whose history is ``FIRST`` then ``SECOND`` (the head)."""
    directory = tmp_path / "migrations"
    (directory / "versions").mkdir(parents=True)
    for revision, down_revision in ((FIRST, None), (SECOND, FIRST)):
        (directory / "versions" / f"{revision}_step.py").write_text(
            REVISION_TEMPLATE.format(
                message=f"Step {revision}.", revision=revision, down_revision=down_revision
            ),
            encoding="utf-8",
        )
    return directory


def stamp(path: Path, revision: str) -> None:
    """Record ``revision`` in the ``alembic_version`` table of the SQLite file at ``path``."""
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"
        )
        connection.execute("INSERT INTO alembic_version VALUES (?)", (revision,))
    connection.close()


def real_head(app: Flask) -> str | None:
    """The head of the project's migrations, computed without the health module."""
    with app.app_context():
        state = app.extensions["migrate"]
        script = ScriptDirectory.from_config(state.migrate.get_config(state.directory))
        return ",".join(sorted(script.get_heads())) or None


def test_healthz_ok_on_database_at_head(app: Flask, client: FlaskClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    head = real_head(app)
    assert response.get_json() == {
        "status": "ok",
        "database": "ok",
        "revision": head,
        "head": head,
    }


def test_healthz_503_on_unmigrated_database(
    tmp_path: Path, make_app: Callable[[str], Flask]
) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    app = make_app(f"sqlite:///{path}")

    response = app.test_client().get("/healthz")

    assert response.status_code == 503
    body = response.get_json()
    assert body == {
        "status": "error",
        "database": "ok",
        "revision": None,
        "head": real_head(app),
        "reason": "database not migrated",
    }
    assert body["head"] is not None, "the project has migrations, so an empty file is behind"


def test_healthz_503_on_database_behind_head(
    tmp_path: Path, make_app: Callable[[str], Flask], two_revisions: Path
) -> None:
    path = tmp_path / "behind.db"
    stamp(path, FIRST)
    app = make_app(f"sqlite:///{path}")
    app.extensions["migrate"].directory = str(two_revisions)

    response = app.test_client().get("/healthz")

    assert response.status_code == 503
    assert response.get_json() == {
        "status": "degraded",
        "database": "ok",
        "revision": FIRST,
        "head": SECOND,
        "reason": "database behind migration head",
    }


def test_healthz_503_on_revision_unknown_to_release(
    tmp_path: Path, make_app: Callable[[str], Flask], two_revisions: Path
) -> None:
    path = tmp_path / "newer.db"
    stamp(path, "ffff00000009")
    app = make_app(f"sqlite:///{path}")
    app.extensions["migrate"].directory = str(two_revisions)

    response = app.test_client().get("/healthz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["revision"] == "ffff00000009"
    assert body["head"] == SECOND
    assert body["reason"] == "database revision unknown to this release"


@pytest.mark.parametrize(
    "database_url",
    [
        pytest.param("sqlite:////nonexistent-directory/students.db", id="sqlite-no-directory"),
        # Port 1 on loopback refuses at once; the password must not reach the answer.
        pytest.param(
            "postgresql+psycopg://student:hunter2@127.0.0.1:1/students", id="postgres-refused"
        ),
    ],
)
def test_healthz_503_on_unreachable_database(
    database_url: str, make_app: Callable[[str], Flask]
) -> None:
    app = make_app(database_url)

    response = app.test_client().get("/healthz")

    assert response.status_code == 503
    body = response.get_json()
    assert set(body) == {*RESPONSE_KEYS, "reason"}
    assert body["status"] == "error"
    assert body["database"] == "error"
    assert body["revision"] is None
    assert body["head"] == real_head(app)
    assert body["reason"] == "database unreachable"
    assert "hunter2" not in response.get_data(as_text=True)


def test_healthz_reads_migration_scripts_once(app: Flask, client: FlaskClient) -> None:
    _script_directory.cache_clear()

    for _ in range(3):
        assert client.get("/healthz").status_code == 200

    info = _script_directory.cache_info()
    assert (info.misses, info.hits) == (1, 2)
