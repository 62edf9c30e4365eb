"""Error pages rendered inside the site layout, one handler for every HTTP error.

A 500 rolls the request's session back first, so a failed transaction never leaks into
the page or the next request, and shows no traceback (the log has it).
"""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from webapp.extensions import db

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


def render_error(error: HTTPException) -> tuple[str, int]:
    """Render ``error`` with the site layout and its status code."""
    code = error.code or 500
    title, message = MESSAGES.get(code, (error.name, error.description or ""))
    if isinstance(error, CSRFError):
        title, message = "The form has expired", CSRF_MESSAGE
    return render_template("errors/error.html", code=code, title=title, message=message), code


def handle_internal_error(error: InternalServerError) -> tuple[str, int]:
    """Roll the session back, then render the 500 page (no traceback shown)."""
    db.session.rollback()
    return render_error(error)


def register(app: Flask) -> None:
    """Register the error handlers on ``app``."""
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(InternalServerError, handle_internal_error)
