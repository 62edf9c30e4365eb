"""Engine set-up per database dialect: SQLite connection pragmas and transaction control;
PostgreSQL sessions ended by the server count as lost connections; ending a request's
session whose connection died.

SQLite, through Python's ``sqlite3`` module, does not start a transaction before DDL and
starts one lazily before DML. That breaks two things we rely on: an Alembic upgrade that
must be all-or-nothing (DDL outside a transaction cannot be rolled back), and a
read-then-write request under several gunicorn workers (the deferred transaction that
later needs the write lock can fail with "database is locked"). Following SQLAlchemy's
documented recipe ("Serializable isolation / Savepoints / Transactional DDL" in the
SQLite dialect docs), we turn the driver's own transaction handling off and emit
``BEGIN`` ourselves: ``BEGIN IMMEDIATE`` when the caller asked for a write transaction
with :func:`begin_write`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, ExceptionContext
from sqlalchemy.exc import SQLAlchemyError

from webapp.extensions import db

#: How long a SQLite connection waits for another writer before failing, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 5000
#: Each SQLite connection's page cache, in KiB (SQLite's default is 2 MB): a page of a
#: large roster or a search reads a few hundred rows by key, which then stay in memory.
SQLITE_CACHE_KIB = 64 * 1024

#: Execution option that makes the next transaction on a SQLite connection a write one.
WRITE_OPTION = "webapp_write_transaction"


def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    """Configure a new SQLite DBAPI connection (runs once per pooled connection)."""
    # Hand transaction control to SQLAlchemy's "begin" event below.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        # WAL lets readers proceed while one writer writes; NORMAL sync is safe in WAL
        # mode (a power loss can lose the last commits, never corrupt the file).
        try:
            mode = cursor.execute("PRAGMA journal_mode=WAL").fetchone()
        except sqlite3.OperationalError:
            # Switching needs a moment without writers and ignores the busy timeout (an
            # old process still writing a tutorial database): keep the current mode,
            # a later connection switches.
            mode = None
        if mode and str(mode[0]).lower() == "wal":
            cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    """Emit ``BEGIN`` (or ``BEGIN IMMEDIATE`` for a write) when SQLAlchemy starts a transaction."""
    if conn.get_execution_options().get(WRITE_OPTION):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


#: SQLSTATEs with which PostgreSQL ends a session: shutdown (``pg_ctl stop``/``restart``),
#: crash of another backend, still starting up. The connection is gone.
SERVER_GONE_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})


def _postgres_on_error(context: ExceptionContext) -> None:
    """Count the server ending the session as a lost connection (``handle_error`` event).

    SQLAlchemy's psycopg dialect recognises a lost connection only once the driver has
    marked it broken, which "terminating connection due to administrator command" does not
    always do first; then neither the connection nor the pool would be invalidated, and a
    failed ``ROLLBACK`` would leave the connection checked out.
    """
    if getattr(context.original_exception, "sqlstate", None) in SERVER_GONE_SQLSTATES:
        context.is_disconnect = True


def configure_engine(engine: Engine) -> None:
    """Attach the dialect-specific event listeners to ``engine`` (idempotent).

    Args:
        engine: an engine created by Flask-SQLAlchemy or by a test.
    """
    if engine.dialect.name == "postgresql" and not event.contains(
        engine, "handle_error", _postgres_on_error
    ):
        event.listen(engine, "handle_error", _postgres_on_error)
    if engine.dialect.name != "sqlite":
        return
    if not event.contains(engine, "connect", _sqlite_on_connect):
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)


def register_engine_events(app: Flask) -> None:
    """Configure every engine of ``app``'s Flask-SQLAlchemy extension.

    Args:
        app: an application on which ``db.init_app`` has already run.
    """
    with app.app_context():
        for engine in db.engines.values():
            configure_engine(engine)
    # Registered after Flask-SQLAlchemy's own teardown, so it runs before it.
    app.teardown_appcontext(lambda error: end_session())


def end_session() -> None:
    """Roll back and close the session, even when its connection has died meanwhile.

    A connection the server ended in the middle of a request (a PostgreSQL restart:
    "terminating connection due to administrator command") fails its ``ROLLBACK`` too.
    Then the session is closed by invalidating its connections instead, which drops them
    from the pool without another round trip; the next request gets a fresh one. Without
    this, the failure escapes from the request's teardown as a bare 500.
    """
    try:
        db.session.close()
    except SQLAlchemyError:
        db.session().invalidate()


#: HTTP methods that never change data (RFC 9110 "safe" methods).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: Attribute set by :func:`own_transactions` on a view that opens its write transactions.
OWN_TRANSACTIONS_ATTR = "opens_own_write_transactions"

View = TypeVar("View", bound=Callable[..., Any])


def own_transactions(view: View) -> View:
    """Mark ``view`` as opening its own short write transactions (:func:`restart_as_write`).

    :func:`begin_write_for_unsafe_methods` then leaves it alone. The login uses this so
    that its password hash (about 0.1 to 0.5 s of scrypt) runs outside the write lock.
    """
    setattr(view, OWN_TRANSACTIONS_ATTR, True)
    return view


def register_write_transactions(app: Flask) -> None:
    """Make :func:`begin_write_for_unsafe_methods` the last ``before_request`` hook.

    Flask runs the application's hooks, then the blueprint's (``users`` checks the admin
    role there), so the hook is added at the end of each registered blueprint's list, and
    of the application's for routes outside blueprints. Call after registering every
    blueprint.

    Args:
        app: the application being created.
    """
    for scope in [None, *app.blueprints]:

        def hook(scope: str | None = scope) -> None:
            if request.blueprint == scope:
                begin_write_for_unsafe_methods()

        app.before_request_funcs.setdefault(scope, []).append(hook)


def begin_write_for_unsafe_methods() -> None:
    """Open a write transaction for a POST (or other unsafe method) that got this far.

    Runs after every hook that may refuse the request (CSRF, rate limit, login, second
    factor and role checks; see :func:`register_write_transactions`): on SQLite the write
    transaction holds the database's one write lock, which nothing a client controls may
    hold. In particular the whole request body is read first (``request.get_data``;
    forms are parsed, bounded by ``MAX_CONTENT_LENGTH``), so a client sending its body
    slowly holds a worker but not the lock (issue 18, finding 2).

    Those hooks may have read the database (Flask-Login loads the account): that read
    transaction is rolled back (nothing was written) and a write transaction begins, so
    the view's read-then-write cannot fail half-way with "database is locked". Objects
    already loaded are refreshed in it on first use.
    """
    if request.method in SAFE_METHODS:
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, OWN_TRANSACTIONS_ATTR, False):
        return
    request.get_data(parse_form_data=True)
    restart_as_write()


def restart_as_write() -> None:
    """End the session's read transaction, if any, and open a write transaction.

    Only for a session with nothing to write yet: a read transaction is rolled back.
    """
    session = db.session()
    if session.in_transaction():
        session.rollback()
    begin_write()


def begin_write() -> None:
    """Make the current request's session open a write transaction.

    On SQLite this takes the database write lock at ``BEGIN`` (``BEGIN IMMEDIATE``), so a
    transaction that reads and then writes cannot fail half-way with "database is locked";
    on PostgreSQL it changes nothing. Requests with an unsafe method get this from
    :func:`begin_write_for_unsafe_methods`; command-line code calls it before its first
    query.
    """
    if db.session().in_transaction():
        # Too late to choose the lock mode; the deferred transaction upgrades on write.
        return
    db.session.connection(execution_options={WRITE_OPTION: True})
