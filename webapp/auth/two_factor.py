"""Two-factor sign-in: TOTP codes from an authenticator app (pyotp), and recovery codes.

* The secret is 160 random bits (``pyotp.random_base32``), shown once as a QR code made on
  the server (segno, an SVG ``data:`` URI: no CDN, no script) and as text to type.
* A code is accepted within one 30-second step either side (clock drift) and only once:
  the step of the last code accepted is stored (OWASP ASVS 5.0 V6.5.1).
* Ten recovery codes of 10 characters (about 49 bits each) are shown once, stored as
  werkzeug scrypt hashes at ``RECOVERY_CODE_HASH_METHOD`` (ASVS V6.5.2 asks for a salted
  password hash below 112 bits), and each works once.
* Wrong codes are throttled per account and client address, and per account from all
  addresses together (``webapp.auth.throttle``); only someone who knows the password can
  get that far.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from dataclasses import dataclass

import pyotp
import segno
from flask import current_app
from sqlalchemy import delete, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.auth import throttle
from webapp.database import restart_as_write
from webapp.extensions import db
from webapp.models import RecoveryCode, Step, User
from webapp.models.types import utcnow

logger = logging.getLogger("webapp.auth")

ISSUER = "Student records"
RECOVERY_CODE_COUNT = 10
#: Letters and digits that cannot be mistaken for one another (no 0/o, 1/l/i).
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 10
#: Accepted steps either side of now (one 30-second step: about a minute of clock drift).
VALID_WINDOW = 1


class InvalidCode(Exception):
    """The code is neither the current TOTP code (unused) nor an unused recovery code."""


class TwoFactorRequired(Exception):
    """Two-factor sign-in cannot be turned off: ``REQUIRE_2FA_FOR_ADMINS`` and an admin."""


def new_secret() -> str:
    """A fresh TOTP secret: 32 base32 characters (160 bits)."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_code_data_uri(uri: str) -> str:
    """The QR code of ``uri`` as an SVG ``data:`` URI, for an ``<img>`` (CSP allows ``data:``)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=4)


def grouped(secret: str) -> str:
    """The secret in groups of four characters, for typing by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def matching_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The time step whose TOTP code is ``code``, within ``VALID_WINDOW`` steps of now.

    Args:
        secret: the base32 secret.
        code: what the user typed; spaces are ignored.
        now: Unix time in seconds (tests); the current time by default.

    Returns:
        The step number (``pyotp.TOTP.timecode``), or ``None`` when no code matches.
    """
    digits = "".join(code.split())
    if not digits.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    moment = time.time() if now is None else now
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        at = moment + offset * totp.interval
        if hmac.compare_digest(totp.at(at), digits):
            return totp.timecode(at)
    return None


def _normalise_recovery(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _recovery_hash_method() -> str:
    return str(current_app.config["RECOVERY_CODE_HASH_METHOD"])


def new_recovery_codes() -> tuple[list[str], list[str]]:
    """``RECOVERY_CODE_COUNT`` new recovery codes and their hashes.

    Returns:
        The codes as shown to the user (``xxxxx-xxxxx``), and their werkzeug hashes (of
        the code without the dash), in the same order; only the hashes are stored.
    """
    codes, hashes = [], []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        hashes.append(generate_password_hash(raw, method=_recovery_hash_method()))
    return codes, hashes


def _store_recovery_codes(user: User, hashes: list[str]) -> None:
    """Replace ``user``'s recovery codes by ``hashes`` (in the session; the caller commits)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=h) for h in hashes)


def unused_recovery_codes(user: User) -> int:
    """How many of ``user``'s recovery codes are left."""
    statement = select(db.func.count(RecoveryCode.id)).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
    )
    return db.session.scalar(statement) or 0


def enable(user: User, secret: str, code: str) -> list[str]:
    """Turn two-factor sign-in on for ``user`` once ``code`` proves the app has ``secret``.

    Commits. Returns the new recovery codes, to show once.

    Raises:
        InvalidCode: ``code`` is not the secret's current code.
    """
    step = matching_step(secret, code)
    if step is None:
        raise InvalidCode
    codes, hashes = new_recovery_codes()  # the hashes cost time: outside the write lock
    restart_as_write()
    user.totp_secret = secret
    user.totp_last_step = step
    _store_recovery_codes(user, hashes)
    db.session.commit()
    logger.info("Two-factor sign-in turned on: user_id=%s", user.id)
    return codes


