"""``flask students import`` and ``flask students export``, on the services of this package.

The application factory adds both to the ``students`` command group.
"""

from __future__ import annotations

import atexit
import functools
import gc
import io
import os
import sys
import time
from pathlib import Path

import click
from flask.cli import with_appcontext

from webapp.import_export import exporter, importer
from webapp.import_export.importer import Action, ImportConflictError, ImportFileError
from webapp.models.student import GRADE_MAX, GRADE_MIN
from webapp.students.roster import DEFAULT_SORT, SORTABLE_COLUMNS, STATUS_FILTERS, RosterQuery

#: Default ``--jobs``: the processors this process may use, up to 4.
DEFAULT_JOBS = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1, 4)

#: ``--sort`` choices: each sortable column, ascending or (with ``-``) descending.
SORT_CHOICES = [key for column in SORTABLE_COLUMNS for key in (column, f"-{column}")]


@functools.cache
def _skip_final_collection() -> None:
    """Let the interpreter exit without its final garbage collections (once per process).

    A command line process that moved 100,000 rows spends a noticeable time in the
    collections the interpreter runs as it shuts down, on objects that reference counting
    frees anyway (``bench/results/import-export-design.md``); :func:`gc.freeze` at exit
    skips them.
    """
    atexit.register(gc.freeze)


def _read_input(path: str, max_bytes: int) -> bytes:
    """Read the file (``-`` for standard input), refusing one over ``max_bytes``."""
    if path == "-":
        data = sys.stdin.buffer.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise click.ClickException(importer.too_large_message(None, max_bytes))
        return data
    size = os.path.getsize(path)
    if size > max_bytes:
        raise click.ClickException(importer.too_large_message(size, max_bytes))
    return Path(path).read_bytes()


def _summary(result: importer.ImportResult, dry_run: bool) -> str:
    """One sentence saying what the import did (or would do)."""
    errors = result.errors
    error_text = f"{errors:,} row{'s' if errors != 1 else ''} with errors"
    if dry_run:
        return (
            f"Dry run, nothing written: would create {result.created:,}, update "
            f"{result.updated:,}; {result.unchanged:,} unchanged; {error_text}."
        )
    if not result.written:
        return (
            f"Nothing written (--all-or-nothing): {error_text}; would have created "
            f"{result.created:,} and updated {result.updated:,}."
        )
    return (
        f"Created {result.created:,}, updated {result.updated:,}; {result.unchanged:,} "
        f"unchanged; {error_text}{' not imported' if errors else ''}."
    )


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check the file and report what would change; write nothing.",
)
@click.option(
    "--all-or-nothing",
    is_flag=True,
    help="Write nothing at all when any row has an error.",
)
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="List every row's outcome, not only the errors.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=DEFAULT_JOBS,
    show_default=True,
    help="Processes checking rows while the import writes, for files of 20,000 rows or more.",
)
@with_appcontext
def import_command(
    file: str, dry_run: bool, all_or_nothing: bool, verbose: bool, jobs: int
) -> None:
    """Import students from the CSV FILE (- for standard input).

    The header names the columns: id, name, email, grade, birthday, enrolled_on (any
    order, any case; unknown columns are reported and ignored). A row with an id updates
    that student, or creates one with that id; a row without id whose email matches a
    student updates that student; any other row adds a student. Rows are checked with the
    same rules as the form; valid rows are written in one transaction. An unusual date
    (one the form asks to confirm) is imported as written, with a "line N: warning" line.

    Exit status: 0 when every row was valid, 1 when some rows had errors or the file
    could not be read.
    """
    started = time.perf_counter()
    _skip_final_collection()
    data = _read_input(file, importer.configured_max_bytes())
    try:
        parsed = importer.parse_csv(data, max_bytes=importer.configured_max_bytes())
    except ImportFileError as error:
        raise click.ClickException(str(error)) from error
    parse_seconds = time.perf_counter() - started
    if parsed.ignored_columns:
        ignored = ", ".join(parsed.ignored_columns)
        click.echo(f"Ignored unknown columns: {ignored}.", err=True)

    def report(plans: list[importer.RowPlan]) -> None:
        for row in plans:
            if verbose or row.action is Action.ERROR or row.warnings:
                for line in importer.describe_row(row):
                    click.echo(line)
        bar.update(len(plans))

    try:
        with click.progressbar(
            length=len(parsed.records), label="Importing", file=sys.stderr
        ) as bar:
            result = importer.run_import(
                parsed,
                jobs=jobs,
                dry_run=dry_run,
                all_or_nothing=all_or_nothing,
                source="standard input" if file == "-" else Path(file).name,
                on_rows=report,
            )
    except ImportConflictError as error:
        raise click.ClickException(str(error)) from error

    click.echo(_summary(result, dry_run))
    timings = result.timings
    click.echo(
        "Time: {:.2f} s (parse {:.2f}, validate {:.2f}, match {:.2f}, write {:.2f}"
        " of which audit trail {:.2f}).".format(
            time.perf_counter() - started,
            parse_seconds,
            timings["validate"],
            timings["match"],
            timings["write"],
            timings["audit"],
        )
    )
    processes = importer.validation_processes(parsed, jobs)
    if processes > 1:
        click.echo(
            f"Rows were checked in {processes} processes alongside matching and writing: "
            f"{timings['check']:.2f} s of checking; the import waited {timings['validate']:.2f} s "
            "for checked rows."
        )
    if result.errors:
        sys.exit(1)


