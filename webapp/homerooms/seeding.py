"""Demo homerooms and teacher accounts for ``flask students seed``.

:class:`HomeroomFiller` hands out a homeroom to each demo student as the students are
generated: per grade, a homeroom is filled up to the class size, then the next one is
made ("5A", "5B", ...), each with a teacher account of its own
(``teacher.5a.<n>@school.example``, role ``teacher``). All the teachers share one
generated password, hashed once, which the command prints.
"""

from __future__ import annotations

import secrets
import string

from sqlalchemy import insert, select

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
        taken = select(Homeroom.name).where(Homeroom.school_year_id == year_id)
        self._names = set(db.session.scalars(taken))
        self._serial = db.session.scalar(select(User.id).order_by(User.id.desc()).limit(1)) or 0
        self.homerooms = 0

    def homeroom_for(self, grade: int) -> int:
        """The homeroom id for the next demo student of ``grade`` (making one if full)."""
        homeroom_id, count = self._open.get(grade, (0, self.class_size))
        if count >= self.class_size:
            homeroom_id, count = self._new_homeroom(grade), 0
        self._open[grade] = (homeroom_id, count + 1)
        return homeroom_id

    def _new_homeroom(self, grade: int) -> int:
        """Insert the grade's next homeroom and its teacher; its id."""
        letter = 0
        while (name := f"{grade}{_letters(letter)}") in self._names:
            letter += 1
        self._names.add(name)
        now = utcnow()
        homeroom_id = db.session.execute(
            insert(Homeroom)
            .values(
                sourced_id=new_sourced_id(),
                school_year_id=self.year_id,
                name=name,
                grade=grade,
                room=str(100 * grade + letter + 1),
                capacity=self.class_size,
                created_at=now,
                updated_at=now,
            )
            .returning(Homeroom.id)
        ).scalar_one()
        self._serial += 1
        user_id = db.session.execute(
            insert(User)
            .values(
                email=f"teacher.{name.lower()}.{self._serial}@school.example",
                password_hash=self._hash,
                role=Role.TEACHER.value,
                created_at=now,
            )
            .returning(User.id)
        ).scalar_one()
        db.session.execute(
            insert(homeroom_teachers).values(homeroom_id=homeroom_id, user_id=user_id)
        )
        self.homerooms += 1
        return int(homeroom_id)


def _letters(number: int) -> str:
    """0 -> "A", 25 -> "Z", 26 -> "AA": spreadsheet-style column letters."""
    text = ""
    number += 1
    while number:
        number, rest = divmod(number - 1, 26)
        text = chr(ord("A") + rest) + text
    return text
