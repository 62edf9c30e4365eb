"""CPU per request of the pages that list accounts and homerooms, in-process (Flask test
client, signed in as an administrator), for one or more checkouts side by side.

Usage::

    DATABASE_URL=sqlite:////tmp/district.db SECRET_KEY=x flask --app webapp db upgrade
    DATABASE_URL=... SECRET_KEY=x flask --app webapp students seed --count 50000
    DATABASE_URL=... SECRET_KEY=x .venv/bin/python -m bench.list_pages \\
        --checkout /path/to/baseline --checkout . --rounds 3 --requests 30

Each checkout is measured in a child process of its own (its ``webapp`` package first on
``sys.path``), the checkouts alternating round by round; the figure is the median over
the rounds of the mean CPU time (``time.process_time``) per request. The database is
read, never changed, except for the administrator ``bench-admin@bench.example`` that the
first run adds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

#: The pages measured (``HID``: the first homeroom of the current year).
PAGES = (
    "/users/",
    "/users/?q=teacher.5&role=teacher&page=2",
    "/homerooms/",
    "/homerooms/?grade=5&page=2",
    "/homerooms/new",
    "/homerooms/HID/edit",
    "/students/",
)

#: Run in the child: signs in, warms each page up, then times ``requests`` GETs of it.
_CHILD = """
import json, logging, sys, time
from sqlalchemy import func, select
from webapp import create_app
from webapp.extensions import db
from webapp.models import Homeroom, Role, SchoolYear, User
from webapp.users.service import create_user

requests, pages = int(sys.argv[1]), json.loads(sys.argv[2])
app = create_app()
logging.disable(logging.INFO)
with app.app_context():
    email = "bench-admin@bench.example"
    admin = db.session.scalar(select(User).where(User.email == email))
    if admin is None:
        admin = create_user(email, Role.ADMIN, "bench-admin-password-1")
    session_id = admin.get_id()
    current = select(Homeroom.id).join(Homeroom.school_year).where(SchoolYear.is_current)
    homeroom = db.session.scalar(current.order_by(Homeroom.id).limit(1))
    sizes = {
        "accounts": db.session.scalar(select(func.count()).select_from(User)),
        "homerooms": db.session.scalar(select(func.count()).select_from(Homeroom)),
    }
client = app.test_client()
with client.session_transaction() as session:
    session["_user_id"], session["_fresh"] = session_id, True
figures = {}
for page in pages:
    url = page.replace("HID", str(homeroom))
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    start = time.process_time()
    for _ in range(requests):
        client.get(url)
    figures[page] = {
        "cpu_ms": (time.process_time() - start) / requests * 1000,
        "kib": len(response.data) / 1024,
    }
print(json.dumps({"sizes": sizes, "pages": figures}))
"""


def measure(checkout: Path, requests: int) -> dict:
    """One child run against ``checkout``: its sizes and per-page figures."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(requests), json.dumps(PAGES)],
        cwd=checkout,
        env={**os.environ, "PYTHONPATH": str(checkout)},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    """Measure the pages for each ``--checkout`` and print a Markdown table with ratios
    to the first checkout."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkout", action="append", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args(argv)
    runs: dict[Path, list[dict]] = {checkout: [] for checkout in args.checkout}
    for _ in range(args.rounds):
        for checkout in args.checkout:
            runs[checkout].append(measure(checkout.resolve(), args.requests))
    first = args.checkout[0]
    print(f"sizes: {runs[first][0]['sizes']}")
    heading = " | ".join(f"{c} ms CPU (KiB)" for c in args.checkout)
    print(f"| page | {heading} | ratio last/first |")
    print("|---" * (len(args.checkout) + 2) + "|")
    for page in PAGES:
        medians = {
            c: statistics.median(run["pages"][page]["cpu_ms"] for run in runs[c])
            for c in args.checkout
        }
        cells = " | ".join(
            f"{medians[c]:.1f} ({runs[c][0]['pages'][page]['kib']:.0f})" for c in args.checkout
        )
        ratio = medians[args.checkout[-1]] / medians[first]
        print(f"| `{page}` | {cells} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
