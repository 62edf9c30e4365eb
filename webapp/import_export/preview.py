"""The preview of an import: each row's outcome, page by page, and what to show about the
file (how it was read, its columns and date orders, the totals).

What a preview costs is bounded by the import's limits (rows, columns, bytes): it is
built chunk by chunk (:func:`build_preview`), and stored as compressed pages of
:data:`PREVIEW_PER_PAGE` rows, of which a page view reads one
(``bench/results/import-files.md`` has the figures).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from webapp.fields.student import ROSTER_ROW
from webapp.import_export import importer, mappings, uploads
from webapp.import_export.importer import Action, ParsedFile, PlanDigest, RowPlan

#: Rows per page of the preview.
PREVIEW_PER_PAGE = 100
#: The preview's views: every row, or the rows of one action.
VIEWS: tuple[str, ...] = ("all", *(action.value for action in Action))
#: Longest name shown in a preview row.
NAME_MAX = 120


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
                ROSTER_ROW[change.field].noun,
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
