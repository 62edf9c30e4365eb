"""Configuration, in layers: code defaults, then environment variables, then an optional
``instance/config.py``, then the mapping handed to ``create_app`` (tests).

Every setting an operator may change is read from the environment here and listed in the
README's configuration table.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

#: The values ``DATE_INPUT_ORDER`` accepts: year-month-day, day first, month first.
DATE_ORDERS = ("ymd", "dmy", "mdy")

#: File in the instance folder holding a generated secret key (written by ``make run``).
SECRET_KEY_FILE = "secret_key"


class DefaultConfig:
    """Code defaults; each may be overridden by the layers above it."""

    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {}
    SQLALCHEMY_RECORD_QUERIES = False
    # A form may stay open all day: the token lives as long as the session.
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    MAX_CONTENT_LENGTH = 1024 * 1024  # bytes; student forms are tiny
    # Edit and delete forms carry the version they were rendered from, and a save based
    # on an outdated version is refused with 409. Only the concurrency test's negative
    # control turns this off, to prove the test can see a lost update.
    OPTIMISTIC_LOCKING = True
    # HTTPS and proxies (see webapp/security.py).
    SESSION_COOKIE_SECURE = False
    FORCE_HTTPS = False
    HSTS_SECONDS = 365 * 24 * 3600
    PROXY_COUNT = 0
    TRUSTED_HOSTS: list[str] | None = None
    # Accounts and sessions (see webapp/auth/).
    SESSION_IDLE_MINUTES = 30
    LOGIN_MAX_FAILURES = 5  # free failures per email (or account) and client address
    LOGIN_DELAY_SECONDS = 30  # then this wait, doubled at each further failure,
    LOGIN_MAX_DELAY_MINUTES = 15  # up to this
    LOGIN_FORGET_HOURS = 24  # failures older than this are forgotten
    LOGIN_RATE_LIMIT = "10 per minute"
    SECOND_FACTOR_RATE_LIMIT = "10 per minute"
    REQUIRE_2FA_FOR_ADMINS = False
    LOG_FORMAT = "text"  # or "json": one JSON object per line
    LOG_LEVEL = "INFO"
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    PASSWORD_HASH_METHOD = "scrypt:131072:8:1"  # OWASP ASVS 5.0 Appendix C minimum
    # Backups (see webapp/backup/): their folder (None: instance/backups), and where
    # pg_dump and pg_restore are (None: Debian's folder for the server's version, PATH).
    BACKUP_DIR: str | None = None
    PG_BIN_DIR: str | None = None
    # Recovery codes: a salted password hash (ASVS V6.5.2), cheaper, since up to ten are
    # checked per attempt and each code is random (about 49 bits).
    RECOVERY_CODE_HASH_METHOD = "scrypt:16384:8:1"
    # Imports (see docs/import-export.md): how files write dates like 03/04/2015 when
    # their values do not show it ("dmy", "mdy"; None asks on the preview), and what a
    # file may hold.
    DATE_INPUT_ORDER: str | None = None
    IMPORT_MAX_BYTES = 10_000_000
    IMPORT_MAX_ROWS = 100_000
    IMPORT_MAX_COLUMNS = 200
    IMPORT_UPLOAD_TTL = 3600


def normalise_database_url(url: str) -> str:
    """Map a PostgreSQL URL to the psycopg 3 driver.

    Hosting platforms hand out ``postgres://`` and ``postgresql://`` URLs; SQLAlchemy
    would pick psycopg2 for the latter and rejects the former.

    Args:
        url: a database URL from the environment.

    Returns:
        The URL with a ``postgresql+psycopg://`` scheme when it named PostgreSQL without a
        driver, otherwise ``url`` unchanged.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def default_database_url(instance_path: str) -> str:
    """Return the SQLite default, ``<instance folder>/students.db``, as an absolute URL."""
    return f"sqlite:///{Path(instance_path) / 'students.db'}"


def load_secret_key(instance_path: str) -> str | None:
    """Return the secret key stored in the instance folder, or ``None`` when there is none."""
    path = Path(instance_path) / SECRET_KEY_FILE
    try:
        key = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return key or None


