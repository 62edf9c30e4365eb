"""Tutorial schema: the ``students`` table exactly as the SQLAlchemy tutorial made it.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

The application grew out of the classic SQLAlchemy tutorial, whose ``create_all`` made::

    students(id INTEGER PRIMARY KEY, name VARCHAR, email VARCHAR(55), grade INTEGER,
             birthday DATETIME, enrolled_date DATETIME)

with every column but ``id`` nullable and no index (the tutorial's ``Index('index_name',
'name')`` sits in the class body with string column names, so it never reached a table).

Upgrade, on an empty database: creates that table, empty.

Upgrade, on a tutorial-made database (a ``students`` table and no ``alembic_version``):
takes the table over. Nothing is created or changed; every row is kept as it is. Before
adopting the table it checks that

* the columns, their types and the primary key are the tutorial's, and that the table has
  no index or constraint the tutorial did not make; otherwise the upgrade stops with an
  error saying what differs, since the later revisions assume the tutorial's shape;
* the rows can be carried to the current model (see :func:`preflight`); otherwise the
  upgrade stops with an error naming the offending rows by id and how to fix each.

Both checks run before anything is written, so a refused takeover leaves the database
exactly as it was (no ``alembic_version`` table either).

:func:`preflight` lives here because it describes what a tutorial-era table must satisfy
before the later revisions may touch it; revisions 0002 and 0003 run it again for a
database that was left at 0001 or 0002 (revision files are not an importable package, so
they reach it through Alembic's registry of loaded scripts, ``op.get_context().script``).

In offline mode (``flask db upgrade --sql``) nothing can be inspected: the script creates
the table and assumes the database is empty.

Downgrade: drops the ``students`` table with all its rows. That is what "base" means (no
schema at all); back up the database first if the rows matter.
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

# revision identifiers, used by Alembic.
revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLE = "students"

#: At most this many ids are listed for one problem; the rest are counted.
MAX_IDS_SHOWN = 20


def upgrade() -> None:
    """Create the tutorial table, or adopt an existing tutorial-made one unchanged."""
    if not op.get_context().as_sql:
        bind = op.get_bind()
        inspector = sa.inspect(bind)
        if inspector.has_table(TABLE):
            _check_tutorial_shape(inspector)
            preflight(bind, enrolled_column="enrolled_date")
            return

    # Built on a MetaData without naming convention, as the tutorial's was: the primary
    # key stays unnamed (PostgreSQL calls it students_pkey), exactly like a takeover
    # table, whatever convention the application's metadata has. 0003 names it.
    op.execute(sa.schema.CreateTable(tutorial_table()))


def tutorial_table() -> sa.Table:
    """Return the tutorial's ``students`` table, as its ``create_all`` defined it."""
    return sa.Table(
        TABLE,
        sa.MetaData(),
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String()),
        sa.Column("email", sa.String(55)),
        sa.Column("grade", sa.Integer()),
        sa.Column("birthday", sa.DateTime()),
        sa.Column("enrolled_date", sa.DateTime()),
    )


def downgrade() -> None:
    """Drop the ``students`` table and every row in it (base means no schema)."""
    op.drop_table(TABLE)


# --- takeover checks ----------------------------------------------------------------


