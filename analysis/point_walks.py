"""Walking metres from points (buildings, 居民区 gates) to facilities: the distances coverage uses.

:func:`nearest_walks` gives each point the walk to the nearest facility of every category — the
same single Dijkstra per category and the same same-street rule as
:func:`lifecircle.analysis.coverage.demand_distances`. :func:`walk_cost_matrix` gives the walk
from every point to every facility within a limit (sparse), for floating catchments (2SFCA); its
row minimum equals the nearest walk.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse

from ..geo.network import WalkNetwork
from ..geo.snap import SnapResult, snap_points
from .coverage import demand_distances, nearest_facility_distances
from .siting import site_node_distances
from .walk import undirected_edges

__all__ = ["nearest_walks", "walk_cost_matrix"]


def nearest_walks(
    net: WalkNetwork,
    facilities: gpd.GeoDataFrame,
    point_snap: SnapResult,
    categories=None,
    max_snap_m: float = 250.0,
    facility_snap: SnapResult | None = None,
) -> tuple[pd.DataFrame, SnapResult]:
    """Walking metres from each snapped point to the nearest facility of each category.

    Parameters
    ----------
    net : WalkNetwork
    facilities : GeoDataFrame
        Points with ``category``.
    point_snap : SnapResult
        The points, snapped (:func:`lifecircle.geo.snap.snap_points`).
    categories : sequence of str, optional
        Default: the categories present.
    max_snap_m : float
        Snap limit for the facilities.
    facility_snap : SnapResult, optional
        A snap of ``facilities`` done before.

    Returns
    -------
    (DataFrame, SnapResult)
        One column per category (metres; ``inf`` unreachable, ``nan`` for unsnapped points) and
        the facilities' snap.
    """
    fac = facilities.reset_index(drop=True)
    if facility_snap is None:
        facility_snap = snap_points(net, fac, max_snap_m=max_snap_m, label="facilities")
    fcat = fac["category"].astype(str).to_numpy()
    cats = list(dict.fromkeys(fcat)) if categories is None else [str(c) for c in categories]
    out = {}
    for cat in cats:
        which = fcat == cat
        field, _ = nearest_facility_distances(net, fac, snap=facility_snap, which=which)
        out[cat] = demand_distances(net, field, point_snap, facility_snap, which)
    return pd.DataFrame(out, index=np.arange(len(point_snap))), facility_snap


def _pair_min(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, limit: float, shape):
    keep = vals <= limit
    rows, cols, vals = rows[keep], cols[keep], np.maximum(vals[keep], 1e-9)
    order = np.lexsort((vals, cols, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    M = sparse.csr_matrix((vals[first], (rows[first], cols[first])), shape=shape)
    M.sort_indices()
    return M


def walk_cost_matrix(
    net: WalkNetwork,
    point_snap: SnapResult,
    facility_snap: SnapResult,
    limit_m: float,
    which: np.ndarray | None = None,
) -> sparse.csr_matrix:
    """Walking metres from every point to every facility within ``limit_m`` (sparse).

    Bounded searches from the facilities (:func:`lifecircle.analysis.siting.site_node_distances`)
    give node distances; a point adds the walk along its street to either end and its snap
    distance, or walks straight to a facility on the same street. Every stored entry is
    ``>= 1e-9``; a missing entry means farther than ``limit_m``.

    Returns
    -------
    csr_matrix (n_points, n_facilities)
        Columns follow the facilities' order; with ``which`` only those columns are filled.
    """
    n_pts, n_fac = len(point_snap), len(facility_snap)
    fp, fn, fc = facility_snap.seeds(which)
    D = site_node_distances(net.csr("length"), fp, fn, fc, n_fac, limit_m)
    pi = np.flatnonzero(point_snap.ok)
    rows, cols, vals = [], [], []
    for end, along in (
        (point_snap.u_idx, point_snap.to_u_m),
        (point_snap.v_idx, point_snap.to_v_m),
    ):
        sub = D[end[pi]].tocoo()
        p = pi[sub.row]
        rows.append(p)
        cols.append(sub.col)
        vals.append(sub.data + along[p] + point_snap.snap_m[p])
    fi = np.flatnonzero(facility_snap.ok if which is None else facility_snap.ok & which)
    if len(fi) and len(pi):  # a facility on the same street: walk straight along it
        ue = undirected_edges(net)
        fe, fpos = ue.position(facility_snap, fi)
        pe, ppos = ue.position(point_snap, pi)
        f = pd.DataFrame({"e": fe, "fpos": fpos, "fs": facility_snap.snap_m[fi], "j": fi})
        p = pd.DataFrame({"e": pe, "ppos": ppos, "ps": point_snap.snap_m[pi], "i": pi})
        m = p.merge(f, on="e")
        rows.append(m["i"].to_numpy())
        cols.append(m["j"].to_numpy())
        vals.append((m["ps"] + m["fs"] + (m["ppos"] - m["fpos"]).abs()).to_numpy())
    return _pair_min(
        np.concatenate(rows).astype(np.int64),
        np.concatenate(cols).astype(np.int64),
        np.concatenate(vals).astype(float),
        limit_m,
        (n_pts, n_fac),
    )
