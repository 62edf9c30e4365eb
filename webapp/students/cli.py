"""``flask students ...`` commands of the students feature.

The application factory adds the import and export commands of
:mod:`webapp.import_export.cli` to the same group.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from webapp.extensions import db
from webapp.homerooms.seeding import DEFAULT_CLASS_SIZE, HomeroomFiller, new_password
from webapp.models.homeroom import CAPACITY_MAX
from webapp.students import seeding
from webapp.years.service import current_year_id

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
    "--class-size",
    type=click.IntRange(min=0, max=CAPACITY_MAX),
    default=DEFAULT_CLASS_SIZE,
    show_default=True,
    help="Students per demo homeroom; 0 adds no homerooms and no teachers.",
)
@click.option(
    "--guardians/--no-guardians",
    default=True,
    show_default=True,
    help="Also add each family's guardians (siblings share theirs), with phone numbers.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1, max=2),
    default=None,
    help="1: generate the rows and insert them in this process; 2: generate them in a "
    "second process meanwhile. Default: 2 from 50,000 students.",
)
def seed_command(
    count: int, random_seed: int | None, class_size: int, guardians: bool, jobs: int | None
) -> None:
    """Add COUNT realistic demo students (for trying the app and for benchmarks), in
    homerooms of the current school year with a teacher account each, and their families'
    guardians.

    Names come from Faker; grades, birthdays and enrollment dates agree with each other
    (a grade-3 student is about 8 or 9). Every generated email address is unique, also
    against the students already stored. About one student in four is the previous one's
    sibling, with the same surname and the same guardians (one or two per family, with
    valid fictional phone numbers). Per grade, the students fill new homerooms ("5A",
    "5B", ...) of CLASS_SIZE; each homeroom gets a new account with the teacher role
    (teacher.5a.N@school.example), all with one generated password, printed at the end.
    Rows are inserted in batches, in one transaction; a second process can generate
    them meanwhile (--jobs). A seed larger than the roster has the database to itself
    while it writes: on SQLite (into an empty roster) a rollback journal instead of WAL,
    on PostgreSQL the students' and guardians' tables locked while their indexes and
    foreign keys are set aside and made again; other processes wait.
    """
    password = new_password()
    with click.progressbar(length=count, label="Adding students") as bar:
        filler = None
        if class_size:
            filler = HomeroomFiller(current_year_id(), class_size, password)
            db.session.rollback()  # ends the read: the seed opens its own transaction
        added = seeding.seed_students(
            count,
            random_seed=random_seed,
            progress=bar.update,
            filler=filler,
            guardians=guardians,
            worker=None if jobs is None else jobs == 2,
        )
    click.echo(f"Added {added:,} students.")
    if filler is not None:
        click.echo(
            f"Added {filler.homerooms:,} homerooms with a teacher each; the teachers' "
            f"password is {password}"
        )
