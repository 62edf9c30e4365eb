"""Application logs: one line per event, control characters escaped, JSON if asked.

``LOG_FORMAT=text`` (the default) writes ``time level [request id] logger: message``;
``LOG_FORMAT=json`` writes one JSON object per line (python-json-logger). Either way:

* control characters in messages are escaped (``\\n`` becomes the two characters ``\\n``),
  so text typed by a client, such as an email with a newline, cannot forge a log line
  (issue 18, finding 5);
* every line of a request carries its request id (``X-Request-ID``: a proxy's, when
  ``PROXY_COUNT`` trusts one, else a new one, echoed in the response), the account id,
  the route pattern and method, and the status and duration in milliseconds once known;
* one access line per request (logger ``webapp.access``) has them all.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from typing import Any

from flask import Flask, g, has_request_context, request
from flask.logging import default_handler
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import inspect as sa_inspect
from werkzeug.wrappers import Response

#: The request fields on every record (``None`` outside a request or before they are known).
REQUEST_FIELDS = ("request_id", "account", "method", "route", "status", "duration_ms")

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
JSON_FIELDS = ("asctime", "levelname", "name", "message", *REQUEST_FIELDS)

#: An incoming request id we accept from a trusted proxy.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")

access_logger = logging.getLogger("webapp.access")

#: Control characters (C0, DEL, C1) and the Unicode line and paragraph separators.
_CONTROLS = [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]
_ESCAPES = {code: ascii(chr(code))[1:-1] for code in _CONTROLS}


def escape_controls(text: str) -> str:
    """Return ``text`` with each control character written as a Python escape
    (``\\n``, ``\\x1b``, ``\\u2028``); a backslash stays as it is."""
    return text.translate(_ESCAPES)


def _account() -> int | None:
    """The id of the account of the request, if Flask-Login loaded one.

    It reads the identity map's key only: no attribute of the user, which may be expired
    after a rollback (``is_authenticated`` reads ``active``), so that logging never issues
    a query, which would fail while the database is down and turn a 503 into a 500.
    Flask-Login's anonymous user is not mapped.
    """
    user = g.get("_login_user")
    if user is None:
        return None
    identity = sa_inspect(user, raiseerr=False)
    if identity is None or identity.identity is None:
        return None
    return int(identity.identity[0])


class RequestContextFilter(logging.Filter):
    """Escape the message's control characters and add :data:`REQUEST_FIELDS` to a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place; never drops it."""
        record.msg = escape_controls(record.getMessage())
        record.args = None
        context: dict[str, Any] = dict.fromkeys(REQUEST_FIELDS)
        if has_request_context():
            started = g.get("log_started")
            context.update(
                request_id=request_id(),
                account=_account(),
                method=request.method,
                route=request.url_rule.rule if request.url_rule else None,
                duration_ms=(round((time.perf_counter() - started) * 1000, 1) if started else None),
            )
        for name, value in context.items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        return True


def request_id() -> str:
    """The current request's id: a trusted proxy's ``X-Request-ID``, else a new one."""
    if "request_id" not in g:
        incoming = request.headers.get("X-Request-ID", "")
        trusted = bool(getattr(g, "trust_request_id", False))
        g.request_id = (
            incoming if trusted and REQUEST_ID_PATTERN.fullmatch(incoming) else uuid.uuid4().hex
        )
    return str(g.request_id)


def make_handler(log_format: str) -> logging.Handler:
    """A stderr handler writing ``text`` or ``json`` lines (see the module docstring).

    Raises:
        ValueError: for another format.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestContextFilter())
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                list(JSON_FIELDS),
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    elif log_format == "text":
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    else:
        raise ValueError(f"LOG_FORMAT must be text or json, got {log_format!r}")
    # A mark for configure_logging, which replaces the handler it added before.
    handler.webapp_handler = True  # type: ignore[attr-defined]  # (a mark of our own)
    return handler


def _start(app: Flask) -> None:
    g.log_started = time.perf_counter()
    g.trust_request_id = bool(app.config["PROXY_COUNT"])


def _access(response: Response) -> Response:
    """Log one line per request and echo its id (an ``after_request`` hook)."""
    response.headers["X-Request-ID"] = request_id()
    access_logger.info(
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={"status": response.status_code},
    )
    return response


def configure_logging(app: Flask) -> None:
    """Send the ``webapp`` loggers' records to stderr in ``LOG_FORMAT``, at ``LOG_LEVEL``.

    Replaces Flask's default handler; idempotent when several apps are made in one
    process (tests). Register before the other ``before_request`` hooks, so that the
    duration counts them.

    Raises:
        ValueError: an unknown ``LOG_FORMAT``.
    """
    logger = logging.getLogger("webapp")
    for old in [h for h in logger.handlers if getattr(h, "webapp_handler", False)]:
        logger.removeHandler(old)
    logger.removeHandler(default_handler)
    logger.addHandler(make_handler(str(app.config["LOG_FORMAT"]).lower()))
    logger.setLevel(str(app.config["LOG_LEVEL"]).upper())
    app.before_request(lambda: _start(app))
    app.after_request(_access)
