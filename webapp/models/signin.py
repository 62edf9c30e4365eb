"""Models of the sign-in defences: failed-attempt throttles and two-factor recovery codes."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import Model
from webapp.models.types import UTCDateTime, utcnow

#: Longest text form of a client address (an IPv6 address with an IPv4 tail).
CLIENT_MAX_LENGTH = 45


class Step(enum.StrEnum):
    """Which step of the sign-in a throttle counts: the password, or the second factor."""

    PASSWORD = "password"
    SECOND_FACTOR = "second_factor"


class LoginThrottle(Model):
    """Failed sign-in attempts of one subject from one client address.

    A row exists for any email typed, known or not, so that unknown emails are throttled
    exactly like known ones (see ``webapp.auth.throttle``).

    Attributes:
        id: surrogate key.
        step: a :class:`Step` value.
        subject: HMAC-SHA256 (hex) of the email typed, or of the account id for the
            second factor; the typed text itself is never stored.
        client: the client's address as the app sees it (after ``PROXY_COUNT`` proxies).
        failures: failed attempts since the last success or since the row was forgotten.
        blocked_until: no attempt of this subject from this client before then (aware UTC).
        updated_at: the last attempt (aware UTC); rows idle for a day are deleted.
    """

    __tablename__ = "login_throttles"

    id: Mapped[int] = mapped_column(primary_key=True)
    step: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(CLIENT_MAX_LENGTH))
    failures: Mapped[int] = mapped_column(default=0)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    __table_args__ = (
        UniqueConstraint("step", "subject", "client"),
        CheckConstraint("step IN ('password', 'second_factor')", name="step_known"),
        CheckConstraint("failures >= 0", name="failures_not_negative"),
    )

    def __repr__(self) -> str:
        return f"<LoginThrottle {self.step} client={self.client} failures={self.failures}>"


class RecoveryCode(Model):
    """One single-use recovery code of an account with two-factor sign-in.

    Attributes:
        id: surrogate key.
        user_id: the account; its codes go with it.
        code_hash: werkzeug scrypt hash of the code (never the code itself).
        used_at: when it was used (aware UTC); a used code never works again.
        created_at: when it was generated (aware UTC).
    """

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<RecoveryCode id={self.id} user_id={self.user_id} used={self.used_at is not None}>"
