"""Walking coverage (步行覆盖率) of facilities: nearest-facility times, shares, blind spots.

The engine behind ``lifecircle coverage``.

Nearest facility
----------------
For every network node, the walking distance to the nearest facility of a category comes from
ONE Dijkstra run per category (:func:`nearest_facility_distances`): facilities snap to their
nearest *edge* (:mod:`lifecircle.geo.snap`), and a virtual source joins both ends of every
facility's edge with the cost ``snap distance + walk along the edge``. Times are distances at the
profile's speed (``elderly`` 0.9 m/s; ``gb50180`` reports metres and nominal minutes at 1 m/s).
Points farther than ``max_snap_m`` (250 m) from every street are reported and left out.

Demand points that are not nodes (buildings, grid cells) also snap to an edge; their distance is
the best of entering the edge at either end, or — when a facility sits on the *same* street —
walking straight along it (:func:`demand_distances`).

Thresholds
----------
Minutes (default 5/10/15) or walking metres (``gb50180``: 300/500/1000 m); both become search
costs through :func:`lifecircle.settings.threshold_cost` only (:func:`thresholds_for`).

Coverage table (one row per boundary × category × threshold)
-----------------------------------------------------------
``area_share``
    Area of the network service area (:mod:`lifecircle.analysis.service_areas`, edges cut exactly
    and buffered by ``width_m``) inside the boundary / boundary area.
``network_share``
    Length of the reached street pieces inside the boundary / street length inside it (each
    street counted once).
``population``/``population_covered``/``population_share`` (and ``pop60_*``)
    Demand inside the boundary and the part within the threshold. Demand comes from
    :func:`lifecircle.geo.population.demand_from_network` (``pop``, ``pop60`` per node); without
    population every node weighs 1 (``demand_basis == "nodes"``; the counts are then nodes).
``crowfly_population_share`` (``crowfly_pop60_share``, ``crowfly_area_share``)
    The straight-line equivalent: demand within a circle of radius = the threshold's metres
    around a facility. ``crowfly_200m_*``/``crowfly_500m_*``: the 200 m / 500 m rings of
    曹杨新村's plan (any ``crowfly_rings_m``).
``n_facilities``, ``facilities_inside``, ``facilities_outside_reaching``
    Facilities of the category in the search; inside the boundary; outside it but with a service
    area reaching into it at this threshold (they count: the network extends beyond the boundary).
``network_extent_share``
    Share of the boundary's area within ``max_snap_m`` of a street of the network
    (:mod:`lifecircle.analysis.study_areas`). Under 95 % a note warns that the results speak for
    that part only; under 50 % the boundary is set aside by name (``CoverageResult.set_aside``)
    unless ``allow_partial``.
``blind_spot_population``, ``n_blind_spots``, ``blind_spot_area_km2``
    See below.

Blind spots (服务盲区)
----------------------
The cells (Voronoi cell ∩ 150 m disc ∩ boundary) of the populated demand points not within the
threshold by the network walk, minus the service area, merged into connected polygons
(:mod:`lifecircle.analysis.blind_spots`). Every uncovered point is counted in exactly one blind
spot, so ``blind_spot_population`` equals ``population_uncovered`` in every row (points whose
cell is left off the map are counted with the nearest blind spot, and a note says so).

Stages
------
:func:`compute_coverage` is a short composition of named stages, each timed in
``CoverageResult.timings``: snap → study areas → street blocks → per category fields, crow-fly
distances, service areas → per threshold and boundary shares, blind spots, crow-fly shares →
tables. With ``n_jobs`` > 1 the categories run in forked worker processes, which inherit the
network and the study areas and send back only their rows and polygons; the results are the
same, row for row and vertex for vertex.

Everything metric happens in ``net.crs``; the GeoDataFrames returned are in WGS84.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.spatial import cKDTree

from ..errors import InputValueError
from ..gcpause import paused_gc
from ..geo.network import WalkNetwork
from ..geo.report import LoadReport
from ..geo.snap import SnapResult, fragment_note, point_distances, snap_points
from ..settings import DEFAULT_MINUTES, WGS84, SpeedProfile, get_profile, threshold_cost
from .blind_spots import blind_spots, demand_cells
from .service_areas import (
    DEFAULT_QUAD_SEGS,
    DEFAULT_WIDTH_M,
    FacilityAreas,
    disjoint_union,
    facility_service_areas,
    prepare_streets,
    street_blocks,
)
from .study_areas import boundary_frame, line_sides, network_extent_share, pieces_length
from .walk import cut_edges, reachable_intervals, seed_distances, undirected_edges
from .workers import Beside, can_fork, map_forked

__all__ = [
    "ALL_FACILITIES",
    "DEFAULT_BLIND_CELL_M",
    "DEFAULT_CROWFLY_RINGS_M",
    "DEFAULT_MIN_BLIND_AREA_M2",
    "CoverageOptions",
    "CoverageResult",
    "compute_coverage",
    "demand_distances",
    "nearest_facility_distances",
    "node_times",
    "thresholds_for",
]

#: ``fid`` of a category's union service area.
ALL_FACILITIES = "全部"
#: Crow-fly rings (m) around facilities compared with the network result (曹杨新村's plan).
DEFAULT_CROWFLY_RINGS_M = (200.0, 500.0)
#: Radius (m) limiting a demand point's cell in the blind-spot polygons.
DEFAULT_BLIND_CELL_M = 150.0
#: Blind-spot fragments smaller than this (m²) are slivers of the buffer edge, not blind spots.
DEFAULT_MIN_BLIND_AREA_M2 = 200.0
_TOL = 1e-6  # metres: lengths carry ~1e-8 m of projection round-off


# --------------------------------------------------------------------------- thresholds
def thresholds_for(
    profile: str | SpeedProfile = "elderly", minutes=None, metres=None
) -> list[tuple[float, float]]:
    """Thresholds as ``(minutes, walking metres)`` pairs, ascending.

    Parameters
    ----------
    profile : str or SpeedProfile
    minutes : sequence of float, optional
        Default :data:`lifecircle.settings.DEFAULT_MINUTES` (5, 10, 15) when ``metres`` is not
        given either.
    metres : sequence of float, optional
        Walking distances; their ``minutes`` label is the profile's nominal minutes (GB 50180:
        300 m → 5, 500 m → 10, 1000 m → 15; else ``metres / speed / 60``).

    Examples
    --------
    >>> thresholds_for("elderly", minutes=[5, 10])
    [(5.0, 270.0), (10.0, 540.0)]
    >>> thresholds_for("gb50180")
    [(5.0, 300.0), (10.0, 500.0), (15.0, 1000.0)]
    """
    prof = get_profile(profile)
    if minutes is not None and metres is not None:
        raise ValueError("give thresholds in minutes or in metres, not both")
    out = []
    if metres is not None:
        inverse = {float(v): float(k) for k, v in prof.distance_for_minutes.items()}
        for m in metres:
            cost = threshold_cost(prof, metres=float(m))
            label = inverse.get(cost, float(prof.minutes_for_metres(cost)))
            out.append((label, cost))
    else:
        for mi in DEFAULT_MINUTES if minutes is None else minutes:
            out.append((float(mi), threshold_cost(prof, minutes=float(mi))))
    if not out:
        raise ValueError("no thresholds given")
    if any(c <= 0 for _, c in out):
        raise ValueError(f"thresholds must be positive: {out}")
    return sorted(set(out), key=lambda p: p[1])


# --------------------------------------------------------------------------- distances
def _label(points: gpd.GeoDataFrame, default: str) -> str:
    if "src_file" in points.columns and len(points):
        files = pd.unique(points["src_file"].dropna().astype(str))
        if len(files):
            return ", ".join(files[:3])
    return default


def nearest_facility_distances(
    net: WalkNetwork,
    facilities: gpd.GeoDataFrame,
    max_snap_m: float = 250.0,
    limit_m: float = np.inf,
    snap: SnapResult | None = None,
    which: np.ndarray | None = None,
) -> tuple[np.ndarray, SnapResult]:
    """Walking metres from every node to the nearest facility: ONE Dijkstra.

    Parameters
    ----------
    net : WalkNetwork
    facilities : GeoDataFrame
        Points in any CRS (the facilities schema or any points).
    max_snap_m : float
        Facilities farther from every street are left out and listed in ``snap.report``.
    limit_m : float
        Stop the search beyond this distance (nodes farther get ``inf``).
    snap : SnapResult, optional
        A snap of ``facilities`` done before (e.g. once for all categories).
    which : ndarray of bool, optional
        Subset of the facilities to search from (e.g. one category).

    Returns
    -------
    (node_dist_m, snap)
        ``node_dist_m[i]``: metres from node ``i`` (index order of ``net.node_ids``) to the
        nearest facility; ``inf`` where none is reachable.
    """
    if snap is None:
        snap = snap_points(
            net, facilities, max_snap_m=max_snap_m, label=_label(facilities, "facilities")
        )
    return seed_distances(net, snap, which=which, limit_m=limit_m), snap


def demand_distances(
    net: WalkNetwork,
    node_dist_m: np.ndarray,
    demand_snap: SnapResult,
    facility_snap: SnapResult | None = None,
    which: np.ndarray | None = None,
) -> np.ndarray:
    """Walking metres from snapped demand points to the nearest facility.

    Each point enters its street at either end (``node distance + along-edge walk``) plus its
    snap distance; when a facility (of ``facility_snap``/``which``) sits on the same street the
    direct walk ``snap_p + |pos_p - pos_f| + snap_f`` is taken when shorter. Points not snapped
    get ``nan``.
    """
    out = point_distances(np.asarray(node_dist_m, dtype=float), demand_snap)
    if facility_snap is None:
        return out
    ue = undirected_edges(net)
    ok = facility_snap.ok if which is None else facility_snap.ok & which
    fi = np.flatnonzero(ok)
    pi = np.flatnonzero(demand_snap.ok)
    if len(fi) == 0 or len(pi) == 0:
        return out
    fe, fpos = ue.position(facility_snap, fi)
    pe, ppos = ue.position(demand_snap, pi)
    f = pd.DataFrame({"edge": fe, "fpos": fpos, "fsnap": facility_snap.snap_m[fi]})
    p = pd.DataFrame({"edge": pe, "ppos": ppos, "psnap": demand_snap.snap_m[pi], "i": pi})
    m = p.merge(f, on="edge")
    if len(m):
        direct = m["psnap"] + m["fsnap"] + (m["ppos"] - m["fpos"]).abs()
        best = direct.groupby(m["i"]).min()
        idx = best.index.to_numpy()
        out[idx] = np.fmin(out[idx], best.to_numpy())
    return out


def node_times(node_dist_m: np.ndarray, profile: str | SpeedProfile) -> np.ndarray:
    """Minutes at the profile's speed (nominal for ``gb50180``); ``nan`` where unreachable."""
    d = np.asarray(node_dist_m, dtype=float)
    t = get_profile(profile).minutes_for_metres(d)
    return np.where(np.isfinite(d), t, np.nan)