def _check_tutorial_shape(inspector: sa.Inspector) -> None:
    """Raise ``CommandError`` unless ``students`` is the tutorial's table."""
    differences: list[str] = []
    columns = {c["name"]: c for c in inspector.get_columns(TABLE)}

    expected = {c.name: c.type for c in tutorial_table().c}
    missing = sorted(set(expected) - set(columns))
    extra = sorted(set(columns) - set(expected))
    if missing:
        differences.append("missing column(s): " + ", ".join(missing))
    if extra:
        differences.append("unexpected column(s): " + ", ".join(extra))
    for name, wanted in expected.items():
        found = columns.get(name, {}).get("type")
        if found is None:
            continue
        length = getattr(wanted, "length", None)
        if not isinstance(found, type(wanted)) or getattr(found, "length", None) != length:
            differences.append(f"column {name} is {found}, expected {wanted}")

    pk = inspector.get_pk_constraint(TABLE).get("constrained_columns") or []
    if pk != ["id"]:
        differences.append(f"primary key is {pk or 'missing'}, expected [id]")
    for index in inspector.get_indexes(TABLE):
        differences.append(
            f"unexpected index {index['name']} (drop it: DROP INDEX {index['name']};)"
        )
    for kind, found in (
        ("unique constraint", inspector.get_unique_constraints(TABLE)),
        ("check constraint", inspector.get_check_constraints(TABLE)),
        ("foreign key", inspector.get_foreign_keys(TABLE)),
    ):
        for constraint in found:
            differences.append(f"unexpected {kind} {constraint.get('name') or '(unnamed)'}")

    if differences:
        raise CommandError(
            f'Refusing to take over the existing "{TABLE}" table: it is not the SQLAlchemy '
            "tutorial's table, which these migrations start from. Nothing was changed. "
            "Differences: " + "; ".join(differences) + "."
        )


# --- preflight on the rows ----------------------------------------------------------


def _date_of(bind: sa.Connection, column: str) -> str:
    """SQL for the calendar date of ``column``: the one dialect-specific expression.

    SQLite stores SQLAlchemy's DATETIME/DATE as ISO text, and ``date()`` keeps the date
    part (NULL for text that is not a date); PostgreSQL casts a timestamp or date.
    """
    if bind.dialect.name == "sqlite":
        return f"date({column})"
    return f"CAST({column} AS DATE)"


def _ids(rows: list[sa.Row]) -> list[int]:
    return [row[0] for row in rows]


def _show(ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:MAX_IDS_SHOWN])
    if len(ids) > MAX_IDS_SHOWN:
        shown += f" and {len(ids) - MAX_IDS_SHOWN} more"
    return shown


def _in_list(ids: list[int]) -> str:
    return ", ".join(str(i) for i in ids[:MAX_IDS_SHOWN]) + (
        ", ..." if len(ids) > MAX_IDS_SHOWN else ""
    )


