"""Helpers shared by the import's stages: batch sizes, chunking, the paused collector."""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator, Sequence
from typing import ParamSpec, TypeVar

#: Parameter sets per INSERT/UPDATE executemany: amortises round trips, keeps memory flat.
WRITE_BATCH_SIZE = 5_000

#: Values per ``IN (...)`` lookup; well under SQLite's and PostgreSQL's parameter limits.
LOOKUP_BATCH_SIZE = 1_000

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Yield ``items`` in consecutive slices of ``size`` (the last may be shorter)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def paused_gc(function: Callable[P, R]) -> Callable[P, R]:
    """Decorate a bulk step so that Python's cyclic garbage collector pauses during it.

    An import holds a few objects per cell of the file; with the collector running, the
    allocations trigger full collections over all of them again and again
    (``bench/results/import-export-design.md``). The import makes no reference cycles, so
    reference counting frees everything anyway.
    Re-entrant: the collector is turned back on only by the call that turned it off.
    """

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return wrapper