# --------------------------------------------------------------------------- helpers
def _metric_xy(gdf: gpd.GeoDataFrame, crs) -> np.ndarray:
    g = gdf.to_crs(crs).geometry.values
    g = np.where(shapely.get_type_id(g) == 0, g, shapely.point_on_surface(g))
    xy = np.full((len(g), 2), np.nan)
    ok = ~(shapely.is_missing(g) | shapely.is_empty(g))
    if ok.any():
        xy[ok] = shapely.get_coordinates(g[ok])
    return xy


def _to_wgs84(gdf: gpd.GeoDataFrame, n_jobs: int = 1) -> gpd.GeoDataFrame:
    """Reproject polygons to WGS84, repairing the rare ring that round-off made invalid.

    The vertices are reprojected by one vectorised pyproj call per chunk of rows and the
    validity test runs on the same chunk; with ``n_jobs`` > 1 the chunks run in threads (pyproj
    and GEOS release the GIL). Every vertex is transformed on its own, so the coordinates are
    the ones ``GeoDataFrame.to_crs`` gives, whatever the chunks.
    """
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    if len(geoms) == 0 or shapely.has_z(geoms).any():
        return _repaired(gdf.to_crs(WGS84))
    transformer = Transformer.from_crs(gdf.crs, WGS84, always_xy=True)
    chunks = _balanced_chunks(geoms, 1 if n_jobs <= 1 else 2 * n_jobs)

    def one(chunk: np.ndarray) -> np.ndarray:
        xy = shapely.get_coordinates(chunk)
        x, y = np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])
        transformer.transform(x, y, inplace=True)
        return _valid(shapely.set_coordinates(chunk.copy(), np.column_stack([x, y])))

    if len(chunks) > 1:
        with ThreadPoolExecutor(min(n_jobs, len(chunks))) as ex:
            out = np.concatenate(list(ex.map(one, chunks)))
    else:
        out = one(geoms)
    return gdf.set_geometry(gpd.GeoSeries(out, index=gdf.index, crs=WGS84))


