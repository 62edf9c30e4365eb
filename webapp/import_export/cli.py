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
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import click
from flask.cli import with_appcontext

from webapp.import_export import exporter, importer, intake, mappings
from webapp.import_export.importer import Action, ImportConflictError, ImportFileError
from webapp.models.student import GRADE_MAX, GRADE_MIN
from webapp.spreadsheets import TARGETS, MappingError, parse_mapping_spec
from webapp.students.roster_query import DEFAULT_SORT, SORTABLE_COLUMNS, STATUS_FILTERS, RosterQuery

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


def _read_input(path: str, max_bytes: int) -> bytes | IO[bytes]:
    """The file, open for reading until the command ends (``-``: standard input's bytes,
    read into memory), refusing one over ``max_bytes``.

    The import reads a file twice (see :func:`importer.read_file`'s ``stream``), so it
    must not change meanwhile.
    """
    if path == "-":
        data = sys.stdin.buffer.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise click.ClickException(importer.too_large_message(None, max_bytes))
        return data
    size = os.path.getsize(path)
    if size > max_bytes:
        raise click.ClickException(importer.too_large_message(size, max_bytes))
    return click.get_current_context().with_resource(Path(path).open("rb"))


def _column_list(parsed: importer.ParsedFile) -> str:
    """How each column is imported, one phrase per column: ``“DOB” → birthday``."""
    parts = []
    for index, (header, target) in enumerate(parsed.mapping.columns()):
        name = header.strip() or f"column {index + 1}"
        parts.append(f"“{name}” → {target or 'not mapped'}")
    return ", ".join(parts)


