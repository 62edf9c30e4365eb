"""Tutorial schema: the ``students`` table as the SQLAlchemy tutorial made it.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

The application grew out of the SQLAlchemy lesson whose seed article's ``create_all``
made::

    students(id INTEGER PRIMARY KEY, name VARCHAR, email VARCHAR(55), grade INTEGER,
             birthday DATETIME, enrolled_date DATETIME)

with every column but ``id`` nullable and no index (the lesson's ``Index('index_name',
'name')`` sits in the class body with string column names, so it never reached a table).
The lesson's CRUD chapter adds ``__table_args__ = (PrimaryKeyConstraint('id',
name='id_pk'), UniqueConstraint('email', name='unique_email'), CheckConstraint('grade
BETWEEN 1 AND 12', name='grade_between_1_and_12'))``, and a learner who moves the index
into ``__table_args__`` gets ``index_name`` on ``name`` too.

Upgrade, on an empty database: creates the seed article's table, empty.

Upgrade, on a tutorial-made database (a ``students`` table and no ``alembic_version``):
takes the table over, keeping every row as it is. Before changing anything it checks that

* the columns, their types and the primary key are the tutorial's, and that every other
  index or constraint is one of the lesson's (any subset of ``id_pk``, ``unique_email``,
  ``grade_between_1_and_12`` and ``index_name``, on the columns the lesson gives them);
  otherwise the upgrade stops with an error listing what differs, since the later
  revisions assume the tutorial's shape;
* the rows can be carried to the current model (see :func:`preflight`); otherwise the
  upgrade stops with an error naming the offending rows by id and how to fix each (for
  instance two emails that ``unique_email`` let through because they differ in case only).

Then the lesson's own constraints and index are dropped and the primary key gets its
default name back, so that the table is the seed article's, whichever lesson chapter made
it; revision 0003 adds the app's named equivalents: ``uq_students_email_lower`` (emails
unique *ignoring case*) for ``unique_email``, ``ck_students_grade_range`` for
``grade_between_1_and_12``, ``ix_students_name`` for ``index_name`` and ``pk_students``
for ``id_pk``. On SQLite, dropping a constraint rebuilds the table (every row copied
unchanged, values as stored). On PostgreSQL the ``id`` sequence is moved past the largest
id, which a learner's ``merge`` with an id of their own may have left behind it. All of
this runs in the upgrade's one transaction, so a refused takeover leaves the database
exactly as it was (no ``alembic_version`` either).

:func:`preflight` lives here because it describes what a tutorial-era table must satisfy
before the later revisions may touch it; revisions 0002 and 0003 run it again for a
database that was left at 0001 or 0002 (revision files are not an importable package, so
they reach it through Alembic's registry of loaded scripts, ``op.get_context().script``).

In offline mode (``flask db upgrade --sql``) nothing can be inspected: the script creates
the table and assumes the database is empty.

Downgrade: drops the ``students`` table with all its rows. That is what "base" means (no
schema at all); back up the database first if the rows matter. (To give a table back to
the lesson's scripts, downgrade to ``0001``, not below: see docs/from-the-tutorial.md.)
"""

from __future__ import annotations

import weakref
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
    """Create the tutorial table, or take over an existing tutorial-made one."""
    if not op.get_context().as_sql:
        bind = op.get_bind()
        inspector = sa.inspect(bind)
        if inspector.has_table(TABLE):
            lesson_extras = _check_tutorial_shape(inspector)
            preflight(bind, enrolled_column="enrolled_date")
            _drop_lesson_extras(bind, lesson_extras)
            sequence_past_the_rows(bind)
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

