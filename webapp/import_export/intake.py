"""Reading a file within the import's limits and mapping its columns, as the pages and
the command line do.

:func:`read` reads a file (:func:`webapp.import_export.importer.read_file`) keeping only
the cells of the columns its mapping imports, and maps it (:func:`prepare`): the mapping
remembered for its headers (:mod:`.mappings`) or the alias table's, changed by ``--map``;
dates read as each column shows, as chosen, or as ``DATE_INPUT_ORDER`` says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import IO

from flask import current_app

from webapp.import_export import importer, mappings
from webapp.import_export.importer import ParsedFile, Table
from webapp.spreadsheets import IGNORE, ColumnMapping, DateOrder, MappingError, suggest_mapping


def default_date_order() -> DateOrder | None:
    """The ``DATE_INPUT_ORDER`` setting: how files write day-and-month dates by default."""
    return importer.date_order(current_app.config.get("DATE_INPUT_ORDER"))


def kept_columns(targets: Sequence[str | None]) -> list[int]:
    """The columns a mapping imports: their cells are all a table's records need."""
    return [index for index, target in enumerate(targets) if target not in (None, IGNORE)]


class _Starting:
    """``keep`` for :func:`importer.read_file`: the columns of the mapping a file starts
    from (remembered, else the alias table's, changed by ``overrides``), found once the
    header is read.

    Attributes:
        recalled: the remembered mapping, if any (set by the call).
    """

    def __init__(self, overrides: Mapping[str, str] | None) -> None:
        self.overrides = overrides
        self.recalled: mappings.Remembered | None = None

    def __call__(self, header: Sequence[str]) -> list[int]:
        self.recalled = recall(header)
        if self.recalled is not None:
            mapping = ColumnMapping(tuple(header), self.recalled.targets)
        else:
            mapping = suggest_mapping(header)
        if self.overrides:
            try:
                mapping = mapping.with_targets(self.overrides)
            except MappingError:
                return list(range(len(header)))  # map_table says what is wrong
        return kept_columns(mapping.targets)


def recall(header: Sequence[str]) -> mappings.Remembered | None:
    """The mapping remembered for files with ``header``, if any."""
    fingerprint = ColumnMapping(tuple(header), (None,) * len(header)).fingerprint
    return mappings.recall(fingerprint, len(header))


def read(
    data: bytes | IO[bytes],
    filename: str,
    *,
    sheet: str | None = None,
    overrides: Mapping[str, str] | None = None,
    date_orders: Mapping[str, DateOrder] | None = None,
    pack: bool = False,
    stream: bool = False,
) -> tuple[ParsedFile, mappings.Remembered | None, Table]:
    """Read a file within the configured limits and map it, as the pages and CLI do.

    The records keep only the cells of the columns the mapping imports (see
    :func:`importer.read_file`).

    Args:
        data: the file's bytes, or a binary file.
        filename: its name on the user's computer.
        sheet: the workbook sheet to read.
        overrides: ``{header: target}`` changing single columns (``--map``).
        date_orders: ``{field: order}`` for date columns whose values do not show it.
        pack: keep the whole file packed (to store it).
        stream: keep no records in memory: they are read from ``data`` again when
            iterated (the command line's import; see :func:`importer.read_file`).

    Returns:
        The parsed file, the remembered mapping it started from, and the table read.

    Raises:
        ImportFileError: the file cannot be read, or ``overrides`` are not usable.
    """
    starting = _Starting(overrides)
    table = importer.read_file(
        data,
        filename,
        limits=importer.configured_limits(),
        sheet=sheet,
        keep=starting,
        pack=pack,
        stream=stream,
    )
    parsed, _ = prepare(
        table,
        targets=starting.recalled.targets if starting.recalled else None,
        date_orders={
            **(starting.recalled.date_orders if starting.recalled else {}),
            **(date_orders or {}),
        },
        overrides=overrides,
        remembered=False,
    )
    return parsed, starting.recalled, table


def prepare(
    table: Table,
    *,
    targets: Sequence[str | None] | None = None,
    date_orders: Mapping[str, DateOrder] | None = None,
    overrides: Mapping[str, str] | None = None,
    remembered: bool = True,
) -> tuple[ParsedFile, mappings.Remembered | None]:
    """Map a read file's columns, starting from the mapping remembered for its headers.

    Args:
        table: the file as read.
        targets: the whole mapping (one target or ``None`` per column), as chosen on the
            preview; when ``None``, the remembered mapping, else the alias table's.
        date_orders: ``{field: order}`` chosen for date columns; they win over remembered
            ones.
        overrides: ``{header: target}`` changing single columns (``--map``).
        remembered: look up the remembered mapping (when ``targets`` is ``None``).

    Returns:
        The parsed file, and the remembered mapping it started from (``None`` if none).

    Raises:
        ImportFileError: ``overrides`` are not usable (see :func:`importer.map_table`).
    """
    recalled = None
    if targets is None and remembered:
        recalled = recall(table.header)
        if recalled is not None:
            targets = recalled.targets
            date_orders = {**recalled.date_orders, **(date_orders or {})}
    parsed = importer.map_table(
        table,
        targets=targets,
        overrides=overrides,
        date_orders=date_orders,
        default_date_order=default_date_order(),
    )
    return parsed, recalled