def _describe_file(parsed: importer.ParsedFile, remembered: bool) -> None:
    """Say on standard error how the file was read and mapped."""
    echo = functools.partial(click.echo, err=True)
    echo(f"Read as {parsed.source.describe()}; {len(parsed.records):,} rows.")
    for note in parsed.source.notes:
        echo(f"Note: {note}")
    if remembered:
        echo("Columns mapped as for the last file with these headers.")
    echo(f"Columns: {_column_list(parsed)}.")
    for note in parsed.mapping.notes:
        echo(f"Note: {note}")
    for column in parsed.dates:
        if column.order:
            echo(f"Dates in “{column.header}” read as {column.label} ({column.reason}).")
        elif column.needs_order:
            echo(
                f"Dates in “{column.header}” could be day/month/year or month/day/year: "
                "give --date-order dmy or mdy, or such dates are errors."
            )
    if parsed.unmapped_columns:
        names = ", ".join(f"“{name}”" for name in parsed.unmapped_columns)
        echo(
            f"Not imported (not mapped): {names}. Map or ignore them with --map, "
            "e.g. --map 'Notes=ignore'."
        )


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
    "--map",
    "mapping",
    metavar="SPEC",
    default="",
    help="Map columns to fields: 'First name=first_name,DOB=birthday,Notes=ignore'. Targets: "
    + ", ".join(TARGETS)
    + ". Other columns keep the remembered or recognised mapping.",
)
@click.option(
    "--date-order",
    type=click.Choice(["dmy", "mdy"]),
    help="How dates like 03/04/2015 are written, for columns whose values do not show it "
    "(default: the DATE_INPUT_ORDER setting).",
)
@click.option("--sheet", help="The workbook sheet to read (default: the first one).")
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
    file: str,
    dry_run: bool,
    all_or_nothing: bool,
    verbose: bool,
    mapping: str,
    date_order: str | None,
    sheet: str | None,
    jobs: int,
) -> None:
    """Import students from FILE: CSV, .xlsx or .ods (- reads standard input).

    The first row names the columns. Common names are recognised (id, name, first name
    and last name, email, grade or year group, birthday or DOB, enrolled_on); --map maps
    others, and the mapping last used for files with the same headers applies first.
    Columns left unmapped are listed and not imported. Dates may be ISO (2015-03-14), day
    first or month first, as each column's values show, else as --date-order says.

    A row with an id updates that student, or creates one with that id; a row without id
    whose email matches a student updates that student; any other row adds a student.
    Rows are checked with the same rules as the form; valid rows are written in one
    transaction. The file is read twice (once to count and check it, once for the rows,
    which are never all kept in memory): do not change it meanwhile. An unusual date (one
    the form asks to confirm) is imported as written, with a "line N: warning" line. A
    custom mapping is remembered for the next file with these headers.

    Exit status: 0 when every row was valid, 1 when some rows had errors or the file
    could not be read.
    """
    started = time.perf_counter()
    _skip_final_collection()
    limits = importer.configured_limits()
    data = _read_input(file, limits.max_bytes)
    name = "standard input" if file == "-" else Path(file).name
    try:
        overrides = parse_mapping_spec(mapping) if mapping else None
        order = importer.date_order(date_order)
        orders = dict.fromkeys(importer.DATE_FIELDS, order) if order else None
        parsed, remembered, _ = intake.read(
            data,
            "import.csv" if file == "-" else name,
            sheet=sheet,
            overrides=overrides,
            date_orders=orders,
            stream=True,
        )
    except (ImportFileError, MappingError) as error:
        raise click.ClickException(str(error)) from error
    _describe_file(parsed, remembered is not None)
    if parsed.problems:
        raise click.ClickException(" ".join(parsed.problems))
    if not parsed.records:
        raise click.ClickException("The file has a header but no rows.")
    parse_seconds = time.perf_counter() - started

    def report(plans: list[importer.RowPlan]) -> None:
        for row in plans:
            if verbose or row.action is Action.ERROR or row.warnings:
                for line in importer.describe_row(row):
                    click.echo(line)
        bar.update(len(plans))

    stored: list[bool] = []
    try:
        with click.progressbar(
            length=len(parsed.records), label="Importing", file=sys.stderr
        ) as bar:
            result = importer.run_import(
                parsed,
                jobs=jobs,
                dry_run=dry_run,
                all_or_nothing=all_or_nothing,
                source=name,
                on_rows=report,
                before_commit=lambda: stored.append(mappings.remember(parsed, None)),
            )
    except (ImportConflictError, ImportFileError) as error:  # a file changed meanwhile
        raise click.ClickException(str(error)) from error

    click.echo(_summary(result, dry_run))
    if any(stored):
        click.echo("The column mapping is remembered for the next file with these headers.")
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
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["csv", "xlsx"]),
    help="csv or xlsx (an Excel workbook); default: from the --output name's extension, else csv.",
)
@with_appcontext
def export_command(
    output: str,
    search: str,
    grade: int | None,
    sort: str,
    status: str,
    bom: bool,
    file_format: str | None,
) -> None:
    """Export students as CSV or .xlsx, the same rows and order as the roster with the same search.

    Columns: id, name, email, grade, birthday, enrolled_on, status, status_on, reason,
    destination (grade and status in the current school year). Rows are read and written in
    batches, so memory stays flat however many students there are. In CSV, cells that a
    spreadsheet would run as formulas get a leading ' (the import removes it); in .xlsx,
    dates are Excel dates and text is never a formula.
    """
    _skip_final_collection()
    query = RosterQuery(q=" ".join(search.split())[:200], grade=grade, status=status, sort=sort)
    if file_format is None:
        file_format = "xlsx" if output.lower().endswith(".xlsx") else "csv"
    if file_format == "xlsx":
        _export_xlsx(query, output)
        return
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

    def write(partial: Path, progress: Callable[[int], Any]) -> int:
        with partial.open("w", encoding="utf-8", newline="") as stream:
            return exporter.write_csv(query, stream, bom=bom, progress=progress)

    _export_to_file(query, Path(output), write)


def _export_xlsx(query: RosterQuery, output: str) -> None:
    """Write the export as a workbook to ``output`` (``-``: standard output)."""
    if output == "-":
        sys.stdout.flush()
        exporter.write_xlsx(query, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return

    def write(partial: Path, progress: Callable[[int], Any]) -> int:
        with partial.open("wb") as stream:
            return exporter.write_xlsx(query, stream, progress=progress)

    _export_to_file(query, Path(output), write)


def _export_to_file(
    query: RosterQuery, target: Path, write: Callable[[Path, Callable[[int], Any]], int]
) -> None:
    """Run ``write(partial, progress)`` into a temporary name beside ``target``, with a
    progress bar, then rename it to ``target``; report the count it returns."""
    partial = target.with_name(f".{target.name}.part")
    total = exporter.count_rows(query)
    try:
        with click.progressbar(length=total, label="Exporting", file=sys.stderr) as bar:
            written = write(partial, bar.update)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    click.echo(f"Exported {written:,} students to {target}.", err=True)
