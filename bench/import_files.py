"""Imports of spreadsheets and of files at the limits: time, memory, preview size.

Two parts, both against the real thing:

1. **100,000 rows as ``.xlsx``** (issue 17), beside the same rows as a clean CSV (the peer
   in the same run): ``flask students import FILE`` (wall time and the process's peak
   memory), and the browser's path through a live gunicorn with one worker: the upload
   that reads the file and builds its preview, then the confirm (time of each request,
   and the worker's peak memory above its size before the request, from Linux's
   ``VmHWM`` reset through ``/proc/<pid>/clear_refs``).
2. **Files at the limits** (issue 18, finding 3): the review's attack files and the
   largest files the limits let through, uploaded to a live gunicorn: time of the
   upload, the worker's peak memory above its size before it, the preview stored in the
   database, and the size and time of a preview page.

``tests/test_live_imports.py`` runs part 2's files and checks the bounds the docs state
(``docs/import-export.md``, "Limits"). Results: ``bench/results/import-files.md``.

Full run (several minutes on 2 cores)::

    .venv/bin/python -m bench.import_files        # or: make bench-import-files

Quick check::

    .venv/bin/python -m bench.import_files --rows 5000 --skip-limits
"""

from __future__ import annotations

import argparse
import csv
import functools
import io
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

from bench import server
from bench.client import Client
from bench.import_export import timed_process

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS = PROJECT_ROOT / "bench" / "results" / "import-files.md"
PREVIEW_URL = re.compile(r"/students/import/([A-Za-z0-9_-]{32})$")
#: ``flask --app webapp``, run by this Python.
FLASK = [sys.executable, "-m", "flask", "--app", "webapp"]
#: The import's limits, as configured by default (``webapp.config.DefaultConfig``).
MAX_BYTES, MAX_ROWS, MAX_COLUMNS = 10_000_000, 100_000, 200


# --- files ---------------------------------------------------------------------------------


def roster_rows(count: int) -> Iterator[list[str]]:
    """``count`` valid new students as text: name, email, grade, birthday, enrolled_on."""
    for number in range(count):
        yield [
            f"Student Number{number}",
            f"student{number}@example.org",
            str(number % 12 + 1),
            f"20{number % 10:02d}-{number % 12 + 1:02d}-{number % 28 + 1:02d}",
            "2020-09-01",
        ]


ROSTER_HEADER = ["name", "email", "grade", "birthday", "enrolled_on"]


def roster_csv(count: int) -> bytes:
    """A clean CSV (UTF-8, commas, ISO dates) of ``count`` students."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(ROSTER_HEADER)
    writer.writerows(roster_rows(count))
    return out.getvalue().encode()


def roster_xlsx(count: int) -> bytes:
    """The same students as an ``.xlsx`` with a shared-strings table and date cells, as
    Excel saves a roster (written by openpyxl)."""
    from datetime import date

    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Roster")
    sheet.append(ROSTER_HEADER)
    for name, email, grade, birthday, enrolled in roster_rows(count):
        sheet.append(
            [name, email, int(grade), date.fromisoformat(birthday), date.fromisoformat(enrolled)]
        )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def at_byte_limit(max_bytes: int = MAX_BYTES) -> bytes:
    """Valid rows up to the byte limit (the most rows of real data a file may hold)."""
    header = ",".join(ROSTER_HEADER) + "\n"
    lines, size = [header], len(header)
    for row in roster_rows(MAX_ROWS):
        line = ",".join(row) + "\n"
        if size + len(line) > max_bytes:
            break
        lines.append(line)
        size += len(line)
    return "".join(lines).encode()


def widest(max_bytes: int = MAX_BYTES, columns: int = MAX_COLUMNS) -> bytes:
    """A file of ``columns`` columns, each cell distinct, up to the byte limit."""
    header = ",".join(["name", "grade", *(f"extra {n}" for n in range(columns - 2))]) + "\n"
    out, size, number = [header], len(header), 0
    while True:
        line = ",".join(f"{number:x}{column:x}" for column in range(columns)) + "\n"
        if size + len(line) > max_bytes:
            return "".join(out).encode()
        out.append(line)
        size += len(line)
        number += 1


#: The files of part 2, by label: ``(make, what the upload should answer)``. The first
#: two are the review's (issue 18, finding 3), the others the largest the limits allow.
LIMIT_FILES: dict[str, tuple[Callable[[], bytes], int]] = {
    "review: 2 MB header of empty cells": (
        lambda: b"name,grade" + b"," * 2_000_000 + b"\nAda,7\n",
        303,
    ),
    "review: 500,000 one-cell rows (1 MB)": (
        lambda: b"name,grade\n" + b"x\n" * 500_000,
        422,
    ),
    "2 MB header of named columns": (
        lambda: b",".join(b"c%d" % n for n in range(300_000)) + b"\nAda,7\n",
        422,
    ),
    f"{MAX_ROWS:,} one-cell rows (every row an error)": (
        lambda: b"name,grade\n" + b"x\n" * MAX_ROWS,
        303,
    ),
    f"{MAX_COLUMNS} columns of distinct cells, 10 MB": (widest, 303),
    f"valid rows up to the row limit ({MAX_ROWS:,}, 6.9 MB)": (at_byte_limit, 303),
}


# --- a live server ---------------------------------------------------------------------------


def worker_pid(master: int) -> int:
    """The pid of the one worker of a gunicorn started with one worker."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    if len(children) != 1:
        raise RuntimeError(f"expected one gunicorn worker, found {children}")
    return int(children[0])