def write_secret_key(instance_path: str) -> Path:
    """Generate a secret key into the instance folder unless one is already there.

    The file is created with mode 0600 and exclusively, so concurrent callers agree on
    one key.

    Args:
        instance_path: the application's instance folder; created when missing.

    Returns:
        The path of the key file.
    """
    folder = Path(instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SECRET_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    return path


TRUE_WORDS = {"1", "true", "yes", "on"}


def env_bool(name: str) -> bool | None:
    """Read a yes/no environment variable: ``None`` when unset or empty."""
    raw = os.environ.get(name, "").strip().lower()
    return raw in TRUE_WORDS if raw else None


def env_int(name: str) -> int | None:
    """Read a whole-number environment variable: ``None`` when unset or empty.

    Raises:
        ValueError: when set to something that is not an integer (named in the message).
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None


def env_str(name: str) -> str | None:
    """Read a text environment variable: ``None`` when unset or empty."""
    return os.environ.get(name, "").strip() or None


def env_list(name: str) -> list[str] | None:
    """Read a comma-separated environment variable: ``None`` when unset or empty."""
    items = [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]
    return items or None


def _pool_setting(name: str, default: int, minimum: int) -> int:
    """Read a connection-pool setting from the environment (see ``postgres_engine_options``).

    Raises:
        ValueError: when the variable is not a whole number of at least ``minimum``.
    """
    value = env_int(name)
    if value is None:
        return default
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value


def postgres_engine_options() -> dict[str, Any]:
    """SQLAlchemy engine options for PostgreSQL, from ``DB_*`` environment variables.

    Each gunicorn worker process has its own pool, opened lazily: a sync worker serves one
    request at a time and so holds one connection (two at most), so the server sees about
    ``WEB_CONCURRENCY x (DB_POOL_SIZE + DB_MAX_OVERFLOW)`` connections at worst; keep that
    below its ``max_connections`` (100 by default), counting every host.

    * ``DB_POOL_SIZE`` (5): connections each worker keeps open once it has used them.
    * ``DB_MAX_OVERFLOW`` (5): extra connections a worker may open under a burst.
    * ``DB_POOL_TIMEOUT`` (10 s): how long a request waits for a free connection before
      the app answers 503 (below gunicorn's 30 s worker timeout).
    * ``DB_POOL_RECYCLE`` (1800 s): connections older than this are replaced, before
      firewalls, proxies or PgBouncer drop idle ones; -1 never recycles.
    * ``DB_CONNECT_TIMEOUT`` (5 s): how long opening a connection may take, so an
      unreachable server fails a request (and ``/healthz``) quickly instead of hanging.

    ``pool_pre_ping`` is always on: a connection that died while idle in the pool (a
    server restart, a failover) is replaced before a request uses it, not in its face.

    Raises:
        ValueError: when a variable is not a whole number in range.
    """
    return {
        "pool_pre_ping": True,
        "pool_size": _pool_setting("DB_POOL_SIZE", 5, minimum=1),
        "max_overflow": _pool_setting("DB_MAX_OVERFLOW", 5, minimum=0),
        "pool_timeout": _pool_setting("DB_POOL_TIMEOUT", 10, minimum=1),
        "pool_recycle": _pool_setting("DB_POOL_RECYCLE", 1800, minimum=-1),
        # libpq's connect_timeout, in seconds, which psycopg passes on.
        "connect_args": {"connect_timeout": _pool_setting("DB_CONNECT_TIMEOUT", 5, minimum=1)},
    }


def load_config(app: Flask, overrides: dict[str, Any] | None = None) -> None:
    """Fill ``app.config`` from the layers described in the module docstring.

    Args:
        app: the application being created.
        overrides: settings that win over every other layer (used by tests).
    """
    app.config.from_object(DefaultConfig)

    env = os.environ
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        env.get("DATABASE_URL") or default_database_url(app.instance_path)
    )
    if env.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = env["SECRET_KEY"]
        app.config["SECRET_KEY_SOURCE"] = "environment"
    for name, read in (
        ("SESSION_COOKIE_SECURE", env_bool),
        ("FORCE_HTTPS", env_bool),
        ("HSTS_SECONDS", env_int),
        ("PROXY_COUNT", env_int),
        ("TRUSTED_HOSTS", env_list),
        ("SESSION_IDLE_MINUTES", env_int),
        ("LOGIN_MAX_FAILURES", env_int),
        ("LOGIN_DELAY_SECONDS", env_int),
        ("LOGIN_MAX_DELAY_MINUTES", env_int),
        ("LOGIN_FORGET_HOURS", env_int),
        ("LOGIN_RATE_LIMIT", env_str),
        ("SECOND_FACTOR_RATE_LIMIT", env_str),
        ("RATELIMIT_STORAGE_URI", env_str),
        ("BACKUP_DIR", env_str),
        ("PG_BIN_DIR", env_str),
        ("REQUIRE_2FA_FOR_ADMINS", env_bool),
        ("LOG_FORMAT", env_str),
        ("LOG_LEVEL", env_str),
        ("DATE_INPUT_ORDER", env_str),
    ):
        value = read(name)
        if value is not None:
            app.config[name] = value

    # Any other setting as FLASK_<NAME>, values parsed as JSON (FLASK_OPTIMISTIC_LOCKING=false).
    app.config.from_prefixed_env()

    app.config.from_pyfile("config.py", silent=True)
    if overrides:
        app.config.update(overrides)

    order = app.config.get("DATE_INPUT_ORDER")
    if order:
        app.config["DATE_INPUT_ORDER"] = order = str(order).strip().lower()
        if order not in DATE_ORDERS:
            raise ValueError(
                f"DATE_INPUT_ORDER must be one of {', '.join(DATE_ORDERS)}, got {order!r}"
            )
    else:
        app.config["DATE_INPUT_ORDER"] = None

    # Idle timeout: the permanent session cookie is re-issued on each request and Flask
    # refuses one older than this.
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])

    uri = normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config["SQLALCHEMY_DATABASE_URI"] = uri
    if uri == default_database_url(app.instance_path):
        # A fresh install: `flask db upgrade` creates the database in this folder.
        Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)
    # A copy: the dict in DefaultConfig is shared by every app of the process.
    configured = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if uri.startswith("postgresql"):
        # The DB_* variables are defaults; options set in a configuration layer win.
        pool = postgres_engine_options()
        configured = {
            **pool,
            **configured,
            "connect_args": {**pool["connect_args"], **configured.get("connect_args", {})},
        }
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = configured

    if app.config.get("SECRET_KEY"):
        app.config.setdefault("SECRET_KEY_SOURCE", "configuration")
    else:
        app.config["SECRET_KEY"] = load_secret_key(app.instance_path)
        app.config["SECRET_KEY_SOURCE"] = "instance file"
    if not app.config.get("SECRET_KEY"):
        # Good enough for `flask shell` or a single dev process; gunicorn.conf.py refuses
        # to serve without a persistent key, since workers would not share this one.
        app.logger.warning(
            "SECRET_KEY is not set: using a random key for this process only. "
            "Set SECRET_KEY or run `make run` once to generate instance/%s.",
            SECRET_KEY_FILE,
        )
        app.config["SECRET_KEY"] = secrets.token_hex(32)
        app.config["SECRET_KEY_SOURCE"] = "random"
