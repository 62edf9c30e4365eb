"""Stage 1 of an import, continued: which column holds which student field, and how dates
are written.

Columns are mapped by :mod:`webapp.spreadsheets.mapping`: the alias table recognises
common headers ("First name", "DOB", "Year group", "E-mail"...), a mapping chosen on the
preview or remembered from an earlier file replaces it, and ``--map`` on the command line
changes single columns. First-name and last-name columns are joined into the name.
Columns left unmapped are listed, never dropped silently.

Each date column's order (day first, month first, ISO) is inferred from its values when
one of them shows it (:func:`webapp.spreadsheets.infer_date_order`); otherwise it is the
user's choice, or the ``DATE_INPUT_ORDER`` setting; failing both, a date that could be
read either way is an error on its line.

A :class:`ParsedFile` is a read :class:`~.reading.Table` with that mapping. A mapping that
cannot import anything (no column mapped, no way to tell new students' names...) is a
*problem* (:attr:`ParsedFile.problems`): the preview shows it beside the mapping form,
and :func:`parse_file` raises it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO

from webapp.fields.parsers import quote
from webapp.fields.student import ROSTER_ROW
from webapp.import_export.importer.limits import ImportFileError, ImportLimits
from webapp.import_export.importer.reading import read_file
from webapp.import_export.importer.support import paused_gc
from webapp.import_export.importer.table import Records, Source, Table
from webapp.spreadsheets import (
    FIELDS,
    IGNORE,
    TARGETS,
    ColumnMapping,
    DateOrder,
    MappingError,
    infer_date_order,
    suggest_mapping,
)
from webapp.spreadsheets.dates import DATE_ORDERS, ORDER_LABELS
from webapp.spreadsheets.mapping import FIRST_NAME, LAST_NAME

#: Where a field's text comes from: a column index, or the indexes of the name's parts.
CellSource = int | tuple[int, ...]

#: The date fields, whose columns get a date order.
DATE_FIELDS: tuple[str, ...] = tuple(f.name for f in ROSTER_ROW if f.kind == "date")

#: How each way of deciding a date order is told on the preview.
ORDER_REASONS = {
    "values": "shown by the values",
    "chosen": "as chosen",
    "setting": "the DATE_INPUT_ORDER setting",
}

#: A day and a month in either order, then a four-digit year: what needs an order.
_DAY_MONTH = re.compile(r"\s*\d{1,2}([/.-])\d{1,2}\1\d{4}\b")


@dataclass(frozen=True)
class DateColumn:
    """How one date column is read.

    Attributes:
        field: the student field (``birthday``...).
        header: the column's header, as written.
        order: ``"ymd"``, ``"dmy"`` or ``"mdy"``; ``None`` when unknown.
        how: why that order: ``"values"`` (a value such as 14/03/2015 shows it, or every
            date is ISO), ``"chosen"`` (the user's choice), ``"setting"``
            (``DATE_INPUT_ORDER``); ``None`` when unknown.
        needs_order: the column has dates written day and month, whose order matters.
    """

    field: str
    header: str
    order: DateOrder | None
    how: str | None
    needs_order: bool

    @property
    def label(self) -> str:
        """The order in words (``"day/month/year"``), or ``"not known"``."""
        return ORDER_LABELS[self.order] if self.order else "not known"

    @property
    def reason(self) -> str:
        """Why this order, in words; ``""`` when unknown."""
        return ORDER_REASONS.get(self.how or "", "")


@dataclass(frozen=True)
class ParsedFile:
    """A read file with its columns mapped to student fields.

    Attributes:
        mapping: the target of every column (:class:`webapp.spreadsheets.ColumnMapping`).
        fields: the student fields the file gives, in :data:`FIELDS` order.
        columns: ``(source, field)`` for each of ``fields``: a column index, or for a
            name joined from parts, the indexes of the first and last name.
        width: number of header cells.
        records: ``(line number, cells)`` of each non-blank row after the header: a list,
            or :class:`~.reading.StreamedRecords` (read again when iterated).
        source: how the file was read.
        dates: how each mapped date column is read.
        problems: why the mapping cannot be imported as it is (empty when it can).
        examples: per column, a few values from the first rows (:attr:`Table.examples`).
    """

    mapping: ColumnMapping
    fields: tuple[str, ...]
    columns: tuple[tuple[CellSource, str], ...]
    width: int
    records: Records
    source: Source
    dates: tuple[DateColumn, ...] = ()
    problems: tuple[str, ...] = ()
    examples: tuple[tuple[str, ...], ...] = ()

    @property
    def header(self) -> tuple[str, ...]:
        """The header's cells."""
        return self.mapping.headers

    @property
    def unmapped_columns(self) -> list[str]:
        """Headers of the columns mapped to nothing yet, as written (``column 4`` if blank)."""
        return self.mapping.unmapped

    @property
    def ignored_columns(self) -> list[str]:
        """Headers of the columns mapped to :data:`IGNORE`."""
        return [
            header.strip() or f"column {index + 1}"
            for index, (header, target) in enumerate(self.mapping.columns())
            if target == IGNORE
        ]

    @property
    def date_orders(self) -> dict[str, DateOrder]:
        """``{field: order}`` of the date columns whose order is known."""
        return {column.field: column.order for column in self.dates if column.order}


def _sources(mapping: ColumnMapping) -> tuple[tuple[CellSource, str], ...]:
    """``(source, field)`` of each field the mapping gives, in :data:`FIELDS` order."""
    by_target = {target: index for index, target in enumerate(mapping.targets) if target}
    sources: list[tuple[CellSource, str]] = []
    for name in FIELDS:
        if name == "name" and (FIRST_NAME in by_target or LAST_NAME in by_target):
            parts = tuple(by_target[part] for part in (FIRST_NAME, LAST_NAME) if part in by_target)
            sources.append((parts, name))
        elif name in by_target:
            sources.append((by_target[name], name))
    return tuple(sources)


def _problems(mapping: ColumnMapping, fields: Sequence[str]) -> list[str]:
    """Why ``mapping`` cannot import anything, or a new student (empty when it can)."""
    if not fields:
        found = ", ".join(quote(cell) for cell in mapping.headers[:6])
        return [
            "No column is mapped to a student field. The first line must be a header naming "
            f"the columns, for example “{','.join(FIELDS)}”; it has {found}. Map the "
            "columns to fields, or add such a header."
        ]
    needed = [field for field in ROSTER_ROW if field.required]
    present = set(fields)
    if not present & {"id", "email"} and not {field.name for field in needed} <= present:
        missing = " and ".join(field.noun for field in needed if field.name not in present)
        needs = " and ".join(f"a {field.noun}" for field in needed)
        return [
            "Without an id or email column every row adds a new student, who needs "
            f"{needs}; no column gives the {missing}."
        ]
    return []


def _date_column(
    field: str,
    header: str,
    values: Iterable[str],
    chosen: DateOrder | None,
    setting: DateOrder | None,
) -> DateColumn:
    """How a date column is read (see the module docstring for the order of precedence).

    The order follows from which distinct values the column has, so each is looked at once
    (a roster's birthdays repeat: 100,000 students have a few thousand).
    """
    cells = set(values)
    cells.discard("")
    inferred = infer_date_order(cells)
    if inferred is not None:  # "ymd": every date is ISO; otherwise day and month matter
        return DateColumn(field, header, inferred, "values", inferred != "ymd")
    if not any(_DAY_MONTH.match(value) for value in cells):
        return DateColumn(field, header, None, None, False)
    if chosen is not None:
        return DateColumn(field, header, chosen, "chosen", True)
    if setting is not None:
        return DateColumn(field, header, setting, "setting", True)
    return DateColumn(field, header, None, None, True)


def check_targets(targets: Sequence[str | None], width: int) -> tuple[str | None, ...]:
    """Return ``targets`` fitted to ``width`` columns, unknown targets left unmapped.

    A mapping remembered or posted may name targets this version does not know, or be
    for another number of columns; what does not fit is left unmapped (and so listed).
    """
    fitted = [target if target in TARGETS else None for target in targets[:width]]
    return (*fitted, *([None] * (width - len(fitted))))


def map_table(
    table: Table,
    *,
    targets: Sequence[str | None] | None = None,
    overrides: Mapping[str, str] | None = None,
    date_orders: Mapping[str, DateOrder] | None = None,
    default_date_order: DateOrder | None = None,
) -> ParsedFile:
    """Map a read table's columns to student fields and decide how its dates are read.

    Args:
        table: the output of :func:`~.reading.read_file`.
        targets: a target (:data:`webapp.spreadsheets.TARGETS`) or ``None`` per column,
            chosen on the preview or remembered; the alias table's suggestion when
            ``None``.
        overrides: ``{header: target}`` changing single columns (``--map``).
        date_orders: ``{field: order}`` chosen for date columns whose values do not show
            their order.
        default_date_order: the ``DATE_INPUT_ORDER`` setting, used when nothing else
            decides.

    Returns:
        The parsed file; its :attr:`~ParsedFile.problems` say when it cannot be imported.

    Raises:
        ImportFileError: ``overrides`` name a column the file does not have or a target
            that does not exist, or map two columns to one field.
    """
    header = table.header
    if targets is None:
        mapping = suggest_mapping(header)
    else:
        mapping = ColumnMapping(tuple(header), check_targets(targets, len(header)))
    if overrides:
        try:
            mapping = mapping.with_targets(overrides)
        except MappingError as error:
            raise ImportFileError(str(error)) from error
    problems: list[str] = []
    try:
        mapping.check()
    except MappingError as error:
        problems.append(str(error))
    sources: tuple[tuple[CellSource, str], ...] = ()
    if not problems:
        sources = _sources(mapping)
        problems.extend(_problems(mapping, [name for _, name in sources]))
    if problems:
        sources = ()
    chosen = date_orders or {}
    dates = []
    for source, name in sources:
        if name in DATE_FIELDS and isinstance(source, int):
            values = table.column_values(source)
            dates.append(
                _date_column(name, header[source], values, chosen.get(name), default_date_order)
            )
    return ParsedFile(
        mapping=mapping,
        fields=tuple(name for _, name in sources),
        columns=sources,
        width=len(header),
        records=table.records,
        source=table.source,
        dates=tuple(dates),
        problems=tuple(problems),
        examples=table.examples,
    )


def date_order(value: object) -> DateOrder | None:
    """``value`` as a date order when it is one (``"dmy"``...), else ``None``."""
    for order in DATE_ORDERS:
        if value == order:
            return order
    return None


@paused_gc
def parse_file(
    data: bytes | IO[bytes],
    filename: str = "import.csv",
    *,
    limits: ImportLimits | None = None,
    sheet: str | None = None,
    overrides: Mapping[str, str] | None = None,
    date_orders: Mapping[str, DateOrder] | None = None,
    default_date_order: DateOrder | None = None,
    targets: Sequence[str | None] | None = None,
    stream: bool = False,
) -> ParsedFile:
    """Read a file and map its columns: :func:`~.reading.read_file` then :func:`map_table`.

    Args:
        data: the file's bytes, or a binary file.
        filename: its name on the user's computer.
        limits: what the file may hold.
        sheet: the workbook sheet to read.
        overrides: ``{header: target}`` changing single columns.
        date_orders: ``{field: order}`` for date columns whose values do not show it.
        default_date_order: the ``DATE_INPUT_ORDER`` setting.
        targets: the whole mapping, one target or ``None`` per column (a remembered one).
        stream: keep no records; read them from ``data`` again when iterated (see
            :func:`~.reading.read_file`).

    Returns:
        The parsed file, whose mapping can be imported.

    Raises:
        ImportFileError: the file cannot be read, its mapping cannot import anything
            (:attr:`ParsedFile.problems`), or it has no rows.
    """
    parsed = map_table(
        read_file(data, filename, limits=limits, sheet=sheet, stream=stream),
        targets=targets,
        overrides=overrides,
        date_orders=date_orders,
        default_date_order=default_date_order,
    )
    if parsed.problems:
        raise ImportFileError(" ".join(parsed.problems))
    if not parsed.records:
        raise ImportFileError("The file has a header but no rows.")
    return parsed


def parse_csv(data: bytes, *, max_bytes: int | None = None, stream: bool = False) -> ParsedFile:
    """:func:`parse_file` of a file named ``import.csv`` (the tests' and tools' shortcut).

    Raises:
        ImportFileError: see :func:`parse_file`.
    """
    limits = ImportLimits() if max_bytes is None else ImportLimits(max_bytes=max_bytes)
    return parse_file(data, "import.csv", limits=limits, stream=stream)
