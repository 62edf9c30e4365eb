"""The import and export feature: CSV import with a dry-run preview, and streamed export.

Its pages act on the roster, so they live under ``/students`` (``/students/import``,
``/students/export.csv``); its commands are ``flask students import`` and ``flask
students export`` (the factory adds them to the students group). The web and the command
line share the services: :mod:`.importer`, :mod:`.exporter` and, for the pages' upload
workflow, :mod:`.service`.
"""

from flask import Blueprint

bp = Blueprint("import_export", __name__, url_prefix="/students")

from webapp.import_export import views  # noqa: E402, F401  (routes attach to bp)
