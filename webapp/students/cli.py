"""``flask students ...`` commands of the students feature.

The application factory adds the import and export commands of
:mod:`webapp.import_export.cli` to the same group.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from webapp.students import seeding

students_cli = AppGroup("students", help="Manage student records.")


@students_cli.command("seed")
@click.option(
    "--count",
    "-n",
    type=click.IntRange(min=1, max=10_000_000),
    default=100,
    show_default=True,
    help="How many students to add.",
)
@click.option(
    "--seed",
    "random_seed",
    type=int,
    default=None,
    help="Random seed, for the same students on every run.",
)
@click.option(
    "--guardians/--no-guardians",
    default=True,
    show_default=True,
    help="Also add each family's guardians (siblings share theirs), with phone numbers.",
)
def seed_command(count: int, random_seed: int | None, guardians: bool) -> None:
    """Add COUNT realistic demo students (for trying the app and for benchmarks).

    Names come from Faker; grades, birthdays and enrollment dates agree with each other
    (a grade-3 student is about 8 or 9). Every generated email address is unique, also
    against the students already stored. About one student in four is the previous one's
    sibling, with the same surname and the same guardians (one or two per family, with
    valid fictional phone numbers). Rows are inserted in batches, one transaction.
    """
    with click.progressbar(length=count, label="Adding students") as bar:
        added = seeding.seed_students(
            count, random_seed=random_seed, progress=bar.update, guardians=guardians
        )
    click.echo(f"Added {added:,} students.")
