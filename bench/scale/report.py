"""The scale benchmark's report: figures, the goals of issue 14 as ratios, met or not.

Each page's figure is the median over the rounds of requests per second, and of wrk's
p50 and p99 latencies. A ratio compares two pages measured in the same run, on the same
database, alternated with each other.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, replace

from bench.scale.pages import AUDIT_KEYS, Target

MB = 1024  # kB


@dataclass(frozen=True)
class Figure:
    """The medians of one target's rounds."""

    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def figure(target: Target) -> Figure | None:
    """Medians over the rounds, or ``None`` for a page that was not loaded."""
    if not target.results:
        return None
    return Figure(
        statistics.median(r.rps for r in target.results),
        statistics.median(r.p50_ms for r in target.results),
        statistics.median(r.p99_ms for r in target.results),
        sum(r.errors for r in target.results),
    )


@dataclass(frozen=True)
class Goal:
    """A line of the goals table: what, measured how, the figure, met or not."""

    database: str
    goal: str
    figure: str
    target: str
    met: bool | None  # None: could not be measured
    #: A figure that explains a goal (a limit), not a goal itself.
    context: bool = False

    @property
    def verdict(self) -> str:
        """``met``, ``**not met**``, ``not measured``, or ``(context)``."""
        if self.context:
            return "(context)"
        return {True: "met", False: "**not met**", None: "not measured"}[self.met]


def _ratio_goal(
    database: str,
    figures: dict[str, Figure],
    goal: str,
    top: str,
    bottom: str,
    threshold: float,
    unit: str = "",
) -> Goal:
    a, b = figures.get(top), figures.get(bottom)
    if a is None or b is None or not b.rps:
        return Goal(database, goal, "–", f"≥ {threshold:g}{unit}", None)
    ratio = a.rps / b.rps
    shown = f"{ratio:.2f}{unit} ({a.rps:.0f} / {b.rps:.0f} req/s)"
    return Goal(database, goal, shown, f"≥ {threshold:g}{unit}", ratio >= threshold)


def page_goals(database: str, targets: list[Target]) -> list[Goal]:
    """The goals of issue 14 that compare pages, for one database."""
    figures = {t.page.key: f for t in targets if t.database == database and (f := figure(t))}
    goals = [
        _ratio_goal(
            database,
            figures,
            "Cheap page 1: page 1 / raw page without a total",
            "page1",
            "raw",
            0.5,
        ),
        replace(
            _ratio_goal(
                database,
                figures,
                "Limit of the above: the app's lightest signed-in page / raw page",
                "floor",
                "raw",
                0.5,
            ),
            context=True,
            target="–",
        ),
        replace(
            _ratio_goal(
                database,
                figures,
                "Page 1 / the app's lightest signed-in page",
                "page1",
                "floor",
                0.5,
            ),
            context=True,
            target="–",
        ),
        _ratio_goal(
            database, figures, "Cheap page 1: page 1 / Flask-Admin's list", "page1", "admin", 5, "×"
        ),
        _ratio_goal(
            database,
            figures,
            "Size-independent: page 1 at the large / small roster",
            "page1",
            "page1-small",
            0.8,
        ),
        _ratio_goal(
            database,
            figures,
            "Deep pages: middle page by the pager's link (keyset) / page 1",
            "middle-keyset",
            "page1",
            0.9,
        ),
        _ratio_goal(
            database,
            figures,
            "Deep pages: middle page by number alone (OFFSET) / page 1",
            "middle",
            "page1",
            0.9,
        ),
        _ratio_goal(database, figures, "Fast search: `?q=Hopper` / page 1", "search", "page1", 0.5),
    ]
    audit = [(key, figures[key]) for key in AUDIT_KEYS if key in figures]
    if audit:
        key, worst = max(audit, key=lambda item: item[1].p50_ms)
        goals.append(
            Goal(
                database,
                "Audit log: first page of every filter combination (slowest, p50, 1 connection)",
                f"{worst.p50_ms:.0f} ms ({key})",
                "< 50 ms",
                worst.p50_ms < 50,
            )
        )
    else:
        goals.append(Goal(database, "Audit log first page", "–", "< 50 ms", None))
    return goals


def seconds_goal(database: str, goal: str, seconds: float | None, limit: float) -> Goal:
    """A goal on a command's wall time."""
    if seconds is None:
        return Goal(database, goal, "–", f"< {limit:g} s", None)
    return Goal(database, goal, f"{seconds:.1f} s", f"< {limit:g} s", seconds < limit)


