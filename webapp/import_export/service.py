"""The import's workflow, shared by the pages and the command line.

The pages: :func:`check_upload` reads a file, maps its columns and stores it with its
preview; :func:`remap` applies another mapping or date order chosen on the preview;
:func:`confirm` applies it; :func:`cancel` forgets it. The command line maps a file with
:func:`prepare` and streams it through :func:`webapp.import_export.importer.run_import`.
Both start from the mapping remembered for the file's headers (:mod:`.mappings`).

Every function here that the pages call ends the request's transaction itself
(committing what it wrote, or rolling back). Reading and checking a file take seconds
and hold no database lock: the request's write transaction is ended first, and writes
happen in short transactions at the end.

What a preview costs is bounded by the import's limits (rows, columns, bytes): it is
built chunk by chunk, and stored as pages of :data:`PREVIEW_PER_PAGE` rows, of which a
page view reads one (``bench/results/import-limits.md`` has the figures).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import IO, Any

from flask import current_app

from webapp.database import begin_write
from webapp.extensions import db
from webapp.fields.student import STUDENT
from webapp.import_export import importer, mappings, uploads
from webapp.import_export.importer import (
    Action,
    ImportFileError,
    ImportResult,
    ParsedFile,
    PlanDigest,
    RowPlan,
    Table,
)
from webapp.spreadsheets import IGNORE, ColumnMapping, DateOrder, MappingError, suggest_mapping

#: Rows per page of the preview.
PREVIEW_PER_PAGE = 100
#: The preview's views: every row, or the rows of one action.
VIEWS: tuple[str, ...] = ("all", *(action.value for action in Action))
#: Longest name shown in a preview row.
NAME_MAX = 120


class UploadGone(Exception):
    """The upload was confirmed, cancelled or expired meanwhile (a second click, say)."""


class PreviewOutdated(Exception):
    """The roster changed since the preview, so rows would now do something else.

    Nothing was written; the upload's preview has been replaced by the new one.
    """


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

    Returns:
        The parsed file, the remembered mapping it started from, and the table read.

    Raises:
        ImportFileError: the file cannot be read, or ``overrides`` are not usable.
    """
    starting = _Starting(overrides)
    table = importer.read_file(
        data, filename, limits=importer.configured_limits(), sheet=sheet, keep=starting, pack=pack
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


def _entry(row: RowPlan) -> list[Any]:
    """A row of the preview: ``[line, action, student id, name, changes, errors, warnings]``:
    changes as ``[field noun, old, new]`` displayed as their fields display them; warnings
    for the unusual values the row imports as written."""
    return [
        row.line,
        row.action.value,
        row.student_id,
        row.name[:NAME_MAX],
        [
            [
                STUDENT[change.field].noun,
                importer.display(change.field, change.old),
                importer.display(change.field, change.new),
            ]
            for change in row.changes
        ],
        list(row.errors),
        list(row.warnings),
    ]


class PreviewPages:
    """The preview's rows by view, page by page, filled chunk by chunk.

    A page is packed (:func:`uploads.pack_page`) as soon as it is full, so only the
    unfinished page of each view is held as row entries.

    Attributes:
        pages: ``{(view, page number): packed rows}``, for :func:`uploads.store`.
        counts: rows per view (``all`` and each action).
        digest: the plan's fingerprint so far.
        warned: rows with warnings (unusual values imported as written).
    """

    def __init__(self, per_page: int = PREVIEW_PER_PAGE) -> None:
        self.per_page = per_page
        self.pages: dict[tuple[str, int], bytes] = {}
        self.counts: Counter[str] = Counter()
        self.digest = PlanDigest()
        self.warned = 0
        self._open: dict[str, list[Any]] = {}

    def add(self, plans: Sequence[RowPlan]) -> None:
        """Add the next planned rows of the file."""
        self.digest.update(plans)
        per_page, counts, open_pages = self.per_page, self.counts, self._open
        for row in plans:
            entry = _entry(row)
            if row.warnings:
                self.warned += 1
            for view in ("all", row.action.value):
                counts[view] += 1
                entries = open_pages.setdefault(view, [])
                entries.append(entry)
                if len(entries) == per_page:
                    self._close(view)

    def _close(self, view: str) -> None:
        entries = self._open.pop(view, [])
        if entries:
            number = -(-self.counts[view] // self.per_page)
            self.pages[(view, number)] = uploads.pack_page(entries)

    def finish(self) -> PreviewPages:
        """Pack the last, unfinished page of each view; returns ``self``."""
        for view in list(self._open):
            self._close(view)
        return self

    def totals(self) -> dict[str, int]:
        """Rows per action, every action present."""
        return {action.value: self.counts[action.value] for action in Action}


def summarise(
    parsed: ParsedFile,
    pages: PreviewPages,
    recalled: mappings.Remembered | None = None,
    rows: int | None = None,
) -> dict[str, Any]:
    """What an upload stores about its preview besides the rows (JSON-serialisable).

    Returns:
        ``{"digest", "counts", "warned", "rows", "fields", "source", "columns", "targets",
        "date_orders", "dates", "notes", "unmapped", "ignored", "problems",
        "remembered", "custom"}``.
    """
    examples = parsed.examples
    return {
        "digest": pages.digest.hexdigest(),
        "counts": pages.totals(),
        "warned": pages.warned,
        "rows": len(parsed.records) if rows is None else rows,
        "fields": list(parsed.fields),
        "source": parsed.source.to_json(),
        "columns": [
            {
                "header": header,
                "target": target,
                "examples": list(examples[index]) if index < len(examples) else [],
            }
            for index, (header, target) in enumerate(parsed.mapping.columns())
        ],
        "targets": list(parsed.mapping.targets),
        "date_orders": mappings.chosen_orders(parsed),
        "dates": [
            {
                "field": column.field,
                "header": column.header,
                "order": column.order,
                "label": column.label,
                "reason": column.reason,
                "how": column.how,
                "needs_order": column.needs_order,
            }
            for column in parsed.dates
        ],
        "notes": list(parsed.mapping.notes),
        "unmapped": parsed.unmapped_columns,
        "ignored": parsed.ignored_columns,
        "problems": list(parsed.problems),
        "remembered": recalled.updated_at.date().isoformat() if recalled else None,
        "custom": mappings.is_custom(parsed),
    }


def build_preview(
    parsed: ParsedFile, *, today: date | None = None, plans: Iterable[RowPlan] | None = None
) -> PreviewPages:
    """Check and plan every row of ``parsed``, chunk by chunk, into preview pages.

    Only one chunk's checked and planned rows are alive at a time; the pages keep one
    compact entry per row. A file whose mapping has problems gets no rows.

    Args:
        parsed: the mapped file.
        today: the day the rules measure against; the real today by default.
        plans: rows already planned (a confirm that found the roster changed).

    Returns:
        The pages, counts and digest.
    """
    pages = PreviewPages()
    if parsed.problems:
        return pages
    if plans is not None:
        pages.add(list(plans))
        return pages.finish()
    planner = importer.Planner(parsed.fields, today=today)
    for rows, _ in importer.iter_validated(parsed, today=today):
        pages.add(planner.plan(rows))
    return pages.finish()


def begin_upload(*, filename: str, owner: str, size: int) -> uploads.Upload:
    """Store a new upload, ``reading``, for :func:`read_upload` to fill in the background.

    Args:
        filename: its name on the uploader's computer (display only).
        owner: who uploads it (:func:`webapp.import_export.uploads.current_owner`).
        size: its size in bytes.

    Returns:
        The upload, whose token names its preview.
    """
    db.session.rollback()
    begin_write()
    upload = uploads.create(filename=filename, size=size, owner=owner)
    db.session.commit()
    return upload


def _finish(upload: uploads.Upload, work: Callable[[], None]) -> None:
    """Run ``work`` (which stores a preview) in a write transaction on ``upload``, or store
    why it failed; commit. Nothing happens to an upload deleted meanwhile."""
    try:
        work()
    except ImportFileError as error:
        db.session.rollback()
        begin_write()
        if uploads.locked(upload.token, upload.owner) is not None:
            uploads.fail(upload, str(error))
        db.session.commit()


def read_upload(upload: uploads.Upload, data: bytes | IO[bytes]) -> None:
    """Read an upload's file, map it, and store it with its preview (or why it failed).

    Runs in the background (:mod:`webapp.import_export.jobs`). Reading and checking a
    large file take seconds and need the database only to match the rows, so no write
    lock is held meanwhile; the result is stored in one short transaction at the end.

    Args:
        upload: an upload :func:`begin_upload` made.
        data: the file's bytes, or the uploaded file.
    """

    def work() -> None:
        parsed, recalled, table = read(data, upload.filename, pack=True)
        pages = build_preview(parsed)
        summary = summarise(parsed, pages, recalled)
        packed = table.packed
        assert packed is not None
        del table, parsed  # the records: what follows needs only the packed file
        db.session.rollback()  # planning only read
        begin_write()
        if uploads.locked(upload.token, upload.owner) is not None:
            uploads.store(upload, table=packed, summary=summary, pages=pages.pages)
        db.session.commit()

    _finish(upload, work)


def _parsed(upload: uploads.Upload, **choices: Any) -> ParsedFile:
    """The upload's file mapped as its preview says, or with ``choices`` instead."""
    summary = upload.summary
    targets = importer.check_targets(
        choices.get("targets", summary.get("targets")) or [], len(summary.get("columns", []))
    )
    try:
        packed = uploads.table(upload)
    except LookupError as error:
        raise UploadGone(upload.token) from error
    table = importer.unpack_table(packed, keep=lambda header: kept_columns(targets))
    parsed, _ = prepare(
        table,
        targets=targets,
        date_orders=choices.get("date_orders", summary.get("date_orders")),
        remembered=False,
    )
    return parsed


def begin_remap(upload: uploads.Upload) -> bool:
    """Put an upload back to ``reading`` for :func:`replan`.

    Returns:
        Whether it was still there (not confirmed, cancelled or expired meanwhile).
    """
    db.session.rollback()
    begin_write()
    current = uploads.locked(upload.token, upload.owner)
    if current is not None:
        uploads.restart(current)
    db.session.commit()
    return current is not None


def replan(
    upload: uploads.Upload,
    *,
    targets: Sequence[str | None],
    date_orders: Mapping[str, DateOrder],
) -> None:
    """Map the upload's columns and read its dates as chosen on the preview; re-plan it.

    Runs in the background, after :func:`begin_remap`; stores the new preview.

    Args:
        upload: an upload of the current user.
        targets: a target or ``None`` per column.
        date_orders: ``{field: order}`` for the date columns whose values do not show it.
    """

    def work() -> None:
        try:
            parsed = _parsed(upload, targets=targets, date_orders=date_orders)
        except UploadGone:
            return
        pages = build_preview(parsed)
        summary = summarise(parsed, pages)
        db.session.rollback()
        begin_write()
        if uploads.locked(upload.token, upload.owner) is not None:
            uploads.replace_preview(upload, summary, pages.pages)
            uploads.store_status(upload, uploads.READY)
        db.session.commit()

    _finish(upload, work)


def fail_upload(upload: uploads.Upload, message: str) -> None:
    """Mark an upload failed with ``message`` (a job that could not start)."""
    db.session.rollback()
    begin_write()
    uploads.fail(upload, message)
    db.session.commit()


def cancel(upload: uploads.Upload) -> None:
    """Forget an upload and its preview; nothing was imported."""
    db.session.rollback()
    begin_write()
    uploads.discard(upload.token)
    db.session.commit()


def confirm(
    upload: uploads.Upload, *, all_or_nothing: bool, user_id: int | None = None
) -> ImportResult:
    """Apply a previewed upload in one transaction, if it still does what the preview said.

    The file is checked again without a lock, then the import's locks are taken
    (:func:`importer.begin_import`), the upload is read again under them (another
    request may have confirmed it meanwhile), the rows are planned against the roster as
    it is now and compared with the preview's digest, and the plan is applied; the upload
    is deleted, and a custom mapping remembered, in the same transaction. A confirm that
    writes nothing (all-or-nothing with errors) deletes the upload too.

    Args:
        upload: a loaded upload of the current user.
        all_or_nothing: write nothing when any row has an error.
        user_id: the account confirming it, recorded with a remembered mapping.

    Returns:
        What the import did.

    Raises:
        UploadGone: another request confirmed or cancelled the upload first.
        PreviewOutdated: the plan differs from the preview; nothing was written, the
            preview was updated.
        ImportFileError: the upload's mapping cannot be imported; nothing was written.
        ImportConflictError: the database refused a row; nothing was written, the upload
            can be confirmed again.
    """
    db.session.rollback()  # checking the file holds no lock (see check_upload)
    parsed = _parsed(upload)
    if parsed.problems:
        raise ImportFileError(" ".join(parsed.problems))
    validated = importer.validate_rows(parsed)
    rows = len(parsed.records)
    parsed = dataclasses.replace(parsed, records=[])  # checked: the text is no longer needed
    db.session.rollback()
    importer.begin_import()
    if uploads.locked(upload.token, upload.owner) is None:
        db.session.rollback()
        raise UploadGone(upload.token)
    plan = importer.plan_import(validated, lock=True)
    if plan.digest() != upload.summary.get("digest"):
        pages = build_preview(parsed, plans=plan.rows)
        uploads.replace_preview(upload, summarise(parsed, pages, rows=rows), pages.pages)
        db.session.commit()
        raise PreviewOutdated(upload.token)

    def finish() -> None:
        uploads.discard(upload.token)
        mappings.remember(parsed, user_id)

    result = importer.apply_plan(
        plan, all_or_nothing=all_or_nothing, source=upload.filename, before_commit=finish
    )
    if not result.written:  # apply_plan rolled back: the upload is still there
        begin_write()
        uploads.discard(upload.token)
        db.session.commit()
    return result


def page_rows(upload: uploads.Upload, view: str, number: int) -> list[Any]:
    """One page of an upload's preview (see :class:`PreviewPages` for the entries)."""
    return uploads.page(upload, view, number)
