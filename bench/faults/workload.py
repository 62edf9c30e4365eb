"""Writers and readers against a live server that remember every acknowledged write.

A write is *acknowledged* when the server answered it with success: a 302 after a
create or an edit. Each acknowledgement is recorded with its time, so a check can ask
for exactly the writes acknowledged before some moment (a backup's start) and demand
that each of them is in the database afterwards. Requests that failed (a 503, a reset
connection) are recorded too, with their start and end times, to see how the server
behaved during a fault.
"""

from __future__ import annotations

import http.client
import random
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import create_engine, text

from bench.client import CSRF_PATTERN, VERSION_PATTERN, Client, Reply
from bench.server import ACCOUNT_EMAIL, ACCOUNT_PASSWORD

ACCOUNT = (ACCOUNT_EMAIL, ACCOUNT_PASSWORD)
#: What goes wrong with a request besides an HTTP status.
CONNECTION_ERRORS = (OSError, http.client.HTTPException)
#: Seconds a client waits after a failed request, as a person would before retrying.
PAUSE_AFTER_FAILURE = 0.2


@dataclass(frozen=True)
class Outcome:
    """One request: what it was, its HTTP status (``None``: no answer), when, headers."""

    kind: str
    status: int | None
    started: float
    ended: float
    retry_after: str | None = None
    error: str | None = None


