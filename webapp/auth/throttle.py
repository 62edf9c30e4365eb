"""Failed sign-in attempts, throttled per subject and client address with growing delays.

The design, against OWASP ASVS 5.0 V6 (see ``docs/security.md``):

* A *subject* is the email typed (at the password step) or the account (at the second
  factor step), stored only as an HMAC-SHA256 under the app's secret key. A row exists
  for any email typed, known or not, so an unknown email is throttled exactly like a
  known one and the answers tell nothing about which accounts exist.
* The count is per subject *and client address* (an IPv6 client by its /64 network, which
  one household or host usually holds whole). Someone guessing from elsewhere slows only
  their own attempts: nobody can lock an account, the last administrator's included, out
  from another address.
* ``LOGIN_MAX_FAILURES`` failures in a row are free; from then on each attempt must wait
  ``LOGIN_DELAY_SECONDS``, doubled at every further failure, at most
  ``LOGIN_MAX_DELAY_MINUTES``. A success clears the row; a row idle for
  ``LOGIN_FORGET_HOURS`` is deleted.
* An attempt is counted as a failure *before* its password is checked (:func:`reserve`)
  and cleared after a success (:func:`clear`), in two short write transactions: the slow
  hash runs outside the database's write lock, and parallel guesses still cannot get
  more than ``LOGIN_MAX_FAILURES`` checks in before the delay applies.

Per-address request rates (all emails together) are limited separately by Flask-Limiter.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from webapp.database import restart_as_write
from webapp.extensions import db
from webapp.models import LoginThrottle, Step
from webapp.models.signin import CLIENT_MAX_LENGTH
from webapp.models.types import utcnow

#: The client of the account-wide second-factor count (all addresses together).
ANY_CLIENT = "*"

#: How many more failures the account-wide second-factor count allows than a per-client one.
ACCOUNT_WIDE_FACTOR = 4


class TooManyAttempts(Exception):
    """Attempts of this subject from this client must wait until ``until`` (aware UTC)."""

    def __init__(self, until: datetime) -> None:
        super().__init__(until)
        self.until = until


def email_subject(email: str) -> str:
    """The stored subject of an email typed at login: HMAC-SHA256 of it, trimmed and
    lower-cased (as accounts are matched), under ``SECRET_KEY``; 64 hex digits."""
    return _hmac(f"email:{email.strip().lower()}")


def account_subject(user_id: int) -> str:
    """The stored subject of an account's second-factor attempts (see :func:`email_subject`)."""
    return _hmac(f"account:{user_id}")


def _hmac(text: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def client_key(address: str | None) -> str:
    """The client part of the key: an IPv4 address, an IPv6 /64 network, or the text as given.

    Args:
        address: ``request.remote_addr`` (``None`` outside HTTP).

    Returns:
        At most ``CLIENT_MAX_LENGTH`` characters.
    """
    if not address:
        return "-"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:CLIENT_MAX_LENGTH]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def delay_after(failures: int, free: int | None = None) -> timedelta | None:
    """How long the next attempt waits after ``failures`` failures in a row; ``None``: no wait.

    ``free`` failures (``LOGIN_MAX_FAILURES`` by default) cost nothing; then
    ``LOGIN_DELAY_SECONDS``, doubled for each further failure, at most
    ``LOGIN_MAX_DELAY_MINUTES``.
    """
    config = current_app.config
    free = config["LOGIN_MAX_FAILURES"] if free is None else free
    if failures < free:
        return None
    longest = timedelta(minutes=config["LOGIN_MAX_DELAY_MINUTES"])
    exponent = min(failures - free, 32)
    return min(timedelta(seconds=config["LOGIN_DELAY_SECONDS"] * 2**exponent), longest)


def _row(step: Step, subject: str, client: str, now: datetime) -> LoginThrottle:
    """The throttle row, created when missing, locked for this transaction."""
    values = {"step": step.value, "subject": subject, "client": client, "failures": 0}
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(
        insert(LoginThrottle).values(**values, updated_at=now).on_conflict_do_nothing()
    )
    row = db.session.scalars(
        select(LoginThrottle)
        .where(
            LoginThrottle.step == step.value,
            LoginThrottle.subject == subject,
            LoginThrottle.client == client,
        )
        .with_for_update()
    ).one()
    return row


def reserve(step: Step, subject: str, client: str, *, free: int | None = None) -> None:
    """Count one attempt as failed, unless this subject and client must wait; commits.

    Call before checking the secret, and :func:`clear` after a success. Rows idle for
    ``LOGIN_FORGET_HOURS`` are deleted on the way.

    Args:
        step: which step of the sign-in.
        subject: :func:`email_subject` or :func:`account_subject`.
        client: :func:`client_key`, or ``ANY_CLIENT``.
        free: failures allowed before delays, instead of ``LOGIN_MAX_FAILURES``.

    Raises:
        TooManyAttempts: the previous failures impose a wait that is not over; nothing
            was counted.
    """
    now = utcnow()
    restart_as_write()
    forget = now - timedelta(hours=current_app.config["LOGIN_FORGET_HOURS"])
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.updated_at < forget))
    row = _row(step, subject, client, now)
    if row.blocked_until is not None and row.blocked_until > now:
        until = row.blocked_until
        db.session.commit()  # keeps the clean-up
        raise TooManyAttempts(until)
    row.failures += 1
    row.updated_at = now
    wait = delay_after(row.failures, free)
    row.blocked_until = now + wait if wait else None
    db.session.commit()


def clear(step: Step, subject: str, clients: list[str] | None = None) -> None:
    """Forget the failures of ``subject`` from ``clients`` (every client when ``None``).

    Adds to the session's write transaction, which the caller commits.
    """
    statement = delete(LoginThrottle).where(
        LoginThrottle.step == step.value, LoginThrottle.subject == subject
    )
    if clients is not None:
        statement = statement.where(LoginThrottle.client.in_(clients))
    db.session.execute(statement)


def failures_of(subjects: list[str]) -> list[LoginThrottle]:
    """The throttle rows of ``subjects`` with failures, newest first (for the account page)."""
    return list(
        db.session.scalars(
            select(LoginThrottle)
            .where(LoginThrottle.subject.in_(subjects), LoginThrottle.failures > 0)
            .order_by(LoginThrottle.updated_at.desc())
        )
    )
