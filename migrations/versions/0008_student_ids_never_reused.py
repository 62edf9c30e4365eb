"""Student ids are never reused: ``AUTOINCREMENT`` on SQLite.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22

Without ``AUTOINCREMENT``, SQLite gives a new row the highest id in use plus one, so
after deleting the newest student the next one gets its id, and with it the deleted
student's audit history, and the deleted student can no longer be restored under its id.
PostgreSQL's sequences never hand out an id twice, so nothing changes there.

Upgrade, on SQLite: rebuilds ``students`` (batch mode) as ``INTEGER PRIMARY KEY
AUTOINCREMENT``, copying every row unchanged; the functional email index, which SQLite's
reflection cannot see and a rebuild would lose, is dropped before and created again after.
That inline form cannot carry a constraint name, so on SQLite the primary key is unnamed
from here on (SQLite never refers to it by name).

Downgrade, on SQLite: rebuilds the table without ``AUTOINCREMENT`` and with the primary
key named ``pk_students`` again; rows are kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

EMAIL_INDEX = "uq_students_email_lower"


@contextmanager
def _rebuilt_students(autoincrement: bool) -> Iterator[None]:
    """Rebuild ``students`` on SQLite with or without AUTOINCREMENT, keeping its index."""
    if op.get_context().dialect.name != "sqlite":
        yield
        return
    op.drop_index(EMAIL_INDEX, table_name="students")
    with op.batch_alter_table(
        "students", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ) as batch:
        if not autoincrement:
            # AUTOINCREMENT needs the inline "id INTEGER PRIMARY KEY" form, which has no
            # constraint name; give the key its conventional name back.
            batch.create_primary_key("pk_students", ["id"])
    yield
    op.create_index(EMAIL_INDEX, "students", [sa.text("lower(email)")], unique=True)


def upgrade() -> None:
    """Make SQLite's ``students.id`` AUTOINCREMENT."""
    with _rebuilt_students(autoincrement=True):
        pass


def downgrade() -> None:
    """Make it a plain rowid alias again."""
    with _rebuilt_students(autoincrement=False):
        pass