@dataclass
class Workload:
    """``clients`` browser sessions creating, editing and reading students until stopped.

    Args:
        base_url: the server.
        clients: concurrent sessions (threads).
        write_share: fraction of operations that write (half creates, half edits of a
            student the same client created); the rest read roster and detail pages.
        prefix: start of every email this workload creates (``<prefix>-<client>-<n>@...``).
        timeout: seconds each request may take before the client gives up on it; above
            gunicorn's 30 s worker timeout, so a hang would show.

    Times are ``time.monotonic()`` seconds. Call :meth:`start`, later :meth:`stop`.
    """

    base_url: str
    clients: int = 8
    write_share: float = 0.5
    prefix: str = "fault"
    timeout: float = 60.0
    created: dict[str, float] = field(default_factory=dict)
    edited: dict[str, float] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    #: The first page body seen for each status of 500 or more.
    error_pages: dict[int, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        """Log every client in, then let them run."""
        sessions = [self._login(number) for number in range(self.clients)]
        for number, client in enumerate(sessions):
            thread = threading.Thread(target=self._run, args=(number, client), daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        """Stop the clients after their current request and wait for them."""
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _login(self, number: int) -> Client:
        deadline = time.monotonic() + 30
        while True:
            try:
                return Client(self.base_url, timeout=self.timeout, login=ACCOUNT)
            except (*CONNECTION_ERRORS, LookupError, PermissionError) as error:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"client {number} cannot log in: {error}") from error
                time.sleep(0.2)

    def _record(self, kind: str, started: float, reply: Reply | None, error: str | None) -> None:
        outcome = Outcome(
            kind,
            reply.status if reply else None,
            started,
            time.monotonic(),
            reply.retry_after if reply else None,
            error,
        )
        with self._lock:
            self.outcomes.append(outcome)
            if reply is not None and reply.status >= 500:
                self.error_pages.setdefault(reply.status, reply.text)

    def _call(self, kind: str, client: Client, path: str, data=None) -> Reply | None:
        started = time.monotonic()
        try:
            reply = client.request(path, data)
        except CONNECTION_ERRORS as error:
            self._record(kind, started, None, f"{type(error).__name__}: {error}")
            return None
        self._record(kind, started, reply, None)
        return reply

    def _run(self, number: int, client: Client) -> None:
        rng = random.Random(number)
        token: str | None = None
        mine: list[tuple[int, str]] = []  # (id, email) of the students this client made
        serial = 0
        while not self._stop.is_set():
            serial += 1
            roll = rng.random()
            ok = True
            if roll < self.write_share / 2 or (roll < self.write_share and not mine):
                if token is None:
                    reply = self._call("form", client, "/students/new")
                    token = _csrf(reply)
                    ok = token is not None
                    if not ok:
                        self._pause()
                        continue
                email = f"{self.prefix}-{number}-{serial}@example.org"
                data = {"csrf_token": token, "name": f"Fault {number} {serial}", "email": email}
                data.update(grade=str(1 + serial % 12), enrolled_on="2020-09-01")
                reply = self._call("create", client, "/students/new", data)
                ok = reply is not None and reply.status == 302
                if ok and reply is not None and reply.location:
                    with self._lock:
                        self.created[email] = time.monotonic()
                    mine.append((int(reply.location.rstrip("/").rsplit("/", 1)[1]), email))
            elif roll < self.write_share:
                student, email = rng.choice(mine)
                ok = self._edit(client, student, email, f"Edited {number} {serial}")
            elif roll < (1 + self.write_share) / 2:
                page = rng.randint(1, 5)
                reply = self._call("list", client, f"/students/?page={page}&sort=-enrolled_on")
                ok = reply is not None and reply.status == 200
            else:
                student = rng.choice(mine)[0] if mine else 1
                reply = self._call("detail", client, f"/students/{student}")
                ok = reply is not None and reply.status in (200, 404)
            if not ok:
                self._pause()

    def _edit(self, client: Client, student: int, email: str, name: str) -> bool:
        path = f"/students/{student}/edit"
        reply = self._call("form", client, path)
        token, version = _csrf(reply), _version(reply)
        if token is None or version is None:
            return False
        data = {"csrf_token": token, "version": version, "name": name, "email": email, "grade": "3"}
        data.update(birthday="", enrolled_on="2020-09-01")
        reply = self._call("edit", client, path, data)
        if reply is not None and reply.status == 302:
            with self._lock:
                self.edited[name] = time.monotonic()
            return True
        return False

    def _pause(self) -> None:
        self._stop.wait(PAUSE_AFTER_FAILURE)

    # --- what happened ---

    def server_errors(self) -> list[Outcome]:
        """Answers of 500 or more other than 503 (the app's "try again" answer)."""
        return [
            o for o in self.outcomes if o.status is not None and o.status >= 500 and o.status != 503
        ]

    def writes_acknowledged(self, before: float = float("inf")) -> int:
        """Creates and edits acknowledged before ``before``."""
        return sum(1 for t in [*self.created.values(), *self.edited.values()] if t < before)

    def longest(self) -> float:
        """The longest time any request took, in seconds."""
        return max((o.ended - o.started for o in self.outcomes), default=0.0)


def _csrf(reply: Reply | None) -> str | None:
    if reply is None or reply.status != 200:
        return None
    match = CSRF_PATTERN.search(reply.text)
    return match.group(1) if match else None


def _version(reply: Reply | None) -> str | None:
    match = VERSION_PATTERN.search(reply.text) if reply is not None else None
    return match.group(1) if match else None


@dataclass(frozen=True)
class Check:
    """What the database holds of a workload's acknowledged writes.

    Attributes:
        creates_checked: acknowledged creates looked for.
        creates_missing: acknowledged creates not in ``students``.
        edits_checked: acknowledged edits looked for.
        edits_missing: acknowledged edits without their audit event.
        half_written: workload students whose row and audit events disagree (no create
            event, or a ``version`` other than 1 + their update events), plus create events
            without their student.
    """

    creates_checked: int
    creates_missing: list[str]
    edits_checked: int
    edits_missing: list[str]
    half_written: list[str]

    @property
    def lost(self) -> int:
        """Acknowledged writes not found."""
        return len(self.creates_missing) + len(self.edits_missing)


def check_database(database_url: str, workload: Workload, before: float = float("inf")) -> Check:
    """Look for each write ``workload`` had acknowledged before ``before`` in a database.

    Also checks that every student the workload created is whole: its row, its create
    event, and one update event per version after the first (each write is one
    transaction, so a killed request leaves all of it or none).

    Args:
        database_url: the database to look in (the served one, or a restored copy).
        workload: the workload that wrote.
        before: only writes acknowledged before this ``time.monotonic()`` moment.
    """
    creates = sorted(email for email, t in workload.created.items() if t < before)
    edits = sorted(name for name, t in workload.edited.items() if t < before)
    like = f"{workload.prefix}-%"
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            stored = set(
                connection.execute(
                    text("SELECT email FROM students WHERE email LIKE :like"), {"like": like}
                ).scalars()
            )
            audited = set(
                connection.execute(
                    text("SELECT student_name FROM audit_events WHERE action = 'update'")
                ).scalars()
            )
            half = [
                f"student {row.id}: version {row.version}, {row.creates} create and "
                f"{row.updates} update events"
                for row in connection.execute(
                    text(
                        "SELECT s.id, s.version, "
                        "(SELECT count(*) FROM audit_events a WHERE a.student_id = s.id "
                        " AND a.action = 'create') AS creates, "
                        "(SELECT count(*) FROM audit_events a WHERE a.student_id = s.id "
                        " AND a.action = 'update') AS updates "
                        "FROM students s WHERE s.email LIKE :like"
                    ),
                    {"like": like},
                )
                if row.creates != 1 or row.version != 1 + row.updates
            ]
            half += [
                f"create event {event_id} of student {student} without the student"
                for event_id, student in connection.execute(
                    text(
                        "SELECT a.id, a.student_id FROM audit_events a "
                        "LEFT JOIN students s ON s.id = a.student_id "
                        "WHERE a.action = 'create' AND s.id IS NULL"
                    )
                )
            ]
    finally:
        engine.dispose()
    return Check(
        creates_checked=len(creates),
        creates_missing=[email for email in creates if email not in stored],
        edits_checked=len(edits),
        edits_missing=[name for name in edits if name not in audited],
        half_written=half,
    )
