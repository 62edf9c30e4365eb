"""Health check for load balancers and deploy scripts.

``GET /healthz`` answers 200 only when the database is reachable and its schema is at the
migration head, so a deploy can wait for it after ``flask db upgrade`` and a load balancer
takes an instance out of rotation when its database goes away. Every answer has the same
JSON shape::

    {"status": "ok", "database": "ok", "revision": "<current>", "head": "<head>"}

with ``"status": "error"`` or ``"degraded"`` and a ``"reason"`` on a 503.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from flask import Blueprint, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from webapp.extensions import db

bp = Blueprint("health", __name__)


@lru_cache(maxsize=8)
def _script_directory(directory: str) -> ScriptDirectory:
    """The migration scripts in ``directory``, read once per process.

    Cached per directory: reading them parses every revision file, and the files only
    change with a new release (which restarts the workers).
    """
    config = current_app.extensions["migrate"].migrate.get_config(directory)
    return ScriptDirectory.from_config(config)


def _scripts() -> ScriptDirectory:
    return _script_directory(str(current_app.extensions["migrate"].directory))


def migration_heads() -> tuple[str, ...]:
    """Return the head revisions of the application's migrations, sorted (cached)."""
    return tuple(sorted(_scripts().get_heads()))


def is_known_revision(revision: str) -> bool:
    """Whether ``revision`` names one of the application's migration scripts."""
    try:
        return _scripts().get_revision(revision) is not None
    except (CommandError, RevisionError):  # unknown, or an ambiguous partial id
        return False


def _join(revisions: tuple[str, ...]) -> str | None:
    """Show revisions as one string: ``None`` for none, comma-separated for several heads."""
    return ",".join(revisions) or None


def database_status() -> tuple[int, dict[str, Any]]:
    """Check that the database is reachable and migrated to the head revision.

    Used by ``/healthz`` and by ``flask check-deploy``.

    Returns:
        The HTTP status to answer (200 or 503) and the fields: ``status`` ("ok",
        "error" or "degraded"), ``database``, ``revision``, ``head`` and, unless ok, a
        ``reason``.
    """
    head = migration_heads()
    try:
        # A connection of its own, not the request's session: nothing to roll back later.
        with db.engine.connect() as connection:
            current = tuple(sorted(MigrationContext.configure(connection).get_current_heads()))
    except SQLAlchemyError as error:
        # The driver's message may name hosts or users: log it, do not serve it.
        current_app.logger.warning("Health check: database unreachable: %s", error)
        return 503, {
            "status": "error",
            "database": "error",
            "revision": None,
            "head": _join(head),
            "reason": "database unreachable",
        }

    fields: dict[str, Any] = {"database": "ok", "revision": _join(current), "head": _join(head)}
    if current == head:
        return 200, {"status": "ok", **fields}
    if not current:
        return 503, {"status": "error", "reason": "database not migrated", **fields}
    if all(is_known_revision(revision) for revision in current):
        return 503, {"status": "degraded", "reason": "database behind migration head", **fields}
    # Typically a rolling deploy: a newer release has already upgraded the database.
    return 503, {
        "status": "degraded",
        "reason": "database revision unknown to this release",
        **fields,
    }


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Report whether the database is reachable and migrated to the head revision."""
    code, fields = database_status()
    return jsonify(fields), code
