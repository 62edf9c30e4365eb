"""Tests of configuration loading and the application factory."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from tests.postgres import PostgresServer
from webapp import create_app
from webapp.config import DATE_ORDERS, load_secret_key, normalise_database_url, write_secret_key
from webapp.extensions import db
from webapp.spreadsheets.dates import DATE_ORDERS as spreadsheet_date_orders


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_url_is_mapped_to_psycopg3(url: str, expected: str) -> None:
    assert normalise_database_url(url) == expected


def test_database_url_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/env.db")
    app = create_app({"SECRET_KEY": "x"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/env.db"


def test_default_database_is_students_db_in_instance_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"SECRET_KEY": "x"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == (
        f"sqlite:///{Path(app.instance_path) / 'students.db'}"
    )


def test_secret_key_file_is_created_once_and_private(tmp_path: Path) -> None:
    path = write_secret_key(str(tmp_path / "instance"))
    first = load_secret_key(str(tmp_path / "instance"))
    write_secret_key(str(tmp_path / "instance"))
    assert load_secret_key(str(tmp_path / "instance")) == first
    assert first is not None
    assert len(first) == 64
    assert path.stat().st_mode & 0o777 == 0o600


def test_secret_key_from_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "from-env")
    assert create_app().config["SECRET_KEY"] == "from-env"


def test_create_app_does_not_touch_the_database(tmp_path: Path) -> None:
    path = tmp_path / "untouched.db"
    create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "x"})
    assert not path.exists()


# --- PostgreSQL connection pool -------------------------------------------------------------

POOL_VARIABLES = (
    "DB_POOL_SIZE",
    "DB_MAX_OVERFLOW",
    "DB_POOL_TIMEOUT",
    "DB_POOL_RECYCLE",
    "DB_CONNECT_TIMEOUT",
)
POSTGRES_URL = "postgresql://student@db.example/students"


@pytest.fixture
def pool_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The environment without any DB_* setting from the developer's shell."""
    for name in POOL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def engine_options(url: str, **config: object) -> dict[str, object]:
    """The engine options ``create_app`` settles on for ``url``."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", **config})
    return app.config["SQLALCHEMY_ENGINE_OPTIONS"]


def test_postgres_pool_defaults(pool_environment: pytest.MonkeyPatch) -> None:
    assert engine_options(POSTGRES_URL) == {
        "pool_pre_ping": True,
        "pool_size": 5,
        "max_overflow": 5,
        "pool_timeout": 10,
        "pool_recycle": 1800,
        "connect_args": {"connect_timeout": 5},
    }


def test_postgres_pool_settings_from_environment(pool_environment: pytest.MonkeyPatch) -> None:
    for name, value in zip(POOL_VARIABLES, ("3", "0", "7", "-1", "2"), strict=True):
        pool_environment.setenv(name, value)

    options = engine_options(POSTGRES_URL)

    assert options["pool_size"] == 3
    assert options["max_overflow"] == 0
    assert options["pool_timeout"] == 7
    assert options["pool_recycle"] == -1
    assert options["connect_args"] == {"connect_timeout": 2}
    assert options["pool_pre_ping"] is True


def test_postgres_pool_settings_reach_the_engine(pool_environment: pytest.MonkeyPatch) -> None:
    pool_environment.setenv("DB_POOL_SIZE", "3")
    pool_environment.setenv("DB_POOL_TIMEOUT", "7")
    app = create_app({"SQLALCHEMY_DATABASE_URI": POSTGRES_URL, "SECRET_KEY": "x"})

    with app.app_context():  # creating the engine does not connect
        assert db.engine.url.drivername == "postgresql+psycopg"
        assert db.engine.pool.size() == 3
        assert db.engine.pool.timeout() == 7


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DB_POOL_SIZE", "0", "DB_POOL_SIZE must be at least 1, got 0"),
        ("DB_MAX_OVERFLOW", "-1", "DB_MAX_OVERFLOW must be at least 0, got -1"),
        ("DB_POOL_RECYCLE", "half an hour", "DB_POOL_RECYCLE must be a whole number"),
        ("DB_CONNECT_TIMEOUT", "0", "DB_CONNECT_TIMEOUT must be at least 1, got 0"),
    ],
)
def test_invalid_pool_setting_stops_the_app_naming_the_variable(
    pool_environment: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    pool_environment.setenv(name, value)

    with pytest.raises(ValueError, match=message):
        engine_options(POSTGRES_URL)


def test_configured_engine_options_win_over_pool_environment(
    pool_environment: pytest.MonkeyPatch,
) -> None:
    pool_environment.setenv("DB_POOL_SIZE", "3")

    options = engine_options(
        POSTGRES_URL,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 9, "connect_args": {"sslmode": "require"}},
    )

    assert options["pool_size"] == 9
    assert options["connect_args"] == {"connect_timeout": 5, "sslmode": "require"}


def test_sqlite_gets_no_pool_options_even_after_a_postgres_app(
    pool_environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The options dict of the defaults is not shared, so PostgreSQL's do not leak."""
    engine_options("postgres://student@db.example/students")

    assert engine_options(f"sqlite:///{tmp_path}/x.db") == {}


@pytest.mark.postgres_only
def test_pool_pre_ping_replaces_connections_the_server_closed(
    app: Flask, postgres: PostgresServer
) -> None:
    """A server restart or failover kills idle connections; the next request still works."""
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        db.session.remove()  # the connection goes back to the pool, idle
        database = db.engine.url.database

    # What a server restart does to every idle connection of this database.
    killed = (
        postgres.admin()
        .execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s",
            (database,),
        )
        .fetchone()[0]
    )
    assert killed == 1

    assert app.test_client().get("/students/").status_code == 200


@pytest.mark.parametrize(("value", "expected"), [(" DMY ", "dmy"), ("mdy", "mdy"), ("", None)])
def test_date_input_order_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str, expected: str | None
) -> None:
    monkeypatch.setenv("DATE_INPUT_ORDER", value)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db", "SECRET_KEY": "k"})
    assert app.config["DATE_INPUT_ORDER"] == expected


def test_an_unknown_date_input_order_stops_the_app_naming_the_setting(tmp_path: Path) -> None:
    settings = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db", "SECRET_KEY": "k"}
    with pytest.raises(ValueError, match=r"DATE_INPUT_ORDER must be one of ymd, dmy, mdy"):
        create_app({**settings, "DATE_INPUT_ORDER": "day-first"})
    assert spreadsheet_date_orders == DATE_ORDERS  # the setting's values are the reader's
