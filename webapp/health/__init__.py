"""Health check for load balancers and deploy scripts."""

from flask import Blueprint

bp = Blueprint("health", __name__)
