"""Checking sign-in credentials: the password step, throttled per email and client.

Every attempt goes through the same steps whether the email has an account or not: one
throttle transaction, one account lookup, one password hash (against a dummy hash for an
unknown email). The hash runs outside any database transaction, so it never holds
SQLite's write lock (issue 18, findings 1, 2 and 4). See ``webapp.auth.throttle``.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from webapp.auth import throttle
from webapp.auth.passwords import hash_password, needs_rehash, verify_password
from webapp.auth.throttle import TooManyAttempts
from webapp.database import restart_as_write
from webapp.extensions import db
from webapp.models import Step, User
from webapp.models.types import utcnow

logger = logging.getLogger("webapp.auth")

__all__ = ["InvalidCredentials", "TooManyAttempts", "authenticate", "find_user", "load_user"]


class InvalidCredentials(Exception):
    """Unknown email, wrong password or deactivated account (deliberately not told apart)."""


def find_user(email: str, *, for_update: bool = False) -> User | None:
    """Return the account with ``email`` (ignoring case), or ``None``."""
    statement = select(User).where(func.lower(User.email) == email.strip().lower())
    if for_update:
        statement = statement.with_for_update()
    return db.session.scalar(statement)


def authenticate(email: str, password: str, client: str | None = None) -> User:
    """Check the password step of a sign-in; commits.

    Args:
        email: the email typed.
        password: the password typed.
        client: the client's address (``request.remote_addr``).

    Returns:
        The account. Its password throttle from this client is cleared and an outdated
        hash is upgraded; the caller finishes the sign-in (:func:`record_login`), after
        the second factor when the account has one.

    Raises:
        TooManyAttempts: this email failed too often from this client lately; the
            password was not checked.
        InvalidCredentials: unknown email, wrong password or inactive account; counted
            in the throttle.
    """
    subject, where = throttle.email_subject(email), throttle.client_key(client)
    throttle.reserve(Step.PASSWORD, subject, where)
    user = find_user(email)
    user_id, stored, active = (
        (user.id, user.password_hash, user.active) if user else (0, None, False)
    )
    db.session.rollback()  # nothing to keep: the hash below runs outside any transaction

    matches = verify_password(stored, password)
    if not matches or stored is None or not active:
        reason = "unknown email" if stored is None else "wrong password or inactive account"
        logger.warning("Login failed (%s): email=%s client=%s", reason, email, client)
        raise InvalidCredentials

    upgraded = hash_password(password) if needs_rehash(stored) else None
    restart_as_write()
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.password_hash != stored:
        db.session.rollback()  # deleted, deactivated or given a new password meanwhile
        raise InvalidCredentials
    throttle.clear(Step.PASSWORD, subject, [where])
    if upgraded is not None:
        user.password_hash = upgraded
    db.session.commit()
    return user


def record_login(user: User, client: str | None = None) -> None:
    """Finish a sign-in: set ``last_login_at``, log it; commits."""
    restart_as_write()
    user.last_login_at = utcnow()
    db.session.commit()
    logger.info("Login: user_id=%s email=%s client=%s", user.id, user.email, client)


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
