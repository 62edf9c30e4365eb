"""Writing the school's structure from an import's plan: school years, teacher accounts
and homerooms (a few of each: through the ORM), before the people who refer to them.
"""

from __future__ import annotations

import logging
import secrets

from webapp import trail
from webapp.extensions import db
from webapp.fields.school_year import SCHOOL_YEAR
from webapp.homerooms import service as homeroom_service
from webapp.models import Entity, Homeroom, Role, SchoolYear, User
from webapp.models.types import utcnow
from webapp.roster_exchange.files.classes import NEW_CAPACITY
from webapp.roster_exchange.planning import Plan
from webapp.roster_exchange.writing.events import Events, assign, changed

logger = logging.getLogger("webapp.auth")


def write_years(plan: Plan, events: Events) -> int:
    """Create and update the plan's school years (a few: through the ORM)."""
    written = 0
    for change in plan.years.values():
        year = change.year
        before = SCHOOL_YEAR.snapshot(year) if year is not None else {}
        old_id = year.sourced_id if year is not None else None
        if year is None:
            year = SchoolYear(sourced_id=change.sourced_id, is_current=False, **change.values)
            db.session.add(year)
        else:
            assign(year, change.values)
            year.sourced_id = change.sourced_id
        db.session.flush()
        change.year = year
        changes = changed(SCHOOL_YEAR, before, year)
        if old_id != change.sourced_id:
            changes["sourced_id"] = [old_id, change.sourced_id]
        if changes:
            events.add(
                Entity.SCHOOL_YEAR,
                year.id,
                changes,
                created=old_id is None,
                file="academicSessions.csv",
                line=change.line,
            )
            written += 1
    return written


def write_teachers(plan: Plan) -> dict[str, User]:
    """Create the plan's new teacher accounts and give matched accounts the bundle's
    sourcedId; return every teacher's account by sourcedId.

    A new account has the ``teacher`` role, is active as the bundle's ``enabledUser``
    says, and has no usable password (its hash is no scrypt hash, so no password
    verifies) until an administrator sets one. Accounts have no audit entity: each
    creation is logged (``webapp.auth``), and the homerooms' events list their teachers'
    emails.
    """
    accounts: dict[str, User] = {}
    for change in plan.teachers.values():
        user = change.user
        if user is None:
            user = User(
                email=change.email,
                role=Role.TEACHER.value,
                active=change.enabled,
                password_hash="!" + secrets.token_hex(16),
                sourced_id=change.sourced_id,
            )
            db.session.add(user)
            db.session.flush()
            logger.info(
                "Account created by OneRoster import %s: user_id=%s email=%s role=teacher"
                " active=%s, no password",
                plan.filename,
                user.id,
                user.email,
                user.active,
            )
        elif user.sourced_id != change.sourced_id:
            user.sourced_id = change.sourced_id
        accounts[change.sourced_id] = user
    db.session.flush()
    return accounts


def write_homerooms(plan: Plan, events: Events, teachers: dict[str, User]) -> dict[str, int]:
    """Create and update the plan's homerooms (a few: through the ORM) and set their
    teachers; return every homeroom's id by sourcedId."""
    ids: dict[str, int] = {}
    for change in plan.homerooms.values():
        homeroom = change.homeroom
        before = homeroom_service.audited(homeroom) if homeroom is not None else {}
        if homeroom is None:
            year = plan.years[change.year_sourced_id].year
            assert year is not None
            homeroom = Homeroom(
                sourced_id=change.sourced_id,
                school_year_id=year.id,
                capacity=NEW_CAPACITY,
                teachers=[],
            )
            db.session.add(homeroom)
        assign(homeroom, change.values)
        if change.teachers is not None:
            chosen = sorted((teachers[key] for key in change.teachers), key=lambda u: u.email)
            if [u.id for u in homeroom.teachers] != [u.id for u in chosen]:
                homeroom.teachers = chosen
                homeroom.updated_at = utcnow()  # the link table is not the row
        db.session.flush()
        ids[change.sourced_id] = homeroom.id
        changes = trail.diff(before, homeroom_service.audited(homeroom), homeroom_service.AUDITED)
        if changes:
            events.add(
                Entity.HOMEROOM,
                homeroom.id,
                changes,
                created=change.homeroom is None,
                file="classes.csv",
                line=change.line,
            )
    return ids
