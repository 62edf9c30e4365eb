"""``flask oneroster export`` and ``flask oneroster import``."""

from __future__ import annotations

from typing import BinaryIO, cast

import click
from flask import current_app
from flask.cli import AppGroup

from webapp.roster_exchange import exporting, settings

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
