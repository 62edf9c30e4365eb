"""CSV import and export through the command line, against their irreducible work.

Import: ``flask students import`` of a file of valid new students (100,000 by default),
each run on a fresh copy of a migrated SQLite database, compared in the same run with

* the project's own row validation run alone over the same rows (the rule functions of
  ``webapp.fields`` on the already-split cells, with the ``int`` and ISO-date parsing
  they need, garbage collector paused as in the import), plus
* inserting the same rows with the ``sqlite3`` module's ``executemany`` into the same
  schema (one transaction, values already as stored, the app's connection pragmas): each
  student and, since school years exist (revision 0011), its enrollment in the current
  year.

Since the audit trail exists, an import also writes audit events: two per new student
(the student, its enrollment); the report therefore gives a second baseline that adds
the raw ``executemany`` of those events. The import's own split (parse, validate, match,
write) is what the command prints. Imports run with one process and with ``--jobs``
processes checking rows (which then run alongside the matching and writing: the import
streams).

Export: ``flask students export --output FILE`` of a seeded database (1,000,000 rows by
default), against ``sqlite3 -csv`` running the same SELECT (the roster's default order)
into a file; peak memory is the export process's maximum resident set size.

Full run (``make bench-csv``; under two minutes, plus about two minutes the first time to
seed the 1,000,000-row database, which is cached in ``bench/out/`` with the CSV file)::

    .venv/bin/python -m bench.import_export

Quick check (seconds)::

    .venv/bin/python -m bench.import_export --import-rows 5000 --export-rows 20000 --repeat 1

It writes ``bench/results/import-export.md`` (``--results`` to write elsewhere). Timings
are wall-clock seconds; each figure is the median of ``--repeat`` runs, interleaved so
that a busy moment of the machine hits the import and its baselines alike.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from bench import server
from bench.server import PROJECT_ROOT

OUT = PROJECT_ROOT / "bench" / "out"
RESULTS = PROJECT_ROOT / "bench" / "results" / "import-export.md"

#: The import's own report: "Time: 6.10 s (parse 0.12, validate 3.02, match 0.36, write
#: 2.21 of which audit trail 0.90)."
TIME_LINE = re.compile(
    r"Time: (?P<total>[\d.]+) s \(parse (?P<parse>[\d.]+), validate (?P<validate>[\d.]+), "
    r"match (?P<match>[\d.]+), write (?P<write>[\d.]+) of which audit trail (?P<audit>[\d.]+)\)"
)
#: Its second line when worker processes checked the rows: "Rows were checked in 2
#: processes alongside matching and writing: 3.10 s of checking; the import waited 0.30 s
#: for checked rows."
CHECK_LINE = re.compile(r"checked in \d+ processes .*: (?P<check>[\d.]+) s of checking")
IMPORT_LIMIT_BYTES = 50_000_000  # room for any --import-rows the benchmark is run with
IMPORT_LIMIT_ROWS = 10_000_000


def environment(database: Path) -> dict[str, str]:
    """The environment of a ``flask`` command on ``database``."""
    env = dict(os.environ)
    env.pop("FLASK_APP", None)
    env.update(
        DATABASE_URL=f"sqlite:///{database}",
        SECRET_KEY="benchmark-only-key",
        FLASK_IMPORT_MAX_BYTES=str(IMPORT_LIMIT_BYTES),
        FLASK_IMPORT_MAX_ROWS=str(IMPORT_LIMIT_ROWS),
        PYTHONUNBUFFERED="1",
    )
    return env


def flask(database: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``flask --app webapp ARGS`` on ``database``; fail loudly on a non-zero exit."""
    return server.flask(environment(database), *args)


