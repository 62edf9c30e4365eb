"""Revision 0010 on a database holding accounts and audit events, on SQLite and PostgreSQL.

0010 rebuilds ``users`` on SQLite (batch mode). Dropping the old table would fire
``audit_events.user_id``'s ``ON DELETE SET NULL``; these tests show that every account
and every audit event's account survive the upgrade and the downgrade.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tests.test_migrations import Database, run

ACCOUNTS = [
    (1, "Ada@School.example", "admin", 0, None),
    (2, "grace@school.example", "editor", 3, "2026-11-30 10:00:00"),
]


def _fill_at_0009(database: Database) -> None:
    """Accounts (one locked out under the old scheme) and audit events by them."""
    run(database, "upgrade", "0009")
    rows = []
    for user_id, email, role, failures, locked in ACCOUNTS:
        locked_sql = f"'{locked}'" if locked else "NULL"
        rows.append(
            "INSERT INTO users (id, email, password_hash, role, active, session_token,"
            " failed_logins, locked_until, created_at) VALUES"
            f" ({user_id}, '{email}', 'hash-{user_id}', '{role}', true, 'token-{user_id}',"
            f" {failures}, {locked_sql}, '2026-11-01 08:00:00')"
        )
    for event_id, user_id in ((1, 1), (2, 2), (3, None)):
        user = "NULL" if user_id is None else str(user_id)
        rows.append(
            "INSERT INTO audit_events (id, occurred_at, user_id, actor, action, student_id,"
            f" student_name, changes) VALUES ({event_id}, '2026-11-02 09:00:00', {user},"
            f" 'someone', 'create', {event_id}, 'A Student', '{{}}')"
        )
    database.execute(*rows)


def _accounts(database: Database) -> list[tuple]:
    return database.query(
        "SELECT id, email, password_hash, role, session_token FROM users ORDER BY id"
    )


def _event_accounts(database: Database) -> list[tuple]:
    return database.query("SELECT id, user_id FROM audit_events ORDER BY id")


@pytest.fixture
def filled(empty_database_url: str) -> Database:
    database = Database(empty_database_url)
    _fill_at_0009(database)
    return database


def test_upgrade_keeps_accounts_and_the_audit_trails_accounts(filled: Database) -> None:
    accounts, events = _accounts(filled), _event_accounts(filled)

    run(filled, "upgrade", "0010")

    assert _accounts(filled) == accounts
    assert _event_accounts(filled) == events == [(1, 1), (2, 2), (3, None)]
    assert filled.query("SELECT totp_secret, totp_last_step FROM users") == [(None, None)] * 2
    assert filled.query("SELECT count(*) FROM login_throttles") == [(0,)]


def test_upgrade_keeps_emails_unique_ignoring_case(filled: Database) -> None:
    run(filled, "upgrade", "0010")
    with pytest.raises(IntegrityError):
        filled.execute(
            "INSERT INTO users (email, password_hash, role, active, session_token, created_at)"
            " VALUES ('ADA@school.EXAMPLE', 'h', 'viewer', true, 't', '2026-11-03 08:00:00')"
        )


def test_downgrade_keeps_accounts_and_clears_the_old_lockout(filled: Database) -> None:
    accounts, events = _accounts(filled), _event_accounts(filled)
    run(filled, "upgrade", "0010")
    filled.execute(
        "UPDATE users SET totp_secret = 'JBSWY3DPEHPK3PXP' WHERE id = 1",
        "INSERT INTO recovery_codes (user_id, code_hash, created_at)"
        " VALUES (1, 'h', '2026-11-03 08:00:00')",
        "INSERT INTO login_throttles (step, subject, client, failures, updated_at)"
        " VALUES ('password', 'abc', '127.0.0.1', 2, '2026-11-03 08:00:00')",
    )

    run(filled, "downgrade", "0009")

    assert _accounts(filled) == accounts
    assert _event_accounts(filled) == events
    assert filled.query("SELECT failed_logins, locked_until FROM users") == [(0, None)] * 2
    assert "recovery_codes" not in filled.tables()
    assert "login_throttles" not in filled.tables()
    with filled.connect() as connection:
        columns = [c["name"] for c in sa.inspect(connection).get_columns("users")]
    assert "totp_secret" not in columns
    run(filled, "upgrade", "head")
    assert _accounts(filled) == accounts