def _status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise LookupError(field)


@dataclass
class Measured:
    """One request to a live server.

    Attributes:
        status: its HTTP status (an upload's: the status of the page it ended on).
        seconds: wall time of the request.
        peak: the worker's peak resident memory during it, above its size before (bytes).
        location: the ``Location`` of a redirect.
        text: the body.
    """

    status: int
    seconds: float
    peak: int
    location: str | None
    text: str


def measured(pid: int, call: Callable[[], object]) -> Measured:
    """Run ``call`` (a request); measure its time and the worker's memory."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    before = _status(pid, "VmRSS")
    started = time.perf_counter()
    reply = call()
    seconds = time.perf_counter() - started
    peak = _status(pid, "VmHWM") - before
    return Measured(
        reply.status,  # type: ignore[attr-defined]
        seconds,
        peak,
        reply.location,  # type: ignore[attr-defined]
        reply.text,  # type: ignore[attr-defined]
    )


@dataclass
class Uploaded:
    """An upload, once read: the preview's path, and the page it ended on.

    Attributes:
        status: the status of the page the upload ended on: 200 (its preview), 422 (the
            form with why the file was refused), 429 (the server was busy).
        location: the preview's path, when the upload was accepted for reading.
        text: that page.
    """

    status: int
    location: str | None
    text: str


def upload(client: Client, data: bytes, poll: float = 0.2) -> Uploaded:
    """POST ``data`` to the upload form (as ``file.csv``: the kind comes from the content),
    then wait for the background reading to end, as the page's script does."""
    token, _ = client.form("/students/import")
    reply = client.request("/students/import", {"csrf_token": token}, files={"file": data})
    if reply.status != 303 or reply.location is None:
        return Uploaded(reply.status, None, reply.text)
    path = PREVIEW_URL.search(reply.location)
    assert path, reply.location
    while '"reading"' in client.request(path.group(0) + "/status").text:
        time.sleep(poll)
    page = client.request(path.group(0))
    return Uploaded(page.status, path.group(0), page.text)


def confirm(client: Client, location: str) -> object:
    """POST the preview's confirm form."""
    token, _ = client.form(location)
    return client.request(location, {"csrf_token": token, "confirm": "Import"})


