"""The application's models. Import them from here so that Alembic sees every table."""

from webapp.models.student import Student

__all__ = ["Student"]
