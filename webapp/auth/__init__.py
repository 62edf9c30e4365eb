"""Authentication: login, logout, the session's user, and role checks on every route."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from webapp.auth import two_factor_views, views  # noqa: E402, F401  (routes attach to bp)
