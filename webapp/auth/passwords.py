"""Password hashing and the password rules.

Hashes are werkzeug's scrypt. Werkzeug's default cost (N=2^15, r=8, p=1) is below OWASP
ASVS 5.0 Appendix C, which asks for N of at least 2^17 with r=8 and p=1, so the method
is set explicitly (``PASSWORD_HASH_METHOD``). Hashes made at any cost keep verifying, and
:func:`needs_rehash` tells when a stored hash should be upgraded at the next login.
"""

from __future__ import annotations

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

#: OWASP ASVS 5.0 Appendix C minimum for scrypt: N=2^17, r=8, p=1.
DEFAULT_HASH_METHOD = "scrypt:131072:8:1"
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128  # ASVS asks to allow at least 64

#: Verified against when the email is unknown, so that both failures cost the same time.
_DUMMY_HASH: dict[str, str] = {}


def hash_method() -> str:
    """The werkzeug hash method in force (``PASSWORD_HASH_METHOD``)."""
    return str(current_app.config.get("PASSWORD_HASH_METHOD", DEFAULT_HASH_METHOD))


def hash_password(password: str) -> str:
    """Return the scrypt hash of ``password`` at the configured cost."""
    return generate_password_hash(password, method=hash_method())


def dummy_hash() -> str:
    """A hash at the configured cost, made once per process and method, of no password.

    Verified against when the email is unknown, so that both failures cost one hash.
    """
    method = hash_method()
    if method not in _DUMMY_HASH:
        _DUMMY_HASH[method] = generate_password_hash("not a password", method=method)
    return _DUMMY_HASH[method]


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check ``password`` against ``password_hash``; ``None`` (unknown account) is never ok.

    The unknown-account case checks against :func:`dummy_hash` at the same cost, so the
    response time does not tell whether an email has an account (issue 18, finding 1).
    """
    matches = check_password_hash(password_hash or dummy_hash(), password)
    return matches and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    """Whether the stored hash was made with another method or cost than the current one."""
    return not password_hash.startswith(hash_method() + "$")


def check_password_rules(password: str) -> str:
    """Return ``password`` if it meets the rules.

    Raises:
        ValueError: when it is shorter than ``PASSWORD_MIN_LENGTH`` or longer than
            ``PASSWORD_MAX_LENGTH`` characters, or only whitespace.
    """
    if password and not password.strip():
        raise ValueError("The password cannot be only spaces.")
    if len(password) < PASSWORD_MIN_LENGTH:
        raise ValueError(f"The password must have at least {PASSWORD_MIN_LENGTH} characters.")
    if len(password) > PASSWORD_MAX_LENGTH:
        raise ValueError(f"The password can have at most {PASSWORD_MAX_LENGTH} characters.")
    return password
