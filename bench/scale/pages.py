"""The URLs the scale benchmark loads, and the alternating rounds that load them.

Each :class:`Page` names a server (``app``, ``app-small``, ``raw``, ``admin``) and a path,
which may depend on the database served (a student id, an account id, a date). To
measure another page, add a :class:`Page` to :data:`PAGES` (or pass ``--url KEY=PATH``
for an app page): the rounds, the report's table and its JSON pick it up. Goals that
compare two pages are in :mod:`bench.scale.report`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from bench.scale.build import Served
from bench.scale.load import LoadResult

#: Pages loaded with this many connections measure throughput; pages whose goal is a
#: time per page (the audit log) are loaded with one connection, so that what is
#: measured is the page's own time, not the queue in front of two workers.
CONNECTIONS = 8


@dataclass(frozen=True)
class Page:
    """One URL to load.

    Attributes:
        key: short stable name (the goals and the JSON refer to it).
        label: what the report calls it (``{n}`` is replaced by a number of events).
        server: ``app``, ``app-small``, ``raw`` or ``admin``.
        path: the path and query, or a function of the served database giving it.
        connections: wrk connections.
    """

    key: str
    label: str
    server: str
    path: str | Callable[[Served], str]
    connections: int = CONNECTIONS

    def resolve(self, served: Served) -> str:
        """The path for ``served``."""
        return self.path(served) if callable(self.path) else self.path


def middle_page(served: Served) -> int:
    """The roster's middle page at 25 a page (20,000 at 1,000,000 students)."""
    return max(1, served.students // 50)


#: The roster row before each served database's middle page, by URL (read once).
_MIDDLE_AFTER: dict[str, int] = {}


def middle_after(served: Served) -> int:
    """The id of the last student of the page before the middle page, in roster order
    (enrolled this year, by name, then id): where the pager's keyset link to the middle
    page continues from. Read once per database, by OFFSET."""
    if served.url not in _MIDDLE_AFTER:
        offset = (middle_page(served) - 1) * 25 - 1
        sql = (
            "SELECT s.id FROM students s JOIN enrollments e ON e.student_id = s.id"
            " AND e.school_year_id = (SELECT id FROM school_years WHERE is_current)"
            " AND e.status = 'enrolled' ORDER BY s.name, s.id LIMIT 1 OFFSET {}"
        )
        if served.peer_url.startswith("sqlite:///"):
            import sqlite3

            connection = sqlite3.connect(served.peer_url.removeprefix("sqlite:///"))
            try:
                row = connection.execute(sql.format("?"), (offset,)).fetchone()
            finally:
                connection.close()
        else:
            import psycopg

            with psycopg.connect(served.peer_url) as connection:
                row = connection.execute(sql.format("%s"), (offset,)).fetchone()
        _MIDDLE_AFTER[served.url] = int(row[0]) if row else 1
    return _MIDDLE_AFTER[served.url]


def _middle_keyset(served: Served) -> str:
    return f"/students/?page={middle_page(served)}&after={middle_after(served)}"


def _staff(served: Served, number: int = 5) -> int:
    return served.accounts.get(f"staff{number:02}@district.example", 1)


def _last_month(served: Served) -> tuple[str, str]:
    last = date.fromisoformat(served.last_day or "2026-11-30")
    return (last - timedelta(days=30)).isoformat(), last.isoformat()


def _audit_all_filters(served: Served) -> str:
    since, until = _last_month(served)
    return f"/audit/?user={_staff(served)}&action=update&since={since}&until={until}"


def _history(served: Served, busy: bool) -> str:
    student = served.busy_ids[0] if busy and served.busy_ids else served.typical_id
    return f"/students/{student}/history"


PAGES: list[Page] = [
    Page("page1", "roster page 1", "app", "/students/"),
    Page("page1-small", "roster page 1, small roster", "app-small", "/students/"),
    Page("middle", "middle page", "app", lambda s: f"/students/?page={middle_page(s)}"),
    Page("middle-keyset", "middle page by the pager's link (keyset)", "app", _middle_keyset),
    Page("search", "search `?q=Hopper`", "app", "/students/?q=Hopper"),
    Page("search-short", "search `?q=jo` (2 characters)", "app", "/students/?q=jo"),
    Page("dashboard", "dashboard `/`", "app", "/"),
    Page(
        "floor",
        "the app's lightest signed-in page (`/account/two-factor`)",
        "app",
        "/account/two-factor",
    ),
    Page("raw", "raw driver + Jinja, without a total", "raw", "/"),
    Page("raw-count", "raw driver + Jinja, with `COUNT(*)`", "raw", "/?count=1"),
    Page(
        "raw-middle",
        "raw driver + Jinja, middle page, no total",
        "raw",
        lambda s: f"/?page={middle_page(s)}",
    ),
    Page("admin", "Flask-Admin ModelView list", "admin", "/admin/students/"),
    Page("audit", "audit log, no filter", "app", "/audit/", 1),
    Page("audit-action", "audit log, action = delete", "app", "/audit/?action=delete", 1),
    Page("audit-user", "audit log, one account", "app", lambda s: f"/audit/?user={_staff(s)}", 1),
    Page(
        "audit-dates",
        "audit log, last 30 days",
        "app",
        lambda s: "/audit/?since={}&until={}".format(*_last_month(s)),
        1,
    ),
    Page("audit-all", "audit log, account + action + 30 days", "app", _audit_all_filters, 1),
    Page(
        "audit-user-old",
        "audit log, one account, oldest page",
        "app",
        lambda s: f"/audit/?user={_staff(s, 12)}&until={s.first_day or '2024-01-01'}",
        1,
    ),
    Page(
        "history",
        "history of a typical student ({n} events)",
        "app",
        lambda s: _history(s, busy=False),
        1,
    ),
    Page(
        "history-busy",
        "history of a busy student ({n} events)",
        "app",
        lambda s: _history(s, busy=True),
        1,
    ),
]
#: The audit pages whose first page has the 50 ms goal.
AUDIT_KEYS = ("audit", "audit-action", "audit-user", "audit-dates", "audit-all", "audit-user-old")


def label(page: Page, served: Served) -> str:
    """The report's label of ``page`` on ``served`` (events counted in)."""
    if page.key.startswith("history"):
        student = (
            served.busy_ids[0]
            if page.key == "history-busy" and served.busy_ids
            else served.typical_id
        )
        return page.label.format(n=f"{served.events_of.get(str(student), 0):,}")
    if page.key in {"middle", "raw-middle", "middle-keyset"}:
        return f"{page.label} (`?page={middle_page(served)}`)"
    return page.label


@dataclass
class Target:
    """A page on one database's server, with the results of its rounds."""

    database: str
    page: Page
    url: str
    headers: dict[str, str]
    label: str
    status: int = 0
    size: int = 0
    probe_seconds: float = 0.0
    drain: Callable[[], None] | None = None
    results: list[LoadResult] | None = None

    def duration(self, seconds: float) -> float:
        """How long to load this page: ``seconds``, longer for a slow page.

        A page of ``probe_seconds`` gets about 10 times that (about 20 answers from two
        workers), up to 6 times ``seconds``.
        """
        return min(max(seconds, 10 * self.probe_seconds), 6 * seconds)

    def settle(self, pause: float) -> None:
        """Wait for the requests still queued at this page's server, then ``pause`` more.

        wrk stops at its deadline, but gunicorn's sync workers still answer every request
        already accepted or waiting in the listen backlog: after a slow page that is
        seconds of work, which would fall on the next page measured.
        """
        if self.drain is not None:
            self.drain()
        time.sleep(pause)


Loader = Callable[..., LoadResult]


def run_rounds(
    targets: list[Target],
    loader: Loader,
    *,
    rounds: int,
    seconds: float,
    warm_up: float,
    pause: float,
    log: Callable[[str], None],
) -> None:
    """Load every target in turn, ``rounds`` times, alternating the order each round.

    Each run is a warm-up of ``warm_up`` seconds (not counted, at most 2 connections)
    then :meth:`Target.duration` measured; after each, :meth:`Target.settle` waits for the
    server's queue to empty. Odd rounds go through the targets backwards, so a slow drift
    of the machine does not favour the pages measured first.
    """
    for target in targets:
        target.results = []
    for number in range(rounds):
        order = targets if number % 2 == 0 else list(reversed(targets))
        for target in order:
            connections = target.page.connections
            if warm_up > 0:
                loader(target.url, target.headers, connections=min(connections, 2), seconds=warm_up)
                target.settle(pause)
            result = loader(
                target.url,
                target.headers,
                connections=connections,
                seconds=target.duration(seconds),
            )
            assert target.results is not None
            target.results.append(result)
            log(
                f"round {number + 1}/{rounds} {target.database} {target.page.key}: "
                f"{result.rps:.1f} req/s, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms"
                + (f", {result.errors} errors" if result.errors else "")
            )
            target.settle(pause)