def check_may_disable(user: User) -> None:
    """Raise :class:`TwoFactorRequired` when ``user`` may not turn two-factor sign-in off
    (an administrator while ``REQUIRE_2FA_FOR_ADMINS`` is on)."""
    if user.role == "admin" and current_app.config["REQUIRE_2FA_FOR_ADMINS"]:
        raise TwoFactorRequired


def disable(user: User, *, by_admin: bool = False) -> None:
    """Turn two-factor sign-in off for ``user`` and delete its recovery codes; commits.

    An administrator resetting someone's second factor (a lost phone) also ends that
    account's sessions.

    Raises:
        TwoFactorRequired: ``user`` is an administrator, ``REQUIRE_2FA_FOR_ADMINS`` is on
            and the user is turning it off themselves.
    """
    if not by_admin:
        check_may_disable(user)
    restart_as_write()
    user.totp_secret = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    if by_admin:
        user.end_sessions()
    db.session.commit()
    logger.info("Two-factor sign-in turned off: user_id=%s by_admin=%s", user.id, by_admin)


@dataclass(frozen=True)
class _Candidate:
    secret: str
    recovery: list[tuple[int, str]]


def verify(user_id: int, code: str, client: str | None = None) -> User:
    """Check the second step of a sign-in (or a confirmation): a TOTP or recovery code.

    Throttled per account and client, and per account over all clients; the recovery
    code hashes are checked outside any database transaction. Commits.

    Returns:
        The account; the code (TOTP step or recovery code) is used up.

    Raises:
        TooManyAttempts: too many wrong codes lately; the code was not checked.
        InvalidCode: wrong, reused or expired code (counted), or the account has no
            second factor any more.
    """
    subject, where = throttle.account_subject(user_id), throttle.client_key(client)
    throttle.reserve(Step.SECOND_FACTOR, subject, where)
    free = current_app.config["LOGIN_MAX_FAILURES"] * throttle.ACCOUNT_WIDE_FACTOR
    throttle.reserve(Step.SECOND_FACTOR, subject, throttle.ANY_CLIENT, free=free)
    candidate = _candidate(user_id)
    db.session.rollback()
    if candidate is None:
        raise InvalidCode

    step = matching_step(candidate.secret, code)
    recovery_id = None
    if step is None:
        typed = _normalise_recovery(code)
        for code_id, code_hash in candidate.recovery:
            if check_password_hash(code_hash, typed):
                recovery_id = code_id
                break

    restart_as_write()
    user = db.session.get(User, user_id)
    if user is None or user.totp_secret != candidate.secret or not _use(user, step, recovery_id):
        db.session.rollback()
        logger.warning("Second factor failed: user_id=%s client=%s", user_id, client)
        raise InvalidCode
    throttle.clear(Step.SECOND_FACTOR, subject, [where, throttle.ANY_CLIENT])
    db.session.commit()
    return user


def _candidate(user_id: int) -> _Candidate | None:
    user = db.session.get(User, user_id)
    if user is None or user.totp_secret is None:
        return None
    rows = db.session.execute(
        select(RecoveryCode.id, RecoveryCode.code_hash).where(
            RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
        )
    ).all()
    return _Candidate(user.totp_secret, [(r.id, r.code_hash) for r in rows])


def _use(user: User, step: int | None, recovery_id: int | None) -> bool:
    """Use up the TOTP step or recovery code, under the write lock; ``False`` if reused."""
    if step is not None:
        if user.totp_last_step is not None and step <= user.totp_last_step:
            return False
        user.totp_last_step = step
        return True
    if recovery_id is None:
        return False
    used = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == recovery_id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    # An UPDATE's result is a CursorResult, which has rowcount; Session.execute is typed
    # as returning the general Result.
    if used.rowcount == 1:  # type: ignore[attr-defined]  # (see above)
        logger.info("Recovery code used: user_id=%s", user.id)
        return True
    return False
