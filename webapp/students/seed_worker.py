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
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection as Pipe
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import make_url

from webapp.extensions import db
from webapp.homerooms import seeding as homeroom_seeding
from webapp.homerooms.seeding import HomeroomFiller
from webapp.students.seed_rows import COLUMNS, DistrictRows, Rows, SeedPlan

#: Every table a seed writes, in the order it must write them, with its tuples' columns.
WRITE_ORDER: dict[str, tuple[str, ...]] = {**homeroom_seeding.COLUMNS, **COLUMNS}


def table(name: str) -> Table:
    """The model's table called ``name``."""
    return db.metadata.tables[name]


def _work(plan: SeedPlan, filler: HomeroomFiller | None, driver: str, pipe: Pipe) -> None:
    """The worker: send each batch's rows, made for ``driver``'s dialect (``sqlite``,
    ``postgresql+psycopg``), then ``None``; on an error, its traceback as text."""
    try:
        dialect = make_url(f"{driver}://").get_dialect()()
        for rows in DistrictRows(plan, filler, dialect).batches():
            pipe.send(rows)
        pipe.send(None)
    except BaseException:
        pipe.send(traceback.format_exc())
        raise
    finally:
        pipe.close()


@contextmanager
def generated_in_worker(
    plan: SeedPlan, filler: HomeroomFiller | None, driver: str
) -> Iterator[Iterator[Rows]]:
    """Start the worker for ``plan``; yield an iterator of its batches, per table, ready
    for the driver (``write_rows(..., ready=True)``). The worker is stopped on leaving
    the block, whatever happened.

    Args:
        plan: what to generate.
        filler: numbers the homerooms (a copy goes to the worker).
        driver: the database URL's driver name, e.g. ``sqlite`` or
            ``postgresql+psycopg``.

    Raises:
        RuntimeError: the worker failed (with its traceback) or died.
    """
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(target=_work, args=(plan, filler, driver, sending), daemon=True)
    process.start()
    sending.close()

    def batches() -> Iterator[Rows]:
        while True:
            try:
                message: Any = receiving.recv()
            except EOFError:
                raise RuntimeError("the seed's worker process ended early") from None
            if message is None:
                return
            if isinstance(message, str):
                raise RuntimeError(f"the seed's worker process failed:\n{message}")
            yield message

    try:
        yield batches()
    finally:
        receiving.close()
        if process.is_alive():
            process.terminate()
        process.join()
