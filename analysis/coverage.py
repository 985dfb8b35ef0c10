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
``blind_spot_population``, ``n_blind_spots``, ``blind_spot_area_km2``
    See below.

Blind spots (服务盲区)
----------------------
Each demand point inside the boundary owns a cell: its Voronoi cell clipped to the boundary and
to a disc of ``blind_cell_m`` (150 m) around it, so that parks, water and empty land far from any
home are not called "populated". The blind spots of a category and threshold are the union of the
cells of the *populated, unreached* demand points, minus the service area, split into connected
polygons; each carries the population (and 60+) of the unreached points whose cells it holds
(shared in proportion to the cell's area in each part). An unreached point whose whole cell lies
inside the service-area buffer adds to no blind spot.

Everything metric happens in ``net.crs``; the GeoDataFrames returned are in WGS84.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from ..geo.network import WalkNetwork
from ..geo.report import LoadReport
from ..geo.snap import SnapResult, point_distances, snap_points
from ..settings import DEFAULT_MINUTES, WGS84, SpeedProfile, get_profile, threshold_cost
from .service_areas import (
    DEFAULT_QUAD_SEGS,
    DEFAULT_WIDTH_M,
    cut_edges,
    facility_service_areas,
    reachable_intervals,
    seed_distances,
    undirected_edges,
)

__all__ = [
    "ALL_FACILITIES",
    "DEFAULT_BLIND_CELL_M",
    "DEFAULT_CROWFLY_RINGS_M",
    "DEFAULT_MIN_BLIND_AREA_M2",
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


# --------------------------------------------------------------------------- result
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
        ``n_demand``, ``area_km2``, geometry.
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
        The boundaries analysed (``name``, geometry).
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


TABLE_COLUMNS = [
    "boundary", "category", "profile", "minutes", "limit_m",
    "area_km2", "area_covered_km2", "area_share",
    "network_km", "network_covered_km", "network_share",
    "population", "population_covered", "population_uncovered", "population_share",
    "pop60", "pop60_covered", "pop60_uncovered", "pop60_share",
    "crowfly_population_share", "crowfly_pop60_share", "crowfly_area_share",
    "n_facilities", "facilities_inside", "facilities_outside_reaching", "facilities_unsnapped",
    "blind_spot_population", "blind_spot_pop60", "n_blind_spots", "blind_spot_area_km2",
    "demand_basis",
]  # fmt: skip


# --------------------------------------------------------------------------- helpers
def _boundary_frame(boundaries, net: WalkNetwork) -> tuple[list[str], np.ndarray]:
    """Boundary names and metric geometries (the network's extent when none is given)."""
    if boundaries is None:
        hull = shapely.convex_hull(shapely.multipoints(net.xy))
        return ["路网范围"], np.array([hull], dtype=object)
    if isinstance(boundaries, shapely.Geometry):
        boundaries = gpd.GeoDataFrame(geometry=[boundaries], crs=WGS84)
    if isinstance(boundaries, gpd.GeoSeries):
        boundaries = gpd.GeoDataFrame(geometry=boundaries)
    if boundaries.crs is None:
        raise ValueError("boundaries have no CRS")
    b = boundaries.to_crs(net.crs)
    geoms = shapely.make_valid(b.geometry.values)
    if "name" in b.columns:
        names = [str(n) if pd.notna(n) else f"边界{i + 1}" for i, n in enumerate(b["name"])]
    else:
        names = [f"边界{i + 1}" for i in range(len(b))]
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    return [n for n, k in zip(names, keep, strict=True) if k], np.asarray(geoms)[keep]


def _metric_xy(gdf: gpd.GeoDataFrame, crs) -> np.ndarray:
    g = gdf.to_crs(crs).geometry.values
    g = np.where(shapely.get_type_id(g) == 0, g, shapely.point_on_surface(g))
    xy = np.full((len(g), 2), np.nan)
    ok = ~(shapely.is_missing(g) | shapely.is_empty(g))
    if ok.any():
        xy[ok] = shapely.get_coordinates(g[ok])
    return xy


def _to_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Reproject polygons to WGS84, repairing the rare ring that round-off made invalid."""
    out = gdf.to_crs(WGS84)
    geoms = out.geometry.values
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        fixed = shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False)
        geoms = geoms.copy()
        geoms[bad] = fixed
        out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=WGS84))
    return out


def _share(part: float, whole: float) -> float:
    return float(part / whole) if whole > 0 else float("nan")


def _demand_cells(xy: np.ndarray, boundary, radius: float) -> np.ndarray:
    """Voronoi cells of points, clipped to the boundary and a disc of ``radius``."""
    n = len(xy)
    if n == 0:
        return np.empty(0, dtype=object)
    uniq, inv = np.unique(np.round(xy, 3), axis=0, return_inverse=True)
    inv = inv.ravel()
    if len(uniq) == 1:
        cells = np.array([boundary], dtype=object)
    else:
        vor = shapely.voronoi_polygons(shapely.multipoints(uniq), extend_to=boundary, ordered=True)
        cells = shapely.get_parts(vor)
    discs = shapely.buffer(shapely.points(uniq), radius, quad_segs=DEFAULT_QUAD_SEGS)
    cells = shapely.intersection(shapely.intersection(cells, discs), boundary)
    # points sharing a location share its cell: split the cell's role by giving each the cell
    return cells[inv]


def _blind_spots(
    cells: np.ndarray,
    unreached: np.ndarray,
    pop: np.ndarray,
    pop60: np.ndarray,
    covered_area,
    boundary,
    min_area: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Blind-spot polygons and their population: ``(geoms, pop, pop60, n_demand)``."""
    sel = np.flatnonzero(unreached & (pop > 0))
    empty = (np.empty(0, dtype=object), np.empty(0), np.empty(0), np.empty(0, dtype=np.int64))
    if len(sel) == 0:
        return empty
    c = cells[sel]
    ok = ~(shapely.is_missing(c) | shapely.is_empty(c))
    sel, c = sel[ok], c[ok]
    if len(sel) == 0:
        return empty
    region = shapely.union_all(c)
    if covered_area is not None and not covered_area.is_empty:
        local = shapely.intersection(covered_area, shapely.buffer(boundary, 1.0))
        region = shapely.difference(region, local)
    parts = shapely.get_parts(region)
    parts = parts[shapely.get_type_id(parts) == 3]
    parts = parts[shapely.area(parts) >= max(min_area, 1e-6)]
    if len(parts) == 0:
        return empty
    ci, pj = shapely.STRtree(parts).query(c, predicate="intersects")
    inter = shapely.area(shapely.intersection(c[ci], parts[pj]))
    keep = inter > 0
    ci, pj, inter = ci[keep], pj[keep], inter[keep]
    tot = np.bincount(ci, weights=inter, minlength=len(c))
    w = inter / np.where(tot[ci] > 0, tot[ci], 1.0)
    p_pop = np.bincount(pj, weights=pop[sel][ci] * w, minlength=len(parts))
    p60 = pop60[sel][ci] * w
    p_pop60 = np.bincount(pj, weights=np.nan_to_num(p60), minlength=len(parts))
    if np.isnan(pop60[sel]).all():
        p_pop60 = np.full(len(parts), np.nan)
    n_dem = np.bincount(pj, minlength=len(parts))
    return parts, p_pop, p_pop60, n_dem


# --------------------------------------------------------------------------- main
def compute_coverage(
    net: WalkNetwork,
    facilities: gpd.GeoDataFrame,
    boundaries=None,
    *,
    profile: str | SpeedProfile = "elderly",
    minutes=None,
    metres=None,
    demand: gpd.GeoDataFrame | None = None,
    categories=None,
    width_m: float = DEFAULT_WIDTH_M,
    max_snap_m: float = 250.0,
    crowfly_rings_m=DEFAULT_CROWFLY_RINGS_M,
    per_facility: bool = True,
    blind_cell_m: float = DEFAULT_BLIND_CELL_M,
    min_blind_area_m2: float = DEFAULT_MIN_BLIND_AREA_M2,
    quad_segs: int = DEFAULT_QUAD_SEGS,
    population_known: bool | None = None,
    n_jobs: int = 1,
    progress: bool = False,
) -> CoverageResult:
    """Coverage of facilities per boundary × category × threshold, with areas and blind spots.

    Parameters
    ----------
    net : WalkNetwork
        Should extend beyond the boundaries (facilities just outside count).
    facilities : GeoDataFrame
        Points with a ``category`` column (the facilities schema: ``fid``, ``name`` ...).
    boundaries : GeoDataFrame, optional
        Study areas (``name`` column); default: the network's extent.
    profile : str or SpeedProfile
        ``elderly`` (0.9 m/s), ``adult`` (1.2 m/s) or ``gb50180`` (distances).
    minutes, metres : sequence of float, optional
        Thresholds (default 5/10/15 minutes); see :func:`thresholds_for`.
    demand : GeoDataFrame, optional
        Demand points with ``pop`` (and ``pop60``): at nodes (``node_idx`` column, as from
        :func:`lifecircle.geo.population.demand_from_network`) or anywhere (snapped to edges).
        Default: every node weighs 1.
    categories : sequence of str, optional
        Categories to analyse (default: those present). A category without facilities gets
        zero coverage.
    width_m : float
        Service-area buffer width (see :mod:`lifecircle.analysis.service_areas`).
    max_snap_m : float
        Snap limit for facilities and demand points.
    crowfly_rings_m : sequence of float
        Extra straight-line rings (``crowfly_<r>m_population_share`` columns).
    per_facility : bool
        Also build one service area per facility (``fid`` rows of ``service_areas``).
    blind_cell_m : float
        Radius bounding each demand point's blind-spot cell.
    min_blind_area_m2 : float
        Blind-spot fragments smaller than this (slivers left by the buffer) are dropped.
    quad_segs : int
        Roundness of the service-area buffers (segments per quarter circle).
    population_known : bool, optional
        Whether ``pop`` is population (``True``) or a node weight; default: guessed (all ones
        means nodes).
    n_jobs : int
        Threads for polygon building.
    progress : bool
        tqdm progress bars.
    """
    prof = get_profile(profile)
    ths = thresholds_for(prof, minutes, metres)
    limits = [m for _, m in ths]
    notes: list[str] = []
    reports: list[LoadReport] = []

    # ---- facilities
    if "category" not in facilities.columns:
        raise ValueError("facilities have no 'category' column")
    if facilities.crs is None:
        raise ValueError("facilities have no CRS")
    fac = facilities.reset_index(drop=True)
    fcat = fac["category"].astype(str).to_numpy()
    if "fid" in fac.columns:
        fids = fac["fid"].astype(str).to_numpy()
    else:
        fids = np.array([f"f{i + 1}" for i in range(len(fac))], dtype=object)
    fnames = (
        fac["name"].astype(object).where(fac["name"].notna(), None).to_numpy()
        if "name" in fac.columns
        else np.full(len(fac), None, dtype=object)
    )
    cats = list(dict.fromkeys(fcat)) if categories is None else [str(c) for c in categories]
    snap = snap_points(net, fac, max_snap_m=max_snap_m, label=_label(fac, "facilities"))
    reports.append(snap.report)
    if snap.report.n_rejected:
        notes.append(
            f"{snap.report.n_rejected} 个设施离步行路网超过 {max_snap_m:.0f} 米或缺坐标，"
            "未参与计算（见报告）"
        )
    fxy = _metric_xy(fac, net.crs)

    # ---- demand
    if demand is None:
        dxy = net.xy
        dnode = np.arange(net.n_nodes)
        dpop = np.ones(net.n_nodes)
        dpop60 = np.full(net.n_nodes, np.nan)
        dsnap = None
        known = False if population_known is None else population_known
    else:
        if "pop" not in demand.columns:
            raise ValueError("demand has no 'pop' column")
        dpop = pd.to_numeric(demand["pop"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
        dpop60 = (
            pd.to_numeric(demand["pop60"], errors="coerce").to_numpy(dtype=float)
            if "pop60" in demand.columns
            else np.full(len(demand), np.nan)
        )
        if "node_idx" in demand.columns:
            dnode = demand["node_idx"].to_numpy(dtype=np.int64)
            dxy = net.xy[dnode]
            dsnap = None
        else:
            dnode = None
            dxy = _metric_xy(demand, net.crs)
            dsnap = snap_points(
                net, demand, max_snap_m=max_snap_m, label=_label(demand, "demand points")
            )
            reports.append(dsnap.report)
            if dsnap.report.n_rejected:
                notes.append(
                    f"{dsnap.report.n_rejected} 个需求点离步行路网超过 "
                    f"{max_snap_m:.0f} 米，计为不可达"
                )
        known = (not np.all(dpop == 1.0)) if population_known is None else population_known
    basis = "population" if known else "nodes"
    if not known:
        notes.append("未提供人口数据：每个路网节点权重为 1，人口列为节点数")
    dvalid = np.isfinite(dxy).all(axis=1)

    # ---- boundaries
    bnames, bgeoms = _boundary_frame(boundaries, net)
    if len(bgeoms) == 0:
        raise ValueError("no usable boundary polygon")
    for g in bgeoms:
        shapely.prepare(g)
    ue = undirected_edges(net)
    etree = ue._buffers.get("tree") or shapely.STRtree(ue.geometry)
    net_len = []
    for g in bgeoms:
        ei = etree.query(g, predicate="intersects")
        net_len.append(float(shapely.length(shapely.intersection(ue.geometry[ei], g)).sum()))
    # a boundary the network does not reach cannot be analysed: set it aside, by name
    off = [i for i, length in enumerate(net_len) if length <= 0.0]
    if off:
        if len(off) == len(bnames):
            raise ValueError(
                "no boundary contains any street of the walking network: " + ", ".join(bnames[:10])
            )
        names_off = [bnames[i] for i in off]
        notes.append(
            f"{len(off)} 个边界内没有步行路网（不在路网范围内），未计算："
            + "、".join(names_off[:20])
            + (" …" if len(off) > 20 else "")
        )
        keep = np.array([length > 0.0 for length in net_len])
        bnames = [n for n, k in zip(bnames, keep, strict=True) if k]
        bgeoms = bgeoms[keep]
        net_len = [length for length, k in zip(net_len, keep, strict=True) if k]
    inside = [
        dvalid & shapely.intersects_xy(g, np.nan_to_num(dxy[:, 0]), np.nan_to_num(dxy[:, 1]))
        for g in bgeoms
    ]
    cells = [
        _demand_cells(dxy[ins], g, blind_cell_m) for ins, g in zip(inside, bgeoms, strict=True)
    ]
    fvalid = np.isfinite(fxy).all(axis=1)
    fin = [
        fvalid & shapely.intersects_xy(g, np.nan_to_num(fxy[:, 0]), np.nan_to_num(fxy[:, 1]))
        for g in bgeoms
    ]

    rows, sa_rows, bs_rows = [], [], []
    fields: dict[str, np.ndarray] = {}
    node_cols: dict[str, np.ndarray] = {}
    cat_iter = cats
    if progress and len(cats) > 1:
        from tqdm.auto import tqdm

        cat_iter = tqdm(cats, desc="覆盖率分析", unit="类")
    for cat in cat_iter:
        mask = fcat == cat
        which = mask & snap.ok
        field_d = seed_distances(net, snap, which=which)
        fields[cat] = field_d
        node_cols[f"t_{cat}"] = node_times(field_d, prof)
        node_cols[f"d_{cat}"] = np.where(np.isfinite(field_d), field_d, np.nan)
        areas = facility_service_areas(
            net,
            snap,
            limits,
            width_m=width_m,
            points=fac,
            which=mask,
            quad_segs=quad_segs,
            n_jobs=n_jobs,
            per_facility=per_facility,
            progress=progress,
        )
        if dsnap is None:
            ddist = field_d[dnode]
        else:
            ddist = demand_distances(net, field_d, dsnap, snap, which=which)
        ddist = np.where(np.isnan(ddist), np.inf, ddist)
        cat_valid = mask & np.isfinite(fxy).all(axis=1)
        if cat_valid.any():
            cf = cKDTree(fxy[cat_valid]).query(np.nan_to_num(dxy, nan=1e12))[0]
            cf = np.where(dvalid, cf, np.inf)
        else:
            cf = np.full(len(dxy), np.inf)

        for ti, (mi, lim) in enumerate(ths):
            union = areas.union[ti]
            # reached street pieces (for network shares)
            iv = reachable_intervals(net, field_d, lim, snap=snap, which=which)
            full = iv["full"].to_numpy()
            e = iv["edge"].to_numpy()
            pieces = np.concatenate(
                [
                    ue.geometry[e[full]],
                    cut_edges(
                        ue, e[~full], iv["start_m"].to_numpy()[~full], iv["end_m"].to_numpy()[~full]
                    ),
                ]
            )
            ptree = shapely.STRtree(pieces) if len(pieces) else None
            circles = (
                shapely.union_all(shapely.buffer(shapely.points(fxy[cat_valid]), lim, quad_segs=32))
                if cat_valid.any()
                else shapely.Polygon()
            )
            # service areas
            sa_rows.append((cat, mi, lim, ALL_FACILITIES, ALL_FACILITIES, union))
            if per_facility:
                for j, p in zip(areas.points, areas.polygons[:, ti], strict=True):
                    sa_rows.append((cat, mi, lim, fids[j], fnames[j], p))
            reach_poly = areas.polygons[:, ti] if per_facility else None
            for bi, (bname, g) in enumerate(zip(bnames, bgeoms, strict=True)):
                ins = inside[bi]
                reached = ins & (ddist <= lim + _TOL)
                pop_b = float(dpop[ins].sum())
                pop_c = float(dpop[reached].sum())
                p60_b = float(np.nansum(dpop60[ins])) if np.isfinite(dpop60[ins]).any() else np.nan
                p60_c = float(np.nansum(dpop60[reached])) if np.isfinite(p60_b) else np.nan
                cfr = ins & (cf <= lim + _TOL)
                area_b = float(g.area)
                area_c = float(shapely.intersection(union, g).area) if not union.is_empty else 0.0
                if ptree is not None:
                    pi = ptree.query(g, predicate="intersects")
                    net_c = float(shapely.length(shapely.intersection(pieces[pi], g)).sum())
                else:
                    net_c = 0.0
                f_in = fin[bi] & mask
                outside_reach = np.nan
                if reach_poly is not None:
                    out_idx = np.flatnonzero(~fin[bi][areas.points])
                    hits = shapely.intersects(reach_poly[out_idx], g) if len(out_idx) else []
                    outside_reach = int(np.sum(hits))
                # blind spots
                bgeo, bpop, bp60, bn = _blind_spots(
                    cells[bi],
                    ~(ddist[ins] <= lim + _TOL),
                    dpop[ins],
                    dpop60[ins],
                    union,
                    g,
                    min_blind_area_m2,
                )
                for geo_, pp, p6, nn in zip(bgeo, bpop, bp60, bn, strict=True):
                    bs_rows.append((bname, cat, mi, lim, pp, p6, int(nn), geo_))
                row = {
                    "boundary": bname, "category": cat, "profile": prof.name,
                    "minutes": mi, "limit_m": lim,
                    "area_km2": area_b / 1e6, "area_covered_km2": area_c / 1e6,
                    "area_share": _share(area_c, area_b),
                    "network_km": net_len[bi] / 1e3, "network_covered_km": net_c / 1e3,
                    "network_share": _share(net_c, net_len[bi]),
                    "population": pop_b, "population_covered": pop_c,
                    "population_uncovered": pop_b - pop_c,
                    "population_share": _share(pop_c, pop_b),
                    "pop60": p60_b, "pop60_covered": p60_c,
                    "pop60_uncovered": p60_b - p60_c if np.isfinite(p60_b) else np.nan,
                    "pop60_share": _share(p60_c, p60_b) if np.isfinite(p60_b) else np.nan,
                    "crowfly_population_share": _share(float(dpop[cfr].sum()), pop_b),
                    "crowfly_pop60_share": (_share(float(np.nansum(dpop60[cfr])), p60_b)
                                            if np.isfinite(p60_b) else np.nan),
                    "crowfly_area_share": _share(float(shapely.intersection(circles, g).area),
                                                 area_b),
                    "n_facilities": int(which.sum()),
                    "facilities_inside": int(f_in.sum()),
                    "facilities_outside_reaching": outside_reach,
                    "facilities_unsnapped": int((mask & ~snap.ok).sum()),
                    "blind_spot_population": float(bpop.sum()),
                    "blind_spot_pop60": float(np.nansum(bp60)) if np.isfinite(p60_b) else np.nan,
                    "n_blind_spots": len(bgeo),
                    "blind_spot_area_km2": float(shapely.area(bgeo).sum()) / 1e6,
                    "demand_basis": basis,
                }  # fmt: skip
                for r in crowfly_rings_m:
                    rr = ins & (cf <= float(r) + _TOL)
                    key = f"crowfly_{float(r):g}m"
                    row[f"{key}_population_share"] = _share(float(dpop[rr].sum()), pop_b)
                    row[f"{key}_pop60_share"] = (
                        _share(float(np.nansum(dpop60[rr])), p60_b)
                        if np.isfinite(p60_b)
                        else np.nan
                    )
                rows.append(row)

    # ---- assemble outputs
    ring_cols = [
        f"crowfly_{float(r):g}m_{w}_share" for r in crowfly_rings_m for w in ("population", "pop60")
    ]
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS + ring_cols)
    table["facilities_outside_reaching"] = table["facilities_outside_reaching"].astype("Float64")

    sa = gpd.GeoDataFrame(
        pd.DataFrame(
            sa_rows, columns=["category", "minutes", "limit_m", "fid", "name", "geometry"]
        ),
        geometry="geometry",
        crs=net.crs,
    )
    sa["area_km2"] = sa.geometry.area / 1e6
    sa = _to_wgs84(sa[["category", "minutes", "limit_m", "fid", "name", "area_km2", "geometry"]])

    bs = gpd.GeoDataFrame(
        pd.DataFrame(
            bs_rows,
            columns=[
                "boundary",
                "category",
                "minutes",
                "limit_m",
                "population",
                "pop60",
                "n_demand",
                "geometry",
            ],
        ),
        geometry="geometry",
        crs=net.crs,
    )
    bs["area_km2"] = bs.geometry.area / 1e6
    bs = _to_wgs84(bs)

    nodes = gpd.GeoDataFrame(
        {"osmid": net.node_ids, **node_cols},
        geometry=gpd.points_from_xy(net.lonlat[:, 0], net.lonlat[:, 1]),
        crs=WGS84,
    )
    if dnode is not None and demand is not None:
        pop_n = np.zeros(net.n_nodes)
        np.add.at(pop_n, dnode, dpop)
        nodes["pop"] = pop_n
        if np.isfinite(dpop60).any():
            p60_n = np.zeros(net.n_nodes)
            np.add.at(p60_n, dnode, np.nan_to_num(dpop60))
            nodes["pop60"] = p60_n

    fac_out = gpd.GeoDataFrame(
        {"fid": fids, "name": fnames, "category": fcat, "snapped": snap.ok, "snap_m": snap.snap_m},
        geometry=fac.geometry.values,
        crs=fac.crs,
    ).to_crs(WGS84)
    bounds = _to_wgs84(gpd.GeoDataFrame({"name": bnames}, geometry=list(bgeoms), crs=net.crs))
    return CoverageResult(table, sa, bs, nodes, fac_out, fields, ths, prof, reports, notes, bounds)
