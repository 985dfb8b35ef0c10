"""Snap points to the nearest walking edge, and seed multi-source searches from them.

A facility or a home rarely sits on a network node. Each point is projected onto its nearest edge
(in the metric CRS); the walk from the point is then the perpendicular *snap distance* plus the
walk along the edge to either end node. Points farther than ``max_snap_m`` are reported and left
out, never silently used.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from .network import WalkNetwork, fragment_label
from .report import LoadReport

__all__ = [
    "SnapResult",
    "fragment_note",
    "snap_points",
    "street_index",
    "multi_source_distances",
    "point_distances",
]


@dataclass
class SnapResult:
    """Where each input point meets the network.

    All arrays have one entry per input point, in input order; entries for points that were not
    snapped (``ok == False``) are ``-1`` / ``nan``.

    Attributes
    ----------
    ok : ndarray of bool
        Snapped within ``max_snap_m``.
    edge : ndarray of int
        Row of :attr:`WalkNetwork.edges` the point snapped to.
    u_idx, v_idx : ndarray of int
        The edge's end nodes (network indices).
    snap_m : ndarray of float
        Perpendicular distance point → edge in metres.
    to_u_m, to_v_m : ndarray of float
        Walking distance along the edge from the snap point to ``u`` and to ``v``.
    report : LoadReport
        Points left out, with the reason.
    fragment : ndarray of int
        For points left out whose nearest walkable street is on a fragment that network
        cleaning dropped: that fragment's number (:attr:`WalkNetwork.fragments`); else ``-1``.
    """

    ok: np.ndarray
    edge: np.ndarray
    u_idx: np.ndarray
    v_idx: np.ndarray
    snap_m: np.ndarray
    to_u_m: np.ndarray
    to_v_m: np.ndarray
    report: LoadReport
    fragment: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ok)

    def seeds(self, which: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Seed arrays for a search from the snapped points.

        Returns ``(point, node, cost_m)``: each snapped point contributes its two edge ends with
        the walk ``snap_m + along-edge distance``.
        """
        idx = np.flatnonzero(self.ok if which is None else (self.ok & which))
        point = np.concatenate([idx, idx])
        node = np.concatenate([self.u_idx[idx], self.v_idx[idx]])
        cost = np.concatenate(
            [self.snap_m[idx] + self.to_u_m[idx], self.snap_m[idx] + self.to_v_m[idx]]
        )
        return point, node, cost


def street_index(net: WalkNetwork) -> shapely.STRtree:
    """The spatial index of the network's edges (built once per network, then cached)."""
    tree = net._csr_cache.get("_strtree")
    if tree is None:
        tree = net._csr_cache["_strtree"] = shapely.STRtree(net.edges.geometry.values)
    return tree


