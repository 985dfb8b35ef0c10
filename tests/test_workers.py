"""Categories in forked worker processes: the same results as one after another."""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from lifecircle.analysis import workers
from lifecircle.analysis.coverage import compute_coverage
from lifecircle.scripts.bench_coverage import grid_network

pytestmark = pytest.mark.skipif(not workers.can_fork(), reason="needs the fork start method")


def test_map_forked_keeps_order_and_runs_elsewhere():
    parent = os.getpid()
    out = workers.map_forked(lambda i: (i * i, os.getpid()), range(5), n_jobs=2)
    assert [v for v, _ in out] == [0, 1, 4, 9, 16]
    assert {pid for _, pid in out} - {parent}  # a closure ran in forked processes
    assert workers.map_forked(lambda i: os.getpid(), range(3), n_jobs=1) == [parent] * 3


def test_map_forked_finishes_here_when_a_worker_dies():
    parent = os.getpid()

    def fragile(i):
        if os.getpid() != parent:
            os._exit(3)  # a worker killed (e.g. out of memory)
        return i + 1

    ticks = []
    assert workers.map_forked(fragile, range(4), 2, lambda: ticks.append(1)) == [1, 2, 3, 4]
    assert len(ticks) == 4


def test_coverage_in_worker_processes_equals_one_process():
    net = grid_network(30)  # 900 nodes, 100 m jittered blocks
    rng = np.random.default_rng(3)
    lo, hi = net.xy.min(axis=0), net.xy.max(axis=0)
    xy = lo + rng.random((36, 2)) * (hi - lo)
    fac = gpd.GeoDataFrame(
        {"category": np.repeat(["elder_care", "fitness", "parking"], 12)},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=net.crs,
    )
    one = compute_coverage(net, fac, "network", minutes=[5, 10], n_jobs=1)
    two = compute_coverage(net, fac, "network", minutes=[5, 10], n_jobs=2)
    pd.testing.assert_frame_equal(one.table, two.table)
    assert len(one.table) == 6 and one.table["population_share"].between(0, 1).all()
    for a, b in ((one.service_areas, two.service_areas), (one.blind_spots, two.blind_spots)):
        assert len(a) == len(b) > 0
        assert shapely.equals_exact(a.geometry.values, b.geometry.values, 0).all()
    assert list(a.columns) == list(b.columns)
    for cat in ("elder_care", "fitness", "parking"):
        np.testing.assert_array_equal(one.fields[cat], two.fields[cat])
    # the per-category stages are timed in the workers, and the wall time of all of them
    assert {"fields", "service_areas", "blind_spots", "categories"} <= set(two.timings)


def _report_can_fork(q):
    q.put(workers.can_fork())


def test_a_daemonic_process_runs_its_pieces_itself():
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_report_can_fork, args=(q,), daemon=True)
    p.start()
    assert q.get(timeout=30) is False  # e.g. a dask worker: no children allowed
    p.join()


def test_beside_computes_in_another_process_or_here():
    parent = os.getpid()
    assert workers.Beside(lambda a, b: (a + b, os.getpid()), 2, 3).result()[0] == 5
    assert workers.Beside(lambda: os.getpid()).result() != parent
    assert workers.Beside(lambda: os.getpid(), enabled=False).result() == parent

    def fragile():
        if os.getpid() != parent:
            os._exit(3)
        return "here"

    assert workers.Beside(fragile).result() == "here"


def test_run_options_take_a_number_of_worker_processes():
    from lifecircle.errors import InputValueError
    from lifecircle.workflow.study import RunOptions

    assert RunOptions().jobs == 1
    assert RunOptions.from_mapping({}, jobs=2).jobs == 2
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(InputValueError, match="jobs"):
            RunOptions(jobs=bad)


def test_only_linux_forks(monkeypatch):
    monkeypatch.setattr(workers.sys, "platform", "darwin")
    assert workers.can_fork() is False
    assert workers.map_forked(lambda i: os.getpid(), range(3), n_jobs=2) == [os.getpid()] * 3