def _balanced_chunks(geoms: np.ndarray, k: int) -> list[np.ndarray]:
    """Consecutive runs of rows with about the same number of vertices each."""
    if k <= 1 or len(geoms) < 2:
        return [geoms]
    csum = np.cumsum(shapely.get_num_coordinates(geoms))
    cuts = np.unique(np.searchsorted(csum, np.arange(1, k) * csum[-1] / k))
    return [c for c in np.split(geoms, cuts) if len(c)]


def _valid(geoms: np.ndarray) -> np.ndarray:
    """The geometries, the invalid ones repaired (``make_valid``, structure method)."""
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False)
    return geoms


def _repaired(out: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    geoms = np.asarray(out.geometry.values, dtype=object)
    fixed = _valid(geoms)
    if fixed is geoms:
        return out
    return out.set_geometry(gpd.GeoSeries(fixed, index=out.index, crs=out.crs))


def _share(part: float, whole: float) -> float:
    return float(part / whole) if whole > 0 else float("nan")


# --------------------------------------------------------------------------- options, result
@dataclass
class CoverageOptions:
    """Options of :func:`compute_coverage`.

    Attributes
    ----------
    profile : str or SpeedProfile
        ``elderly`` (0.9 m/s), ``adult`` (1.2 m/s) or ``gb50180`` (distances).
    minutes, metres : sequence of float, optional
        Thresholds (default 5/10/15 minutes); see :func:`thresholds_for`.
    categories : sequence of str, optional
        Categories to analyse (default: those present). A category without facilities gets
        zero coverage.
    width_m : float
        Service-area buffer width (see :mod:`lifecircle.analysis.service_areas`).
    max_snap_m : float
        Snap limit for facilities and demand points; also the reach of the network in
        ``network_extent_share``.
    crowfly_rings_m : sequence of float
        Extra straight-line rings (``crowfly_<r>m_population_share`` columns).
    per_facility : bool
        Also build one service area per facility (``fid`` rows of ``service_areas``).
    blind_cell_m : float
        Radius bounding each demand point's blind-spot cell.
    min_blind_area_m2 : float
        Blind-spot pieces smaller than this are not drawn (their demand is still counted).
    quad_segs : int
        Roundness of the service-area buffers (segments per quarter circle).
    population_known : bool, optional
        Whether ``pop`` is population (``True``) or a node weight; default: guessed (all ones
        means nodes).
    allow_partial : bool
        Analyse boundaries of which the network reaches less than half
        (:data:`SET_ASIDE_BELOW`); by default they are set aside by name.
    n_jobs : int
        Worker processes: with several categories, each category's stages run in one of
        ``n_jobs`` forked processes (:mod:`lifecircle.analysis.workers`); with one category, or
        where ``fork`` is unavailable, threads for the service-area polygons.
    progress : bool
        tqdm progress bars.
    """

    profile: str | SpeedProfile = "elderly"
    minutes: Sequence[float] | None = None
    metres: Sequence[float] | None = None
    categories: Sequence[str] | None = None
    width_m: float = DEFAULT_WIDTH_M
    max_snap_m: float = 250.0
    crowfly_rings_m: Sequence[float] = DEFAULT_CROWFLY_RINGS_M
    per_facility: bool = True
    blind_cell_m: float = DEFAULT_BLIND_CELL_M
    min_blind_area_m2: float = DEFAULT_MIN_BLIND_AREA_M2
    quad_segs: int = DEFAULT_QUAD_SEGS
    population_known: bool | None = None
    allow_partial: bool = False
    n_jobs: int = 1
    progress: bool = False

    def __post_init__(self) -> None:
        for name in ("width_m", "max_snap_m", "blind_cell_m"):
            v = float(getattr(self, name))
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a positive number, not {v!r}")
        if int(self.quad_segs) < 1 or int(self.n_jobs) < 1:
            raise ValueError("quad_segs and n_jobs must be at least 1")


@dataclass
class CoverageResult:
    """Everything :func:`compute_coverage` found.

    Attributes
    ----------
    table : DataFrame
        One row per boundary × category × threshold (see the module notes for the columns).
    service_areas : GeoDataFrame (WGS84)
        ``category``, ``minutes``, ``limit_m``, ``fid`` (``"全部"`` for the category's union),
        ``name``, ``area_km2``, geometry.
    blind_spots : GeoDataFrame (WGS84)
        ``boundary``, ``category``, ``minutes``, ``limit_m``, ``population``, ``pop60``,
        ``n_demand``, ``area_km2``, geometry. Per boundary, category and threshold the
        ``population`` sums to the table's ``population_uncovered``.
    nodes : GeoDataFrame (WGS84 points)
        ``osmid``, ``t_<category>`` (minutes, NaN when unreachable), ``d_<category>`` (metres),
        and ``pop``/``pop60`` when the demand sits on nodes.
    facilities : GeoDataFrame (WGS84)
        The input facilities with ``snapped`` and ``snap_m``.
    fields : dict
        Per category, the nearest-facility distance of every node (metres, ``inf`` unreachable).
    thresholds : list of (minutes, metres)
    profile : SpeedProfile
    reports : list of LoadReport
        Facilities (and demand points) left out, with reasons.
    notes : list of str
        Remarks for the planner (Chinese).
    boundaries : GeoDataFrame (WGS84)
        The boundaries analysed (``name``, ``network_extent_share``, geometry).
    set_aside : DataFrame
        Boundaries not analysed (``boundary``, ``network_extent_share``, ``reason``).
    timings : dict
        Seconds spent per stage (``snap``, ``study_areas``, ``fields``, ``service_areas``,
        ``shares``, ``blind_spots``, ``crowfly``, ``tables``).
    """

    table: pd.DataFrame
    service_areas: gpd.GeoDataFrame
    blind_spots: gpd.GeoDataFrame
    nodes: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    fields: dict[str, np.ndarray]
    thresholds: list[tuple[float, float]]
    profile: SpeedProfile
    reports: list[LoadReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    boundaries: gpd.GeoDataFrame | None = None
    set_aside: pd.DataFrame | None = None
    timings: dict[str, float] = field(default_factory=dict)


TABLE_COLUMNS = [
    "boundary", "category", "profile", "minutes", "limit_m",
    "area_km2", "area_covered_km2", "area_share", "network_extent_share",
    "network_km", "network_covered_km", "network_share",
    "population", "population_covered", "population_uncovered", "population_share",
    "pop60", "pop60_covered", "pop60_uncovered", "pop60_share",
    "crowfly_population_share", "crowfly_pop60_share", "crowfly_area_share",
    "n_facilities", "facilities_inside", "facilities_outside_reaching", "facilities_unsnapped",
    "blind_spot_population", "blind_spot_pop60", "n_blind_spots", "blind_spot_area_km2",
    "demand_basis",
]  # fmt: skip
SERVICE_AREA_COLUMNS = ["category", "minutes", "limit_m", "fid", "name", "area_km2", "geometry"]
BLIND_SPOT_COLUMNS = [
    "boundary", "category", "minutes", "limit_m", "population", "pop60", "n_demand", "geometry",
]  # fmt: skip
#: Below this share of its area within reach of the network, a boundary gets a warning.
WARN_BELOW = 0.95
#: Below this share a boundary is set aside (unless ``allow_partial``).
SET_ASIDE_BELOW = 0.5


# --------------------------------------------------------------------------- stage inputs
class _Log:
    """Notes, load reports and stage timings collected along the run."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.reports: list[LoadReport] = []
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0


@dataclass
class _Facilities:
    frame: gpd.GeoDataFrame
    category: np.ndarray
    fid: np.ndarray
    name: np.ndarray
    snap: SnapResult
    xy: np.ndarray
    valid: np.ndarray


@dataclass
class _Demand:
    xy: np.ndarray
    node: np.ndarray | None
    pop: np.ndarray
    pop60: np.ndarray
    snap: SnapResult | None
    basis: str
    valid: np.ndarray
    given: bool


@dataclass
class _StudyAreas:
    names: list[str]
    geoms: np.ndarray
    net_len: list[float]
    extent: list[float]
    inside: list[np.ndarray]
    cells: list[np.ndarray]
    fac_inside: list[np.ndarray]
    set_aside: pd.DataFrame
    street_sides: list[np.ndarray]  # line_sides of the undirected edges, per boundary


@dataclass
class _Field:
    mask: np.ndarray
    which: np.ndarray
    node_d: np.ndarray
    demand_d: np.ndarray
    crow_d: np.ndarray


@dataclass
class _Reach:
    minutes: float
    limit: float
    union: object
    pieces: np.ndarray
    piece_edge: np.ndarray  # the undirected edge each piece is part of
    circles: object
    per_facility: np.ndarray | None


def facility_inputs(net: WalkNetwork, facilities: gpd.GeoDataFrame, opts, log) -> _Facilities:
    """Stage *snap* (facilities): ids, names, categories, snap to the streets, metric points."""
    if "category" not in facilities.columns:
        raise ValueError("facilities have no 'category' column")
    if facilities.crs is None:
        raise ValueError("facilities have no CRS")
    fac = facilities.reset_index(drop=True)
    fids = (
        fac["fid"].astype(str).to_numpy()
        if "fid" in fac.columns
        else np.array([f"f{i + 1}" for i in range(len(fac))], dtype=object)
    )
    names = (
        fac["name"].astype(object).where(fac["name"].notna(), None).to_numpy()
        if "name" in fac.columns
        else np.full(len(fac), None, dtype=object)
    )
    snap = snap_points(net, fac, max_snap_m=opts.max_snap_m, label=_label(fac, "facilities"))
    log.reports.append(snap.report)
    if snap.report.n_rejected:
        log.notes.append(
            f"{snap.report.n_rejected} 个设施离步行路网超过 {opts.max_snap_m:.0f} 米或缺坐标，"
            "未参与计算（见报告）"
        )
        if on_fragment := fragment_note(net, snap, "设施"):
            log.notes.append(on_fragment)
    xy = _metric_xy(fac, net.crs)
    cat = fac["category"].astype(str).to_numpy()
    return _Facilities(fac, cat, fids, names, snap, xy, np.isfinite(xy).all(axis=1))


def demand_inputs(net: WalkNetwork, demand: gpd.GeoDataFrame | None, opts, log) -> _Demand:
    """Stage *snap* (demand): weights, positions, and the snap of points that are not nodes."""
    if demand is None:
        known = bool(opts.population_known)
        pop, pop60 = np.ones(net.n_nodes), np.full(net.n_nodes, np.nan)
        node, xy, dsnap = np.arange(net.n_nodes), net.xy, None
    else:
        if "pop" not in demand.columns:
            raise ValueError("demand has no 'pop' column")
        pop = pd.to_numeric(demand["pop"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
        pop60 = (
            pd.to_numeric(demand["pop60"], errors="coerce").to_numpy(dtype=float)
            if "pop60" in demand.columns
            else np.full(len(demand), np.nan)
        )
        known = (not np.all(pop == 1.0)) if opts.population_known is None else opts.population_known
        node, dsnap = None, None
        if "node_idx" in demand.columns:
            node = demand["node_idx"].to_numpy(dtype=np.int64)
            xy = net.xy[node]
        else:
            xy = _metric_xy(demand, net.crs)
            label = _label(demand, "demand points")
            dsnap = snap_points(net, demand, max_snap_m=opts.max_snap_m, label=label)
            log.reports.append(dsnap.report)
            if dsnap.report.n_rejected:
                log.notes.append(
                    f"{dsnap.report.n_rejected} 个需求点离步行路网超过 "
                    f"{opts.max_snap_m:.0f} 米，计为不可达"
                )
                if on_fragment := fragment_note(net, dsnap, "需求点"):
                    log.notes.append(on_fragment)
    if not known:
        log.notes.append("未提供人口数据：每个路网节点权重为 1，人口列为节点数")
    basis = "population" if known else "nodes"
    valid = np.isfinite(xy).all(axis=1)
    return _Demand(xy, node, pop, pop60, dsnap, basis, valid, demand is not None)


def _street_tree(ue) -> shapely.STRtree:
    tree = ue._buffers.get("tree")
    if tree is None:
        tree = ue._buffers["tree"] = shapely.STRtree(ue.geometry)
    return tree


def _extent_verdicts(names, net_len, extent, opts, log) -> np.ndarray:
    """Which boundaries are analysed; notes for the partly covered ones, by name."""
    keep, aside = [], []
    for name, length, share in zip(names, net_len, extent, strict=True):
        pct = f"{share:.0%}" if np.isfinite(share) else "0%"
        if length <= 0.0:
            aside.append((name, share, "边界内没有步行路网"))
        elif share < SET_ASIDE_BELOW and not opts.allow_partial:
            aside.append((name, share, f"路网只覆盖边界面积的 {pct}（不足 50%）"))
        elif share < WARN_BELOW:
            log.notes.append(
                f"注意：「{name}」只有 {pct} 的面积在步行路网 {opts.max_snap_m:.0f} 米以内，"
                "结果只代表路网覆盖的部分"
            )
        keep.append(not aside or aside[-1][0] != name)
    table = pd.DataFrame(aside, columns=["boundary", "network_extent_share", "reason"])
    if len(table) == len(names):
        raise InputValueError(
            "没有可分析的边界（no boundary contains enough of the walking network：路网与边界不重叠"
            "或只覆盖一小部分）："
            + "；".join(f"{n}: {r}" for n, _, r in aside[:10])
            + "。请换用覆盖该边界的路网，或用 --allow-partial 仍然计算"
        )
    if aside:
        log.notes.append(
            f"{len(aside)} 个边界未计算（路网不足）："
            + "、".join(f"{n}（{r}）" for n, _, r in aside[:20])
            + (" …" if len(aside) > 20 else "")
            + "；如仍要计算，请用 --allow-partial"
        )
    return np.array(keep, dtype=bool), table


def study_areas(net: WalkNetwork, boundaries, dem: _Demand, fac: _Facilities, opts, log):
    """Stage *study areas*: boundaries, their street length and network extent, demand cells.

    Boundaries the network reaches under :data:`SET_ASIDE_BELOW` of are set aside by name
    (unless ``allow_partial``); under :data:`WARN_BELOW` a note warns.
    """
    names, geoms = boundary_frame(boundaries, net)
    if isinstance(boundaries, str):  # "network", chosen explicitly
        log.notes.append("研究范围 = 路网范围：路网节点的凸包（明确选择），不是街道边界")
    if len(geoms) == 0:
        raise ValueError("no usable boundary polygon")
    ue = undirected_edges(net)
    tree = _street_tree(ue)
    sides = [line_sides(ue.geometry, tree, g) for g in geoms]
    net_len = [length for _, length in sides]
    extent = [
        network_extent_share(tree, g, opts.max_snap_m, vertices=ue.coords) if n > 0 else 0.0
        for g, n in zip(geoms, net_len, strict=True)
    ]
    keep, aside = _extent_verdicts(names, net_len, extent, opts, log)
    names = [n for n, k in zip(names, keep, strict=True) if k]
    geoms = geoms[keep]
    net_len = [v for v, k in zip(net_len, keep, strict=True) if k]
    extent = [v for v, k in zip(extent, keep, strict=True) if k]
    sides = [sd for (sd, _), k in zip(sides, keep, strict=True) if k]
    dx, dy = np.nan_to_num(dem.xy[:, 0]), np.nan_to_num(dem.xy[:, 1])
    fx, fy = np.nan_to_num(fac.xy[:, 0]), np.nan_to_num(fac.xy[:, 1])
    inside = [dem.valid & shapely.intersects_xy(g, dx, dy) for g in geoms]
    cells = [
        demand_cells(dem.xy[ins], g, opts.blind_cell_m)
        for ins, g in zip(inside, geoms, strict=True)
    ]
    fin = [fac.valid & shapely.intersects_xy(g, fx, fy) for g in geoms]
    return _StudyAreas(names, geoms, net_len, extent, inside, cells, fin, aside, sides)


# --------------------------------------------------------------------------- per category
def category_field(net: WalkNetwork, fac: _Facilities, dem: _Demand, cat: str) -> _Field:
    """Stage *fields*: the nearest-facility walk to every node and every demand point."""
    mask = fac.category == cat
    which = mask & fac.snap.ok
    node_d = seed_distances(net, fac.snap, which=which)
    if dem.snap is None:
        demand_d = node_d[dem.node]
    else:
        demand_d = demand_distances(net, node_d, dem.snap, fac.snap, which=which)
    demand_d = np.where(np.isnan(demand_d), np.inf, demand_d)
    return _Field(mask, which, node_d, demand_d, np.empty(0))


def crowfly_distances(fac: _Facilities, dem: _Demand, mask: np.ndarray) -> np.ndarray:
    """Stage *crow-fly*: straight-line metres from every demand point to the nearest facility."""
    ok = mask & fac.valid
    if not ok.any():
        return np.full(len(dem.xy), np.inf)
    d = cKDTree(fac.xy[ok]).query(np.nan_to_num(dem.xy, nan=1e12))[0]
    return np.where(dem.valid, d, np.inf)


def category_service_areas(net, fac: _Facilities, fld: _Field, limits, opts) -> FacilityAreas:
    """Stage *service areas*: per-facility polygons (optional) and the union, per threshold."""
    return facility_service_areas(
        net,
        fac.snap,
        limits,
        width_m=opts.width_m,
        points=fac.frame,
        which=fld.mask,
        quad_segs=opts.quad_segs,
        n_jobs=opts.n_jobs,
        per_facility=opts.per_facility,
        progress=opts.progress,
    )


def threshold_reach(net, fac: _Facilities, fld: _Field, areas, ti: int, mi: float, lim: float):
    """The union service area, the reached street pieces and the crow-fly discs."""
    ue = undirected_edges(net)
    iv = reachable_intervals(net, fld.node_d, lim, snap=fac.snap, which=fld.which)
    full = iv["full"].to_numpy()
    e = iv["edge"].to_numpy()
    cut = cut_edges(ue, e[~full], iv["start_m"].to_numpy()[~full], iv["end_m"].to_numpy()[~full])
    pieces = np.concatenate([ue.geometry[e[full]], cut])
    piece_edge = np.concatenate([e[full], e[~full]])
    ok = fld.mask & fac.valid
    circles = (
        disjoint_union(shapely.buffer(shapely.points(fac.xy[ok]), lim, quad_segs=32))
        if ok.any()
        else shapely.Polygon()
    )
    return _Reach(
        mi,
        lim,
        areas.union[ti],
        pieces,
        piece_edge,
        circles,
        areas.polygons[:, ti] if areas.polygons.size else None,
    )


# --------------------------------------------------------------------------- per row
def _demand_shares(dem: _Demand, ins: np.ndarray, reached: np.ndarray) -> dict:
    """Demand, covered and uncovered (population and 60+) of one boundary."""
    pop_b = float(dem.pop[ins].sum())
    pop_u = float(dem.pop[ins & ~reached].sum())
    has60 = bool(np.isfinite(dem.pop60[ins]).any())
    p60_b = float(np.nansum(dem.pop60[ins])) if has60 else np.nan
    p60_u = float(np.nansum(dem.pop60[ins & ~reached])) if has60 else np.nan
    return {
        "population": pop_b,
        "population_covered": pop_b - pop_u,
        "population_uncovered": pop_u,
        "population_share": _share(pop_b - pop_u, pop_b),
        "pop60": p60_b,
        "pop60_covered": p60_b - p60_u,
        "pop60_uncovered": p60_u,
        "pop60_share": _share(p60_b - p60_u, p60_b) if has60 else np.nan,
    }


def shares_row(bnd: _StudyAreas, bi: int, dem: _Demand, fac: _Facilities, fld, reach) -> dict:
    """Stage *shares*: area, street and demand coverage of one boundary at one threshold."""
    g = bnd.geoms[bi]
    ins = bnd.inside[bi]
    reached = fld.demand_d <= reach.limit + _TOL
    area_b = float(g.area)
    u = reach.union
    area_c = float(shapely.intersection(u, g).area) if not u.is_empty else 0.0
    net_c = pieces_length(reach.pieces, reach.piece_edge, bnd.street_sides[bi], g)
    outside_reach = np.nan
    if reach.per_facility is not None:
        out = np.flatnonzero(~bnd.fac_inside[bi][np.flatnonzero(fld.which)])
        polys = reach.per_facility[out]
        outside_reach = int(np.sum(shapely.intersects(g, polys))) if len(out) else 0
    return {
        "area_km2": area_b / 1e6,
        "area_covered_km2": area_c / 1e6,
        "area_share": _share(area_c, area_b),
        "network_extent_share": bnd.extent[bi],
        "network_km": bnd.net_len[bi] / 1e3,
        "network_covered_km": net_c / 1e3,
        "network_share": _share(net_c, bnd.net_len[bi]),
        **_demand_shares(dem, ins, reached),
        "n_facilities": int(fld.which.sum()),
        "facilities_inside": int((bnd.fac_inside[bi] & fld.mask).sum()),
        "facilities_outside_reaching": outside_reach,
        "facilities_unsnapped": int((fld.mask & ~fac.snap.ok).sum()),
    }


def crowfly_row(g, ins: np.ndarray, dem: _Demand, fld: _Field, reach, rings) -> dict:
    """Stage *crow-fly*: demand and area within straight-line reach of one boundary."""
    pop_b = float(dem.pop[ins].sum())
    has60 = bool(np.isfinite(dem.pop60[ins]).any())
    p60_b = float(np.nansum(dem.pop60[ins])) if has60 else np.nan

    def shares(radius: float) -> tuple[float, float]:
        r = ins & (fld.crow_d <= radius + _TOL)
        p = _share(float(dem.pop[r].sum()), pop_b)
        return p, (_share(float(np.nansum(dem.pop60[r])), p60_b) if has60 else np.nan)

    row = dict(
        zip(("crowfly_population_share", "crowfly_pop60_share"), shares(reach.limit), strict=True)
    )
    circ = reach.circles
    row["crowfly_area_share"] = _share(
        float(shapely.intersection(circ, g).area) if not circ.is_empty else 0.0, float(g.area)
    )
    for r in rings:
        key = f"crowfly_{float(r):g}m"
        row[f"{key}_population_share"], row[f"{key}_pop60_share"] = shares(float(r))
    return row


def blind_spot_row(bnd: _StudyAreas, bi: int, dem: _Demand, fld: _Field, reach, opts):
    """Stage *blind spots* of one boundary at one threshold: ``(BlindSpots, table columns)``."""
    ins = bnd.inside[bi]
    uncovered = ~(fld.demand_d[ins] <= reach.limit + _TOL)
    bs = blind_spots(
        bnd.cells[bi],
        dem.xy[ins],
        uncovered,
        dem.pop[ins],
        dem.pop60[ins],
        reach.union,
        opts.min_blind_area_m2,
    )
    has60 = bool(np.isfinite(dem.pop60[ins]).any())
    cols = {
        "blind_spot_population": float(bs.population.sum()),
        "blind_spot_pop60": float(np.nansum(bs.pop60)) if has60 else np.nan,
        "n_blind_spots": len(bs),
        "blind_spot_area_km2": float(shapely.area(bs.geometry).sum()) / 1e6,
    }
    return bs, cols


# --------------------------------------------------------------------------- assembly
def _frames(
    net, fac: _Facilities, dem: _Demand, bnd: _StudyAreas, rows, sa_rows, bs_rows, cols, n_jobs=1
):
    """Stage *tables*: the coverage table and the WGS84 layers of the result (polygons
    reprojected in ``n_jobs`` threads)."""
    table = pd.DataFrame(rows, columns=cols)
    table["facilities_outside_reaching"] = table["facilities_outside_reaching"].astype("Float64")
    sa = gpd.GeoDataFrame(
        pd.DataFrame(sa_rows, columns=[c for c in SERVICE_AREA_COLUMNS if c != "area_km2"]),
        geometry="geometry",
        crs=net.crs,
    )
    sa["area_km2"] = sa.geometry.area / 1e6
    sa = _to_wgs84(sa[SERVICE_AREA_COLUMNS], n_jobs)
    bs = gpd.GeoDataFrame(
        pd.DataFrame(bs_rows, columns=BLIND_SPOT_COLUMNS), geometry="geometry", crs=net.crs
    )
    bs["area_km2"] = bs.geometry.area / 1e6
    bs = _to_wgs84(bs, n_jobs)
    fac_out = gpd.GeoDataFrame(
        {
            "fid": fac.fid,
            "name": fac.name,
            "category": fac.category,
            "snapped": fac.snap.ok,
            "snap_m": fac.snap.snap_m,
        },
        geometry=fac.frame.geometry.values,
        crs=fac.frame.crs,
    ).to_crs(WGS84)
    bounds = _to_wgs84(
        gpd.GeoDataFrame(
            {"name": bnd.names, "network_extent_share": bnd.extent},
            geometry=list(bnd.geoms),
            crs=net.crs,
        )
    )
    return table, sa, bs, fac_out, bounds


def _node_frame(net: WalkNetwork, dem: _Demand, node_cols: dict) -> gpd.GeoDataFrame:
    nodes = gpd.GeoDataFrame(
        {"osmid": net.node_ids, **node_cols},
        geometry=gpd.points_from_xy(net.lonlat[:, 0], net.lonlat[:, 1]),
        crs=WGS84,
    )
    if dem.node is not None and dem.given:
        nodes["pop"] = np.bincount(dem.node, weights=dem.pop, minlength=net.n_nodes)
        if np.isfinite(dem.pop60).any():
            nodes["pop60"] = np.bincount(
                dem.node, weights=np.nan_to_num(dem.pop60), minlength=net.n_nodes
            )
    return nodes


# --------------------------------------------------------------------------- per category
@dataclass
class _CategoryJob:
    """What every category's pass reads (inherited by forked workers, never copied)."""

    net: WalkNetwork
    fac: _Facilities
    dem: _Demand
    bnd: _StudyAreas
    opts: CoverageOptions
    prof: SpeedProfile
    ths: list

    def __call__(self, cat: str) -> _CategoryOut:
        return category_pass(self, cat)


@dataclass
class _CategoryOut:
    """One category's rows of the three tables, its node columns and its stage seconds."""

    rows: list
    sa_rows: list
    bs_rows: list
    node_cols: dict
    attached: int
    timings: dict


def category_pass(job: _CategoryJob, cat: str) -> _CategoryOut:
    """Every stage of one category: the *field*, *crow-fly* distances and *service areas*, then
    per threshold and boundary the *shares*, *blind spots* and crow-fly shares."""
    net, fac, dem, bnd, opts, prof = job.net, job.fac, job.dem, job.bnd, job.opts, job.prof
    log = _Log()
    rows, sa_rows, bs_rows, node_cols, attached = [], [], [], {}, 0
    with log.stage("fields"):
        fld = category_field(net, fac, dem, cat)
        node_cols[f"t_{cat}"] = node_times(fld.node_d, prof)
        node_cols[f"d_{cat}"] = np.where(np.isfinite(fld.node_d), fld.node_d, np.nan)
    with log.stage("crowfly"):
        fld.crow_d = crowfly_distances(fac, dem, fld.mask)
    with log.stage("service_areas"):
        areas = category_service_areas(net, fac, fld, [m for _, m in job.ths], opts)
    for ti, (mi, lim) in enumerate(job.ths):
        with log.stage("service_areas"):
            reach = threshold_reach(net, fac, fld, areas, ti, mi, lim)
            sa_rows += _service_area_rows(cat, reach, areas, fac, opts.per_facility)
        for bi, bname in enumerate(bnd.names):
            head = {"boundary": bname, "category": cat, "profile": prof.name}
            with log.stage("shares"):
                row = {**head, "minutes": mi, "limit_m": lim}
                row |= shares_row(bnd, bi, dem, fac, fld, reach)
            with log.stage("blind_spots"):
                bs, cols = blind_spot_row(bnd, bi, dem, fld, reach, opts)
                attached += bs.n_attached
                bs_rows += [
                    (bname, cat, mi, lim, *vals)
                    for vals in zip(bs.population, bs.pop60, bs.n_demand, bs.geometry, strict=True)
                ]
            with log.stage("crowfly"):
                row |= crowfly_row(
                    bnd.geoms[bi], bnd.inside[bi], dem, fld, reach, opts.crowfly_rings_m
                )
            rows.append({**row, **cols, "demand_basis": dem.basis})
    return _CategoryOut(rows, sa_rows, bs_rows, node_cols, attached, log.timings)


def _run_categories(job: _CategoryJob, cats: list, log: _Log) -> list:
    """All categories' passes: in ``n_jobs`` forked processes when there are several
    categories (each builds its polygons on one thread), else here with ``n_jobs`` polygon
    threads. Stage seconds are summed over the workers; ``categories`` is the wall time."""
    n_jobs, progress = job.opts.n_jobs, job.opts.progress
    procs = n_jobs > 1 and len(cats) > 1 and can_fork()
    if procs:
        job = replace(job, opts=replace(job.opts, n_jobs=1, progress=False))
    bar = _progress_bar(cats, progress)
    t0 = time.perf_counter()
    outs = map_forked(job, cats, n_jobs if procs else 1, bar.update if bar else None)
    if bar is not None:
        bar.close()
    for o in outs:
        for k, v in o.timings.items():
            log.timings[k] = log.timings.get(k, 0.0) + v
    log.timings["categories"] = time.perf_counter() - t0
    return outs


# --------------------------------------------------------------------------- main
def compute_coverage(
    net: WalkNetwork,
    facilities: gpd.GeoDataFrame,
    boundaries=None,
    *,
    demand: gpd.GeoDataFrame | None = None,
    options: CoverageOptions | None = None,
    **overrides,
) -> CoverageResult:
    """Coverage of facilities per boundary × category × threshold, with areas and blind spots.

    A short composition of named stages, each near-linear in the network size: facilities and
    demand (:func:`facility_inputs`, :func:`demand_inputs`) → study areas
    (:func:`study_areas`, with ``network_extent_share``) → per category the *field*
    (:func:`category_field`), the *crow-fly* distances (:func:`crowfly_distances`) and the
    *service areas* (:func:`category_service_areas`) → per threshold and boundary the *shares*
    (:func:`shares_row`), *blind spots* (:func:`blind_spot_row`) and crow-fly shares
    (:func:`crowfly_row`) → the *tables* (WGS84 layers). The categories run side by side in
    ``n_jobs`` worker processes (:func:`category_pass`). ``result.timings`` holds the seconds
    per stage (per-category stages summed over the workers; ``categories`` is their wall time).

    Parameters
    ----------
    net : WalkNetwork
        Should extend beyond the boundaries (facilities just outside count).
    facilities : GeoDataFrame
        Points with a ``category`` column (the facilities schema: ``fid``, ``name`` ...).
    boundaries : GeoDataFrame or "network"
        Study areas (``name`` column). ``"network"`` chooses the network's extent explicitly
        (the convex hull of its nodes, named 研究范围 = 路网范围); ``None`` raises
        ``ValueError`` (no silent fallback: a network extract is not a street).
    demand : GeoDataFrame, optional
        Demand points with ``pop`` (and ``pop60``): at nodes (``node_idx`` column, as from
        :func:`lifecircle.geo.population.demand_from_network`) or anywhere (snapped to edges).
        Default: every node weighs 1.
    options : CoverageOptions, optional
        All other settings; single ones may also be given as keywords (``minutes=[5, 10]``).
    """
    opts = replace(options or CoverageOptions(), **overrides)
    # shapely geometries are tracked by the cycle collector: each full collection walked every
    # live polygon (~15 % of a 50k job); forked workers inherit the pause
    with paused_gc():
        return _coverage_stages(net, facilities, boundaries, demand, opts)


def _coverage_stages(net, facilities, boundaries, demand, opts) -> CoverageResult:
    """The stages of :func:`compute_coverage`, in order."""
    prof = get_profile(opts.profile)
    ths = thresholds_for(prof, opts.minutes, opts.metres)
    log = _Log()
    with log.stage("snap"):
        fac = facility_inputs(net, facilities, opts, log)
        dem = demand_inputs(net, demand, opts, log)
    # the street blocks are built in a process beside this one while the study areas are
    blocks = Beside(street_blocks, undirected_edges(net), enabled=opts.n_jobs > 1)
    with log.stage("study_areas"):
        bnd = study_areas(net, boundaries, dem, fac, opts, log)
    cats = (
        list(dict.fromkeys(fac.category))
        if opts.categories is None
        else [str(c) for c in opts.categories]
    )
    with log.stage("blocks"):
        prepare_streets(net, blocks=blocks.result())
    outs = _run_categories(_CategoryJob(net, fac, dem, bnd, opts, prof, ths), cats, log)
    if sum(o.attached for o in outs):
        log.notes.append(
            "部分未覆盖的需求点紧贴服务范围（所在小区块全在服务范围缓冲带内，或只剩不足 "
            f"{opts.min_blind_area_m2:g} 平方米的碎片），地图上不单独画出，其人口计入最近的盲区；"
            "各表的盲区人口等于未覆盖人口"
        )
    node_cols = {k: v for o in outs for k, v in o.node_cols.items()}
    with log.stage("tables"):
        ring_cols = [
            f"crowfly_{float(r):g}m_{w}_share"
            for r in opts.crowfly_rings_m
            for w in ("population", "pop60")
        ]
        table, sa, bs, fac_out, bounds = _frames(
            net, fac, dem, bnd,
            [r for o in outs for r in o.rows],
            [r for o in outs for r in o.sa_rows],
            [r for o in outs for r in o.bs_rows],
            TABLE_COLUMNS + ring_cols,
            n_jobs=opts.n_jobs,
        )  # fmt: skip
        nodes = _node_frame(net, dem, node_cols)
    fields = {c[2:]: v for c, v in node_cols.items() if c.startswith("d_")}
    return CoverageResult(
        table, sa, bs, nodes, fac_out, _fields_inf(fields), ths, prof, log.reports, log.notes,
        bounds, bnd.set_aside, log.timings,
    )  # fmt: skip


def _fields_inf(fields: dict) -> dict:
    return {k: np.where(np.isnan(v), np.inf, v) for k, v in fields.items()}


def _service_area_rows(cat, reach: _Reach, areas, fac: _Facilities, per_facility: bool) -> list:
    ti = int(np.searchsorted(areas.limits_m, reach.limit))
    rows = [(cat, reach.minutes, reach.limit, ALL_FACILITIES, ALL_FACILITIES, areas.union[ti])]
    if per_facility:
        rows += [
            (cat, reach.minutes, reach.limit, fac.fid[j], fac.name[j], p)
            for j, p in zip(areas.points, areas.polygons[:, ti], strict=True)
        ]
    return rows


def _progress_bar(cats: list, on: bool):
    if on and len(cats) > 1:
        from tqdm.auto import tqdm

        return tqdm(total=len(cats), desc="覆盖率分析", unit="类")
    return None