#: The lesson's named primary key (its CRUD chapter); the seed article's is unnamed.
LESSON_PRIMARY_KEY = "id_pk"
#: Default names of an unnamed primary key: SQLite reports none, PostgreSQL this one.
DEFAULT_PRIMARY_KEYS = {None, f"{TABLE}_pkey"}
#: The lesson's unique constraint: name -> columns (its CRUD chapter).
LESSON_UNIQUE = {"unique_email": ["email"]}
#: The lesson's CHECK constraint: name -> its SQL, as each database reports it back
#: (SQLite keeps the text as written; PostgreSQL rewrites BETWEEN), normalised by _sql().
LESSON_CHECKS = {
    "grade_between_1_and_12": {"grade between 1 and 12", "grade >= 1 and grade <= 12"},
}
#: The lesson's index, when a learner moves it into ``__table_args__``: name -> columns.
LESSON_INDEXES = {"index_name": ["name"]}


def _sql(text: str | None) -> str:
    """``text`` lower-cased, without parentheses, with single spaces: for comparing CHECKs."""
    return " ".join((text or "").lower().replace("(", " ").replace(")", " ").split())


def _check_tutorial_shape(inspector: sa.Inspector) -> dict[str, list[str]]:
    """Check that ``students`` is the tutorial's table, as any chapter of the lesson made it.

    Returns:
        The lesson's own constraints and index found on the table, by kind
        (``"primary key"``, ``"unique"``, ``"check"``, ``"index"``): names to drop.

    Raises:
        CommandError: when the table differs from the tutorial's in any other way,
            listing every difference.
    """
    differences: list[str] = []
    found: dict[str, list[str]] = {"primary key": [], "unique": [], "check": [], "index": []}
    columns = {c["name"]: c for c in inspector.get_columns(TABLE)}

    expected = {c.name: c.type for c in tutorial_table().c}
    missing = sorted(set(expected) - set(columns))
    extra = sorted(set(columns) - set(expected))
    if missing:
        differences.append("missing column(s): " + ", ".join(missing))
    if extra:
        differences.append("unexpected column(s): " + ", ".join(extra))
    for name, wanted in expected.items():
        found_type = columns.get(name, {}).get("type")
        if found_type is None:
            continue
        same_length = getattr(found_type, "length", None) == getattr(wanted, "length", None)
        if not isinstance(found_type, type(wanted)) or not same_length:
            differences.append(f"column {name} is {found_type}, expected {wanted}")

    primary_key = inspector.get_pk_constraint(TABLE)
    pk = primary_key.get("constrained_columns") or []
    if pk != ["id"]:
        differences.append(f"primary key is {pk or 'missing'}, expected [id]")
    elif primary_key.get("name") == LESSON_PRIMARY_KEY:
        found["primary key"].append(LESSON_PRIMARY_KEY)
    elif primary_key.get("name") not in DEFAULT_PRIMARY_KEYS:
        differences.append(f"unexpected primary key name {primary_key.get('name')}")

    for unique in inspector.get_unique_constraints(TABLE):
        name = unique.get("name")
        if name in LESSON_UNIQUE and unique["column_names"] == LESSON_UNIQUE[name]:
            found["unique"].append(name)
        else:
            differences.append(f"unexpected unique constraint {name or '(unnamed)'}")
    for check in inspector.get_check_constraints(TABLE):
        name = check.get("name")
        if name in LESSON_CHECKS and _sql(check.get("sqltext")) in LESSON_CHECKS[name]:
            found["check"].append(name)
        else:
            differences.append(
                f"unexpected check constraint {name or '(unnamed)'} ({check.get('sqltext')})"
            )
    for index in inspector.get_indexes(TABLE):
        name = index["name"]
        if index.get("duplicates_constraint") in found["unique"]:
            continue  # PostgreSQL's own index behind unique_email: dropped with it
        if (
            name in LESSON_INDEXES
            and index["column_names"] == LESSON_INDEXES[name]
            and not index["unique"]
        ):
            found["index"].append(name)
        else:
            differences.append(f"unexpected index {name} (drop it: DROP INDEX {name};)")
    for foreign_key in inspector.get_foreign_keys(TABLE):
        differences.append(f"unexpected foreign key {foreign_key.get('name') or '(unnamed)'}")

    if differences:
        raise CommandError(
            f'Refusing to take over the existing "{TABLE}" table: it is not the SQLAlchemy '
            "tutorial's table, which these migrations start from. Nothing was changed. "
            "Differences: " + "; ".join(differences) + "."
        )
    return found


