"""``flask oneroster export`` and ``flask oneroster import``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, cast

import click
from flask import current_app
from flask.cli import AppGroup

from webapp.extensions import db
from webapp.roster_exchange import exporting, importing, planning, settings

oneroster_cli = AppGroup("oneroster", help="OneRoster 1.2 CSV bundles: export and import.")


def _settings() -> settings.OneRosterSettings:
    try:
        return settings.from_config(current_app.config)
    except settings.SettingsError as error:
        raise click.ClickException(str(error)) from error


@oneroster_cli.command("export")
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help="The zip file to write (- for standard output).",
)
@click.option("--year", "year_name", help="The school year to export; the current one by default.")
def export_command(output: str, year_name: str | None) -> None:
    """Write a OneRoster 1.2 CSV bulk bundle (a zip) of one school year's roster."""
    config = _settings()
    try:
        year = exporting.export_year(year_name)
    except exporting.UnknownYearError as error:
        raise click.BadParameter(str(error), param_hint="--year") from error
    with click.open_file(output, "wb") as out:
        summary = exporting.write_bundle(cast(BinaryIO, out), year, config)
    counts = ", ".join(f"{name} {rows:,}" for name, rows in summary.rows.items())
    click.echo(f"Exported {summary.year} to {output}: {counts} rows.", err=output == "-")


def report(plan: planning.Plan) -> None:
    """Print a plan's totals per file and every row in error."""
    for name, counts in plan.totals().items():
        shown = ", ".join(f"{counts[o.value]:,} {o.value}" for o in planning.OUTCOMES)
        click.echo(f"{name}: {shown}")
    for row in plan.rows:
        if row.outcome is planning.Outcome.ERROR:
            click.echo(f"error: {row.file}:{row.line}: {row.record}: {row.message}", err=True)


@oneroster_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check and show what would change; write nothing.")
def import_command(file: str, dry_run: bool) -> None:
    """Import the OneRoster 1.2 CSV bulk bundle FILE (a zip), matching records by sourcedId.

    The bundle is checked first; a bundle that breaks a rule of the spec, or any row in
    error, changes nothing (each problem is printed with its file, line and rule).
    School years, students, their enrollments, guardians and guardians' links,
    homerooms (classes.csv) with their students and teachers (enrollments.csv) are
    created or updated in one transaction, with audit events; nothing is deleted. A
    teacher without an account here gets a teacher account, active as its enabledUser
    says, without a password until an administrator sets one.
    """
    limit = importing.max_bundle_bytes(current_app.config)
    if os.path.getsize(file) > limit:
        raise click.ClickException(f"{file} is larger than the {limit:,} bytes accepted.")
    data = Path(file).read_bytes()
    try:
        plan = importing.plan_bundle(data, Path(file).name)
    except importing.BundleRejected as error:
        for problem in error.problems:
            click.echo(f"{file}: {problem}", err=True)
        raise click.ClickException(f"{error}; nothing was imported.") from error
    report(plan)
    if plan.errors:
        db.session.rollback()
        raise click.ClickException(f"{plan.errors:,} row(s) have errors; nothing was imported.")
    if dry_run:
        db.session.rollback()
        click.echo("Dry run: nothing was written.")
        return
    try:
        written = importing.apply_plan(plan)
    except importing.ImportRefused as error:
        raise click.ClickException(str(error)) from error
    click.echo("Imported: " + ", ".join(f"{count:,} {kind}" for kind, count in written.items()))
