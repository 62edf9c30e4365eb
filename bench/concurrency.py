"""Simultaneous saves of one student from one version: exactly one may win.

Each round, ``writers`` clients (separate sessions, like separate secretaries) open the
edit form of the same student, so all hold the same version; then they all press Save at
once (a barrier releases them together). With optimistic locking, exactly one save
succeeds (302), every other gets 409, and the stored row equals the winner's values. The
negative control runs the same against a server with ``FLASK_OPTIMISTIC_LOCKING=false``
and must detect a lost update (more than one save accepted from the same version).

Full run (20 rounds of 20 writers against gunicorn with 4 workers, and the control)::

    .venv/bin/python -m bench.concurrency --rounds 20 --writers 20 --workers 4

It writes ``bench/results/concurrency.md``. ``tests/test_live_server.py`` runs a short
version under ``make test``.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.client import Client
from bench.server import ACCOUNT_EMAIL, ACCOUNT_PASSWORD, PROJECT_ROOT, gunicorn_server

ACCOUNT = (ACCOUNT_EMAIL, ACCOUNT_PASSWORD)
RESULTS = PROJECT_ROOT / "bench" / "results" / "concurrency.md"


@dataclass
class Round:
    """What happened in one round of simultaneous saves."""

    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    winners: list[str] = field(default_factory=list)
    stored_name: str | None = None

    @property
    def exactly_one_winner(self) -> bool:
        """One 302, every other answer a 409, no error, and the stored row is the winner's."""
        return (
            self.statuses[302] == 1
            and self.statuses[409] == sum(self.statuses.values()) - 1
            and not self.errors
            and self.winners == [self.stored_name]
        )

    @property
    def lost_update(self) -> bool:
        """More than one save accepted from the same version: someone's change was lost."""
        return self.statuses[302] > 1


def create_student(client: Client) -> int:
    """Create the student the writers fight over and return its id."""
    token, _ = client.form("/students/new")
    reply = client.request(
        "/students/new",
        {"csrf_token": token, "name": "Contested Student", "grade": "5", "enrolled_on": ""},
    )
    if reply.status != 302 or not reply.location:
        raise RuntimeError(f"could not create the student: HTTP {reply.status}")
    return int(reply.location.rstrip("/").rsplit("/", 1)[1])


def stored_name(database_url: str, student_id: int) -> str | None:
    """Read the student's name straight from the database."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                text("SELECT name FROM students WHERE id = :id"), {"id": student_id}
            ).scalar()
    finally:
        engine.dispose()


def run_round(base_url: str, database_url: str, student_id: int, number: int, writers: int):
    """Run one round and return its :class:`Round`."""
    result = Round()
    path = f"/students/{student_id}/edit"
    clients = [Client(base_url, login=ACCOUNT) for _ in range(writers)]
    forms = [client.form(path) for client in clients]
    assert len({version for _, version in forms}) == 1, "writers must share one version"
    barrier = threading.Barrier(writers)
    lock = threading.Lock()

    def save(index: int) -> None:
        token, version = forms[index]
        name = f"Writer {number}-{index}"
        data = {
            "csrf_token": token,
            "version": str(version),
            "name": name,
            "email": "",
            "grade": str(1 + index % 12),
            "birthday": "",
            "enrolled_on": "2020-09-01",
        }
        barrier.wait()
        try:
            reply = clients[index].request(path, data)
        except OSError as error:
            with lock:
                result.errors.append(f"{name}: {error}")
            return
        with lock:
            result.statuses[reply.status] += 1
            if reply.status == 302:
                result.winners.append(name)
            elif reply.status >= 500:
                result.errors.append(f"{name}: HTTP {reply.status}")

    threads = [threading.Thread(target=save, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.stored_name = stored_name(database_url, student_id)
    return result


def run(
    database_url: str,
    log_path: Path,
    *,
    rounds: int,
    writers: int,
    workers: int,
    locking: bool = True,
) -> list[Round]:
    """Start a server on ``database_url`` and run ``rounds`` rounds against it."""
    env = {} if locking else {"FLASK_OPTIMISTIC_LOCKING": "false"}
    with gunicorn_server(database_url, log_path, workers=workers, env=env) as server:
        student_id = create_student(Client(server.url, login=ACCOUNT))
        return [
            run_round(server.url, database_url, student_id, number, writers)
            for number in range(rounds)
        ]


def summary(rounds: list[Round]) -> dict[str, int]:
    """Totals over rounds: saves accepted, conflicts, server errors, good rounds."""
    statuses: Counter[int] = Counter()
    for result in rounds:
        statuses.update(result.statuses)
    return {
        "rounds": len(rounds),
        "accepted": statuses[302],
        "conflicts": statuses[409],
        "server_errors": sum(n for code, n in statuses.items() if code >= 500)
        + sum(len(r.errors) for r in rounds),
        "rounds_with_exactly_one_winner": sum(r.exactly_one_winner for r in rounds),
        "rounds_with_lost_update": sum(r.lost_update for r in rounds),
    }


def main() -> None:
    """Run the full benchmark and write ``bench/results/concurrency.md``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--database-url", help="default: a new SQLite file in a temp dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/students.db"
        started = time.perf_counter()
        locked = summary(
            run(
                url,
                Path(folder) / "locked.log",
                rounds=args.rounds,
                writers=args.writers,
                workers=args.workers,
            )
        )
        url_control = args.database_url or f"sqlite:///{folder}/control.db"
        control = summary(
            run(
                url_control,
                Path(folder) / "control.log",
                rounds=args.rounds,
                writers=args.writers,
                workers=args.workers,
                locking=False,
            )
        )
        elapsed = time.perf_counter() - started
    command = (
        f".venv/bin/python -m bench.concurrency --rounds {args.rounds} "
        f"--writers {args.writers} --workers {args.workers}"
    )
    lines = [
        "# Concurrent saves of one student (optimistic locking)",
        "",
        f"Command: `{command}` ({elapsed:.0f} s in all). "
        f"Database: {'given URL' if args.database_url else 'SQLite (WAL)'}; "
        f"gunicorn with {args.workers} sync workers on 127.0.0.1.",
        "",
        f"Each round: {args.writers} sessions open the edit form of one student (same "
        "version), then all press Save at once.",
        "",
        "| run | rounds | saves accepted | 409 conflicts | server errors "
        "| rounds with exactly one winner | rounds with a lost update |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, row in (
        ("optimistic locking on", locked),
        ("negative control: locking off", control),
    ):
        lines.append(
            f"| {name} | {row['rounds']} | {row['accepted']} | {row['conflicts']} | "
            f"{row['server_errors']} | {row['rounds_with_exactly_one_winner']} | "
            f"{row['rounds_with_lost_update']} |"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    ok = (
        locked["rounds_with_exactly_one_winner"] == args.rounds
        and control["rounds_with_lost_update"] > 0
    )
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
