"""Teachers in users.csv and roles.csv (binding sections 3.22 and 3.18).

Export: every account that teaches a homeroom of the year (:mod:`.enrollments`), after
the students and guardians in users.csv, by sourcedId: ``sourcedId`` the account's
stored UUID (``users.sourced_id``), ``enabledUser`` whether the account is active,
``username`` and ``email`` its email, ``primaryOrgSourcedId`` the school. Accounts have
no names here, and OneRoster requires them: the export derives ``givenName`` and
``familyName`` from the email's local part (:func:`name_of`: ``ann.marie.lee@...`` gives
"Ann Marie" and "Lee"). In roles.csv each teacher has one ``teacher`` role at the
school, its sourcedId derived from the account's.

Import (:func:`plan_user`): a user with a teacher role in roles.csv is matched to an
account by sourcedId, then by email (the account then takes the bundle's sourcedId). A
teacher with no account gets a new one: role ``teacher``, active as the row's
``enabledUser`` says (so that a round trip gives the same bundle), and with **no usable
password**: nobody signs in to it until an administrator sets one (``flask users
set-password EMAIL`` or the accounts page). An existing account keeps its role, state
and password. Names are not read (accounts have none). A teacher without an email cannot
have an account and is skipped, with a note.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.fields.base import FieldError
from webapp.fields.rules import clean_email
from webapp.models import Homeroom, User, homeroom_teachers
from webapp.roster_exchange.files.base import ExportContext, stream
from webapp.roster_exchange.ids import derived
from webapp.roster_exchange.planning import Outcome, Plan, TeacherChange, check_sourced_id

USERS_FILE = "users.csv"
ROLES_FILE = "roles.csv"
#: What separates the words of an email's local part.
_SEPARATORS = re.compile(r"[._\-+]+")


def name_of(email: str) -> str:
    """The name a teacher is exported with, derived from the account's email.

    The local part is cut at dots, underscores, hyphens and plus signs and each word
    gets a capital first letter: ``ann.marie.lee@school.example`` gives "Ann Marie Lee",
    which users.csv divides as a student's name (:func:`.base.split_name`: givenName
    "Ann Marie", familyName "Lee"; one word goes whole into both).
    """
    local = email.rpartition("@")[0] or email
    words = [w[:1].upper() + w[1:] for w in _SEPARATORS.split(local) if w]
    return " ".join(words) or local


def role_id(user_sourced_id: str) -> str:
    """The sourcedId of a teacher's roles.csv row."""
    return derived("role-teacher", user_sourced_id)


def _teachers(context: ExportContext) -> Iterator[tuple[str, str, bool]]:
    """``(sourcedId, email, active)`` of the year's teachers, by sourcedId."""
    teaches = (
        select(homeroom_teachers.c.user_id)
        .join(Homeroom, Homeroom.id == homeroom_teachers.c.homeroom_id)
        .where(Homeroom.school_year_id == context.year.id)
    )
    statement = (
        select(User.sourced_id, User.email, User.active)
        .where(User.id.in_(teaches))
        .order_by(User.sourced_id)
    )
    for sourced_id, email, active in stream(statement):
        yield str(sourced_id), str(email), bool(active)


def export_users(context: ExportContext) -> Iterator[tuple[str, bool, str, str]]:
    """``(sourcedId, active, name, email)`` of the year's teachers, for users.csv."""
    for sourced_id, email, active in _teachers(context):
        yield sourced_id, active, name_of(email), email


def export_roles(context: ExportContext) -> Iterator[list[str]]:
    """The roles.csv rows of the year's teachers."""
    school = context.settings.school_sourced_id
    for sourced_id, _, _ in _teachers(context):
        yield [role_id(sourced_id), "", "", sourced_id, "primary", "teacher", "", "", school, ""]


def _account(sourced_id: str, email: str | None) -> User | None:
    """The account of a teacher: by sourcedId, then by email (ignoring case)."""
    user = db.session.scalar(select(User).where(User.sourced_id == sourced_id))
    if user is None and email:
        user = db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))
    return user


def plan_user(plan: Plan, line: int, row: dict[str, str]) -> None:
    """Plan the teacher of one users.csv row (a user with a teacher role)."""
    sourced_id = row["sourcedId"]
    try:
        email = clean_email(row["email"]) or clean_email(
            row["username"] if "@" in row["username"] else ""
        )
    except FieldError as error:
        plan.add(USERS_FILE, line, Outcome.ERROR, sourced_id, str(error))
        return
    user = _account(sourced_id, email)
    if user is None and email is None:
        message = "a teacher without an email cannot have an account here; skipped"
        plan.add(USERS_FILE, line, Outcome.SKIP, sourced_id, message)
        return
    adopted = user is None or user.sourced_id != sourced_id
    problem = check_sourced_id(sourced_id) if adopted else None
    address = user.email if user is not None else email
    assert address is not None
    taken = {change.email.lower(): key for key, change in plan.teachers.items()}
    if problem is None and taken.get(address.lower(), sourced_id) != sourced_id:
        problem = f"the account {address} is another teacher's of this bundle"
    if problem is not None:
        plan.add(USERS_FILE, line, Outcome.ERROR, sourced_id, problem)
        return
    enabled = row["enabledUser"].strip().lower() == "true"
    plan.teachers[sourced_id] = TeacherChange(sourced_id, address, user, line, enabled)
    if user is None:
        state = "active" if enabled else "deactivated"
        message = (
            f"teacher {address}: a new account ({state}), without a password until an "
            "administrator sets one"
        )
        plan.add(USERS_FILE, line, Outcome.CREATE, sourced_id, message)
    elif user.sourced_id != sourced_id:
        plan.add(USERS_FILE, line, Outcome.UPDATE, sourced_id, f"sourcedId of {user.email}")
    else:
        plan.add(USERS_FILE, line, Outcome.UNCHANGED, sourced_id, f"teacher {user.email}")


def plan_roles(plan: Plan) -> None:
    """Give each teacher role of roles.csv the outcome of its account."""
    for user, roles in plan.teacher_roles.items():
        change = plan.teachers.get(user)
        for line, sourced_id in roles:
            if change is None:
                message = f"the user {user} is not imported (see users.csv)"
                plan.add(ROLES_FILE, line, Outcome.SKIP, sourced_id, message)
                continue
            outcome = Outcome.CREATE if change.user is None else Outcome.UNCHANGED
            plan.add(ROLES_FILE, line, outcome, sourced_id, f"teacher {change.email}")
