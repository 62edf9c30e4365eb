"""Brute force against a real gunicorn with two workers: the sign-in throttle holds.

Each attempt is counted in the database (``login_throttles``, row locked) before its
password is checked, so parallel guesses spread over both workers cannot get more than
``LOGIN_MAX_FAILURES`` checks in, although the hash runs outside the transaction.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest

from bench.client import Client
from bench.server import ACCOUNT_EMAIL, ACCOUNT_PASSWORD, gunicorn_server

pytestmark = [pytest.mark.sqlite_only, pytest.mark.slow]

GUESSES = 30


def test_parallel_guesses_are_cut_off_at_the_lockout(tmp_path: Path) -> None:
    with gunicorn_server(
        f"sqlite:///{tmp_path}/students.db",
        tmp_path / "log",
        workers=2,
        env={"LOGIN_MAX_FAILURES": "5"},
    ) as server:
        clients = [Client(server.url) for _ in range(GUESSES)]
        tokens = [client.form("/login")[0] for client in clients]
        statuses: Counter[int] = Counter()
        lock = threading.Lock()
        barrier = threading.Barrier(GUESSES)

        def guess(index: int) -> None:
            data = {
                "csrf_token": tokens[index],
                "email": ACCOUNT_EMAIL,
                "password": f"guess-{index}",
            }
            barrier.wait()
            reply = clients[index].request("/login", data)
            with lock:
                statuses[reply.status] += 1

        threads = [threading.Thread(target=guess, args=(i,)) for i in range(GUESSES)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        # Exactly five wrong passwords were checked; every later guess was refused unseen.
        assert statuses == {422: 5, 429: GUESSES - 5}
        # And now even the right password must wait, from this address, on either worker.
        for _ in range(4):
            client = Client(server.url)
            token, _ = client.form("/login")
            reply = client.request(
                "/login",
                {"csrf_token": token, "email": ACCOUNT_EMAIL, "password": ACCOUNT_PASSWORD},
            )
            assert reply.status == 429
            assert "Too many failed logins with this email from your network" in reply.text
