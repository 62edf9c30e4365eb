"""Demo homerooms and teacher accounts for ``flask students seed``.

:class:`HomeroomFiller` hands out a homeroom to each demo student as the students are
generated: per grade, a homeroom is filled up to the class size, then the next one is
made ("5A", "5B", ...), each with a teacher account of its own
(``teacher.5a.<n>@school.example``, role ``teacher``). All the teachers share one
generated password, hashed once, which the command prints. The homerooms, accounts and
their links are numbered here and handed over as rows (:meth:`HomeroomFiller.take_rows`)
that the seed writes in bulk with its students (a million students fill 40,000
homerooms). The filler holds plain values only, so it can be generated in a worker
process (:mod:`webapp.students.seed_worker`).
"""

from __future__ import annotations

import secrets
import string
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from webapp.auth.passwords import hash_password
from webapp.extensions import db
from webapp.models import Homeroom, Role, User
from webapp.models.types import new_sourced_id, utcnow
from webapp.models.user import new_session_token

#: Students per demo homeroom.
DEFAULT_CLASS_SIZE = 25
#: The columns of the rows :meth:`HomeroomFiller.take_rows` gives, per table.
COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("id", "email", "password_hash", "role", "session_token", "sourced_id", "created_at"),
    "homerooms": (
        "id",
        "sourced_id",
        "school_year_id",
        "name",
        "grade",
        "room",
        "capacity",
        "created_at",
        "updated_at",
    ),
    "homeroom_teachers": ("homeroom_id", "user_id"),
}


def new_password() -> str:
    """A random 16-character password of letters and digits for the demo teachers."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(16))


class HomeroomFiller:
    """Assigns demo students to new homerooms of one school year, grade by grade.

    Args:
        year_id: the school year of the homerooms.
        class_size: students per homeroom (the homerooms' capacity).
        password: the demo teachers' password.

    Attributes:
        homerooms: how many homerooms were written (the seed counts them as it writes).
        columns: the columns of :meth:`take_rows`' tuples, per table.
    """

    columns = COLUMNS

    def __init__(self, year_id: int, class_size: int, password: str) -> None:
        self.year_id = year_id
        self.class_size = class_size
        self._hash = hash_password(password)
        self._open: dict[int, tuple[int, int]] = {}  # grade -> (homeroom id, students in it)
        self._next_letter: dict[int, int] = {}  # grade -> the first letter not yet tried
        taken = select(Homeroom.name).where(Homeroom.school_year_id == year_id)
        self._names = set(db.session.scalars(taken))
        self._serial = db.session.scalar(select(User.id).order_by(User.id.desc()).limit(1)) or 0
        self._homeroom_id = db.session.scalar(select(func.max(Homeroom.id))) or 0
        self._now: datetime = utcnow()
        self._rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in COLUMNS}
        self.homerooms = 0

    def homeroom_for(self, grade: int) -> int:
        """The homeroom id for the next demo student of ``grade`` (making one if full).

        A new homeroom is only numbered here; :meth:`take_rows` hands it over, and it
        must be written before a row that refers to it.
        """
        homeroom_id, count = self._open.get(grade, (0, self.class_size))
        if count >= self.class_size:
            homeroom_id, count = self._new_homeroom(grade), 0
        self._open[grade] = (homeroom_id, count + 1)
        return homeroom_id

    def _new_homeroom(self, grade: int) -> int:
        """Number the grade's next homeroom and its teacher; the homeroom's id."""
        letter = self._next_letter.get(grade, 0)
        while (name := f"{grade}{_letters(letter)}") in self._names:
            letter += 1
        self._next_letter[grade] = letter + 1
        self._names.add(name)
        now = self._now
        self._homeroom_id += 1
        self._serial += 1  # the teacher's account id, and the number in its email
        self._rows["homerooms"].append(
            (
                self._homeroom_id,
                new_sourced_id(),
                self.year_id,
                name,
                grade,
                str(100 * grade + letter + 1),
                self.class_size,
                now,
                now,
            )
        )
        self._rows["users"].append(
            (
                self._serial,
                f"teacher.{name.lower()}.{self._serial}@school.example",
                self._hash,
                Role.TEACHER.value,
                new_session_token(),
                new_sourced_id(),
                now,
            )
        )
        self._rows["homeroom_teachers"].append((self._homeroom_id, self._serial))
        return self._homeroom_id

    def take_rows(self) -> dict[str, list[tuple[Any, ...]]]:
        """The rows numbered since the last call, per table (:data:`COLUMNS`), in the
        order they must be written (accounts, homerooms, their links)."""
        taken, self._rows = self._rows, {name: [] for name in COLUMNS}
        return taken


def _letters(number: int) -> str:
    """0 -> "A", 25 -> "Z", 26 -> "AA": spreadsheet-style column letters."""
    text = ""
    number += 1
    while number:
        number, rest = divmod(number - 1, 26)
        text = chr(ord("A") + rest) + text
    return text
