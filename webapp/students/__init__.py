"""The students feature: the roster, student detail, create, edit and delete."""

from flask import Blueprint

bp = Blueprint("students", __name__, url_prefix="/students")

from webapp.students import bulk_views, views  # noqa: E402, F401  (routes attach to bp)