@click.command("export")
@click.option(
    "--output",
    "-o",
    default="-",
    show_default=True,
    type=click.Path(dir_okay=False, writable=True, allow_dash=True),
    help="File to write, or - for standard output. Written under a temporary name, then renamed.",
)
@click.option("--search", "-q", default="", help="Only students whose name or email contains this.")
@click.option(
    "--grade", type=click.IntRange(GRADE_MIN, GRADE_MAX), help="Only students in this grade."
)
@click.option(
    "--sort",
    type=click.Choice(SORT_CHOICES),
    default=DEFAULT_SORT,
    show_default=True,
    help="Column to sort by; prefix with - for descending.",
)
@click.option(
    "--status",
    type=click.Choice(list(STATUS_FILTERS)),
    default="enrolled",
    show_default=True,
    help="Status in the current school year: a status, all (everyone) or none (not enrolled).",
)
@click.option("--bom", is_flag=True, help="Start with a UTF-8 byte order mark (for Excel).")
@with_appcontext
def export_command(
    output: str, search: str, grade: int | None, sort: str, status: str, bom: bool
) -> None:
    """Export students as CSV, the same rows and order as the roster with the same search.

    Columns: id, name, email, grade, birthday, enrolled_on, status, status_on, reason,
    destination (grade and status in the current school year). Rows are read and written in
    batches, so memory stays flat however many students there are. Cells that a
    spreadsheet would run as formulas get a leading ' (the import removes it).
    """
    _skip_final_collection()
    query = RosterQuery(q=" ".join(search.split())[:200], grade=grade, status=status, sort=sort)
    if output == "-":
        # UTF-8 and the CSV's own CRLF line ends, whatever the locale and platform.
        sys.stdout.flush()
        stdout = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
        try:
            exporter.write_csv(query, stdout, bom=bom)
        finally:
            stdout.flush()
            stdout.detach()  # leave sys.stdout's buffer open
        return
    target = Path(output)
    partial = target.with_name(f".{target.name}.part")
    total = exporter.count_rows(query)
    try:
        with (
            partial.open("w", encoding="utf-8", newline="") as stream,
            click.progressbar(length=total, label="Exporting", file=sys.stderr) as bar,
        ):
            written = exporter.write_csv(query, stream, bom=bom, progress=bar.update)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    click.echo(f"Exported {written:,} students to {target}.", err=True)
