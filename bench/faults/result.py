"""What a fault run measured, and the checks every run shares."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.faults.workload import Check, Outcome, Workload
from webapp.backup.sqlite import integrity_problems

#: gunicorn's worker timeout (gunicorn.conf.py): no request may hang longer.
WORKER_TIMEOUT = 30.0


@dataclass
class FaultResult:
    """What one fault run measured.

    Attributes:
        fault: the fault's name (``worker-kill-import``, ...).
        database: ``sqlite`` or ``postgresql``.
        figures: label to value, in the order to report them.
        problems: broken promises; empty when the run passed.
    """

    fault: str
    database: str
    figures: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether no promise was broken."""
        return not self.problems

    def expect(self, condition: bool, problem: str) -> None:
        """Record ``problem`` unless ``condition`` holds."""
        if not condition:
            self.problems.append(problem)

    def report_writes(self, workload: Workload, check: Check) -> None:
        """Add the figures and promises every run shares: nothing lost, half-written, 500."""
        self.figures["requests"] = f"{len(workload.outcomes):,} ({count(workload.outcomes)})"
        self.figures["longest request"] = f"{workload.longest():.2f} s"
        self.figures["writes acknowledged"] = (
            f"{check.creates_checked:,} creates, {check.edits_checked:,} edits"
        )
        self.figures["acknowledged writes lost"] = check.lost
        self.figures["students half-written"] = len(check.half_written)
        errors = workload.server_errors()
        self.figures["500 answers"] = len(errors)
        self.expect(check.lost == 0, f"acknowledged writes lost: {check.lost}")
        self.expect(not check.half_written, f"half-written: {check.half_written[:5]}")
        self.expect(not errors, f"{len(errors)} answers of 500 or more other than 503")
        longest = workload.longest()
        self.expect(longest < WORKER_TIMEOUT, f"a request took {longest:.1f} s")
        self.expect(check.creates_checked > 0, "no write was acknowledged at all")

    def check_integrity(self, database_url: str) -> None:
        """SQLite: add ``PRAGMA integrity_check``'s verdict (nothing for PostgreSQL)."""
        if kind(database_url) == "sqlite":
            problems = integrity_problems(Path(database_url.removeprefix("sqlite:///")))
            self.figures["integrity_check"] = "; ".join(problems[:3]) or "ok"
            self.expect(not problems, f"integrity_check: {problems[:3]}")


def kind(database_url: str) -> str:
    """``sqlite`` or ``postgresql``."""
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


def count(outcomes: Iterable[Outcome]) -> str:
    """``"200: 5, 503: 2"``: outcomes by status (``no answer`` for a broken connection)."""
    counts = Counter(str(o.status) if o.status is not None else "no answer" for o in outcomes)
    return ", ".join(f"{status}: {n:,}" for status, n in sorted(counts.items())) or "none"


def started_between(workload: Workload, since: float, until: float) -> str:
    """:func:`count` of the requests that started in ``[since, until)``."""
    return count(o for o in workload.outcomes if since <= o.started < until)