#: Runs argv[2:] and writes its peak memory (kB) to the file argv[1]. Measured commands
#: start from this small fresh interpreter, not from the benchmark's own process: a child's
#: peak memory counts what it held before exec, i.e. a copy of the process it forked from.
LAUNCHER = (
    "import os, subprocess, sys\n"
    "child = subprocess.Popen(sys.argv[2:])\n"
    "_, status, usage = os.wait4(child.pid, 0)\n"
    "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def timed_process(
    command: Sequence[str], env: dict[str, str], stdout_path: Path | None = None
) -> tuple[float, int, str]:
    """Run ``command``; return its wall time (s), peak resident memory (kB) and stdout.

    Args:
        command: the command line.
        env: its environment.
        stdout_path: a file to receive standard output (then ``""`` is returned for it).
    """
    with tempfile.TemporaryDirectory() as scratch:
        peak_file, out_file = Path(scratch, "peak"), Path(scratch, "out")
        target = stdout_path or out_file
        with target.open("wb") as stdout, Path(scratch, "err").open("w+b") as stderr:
            started = time.perf_counter()
            status = subprocess.run(
                [sys.executable, "-c", LAUNCHER, str(peak_file), *command],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=stdout,
                stderr=stderr,
                check=False,
            ).returncode
            elapsed = time.perf_counter() - started
            stderr.seek(0)
            errors = stderr.read().decode(errors="replace")
        output = "" if stdout_path else out_file.read_text(encoding="utf-8", errors="replace")
        if status != 0:
            raise SystemExit(f"{' '.join(command)} failed ({status}):\n{output}{errors}")
        return elapsed, int(peak_file.read_text()), output


# --- data ---------------------------------------------------------------------------------


def migrated_template() -> Path:
    """An empty database at the migration head (made once per benchmark run)."""
    path = OUT / "template.db"
    for stale in OUT.glob("template.db*"):
        stale.unlink()
    flask(path, "db", "upgrade")
    return path


def fresh_copy(template: Path, name: str) -> Path:
    """A copy of ``template`` named ``name`` in ``bench/out``, replacing any earlier one."""
    path = OUT / name
    for stale in OUT.glob(f"{name}*"):
        stale.unlink()
    shutil.copy(template, path)
    return path


def import_file(rows: int) -> Path:
    """A CSV of ``rows`` valid new students (cached): name, email, grade, birthday, enrolled_on.

    The rows are the seed command's realistic students (Faker, seeded); the few emails
    with two dots in a row (from names like "St. John") get one dot, so every row is valid.
    """
    path = OUT / f"import-{rows}.csv"
    if path.exists():
        return path
    from webapp.students.seeding import generate_students

    partial = path.with_suffix(".part")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "email", "grade", "birthday", "enrolled_on"])
        for row in generate_students(rows, random_seed=6):
            email = re.sub(r"\.{2,}", ".", row["email"]) if row["email"] else ""
            writer.writerow([row["name"], email, row["grade"], row["birthday"], row["enrolled_on"]])
    partial.replace(path)
    return path


def export_database(template: Path, rows: int) -> Path:
    """A database seeded with ``rows`` students by ``flask students seed`` (cached)."""
    path = OUT / f"export-{rows}.db"
    if path.exists():
        return path
    partial = fresh_copy(template, f"export-{rows}.part.db")
    print(f"Seeding {rows:,} students (once; cached in {path})...", flush=True)
    flask(partial, "students", "seed", "--count", str(rows), "--seed", "6", "--no-guardians")
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    partial.replace(path)
    return path


# --- import -------------------------------------------------------------------------------


