"""Independent pieces of one job (e.g. a coverage run's categories) in forked worker processes."""

from __future__ import annotations

import multiprocessing as mp
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

__all__ = ["Beside", "can_fork", "map_forked"]

#: The function the forked workers call (:func:`map_forked`, :class:`Beside`); set just before
#: the pool forks, so that it is inherited, never pickled.
_JOB: Callable[[Any], Any] | None = None


def can_fork() -> bool:
    """Whether this process may fork worker processes: on Linux (macOS offers ``fork`` but its
    system libraries are not safe after it, which is why Python stopped using it there), with
    the ``fork`` start method, and not from a daemonic process."""
    return (
        sys.platform.startswith("linux")
        and "fork" in mp.get_all_start_methods()
        and not mp.current_process().daemon
    )


def _call(item):
    return _JOB(item)


class Beside:
    """``fn(*args)`` computed in one forked process while this one goes on with other work.

    ``Beside(fn, *args)`` starts it; :meth:`result` waits for it. ``fn`` and ``args`` are
    inherited by the fork (never pickled); only the result travels back. Without ``fork`` (see
    :func:`can_fork`), or with ``enabled=False``, :meth:`result` computes it here; a worker
    that dies is computed here too.
    """

    def __init__(self, fn: Callable, *args, enabled: bool = True) -> None:
        global _JOB
        self._fn, self._args, self._pool, self._future = fn, args, None, None
        if enabled and can_fork():
            _JOB = self._here  # the fork (made in submit) inherits it
            try:
                self._pool = ProcessPoolExecutor(1, mp_context=mp.get_context("fork"))
                self._future = self._pool.submit(_call, None)
            finally:
                _JOB = None

    def _here(self, _item=None):
        return self._fn(*self._args)

    def result(self):
        """The result of ``fn(*args)``, computed beside or here."""
        if self._pool is None:
            return self._here()
        try:
            return self._future.result()
        except BrokenProcessPool:
            return self._here()
        finally:
            self._pool.shutdown()
            self._pool = None


def map_forked(
    fn: Callable[[Any], Any], items: Sequence, n_jobs: int, progress: Callable | None = None
) -> list:
    """``[fn(item) for item in items]``, in up to ``n_jobs`` forked processes.

    Shapely's buffers and overlays release the GIL, but the numpy and Python glue around them
    does not, so threads use a second core only in part. Forked processes inherit the job's
    inputs (network, snapped facilities, demand, study areas) without copying or pickling them;
    only each piece's result travels back. Where ``fork`` is not available or not safe (Windows,
    macOS), or the caller is a daemonic process (a dask worker, a pool worker: they may not have
    children), the pieces run one after another here.

    Parameters
    ----------
    fn : callable
        Any function or closure (it is inherited by the fork, never pickled); its results are
        pickled back, so they should be plain data, arrays and shapely geometries.
    items : sequence
        Picklable arguments, one call each; results come back in their order.
    n_jobs : int
        Processes at most. ``1``, a single item or no ``fork`` (see :func:`can_fork`) runs
        the calls here, one after another.
    progress : callable, optional
        Called once per finished item (e.g. a tqdm bar's ``update``).

    Returns
    -------
    list
        One result per item. A worker that dies (killed, out of memory) makes the remaining
        items run here, one after another, so the job still finishes.
    """
    global _JOB
    items = list(items)
    tick = progress or (lambda: None)
    if n_jobs <= 1 or len(items) <= 1 or not can_fork():
        return [_serial(fn, item, tick) for item in items]
    _JOB = fn
    results: list = []
    try:
        with ProcessPoolExecutor(
            min(n_jobs, len(items)), mp_context=mp.get_context("fork")
        ) as pool:
            futures = [pool.submit(_call, item) for item in items]
            for fut in futures:
                results.append(fut.result())
                tick()
    except BrokenProcessPool:
        results += [_serial(fn, item, tick) for item in items[len(results) :]]
    finally:
        _JOB = None
    return results


def _serial(fn, item, tick):
    out = fn(item)
    tick()
    return out
