"""Error pages."""

from flask import Flask


def register(app: Flask) -> None:
    """Register the error handlers on ``app``."""