def read_rows(path: Path) -> list[list[str]]:
    """The records of the import file, header left out."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))[1:]


def validation_alone(rows: list[list[str]]) -> float:
    """Seconds to run the project's row rules and warnings over ``rows`` (no parsing, no
    database)."""
    from webapp.fields import rules
    from webapp.fields import student as fields

    today = date.today()
    gc.disable()
    try:
        started = time.perf_counter()
        for name, email, grade, birthday, enrolled_on in rows:
            fields.clean_name(name, today)
            rules.clean_email(email)
            int(grade)
            born = fields.check_birthday(date.fromisoformat(birthday), today)
            enrolled = date.fromisoformat(enrolled_on)
            dates = {"birthday": born, "enrolled_on": enrolled}
            fields.check_enrolled_after_birthday(dates)
            fields.unusual_enrollment_date(enrolled, today)
            fields.unusual_age_at_enrollment(dates, today)
        return time.perf_counter() - started
    finally:
        gc.enable()


def raw_executemany(
    database: Path, sql: str, values: list[tuple[object, ...]], then: Path | None = None
) -> float:
    """Seconds for one ``executemany`` of ``values`` plus its commit, as the app connects."""
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        connection.execute("PRAGMA busy_timeout=5000")
        connection.execute("PRAGMA synchronous=NORMAL")  # as webapp.database sets it (WAL)
        started = time.perf_counter()
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(sql, values)
        connection.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        connection.close()


#: The school year a fresh migrated database enrolls new students in (the one 0011 made).
YEAR_ID = 1


def student_values(rows: list[list[str]]) -> list[tuple[object, ...]]:
    """The rows as the students table stores them (timestamps as SQLAlchemy writes them)."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return [
        (name, email or None, birthday or None, enrolled_on, stamp, stamp, 1, str(uuid.uuid4()))
        for name, email, grade, birthday, enrolled_on in rows
    ]


def enrollment_values(rows: list[list[str]]) -> list[tuple[object, ...]]:
    """Each row's enrollment in the current school year, as the import stores it."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return [
        (str(uuid.uuid4()), number, YEAR_ID, int(grade), "enrolled", enrolled_on, 1, stamp, stamp)
        for number, (_, _, grade, _, enrolled_on) in enumerate(rows, start=1)
    ]


def audit_values(rows: list[list[str]]) -> list[tuple[object, ...]]:
    """Two create events per row, as the import records them: the student, its enrollment."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    values = []
    for number, (name, email, grade, birthday, enrolled_on) in enumerate(rows, start=1):
        fields = {"name": name, "email": email, "birthday": birthday, "enrolled_on": enrolled_on}
        changes = {key: [None, value] for key, value in fields.items() if value}
        enrolled = {
            "grade": [None, int(grade)],
            "status": [None, "enrolled"],
            "entered_on": [None, enrolled_on],
        }
        note = f"import bench.csv, line {number + 1}"
        for entity, record in (("student", changes), ("enrollment", enrolled)):
            values.append(
                (stamp, None, "command line", "create", entity, number, number, name,
                 json.dumps(record), None, note)
            )  # fmt: skip
    return values


