"""Evidence from outside tools: sqlmap against the pages that read query parameters, and
bandit on ``webapp/``. Not part of ``make test``; ``make security-scan`` runs it.

sqlmap tests every query parameter of the roster (``/students/``), the export
(``/students/export.csv``) and the audit log (``/audit/``) of a real gunicorn, with an
administrator's session cookie, on a database with demo students and audit events. The
result is the number of injectable parameters sqlmap reports (0 expected).

bandit reports every finding; medium and high ones must be listed in ``ACCEPTED`` with
the reason they are safe, or the run fails.

Usage: ``python -m bench.security [--databases sqlite postgresql] [--level N] [--risk N]
[--output FILE]``: a SQLite file in a temporary directory, or a throwaway PostgreSQL
server as the test suite starts one. The report is Markdown, for
``bench/results/security.md``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.client import Client
from bench.server import ACCOUNTS, PROJECT_ROOT, flask, gunicorn_server, server_environment

BIN = Path(sys.executable).parent
SQLMAP_VERSION = importlib.metadata.version("sqlmap")
BANDIT_VERSION = importlib.metadata.version("bandit")

#: The pages and every query parameter they read, with plausible values.
TARGETS = {
    "roster": "/students/?q=ada&grade=5&sort=-name&page=1&per_page=25",
    "export": "/students/export.csv?q=ada&grade=5&sort=name",
    "audit log": "/audit/?user=1&action=create&since=2020-01-01&until=2030-12-31&page=1",
}

#: bandit findings of medium or high severity that are safe, by test id and file, with why.
ACCEPTED = {
    ("B608", "webapp/import_export/importer/writing.py"): (
        "the f-string only inserts a module constant, "
        "pg_get_serial_sequence('students', 'id'); the values are bound parameters"
    ),
    ("B608", "webapp/import_export/importer/bulk_sql.py"): (
        "the f-string only inserts the table's and columns' names, quoted by the dialect, "
        "and their compiled types; the values are bound parameters"
    ),
}


@dataclass
class SqlmapResult:
    """What sqlmap said about one page."""

    name: str
    url: str
    injectable: list[str]
    tested: list[str]
    requests: int
    seconds: float


def run_sqlmap(base_url: str, path: str, cookie: str, level: int, risk: int, out: Path) -> str:
    """Run sqlmap on ``base_url + path`` with ``cookie``; return its output."""
    command = [
        str(BIN / "sqlmap"),
        "-u", base_url + path,
        "--cookie", cookie,
        "--batch", "--flush-session", "--disable-coloring",
        "--level", str(level), "--risk", str(risk),
        "--output-dir", str(out),
        "-v", "1",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=3600, check=False)
    return result.stdout + result.stderr


def parse_sqlmap(name: str, url: str, output: str, seconds: float) -> SqlmapResult:
    """The injectable and tested parameters in sqlmap's output."""
    injectable = sorted(set(re.findall(r"^Parameter: (\S+) \(GET\)", output, re.M)))
    tested = sorted(set(re.findall(r"testing if GET parameter '([^']+)' is dynamic", output)))
    requests = re.search(r"sqlmap made (\d+) HTTP", output)  # not printed by every version
    return SqlmapResult(
        name, url, injectable, tested, int(requests.group(1)) if requests else 0, seconds
    )


def sqlmap_scan(database_url: str, level: int, risk: int, workdir: Path) -> list[SqlmapResult]:
    """Serve ``database_url`` with demo data and run sqlmap on every target."""
    results = []
    with gunicorn_server(database_url, workdir / "gunicorn.log", workers=2) as server:
        env = server_environment(database_url, 0, 1)
        flask(env, "students", "seed", "--count", "200", "--seed", "1")
        admin = Client(server.url, login=ACCOUNTS["admin"])
        editor = Client(server.url, login=ACCOUNTS["editor"])
        token, _ = editor.form("/students/new")
        editor.request(
            "/students/new", {"csrf_token": token, "name": "Ada Audit", "grade": "5"}
        )  # an audit event by a known account
        cookie = "; ".join(
            f"{c.name}={c.value}"
            for handler in admin.opener.handlers
            for c in getattr(handler, "cookiejar", [])
        )
        for name, path in TARGETS.items():
            started = time.monotonic()
            output = run_sqlmap(server.url, path, cookie, level, risk, workdir / "sqlmap")
            (workdir / f"sqlmap-{name.replace(' ', '-')}.log").write_text(output)
            results.append(parse_sqlmap(name, path, output, time.monotonic() - started))
            # Still logged in: sqlmap's requests did not end the session.
            if admin.request("/audit/").status != 200:
                raise RuntimeError("the admin session ended during the scan")
    return results


