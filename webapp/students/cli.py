"""``flask students ...`` commands."""

import click
from flask.cli import AppGroup

students_cli = AppGroup("students", help="Manage student records.")
