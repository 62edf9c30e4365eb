"""Checking credentials with a per-account lockout kept in the database.

The lockout counts failures in the ``users`` row, so it holds across gunicorn workers and
hosts; the row is locked (``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on
SQLite) so parallel guesses cannot all read the count before any of them raises it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from webapp.auth.passwords import hash_password, needs_rehash, verify_password
from webapp.database import begin_write
from webapp.extensions import db
from webapp.models import User
from webapp.models.types import utcnow

logger = logging.getLogger("webapp.auth")


class InvalidCredentials(Exception):
    """Unknown email, wrong password or deactivated account (deliberately not told apart)."""


class AccountLocked(Exception):
    """Too many failed logins: no login before ``until`` (aware UTC)."""

    def __init__(self, until: datetime) -> None:
        super().__init__(until)
        self.until = until


def find_user(email: str, *, for_update: bool = False) -> User | None:
    """Return the account with ``email`` (ignoring case), or ``None``."""
    statement = select(User).where(func.lower(User.email) == email.strip().lower())
    if for_update:
        statement = statement.with_for_update()
    return db.session.scalar(statement)


def authenticate(email: str, password: str, client: str = "-") -> User:
    """Check a login attempt and record its outcome; commits.

    Args:
        email: the email typed.
        password: the password typed.
        client: the client's address, for the log.

    Returns:
        The account, its failure count reset and ``last_login_at`` set.

    Raises:
        AccountLocked: the account is locked; the password was not even checked.
        InvalidCredentials: unknown email, wrong password or inactive account. A wrong
            password counts towards the lockout (``LOGIN_MAX_FAILURES`` failures in a row
            lock the account for ``LOGIN_LOCKOUT_MINUTES``).
    """
    config = current_app.config
    now = utcnow()
    begin_write()
    user = find_user(email, for_update=True)
    if user is not None and user.locked_until is not None and user.locked_until > now:
        db.session.rollback()
        logger.warning("Login refused, account locked: email=%s client=%s", email, client)
        raise AccountLocked(user.locked_until)

    if user is None or not verify_password(user.password_hash, password) or not user.active:
        reason = "unknown email" if user is None else "wrong password or inactive"
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= config["LOGIN_MAX_FAILURES"]:
                user.locked_until = now + timedelta(minutes=config["LOGIN_LOCKOUT_MINUTES"])
                user.failed_logins = 0
                reason += "; account now locked"
        db.session.commit()
        logger.warning("Login failed (%s): email=%s client=%s", reason, email, client)
        raise InvalidCredentials

    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    db.session.commit()
    logger.info("Login: user_id=%s email=%s client=%s", user.id, user.email, client)
    return user


def load_user(session_id: str) -> User | None:
    """Flask-Login's user loader: ``"<id>:<session token>"`` to an active account.

    Returns ``None`` (anonymous) when the account is gone, inactive, or its session
    token changed since the cookie was issued (logout, password change, deactivation).
    """
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_token != token:
        return None
    return user
