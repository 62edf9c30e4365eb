"""The audit log's date filters read a range of ids (revision 0015's indexes) and still
select exactly the events of the dates, also when ids and times disagree a little."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import insert, select

from webapp.audit.service import LOG_COUNT_LIMIT, log_page, log_statement
from webapp.extensions import db
from webapp.models import AuditEvent

START = datetime(2026, 3, 1, 22, 0, tzinfo=UTC)


def add_events(app: Flask) -> list[tuple[int, datetime, str]]:
    """Events every 20 minutes over three days; one written late (its time is 30
    minutes before its predecessor's), across midnight."""
    times = [START + timedelta(minutes=20 * n) for n in range(3 * 72)]
    times[7] = times[6] - timedelta(minutes=30)  # 23:50 after 00:20 the next day
    rows = [
        {
            "occurred_at": moment,
            "user_id": None,
            "actor": "command line",
            "action": "update" if n % 3 else "create",
            "student_id": 1,
            "student_name": "Ann",
            "changes": {},
            "entity": "student",
            "entity_id": 1,
        }
        for n, moment in enumerate(times)
    ]
    with app.app_context():
        db.session.execute(insert(AuditEvent), rows)
        db.session.commit()
        statement = select(AuditEvent.id, AuditEvent.occurred_at, AuditEvent.action)
        return [(row[0], row[1], row[2]) for row in db.session.execute(statement)]


def test_date_filters_select_exactly_the_events_of_the_dates(app: Flask) -> None:
    events = add_events(app)
    for since, until, action in [
        (date(2026, 3, 2), date(2026, 3, 2), None),
        (date(2026, 3, 2), None, "create"),
        (None, date(2026, 3, 1), None),
        (date(2026, 3, 3), date(2026, 3, 4), "update"),
        (date(2026, 4, 1), None, None),
    ]:
        with app.app_context():
            statement = log_statement(action=action, since=since, until=until)
            found = [event.id for event in db.session.scalars(statement)]
        expected = [
            event_id
            for event_id, moment, kind in reversed(events)
            if (since is None or moment.date() >= since)
            and (until is None or moment.date() <= until)
            and (action is None or kind == action)
        ]
        assert found == expected, (since, until, action)


def test_the_log_counts_up_to_its_limit(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    add_events(app)
    monkeypatch.setattr("webapp.audit.service.LOG_COUNT_LIMIT", 100)
    with app.app_context():
        page = log_page(log_statement(), 1, 50)
        assert (page.total, page.total_exact, page.has_next) == (100, False, True)
        page = log_page(log_statement(since=date(2026, 3, 4)), 1, 50)
        assert page.total_exact
        assert page.total < 100
    assert LOG_COUNT_LIMIT == 10_000
