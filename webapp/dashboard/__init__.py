"""The dashboard, the home page: the current school year at a glance.

Enrolled students per grade, status counts, new enrollments and departures per month
over the last twelve months, and the latest changes. Charts are drawn in the browser by
Chart.js (``static/vendor/chartjs``) from the tables that also carry their data for
screen readers and print.
"""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from webapp.dashboard import views  # noqa: E402, F401  (routes attach to bp)