def snap_points(
    net: WalkNetwork,
    points: gpd.GeoDataFrame,
    max_snap_m: float = 250.0,
    label: str = "points",
    row_numbers: np.ndarray | None = None,
) -> SnapResult:
    """Snap points (any CRS) to their nearest network edge.

    Parameters
    ----------
    net : WalkNetwork
    points : GeoDataFrame
        Point geometries with a CRS. Non-point geometries snap by their representative point.
    max_snap_m : float
        Points farther from every edge are reported in ``report`` and left out.
    label : str
        Names the input in the report (e.g. the file name).
    row_numbers : array, optional
        Row numbers to name in the report (default: ``src_row`` column if present, else 1..n).
    """
    if points.crs is None:
        raise ValueError(f"{label}: points have no CRS")
    n = len(points)
    report = LoadReport(label, n_input=n)
    if row_numbers is None:
        row_numbers = (
            points["src_row"].to_numpy() if "src_row" in points.columns else np.arange(1, n + 1)
        )
    geoms = points.to_crs(net.crs).geometry.values
    geoms = np.where(shapely.get_type_id(geoms) == 0, geoms, shapely.point_on_surface(geoms))
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)

    lines = net.edges.geometry.values
    tree = street_index(net)
    ok = np.zeros(n, dtype=bool)
    edge = np.full(n, -1, dtype=np.int64)
    snap_m = np.full(n, np.nan)
    valid = np.flatnonzero(~empty)
    if len(valid):
        # nearest edge; ties are broken by the lowest edge row, so results are deterministic
        pi, ei = tree.query_nearest(geoms[valid], return_distance=False, all_matches=True)
        order = np.lexsort((ei, pi))  # query_nearest returns ties unordered
        pi, ei = pi[order], ei[order]
        first = np.unique(pi, return_index=True)[1]
        pi, ei = pi[first], ei[first]
        d = shapely.distance(geoms[valid][pi], lines[ei])
        edge[valid[pi]] = ei
        snap_m[valid[pi]] = d
        ok[valid[pi]] = d <= max_snap_m

    files = points["src_file"].to_numpy() if "src_file" in points.columns else None
    for i in np.flatnonzero(empty):
        report.reject(
            int(row_numbers[i]),
            "geometry",
            "缺少点几何 (empty or missing point)",
            file=None if files is None else str(files[i]),
        )
    far = np.flatnonzero(~empty & ~ok)
    on_fragment, fragment = _nearest_fragments(net, geoms[far], snap_m[far], max_snap_m)
    frag_of = np.full(n, -1, dtype=np.int64)
    frag_of[far] = fragment
    for i, why in zip(far, on_fragment, strict=True):
        report.reject(
            int(row_numbers[i]),
            "geometry",
            why
            or f"离最近的可步行道路 {snap_m[i]:.0f} 米, 超过 {max_snap_m:.0f} 米的接入上限 "
            f"({snap_m[i]:.0f} m from the nearest walkable street, snap limit {max_snap_m:.0f} m)",
            file=None if files is None else str(files[i]),
        )
    report.n_loaded = int(ok.sum())

    e = net.edges
    u_idx = np.full(n, -1, dtype=np.int64)
    v_idx = np.full(n, -1, dtype=np.int64)
    to_u = np.full(n, np.nan)
    to_v = np.full(n, np.nan)
    sel = np.flatnonzero(ok)
    if len(sel):
        es = edge[sel]
        u_idx[sel] = e["u_idx"].to_numpy()[es]
        v_idx[sel] = e["v_idx"].to_numpy()[es]
        frac = shapely.line_locate_point(lines[es], geoms[sel], normalized=True)
        frac = np.nan_to_num(frac, nan=0.0)
        length = e["length"].to_numpy()[es]
        to_u[sel] = frac * length
        to_v[sel] = (1.0 - frac) * length
    return SnapResult(ok, edge, u_idx, v_idx, snap_m, to_u, to_v, report, frag_of)


def _nearest_fragments(
    net: WalkNetwork, geoms: np.ndarray, main_m: np.ndarray, limit_m: float
) -> tuple[list[str], np.ndarray]:
    """For points rejected as far from the network: why, when a dropped fragment is nearer.

    Returns one reason per point (empty where the nearest walkable street is on the kept
    network: the fragment that cleaning dropped, its size, its gap to the main network) and the
    fragment numbers (``-1`` where none).
    """
    frags = getattr(net, "fragments", None)
    number = np.full(len(geoms), -1, dtype=np.int64)
    if frags is None or len(frags) == 0 or len(geoms) == 0:
        return [""] * len(geoms), number
    pi, fi = shapely.STRtree(frags.geometry.values).query_nearest(geoms, all_matches=False)
    d = np.full(len(geoms), np.inf)
    which = np.full(len(geoms), -1)
    d[pi] = shapely.distance(geoms[pi], frags.geometry.values[fi])
    which[pi] = fi
    out = []
    for k in range(len(geoms)):
        if d[k] >= main_m[k]:
            out.append("")
            continue
        row = frags.iloc[which[k]]
        number[k] = int(row["fragment"])
        out.append(
            f"最近的可步行道路在{fragment_label(row)}上, 相距 {d[k]:.0f} 米; 这片路网与主路网不连通 "
            f"(相隔 {row['to_main_m']:.0f} 米), 清理路网时已去掉; 离主路网的道路 {main_m[k]:.0f} 米, 超过 {limit_m:.0f} 米的接入上限 "
            f"(the nearest walkable street is on dropped network fragment {int(row['fragment'])}, "
            f"{d[k]:.0f} m away; the main network is {main_m[k]:.0f} m away)"
        )
    return out, number


