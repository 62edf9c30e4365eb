"""Bulk data: CSV import with a dry-run preview, and streamed CSV export.

The web pages live under ``/students`` (``/students/import``, ``/students/export.csv``);
the command line has ``flask students import`` and ``flask students export``. Both sides
call the same services: :mod:`webapp.transfer.importer` and
:mod:`webapp.transfer.exporter`.
"""

from flask import Blueprint

bp = Blueprint("transfer", __name__, url_prefix="/students")

from webapp.transfer import views  # noqa: E402, F401  (routes attach to bp)
