"""Gunicorn settings: ``gunicorn -c gunicorn.conf.py 'webapp:create_app()'`` from the project root.

Gunicorn also reads this file by itself when started from the project root. Environment:

* ``BIND``: full bind address (``host:port``, ``unix:/path``); overrides ``PORT``.
* ``PORT``: port on 127.0.0.1, 8000 by default. Serve the outside world through a reverse
  proxy; set ``BIND=0.0.0.0:8000`` only where something else restricts access.
* ``WEB_CONCURRENCY``: number of worker processes, 2 by default.

The master refuses to start without a persistent secret key (see :func:`on_starting`).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

#: The project root, beside this file; the instance folder is ``INSTANCE_PATH`` or
#: ``<root>/instance``, as in ``webapp.create_app`` run from a checkout.
PROJECT_ROOT = Path(__file__).resolve().parent
INSTANCE_PATH = Path(os.environ.get("INSTANCE_PATH", "").strip() or PROJECT_ROOT / "instance")


def _positive_int_env(name: str, default: int) -> int:
    """Read a positive integer from the environment, exiting with a clear message if invalid."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        sys.exit(f"gunicorn.conf.py: {name} must be a positive integer, got {raw!r}")
    return value


bind = [os.environ.get("BIND") or f"127.0.0.1:{_positive_int_env('PORT', 8000)}"]
workers = _positive_int_env("WEB_CONCURRENCY", 2)
wsgi_app = "webapp:create_app()"

accesslog = "-"  # stdout
errorlog = "-"  # stderr

# LOG_FORMAT=json: every line on stderr is one JSON object. The app writes one access line
# per request itself (webapp/logs.py), so gunicorn's text access log is off, and
# gunicorn's own messages go through the same JSON formatter.
if os.environ.get("LOG_FORMAT", "").strip().lower() == "json":
    accesslog = None
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            }
        },
        "handlers": {
            "error_console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "WARNING", "handlers": []},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
        },
    }

timeout = 30
graceful_timeout = 30
keepalive = 5


def _load_webapp_config() -> ModuleType:
    """Load ``webapp/config.py`` by path, without importing the ``webapp`` package.

    Importing ``webapp`` here would load the whole application into the master process,
    and workers forked after a ``kill -HUP`` reload would keep running that old code.
    """
    path = PROJECT_ROOT / "webapp" / "config.py"
    spec = importlib.util.spec_from_file_location("_gunicorn_webapp_config", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _has_persistent_secret_key() -> bool:
    """Whether every worker will find the same secret key, in the order ``load_config`` reads."""
    if os.environ.get("SECRET_KEY"):
        return True
    from flask import Config

    instance_config = Config(str(INSTANCE_PATH))
    instance_config.from_pyfile("config.py", silent=True)
    if instance_config.get("SECRET_KEY"):
        return True
    return _load_webapp_config().load_secret_key(str(INSTANCE_PATH)) is not None


def on_starting(server: Any) -> None:
    """Refuse to start without a secret key that every worker shares.

    Without one, each worker would make up its own random key, and a session cookie or
    CSRF token signed by one worker would be rejected by the next.
    """
    if _has_persistent_secret_key():
        return
    server.log.error(
        "No secret key: set the SECRET_KEY environment variable, or create %s "
        "(`make run` generates one). Refusing to start.",
        INSTANCE_PATH / "secret_key",
    )
    sys.exit(1)