def bandit_scan() -> tuple[list[dict], list[dict]]:
    """Run bandit on ``webapp/``; return (unexplained medium/high findings, all findings)."""
    result = subprocess.run(
        [str(BIN / "bandit"), "-r", "webapp", "-f", "json", "-q"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    findings = json.loads(result.stdout)["results"]
    unexplained = [
        f
        for f in findings
        if f["issue_severity"] in ("MEDIUM", "HIGH")
        and (f["test_id"], f["filename"]) not in ACCEPTED
    ]
    return unexplained, findings


def sqlmap_section(database_url: str, level: int, risk: int) -> tuple[list[str], int]:
    """Scan one database; return the report's lines and the number of problems."""
    workdir = Path(tempfile.mkdtemp(prefix="security-scan-"))
    results = sqlmap_scan(database_url, level, risk, workdir)
    dialect = database_url.split(":", 1)[0].split("+", 1)[0]
    lines = [
        f"### sqlmap {SQLMAP_VERSION} on {dialect} (level {level}, risk {risk})",
        "",
        "| Page | URL | Parameters tested | Injectable | Time |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | `{r.url}` | {', '.join(r.tested) or '-'} | "
            f"{len(r.injectable)} {', '.join(r.injectable)} | {r.seconds:.0f} s |"
        )
    lines.append("")
    print(f"(sqlmap and gunicorn logs for {dialect} in {workdir})")
    problems = sum(len(r.injectable) for r in results) + sum(not r.tested for r in results)
    return lines, problems


def bandit_section() -> tuple[list[str], int]:
    """Run bandit; return the report's lines and the number of unexplained findings."""
    unexplained, findings = bandit_scan()
    counts: dict[str, int] = {}
    for f in findings:
        counts[f["issue_severity"].lower()] = counts.get(f["issue_severity"].lower(), 0) + 1
    summary = ", ".join(f"{n} {severity}" for severity, n in sorted(counts.items()))
    lines = [f"### bandit {BANDIT_VERSION} on webapp/: {summary or 'no finding'}", ""]
    for f in findings:
        if f["issue_severity"] in ("MEDIUM", "HIGH"):
            reason = ACCEPTED.get((f["test_id"], f["filename"]), "NO REASON: fix it or explain it")
            lines.append(
                f"- {f['test_id']} ({f['issue_severity'].lower()}) at {f['filename']}:"
                f"{f['line_number']}: {reason}"
            )
    lines.append("")
    return lines, len(unexplained)


def main(argv: list[str] | None = None) -> int:
    """Run the scans, print a Markdown report (and write it); exit 1 on any problem."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--databases",
        nargs="+",
        choices=["sqlite", "postgresql"],
        default=["sqlite"],
        help="scan a SQLite file, a throwaway PostgreSQL server (tests/postgres.py), or both",
    )
    parser.add_argument("--level", type=int, default=3, help="sqlmap --level (1-5)")
    parser.add_argument("--risk", type=int, default=2, help="sqlmap --risk (1-3)")
    parser.add_argument("--output", type=Path, help="write the Markdown report here")
    args = parser.parse_args(argv)

    lines, problems = [], 0
    for database in args.databases:
        if database == "sqlite":
            folder = Path(tempfile.mkdtemp(prefix="security-db-"))
            section, found = sqlmap_section(
                f"sqlite:///{folder / 'students.db'}", args.level, args.risk
            )
        else:
            from tests.postgres import postgres_server

            with postgres_server() as server:
                url = server.create_database("security_scan")
                section, found = sqlmap_section(url, args.level, args.risk)
        lines += section
        problems += found
    section, found = bandit_section()
    lines += section
    problems += found
    report = "\n".join(lines)
    print(report)
    if args.output:
        args.output.write_text(report)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