def stored_preview(database_url: str, token: str) -> dict[str, int]:
    """Bytes a pending import holds in the database: the file, the summary, the pages."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            table, summary = connection.execute(
                text(
                    'SELECT length("table"), length(CAST(summary AS TEXT)) FROM pending_imports '
                    "WHERE token = :token"
                ),
                {"token": token},
            ).one()
            pages, count = connection.execute(
                text(
                    "SELECT coalesce(sum(length(data)), 0), count(*) FROM pending_import_pages "
                    "WHERE token = :token"
                ),
                {"token": token},
            ).one()
    finally:
        engine.dispose()
    return {"file": table, "summary": summary, "pages": pages, "page_rows": count}


@dataclass
class LimitResult:
    """What one file at the limits cost."""

    label: str
    size: int
    upload: Measured
    stored: dict[str, int] | None
    page_bytes: int
    page_seconds: float


def try_limit_file(live: server.Server, client: Client, label: str, data: bytes) -> LimitResult:
    """Upload one file; measure the upload and, when it was accepted, the preview's pages."""
    pid = worker_pid(live.process.pid)
    result = measured(pid, lambda: upload(client, data))
    stored = None
    page_bytes, page_seconds = 0, 0.0
    if result.status == 200 and result.location:
        match = PREVIEW_URL.search(result.location)
        assert match, result.location
        stored = stored_preview(live.database_url, match.group(1))
        sizes, times = [], []
        for query in ("", "?show=error", "?page=1000000"):
            started = time.perf_counter()
            page = client.request(result.location + query)
            times.append(time.perf_counter() - started)
            assert page.status == 200, page.status
            sizes.append(len(page.text.encode()))
        page_bytes, page_seconds = max(sizes), max(times)
    return LimitResult(label, len(data), result, stored, page_bytes, page_seconds)


def one_worker_server(database_url: str, log: Path) -> object:
    """A gunicorn with one worker, so that each request's memory is that worker's."""
    return server.gunicorn_server(database_url, log, workers=1)


# --- the report ------------------------------------------------------------------------------


def mb(size: int) -> str:
    return f"{size / 1e6:.1f}"