def find_problems(bind: sa.Connection, enrolled_column: str) -> list[str]:
    """Return one line per kind of row that the model's constraints would reject.

    The checks mirror the constraints that revisions 0002 and 0003 add (and the limits in
    ``webapp.models.student`` at the time of writing, copied here so that the migration
    does not change when the model does):

    * name NULL, empty or blank, or longer than 100 characters;
    * grade NULL or outside 1..12;
    * email longer than 254 characters; the same email on several rows, ignoring case
      (blank emails do not count: revision 0003 turns them into NULL);
    * birthday or enrollment date that is not a date (SQLite stores text), birthday
      before 1900-01-01, enrollment date before the birthday (compared as dates);
    * enrollment date NULL. It is reported rather than filled in: the column becomes NOT
      NULL, and the true enrollment date is unknown, so inventing one (say, today) would
      store a wrong fact silently. The operator sets the real date or deletes the row.

    Args:
        bind: the migration's connection.
        enrolled_column: ``enrolled_date`` on the tutorial schema, ``enrolled_on`` from
            revision 0002 on.

    Returns:
        Human-readable problem lines, each naming the row ids and a fix; empty when the
        rows are fine.
    """
    birthday = _date_of(bind, "birthday")
    enrolled = _date_of(bind, enrolled_column)

    def ids_where(condition: str) -> list[int]:
        return _ids(
            bind.execute(sa.text(f"SELECT id FROM {TABLE} WHERE {condition} ORDER BY id")).all()
        )

    problems: list[str] = []

    def report(ids: list[int], what: str, fix: str) -> None:
        # {ids}: the ids as an SQL list; {one}: the id itself when there is just one row.
        if ids:
            one = str(ids[0]) if len(ids) == 1 else "<id>"
            problems.append(
                f"{what}: id {_show(ids)}. Fix: {fix.format(ids=_in_list(ids), one=one)}"
            )

    report(
        ids_where("name IS NULL OR length(trim(name)) < 1"),
        "name is NULL, empty or blank",
        "UPDATE students SET name = '<full name>' WHERE id = {one}; "
        "or DELETE FROM students WHERE id IN ({ids});",
    )
    report(
        ids_where("length(name) > 100"),
        "name is longer than 100 characters",
        "UPDATE students SET name = '<at most 100 characters>' WHERE id = {one};",
    )
    report(
        ids_where("grade IS NULL OR grade < 1 OR grade > 12"),
        "grade is NULL or outside 1..12",
        "UPDATE students SET grade = <1 to 12> WHERE id = {one}; "
        "or DELETE FROM students WHERE id IN ({ids});",
    )
    report(
        ids_where("length(email) > 254"),
        "email is longer than 254 characters",
        "UPDATE students SET email = NULL WHERE id IN ({ids}); (or a shorter address)",
    )

    duplicates = bind.execute(
        sa.text(
            f"SELECT lower(email), id FROM {TABLE} WHERE lower(email) IN ("
            f"  SELECT lower(email) FROM {TABLE} WHERE length(trim(email)) > 0"
            "   GROUP BY lower(email) HAVING count(*) > 1"
            ") ORDER BY lower(email), id"
        )
    ).all()
    groups: dict[str, list[int]] = defaultdict(list)
    for email, row_id in duplicates:
        groups[email].append(row_id)
    if groups:
        listed = "; ".join(f"id {_show(ids)} share {email!r}" for email, ids in groups.items())
        others = [row_id for ids in groups.values() for row_id in ids[1:]]
        problems.append(
            "email is used by several rows (emails are unique ignoring case): "
            f"{listed}. Fix: keep the address on one row of each group, e.g. the first: "
            f"UPDATE students SET email = NULL WHERE id IN ({_in_list(others)}); "
            "(or give each other row its own address, or DELETE it)"
        )

    report(
        ids_where(f"birthday IS NOT NULL AND {birthday} IS NULL"),
        "birthday is not a valid date",
        "UPDATE students SET birthday = '<YYYY-MM-DD>' WHERE id = {one}; "
        "or UPDATE students SET birthday = NULL WHERE id IN ({ids});",
    )
    report(
        ids_where(f"{birthday} < '1900-01-01'"),
        "birthday is before 1900-01-01",
        "UPDATE students SET birthday = '<YYYY-MM-DD>' WHERE id = {one}; "
        "or UPDATE students SET birthday = NULL WHERE id IN ({ids});",
    )
    report(
        ids_where(f"{enrolled_column} IS NULL"),
        f"{enrolled_column} is NULL (the column becomes NOT NULL; the real date is unknown)",
        f"UPDATE students SET {enrolled_column} = '<YYYY-MM-DD>' WHERE id = {{one}}; "
        "or DELETE FROM students WHERE id IN ({ids});",
    )
    report(
        ids_where(f"{enrolled_column} IS NOT NULL AND {enrolled} IS NULL"),
        f"{enrolled_column} is not a valid date",
        f"UPDATE students SET {enrolled_column} = '<YYYY-MM-DD>' WHERE id = {{one}};",
    )
    report(
        ids_where(f"{enrolled} < {birthday}"),
        f"{enrolled_column} is before the birthday",
        f"UPDATE students SET {enrolled_column} = '<YYYY-MM-DD>' WHERE id = {{one}}; "
        "(or correct the birthday)",
    )
    return problems


def preflight(bind: sa.Connection, enrolled_column: str) -> None:
    """Raise ``CommandError`` naming every offending row if :func:`find_problems` finds any.

    Runs before the calling revision writes anything, so a refused upgrade changes nothing
    (Flask-Migrate prints the message as ``Error: ...`` and exits with status 1).
    """
    if op.get_context().as_sql:
        return  # offline mode: there are no rows to look at
    problems = find_problems(bind, enrolled_column)
    if problems:
        raise CommandError(
            f"Cannot upgrade: {len(problems)} kind(s) of row in table {TABLE} would break "
            "the new constraints. Nothing was changed. Fix these rows, then run "
            "`flask db upgrade` again:\n  - " + "\n  - ".join(problems)
        )
