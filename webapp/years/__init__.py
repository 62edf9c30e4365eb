"""The school years feature: admins define the years, choose the current one, and run the
year-end rollover (pages under ``/years/`` and ``flask years ...``).

:mod:`webapp.years.service` holds the years themselves; :mod:`webapp.years.rollover` the
rollover, :mod:`~webapp.years.rollover_preview` its preview, :mod:`~webapp.years.rollover_undo`
its undo and :mod:`~webapp.years.rollover_sql` the SQL they write with. All are shared by
the views and the commands.
"""

from flask import Blueprint

bp = Blueprint("years", __name__, url_prefix="/years")

from webapp.years import views  # noqa: E402, F401  (routes attach to bp)