def part_limits(folder: Path) -> list[str]:
    """Part 2: upload each file of :data:`LIMIT_FILES`; Markdown lines."""
    lines = [
        "| file | size | answer | upload s | worker peak MB | stored: file + pages MB "
        "| preview page kB | page s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    url = f"sqlite:///{folder / 'limits.db'}"
    with one_worker_server(url, folder / "limits.log") as live:  # type: ignore[attr-defined]
        client = Client(live.url, timeout=120, login=server.ACCOUNTS["editor"])
        for label, (make, _) in LIMIT_FILES.items():
            result = try_limit_file(live, client, label, make())
            stored = (
                f"{mb(result.stored['file'])} + {mb(result.stored['pages'])}"
                if result.stored
                else "—"
            )
            lines.append(
                f"| {label} | {mb(result.size)} MB | {result.upload.status} | "
                f"{result.upload.seconds:.2f} | {mb(result.upload.peak)} | {stored} | "
                f"{result.page_bytes / 1e3:.0f} | {result.page_seconds:.3f} |"
            )
            if result.upload.status != 200:
                error = re.search(r'id="file-error">(.*?)</p>', result.upload.text, re.S)
                lines[-1] += f" <!-- {error.group(1).strip() if error else '?'} -->"
    return lines


def _baseline_server(tree: Path, database_url: str, imports: Path, log: Path) -> server.Server:
    """The application of an older revision, exported into ``tree``, served by gunicorn
    with one worker, its uploads in ``imports``; migrated, with ``server.ACCOUNTS``."""
    port = server.free_port()
    environment = server.server_environment(
        database_url, port, 1, {**server.BENCH_ENVIRONMENT, "FLASK_IMPORT_FOLDER": str(imports)}
    )
    run = functools.partial(subprocess.run, cwd=tree, env=environment, check=True)
    run([*FLASK, "db", "upgrade"], capture_output=True)
    for role, (email, password) in server.ACCOUNTS.items():
        run([*FLASK, "users", "create", email, "--role", role, "--password", password],
            capture_output=True)  # fmt: skip
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--no-control-socket"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "webapp:create_app()"],
            cwd=tree,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    live = server.Server(f"http://127.0.0.1:{port}", database_url, process, log, environment)
    try:
        server.wait_until_healthy(live)
    except BaseException:
        server.stop(process)
        raise
    return live


def part_baseline(folder: Path, revision: str) -> list[str]:
    """The review's files (and the row limit's worst file) against an older revision."""
    tree = folder / "baseline"
    tree.mkdir()
    archive = subprocess.run(
        ["git", "archive", revision], cwd=PROJECT_ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    imports = folder / "baseline-imports"
    lines = [
        f"| file, at revision {revision} | size | answer | upload s | worker peak MB "
        "| stored preview MB | preview page kB | page s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    live = _baseline_server(
        tree, f"sqlite:///{folder / 'baseline.db'}", imports, folder / "baseline.log"
    )
    try:
        client = Client(live.url, timeout=300, login=server.ACCOUNTS["editor"])
        pid = worker_pid(live.process.pid)
        worst = f"{MAX_ROWS:,} one-cell rows (every row an error)"
        for label in [*list(LIMIT_FILES)[:2], worst]:
            make, _ = LIMIT_FILES[label]
            data = make()
            result = measured(pid, lambda data=data: upload(client, data))  # type: ignore[misc]
            stored = sum(path.stat().st_size for path in imports.glob("*.json"))
            page_bytes, page_seconds = 0, 0.0
            if result.status == 200 and result.location:
                started = time.perf_counter()
                page = client.request(result.location)
                page_seconds = time.perf_counter() - started
                page_bytes = len(page.text.encode())
                client.request(result.location, {"csrf_token": _token(page.text), "cancel": "x"})
            lines.append(
                f"| {label} | {mb(len(data))} MB | {result.status} | {result.seconds:.2f} | "
                f"{mb(result.peak)} | {mb(stored)} | {page_bytes / 1e3:,.0f} | {page_seconds:.2f} |"
            )
    finally:
        server.stop(live.process)
    return lines


def _token(page: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    return found.group(1) if found else ""


def part_rows(folder: Path, rows: int, repeat: int) -> list[str]:
    """Part 1: ``rows`` students as CSV and ``.xlsx``, by the CLI and through the pages."""
    files = {"clean CSV": (folder / "roster.csv", roster_csv(rows))}
    files[".xlsx (shared strings, date cells)"] = (folder / "roster.xlsx", roster_xlsx(rows))
    for path, data in files.values():
        path.write_bytes(data)
    lines = [
        f"| {rows:,} rows as | size | `flask students import` s | × CSV | peak MB "
        "| upload (preview) s | worker peak MB | confirm s | worker peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    peer: float | None = None
    for label, (path, data) in files.items():
        cli_times, cli_peaks = [], []
        for attempt in range(repeat):
            database = folder / f"cli-{path.suffix[1:]}-{attempt}.db"
            env = server.server_environment(f"sqlite:///{database}", 0, 1)
            server.flask(env, "db", "upgrade")
            seconds, peak_kb, _ = timed_process(
                [*FLASK, "students", "import", "--jobs", "2", str(path)],
                env,
            )
            cli_times.append(seconds)
            cli_peaks.append(peak_kb * 1024)
        cli = statistics.median(cli_times)
        peer = peer or cli
        url = f"sqlite:///{folder / f'web-{path.suffix[1:]}.db'}"
        with one_worker_server(url, folder / "web.log") as live:  # type: ignore[attr-defined]
            uploaded, confirmed = _through_the_pages(live, data)
        lines.append(
            f"| {label} | {mb(len(data))} MB | {cli:.2f} | {cli / peer:.2f} | "
            f"{mb(max(cli_peaks))} | {uploaded.seconds:.2f} | {mb(uploaded.peak)} | "
            f"{confirmed.seconds:.2f} | {mb(confirmed.peak)} |"
        )
    return lines


def _through_the_pages(live: server.Server, data: bytes) -> tuple[Measured, Measured]:
    """Upload ``data`` and confirm it on ``live``; measure both."""
    client = Client(live.url, timeout=300, login=server.ACCOUNTS["editor"])
    pid = worker_pid(live.process.pid)
    uploaded = measured(pid, lambda: upload(client, data))
    assert uploaded.status == 200, uploaded.text[:500]
    location = uploaded.location
    assert location is not None
    confirmed = measured(pid, lambda: confirm(client, location))
    assert confirmed.status == 303, confirmed.text[:500]
    return uploaded, confirmed


def main() -> None:
    """Parse the arguments, run the parts, print the Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows of part 1's files")
    parser.add_argument("--repeat", type=int, default=3, help="CLI runs of each file")
    parser.add_argument("--skip-rows", action="store_true", help="skip part 1")
    parser.add_argument("--skip-limits", action="store_true", help="skip part 2")
    parser.add_argument(
        "--baseline",
        metavar="REV",
        default="",
        help="also upload the review's files to this older revision (e.g. i11), for the ratio",
    )
    options = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        if not options.skip_rows:
            print("\n".join(part_rows(folder, options.rows, options.repeat)))
            print()
        if not options.skip_limits:
            print("\n".join(part_limits(folder)))
        if options.baseline:
            print()
            print("\n".join(part_baseline(folder, options.baseline)))
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
