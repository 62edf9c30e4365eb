"""Reading uploads in the background, so that an upload's request returns at once.

A large workbook takes longer to read and check than a web request may last (gunicorn
stops a sync worker after 30 s; proxies give up after about a minute), so the pages start
the work here and show a page that refreshes until the preview is ready. The work runs
in a thread of the worker process that received the file, in its own application
context (and so its own database session); its result is in the database, where any
host sees it.

Bounded: each process runs :data:`RUNNING` job at a time and lets :data:`WAITING` more
wait, holding their files (at most ``IMPORT_MAX_BYTES`` each); beyond that :func:`submit`
refuses, and the page asks the user to try again shortly. A job a restart interrupts
leaves its upload ``reading``; the preview calls it failed once it has been reading for
longer than ``IMPORT_READ_TIMEOUT`` seconds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app

from webapp.database import begin_write
from webapp.extensions import db
from webapp.import_export import uploads

#: Jobs running at once in one process, and jobs that may wait for them.
RUNNING, WAITING = 1, 2
#: Default ``IMPORT_READ_TIMEOUT``: seconds after which a reading upload counts as failed.
DEFAULT_READ_TIMEOUT = 600

#: What an upload says when its job failed for a reason of the server's, not the file's.
SERVER_ERROR = (
    "The file could not be read because of an error on the server; nothing was imported. "
    "Try again, and tell the administrator if it happens again."
)

_running = threading.BoundedSemaphore(RUNNING)
_lock = threading.Lock()
_queued = 0
_threads: set[threading.Thread] = set()


def read_timeout() -> int:
    """Seconds a reading upload may take (``IMPORT_READ_TIMEOUT``)."""
    return int(current_app.config.get("IMPORT_READ_TIMEOUT", DEFAULT_READ_TIMEOUT))


def submit(upload: uploads.Upload, work: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
    """Run ``work(upload, *args, **kwargs)`` in a background thread of this process.

    Args:
        upload: the upload the work is for; marked failed if the work raises.
        work: a service function that ends its own transactions.
        *args: passed to ``work``.
        **kwargs: passed to ``work``.

    Returns:
        ``False`` when this process already has as many jobs as it takes (nothing is
        started); ``True`` otherwise.
    """
    global _queued
    with _lock:
        if _queued >= RUNNING + WAITING:
            return False
        _queued += 1
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug's LocalProxy
    thread = threading.Thread(
        target=_run,
        args=(app, upload, work, args, kwargs),
        name=f"import-{upload.token[:6]}",
        daemon=False,  # an exiting worker finishes the job (within its graceful timeout)
    )
    with _lock:
        _threads.add(thread)
    thread.start()
    return True


def _run(
    app: Flask,
    upload: uploads.Upload,
    work: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> None:
    """The thread: wait for a slot, run the work, record a failure the work did not."""
    global _queued
    try:
        with _running, app.app_context():
            try:
                work(upload, *args, **kwargs)
            except Exception:
                app.logger.exception("reading the upload %s failed", upload.token[:6])
                db.session.rollback()
                begin_write()
                uploads.fail(upload, SERVER_ERROR)
                db.session.commit()
            finally:
                db.session.remove()
    finally:
        with _lock:
            _queued -= 1
            _threads.discard(threading.current_thread())


def wait(timeout: float | None = None) -> None:
    """Wait for this process's jobs to end (for tests and tools)."""
    with _lock:
        threads = list(_threads)
    for thread in threads:
        thread.join(timeout)
