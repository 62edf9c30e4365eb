"""Student records: a Flask application for school office staff and teachers.

``create_app`` is the application factory used by ``flask --app webapp`` and by gunicorn
(``gunicorn 'webapp:create_app()'``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.routing import BaseConverter, IntegerConverter, Map

from webapp import models  # noqa: F401  (registers the tables with the metadata)
from webapp.config import load_config
from webapp.database import register_engine_events, register_write_transactions
from webapp.extensions import csrf, db, limiter, login_manager, migrate
from webapp.fields.html import date_html, show_value
from webapp.logs import configure_logging
from webapp.models.types import MAX_ID
from webapp.models.user import AnonymousUser
from webapp.security import register_security

#: The package's folder. An installed wheel holds ``templates/``, ``static/`` and
#: ``migrations/`` here; a source checkout holds them beside it, at the project root.
PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The folder ``name`` (``templates``, ``static`` or ``migrations``) of this install.

    Args:
        name: the folder's name at the project root.

    Returns:
        ``<package>/<name>`` when the package was installed from a wheel (which maps the
        root's folders into the package), else ``<project root>/<name>``.
    """
    packaged = PACKAGE_DIR / name
    return packaged if packaged.is_dir() else PACKAGE_DIR.parent / name


def instance_path() -> str | None:
    """The instance folder (the SQLite database, the secret key, uploads), if configured.

    Returns:
        ``INSTANCE_PATH`` from the environment, made absolute; ``None`` leaves Flask's
        default: ``instance/`` at the project root in a source checkout, and
        ``<virtualenv>/var/webapp-instance`` for an installed package.
    """
    configured = os.environ.get("INSTANCE_PATH", "").strip()
    return str(Path(configured).resolve()) if configured else None


class RecordIdConverter(IntegerConverter):
    """The ``<int:...>`` URL converter, limited to ids a record can have (1 to ``MAX_ID``).

    Werkzeug's own accepts any number of digits, so ``/students/99999999999999999999``
    reached the database and overflowed its integer type (a 500); with this converter
    such a URL matches no route: a 404.
    """

    def __init__(
        self,
        map: Map,  # (Werkzeug's parameter names)
        fixed_digits: int = 0,
        min: int | None = 1,
        max: int | None = MAX_ID,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the application.

    Args:
        config: settings that override every other configuration layer (tests pass the
            database URL and ``TESTING`` here).

    Returns:
        The configured Flask application. Nothing touches the database here: the schema
        is made and evolved by ``flask db upgrade``, never by ``create_all``.
    """
    app = Flask(
        __name__,
        instance_path=instance_path(),
        instance_relative_config=True,
        template_folder=str(resource_dir("templates")),
        static_folder=str(resource_dir("static")),
    )
    app.jinja_env.filters.update(show=show_value, date=date_html)
    converters: dict[str, type[BaseConverter]] = {"int": RecordIdConverter}
    app.url_map.converters.update(converters)
    load_config(app, config)
    register_extensions(app)
    register_blueprints(app)
    register_write_transactions(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    """Bind the unbound extension objects of :mod:`webapp.extensions` to ``app``."""
    # Imported here, as the blueprints are: importing any module of the package runs
    # this one, and should not load a feature.
    from webapp.auth.access import require_login, require_second_factor
    from webapp.auth.service import load_user

    configure_logging(app)  # first: its request timer starts before the other hooks
    db.init_app(app)
    register_engine_events(app)
    migrate.init_app(app, db, directory=str(resource_dir("migrations")))
    csrf.init_app(app)
    register_security(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see this page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user)
    login_manager.anonymous_user = AnonymousUser
    limiter.init_app(app)
    # Hooks run in this order: CSRF check, rate limit, login, second factor, the
    # blueprint's role check, and only then the write transaction (register_blueprints).
    app.before_request(require_login)
    app.before_request(require_second_factor)


def register_blueprints(app: Flask) -> None:
    """Register one blueprint per feature (the dashboard is the home page, ``/``)."""
    from webapp.audit import bp as audit_bp
    from webapp.auth import bp as auth_bp
    from webapp.dashboard import bp as dashboard_bp
    from webapp.guardians import bp as guardians_bp
    from webapp.health import bp as health_bp
    from webapp.homerooms import bp as homerooms_bp
    from webapp.import_export import bp as import_export_bp
    from webapp.roster_exchange import bp as oneroster_bp
    from webapp.students import bp as students_bp
    from webapp.users import bp as users_bp
    from webapp.years import bp as years_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(students_bp)
    app.register_blueprint(import_export_bp)
    app.register_blueprint(users_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(years_bp)
    app.register_blueprint(homerooms_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(guardians_bp)
    app.register_blueprint(oneroster_bp)


def register_errorhandlers(app: Flask) -> None:
    """Render error pages inside the site layout."""
    from webapp.errors import register

    register(app)


def register_commands(app: Flask) -> None:
    """Add the project's click command groups to ``flask``."""
    from webapp.backup.cli import backup_cli
    from webapp.deploy_check import check_deploy_command
    from webapp.import_export.cli import export_command, import_command
    from webapp.roster_exchange.cli import oneroster_cli
    from webapp.students.cli import students_cli
    from webapp.users.cli import users_cli
    from webapp.years.cli import years_cli

    # `flask students import/export`: the import_export feature's commands, in the
    # students group (students does not depend on import_export).
    students_cli.add_command(import_command)
    students_cli.add_command(export_command)
    app.cli.add_command(students_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(years_cli)
    app.cli.add_command(check_deploy_command)
    app.cli.add_command(backup_cli)
    app.cli.add_command(oneroster_cli)
