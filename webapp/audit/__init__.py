"""The audit feature: a student's history, the site-wide log, revert and restore.

It reads the audit trail; the services that change students write it
(:mod:`webapp.trail`). Undoing a change is such a change: :mod:`webapp.audit.service`
makes it through the students service, which records it.
"""

from flask import Blueprint

bp = Blueprint("audit", __name__)

from webapp.audit import views  # noqa: E402, F401  (routes attach to bp)
