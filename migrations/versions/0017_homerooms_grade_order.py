"""Homerooms are listed by grade, then name: an index in that order per school year.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30

Upgrade creates ``ix_homerooms_year_grade_name`` on ``homerooms (school_year_id, grade,
name)``, so that the homeroom list and the forms' suggestions read a year's homerooms in
the school's order (9B before 10A) along an index instead of sorting them all. No table
is rebuilt and no row changes.

Downgrade drops the index; the homerooms stay.
"""

from __future__ import annotations

from alembic import op

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

INDEX = "ix_homerooms_year_grade_name"


def upgrade() -> None:
    """Create the index of a year's homerooms by grade and name."""
    op.create_index(INDEX, "homerooms", ["school_year_id", "grade", "name"])


def downgrade() -> None:
    """Drop the index."""
    op.drop_index(INDEX, table_name="homerooms")
