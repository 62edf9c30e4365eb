"""The guardians feature: a student's guardians and contacts (pages under
``/students/<id>/guardians/`` and ``/guardians/<id>``).

The reads and writes are :mod:`webapp.students.guardians`' (the student's page shows the
guardians too), the contact lists :mod:`webapp.contacts`'; every page loads its
student through :func:`webapp.students.service.get_student`, so the viewer's scope applies.
"""

from flask import Blueprint

bp = Blueprint("guardians", __name__)

from webapp.guardians import views  # noqa: E402, F401  (routes attach to bp)
