"""Short versions of the concurrency and load runs in ``bench/``, against real gunicorn.

SQLite only: they measure how the app behaves with SQLite under several gunicorn workers
(WAL, busy timeout, ``BEGIN IMMEDIATE``). The full runs (20 rounds; 60 s of load) are
``make bench-concurrency`` and ``make bench-load``; see ``bench/results/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import concurrency, load

pytestmark = [pytest.mark.sqlite_only, pytest.mark.slow]


def test_simultaneous_saves_from_one_version_have_exactly_one_winner(tmp_path: Path) -> None:
    rounds = concurrency.run(
        f"sqlite:///{tmp_path}/students.db",
        tmp_path / "gunicorn.log",
        rounds=3,
        writers=20,
        workers=4,
    )
    totals = concurrency.summary(rounds)
    assert totals["rounds_with_exactly_one_winner"] == 3, [r.statuses for r in rounds]
    assert totals["accepted"] == 3
    assert totals["conflicts"] == 3 * 19
    assert totals["server_errors"] == 0


def test_negative_control_without_version_check_detects_a_lost_update(tmp_path: Path) -> None:
    rounds = concurrency.run(
        f"sqlite:///{tmp_path}/students.db",
        tmp_path / "gunicorn.log",
        rounds=1,
        writers=20,
        workers=4,
        locking=False,
    )
    assert concurrency.summary(rounds)["rounds_with_lost_update"] == 1
    assert not rounds[0].exactly_one_winner


def test_mixed_load_with_reloads_has_no_server_error_and_loses_no_created_student(
    tmp_path: Path,
) -> None:
    """Two SIGHUPs (graceful reloads) during the load; the same checks hold without them
    (``make bench-load`` measures both)."""
    result = load.run(
        f"sqlite:///{tmp_path}/students.db",
        tmp_path / "gunicorn.log",
        duration=5,
        # Few clients: each signs in first (a deliberately slow password hash), and the
        # suite's run may share the machine with the other database's.
        clients=8,
        workers=2,
        hups=2,
        students=200,
    )
    # Counts, not speed: the machine may be busy (no timed assertions in the suite).
    assert result.requests > 0
    assert result.server_errors == 0, result.statuses
    assert result.failures == []
    assert result.created_emails
    assert result.missing_after == 0
