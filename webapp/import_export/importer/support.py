"""Helpers shared by the import's stages: batch sizes, chunking, the paused collector."""

from __future__ import annotations

import bisect
import functools
import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
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


class IdRuns:
    """A set of integers kept as sorted runs of consecutive values, for ids reserved in
    blocks: a million consecutive ids cost two integers, not a million set entries.

    Adding values in increasing order is constant time per value; a value out of order
    is inserted with a binary search (linear time in the number of runs).
    """

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._stops: list[int] = []  # exclusive

    def __len__(self) -> int:
        """The number of runs (not of values)."""
        return len(self._starts)

    def update(self, values: Iterable[int]) -> None:
        """Add ``values``."""
        starts, stops = self._starts, self._stops
        for value in values:
            if stops and stops[-1] == value:
                stops[-1] = value + 1
                continue
            if value in self:
                continue
            index = bisect.bisect_right(starts, value)
            if index and stops[index - 1] == value:  # extends the run before it
                stops[index - 1] = value + 1
                if index < len(starts) and starts[index] == value + 1:  # joins the next
                    stops[index - 1] = stops.pop(index)
                    starts.pop(index)
            elif index < len(starts) and starts[index] == value + 1:  # starts the next
                starts[index] = value
            else:
                starts.insert(index, value)
                stops.insert(index, value + 1)

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int):
            return False
        index = bisect.bisect_right(self._starts, value) - 1
        return index >= 0 and value < self._stops[index]


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
