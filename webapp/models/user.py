"""The ``User`` model: a staff account that logs in, with a role."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from flask_login import AnonymousUserMixin, UserMixin
from sqlalchemy import CheckConstraint, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import Model
from webapp.models.student import EMAIL_MAX_LENGTH
from webapp.models.types import UTCDateTime, new_sourced_id, utcnow


class Role(enum.StrEnum):
    """What an account may do; each role includes the ones before it.

    * ``teacher``: read the students of the homerooms they teach in the current year
      (and those students' history), nothing else; no writes.
    * ``viewer``: read every student and their history.
    * ``editor``: also create, edit, delete, import, revert and restore students.
    * ``admin``: also manage accounts and read the audit log.
    """

    TEACHER = "teacher"
    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """Position in the hierarchy, 0 for teacher."""
        return list(Role).index(self)

    @property
    def label(self) -> str:
        """Capitalised name for pages."""
        return self.value.capitalize()


_ROLE_SQL = ", ".join(f"'{role.value}'" for role in Role)


def new_session_token() -> str:
    """Return a fresh random token identifying the account's current sessions."""
    return secrets.token_urlsafe(32)


class User(UserMixin, Model):
    """A staff account.

    Attributes:
        id: surrogate key.
        email: login name, unique ignoring case.
        password_hash: werkzeug scrypt hash (see ``webapp.auth.passwords``).
        role: a :class:`Role` value.
        active: ``False`` once deactivated; such an account cannot log in.
        session_token: part of every session cookie's user id. Replaced at logout,
            password change and deactivation, which invalidates every copy of the old
            cookies (a signed cookie alone cannot be revoked).
        totp_secret: base32 secret of the account's authenticator app (RFC 6238 TOTP),
            or ``None`` when two-factor sign-in is off.
        totp_last_step: the 30-second time step of the last code accepted, so that no
            code is accepted twice (OWASP ASVS 5.0 V6.5.1).
        created_at: when the account was created (aware UTC).
        last_login_at: the last successful login (aware UTC), if any.
        sourced_id: a UUID that names the account to other systems (a OneRoster
            teacher); NULL-able in the schema (see migration 0016), always set here.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.VIEWER.value)
    active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    totp_secret: Mapped[str | None] = mapped_column(String(32))
    totp_last_step: Mapped[int | None]
    sourced_id: Mapped[str] = mapped_column(String(36), nullable=True, default=new_sourced_id)

    __table_args__ = (
        CheckConstraint(f"role IN ({_ROLE_SQL})", name="role_known"),
        Index("uq_users_email_lower", func.lower(email), unique=True),
        Index("uq_users_sourced_id", "sourced_id", unique=True),
    )

    def __repr__(self) -> str:
        return f"<User id={self.id} email={self.email!r} role={self.role}>"

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive accounts cannot log in
        """Whether the account may log in."""
        return self.active

    def get_id(self) -> str:
        """Flask-Login's session id: the user id and the current session token."""
        return f"{self.id}:{self.session_token}"

    @property
    def two_factor(self) -> bool:
        """Whether the account signs in with a second factor (an authenticator app)."""
        return self.totp_secret is not None

    def has_role(self, role: Role | str) -> bool:
        """Whether this account's role is ``role`` (a :class:`Role` or its value) or higher."""
        return Role(self.role).rank >= Role(role).rank

    def end_sessions(self) -> None:
        """Invalidate every existing session of this account (new session token)."""
        self.session_token = new_session_token()


class AnonymousUser(AnonymousUserMixin):
    """The visitor who has not logged in: holds no role."""

    def has_role(self, role: Role | str) -> bool:
        """Always ``False``: an anonymous visitor may do nothing that needs a role."""
        return False
