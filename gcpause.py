"""Pause Python's cyclic garbage collector around allocation-heavy stages (network load, coverage)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_gc"]


@contextmanager
def paused_gc() -> Iterator[None]:
    """Run the block with the cyclic garbage collector disabled; restore its state after.

    Shapely geometries and networkx's attribute dicts are tracked by the collector, so every
    full collection walks all of them: a job that creates hundreds of thousands of geometries
    spends 10-50 % of its time in collections that free nothing (geometries hold no cycles).
    Reference counting still frees everything as usual; only cyclic garbage waits until the
    collector runs again after the block. Nested blocks are fine; the state before the outer
    block is restored (also on an exception), and no collection is forced.

    Examples
    --------
    >>> with paused_gc():
    ...     net = WalkNetwork.from_graph(G)  # doctest: +SKIP
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
