"""The dashboard view: the home page of every logged-in account."""

from __future__ import annotations

from flask import render_template

from webapp.dashboard import bp, service
from webapp.models import STATUS_LABELS, Status


@bp.get("/")
def index() -> str:
    """The current school year at a glance, with charts and their data as tables."""
    return render_template(
        "dashboard/index.html",
        board=service.dashboard(),
        labels={status.value: STATUS_LABELS[status] for status in Status},
    )
