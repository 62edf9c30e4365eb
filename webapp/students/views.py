"""Views of the students blueprint."""

from webapp.students import bp


@bp.get("/")
def index() -> str:
    """The roster."""
    return "roster"
