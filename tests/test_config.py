"""Tests of configuration loading and the application factory."""

from __future__ import annotations

from pathlib import Path

import pytest

from webapp import create_app
from webapp.config import load_secret_key, normalise_database_url, write_secret_key


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
