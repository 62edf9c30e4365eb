"""``flask years ...``: list and define school years, choose the current one, roll over."""

from __future__ import annotations

import time
from datetime import date

import click
from flask.cli import AppGroup

from webapp.extensions import db
from webapp.fields.base import FieldError
from webapp.fields.school_year import SCHOOL_YEAR
from webapp.models import Rollover, SchoolYear
from webapp.years import rollover, rollover_preview, rollover_undo, service

years_cli = AppGroup("years", help="School years and the year-end rollover.")


def _year(name: str | None) -> SchoolYear:
    """The year called ``name``, or the current one; a usage error when unknown."""
    if name is None:
        return service.current_year()
    year = service.year_by_name(name)
    if year is None:
        known = ", ".join(y.name for y in service.all_years())
        raise click.BadParameter(f"no school year is called {name!r} (there are: {known})")
    return year


@years_cli.command("list")
def list_command() -> None:
    """List the school years, the latest first; the current one is starred."""
    for year in service.all_years():
        mark = "*" if year.is_current else " "
        click.echo(f"{mark} {year.name:<12} {year.starts_on} to {year.ends_on}")


@years_cli.command("create")
@click.argument("name")
@click.option("--starts", "starts_on", required=True, help="First day, YYYY-MM-DD.")
@click.option("--ends", "ends_on", required=True, help="Last day, YYYY-MM-DD.")
@click.option("--current", is_flag=True, help="Make it the current year.")
def create_command(name: str, starts_on: str, ends_on: str, current: bool) -> None:
    """Define the school year NAME (such as 2027–28) with its first and last day.

    Refused, changing nothing, when the days overlap another year or the name is taken.
    """
    values = {}
    try:
        for field, raw in (("name", name), ("starts_on", starts_on), ("ends_on", ends_on)):
            values[field] = SCHOOL_YEAR[field].clean(raw, date.today())
    except FieldError as error:
        raise click.ClickException(str(error)) from error
    problems = SCHOOL_YEAR.check_record(values)
    if problems:
        raise click.ClickException(" ".join(message for _, message in problems))
    try:
        year = service.save_year(SchoolYear(), values)
    except service.YearError as error:
        raise click.ClickException(str(error)) from error
    if current:
        service.set_current(year)
    click.echo(
        f"Defined {year.name}, {service.span(year)}{' (current)' if year.is_current else ''}."
    )


@years_cli.command("set-current")
@click.argument("name")
def set_current_command(name: str) -> None:
    """Make the school year NAME the current one."""
    year = _year(name)
    service.set_current(year)
    click.echo(f"{year.name} is the current school year.")


@years_cli.command("rollover")
@click.option("--from", "from_name", help="The ending year (default: the current one).")
@click.option(
    "--hold",
    "holds",
    multiple=True,
    type=click.IntRange(min=1),
    help="Id of a student to hold back in the same grade (repeat for several).",
)
@click.option(
    "--keep-current",
    is_flag=True,
    help="Leave the current year as it is (by default the next year becomes current).",
)
@click.option("--dry-run", is_flag=True, help="Show what would happen; change nothing.")
def rollover_command(
    from_name: str | None, holds: tuple[int, ...], keep_current: bool, dry_run: bool
) -> None:
    """Roll the ending year over into the next: everyone enrolled moves up a grade,
    except those held back; the top grade graduates.

    One transaction, audited as one batch; undo it with `flask years undo-rollover`.
    Refused, changing nothing, when the year was rolled over already or no next year is
    defined.
    """
    year = _year(from_name)
    try:
        if dry_run:
            preview = rollover_preview.counts(year, holds)
            click.echo(f"Dry run, nothing written: {year.name} → {preview.to_year.name}")
            for line in preview.grades:
                target = "graduate" if line.graduating else f"to grade {line.grade + 1}"
                click.echo(
                    f"  grade {line.grade:>2}: {len(line.moving_up):,} {target}, "
                    f"{len(line.held_back):,} held back, {len(line.already):,} already enrolled"
                )
            rollover.check_not_rolled_over(year)
            return
        started = time.perf_counter()
        done = rollover.run(year, holds, make_current=not keep_current)
    except rollover.RolloverError as error:
        raise click.ClickException(str(error)) from error
    seconds = time.perf_counter() - started
    click.echo(
        f"Rolled {year.name} over into {done.to_year.name} (rollover {done.id}): "
        f"{done.promoted:,} moved up, {done.held_back:,} held back, {done.graduated:,} "
        f"graduated, in {seconds:.2f} s."
        + (f" {done.to_year.name} is now the current year." if done.made_current else "")
    )


@years_cli.command("undo-rollover")
@click.argument("rollover_id", type=click.IntRange(min=1), required=False)
def undo_rollover_command(rollover_id: int | None) -> None:
    """Undo the rollover ROLLOVER_ID (default: the latest), while nothing in its new year
    changed since."""
    if rollover_id is None:
        latest = rollover.rollovers(1)
        if not latest:
            raise click.ClickException("No rollover has been run.")
        done: Rollover | None = latest[0]
    else:
        done = db.session.get(Rollover, rollover_id)
    if done is None:
        raise click.ClickException(f"No rollover has the id {rollover_id}.")
    try:
        rollover_undo.undo(done)
    except rollover.RolloverError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Undid rollover {done.id}, {done.from_year.name} → {done.to_year.name}.")
