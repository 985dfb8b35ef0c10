"""Siting new facilities (为老服务站): demand, candidates, sparse coverage sets, what-if, optimum.

Workflow::

    demand = demand_points(net, boundary, population=pop, share60=0.306)
    cands = generate_candidates(net, boundary, spacing_m=150)      # or read_candidates(path, ...)
    prob = SitingProblem.build(net, demand, candidates=cands, existing=facilities,
                               minutes=(5, 10, 15), profile="elderly")
    wi = prob.what_if([(121.40, 31.25)], coords="gcj02")           # gains, new areas, ranking
    sel = prob.solve("mclp", p=3, minutes=10, weight="pop60")      # exact, with gap

Distances
---------
Sites (existing facilities, candidates, proposed sites) and point demand are snapped to their
nearest walkable edge (:func:`lifecircle.geo.snap.snap_points`); the walk from a site is its snap
distance plus the walk along its edge to either end. :func:`site_node_distances` runs *bounded*
Dijkstra searches (``scipy.sparse.csgraph.dijkstra`` with ``limit=``) from every site at once on
the street graph augmented with one virtual node per site, in chunks so that memory stays bounded
(``chunk_bytes``); only pairs within the largest threshold are kept, as a sparse demand × site
matrix. No all-pairs matrix is ever formed. Demand given as network nodes is reached exactly; for
demand points the walk continues along the point's edge (both ends tried) plus its snap distance,
and a site and a point on the same street segment also walk straight along it.

Shares and gains
----------------
Coverage shares (and gains in percentage points) are shares of the demand *inside* the boundary.
Demand just outside the boundary (``outside_m``) is served and counted by the models and in the
people gains, so that a site on the edge of a 街道 gets credit for its neighbours too.

The models themselves live in :mod:`lifecircle.analysis.siting_models`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from ..geo.crs import points_to_wgs84, require_coords, wgs84_to_gcj02
from ..geo.network import WalkNetwork
from ..geo.report import LoadReport
from ..geo.snap import multi_source_distances, snap_points
from ..settings import DEFAULT_MINUTES, WGS84, SpeedProfile, get_profile, threshold_cost
from .siting_models import (
    LSCP,
    MCLP,
    Greedy,
    PMedian,
    SitingResult,
    marginal_gains,
)

__all__ = [
    "MODELS",
    "SitingProblem",
    "SiteSelection",
    "WhatIf",
    "OptimalSites",
    "optimal_sites",
    "demand_points",
    "generate_candidates",
    "read_candidates",
    "relabel_gains",
    "site_kind",
    "sites_from_lonlat",
    "parse_lonlat",
    "site_node_distances",
    "reachable_polygon",
    "SitingResult",
    "MCLP",
    "LSCP",
    "PMedian",
    "Greedy",
]

#: Model names accepted by :meth:`SitingProblem.solve`.
MODELS = ("mclp", "lscp", "pmedian", "greedy", "greedy-pmedian")

#: Chinese labels of the weights, for summaries.
WEIGHT_LABELS = {"pop": "常住人口", "pop60": "60岁以上老年人口"}


# ------------------------------------------------------------------------------ boundaries
def _union_geometry(area, crs) -> shapely.Geometry | None:
    """A boundary (GeoDataFrame/GeoSeries in any CRS, or a WGS84 geometry) as one geometry."""
    if area is None:
        return None
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        if area.crs is None:
            raise ValueError("the boundary has no CRS")
        geoms = area.to_crs(crs).geometry.values
        return shapely.union_all(shapely.make_valid(geoms))
    if isinstance(area, shapely.Geometry):
        return gpd.GeoSeries([area], crs=WGS84).to_crs(crs).iloc[0]
    raise TypeError(f"cannot use {type(area).__name__} as a boundary")


# ---------------------------------------------------------------------------------- demand
def demand_points(
    net: WalkNetwork,
    boundary=None,
    population=None,
    share60: float | None = None,
    outside_m: float = 0.0,
) -> gpd.GeoDataFrame:
    """Demand at the network nodes of a boundary, weighted by population and 60+ population.

    Uses :func:`lifecircle.geo.population.demand_from_network` when it is available; without a
    population every node weighs 1 (``pop60 = share60`` or 1).

    Parameters
    ----------
    net : WalkNetwork
    boundary : GeoDataFrame, GeoSeries or shapely geometry (WGS84), optional
        Default: every node of the network.
    population : optional
        Population source for ``demand_from_network`` (polygons with counts or a raster).
    share60 : float, optional
        Share of residents aged 60+ (e.g. the district's census share). Without it ``pop60``
        equals ``pop`` (every resident counts).
    outside_m : float
        Also take nodes up to this far (straight line, metres) outside the boundary; they get
        ``inside = False``.

    Returns
    -------
    GeoDataFrame (EPSG:4326)
        ``node_idx``, ``osmid``, ``pop``, ``pop60``, ``inside``, geometry (node points).
    """
    crs = net.crs
    geom = _union_geometry(boundary, crs)
    area = geom.buffer(outside_m) if (geom is not None and outside_m > 0) else geom
    try:
        from ..geo.population import demand_from_network
    except ImportError:
        demand_from_network = None
    if demand_from_network is not None:
        gdf = demand_from_network(
            net,
            population=population,
            boundary=None if geom is None else gpd.GeoSeries([geom], crs=crs),
            share60=share60,
            include_outside_m=outside_m if geom is not None else 0.0,
        )
        gdf = gdf.to_crs(WGS84) if gdf.crs is not None else gdf.set_crs(WGS84)
        if share60 is None:  # no age share known: the 60+ weight falls back to everybody
            gdf["pop60"] = gdf["pop"].to_numpy(dtype=float)
    else:
        if population is not None:
            raise ImportError(
                "lifecircle.geo.population is not available: cannot distribute "
                "a population to the nodes"
            )
        xy = net.xy
        mask = np.ones(net.n_nodes, dtype=bool)
        if area is not None:
            mask = shapely.contains_xy(area, xy[:, 0], xy[:, 1]) | shapely.intersects_xy(
                area, xy[:, 0], xy[:, 1]
            )
        idx = np.flatnonzero(mask)
        pop = np.ones(len(idx))
        gdf = gpd.GeoDataFrame(
            {
                "node_idx": idx,
                "osmid": net.node_ids[idx],
                "pop": pop,
                "pop60": pop * (share60 if share60 is not None else 1.0),
            },
            geometry=gpd.points_from_xy(net.lonlat[idx, 0], net.lonlat[idx, 1]),
            crs=WGS84,
        )
    if geom is not None:
        p = gdf.to_crs(crs).geometry
        x, y = shapely.get_x(p.values), shapely.get_y(p.values)
        inside = shapely.contains_xy(geom, x, y) | shapely.intersects_xy(geom, x, y)
    else:
        inside = np.ones(len(gdf), dtype=bool)
    gdf = gdf.copy()
    gdf["inside"] = inside
    return gdf.reset_index(drop=True)


# ------------------------------------------------------------------------------ candidates
def _node_degree(net: WalkNetwork) -> np.ndarray:
    A = net.csr()
    U = ((A + A.T) > 0).astype(np.int8)
    return np.diff(U.tocsr().indptr)


def generate_candidates(
    net: WalkNetwork,
    boundary=None,
    spacing_m: float = 150.0,
    parcels=None,
    parcel_buffer_m: float = 50.0,
) -> gpd.GeoDataFrame:
    """Candidate sites at network nodes inside a boundary, at least ``spacing_m`` apart.

    Greedy thinning in the metric CRS: nodes are taken in order of street degree (junctions
    first, then node order) and a node is kept when no kept node lies within ``spacing_m``.

    Parameters
    ----------
    net : WalkNetwork
    boundary : GeoDataFrame, GeoSeries or WGS84 geometry, optional
    spacing_m : float
        Minimum straight-line distance between candidates.
    parcels : GeoDataFrame, GeoSeries or WGS84 geometry, optional
        Land that may host a station (e.g. 可利用地块). Street nodes lie between parcels, so
        nodes within ``parcel_buffer_m`` of a parcel qualify.
    parcel_buffer_m : float

    Returns
    -------
    GeoDataFrame (EPSG:4326)
        ``site_id`` (``node:<osmid>``), ``name`` (候选点k), ``node_idx``, ``osmid``, geometry.
    """
    from scipy.spatial import cKDTree

    xy = net.xy
    mask = np.ones(net.n_nodes, dtype=bool)
    geom = _union_geometry(boundary, net.crs)
    if geom is not None:
        mask &= shapely.contains_xy(geom, xy[:, 0], xy[:, 1]) | shapely.intersects_xy(
            geom, xy[:, 0], xy[:, 1]
        )
    pg = _union_geometry(parcels, net.crs)
    if pg is not None:
        pg = pg.buffer(parcel_buffer_m) if parcel_buffer_m > 0 else pg
        mask &= shapely.contains_xy(pg, xy[:, 0], xy[:, 1]) | shapely.intersects_xy(
            pg, xy[:, 0], xy[:, 1]
        )
    idx = np.flatnonzero(mask)
    if len(idx) and spacing_m > 0:
        deg = _node_degree(net)[idx]
        order = np.lexsort((idx, -deg))
        idx = idx[order]
        tree = cKDTree(xy[idx])
        pairs = tree.query_pairs(spacing_m, output_type="ndarray")
        nbr = sparse.csr_matrix(
            (
                np.ones(len(pairs) * 2, dtype=bool),
                (
                    np.concatenate([pairs[:, 0], pairs[:, 1]]),
                    np.concatenate([pairs[:, 1], pairs[:, 0]]),
                ),
            ),
            shape=(len(idx), len(idx)),
        )
        blocked = np.zeros(len(idx), dtype=bool)
        keep = np.zeros(len(idx), dtype=bool)
        ptr, ind = nbr.indptr, nbr.indices
        for k in range(len(idx)):  # order matters: a sequential pass over the node list
            if not blocked[k]:
                keep[k] = True
                blocked[ind[ptr[k] : ptr[k + 1]]] = True
        idx = np.sort(idx[keep])
    osm = net.node_ids[idx]
    return gpd.GeoDataFrame(
        {
            "site_id": [f"node:{o}" for o in osm],
            "name": [f"候选点{k + 1}" for k in range(len(idx))],
            "node_idx": idx,
            "osmid": osm,
        },
        geometry=gpd.points_from_xy(net.lonlat[idx, 0], net.lonlat[idx, 1]),
        crs=WGS84,
    )


def read_candidates(
    path,
    coords,
    x: str | None = None,
    y: str | None = None,
    name_col: str | None = None,
    sheet=None,
    area=False,
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Candidate sites from a table or vector file with a declared coordinate system.

    ``coords`` is required (``None`` raises ``ValueError`` listing the choices).

    Reads with :func:`lifecircle.geo.facilities.load_facilities` (encodings, column detection,
    GCJ-02/BD-09 conversion, row accounting), so GCJ-02 points picked on Amap work.

    Returns
    -------
    (GeoDataFrame, LoadReport)
        ``site_id``, ``name``, ``src_row``, ``src_x``, ``src_y``, geometry (EPSG:4326).
    """
    from ..geo.facilities import load_facilities

    require_coords(coords, str(path), "--candidate-coords")
    gdf, report = load_facilities(
        path, coords, x=x, y=y, name_col=name_col, category="other", sheet=sheet, area=area
    )
    gdf = gdf.copy()
    gdf["site_id"] = gdf["fid"].astype(str)
    names = gdf["name"].astype(object)
    fallback = pd.Series([f"候选点{r}" for r in gdf["src_row"]], index=gdf.index)
    gdf["name"] = names.where(names.notna() & (names.astype(str).str.strip() != ""), fallback)
    keep = ["site_id", "name", "src_row", "src_x", "src_y", "geometry"]
    return gdf[[c for c in keep if c in gdf.columns]].reset_index(drop=True), report


def sites_from_lonlat(
    points: Sequence[Sequence[float]],
    coords,
    names: Sequence[str] | None = None,
    prefix: str = "新增站点",
) -> gpd.GeoDataFrame:
    """Proposed sites from (lon, lat) pairs in a declared system (``gcj02`` for Amap picks).

    ``coords`` has no default: ``None`` raises ``ValueError`` listing the choices.
    """
    coords = require_coords(coords, "拟建站点坐标 (proposed sites)", "coords= / --add-coords")
    arr = np.asarray(points, dtype=float).reshape(-1, 2)
    if not np.all(np.isfinite(arr)):
        raise ValueError("proposed site coordinates must be finite numbers")
    n = len(arr)
    names = list(names) if names is not None else [f"{prefix}{k + 1}" for k in range(n)]
    gdf = points_to_wgs84(arr[:, 0], arr[:, 1], coords, name=names, src_row=np.arange(1, n + 1))
    gdf.insert(0, "site_id", [f"add:{k + 1}" for k in range(n)])
    return gdf


# ------------------------------------------------------------------------ bounded searches
def site_node_distances(
    A: sparse.csr_matrix,
    seed_site: np.ndarray,
    seed_node: np.ndarray,
    seed_cost: np.ndarray,
    n_sites: int,
    limit: float,
    target_nodes: np.ndarray | None = None,
    chunk_bytes: float = 64e6,
    progress: bool = False,
) -> sparse.csr_matrix:
    """Walking distance from many sites to nodes, within ``limit``, as a sparse matrix.

    Every site becomes a virtual node joined to its seed nodes with the seed cost (snap + walk
    along the edge); bounded Dijkstra runs from the virtual nodes of a chunk of sites at a time.

    Parameters
    ----------
    A : csr_matrix (n, n)
        Street graph (metres).
    seed_site, seed_node, seed_cost : arrays
        One entry per (site, start node) pair.
    n_sites : int
    limit : float
        Search radius in metres; farther pairs are not stored.
    target_nodes : array, optional
        Nodes to keep (rows of the result); default all nodes.
    chunk_bytes : float
        Memory bound of one chunk's dense distance block.

    Returns
    -------
    csr_matrix (len(target_nodes), n_sites)
        Distances in metres (every stored entry ``>= 1e-9``; missing = beyond ``limit``).
    """
    from tqdm.auto import tqdm

    n = A.shape[0]
    targets = np.arange(n) if target_nodes is None else np.asarray(target_nodes, dtype=np.int64)
    if n_sites == 0 or len(seed_site) == 0:
        return sparse.csr_matrix((len(targets), n_sites))
    cost = np.maximum(np.asarray(seed_cost, dtype=float), 1e-9)
    site = np.asarray(seed_site, dtype=np.int64)
    node = np.asarray(seed_node, dtype=np.int64)
    order = np.lexsort((cost, node, site))
    site, node, cost = site[order], node[order], cost[order]
    first = np.ones(len(site), dtype=bool)
    first[1:] = (site[1:] != site[:-1]) | (node[1:] != node[:-1])
    S = sparse.csr_matrix((cost[first], (site[first], node[first])), shape=(n_sites, n))
    big = sparse.bmat(
        [[A, sparse.csr_matrix((n, n_sites))], [S, sparse.csr_matrix((n_sites, n_sites))]],
        format="csr",
    )
    # rows of the result: position of each target node
    chunk = int(max(1, min(n_sites, chunk_bytes // (8 * (n + n_sites)))))
    rows, cols, vals = [], [], []
    starts = range(0, n_sites, chunk)
    for s0 in tqdm(starts, desc="候选点步行搜索", unit="批", disable=not progress, leave=False):
        ids = np.arange(s0, min(n_sites, s0 + chunk))
        D = csgraph.dijkstra(big, directed=True, indices=n + ids, limit=limit)
        sub = D[:, targets]
        r, c = np.nonzero(sub <= limit)
        rows.append(c)
        cols.append(ids[r])
        vals.append(sub[r, c])
    rows = np.concatenate(rows)
    cols = np.concatenate(cols)
    vals = np.concatenate(vals)
    M = sparse.csr_matrix((vals, (rows, cols)), shape=(len(targets), n_sites))
    M.sort_indices()
    return M


@dataclass
class _Snap:
    """Where points meet the network (arrays aligned with the points)."""

    ok: np.ndarray
    u: np.ndarray
    v: np.ndarray
    to_u: np.ndarray
    to_v: np.ndarray
    snap: np.ndarray
    edge_len: np.ndarray
    edge: np.ndarray  # row of net.edges (-1: the point is a network node)

    _FIELDS = ("ok", "u", "v", "to_u", "to_v", "snap", "edge_len", "edge")

    @classmethod
    def empty(cls) -> _Snap:
        z = np.zeros(0)
        zi = np.zeros(0, dtype=np.int64)
        return cls(np.zeros(0, dtype=bool), zi, zi, z, z, z, z, zi)

    @classmethod
    def from_result(cls, net: WalkNetwork, res) -> _Snap:
        elen = np.full(len(res.ok), np.nan)
        sel = np.flatnonzero(res.ok)
        elen[sel] = net.edges["length"].to_numpy()[res.edge[sel]]
        return cls(
            res.ok.copy(),
            res.u_idx.copy(),
            res.v_idx.copy(),
            res.to_u_m.copy(),
            res.to_v_m.copy(),
            res.snap_m.copy(),
            elen,
            res.edge.copy(),
        )

    @classmethod
    def at_nodes(cls, node_idx: np.ndarray) -> _Snap:
        node_idx = np.asarray(node_idx, dtype=np.int64)
        z = np.zeros(len(node_idx))
        return cls(
            np.ones(len(node_idx), dtype=bool),
            node_idx,
            node_idx,
            z,
            z,
            z,
            z,
            np.full(len(node_idx), -1, dtype=np.int64),
        )

    def concat(self, other: _Snap) -> _Snap:
        return _Snap(*(np.concatenate([getattr(self, f), getattr(other, f)]) for f in self._FIELDS))

    def snap_result(self):
        """As a :class:`lifecircle.geo.snap.SnapResult`; network-node points count as not
        snapped to an edge (their reach is all in the node field)."""
        from ..geo.snap import SnapResult

        ok = self.ok & (self.edge >= 0)
        return SnapResult(
            ok, self.edge, self.u, self.v, self.snap, self.to_u, self.to_v, LoadReport("sites")
        )

    def seeds(self, which: np.ndarray | None = None):
        idx = np.flatnonzero(self.ok) if which is None else np.asarray(which, dtype=np.int64)
        idx = idx[self.ok[idx]]
        site = np.concatenate([idx, idx])
        node = np.concatenate([self.u[idx], self.v[idx]])
        cost = np.concatenate([self.snap[idx] + self.to_u[idx], self.snap[idx] + self.to_v[idx]])
        return site, node, cost

    def edge_key(self) -> pd.DataFrame:
        """Undirected street segment of each point and the position along it from its lower
        end node (to match a site and a point on the same segment)."""
        lo = np.minimum(self.u, self.v)
        hi = np.maximum(self.u, self.v)
        pos = np.where(self.u <= self.v, self.to_u, self.to_v)
        return pd.DataFrame(
            {
                "lo": lo,
                "hi": hi,
                "len": np.round(self.edge_len, 2),
                "pos": pos,
                "snap": self.snap,
                "ok": self.ok,
            }
        )


def _snap_sites(net: WalkNetwork, gdf: gpd.GeoDataFrame, max_snap_m: float, label: str):
    """Snap points; points with a ``node_idx`` (network nodes) sit on their node exactly."""
    if len(gdf) == 0:
        return _Snap.empty(), LoadReport(label)
    if "node_idx" in gdf.columns:
        ni = pd.to_numeric(gdf["node_idx"], errors="coerce").to_numpy()
        if np.all(np.isfinite(ni)) and np.all((ni >= 0) & (ni < net.n_nodes)):
            rep = LoadReport(label, n_input=len(gdf), n_loaded=len(gdf))
            return _Snap.at_nodes(ni.astype(np.int64)), rep
    res = snap_points(net, gdf, max_snap_m=max_snap_m, label=label)
    return _Snap.from_result(net, res), res.report


def _distances(
    net: WalkNetwork, sites: _Snap, demand: _Snap, limit: float, chunk_bytes: float, progress: bool
) -> sparse.csr_matrix:
    """Demand × site walking metres within ``limit`` (sparse)."""
    n_sites, n_dem = len(sites.ok), len(demand.ok)
    A = net.csr("length")
    s_site, s_node, s_cost = sites.seeds()
    at_nodes = bool(np.all(demand.snap[demand.ok] == 0) and np.all(demand.u == demand.v))
    if at_nodes:
        targets = demand.u.copy()
        targets[~demand.ok] = 0
        M = site_node_distances(
            A, s_site, s_node, s_cost, n_sites, limit, targets, chunk_bytes, progress
        )
        if not demand.ok.all():
            keep = sparse.diags(demand.ok.astype(float))
            M = (keep @ M).tocsr()
            M.eliminate_zeros()
        return M
    # point demand: reach the point's edge at either end, plus the snap distance
    ok = np.flatnonzero(demand.ok)
    nodes = np.unique(np.concatenate([demand.u[ok], demand.v[ok]]))
    N = site_node_distances(
        A, s_site, s_node, s_cost, n_sites, limit, nodes, chunk_bytes, progress
    ).tocsr()
    pos = np.searchsorted(nodes, np.arange(net.n_nodes).clip(0))
    parts_r, parts_c, parts_d = [], [], []
    for end, along in ((demand.u, demand.to_u), (demand.v, demand.to_v)):
        rows_of = pos[end[ok]]
        sub = N[rows_of].tocoo()
        parts_r.append(ok[sub.row])
        parts_c.append(sub.col)
        parts_d.append(sub.data + along[ok][sub.row] + demand.snap[ok][sub.row])
    # same street segment: walk straight along it
    ks, kd = sites.edge_key(), demand.edge_key()
    ks["site"] = np.arange(n_sites)
    kd["dem"] = np.arange(n_dem)
    same = ks[ks.ok & (ks.lo != ks.hi)].merge(
        kd[kd.ok & (kd.lo != kd.hi)], on=["lo", "hi", "len"], suffixes=("_s", "_d")
    )
    if len(same):
        parts_r.append(same["dem"].to_numpy())
        parts_c.append(same["site"].to_numpy())
        parts_d.append(
            np.maximum(
                (same["pos_s"] - same["pos_d"]).abs().to_numpy()
                + same["snap_s"].to_numpy()
                + same["snap_d"].to_numpy(),
                1e-9,
            )
        )
    r, c, d = (np.concatenate(x) for x in (parts_r, parts_c, parts_d))
    keep = d <= limit
    r, c, d = r[keep], c[keep], d[keep]
    order = np.lexsort((d, c, r))
    r, c, d = r[order], c[order], d[order]
    first = np.ones(len(r), dtype=bool)
    first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    M = sparse.csr_matrix((d[first], (r[first], c[first])), shape=(n_dem, n_sites))
    M.sort_indices()
    return M


# ---------------------------------------------------------------------------- polygons
def reachable_polygon(
    net: WalkNetwork,
    node_dist_m: np.ndarray,
    limit_m: float,
    width_m: float | None = None,
    snap=None,
    which=None,
):
    """Area within ``limit_m`` of a distance field, in ``net.crs``.

    Uses :func:`lifecircle.analysis.service_areas.reachable_polygon` (edges cut at exactly the
    remaining distance, buffered by ``width_m``, default 50 m; ``snap``/``which`` add the
    sources' own streets). Without that module this fallback cuts every edge at the remaining
    distance from each reached end and buffers the pieces (default 50 m).
    """
    try:
        from .service_areas import reachable_polygon as _rp
    except ImportError:
        _rp = None
    if _rp is not None:
        kw = {} if width_m is None else {"width_m": width_m}
        return _rp(net, node_dist_m, limit_m, snap=snap, which=which, **kw)
    return _fallback_polygon(net, node_dist_m, limit_m, 50.0 if width_m is None else width_m)


def _fallback_polygon(net: WalkNetwork, node_dist_m: np.ndarray, limit_m: float, width_m: float):
    e = net.edges
    du = node_dist_m[e["u_idx"].to_numpy()]
    ln = e["length"].to_numpy()
    rem = limit_m - du
    geoms = e.geometry.values
    full = rem >= ln
    part = (rem > 0) & ~full
    pieces = list(geoms[full])
    if part.any():
        from shapely.ops import substring

        pieces += [substring(g, 0.0, r) for g, r in zip(geoms[part], rem[part], strict=True)]
    # reached nodes themselves (dead ends, isolated sites)
    reached = np.flatnonzero(node_dist_m <= limit_m)
    pieces += list(shapely.points(net.xy[reached]))
    if not pieces:
        return shapely.Polygon()
    return shapely.union_all(shapely.buffer(np.array(pieces, dtype=object), width_m))


# ------------------------------------------------------------------------------- results
@dataclass
class WhatIf:
    """Effect of adding proposed sites.

    Attributes
    ----------
    table : DataFrame
        One row per threshold: ``minutes``, ``metres``, ``pop_before``, ``pop_after``,
        ``gain_pop``, ``share_before``, ``share_after``, ``gain_pp`` and the same for ``pop60``.
    sites : DataFrame
        The proposed sites in order with their sequential gains per threshold.
    ranking : DataFrame
        Every candidate ranked by the weight it would add next (``rank``, ``site_id``, ``name``,
        ``lon``, ``lat``, ``lon_gcj02``, ``lat_gcj02``, ``snapped``, ``reaches``,
        ``gain_pop_<m>min``, ``gain_pop60_<m>min``, ``gain_pp_<m>min``, ``gain_pp60_<m>min``).
    new_coverage : GeoDataFrame (EPSG:4326)
        Newly covered area per threshold (service area with the new sites minus without).
    runtime_s : float
    """

    table: pd.DataFrame
    sites: pd.DataFrame
    ranking: pd.DataFrame
    new_coverage: gpd.GeoDataFrame
    runtime_s: float
    site_idx: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


@dataclass
class SiteSelection:
    """A model's choice mapped back onto the problem's sites.

    Attributes
    ----------
    result : SitingResult
        Sites, locked sites and unreachable demand as indices into ``SitingProblem.sites`` and
        ``SitingProblem.demand``.
    table : DataFrame
        The chosen sites in rank order with coordinates (WGS84 and GCJ-02) and sequential
        gains per threshold, the objective and the gap.
    summary : dict
        Model, threshold, weight, coverage before/after and solver figures.
    """

    result: SitingResult
    table: pd.DataFrame
    summary: dict


def _mins(m: float) -> str:
    return f"{int(m)}min" if float(m).is_integer() else f"{m:g}min"


# ------------------------------------------------------------------------------- problem
#: Note of a demand without ``pop60``: a 60+ weight would count everybody (only said when the
#: 60+ weight is used: a node-weighted or population-weighted run invents no 60+ figure).
POP60_FALLBACK_NOTE = "需求点没有 60岁以上人口 (pop60): 60岁以上权重按全部需求计"
#: Note of a demand without ``pop``: every demand point weighs 1.
POP_FALLBACK_NOTE = "需求点没有人口 (pop): 每个需求点权重 1"


def notes_for_weight(notes, weight: str) -> list[str]:
    """The siting notes that concern a run weighted by ``weight`` (the 60+ fallback only for
    ``pop60``)."""
    return [n for n in notes if weight == "pop60" or n != POP60_FALLBACK_NOTE]


@dataclass
class SitingProblem:
    """Demand, sites and the sparse demand × site walking distances within the largest threshold.

    Build with :meth:`build`. Sites are existing facilities (``kind = existing``, locked open),
    candidates (``candidate``) and proposed sites added later (``proposed``).

    Attributes
    ----------
    net : WalkNetwork
    demand : GeoDataFrame (EPSG:4326)
        ``pop``, ``pop60``, ``inside`` (and ``node_idx`` for node demand).
    sites : GeoDataFrame (EPSG:4326)
        ``site_id``, ``name``, ``kind``, ``snapped``, ``snap_m``, ``reaches`` (demand rows
        within the largest threshold), ``lon``, ``lat``, ``lon_gcj02``, ``lat_gcj02``.
    dist : csr_matrix
        Walking metres, demand × sites, pairs within :attr:`max_m` only.
    profile : SpeedProfile
    minutes : tuple of float
        Thresholds reported.
    max_m : float
        Search radius (largest threshold in metres, or a larger p-median cutoff).
    report : LoadReport
        Sites and demand not snapped, candidates reaching nobody, demand no site reaches.
    """

    net: WalkNetwork
    demand: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    dist: sparse.csr_matrix
    profile: SpeedProfile
    minutes: tuple
    max_m: float
    report: LoadReport
    chunk_bytes: float = 64e6
    _site_snap: _Snap = field(default_factory=_Snap.empty, repr=False)
    _dem_snap: _Snap = field(default_factory=_Snap.empty, repr=False)
    _cache: dict = field(default_factory=dict, repr=False)

    # ---------------------------------------------------------------------------- build
    @classmethod
    def build(
        cls,
        net: WalkNetwork,
        demand: gpd.GeoDataFrame,
        candidates: gpd.GeoDataFrame | None = None,
        existing: gpd.GeoDataFrame | None = None,
        minutes: Sequence[float] = DEFAULT_MINUTES,
        profile: str | SpeedProfile = "elderly",
        max_snap_m: float = 250.0,
        max_m: float | None = None,
        chunk_bytes: float = 64e6,
        progress: bool = False,
    ) -> SitingProblem:
        """Snap everything and run the bounded searches.

        Parameters
        ----------
        net : WalkNetwork
        demand : GeoDataFrame
            From :func:`demand_points` (node demand) or any points with ``pop``/``pop60``
            (buildings, grid cells: snapped to the nearest street). Missing ``inside`` = True.
        candidates, existing : GeoDataFrame, optional
            Candidate sites and existing facilities (points, any CRS).
        minutes : sequence of float
            Thresholds (converted with ``profile`` by :func:`lifecircle.settings.threshold_cost`).
        profile : str or SpeedProfile
        max_snap_m : float
            Sites and demand points farther from every street are reported and left out.
        max_m : float, optional
            Search radius; default the largest threshold. Give more for a p-median cutoff.
        chunk_bytes : float
            Memory bound per search chunk.
        progress : bool
            Show a progress bar over the search chunks.
        """
        prof = get_profile(profile)
        minutes = tuple(sorted({float(m) for m in minutes}))
        if not minutes:
            raise ValueError("give at least one threshold in minutes")
        thr = max(threshold_cost(prof, minutes=m) for m in minutes)
        max_m = float(max(thr, max_m or 0.0))
        report = LoadReport("siting")
        dem = demand.to_crs(WGS84).reset_index(drop=True).copy()
        for col in ("pop", "pop60"):
            if col not in dem.columns or dem[col].isna().all():
                base = dem["pop"] if col == "pop60" else 1.0
                if len(dem):
                    report.note(POP60_FALLBACK_NOTE if col == "pop60" else POP_FALLBACK_NOTE)
                dem[col] = base
            vals = pd.to_numeric(dem[col], errors="coerce").to_numpy(dtype=float)
            bad = ~np.isfinite(vals) | (vals < 0)
            for i in np.flatnonzero(bad):
                report.reject(
                    int(i) + 1, col, "demand weight is not a non-negative number", dem[col].iloc[i]
                )
            dem[col] = np.where(bad, 0.0, vals)
        if "inside" not in dem.columns:
            dem["inside"] = True
        dem["inside"] = dem["inside"].astype(bool)
        dsnap, drep = _snap_sites(net, dem, max_snap_m, "demand")
        for rj in drep.rejections:
            report.rejections.append(rj)
        report.n_input = len(dem)
        dem["snapped"] = dsnap.ok

        parts = []
        if existing is not None and len(existing):
            ex = existing.to_crs(WGS84).reset_index(drop=True).copy()
            ex["kind"] = "existing"
            if "site_id" not in ex.columns:
                ex["site_id"] = (
                    ex["fid"].astype(str)
                    if "fid" in ex.columns
                    else [f"existing:{k + 1}" for k in range(len(ex))]
                )
            parts.append(ex)
        if candidates is not None and len(candidates):
            ca = candidates.to_crs(WGS84).reset_index(drop=True).copy()
            ca["kind"] = "candidate"
            if "site_id" not in ca.columns:
                ca["site_id"] = [f"cand:{k + 1}" for k in range(len(ca))]
            parts.append(ca)
        prob = cls(
            net,
            dem,
            _empty_sites(),
            sparse.csr_matrix((len(dem), 0)),
            prof,
            minutes,
            max_m,
            report,
            chunk_bytes,
            _Snap.empty(),
            dsnap,
            {},
        )
        for part in parts:
            prob._append_sites(part, max_snap_m, progress)
        prob._note_unreachable_demand()
        return prob

    def _append_sites(
        self, gdf: gpd.GeoDataFrame, max_snap_m: float, progress: bool = False
    ) -> np.ndarray:
        kind = str(gdf["kind"].iloc[0]) if len(gdf) else "candidate"
        gdf = gdf.reset_index(drop=True)
        snap, rep = _snap_sites(self.net, gdf, max_snap_m, f"{kind} sites")
        for rj in rep.rejections:
            self.report.rejections.append(rj)
        D = _distances(self.net, snap, self._dem_snap, self.max_m, self.chunk_bytes, progress)
        reaches = np.diff(D.tocsc().indptr)
        lon = shapely.get_x(gdf.geometry.values)
        lat = shapely.get_y(gdf.geometry.values)
        glon, glat = wgs84_to_gcj02(lon, lat)
        names = (
            gdf["name"].astype(object) if "name" in gdf.columns else pd.Series([None] * len(gdf))
        )
        table = gpd.GeoDataFrame(
            {
                "site_id": gdf["site_id"].astype(str).to_numpy(),
                "name": names.to_numpy(),
                "kind": gdf["kind"].to_numpy(),
                "snapped": snap.ok,
                "snap_m": snap.snap,
                "reaches": reaches,
                "lon": lon,
                "lat": lat,
                "lon_gcj02": glon,
                "lat_gcj02": glat,
                "src_row": (
                    gdf["src_row"].to_numpy()
                    if "src_row" in gdf.columns
                    else np.arange(1, len(gdf) + 1)
                ),
            },
            geometry=gdf.geometry.values,
            crs=WGS84,
        )
        first = len(self.sites)
        self.sites = pd.concat([self.sites, table], ignore_index=True)
        self.sites = gpd.GeoDataFrame(self.sites, geometry="geometry", crs=WGS84)
        self.dist = sparse.hstack([self.dist, D], format="csr")
        self.dist.sort_indices()
        self._site_snap = self._site_snap.concat(snap)
        self._cache = {k: v for k, v in self._cache.items() if k[0] in ("poly_existing", "field")}
        idx = np.arange(first, len(self.sites))
        for k in np.flatnonzero(snap.ok & (reaches == 0)):
            self.report.reject(
                int(table["src_row"].iloc[k]),
                "geometry",
                f"{kind} site {table['site_id'].iloc[k]} ({table['name'].iloc[k]}) reaches no "
                f"demand within {self.profile.minutes_for_metres(self.max_m):.0f} min "
                f"({self.max_m:.0f} m) of walking",
            )
        return idx

    def _note_unreachable_demand(self) -> None:
        n = int((np.diff(self.dist.indptr) == 0).sum())
        if n:
            w = self.demand["pop"].to_numpy()[np.diff(self.dist.indptr) == 0].sum()
            self.report.note(
                f"{n} demand points (population {w:.0f}) are beyond "
                f"{self.max_m:.0f} m of every site: no site can serve them"
            )
        self.report.n_loaded = int(self.demand["snapped"].sum())

    # --------------------------------------------------------------------------- views
    @property
    def n_sites(self) -> int:
        return len(self.sites)

    def indices(self, kind: str) -> np.ndarray:
        """Site indices of a kind (``existing``, ``candidate``, ``proposed``)."""
        return np.flatnonzero(self.sites["kind"].to_numpy() == kind)

    @property
    def existing_idx(self) -> np.ndarray:
        return self.indices("existing")

    @property
    def candidate_idx(self) -> np.ndarray:
        return self.indices("candidate")

    def threshold_m(self, minutes: float) -> float:
        """Walking metres of a threshold under the problem's profile."""
        return threshold_cost(self.profile, minutes=minutes)

    def coverage(self, minutes: float) -> sparse.csr_matrix:
        """Boolean demand × site coverage within ``minutes`` (sparse, cached)."""
        key = ("cov", float(minutes), self.n_sites)
        if key not in self._cache:
            thr = self.threshold_m(minutes)
            if thr > self.max_m + 1e-9:
                raise ValueError(
                    f"{minutes} min ({thr:.0f} m) is beyond the search radius "
                    f"{self.max_m:.0f} m of this problem"
                )
            D = self.dist
            keep = D.data <= thr
            rows = np.repeat(np.arange(D.shape[0]), np.diff(D.indptr))[keep]
            C = sparse.csr_matrix(
                (np.ones(int(keep.sum())), (rows, D.indices[keep])), shape=D.shape
            )
            C.sort_indices()
            self._cache[key] = C
        return self._cache[key]

    def weights(self, weight: str = "pop") -> np.ndarray:
        if weight not in ("pop", "pop60"):
            raise ValueError(f"weight must be 'pop' or 'pop60', not {weight!r}")
        return self.demand[weight].to_numpy(dtype=float)

    def covered(self, minutes: float, open_idx) -> np.ndarray:
        """Demand rows served within ``minutes`` by any of ``open_idx``."""
        open_idx = np.asarray(open_idx, dtype=np.int64)
        if len(open_idx) == 0:
            return np.zeros(len(self.demand), dtype=bool)
        return np.diff(self.coverage(minutes)[:, open_idx].tocsr().indptr) > 0

    def _totals(self) -> dict:
        inside = self.demand["inside"].to_numpy()
        return {w: float(self.weights(w)[inside].sum()) for w in ("pop", "pop60")}

    def shares(self, open_idx, minutes: Sequence[float] | None = None) -> pd.DataFrame:
        """Coverage per threshold: covered people (all modelled demand) and shares (inside)."""
        inside = self.demand["inside"].to_numpy()
        tot = self._totals()
        rows = []
        for m in minutes or self.minutes:
            cov = self.covered(m, open_idx)
            row = {"minutes": m, "metres": self.threshold_m(m)}
            for w in ("pop", "pop60"):
                wt = self.weights(w)
                row[w] = float(wt[cov].sum())
                row[f"share_{w}"] = float(wt[cov & inside].sum()) / tot[w] if tot[w] else np.nan
            rows.append(row)
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------------- tables
    def gains_table(self, order, base, minutes: Sequence[float] | None = None) -> pd.DataFrame:
        """Sites in ``order`` with coordinates and their sequential gains over ``base`` + the
        sites before them, per threshold (people, 60+ people, percentage points)."""
        order = np.asarray(order, dtype=np.int64)
        minutes = list(minutes or self.minutes)
        inside = self.demand["inside"].to_numpy()
        tot = self._totals()
        s = self.sites.iloc[order]
        out = pd.DataFrame(
            {
                "rank": np.arange(1, len(order) + 1),
                "site_id": s["site_id"].to_numpy(),
                "name": s["name"].to_numpy(),
                "kind": s["kind"].to_numpy(),
                "lon": s["lon"].to_numpy(),
                "lat": s["lat"].to_numpy(),
                "lon_gcj02": s["lon_gcj02"].to_numpy(),
                "lat_gcj02": s["lat_gcj02"].to_numpy(),
                "snap_m": s["snap_m"].to_numpy(),
            }
        )
        wts = {w: self.weights(w) for w in ("pop", "pop60")}
        for m in minutes:
            cov = self.covered(m, base)
            C = self.coverage(m).tocsc()
            gains = {w: [] for w in ("pop", "pop60")}
            pps = {w: [] for w in ("pop", "pop60")}
            for j in order.tolist():
                rows = C.indices[C.indptr[j] : C.indptr[j + 1]]
                new = rows[~cov[rows]]
                for w in ("pop", "pop60"):
                    gains[w].append(float(wts[w][new].sum()))
                    pps[w].append(
                        100.0 * float(wts[w][new[inside[new]]].sum()) / tot[w] if tot[w] else np.nan
                    )
                cov[new] = True
            tag = _mins(m)
            out[f"gain_pop_{tag}"] = gains["pop"]
            out[f"gain_pop60_{tag}"] = gains["pop60"]
            out[f"gain_pp_{tag}"] = pps["pop"]
            out[f"gain_pp60_{tag}"] = pps["pop60"]
        return out

    def rank_candidates(
        self, open_idx, minutes: float | None = None, weight: str = "pop60", among=None
    ) -> pd.DataFrame:
        """Every candidate ranked by the weight it would newly cover given ``open_idx``.

        Vectorised: per threshold, one sparse product ``C.T @ (w * uncovered)``.
        """
        among = self.candidate_idx if among is None else np.asarray(among, dtype=np.int64)
        minutes_list = list(self.minutes)
        if minutes is not None and float(minutes) not in minutes_list:
            minutes_list.append(float(minutes))
        key_m = float(minutes) if minutes is not None else max(minutes_list)
        inside = self.demand["inside"].to_numpy()
        tot = self._totals()
        s = self.sites.iloc[among]
        out = pd.DataFrame(
            {
                "site_id": s["site_id"].to_numpy(),
                "name": s["name"].to_numpy(),
                "lon": s["lon"].to_numpy(),
                "lat": s["lat"].to_numpy(),
                "lon_gcj02": s["lon_gcj02"].to_numpy(),
                "lat_gcj02": s["lat_gcj02"].to_numpy(),
                "snapped": s["snapped"].to_numpy(),
                "reaches": s["reaches"].to_numpy(),
                "site_index": among,
            }
        )
        for m in sorted(minutes_list):
            C = self.coverage(m)[:, among]
            cov = self.covered(m, open_idx)
            tag = _mins(m)
            for w in ("pop", "pop60"):
                wt = self.weights(w)
                out[f"gain_{w}_{tag}"] = marginal_gains(C, wt, cov)
                pp = marginal_gains(C, np.where(inside, wt, 0.0), cov)
                out[f"gain_{'pp' if w == 'pop' else 'pp60'}_{tag}"] = (
                    100.0 * pp / tot[w] if tot[w] else np.nan
                )
        out = out.sort_values(
            [f"gain_{weight}_{_mins(key_m)}", "site_index"], ascending=[False, True], kind="stable"
        ).reset_index(drop=True)
        out.insert(0, "rank", np.arange(1, len(out) + 1))
        return out

    # ----------------------------------------------------------------------- polygons
    def node_field(self, site_idx) -> np.ndarray:
        """Walking metres from the nearest of ``site_idx`` to every node (within max_m)."""
        site_idx = np.asarray(site_idx, dtype=np.int64)
        s, node, cost = self._site_snap.seeds(site_idx)
        return multi_source_distances(self.net, node, cost, limit=self.max_m)

    def new_coverage(
        self,
        new_idx,
        base_idx,
        minutes: Sequence[float] | None = None,
        width_m: float | None = None,
    ) -> gpd.GeoDataFrame:
        """Area newly covered per threshold: service area of the new sites minus that of the
        base sites (as polygons in WGS84, with the gains)."""
        new_idx = np.asarray(new_idx, dtype=np.int64)
        base_idx = np.asarray(base_idx, dtype=np.int64)
        minutes = list(minutes or self.minutes)
        f_new = self.node_field(new_idx)
        key = ("field", tuple(base_idx.tolist()))
        if key not in self._cache:
            self._cache[key] = self.node_field(base_idx)
        f_base = self._cache[key]
        shares_b = self.shares(base_idx, minutes)
        shares_a = self.shares(np.concatenate([base_idx, new_idx]), minutes)
        geoms, rows = [], []
        snap = self._site_snap.snap_result()
        w_eff = 50.0 if width_m is None else float(width_m)
        l_max = float(self.net.edges["length"].max()) if self.net.n_edges else 0.0
        xy = self.net.xy

        def mask(idx):
            m = np.zeros(self.n_sites, dtype=bool)
            m[idx] = True
            return m

        for k, m in enumerate(minutes):
            thr = self.threshold_m(m)
            g_new = reachable_polygon(
                self.net, f_new, thr, width_m=width_m, snap=snap, which=mask(new_idx)
            )
            diff = g_new
            if not g_new.is_empty:
                # Only existing coverage near the new area matters: an edge piece of it that
                # could touch the new area has an end within 2 widths + one edge of its box.
                # Masking the rest keeps a what-if fast on a large network.
                xmin, ymin, xmax, ymax = g_new.bounds
                pad = 2.0 * w_eff + l_max + 1.0
                near = (
                    (xy[:, 0] >= xmin - pad)
                    & (xy[:, 0] <= xmax + pad)
                    & (xy[:, 1] >= ymin - pad)
                    & (xy[:, 1] <= ymax + pad)
                )
                which = mask(base_idx) & (near[self._site_snap.u] | near[self._site_snap.v])
                g_base = reachable_polygon(
                    self.net,
                    np.where(near, f_base, np.inf),
                    thr,
                    width_m=width_m,
                    snap=snap,
                    which=which,
                )
                local = shapely.clip_by_rect(g_base, xmin - 1, ymin - 1, xmax + 1, ymax + 1)
                diff = shapely.difference(g_new, local)
            geoms.append(diff)
            row = {"minutes": m, "metres": thr, "area_ha": float(diff.area) / 1e4}
            for w in ("pop", "pop60"):
                row[f"gain_{w}"] = float(shares_a[w].iloc[k] - shares_b[w].iloc[k])
                row[f"gain_{'pp' if w == 'pop' else 'pp60'}"] = 100.0 * float(
                    shares_a[f"share_{w}"].iloc[k] - shares_b[f"share_{w}"].iloc[k]
                )
            rows.append(row)
        gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs=self.net.crs)
        return gdf.to_crs(WGS84)

    # ------------------------------------------------------------------------ what-if
    def add_sites(self, sites, coords=None, max_snap_m: float = 250.0) -> np.ndarray:
        """Add proposed sites (GeoDataFrame, or (lon, lat) pairs in ``coords``, which (lon, lat)
        pairs must give); returns their indices. Their distances come from one bounded search."""
        if not isinstance(sites, gpd.GeoDataFrame):
            sites = sites_from_lonlat(sites, coords)
        gdf = sites.to_crs(WGS84).reset_index(drop=True).copy()
        gdf["kind"] = "proposed"
        if "site_id" not in gdf.columns:
            gdf["site_id"] = [f"add:{k + 1}" for k in range(len(gdf))]
        return self._append_sites(gdf, max_snap_m)

    def what_if(
        self,
        proposed,
        coords=None,
        weight: str = "pop60",
        rank_minutes: float | None = None,
        base=None,
        polygons: bool = True,
        width_m: float | None = None,
    ) -> WhatIf:
        """Add proposed sites to the existing ones and measure the effect.

        Parameters
        ----------
        proposed : GeoDataFrame, sequence of (lon, lat) or array of site indices
            New sites (points are added as ``proposed`` sites) or sites already in the problem
            (e.g. candidate indices).
        coords : str
            System of (lon, lat) pairs (``gcj02`` for points picked on Amap); required for
            pairs (no default), unused for a GeoDataFrame (its CRS) or indices.
        weight : str
            Weight the candidate ranking sorts by.
        rank_minutes : float, optional
            Threshold the ranking sorts by (default the largest).
        base : array of int, optional
            Open sites before (default all existing facilities).
        polygons : bool
            Compute the newly covered areas.
        """
        t0 = time.perf_counter()
        if isinstance(proposed, gpd.GeoDataFrame) or (
            len(proposed) and np.asarray(proposed).ndim == 2
        ):
            idx = self.add_sites(proposed, coords=coords)
        else:
            idx = np.asarray(proposed, dtype=np.int64)
        base = self.existing_idx if base is None else np.asarray(base, dtype=np.int64)
        usable = idx[self.sites["snapped"].to_numpy()[idx]]
        after = np.concatenate([base, usable])
        sb = self.shares(base)
        sa = self.shares(after)
        table = pd.DataFrame({"minutes": sb["minutes"], "metres": sb["metres"]})
        for w, pp in (("pop", "pp"), ("pop60", "pp60")):
            table[f"{w}_before"] = sb[w]
            table[f"{w}_after"] = sa[w]
            table[f"gain_{w}"] = sa[w] - sb[w]
            table[f"share_{w}_before"] = sb[f"share_{w}"]
            table[f"share_{w}_after"] = sa[f"share_{w}"]
            table[f"gain_{pp}"] = 100.0 * (sa[f"share_{w}"] - sb[f"share_{w}"])
        sites = self.gains_table(idx, base)
        ranking = self.rank_candidates(after, minutes=rank_minutes, weight=weight)
        if polygons and len(usable):
            newcov = self.new_coverage(usable, base, width_m=width_m)
        else:
            newcov = gpd.GeoDataFrame(
                {"minutes": list(self.minutes)},
                geometry=[shapely.Polygon()] * len(self.minutes),
                crs=WGS84,
            )
        return WhatIf(table, sites, ranking, newcov, time.perf_counter() - t0, idx)

    # -------------------------------------------------------------------------- solve
    def _sites_adding_demand(self, sites, locked, minutes: float, w: np.ndarray) -> np.ndarray:
        """``sites`` without those whose removal loses no covered weight (one at a time, last
        chosen first): a coverage model asked for more sites than can add demand fills the
        rest with sites that add nothing."""
        C = self.coverage(minutes).tocsc()
        count = np.zeros(C.shape[0])
        for j in np.concatenate([locked, sites]):
            count[C.indices[C.indptr[j] : C.indptr[j + 1]]] += 1
        keep = []
        for j in sites[::-1]:
            rows = C.indices[C.indptr[j] : C.indptr[j + 1]]
            if np.any((count[rows] == 1) & (w[rows] > 0)):
                keep.append(j)
            else:
                count[rows] -= 1
        return np.asarray(keep[::-1], dtype=np.int64)

    def _say_capped(self, asked: int, kept: int, n_cands: int, minutes, weight) -> None:
        if kept < asked:
            self.report.warn(
                None,
                "new",
                f"选出的 {asked} 处新站点中只有 {kept} 处能在 {minutes:g} 分钟内增加覆盖的需求"
                f" ({weight}); 其余 {asked - kept} 处不增加任何需求, 已去掉 "
                f"(候选点 {n_cands} 个; new sites capped at those that add demand)",
            )

    def solve(
        self,
        model: str = "mclp",
        p: int = 3,
        minutes: float = 10,
        weight: str = "pop60",
        target: float = 1.0,
        time_limit: float = 60.0,
        locked=None,
        cutoff_m: float | None = None,
        penalty_m: float | None = None,
        mip_rel_gap: float = 1e-4,
    ) -> SiteSelection:
        """Choose new sites among the candidates.

        Parameters
        ----------
        model : str
            ``mclp`` (most weight within ``minutes`` with ``p`` new sites), ``lscp`` (fewest
            new sites reaching ``target`` of the reachable weight within ``minutes``),
            ``pmedian`` (least total weighted walking distance, ``p`` new sites), ``greedy``
            (greedy + swaps + local search for the MCLP objective, at most 1 s) or
            ``greedy-pmedian``.
        p : int
            New sites (MCLP, p-median, greedy).
        minutes : float
            Coverage threshold.
        weight : str
            ``pop`` or ``pop60``.
        target : float
            LSCP target share (1.0 = all reachable demand).
        time_limit : float
            Seconds for the solver; the gap proven by then is reported.
        locked : array of int, optional
            Sites open from the start (default: the existing facilities; pass proposed sites
            here to keep them).
        cutoff_m, penalty_m : float, optional
            p-median: assignment cutoff (default and at most :attr:`max_m`) and the distance
            charged to demand served by no site (default 2 × cutoff).
        """
        model = model.lower()
        if model not in MODELS:
            raise ValueError(f"unknown model {model!r}; choose from {MODELS}")
        locked, cands = self._open_and_candidates(locked)
        cols = np.concatenate([locked, cands])
        w = self.weights(weight)
        lk = np.arange(len(locked))
        if model in ("pmedian", "greedy-pmedian"):
            cutoff = min(self.max_m, cutoff_m) if cutoff_m else self.max_m
            D = self.dist[:, cols]
            if model == "pmedian":
                res = PMedian.from_cost_matrix(
                    D, w, p, locked=lk, cutoff=cutoff, penalty=penalty_m
                ).solve(time_limit=time_limit, mip_rel_gap=mip_rel_gap)
            else:
                res = Greedy.from_cost_matrix(
                    D, w, p, locked=lk, cutoff=cutoff, penalty=penalty_m
                ).solve()
        else:
            C = self.coverage(minutes)[:, cols]
            if model == "mclp":
                res = MCLP.from_coverage(C, w, p, locked=lk).solve(
                    time_limit=time_limit, mip_rel_gap=mip_rel_gap
                )
            elif model == "lscp":
                res = LSCP.from_coverage(C, w, target=target, locked=lk).solve(
                    time_limit=time_limit, mip_rel_gap=mip_rel_gap
                )
            else:
                # the interactive heuristic: its local search gets at most one second
                res = Greedy.from_coverage(C, w, p, locked=lk).solve(
                    time_limit=min(time_limit, 1.0)
                )
        self._to_problem_indices(res, cols, model, minutes, w, weight, len(cands))
        table = self.gains_table(res.sites, res.locked)
        for key in ("objective", "bound", "gap", "model", "status"):
            table[key] = getattr(res, key)
        summary = self._selection_summary(res, model, minutes, weight, p, target, len(cands))
        return SiteSelection(res, table, summary)

    def _open_and_candidates(self, locked) -> tuple[np.ndarray, np.ndarray]:
        """The snapped sites open from the start (default: the existing facilities) and the
        snapped candidates reaching some demand, not among them."""
        if locked is None:
            locked = self.existing_idx
        snapped = self.sites["snapped"].to_numpy()
        locked = np.asarray(locked, dtype=np.int64)
        locked = locked[snapped[locked]]
        cands = self.candidate_idx
        cands = cands[snapped[cands] & (self.sites["reaches"].to_numpy()[cands] > 0)]
        return locked, np.setdiff1d(cands, locked)

    def _to_problem_indices(self, res, cols, model, minutes, w, weight, n_cands) -> None:
        """A model result's columns back to problem site indices; coverage models keep only
        the new sites that add demand."""
        res.sites = cols[res.sites]
        res.locked = cols[res.locked]
        requested = len(res.sites)
        if model in ("mclp", "greedy") and requested:
            res.sites = self._sites_adding_demand(res.sites, res.locked, minutes, w)
            self._say_capped(requested, len(res.sites), n_cands, minutes, weight)
        if res.assignment is not None:
            a = res.assignment
            res.assignment = np.where(a >= 0, cols[np.clip(a, 0, None)], -1)

    def _selection_summary(self, res, model, minutes, weight, p, target, n_cands) -> dict:
        """:attr:`SiteSelection.summary`: the model's answer and coverage before/after."""
        w = self.weights(weight)
        before = self.shares(res.locked, [minutes])
        after = self.shares(np.concatenate([res.locked, res.sites]), [minutes])
        summary = {
            "model": res.model,
            "minutes": float(minutes),
            "metres": self.threshold_m(minutes),
            "weight": weight,
            "p": int(p),
            "target": target,
            "n_new": len(res.sites),
            "n_locked": len(res.locked),
            "n_candidates": n_cands,
            "objective": res.objective,
            "bound": res.bound,
            "gap": res.gap,
            "status": res.status,
            "runtime_s": res.runtime_s,
            "covered_before": float(before[weight].iloc[0]),
            "covered_after": float(after[weight].iloc[0]),
            "share_before": float(before[f"share_{weight}"].iloc[0]),
            "share_after": float(after[f"share_{weight}"].iloc[0]),
            "unreachable_rows": int(len(res.unreachable)),
            "unreachable_weight": float(w[res.unreachable].sum()),
        }
        if model in ("pmedian", "greedy-pmedian"):
            tot = float(w.sum())
            summary["mean_m"] = res.objective / tot if tot else np.nan
            summary["mean_minutes"] = summary["mean_m"] / self.profile.speed_mps / 60.0
            summary["unserved_weight"] = res.stats.get("unserved_weight", np.nan)
            summary["penalty_m"] = res.stats.get("penalty", np.nan)
        if model == "lscp":
            summary["target_met"] = res.stats.get("target_met")
            summary["covered_share_of_reachable"] = res.stats.get("covered_share")
        return summary


@dataclass
class OptimalSites:
    """The best new sites with what they add: the result of :func:`optimal_sites`.

    Attributes
    ----------
    sites : GeoDataFrame (EPSG:4326 points)
        :attr:`SiteSelection.table` (``rank``, ``site_id``, ``name``, ``lon``, ``lat``,
        ``lon_gcj02``, ``lat_gcj02``, sequential gains per threshold, ``objective``, ``bound``,
        ``gap``, ``model``, ``status``) with ``kind`` = ``optimal``, ``category`` (when given),
        ``profile``, ``minutes`` and ``weight``.
    new_coverage : GeoDataFrame (EPSG:4326)
        Area the new sites newly cover per threshold, with the gains (``kind`` = ``optimal``);
        empty geometries when no site was chosen.
    ranking : DataFrame
        Every candidate ranked by what it would add next, after the new sites
        (:meth:`SitingProblem.rank_candidates` without ``site_index``).
    selection : SiteSelection
        The model's choice (``result``, ``table``, ``summary``).
    """

    sites: gpd.GeoDataFrame
    new_coverage: gpd.GeoDataFrame
    ranking: pd.DataFrame
    selection: SiteSelection


def site_kind(status: str) -> str:
    """``kind`` of a model's site: ``optimal`` only when proven, ``greedy`` for the heuristic
    (its bound and gap are in the table), ``best_found`` for an exact model stopped early."""
    if status == "optimal":
        return "optimal"
    return "greedy" if status == "heuristic" else "best_found"


def optimal_sites(
    problem: SitingProblem,
    model: str = "mclp",
    p: int = 3,
    minutes: float = 10,
    weight: str = "pop60",
    *,
    category: str | None = None,
    target: float = 1.0,
    time_limit: float = 60.0,
    locked=None,
) -> OptimalSites:
    """Solve for new sites and tabulate them: the ``--new`` step of ``lifecircle site``.

    :meth:`SitingProblem.solve`, then the sites table of ``sites.csv`` (model columns plus the
    question: ``kind``, ``category``, ``profile``, ``minutes``, ``weight``), the newly covered
    area over the locked sites (:meth:`SitingProblem.new_coverage`) and the ranking of the
    remaining candidates with the new sites open (:meth:`SitingProblem.rank_candidates`).

    Parameters
    ----------
    problem : SitingProblem
    model, p, minutes, weight, target, time_limit, locked
        As for :meth:`SitingProblem.solve` (``locked`` default: the existing facilities; pass
        proposed sites too to keep them).
    category : str, optional
        Written to the sites table's ``category`` column.

    Returns
    -------
    OptimalSites
    """
    sel = problem.solve(
        model,
        p=p,
        minutes=minutes,
        weight=weight,
        target=target,
        time_limit=time_limit,
        locked=locked,
    )
    base, new = sel.result.locked, sel.result.sites
    table = sel.table.copy()
    table["kind"] = site_kind(sel.summary["status"])
    if category is not None:
        table["category"] = category
    table["profile"] = problem.profile.name
    table["minutes"] = float(minutes)
    table["weight"] = weight
    sites = gpd.GeoDataFrame(
        table, geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs=WGS84
    )
    newcov = problem.new_coverage(new, base)
    newcov["kind"] = site_kind(sel.summary["status"])
    ranking = problem.rank_candidates(
        np.concatenate([base, new]), minutes=float(minutes), weight=weight
    ).drop(columns="site_index")
    return OptimalSites(sites, newcov, ranking, sel)


def relabel_gains(df: pd.DataFrame, pop60_known: bool, population_known: bool) -> pd.DataFrame:
    """Gain columns named by their demand basis: 60+ columns dropped when the 60+ population is
    unknown; ``gain_pop*`` renamed ``gain_nodes*`` (and share gains dropped) when every network
    node weighs 1, so that a node count is never read as people."""
    drop = []
    if not pop60_known:
        drop += [c for c in df.columns if c.startswith(("gain_pop60", "gain_pp60"))]
    if not population_known:
        drop += [c for c in df.columns if c.startswith("gain_pp")]
        df = df.rename(
            columns={
                c: "gain_nodes" + c[len("gain_pop") :]
                for c in df.columns
                if c.startswith("gain_pop") and not c.startswith("gain_pop60")
            }
        )
    return df.drop(columns=[c for c in dict.fromkeys(drop) if c in df.columns])


def _empty_sites() -> gpd.GeoDataFrame:
    cols = {
        "site_id": pd.Series(dtype=object),
        "name": pd.Series(dtype=object),
        "kind": pd.Series(dtype=object),
        "snapped": pd.Series(dtype=bool),
        "snap_m": pd.Series(dtype=float),
        "reaches": pd.Series(dtype=np.int64),
        "lon": pd.Series(dtype=float),
        "lat": pd.Series(dtype=float),
        "lon_gcj02": pd.Series(dtype=float),
        "lat_gcj02": pd.Series(dtype=float),
        "src_row": pd.Series(dtype=np.int64),
    }
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)


def parse_lonlat(items: Sequence[str]) -> np.ndarray:
    """Parse ``"LON,LAT"`` strings (CLI ``--add``) into an ``(n, 2)`` array (no conversion)."""
    pts = []
    for k, t in enumerate(items, start=1):
        parts = str(t).replace("，", ",").split(",")
        if len(parts) != 2:
            raise ValueError(f"site {k}: {t!r} is not 'LON,LAT'")
        try:
            lon, lat = float(parts[0]), float(parts[1])
        except ValueError:
            raise ValueError(f"site {k}: {t!r} is not 'LON,LAT' with numbers") from None
        if not (np.isfinite(lon) and np.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError(f"site {k}: {t!r} is out of range (give LON,LAT in degrees)")
        pts.append((lon, lat))
    return np.asarray(pts, dtype=float).reshape(-1, 2)
