"""Demo homerooms and teacher accounts for ``flask students seed``.

:class:`HomeroomFiller` hands out a homeroom to each demo student as the students are
generated: per grade, a homeroom is filled up to the class size, then the next one is
made ("5A", "5B", ...), each with a teacher account of its own
(``teacher.5a.<n>@school.example``, role ``teacher``). All the teachers share one
generated password, hashed once, which the command prints. The homerooms, accounts and
their links are numbered here and written in bulk by :meth:`HomeroomFiller.write_pending`
(a million students fill 40,000 homerooms: three single-row inserts each took minutes).
"""

from __future__ import annotations

import secrets
import string
from typing import Any

from sqlalchemy import func, insert, select, text

from webapp.auth.passwords import hash_password
from webapp.extensions import db
from webapp.models import Homeroom, Role, User, homeroom_teachers
from webapp.models.types import new_sourced_id, utcnow

#: Students per demo homeroom.
DEFAULT_CLASS_SIZE = 25


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
        homerooms: how many homerooms it made.
    """

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
        self._homerooms: list[dict[str, Any]] = []
        self._users: list[dict[str, Any]] = []
        self._teachers: list[dict[str, Any]] = []
        self.homerooms = 0

    def homeroom_for(self, grade: int) -> int:
        """The homeroom id for the next demo student of ``grade`` (making one if full).

        A new homeroom is only numbered here; :meth:`write_pending` stores it, and must
        run before a row that refers to it is written.
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
        now = utcnow()
        self._homeroom_id += 1
        self._homerooms.append(
            {
                "id": self._homeroom_id,
                "sourced_id": new_sourced_id(),
                "school_year_id": self.year_id,
                "name": name,
                "grade": grade,
                "room": str(100 * grade + letter + 1),
                "capacity": self.class_size,
                "created_at": now,
                "updated_at": now,
            }
        )
        self._serial += 1  # the teacher's account id, and the number in its email
        self._users.append(
            {
                "id": self._serial,
                "email": f"teacher.{name.lower()}.{self._serial}@school.example",
                "password_hash": self._hash,
                "role": Role.TEACHER.value,
                "created_at": now,
            }
        )
        self._teachers.append({"homeroom_id": self._homeroom_id, "user_id": self._serial})
        self.homerooms += 1
        return self._homeroom_id

    def write_pending(self) -> None:
        """Insert the homerooms and teachers numbered since the last call, in bulk.

        On PostgreSQL the tables' id sequences are moved past the ids given.
        """
        if not self._homerooms:
            return
        db.session.execute(insert(Homeroom), self._homerooms)
        db.session.execute(insert(User), self._users)
        db.session.execute(insert(homeroom_teachers), self._teachers)
        if db.session.get_bind().dialect.name == "postgresql":
            for table in ("homerooms", "users"):
                db.session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                        f" (SELECT max(id) FROM {table}))"
                    )
                )
        self._homerooms.clear()
        self._users.clear()
        self._teachers.clear()


def _letters(number: int) -> str:
    """0 -> "A", 25 -> "Z", 26 -> "AA": spreadsheet-style column letters."""
    text = ""
    number += 1
    while number:
        number, rest = divmod(number - 1, 26)
        text = chr(ord("A") + rest) + text
    return text
