"""Account management shared by the admin pages and the ``flask users`` commands.

Each function changes the session and commits once, or raises :class:`AccountError`
(with a message for the person at the keyboard) after rolling back. The last active
administrator can be neither demoted nor deactivated, so the site can always be managed;
the check locks the administrators' rows so two admins demoting each other at the same
moment cannot both succeed.
"""

from __future__ import annotations

import logging
import secrets

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from webapp.auth import throttle, two_factor
from webapp.auth.passwords import check_password_rules, hash_password
from webapp.auth.service import find_user
from webapp.database import begin_write
from webapp.extensions import db
from webapp.fields.rules import clean_email
from webapp.models import LoginThrottle, Role, Step, User
from webapp.paging import Page, bounded_page

logger = logging.getLogger("webapp.auth")

#: Accounts a page of the account list shows.
ACCOUNTS_PER_PAGE = 50


class AccountError(Exception):
    """The change was refused; ``str(error)`` says why, for the user."""


def _commit() -> None:
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise AccountError("Another account already uses this email address.") from error


def _refuse(message: str) -> AccountError:
    db.session.rollback()
    return AccountError(message)


def account_page(
    number: int, q: str = "", role: Role | None = None, active: bool | None = None
) -> Page:
    """Page ``number`` of the accounts, by email address (ignoring case), with a total
    counted up to :data:`webapp.paging.COUNT_LIMIT`: two statements, read along the
    unique index of ``lower(email)``, whatever the number of accounts.

    Args:
        number: the 1-based page number (past the end: the last page).
        q: only addresses containing this text, ignoring case (``%`` and ``_`` are
            plain characters); blank for all.
        role: only accounts of this role; ``None`` for all.
        active: only active (``True``) or deactivated (``False``) accounts; ``None``
            for both.

    Returns:
        The page of :data:`ACCOUNTS_PER_PAGE`; its items are :class:`User` objects.
    """
    statement = select(User).order_by(func.lower(User.email))
    if q:
        statement = statement.where(User.email.icontains(q, autoescape=True))
    if role is not None:
        statement = statement.where(User.role == role.value)
    if active is not None:
        statement = statement.where(User.active.is_(active))
    return bounded_page(statement, User.id, number, ACCOUNTS_PER_PAGE)


def active_admins(*, lock: bool = False) -> list[User]:
    """The active administrators; ``lock`` takes their rows for update (PostgreSQL)."""
    statement = select(User).where(User.role == Role.ADMIN.value, User.active.is_(True))
    if lock:
        statement = statement.with_for_update()
    return list(db.session.scalars(statement))


def _keeps_an_admin(user: User) -> bool:
    """Whether some active administrator other than ``user`` remains."""
    return any(admin.id != user.id for admin in active_admins(lock=True))


def create_user(email: str, role: Role, password: str) -> User:
    """Create an active account.

    Raises:
        AccountError: invalid email or password, or the email is taken (any case).
    """
    begin_write()
    try:
        address = clean_email(email)
        check_password_rules(password)
    except ValueError as error:
        raise _refuse(str(error)) from error
    if not address:
        raise _refuse("Enter an email address.")
    if find_user(address) is not None:
        raise _refuse("Another account already uses this email address.")
    user = User(email=address, role=role.value, password_hash=hash_password(password))
    db.session.add(user)
    _commit()
    logger.info("Account created: user_id=%s email=%s role=%s", user.id, user.email, role.value)
    return user


def set_role(user: User, role: Role) -> None:
    """Change ``user``'s role.

    Raises:
        AccountError: ``user`` is the last active administrator and ``role`` is lower.
    """
    begin_write()
    if user.role == Role.ADMIN.value and role is not Role.ADMIN and not _keeps_an_admin(user):
        raise _refuse(f"{user.email} is the last active administrator and must stay one.")
    user.role = role.value
    _commit()
    logger.info("Role changed: user_id=%s role=%s", user.id, role.value)


def deactivate(user: User) -> None:
    """Deactivate ``user`` and end every session of the account.

    Raises:
        AccountError: ``user`` is the last active administrator.
    """
    begin_write()
    if user.role == Role.ADMIN.value and user.active and not _keeps_an_admin(user):
        raise _refuse(f"{user.email} is the last active administrator and cannot be deactivated.")
    user.active = False
    user.end_sessions()
    _commit()
    logger.info("Account deactivated: user_id=%s", user.id)


def activate(user: User) -> None:
    """Let a deactivated account log in again (with its old password), without waits."""
    begin_write()
    user.active = True
    _clear_throttles(user)
    _commit()
    logger.info("Account activated: user_id=%s", user.id)


def set_password(user: User, password: str) -> None:
    """Set a new password, clear any lockout and end every session of the account.

    Raises:
        AccountError: the password breaks the rules.
    """
    begin_write()
    try:
        check_password_rules(password)
    except ValueError as error:
        raise _refuse(str(error)) from error
    user.password_hash = hash_password(password)
    _clear_throttles(user)
    user.end_sessions()
    _commit()
    logger.info("Password set: user_id=%s", user.id)


def _clear_throttles(user: User) -> None:
    """Forget the failed sign-in attempts on ``user``'s email and second factor, from
    every client address (in the session; the caller commits)."""
    throttle.clear(Step.PASSWORD, throttle.email_subject(user.email))
    throttle.clear(Step.SECOND_FACTOR, throttle.account_subject(user.id))


def unlock(user: User) -> None:
    """Lift every sign-in wait on ``user``, from every client address; commits.

    For the owner who mistyped too often, or whose address an attacker shares.
    """
    begin_write()
    _clear_throttles(user)
    _commit()
    logger.info("Sign-in waits lifted: user_id=%s", user.id)


def failed_sign_ins(user: User) -> list[LoginThrottle]:
    """The failed sign-in attempts on ``user`` per client address, newest first."""
    return throttle.failures_of(
        [throttle.email_subject(user.email), throttle.account_subject(user.id)]
    )


def reset_two_factor(user: User) -> None:
    """Turn ``user``'s second factor off (a lost phone) and end its sessions; commits."""
    two_factor.disable(user, by_admin=True)


def generate_password() -> str:
    """A random password of 20 URL-safe characters (about 120 bits)."""
    return secrets.token_urlsafe(15)


def create_first_admin(email: str) -> tuple[User, str] | None:
    """Create an administrator with a generated password when no administrator exists.

    Accounts of other roles do not count: ``flask students seed`` makes teachers, and a
    database holding only those would have nobody to manage it.

    Returns:
        The account and its password (to show once), or ``None`` if an administrator
        exists (active or not).
    """
    has_admin = db.session.scalar(select(User.id).where(User.role == Role.ADMIN.value).limit(1))
    if has_admin is not None:
        return None
    password = generate_password()
    return create_user(email, Role.ADMIN, password), password
