"""The OneRoster feature: export the roster as a OneRoster 1.2 CSV bundle, import one.

Pages under ``/oneroster/`` (admins only) and ``flask oneroster export|import``; both
share :mod:`.exporting` and :mod:`.importing`. Each OneRoster file has its own module in
:mod:`.files`. The bundles are checked with the spec-derived validator of
:mod:`webapp.oneroster` (a library without Flask or the database); this package is
where OneRoster meets this app's records.
"""

from flask import Blueprint

bp = Blueprint("oneroster", __name__, url_prefix="/oneroster")

from webapp.roster_exchange import views  # noqa: E402, F401  (routes attach to bp)