STUDENTS_INSERT = (
    "INSERT INTO students (name, email, birthday, enrolled_on, created_at, updated_at,"
    " version, sourced_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
ENROLLMENTS_INSERT = (
    "INSERT INTO enrollments (sourced_id, student_id, school_year_id, grade, status,"
    " entered_on, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
AUDIT_INSERT = (
    "INSERT INTO audit_events (occurred_at, user_id, actor, action, entity, entity_id,"
    " student_id, student_name, changes, reverts_id, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,"
    " ?, ?)"
)


@dataclass
class ImportRun:
    """One command-line import: wall time, the command's own split, peak memory."""

    wall: float
    split: dict[str, float]
    peak_kb: int


def cli_import(template: Path, path: Path, rows: int, jobs: int) -> ImportRun:
    """Import ``path`` into a fresh database through the command line; check the result."""
    database = fresh_copy(template, "import.db")
    command = [sys.executable, "-m", "flask", "--app", "webapp", "students", "import"]
    wall, peak, output = timed_process(
        [*command, "--jobs", str(jobs), str(path)], environment(database)
    )
    match = TIME_LINE.search(output)
    if not match or f"Created {rows:,}," not in output:
        raise SystemExit(f"unexpected import output:\n{output}")
    connection = sqlite3.connect(database)
    try:
        students = connection.execute("SELECT count(*) FROM students").fetchone()[0]
        events = connection.execute("SELECT count(*) FROM audit_events").fetchone()[0]
    finally:
        connection.close()
    if (students, events) != (rows, 2 * rows):
        raise SystemExit(f"import wrote {students} students and {events} events, not {rows}")
    split = {key: float(value) for key, value in match.groupdict().items()}
    checked = CHECK_LINE.search(output)
    # In one process, checking is what the command waited for (its "validate").
    split["check"] = float(checked["check"]) if checked else split["validate"]
    return ImportRun(wall, split, peak)


# --- export -------------------------------------------------------------------------------


def export_sql() -> str:
    """The export's SELECT for the default roster order, as SQLite text."""
    from sqlalchemy.dialects import sqlite

    from webapp.import_export.exporter import export_statement
    from webapp.students.roster_query import RosterQuery

    compiled = export_statement(RosterQuery(), year_id=YEAR_ID).compile(
        dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}
    )
    return " ".join(str(compiled).split())


def sqlite3_export(database: Path, sql: str, target: Path) -> tuple[float, int]:
    """``sqlite3 -csv -header DATABASE SQL > target``: wall seconds and peak memory (kB)."""
    binary = shutil.which("sqlite3")
    if binary is None:
        raise SystemExit("the sqlite3 command-line shell is needed: apt-get install sqlite3")
    wall, peak, _ = timed_process(
        [binary, "-csv", "-header", str(database), sql], dict(os.environ), stdout_path=target
    )
    return wall, peak


def cli_export(database: Path, target: Path) -> tuple[float, int]:
    """``flask students export --output target``: wall seconds and peak memory (kB)."""
    command = [sys.executable, "-m", "flask", "--app", "webapp", "students", "export"]
    wall, peak, _ = timed_process([*command, "--output", str(target)], environment(database))
    return wall, peak


def count_lines(path: Path) -> int:
    """Lines in ``path`` (records plus header: no exported cell holds a line break)."""
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


# --- report -------------------------------------------------------------------------------


@dataclass
class Samples:
    """Repeated measurements of one thing."""

    values: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(value)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def show(self) -> str:
        """``"4.21"``, or the median with the range of several runs."""
        if len(self.values) == 1:
            return f"{self.values[0]:.2f}"
        return f"{self.median:.2f} ({min(self.values):.2f}–{max(self.values):.2f})"


def machine() -> str:
    """CPU, memory, OS and versions, for the results file."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    import sqlalchemy

    shell = subprocess.run(["sqlite3", "--version"], capture_output=True, text=True, check=False)
    return (
        f"{cpu}, {os.cpu_count()} CPUs{memory}; {platform.platform()}; Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version} (sqlite3 shell "
        f"{shell.stdout.split()[0] if shell.stdout else '?'}), SQLAlchemy {sqlalchemy.__version__}"
    )


def load_average() -> str:
    """The 1-minute load average, or ``"?"``."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def run(args: argparse.Namespace) -> list[str]:
    """Run both benchmarks and return the results as Markdown lines."""
    OUT.mkdir(parents=True, exist_ok=True)
    load_before = load_average()
    template = migrated_template()
    started = time.perf_counter()

    # Import ----------------------------------------------------------------------------
    path = import_file(args.import_rows)
    rows = read_rows(path)
    students, events = student_values(rows), audit_values(rows)
    enrollments = enrollment_values(rows)
    jobs = args.jobs or min(len(os.sched_getaffinity(0)), 4)
    job_counts = sorted({1, jobs})
    validation, raw_students, raw_events = Samples(), Samples(), Samples()
    imports: dict[int, list[ImportRun]] = {count: [] for count in job_counts}
    for round_number in range(1, args.repeat + 1):
        print(f"Import round {round_number} of {args.repeat}...", flush=True)
        validation.add(validation_alone(rows))
        raw_database = fresh_copy(template, "raw.db")
        # A student is a students row and its enrollment in the current year.
        raw_students.add(
            raw_executemany(raw_database, STUDENTS_INSERT, students)
            + raw_executemany(raw_database, ENROLLMENTS_INSERT, enrollments)
        )
        raw_events.add(raw_executemany(raw_database, AUDIT_INSERT, events))
        for count in job_counts:
            imports[count].append(cli_import(template, path, args.import_rows, count))

    # Export ----------------------------------------------------------------------------
    database = export_database(template, args.export_rows)
    sql = export_sql()
    ours_file, theirs_file = OUT / "export-ours.csv", OUT / "export-sqlite3.csv"
    shell_time, ours_time, ours_peak, shell_peak = Samples(), Samples(), Samples(), Samples()
    for round_number in range(1, args.repeat + 1):
        print(f"Export round {round_number} of {args.repeat}...", flush=True)
        seconds, peak = sqlite3_export(database, sql, theirs_file)
        shell_time.add(seconds)
        shell_peak.add(peak / 1024)
        seconds, peak = cli_export(database, ours_file)
        ours_time.add(seconds)
        ours_peak.add(peak / 1024)
    exported = count_lines(ours_file) - 1
    if exported != args.export_rows or count_lines(theirs_file) - 1 != args.export_rows:
        raise SystemExit(f"exported {exported} rows, expected {args.export_rows}")

    # Only the inputs stay cached (the import CSV, the seeded export database).
    for scratch in ("template.db", "import.db", "raw.db", "export-ours.csv", "export-sqlite3.csv"):
        for leftover in OUT.glob(f"{scratch}*"):
            leftover.unlink()

    # Report ----------------------------------------------------------------------------
    elapsed = time.perf_counter() - started
    baseline = validation.median + raw_students.median
    baseline_audit = baseline + raw_events.median
    n = f"{args.import_rows:,}"
    lines = [
        "# CSV import and export (command line)",
        "",
        f"Command: `{args.command}` ({elapsed / 60:.1f} min in all). Measured "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC on: {machine()}. Load average (1 min) "
        f"{load_before} before and {load_average()} after; other work on the machine "
        "slows every figure, which is why baselines and runs are interleaved. Seconds are "
        f"wall-clock, median of {args.repeat} runs (range in brackets). Database: SQLite "
        "file (WAL, `synchronous=NORMAL`), the project's real schema (migrations at head).",
        "",
        f"## Import of {n} valid new students",
        "",
        f"File: {path.stat().st_size / 1e6:.1f} MB, columns name, email, grade, birthday, "
        "enrolled_on (`bench/out/`, generated by the seed command's generator). Every run "
        f"starts from an empty database and writes {n} students and {n} audit events.",
        "",
        "| what | seconds |",
        "| --- | --- |",
        f"| row validation alone (`webapp.fields` rules over the split cells) "
        f"| {validation.show()} |",
        f"| raw `sqlite3` `executemany` of the students (same schema, 5 indexes) "
        f"| {raw_students.show()} |",
        f"| **baseline** = validation + students `executemany` | **{baseline:.2f}** |",
        f"| raw `executemany` of the {n} audit events | {raw_events.show()} |",
        f"| baseline with the audit events | {baseline_audit:.2f} |",
        "",
        "| command | wall seconds | × baseline | × baseline with audit | parse "
        "| validate (waited) | checking | match | write (audit part) | peak memory |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    keys = ("total", "parse", "validate", "check", "match", "write", "audit")
    for count, runs in imports.items():
        wall = Samples([run.wall for run in runs])
        split = {key: statistics.median(run.split[key] for run in runs) for key in keys}
        peak = statistics.median(run.peak_kb for run in runs) / 1024
        lines.append(
            f"| `flask students import --jobs {count} FILE` | {wall.show()} "
            f"| {wall.median / baseline:.2f} | {wall.median / baseline_audit:.2f} "
            f"| {split['parse']:.2f} | {split['validate']:.2f} | {split['check']:.2f} "
            f"| {split['match']:.2f} | {split['write']:.2f} ({split['audit']:.2f}) "
            f"| {peak:.0f} MB |"
        )
    best_count = min(imports, key=lambda count: statistics.median(r.wall for r in imports[count]))
    best = imports[best_count]
    wall = statistics.median(run.wall for run in best)
    part = {key: statistics.median(run.split[key] for run in best) for key in keys}
    outside = statistics.median(run.wall - run.split["total"] for run in best)
    steps = sum(part[key] for key in ("parse", "validate", "match", "write"))
    timeline = [
        ("interpreter start, imports, app factory, exit (wall minus the command's time)", outside),
        ("parsing the CSV", part["parse"]),
        ("waiting for checked rows", part["validate"]),
        ("matching against the roster (lookups by id and email)", part["match"]),
        ("writing the students (ids, `INSERT`, commit)", part["write"] - part["audit"]),
        ("writing the audit events", part["audit"]),
        ("the rest (reading the file, output)", part["total"] - steps),
    ]
    export_ratio = ours_time.median / shell_time.median
    peak_mb = max(ours_peak.values)
    lines += [
        "",
        f"Where the fastest command (`--jobs {best_count}`, {wall:.2f} s) spends its wall "
        "time (medians):",
        "",
        "| part | seconds |",
        "| --- | --- |",
        *(f"| {label} | {seconds:.2f} |" for label, seconds in timeline),
        "",
        "Parse, validate, match and write are the command's own report (`Time: ...`); the "
        "wall time also holds the interpreter start, the app's imports and the exit. The "
        "import streams: rows are checked chunk by chunk in worker processes (at a lower "
        "priority) while the main process matches and writes the chunks already checked, "
        "so *validate* is only the time it waited for checked rows; *checking* is the time "
        f"the checking took in the workers ({part['check']:.2f} s, against "
        f"{validation.median:.2f} s for the rules alone in one process: the workers share "
        "the two processors with the writer). Write = reserving ids, the students "
        "`INSERT` (driver `executemany` of SQLAlchemy's compiled `insert()`, up to 5,000 "
        "rows a batch), the audit events (built and inserted the same way: the figure in "
        "brackets), and the commit.",
        "",
        f"## Export of {args.export_rows:,} students",
        "",
        "Query (the roster's default order, all rows): "
        f"`{sql}`. Both write a file; the output has the same rows in the same order "
        "(sqlite3 quotes more cells; ours ends lines with CRLF, per RFC 4180).",
        "",
        "| command | wall seconds | × sqlite3 | peak memory |",
        "| --- | --- | --- | --- |",
        f'| `sqlite3 -csv -header DB "SELECT ..." > FILE` | {shell_time.show()} | 1.00 '
        f"| {Samples(shell_peak.values).median:.0f} MB |",
        f"| `flask students export --output FILE` | {ours_time.show()} "
        f"| {ours_time.median / shell_time.median:.2f} | {ours_peak.median:.0f} MB "
        f"(max {max(ours_peak.values):.0f}) |",
        "",
        "Peak memory is the process's maximum resident set size (`wait4`), interpreter and "
        "app included. The export reads 2,000 rows a batch (`yield_per`) and writes each "
        "batch before reading the next.",
    ]
    lines += [
        "",
        "## Targets",
        "",
        "| target | measured | |",
        "| --- | --- | --- |",
        f"| import ≤ 1.5 × (validation + students `executemany`) | {wall / baseline:.2f} × "
        f"| {'met' if wall <= 1.5 * baseline else '**not met**'} |",
        f"| the same, counting the audit events' `executemany` as irreducible "
        f"| {wall / baseline_audit:.2f} × "
        f"| {'met' if wall <= 1.5 * baseline_audit else '**not met**'} |",
        f"| export ≤ 3 × `sqlite3 -csv` | {export_ratio:.2f} × "
        f"| {'met' if export_ratio <= 3 else '**not met**'} |",
        f"| export peak memory < 150 MB | {peak_mb:.0f} MB "
        f"| {'met' if peak_mb < 150 else '**not met**'} |",
    ]
    return lines


def main(argv: Sequence[str] | None = None, *, write: Callable[[str], object] = print) -> None:
    """Parse the arguments, run, write the results file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--export-rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--jobs", type=int, default=0, help="--jobs of the parallel import (default: CPUs, max 4)"
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    args.command = "python -m bench.import_export " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    args.command = args.command.strip()
    lines = run(args)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text("\n".join(lines) + "\n", encoding="utf-8")
    write("\n".join(lines))


if __name__ == "__main__":
    main()