def memory_goal(peak_kb: int | None, rows: int, limit_mb: float) -> Goal:
    """The import's peak memory goal."""
    goal = f"Import memory: `flask students import` of {rows:,} rows, peak RSS"
    if peak_kb is None:
        return Goal("SQLite", goal, "–", f"< {limit_mb:g} MB", None)
    return Goal(
        "SQLite", goal, f"{peak_kb / MB:.0f} MB", f"< {limit_mb:g} MB", peak_kb / MB < limit_mb
    )


def history_note(database: str, targets: list[Target], served) -> list[str]:
    """A sentence on the history pages: time per page and per event of the student."""
    found = {t.page.key: figure(t) for t in targets if t.database == database}
    parts = []
    for key, student in (
        ("history", served.typical_id),
        ("history-busy", (served.busy_ids or [None])[0]),
    ):
        events = served.events_of.get(str(student), 0)
        result = found.get(key)
        if result is not None and events:
            parts.append(
                f"{result.p50_ms:.1f} ms for a student with {events:,} events "
                f"({result.p50_ms / events:.2f} ms an event)"
            )
    if not parts:
        return []
    return [
        "A student's history page (p50, 1 connection): " + "; ".join(parts) + ". The goal "
        "is a cost in proportion to the student's own events, whatever the trail's size."
    ]


def goals_table(goals: list[Goal]) -> list[str]:
    """The Markdown table of ``goals``."""
    lines = ["| database | goal | measured | target | verdict |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {g.database} | {g.goal} | {g.figure} | {g.target} | {g.verdict} |" for g in goals]
    return lines


def pages_table(targets: list[Target], database: str, names: Callable[[str], str]) -> list[str]:
    """The Markdown table of every page of ``database``: figures or why it was not loaded."""
    lines = [
        "| page | server | URL | connections | req/s | p50 ms | p99 ms | errors |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for target in (t for t in targets if t.database == database):
        path = target.url.split("/", 3)[3] if target.url.count("/") >= 3 else target.url
        server, connections = names(target.page.server), target.page.connections
        cells = f"| {target.label} | {server} | `/{path}` | {connections} |"
        result = figure(target)
        if result is None:
            lines.append(f"{cells} – | – | – | not loaded: answers HTTP {target.status} |")
        else:
            lines.append(
                f"{cells} {result.rps:.1f} | {result.p50_ms:.1f} | {result.p99_ms:.1f} "
                f"| {result.errors} |"
            )
    return lines


#: What the app does to meet the goals, for the report's readers (README has the rest).
DESIGN = [
    "## What the app does (revision 0015, `webapp/students/`)",
    "",
    "- **Total**: the default view (one status, optionally a grade, no search) reads the "
    "counts that database triggers keep per school year, grade and status "
    "(`enrollment_counts`, revision 0011): exact, a dozen rows at any size, and every write "
    "path keeps them (triggers). Other views (`all`, `none`, a teacher's scope) count at "
    'most 10,001 rows and show "more than 10,000", a search at most 1,001 ("more than '
    '1,000"): one index scan, bounded. '
    "Chosen because the exact count of the default view is the one people read (how many "
    "students are enrolled), and it is free; an exact count of a broad search would scan "
    "every match on every page.",
    "- **Keyset**: Next/Previous and the page numbers next to the current page continue "
    "from the current page's last or first row (`after=ID`, `before=ID`, `skip=K`): an index "
    "range, no OFFSET. The first and last pages are read from their own end. A bare "
    "`?page=N` still works by OFFSET from the nearer end; the table shows both.",
    "- **Search**: FTS5 `trigram` (SQLite) or `pg_trgm` GIN on `name`, `email` "
    "(PostgreSQL) narrow the rows; the plain substring rule decides, so "
    "results are the rule's exactly (a hypothesis test compares them). On SQLite a common "
    "text (over 2,000 candidates) walks the sorted column's index instead of sorting its "
    "candidates, and a very common one (over 50,000) is checked by the rule alone.",
    "- **Nothing lists a whole table**: the homeroom of a bulk action and the audit log's "
    "account are typed (50 suggestions), accounts and homerooms are paged.",
    "- **Audit log**: indexes ending in `id` for every filter, dates as an id range, the "
    "count bounded at 10,000; a student's history reads `(student_id, id)`.",
    "",
]