def _drop_lesson_extras(bind: sa.Connection, found: dict[str, list[str]]) -> None:
    """Make the taken-over table the seed article's: drop the lesson's constraints and index.

    Revision 0003 replaces each with the app's named equivalent. On PostgreSQL the
    constraints are dropped and the primary key renamed in place; SQLite cannot drop a
    constraint, so the table is rebuilt as :func:`tutorial_table` with every row copied
    as stored (Alembic's batch mode, given the table to build instead of reflecting it).
    """
    for name in found["index"]:
        op.drop_index(op.f(name), table_name=TABLE)
    constraints = found["primary key"] + found["unique"] + found["check"]
    if not constraints:
        return
    if bind.dialect.name == "sqlite":
        with op.batch_alter_table(TABLE, copy_from=tutorial_table(), recreate="always"):
            pass
        return
    for name in found["unique"]:
        op.drop_constraint(op.f(name), TABLE, type_="unique")
    for name in found["check"]:
        op.drop_constraint(op.f(name), TABLE, type_="check")
    for name in found["primary key"]:
        op.execute(f"ALTER TABLE {TABLE} RENAME CONSTRAINT {name} TO {TABLE}_pkey")


def sequence_past_the_rows(bind: sa.Connection) -> None:
    """On PostgreSQL, move the ``id`` sequence past the largest id in the table.

    A learner's ``merge(Student(id=10, ...))`` (or ``add`` with an id) stores an id the
    ``SERIAL`` column's sequence never handed out, so the sequence would later hand it out
    again and the insert would fail. The sequence is only ever moved forward. SQLite needs
    nothing: it numbers new rows after the largest id in the table. Revision 0002 calls
    it too, for a table the lesson wrote to while the database sat at 0001 (the way back).
    """
    if bind.dialect.name != "postgresql":
        return
    sequence = f"pg_get_serial_sequence('{TABLE}', 'id')"
    op.execute(
        f"SELECT setval({sequence}, max(id)) FROM {TABLE}"
        f" HAVING max(id) > COALESCE(pg_sequence_last_value({sequence}), 0)"
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
    does not change when the model does). They are invariants only: how long ago a
    birthday may be is a plausibility rule, which the form warns about and no migration
    refuses (the tutorial's own sample student, Albert Einstein, was born in 1879).

    * name NULL, empty or blank, or longer than 100 characters;
    * grade NULL or outside 1..12;
    * email longer than 254 characters; the same email on several rows, ignoring case
      (blank emails do not count: revision 0003 turns them into NULL);
    * birthday or enrollment date that is not a date (SQLite stores text), enrollment
      date before the birthday (compared as dates);
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


#: The migration runs (Alembic's ``MigrationContext``, one per ``flask db upgrade``) in
#: which the preflight passed. Revisions 0001 to 0003 change no row in a way its checks
#: could notice (0001 copies rows as stored, 0002 keeps each value's date part), so once
#: it passed, 0002 and 0003 skip it in the same run: a takeover reads a million rows
#: once instead of three times.
_PASSED_IN: weakref.WeakSet = weakref.WeakSet()


def preflight(bind: sa.Connection, enrolled_column: str) -> None:
    """Raise ``CommandError`` naming every offending row if :func:`find_problems` finds any.

    Runs before the calling revision writes anything, so a refused upgrade changes nothing
    (Flask-Migrate prints the message as ``Error: ...`` and exits with status 1). Skipped
    when it already passed earlier in the same migration run (see :data:`_PASSED_IN`).
    """
    context = op.get_context()
    if context.as_sql:
        return  # offline mode: there are no rows to look at
    if context in _PASSED_IN:
        return
    problems = find_problems(bind, enrolled_column)
    if problems:
        raise CommandError(
            f"Cannot upgrade: {len(problems)} kind(s) of row in table {TABLE} would break "
            "the new constraints. Nothing was changed. Fix these rows, then run "
            "`flask db upgrade` again:\n  - " + "\n  - ".join(problems)
        )
    _PASSED_IN.add(context)
