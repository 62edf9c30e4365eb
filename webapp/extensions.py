"""Flask extension objects, created unbound and attached to an app by ``create_app``.

Keeping them here (the cookiecutter-flask layout) lets any module import ``db`` without
importing the application factory, and keeps import free of side effects.
"""

from typing import TYPE_CHECKING, Any

import orjson
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

#: Constraint names used by every table, so that migrations can refer to constraints by
#: a predictable name on SQLite (batch mode) and PostgreSQL alike. See
#: https://alembic.sqlalchemy.org/en/latest/naming.html
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for every model, carrying the constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def json_dumps(value: Any) -> str:
    """Serialise a JSON column's value (the audit trail's changes) with orjson.

    SQLAlchemy's ``json_serializer`` for every engine: orjson is faster than the standard
    library on the audit trail's small dicts, which an import writes by the hundred
    thousand (``bench/results/import-export-design.md``). Compact output (no spaces).

    Args:
        value: dicts, lists, strings, integers, floats, booleans and ``None``.

    Returns:
        The JSON text.

    Raises:
        TypeError: for a value JSON cannot hold (a dict key that is not a string, an
            integer over 64 bits, an unknown type).
    """
    return orjson.dumps(value).decode()


db = SQLAlchemy(
    model_class=Base,
    engine_options={"json_serializer": json_dumps, "json_deserializer": orjson.loads},
)

if TYPE_CHECKING:
    # mypy cannot use an attribute (``db.Model``) as a base class, so it sees the models'
    # base as the declarative base; at run time it is Flask-SQLAlchemy's model class,
    # built on that base (python/mypy#8603, pallets-eco/flask-sqlalchemy#1327).

    class Model(Base):
        """The base of every model (Flask-SQLAlchemy's ``db.Model``)."""

        __abstract__ = True

else:
    Model = db.Model

migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
#: Per-client-address rate limits; storage from RATELIMIT_STORAGE_URI (memory by default,
#: which counts per worker process: use redis:// or memcached:// for a shared count).
limiter = Limiter(key_func=get_remote_address)
