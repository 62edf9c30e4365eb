"""The homerooms feature: class groups per school year, their teachers and students, the
printable class list, and the teacher's scope (pages under ``/homerooms/``).

:mod:`webapp.homerooms.scope` says which students an account may see (a teacher: those of
the homerooms they teach in the current year); every list and lookup of students goes
through it. :mod:`webapp.homerooms.service` holds the homerooms and the assignments,
shared by the views, the roster's bulk actions and the audit feature's undo.
"""

from flask import Blueprint

bp = Blueprint("homerooms", __name__, url_prefix="/homerooms")

from webapp.homerooms import views  # noqa: E402, F401  (routes attach to bp)
