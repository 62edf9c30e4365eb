"""Generating a large seed in a worker process while the seeding process inserts.

Generating the rows (:class:`webapp.students.seed_rows.DistrictRows`) and inserting them
each take about half of a large seed's CPU time; with two cores they can overlap. The
worker (a ``spawn``-ed process, so nothing of the caller's database connections or
threads is copied) generates each batch, its values as the database's driver takes them
(dates as text on SQLite), and sends it through a pipe; the seeding process inserts it
as it comes (``executemany`` or ``COPY`` of the tuples). The pipe holds little, so the
worker stays about a batch ahead and memory stays flat.

Tried and dropped: sending each batch as a serialized in-memory SQLite database and
copying it with ``INSERT ... SELECT`` from an attached schema. SQLite can attach inside
the seed's transaction, but a schema that the transaction has read keeps its read
snapshot until the commit: the next batch, deserialized into it, read as garbage.

For a first seed on SQLite, the worker also builds the students' search index after the
last batch, while the seeding process builds the tables' other indexes
(:mod:`webapp.students.seed_search`).
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import make_url

from webapp.extensions import db
from webapp.homerooms import seeding as homeroom_seeding
from webapp.homerooms.seeding import HomeroomFiller
from webapp.students import seed_search
from webapp.students.seed_rows import COLUMNS, DistrictRows, Rows, SeedPlan

#: Every table a seed writes, in the order it must write them, with its tuples' columns.
WRITE_ORDER: dict[str, tuple[str, ...]] = {**homeroom_seeding.COLUMNS, **COLUMNS}


def table(name: str) -> Table:
    """The model's table called ``name``."""
    return db.metadata.tables[name]


def _work(
    plan: SeedPlan, filler: HomeroomFiller | None, driver: str, index: Path | None, pipe: Pipe
) -> None:
    """The worker: send each batch's rows, made for ``driver``'s dialect (``sqlite``,
    ``postgresql+psycopg``), then ``None``; with ``index``, then build the students'
    search index in that file (:class:`seed_search.IndexFile`) and send ``True``. On an
    error, send its traceback as text."""
    try:
        dialect = make_url(f"{driver}://").get_dialect()()
        search = seed_search.IndexFile(index) if index else None
        for rows in DistrictRows(plan, filler, dialect).batches():
            pipe.send(rows)
            if search:
                search.add(rows["students"], COLUMNS["students"])
        pipe.send(None)
        if search:
            search.finish()
            pipe.send(True)
    except BaseException:
        pipe.send(traceback.format_exc())
        raise
    finally:
        pipe.close()


class Feed:
    """What the worker sends, as the seeding process reads it."""

    def __init__(self, receiving: Pipe) -> None:
        self.receiving = receiving

    def _receive(self) -> Any:
        try:
            message: Any = self.receiving.recv()
        except EOFError:
            raise RuntimeError("the seed's worker process ended early") from None
        if isinstance(message, str):
            raise RuntimeError(f"the seed's worker process failed:\n{message}")
        return message

    def batches(self) -> Iterator[Rows]:
        """Each batch's rows, per table, ready for the driver, until the last."""
        while (message := self._receive()) is not None:
            yield message

    def wait_for_index(self) -> None:
        """Wait until the worker has built the search index (after the last batch).

        Raises:
            RuntimeError: the worker failed (with its traceback) or died.
        """
        if self._receive() is not True:
            raise RuntimeError("the seed's worker process sent something unexpected")


@contextmanager
def generated_in_worker(
    plan: SeedPlan, filler: HomeroomFiller | None, driver: str, index: Path | None = None
) -> Iterator[Feed]:
    """Start the worker for ``plan``; yield what it sends (:class:`Feed`): its batches,
    per table, ready for the driver (``write_rows(..., ready=True)``), and with
    ``index``, the search index built in that file. The worker is stopped on leaving
    the block, whatever happened.

    Args:
        plan: what to generate.
        filler: numbers the homerooms (a copy goes to the worker).
        driver: the database URL's driver name, e.g. ``sqlite`` or
            ``postgresql+psycopg``.
        index: SQLite: a new file in which the worker builds the students' search index
            (:class:`webapp.students.seed_search.IndexFile`) after the last batch.

    Raises:
        RuntimeError: the worker failed (with its traceback) or died.
    """
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(
        target=_work, args=(plan, filler, driver, index, sending), daemon=True
    )
    process.start()
    sending.close()
    try:
        yield Feed(receiving)
    finally:
        receiving.close()
        if process.is_alive():
            process.terminate()
        process.join()
