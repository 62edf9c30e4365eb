"""The importer's bulk SQL: rows inserted and updated many at a time, past the ORM.

:func:`bulk_insert` runs SQLAlchemy's compiled ``INSERT`` with one DBAPI ``executemany``
(or, on PostgreSQL, one ``INSERT ... SELECT FROM unnest(...)`` for the tables in
:data:`ONE_STATEMENT_TABLES`); :func:`update_rows` runs ``UPDATE ... WHERE id = ?`` with
many parameter sets, bumping the version for optimistic locking. :mod:`.writing` and
:mod:`.audit_events` write through them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import repeat
from typing import Any

from sqlalchemy import Table, bindparam, insert, inspect, update
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from webapp.extensions import db
from webapp.import_export.importer import support
from webapp.import_export.importer.support import chunks
from webapp.models import Student


def table_of(model: type[Any]) -> Table:
    """The Core table of a model class."""
    table: Table = model.__table__
    return table


def version_bump(model: type[Any] = Student) -> dict[Any, Any]:
    """``{version: version + 1}`` when ``model`` uses optimistic locking, else ``{}``.

    A bulk UPDATE bypasses the ORM's versioning, so it bumps the counter itself; an edit
    form opened before the import then fails with a stale-data error instead of silently
    overwriting the imported values.
    """
    column = inspect(model).version_id_col
    return {} if column is None else {column: column + 1}


def bulk_insert(table: Table, columns: dict[str, list[Any]], constants: dict[str, Any]) -> None:
    """INSERT rows given column by column into ``table``, with one DBAPI ``executemany``.

    The statement is SQLAlchemy's own ``insert()``, compiled for the connection's dialect,
    and every value goes through its column type's ``bind_processor`` as SQLAlchemy would
    do it; what this skips is SQLAlchemy's per-row parameter handling (a third of the
    insert's time: ``bench/results/import-export-design.md``). Values are converted a
    column at a time (a list comprehension each) and zipped into rows; ``constants`` (the
    timestamps) are converted once, and columns not given get their scalar column default
    (``version`` = 1).

    Args:
        table: the table.
        columns: ``{column name: values}``, every list as long as the others.
        constants: values shared by every row.

    Raises:
        NotImplementedError: a column left out has a default that is not a plain value.
    """
    connection = db.session.connection()
    dialect = connection.dialect
    count = len(next(iter(columns.values())))
    compiled = insert(table).compile(dialect=dialect, column_keys=[*columns, *constants])
    names = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
    converted: list[Iterable[Any]] = []
    for name in names:
        processor = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        if name in columns:
            values = columns[name]
            if processor is not None:
                values = [None if v is None else processor(v) for v in values]
            converted.append(values)
            continue
        if name in constants:
            value = constants[name]
        else:
            default = table.c[name].default
            if not isinstance(default, ScalarElementColumnDefault):
                raise NotImplementedError(f"no plain default for {table.name}.{name}")
            value = default.arg
        converted.append(repeat(processor(value) if processor else value, count))
    if dialect.name == "postgresql" and table.name in ONE_STATEMENT_TABLES:
        insert_unnest(table, names, converted)
        return
    batch: list[Any] = list(zip(*converted, strict=True))
    if not compiled.positional:
        batch = [dict(zip(names, values, strict=True)) for values in batch]
    connection.exec_driver_sql(compiled.string, batch)


#: Tables whose bulk inserts are one statement on PostgreSQL (:func:`insert_unnest`):
#: enrollments, whose counts a statement-level trigger keeps (revision 0011). As many
#: statements as rows would update the same counter rows once per row, and within one
#: transaction each update leaves a row version the next must step over: quadratic (a
#: 1,000,000-row import spent minutes in one chunk of a few hundred rows).
ONE_STATEMENT_TABLES = frozenset({"enrollments"})


def insert_unnest(table: Table, names: list[str], converted: list[Iterable[Any]]) -> None:
    """INSERT the rows of ``converted`` (one list or ``repeat`` per name) into ``table`` in
    one statement: ``INSERT ... SELECT FROM unnest(array, ...)``, an array per column
    (PostgreSQL; the values already through their bind processors).
    """
    connection = db.session.connection()
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    selects, arrays, params = [], [], {}
    for index, (name, values) in enumerate(zip(names, converted, strict=True)):
        sql_type = table.c[name].type.compile(dialect=dialect)
        key = f"p{index}"
        if isinstance(values, repeat):
            params[key] = next(values)
            selects.append(f"CAST(%({key})s AS {sql_type})")
        else:
            params[key] = list(values)
            arrays.append(f"CAST(%({key})s AS {sql_type}[])")
            selects.append(f"u.c{index}")
    aliases = ", ".join(select.removeprefix("u.") for select in selects if select.startswith("u."))
    statement = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in names)}) "
        f"SELECT {', '.join(selects)} FROM unnest({', '.join(arrays)}) AS u({aliases})"
    )
    connection.exec_driver_sql(statement, params)


def update_rows(
    rows: list[dict[str, Any]], now: datetime, model: type[Any], fields: Sequence[str], key: str
) -> None:
    """Update rows of ``model`` in bulk: ``UPDATE ... WHERE id = ?`` with many parameter sets.

    Args:
        rows: the planned values: the row's id under ``key``, and changed fields. Rows are
            grouped by the fields they set, one statement per group.
        now: their new ``updated_at``.
        model: ``Student`` or ``Enrollment``.
        fields: the fields of ``model`` the import writes.
        key: the name of the id in each row (``id``, ``enrollment_id``).
    """
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        names = tuple(name for name in fields if name in row)
        if names:
            groups[names].append(row)
    table = table_of(model)
    connection = db.session.connection()
    for names, group in groups.items():
        # Bound names must differ from the column names (SQLAlchemy reserves those).
        statement = (
            update(table)
            .where(table.c.id == bindparam("match_id"))
            .values(
                {
                    **{table.c[name]: bindparam(f"new_{name}") for name in names},
                    table.c.updated_at: bindparam("new_updated_at"),
                    **version_bump(model),
                }
            )
        )
        for chunk in chunks(group, support.WRITE_BATCH_SIZE):
            params = [
                {
                    "match_id": row[key],
                    "new_updated_at": now,
                    **{f"new_{n}": row[n] for n in names},
                }
                for row in chunk
            ]
            connection.execute(statement, params)
