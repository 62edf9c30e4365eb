"""Error pages rendered inside the site layout, one handler for every HTTP error.

A 500 rolls the request's session back first, so a failed transaction never leaks into
the page or the next request, and shows no traceback (the log has it).
"""

from __future__ import annotations

import logging

from flask import Flask, g, render_template
from flask.globals import request_ctx
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy import inspect
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from webapp.database import end_session
from webapp.extensions import db, login_manager

#: What each status means for the user, and what to do about it.
MESSAGES: dict[int, tuple[str, str]] = {
    400: (
        "The request could not be understood",
        "Go back, reload the page and try again.",
    ),
    403: ("You may not do that", "Your account does not allow this action."),
    404: (
        "Page not found",
        "The page or student you asked for does not exist. It may have been deleted.",
    ),
    405: ("Not allowed", "This address does not accept that kind of request."),
    409: ("Conflict", "Someone else changed this record meanwhile. Reload and try again."),
    413: ("Too large", "What you sent is larger than this site accepts."),
    429: ("Too many requests", "Wait a moment before you try again."),
    500: (
        "Something went wrong on our side",
        "Nothing you typed was saved by the failed request. Please try again; "
        "if it keeps happening, tell your administrator.",
    ),
    503: ("Temporarily unavailable", "The site is busy. Please try again in a few seconds."),
}

CSRF_MESSAGE = (
    "Your form was sent without a valid security token, so nothing was changed. "
    "This happens when a page was open for very long or cookies are blocked. "
    "Go back, reload the page and submit again."
)


#: Seconds a client should wait before retrying after a 503 (``Retry-After``).
RETRY_AFTER_SECONDS = 5

logger = logging.getLogger(__name__)


def render_error(error: HTTPException) -> tuple[str, int, dict[str, str]]:
    """Render ``error`` with the site layout and its status code.

    The page shows the status's standard explanation from ``MESSAGES``, or the error's
    own description when the code raised it with one written for the user, and the
    ``link`` (a ``(url, text)`` pair) it carries, if any. A ``Retry-After`` the error
    carries (429, 503) is kept.
    """
    headers = {}
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        headers = {k: v for k, v in error.get_headers() if k == "Retry-After"}
    code = error.code or 500
    title, message = MESSAGES.get(code, (error.name, error.description or ""))
    if request_ctx.url_adapter is None:
        # No URLs can be built (an untrusted Host header): the layout cannot render.
        return f"{code} {title}", code, headers
    if isinstance(error, CSRFError):
        title, message = "The form has expired", CSRF_MESSAGE
    elif isinstance(error, RateLimitExceeded):
        message = (
            f"Too many attempts from your network (the limit is {error.description}). "
            "Wait a minute, then try again."
        )
    elif error.description and error.description != type(error).description:
        message = error.description
    link = getattr(error, "link", None)  # (url, text) a view attached for the next step
    page = render_template("errors/error.html", code=code, title=title, message=message, link=link)
    return page, code, headers


#: The 503 page's message when the database's disk is full.
STORAGE_FULL_MESSAGE = (
    "The server has run out of disk space, so nothing you sent was saved. Reading still "
    "works. Tell your administrator, and try again once the space is freed."
)


def storage_full(error: Exception) -> bool:
    """Whether ``error`` is the database saying its disk is full.

    SQLite's ``SQLITE_FULL`` ("database or disk is full"), PostgreSQL's SQLSTATE 53100
    (``disk_full``).
    """
    original = getattr(error, "orig", None)
    return (
        getattr(original, "sqlite_errorname", None) == "SQLITE_FULL"
        or getattr(original, "sqlstate", None) == "53100"
    )


def _account_for_page_without_database() -> None:
    """Let the page's layout show the account without querying the database.

    The layout shows who is logged in. An account loaded earlier in the request keeps
    its values when the session is closed; one that was never loaded (the database
    failed while loading it) or whose values were expired by a commit or rollback would
    need a query, which would fail again (an error in the error handler is a bare 500):
    then the page is rendered as for a visitor.
    """
    user = g.get("_login_user")
    state = inspect(user, raiseerr=False) if user is not None else None
    if user is None or (state is not None and state.expired_attributes):
        g._login_user = login_manager.anonymous_user()


def handle_database_unavailable(error: Exception) -> tuple[str, int, dict[str, str]]:
    """Answer 503 with ``Retry-After`` when the database is locked, gone, full or saturated.

    SQLite's busy timeout ran out ("database is locked"), a PostgreSQL connection was
    lost, the database's disk is full, or the pool had no free connection: none is the
    user's fault and a retry later normally succeeds. The session is rolled back so that
    the next request on this worker starts clean (:func:`end_session`); the page is
    rendered without a query; the log keeps the details, the page shows none.
    """
    _account_for_page_without_database()
    end_session()
    if storage_full(error):
        logger.error("Database disk full, answered 503: %s", error)
        unavailable = ServiceUnavailable(STORAGE_FULL_MESSAGE, retry_after=RETRY_AFTER_SECONDS)
    else:
        logger.warning("Database unavailable, answered 503: %s", error)
        unavailable = ServiceUnavailable(retry_after=RETRY_AFTER_SECONDS)
    return render_error(unavailable)


def handle_internal_error(error: InternalServerError) -> tuple[str, int, dict[str, str]]:
    """Roll the session back, then render the 500 page (no traceback shown)."""
    db.session.rollback()
    return render_error(error)


def register(app: Flask) -> None:
    """Register the error handlers on ``app``."""
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(InternalServerError, handle_internal_error)
    for error in (OperationalError, InterfaceError, PoolTimeoutError):
        app.register_error_handler(error, handle_database_unavailable)
