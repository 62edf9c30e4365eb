"""Test accounts, one per role, and a test client that is logged in as one of them.

The accounts are added once to the migrated template database (SQLite file or
PostgreSQL template), so every test's copy has them at no cost. Their session tokens are
fixed, so a client logs in by setting Flask-Login's session key directly, without a
password check per test (the login itself is tested in ``tests/test_auth.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import create_engine, insert
from werkzeug.security import generate_password_hash

from webapp.models import User
from webapp.models.types import utcnow

#: Cheap hashing for the tests' own accounts; production uses the ASVS cost.
TEST_HASH_METHOD = "pbkdf2:sha256:1000"


@dataclass(frozen=True)
class TestAccount:
    """One test account."""

    __test__ = False  # not a test class, despite the name

    id: int
    email: str
    role: str
    password: str
    session_token: str

    @property
    def session_id(self) -> str:
        """What Flask-Login keeps in the session for this account."""
        return f"{self.id}:{self.session_token}"


#: One account per role, and a second teacher (``teacher2``) for the teacher-scope tests.
ACCOUNTS = {
    name: TestAccount(
        id=number,
        email=f"{name}@school.example",
        role=name.rstrip("0123456789"),
        password=f"{name}-password-123",
        session_token=f"test-session-token-{name}",
    )
    for number, name in enumerate(("admin", "editor", "viewer", "teacher", "teacher2"), start=1)
}


def add_test_accounts(database_url: str) -> None:
    """Insert the test accounts into a migrated database."""
    engine = create_engine(database_url)
    now = utcnow()
    rows = [
        {
            "id": account.id,
            "email": account.email,
            "role": account.role,
            "password_hash": generate_password_hash(account.password, method=TEST_HASH_METHOD),
            "session_token": account.session_token,
            "active": True,
            "created_at": now,
        }
        for account in ACCOUNTS.values()
    ]
    try:
        with engine.begin() as connection:
            connection.execute(insert(User), rows)
            if engine.dialect.name == "postgresql":
                connection.exec_driver_sql(
                    "SELECT setval(pg_get_serial_sequence('users', 'id'), "
                    "(SELECT max(id) FROM users))"
                )
    finally:
        engine.dispose()


class StaffClient(FlaskClient):
    """A test client logged in as a test account: ``app.test_client(user="viewer")``.

    Args:
        user: ``"admin"`` (the default), ``"editor"``, ``"viewer"``, ``"teacher"``,
            ``"teacher2"``, or ``None`` for an anonymous client.
    """

    def __init__(self, *args: Any, user: str | None = "admin", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account = ACCOUNTS[user] if user else None
        if self.account is not None:
            with self.session_transaction() as session:
                session["_user_id"] = self.account.session_id
                session["_fresh"] = True
