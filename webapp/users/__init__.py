"""Account administration: the ``/users/`` pages (admins only) and ``flask users``."""

from flask import Blueprint

bp = Blueprint("users", __name__, url_prefix="/users")

from webapp.users import views  # noqa: E402, F401  (routes attach to bp)