def fragment_note(net: WalkNetwork, snap: SnapResult, what: str = "设施") -> str:
    """One Chinese line naming the dropped fragments that hold points left out ('' if none)."""
    if snap.fragment is None or not (snap.fragment > 0).any():
        return ""
    numbers, counts = np.unique(snap.fragment[snap.fragment > 0], return_counts=True)
    frags = net.fragments.set_index("fragment")
    parts = [
        f"{fragment_label(frags.loc[f].to_dict() | {'fragment': f})} 上 {c} 个, "
        f"离主路网 {frags.loc[f, 'to_main_m']:.0f} 米"
        for f, c in zip(numbers.tolist(), counts.tolist(), strict=True)
    ]
    return (
        f"其中 {int(counts.sum())} 个{what}在路网清理时去掉的孤立小片上 (与主路网不连通, "
        f"步行到不了): " + "; ".join(parts)
    )


def multi_source_distances(
    net: WalkNetwork,
    nodes: np.ndarray,
    costs: np.ndarray,
    limit: float = np.inf,
    weight: str = "length",
) -> np.ndarray:
    """Shortest walk (metres) from the nearest of many seeded sources to every node.

    One Dijkstra run: a virtual source joins every seed node with an edge of its seed cost.

    Parameters
    ----------
    net : WalkNetwork
    nodes, costs : array
        Seed node indices and their starting costs (e.g. from :meth:`SnapResult.seeds`).
    limit : float
        Stop the search beyond this cost; farther nodes get ``inf``.
    weight : str
        Edge column to search on (``length`` in metres by default).

    Returns
    -------
    ndarray of float, shape (n_nodes,)
        ``inf`` where unreachable within ``limit``.
    """
    n = net.n_nodes
    if len(nodes) == 0:
        return np.full(n, np.inf)
    A = net.csr(weight)
    costs = np.maximum(np.asarray(costs, dtype=float), 1e-9)
    nodes = np.asarray(nodes, dtype=np.int64)
    # keep the minimum cost if a node is seeded twice (csr would sum duplicates)
    order = np.lexsort((costs, nodes))
    first = np.ones(len(order), dtype=bool)
    first[1:] = nodes[order][1:] != nodes[order][:-1]
    src = sparse.csr_matrix(
        (costs[order][first], (np.zeros(first.sum(), dtype=np.int64), nodes[order][first])),
        shape=(1, n + 1),
    )
    big = sparse.vstack([sparse.hstack([A, sparse.csr_matrix((n, 1))]), src]).tocsr()
    dist = csgraph.dijkstra(big, directed=True, indices=n, limit=limit)
    return dist[:n]


def point_distances(node_dist: np.ndarray, snap: SnapResult) -> np.ndarray:
    """Walking distance to snapped points from a node-distance field (e.g. nearest facility).

    The walk reaches the point's edge at either end and continues along it, plus the snap
    distance. Points not snapped get ``nan``.
    """
    out = np.full(len(snap), np.nan)
    sel = np.flatnonzero(snap.ok)
    du = node_dist[snap.u_idx[sel]] + snap.to_u_m[sel]
    dv = node_dist[snap.v_idx[sel]] + snap.to_v_m[sel]
    out[sel] = np.minimum(du, dv) + snap.snap_m[sel]
    return out
