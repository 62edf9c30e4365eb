"""The restore drill of ``docs/backups.md`` against real gunicorn, on both databases.

Concurrent writers go on while ``flask backup create`` runs; the backup is verified,
restored into a new database and served; every write acknowledged before the backup
began must be in the restored database (``bench/faults/drill.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bench.faults.drill import run_drill

pytestmark = pytest.mark.slow


def test_restore_drill_keeps_every_write_acknowledged_before_the_backup(
    empty_database_factory: Callable[[], str], tmp_path: Path
) -> None:
    result = run_drill(
        empty_database_factory(),
        empty_database_factory(),
        tmp_path,
        clients=6,
        warm_up=1.0,
        min_writes=20,
    )
    assert result.acknowledged_before >= 20, result
    assert result.check.creates_checked > 0
    assert result.check.edits_checked > 0
    assert result.check.creates_missing == []
    assert result.check.edits_missing == []
    assert result.check.half_written == []
    assert "The backup is good." in result.outputs[1]
    assert result.healthz == 200
