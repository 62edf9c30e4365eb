"""The dashboard view: the home page of every logged-in account."""

from __future__ import annotations

from flask import render_template

from webapp.dashboard import bp, service
from webapp.fields.enrollment import ENROLLMENT
from webapp.fields.guardian import GUARDIAN, GUARDIAN_LINK
from webapp.fields.school_year import SCHOOL_YEAR
from webapp.fields.student import STUDENT
from webapp.models import STATUS_LABELS, Status

#: How the latest changes name a changed field: its declaration's noun.
FIELD_NOUNS = {
    field.name: field.noun
    for record in (SCHOOL_YEAR, GUARDIAN_LINK, GUARDIAN, STUDENT, ENROLLMENT)
    for field in record
}


@bp.get("/")
def index() -> str:
    """The current school year at a glance, with charts and their data as tables."""
    return render_template(
        "dashboard/index.html",
        board=service.dashboard(),
        labels={status.value: STATUS_LABELS[status] for status in Status},
        nouns=FIELD_NOUNS,
    )
