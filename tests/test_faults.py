"""Short versions of the fault runs of ``bench/faults``, against real gunicorn.

Each injects its fault under load and demands what the full run demands: no acknowledged
write lost, nothing half-written, no 500. The worker and master kills share one gunicorn
per database (in this order: the master kill replaces it). Full runs and their figures:
``make bench-faults``, ``bench/results/faults.md``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.faults import outages, scenarios
from bench.faults.result import FaultResult
from bench.server import Server, gunicorn_server
from tests.postgres import throwaway_cluster

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(
    request: pytest.FixtureRequest, database_backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """gunicorn (2 workers) on a new database, shared by this module's kill tests."""
    folder = tmp_path_factory.mktemp("faults")
    if database_backend == "sqlite":
        with gunicorn_server(f"sqlite:///{folder}/students.db", folder / "gunicorn.log") as server:
            yield server
        return
    postgres = request.getfixturevalue("postgres")
    name = postgres.new_name("faults")
    with gunicorn_server(postgres.create_database(name), folder / "gunicorn.log") as server:
        yield server
    postgres.drop_database(name)


def passed(result: FaultResult) -> bool:
    """Whether the run kept every promise (its figures are printed for ``pytest -s``)."""
    print(result.fault, result.database, result.figures)
    return result.ok


def test_worker_killed_in_the_middle_of_an_import_writes_none_of_it(live: Server) -> None:
    result = scenarios.worker_kill_import(live, rows=6000, clients=3, threshold=300_000)
    assert passed(result), result.problems
    assert result.figures["imported rows after the kill"] == 0
    assert result.figures["same file uploaded again"] == "HTTP 303, 6,000 rows imported"


def test_workers_killed_in_the_middle_of_saves_lose_no_acknowledged_save(live: Server) -> None:
    result = scenarios.worker_kill_saves(live, duration=4, kills=2, clients=6)
    assert passed(result), result.problems
    assert result.figures["requests cut off by a kill"] >= 1


@pytest.mark.sqlite_only
def test_master_killed_and_started_again_loses_no_acknowledged_write(live: Server) -> None:
    result = scenarios.master_kill(live, duration=7, kill_at=2.5, orphan_time=1, clients=6)
    assert passed(result), result.problems
    assert result.figures["integrity_check"] == "ok"


@pytest.mark.sqlite_only
def test_full_disk_answers_503_and_writes_resume_once_space_is_freed(tmp_path: Path) -> None:
    with (
        outages.database_on_small_disk(tmp_path) as url,
        gunicorn_server(url, tmp_path / "gunicorn.log") as server,
    ):
        result = outages.disk_full(server, before=2, full_for=2, after=2, clients=6)
    assert passed(result), result.problems
    assert "run out of disk space" in result.figures["the 503 page says"]
    assert result.figures["integrity_check"] == "ok"


@pytest.mark.postgres_only
def test_postgres_down_answers_503_and_recovers_without_restarting_workers(
    tmp_path: Path,
) -> None:
    with (
        throwaway_cluster(durable=True) as postgres,
        gunicorn_server(postgres.create_database("faults"), tmp_path / "gunicorn.log") as server,
    ):
        result = outages.postgres_restart(
            postgres, server, duration=8, restart_at=2, down_for=2, clients=6
        )
    assert passed(result), result.problems
