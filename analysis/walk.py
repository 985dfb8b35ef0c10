"""Walking-distance core: undirected streets, seeded searches (ONE Dijkstra) and reached stretches.

Shared by :mod:`lifecircle.analysis.coverage`, :mod:`lifecircle.analysis.service_areas` and the
siting code, so that none of them imports another sideways.

* :func:`undirected_edges` groups each street's two directed rows into one undirected edge (with
  the vertex arrays needed to cut it at any position), computed once per network;
* :func:`seed_distances` walks from all snapped points at once: one virtual source joins both
  ends of every point's snap edge (snap distance + walk along the edge), appended to the cached
  CSR adjacency, and :func:`scipy.sparse.csgraph.dijkstra` runs once;
* :func:`facility_reach` does the same from each point separately (bounded, chunked);
* :func:`reachable_intervals` turns a distance field into the reached stretch of every street,
  and :func:`cut_edges` cuts those stretches out of the edge geometries (vectorised).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from ..geo.network import WalkNetwork
from ..geo.snap import SnapResult

__all__ = [
    "UndirectedEdges",
    "cut_edges",
    "facility_reach",
    "reachable_intervals",
    "seed_distances",
    "undirected_edges",
]

#: Pieces shorter than this (m) are dropped; intervals closer than this are merged.
_EPS = 1e-6
#: Largest dense block (floats) one bounded-search chunk may allocate.
_CHUNK_FLOATS = 8_000_000


# --------------------------------------------------------------------------- undirected edges
@dataclass
class UndirectedEdges:
    """The streets of a network once each, with what cutting and buffering them needs.

    :class:`~lifecircle.geo.network.WalkNetwork` holds each street twice (``u→v`` and ``v→u``).
    Directed rows are grouped into one undirected edge when they join the same two nodes, have the
    same length (to 1 cm) and the same midpoint (to 10 cm); the first row of a group gives the
    orientation: positions along the edge are measured from ``a`` (that row's ``u``).

    Attributes
    ----------
    row : ndarray
        Representative directed row of :attr:`WalkNetwork.edges`.
    a, b : ndarray
        End node indices (the geometry runs from ``a`` to ``b``).
    length : ndarray
        Length in metres.
    geometry : ndarray of LineString
        In ``net.crs``.
    of_row : ndarray
        For every directed row, its undirected edge.
    same_dir : ndarray of bool
        For every directed row, whether it runs ``a → b``.
    """

    row: np.ndarray
    a: np.ndarray
    b: np.ndarray
    length: np.ndarray
    geometry: np.ndarray
    of_row: np.ndarray
    same_dir: np.ndarray
    # vertex arrays for cutting
    coords: np.ndarray = field(repr=False, default=None)
    cum: np.ndarray = field(repr=False, default=None)
    vstart: np.ndarray = field(repr=False, default=None)
    vend: np.ndarray = field(repr=False, default=None)
    vkey: np.ndarray = field(repr=False, default=None)
    big: float = 0.0
    # node -> incident edges
    inc_ptr: np.ndarray = field(repr=False, default=None)
    inc_edge: np.ndarray = field(repr=False, default=None)
    inc_side: np.ndarray = field(repr=False, default=None)
    _buffers: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.row)

    def position(self, snap: SnapResult, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Undirected edge and position (m from ``a``) of snapped points ``idx``."""
        rows = snap.edge[idx]
        e = self.of_row[rows]
        pos = np.where(self.same_dir[rows], snap.to_u_m[idx], snap.to_v_m[idx])
        return e, np.clip(pos, 0.0, self.length[e])

    def buffers(self, edges: np.ndarray, width_m: float, quad_segs: int) -> np.ndarray:
        """Buffers of whole edges, computed once per (width, quad_segs) and reused."""
        key = (float(width_m), int(quad_segs))
        store = self._buffers.get(key)
        if store is None:
            store = self._buffers[key] = np.full(len(self), None, dtype=object)
        edges = np.asarray(edges, dtype=np.int64)
        missing = np.unique(edges[shapely.is_missing(store[edges])])
        if len(missing):
            store[missing] = shapely.buffer(self.geometry[missing], width_m, quad_segs=quad_segs)
        return store[edges]


_CACHE: dict[int, UndirectedEdges] = {}


def undirected_edges(net: WalkNetwork) -> UndirectedEdges:
    """The :class:`UndirectedEdges` of a network (computed once per network object)."""
    cached = _CACHE.get(id(net))
    if cached is not None:
        return cached
    e = net.edges
    u = e["u_idx"].to_numpy(dtype=np.int64)
    v = e["v_idx"].to_numpy(dtype=np.int64)
    geoms = e.geometry.values
    length = e["length"].to_numpy(dtype=float)
    mid = shapely.get_coordinates(shapely.line_interpolate_point(geoms, 0.5, normalized=True))
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    keys = pd.DataFrame(
        {
            "lo": lo,
            "hi": hi,
            "len": np.round(length * 100).astype(np.int64),
            "mx": np.round(mid[:, 0] * 10).astype(np.int64),
            "my": np.round(mid[:, 1] * 10).astype(np.int64),
        }
    )
    of_row = keys.groupby(list(keys.columns), sort=False).ngroup().to_numpy()
    n_und = int(of_row.max()) + 1 if len(of_row) else 0
    rep = np.full(n_und, -1, dtype=np.int64)
    # first directed row of each group represents it
    rep[of_row[::-1]] = np.arange(len(of_row))[::-1]
    a, b = u[rep], v[rep]
    same_dir = u == a[of_row]
    ue = UndirectedEdges(
        row=rep,
        a=a,
        b=b,
        length=length[rep],
        geometry=geoms[rep],
        of_row=of_row,
        same_dir=same_dir,
    )
    # vertex arrays
    coords, gi = shapely.get_coordinates(ue.geometry, return_index=True)
    seg = np.zeros(len(coords))
    if len(coords) > 1:
        step = np.hypot(*(coords[1:] - coords[:-1]).T)
        same = gi[1:] == gi[:-1]
        seg[1:] = np.where(same, step, 0.0)
    csum = np.cumsum(seg)
    vstart = np.searchsorted(gi, np.arange(n_und), side="left")
    vend = np.searchsorted(gi, np.arange(n_und), side="right") - 1
    cum = csum - csum[vstart][gi]
    big = float(2.0 ** np.ceil(np.log2(max(float(ue.length.max(initial=0.0)), 1.0) * 2 + 2)))
    ue.coords, ue.cum, ue.vstart, ue.vend = coords, cum, vstart, vend
    ue.vkey = gi * big + cum
    ue.big = big
    # incidence: node -> (edge, side)
    nodes = np.concatenate([a, b])
    order = np.argsort(nodes, kind="stable")
    ue.inc_edge = np.concatenate([np.arange(n_und), np.arange(n_und)])[order]
    ue.inc_side = np.concatenate([np.zeros(n_und, np.int8), np.ones(n_und, np.int8)])[order]
    ue.inc_ptr = np.concatenate([[0], np.cumsum(np.bincount(nodes, minlength=net.n_nodes))])
    _CACHE[id(net)] = ue
    weakref.finalize(net, _CACHE.pop, id(net), None)
    return ue


# --------------------------------------------------------------------------- intervals
def _merge_intervals(key: np.ndarray, start: np.ndarray, end: np.ndarray):
    """Union of intervals per key: returns ``(key, start, end)`` of disjoint runs."""
    if len(key) == 0:
        return key, start, end
    order = np.lexsort((start, key))
    k, s, e = key[order], start[order], end[order]
    newkey = np.ones(len(k), dtype=bool)
    newkey[1:] = k[1:] != k[:-1]
    gid = np.cumsum(newkey) - 1
    cm = pd.Series(e).groupby(gid).cummax().to_numpy()
    new = newkey.copy()
    new[1:] |= s[1:] > cm[:-1] + _EPS
    first = np.flatnonzero(new)
    last = np.r_[first[1:] - 1, len(k) - 1]
    return k[first], s[first], cm[last]


def _expand_reach(
    ue: UndirectedEdges, src: np.ndarray, node: np.ndarray, dist: np.ndarray, limit: float
):
    """Intervals reached on the edges incident to reached nodes: ``(src, edge, start, end)``."""
    rem = limit - dist
    keep = rem > _EPS
    src, node, rem = src[keep], node[keep], rem[keep]
    deg = ue.inc_ptr[node + 1] - ue.inc_ptr[node]
    rep = np.repeat(np.arange(len(node)), deg)
    first = np.cumsum(deg) - deg
    pos = ue.inc_ptr[node][rep] + (np.arange(len(rep)) - first[rep])
    edge = ue.inc_edge[pos]
    side = ue.inc_side[pos]
    r = rem[rep]
    L = ue.length[edge]
    start = np.where(side == 0, 0.0, np.maximum(L - r, 0.0))
    end = np.where(side == 0, np.minimum(r, L), L)
    return src[rep], edge, start, end


def _own_edge(
    ue: UndirectedEdges, snap: SnapResult, idx: np.ndarray, src: np.ndarray, limit: float
):
    """Intervals a facility reaches along its own edge from its snap point."""
    e, pos = ue.position(snap, idx)
    rem = limit - snap.snap_m[idx]
    keep = rem > _EPS
    e, pos, rem, src = e[keep], pos[keep], rem[keep], src[keep]
    return src, e, np.maximum(pos - rem, 0.0), np.minimum(pos + rem, ue.length[e])


def reachable_intervals(
    net: WalkNetwork,
    node_dist_m: np.ndarray,
    limit_m: float,
    snap: SnapResult | None = None,
    which: np.ndarray | None = None,
) -> pd.DataFrame:
    """Reached stretches of every street within ``limit_m`` of a distance field.

    Parameters
    ----------
    net : WalkNetwork
    node_dist_m : ndarray
        Walking distance (m) to every node (``inf`` where unreached), e.g. from
        :func:`lifecircle.analysis.coverage.nearest_facility_distances`.
    limit_m : float
        Walking distance allowed.
    snap : SnapResult, optional
        The snapped sources of the field; adds the stretch each source reaches along its own edge
        (needed when neither end of that edge is reached, or to reach the far side of a source
        sitting mid-edge).
    which : ndarray of bool, optional
        Which snapped points of ``snap`` are sources (default: all snapped).

    Returns
    -------
    DataFrame
        ``edge`` (undirected edge id, see :func:`undirected_edges`), ``start_m``, ``end_m``
        (metres from the edge's ``a`` end), ``full`` (the whole edge is reached); disjoint runs.
    """
    ue = undirected_edges(net)
    d = np.asarray(node_dist_m, dtype=float)
    nodes = np.flatnonzero(d < limit_m)
    parts = [_expand_reach(ue, np.zeros(len(nodes), np.int64), nodes, d[nodes], limit_m)]
    if snap is not None:
        ok = snap.ok if which is None else snap.ok & which
        idx = np.flatnonzero(ok)
        parts.append(_own_edge(ue, snap, idx, np.zeros(len(idx), np.int64), limit_m))
    edge = np.concatenate([p[1] for p in parts])
    start = np.concatenate([p[2] for p in parts])
    end = np.concatenate([p[3] for p in parts])
    e, s, t = _merge_intervals(edge, start, end)
    keep = t - s > _EPS
    e, s, t = e[keep], s[keep], t[keep]
    full = (s <= _EPS) & (t >= ue.length[e] - _EPS)
    return pd.DataFrame({"edge": e, "start_m": s, "end_m": t, "full": full})


# --------------------------------------------------------------------------- cutting
def cut_edges(
    ue: UndirectedEdges, edge: np.ndarray, start_m: np.ndarray, end_m: np.ndarray
) -> np.ndarray:
    """Substrings of undirected edges from ``start_m`` to ``end_m`` (m from ``a``), vectorised.

    The cut points are interpolated exactly on the edge geometry; the vertices in between are
    kept. Returns an array of LineStrings in the network's metric CRS.
    """
    edge = np.asarray(edge, dtype=np.int64)
    s = np.clip(np.asarray(start_m, dtype=float), 0.0, ue.length[edge])
    t = np.clip(np.asarray(end_m, dtype=float), 0.0, ue.length[edge])
    if len(edge) == 0:
        return np.empty(0, dtype=object)
    base = edge * ue.big
    lo, hi = ue.vstart[edge], ue.vend[edge] - 1
    j0 = np.clip(np.searchsorted(ue.vkey, base + s, side="right") - 1, lo, hi)
    j1 = np.clip(np.searchsorted(ue.vkey, base + t, side="left") - 1, lo, hi)
    j1 = np.maximum(j1, j0)

    def interp(j, x):
        seg = ue.cum[j + 1] - ue.cum[j]
        f = np.divide(x - ue.cum[j], seg, out=np.zeros_like(x), where=seg > 0)
        f = np.clip(f, 0.0, 1.0)[:, None]
        return ue.coords[j] + f * (ue.coords[j + 1] - ue.coords[j])

    p0, p1 = interp(j0, s), interp(j1, t)
    m = j1 - j0  # interior vertices j0+1 .. j1
    n = m + 2
    off = np.cumsum(n) - n
    out = np.empty((int(n.sum()), 2))
    out[off] = p0
    out[off + n - 1] = p1
    if m.sum():
        rep = np.repeat(np.arange(len(edge)), m)
        k = np.arange(len(rep)) - (np.cumsum(m) - m)[rep]
        out[off[rep] + 1 + k] = ue.coords[j0[rep] + 1 + k]
    return shapely.linestrings(out, indices=np.repeat(np.arange(len(edge)), n))


def _sources(snap: SnapResult | None, which) -> np.ndarray:
    if snap is None:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(snap.ok if which is None else snap.ok & np.asarray(which, dtype=bool))


# --------------------------------------------------------------------------- searches
def _augmented_csr(
    net: WalkNetwork, virt: np.ndarray, node: np.ndarray, cost: np.ndarray, n_virtual: int
) -> sparse.csr_matrix:
    """The CSR adjacency with ``n_virtual`` extra source rows (``virt`` → ``node`` at ``cost``).

    Built by appending rows to the cached CSR arrays (no sparse stacking). Duplicate seeds of a
    virtual node keep their minimum cost.
    """
    A = net.csr("length")
    n = A.shape[0]
    virt = np.asarray(virt, dtype=np.int64)
    node = np.asarray(node, dtype=np.int64)
    cost = np.maximum(np.asarray(cost, dtype=float), 1e-9)
    order = np.lexsort((cost, node, virt))
    virt, node, cost = virt[order], node[order], cost[order]
    keep = np.ones(len(virt), dtype=bool)
    keep[1:] = (virt[1:] != virt[:-1]) | (node[1:] != node[:-1])
    virt, node, cost = virt[keep], node[keep], cost[keep]
    counts = np.bincount(virt, minlength=n_virtual)
    indptr = np.concatenate([A.indptr, A.indptr[-1] + np.cumsum(counts)]).astype(A.indptr.dtype)
    indices = np.concatenate([A.indices, node.astype(A.indices.dtype)])
    data = np.concatenate([A.data, cost])
    m = n + n_virtual
    return sparse.csr_matrix((data, indices, indptr), shape=(m, m))


def _seed_arrays(snap: SnapResult, idx: np.ndarray):
    node = np.concatenate([snap.u_idx[idx], snap.v_idx[idx]])
    cost = np.concatenate(
        [snap.snap_m[idx] + snap.to_u_m[idx], snap.snap_m[idx] + snap.to_v_m[idx]]
    )
    return node, cost


def seed_distances(
    net: WalkNetwork, snap: SnapResult, which: np.ndarray | None = None, limit_m: float = np.inf
) -> np.ndarray:
    """Walking metres from the nearest snapped point to every node: ONE Dijkstra.

    A single virtual source joins both ends of every point's snap edge (cost: snap distance +
    walk along the edge), appended to the cached CSR without copying the matrix structure.
    Nodes beyond ``limit_m`` (or unreachable) get ``inf``.
    """
    n = net.n_nodes
    idx = _sources(snap, which)
    if len(idx) == 0:
        return np.full(n, np.inf)
    node, cost = _seed_arrays(snap, idx)
    M = _augmented_csr(net, np.zeros(len(node), np.int64), node, cost, 1)
    return csgraph.dijkstra(M, directed=True, indices=n, limit=limit_m)[:n]


def facility_reach(
    net: WalkNetwork,
    snap: SnapResult,
    limit_m: float,
    which: np.ndarray | None = None,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bounded walking distances from each snapped point separately.

    One virtual node per point joins both ends of its snap edge (cost: snap distance + walk
    along the edge); :func:`scipy.sparse.csgraph.dijkstra` runs from all virtual nodes with
    ``limit=limit_m``, in chunks that keep the dense output under about 64 MB.

    Returns
    -------
    (point, node, dist_m) : arrays
        One entry per point and node reached within ``limit_m`` (``point`` indexes ``snap``).
    """
    idx = _sources(snap, which)
    n = net.n_nodes
    k = len(idx)
    if k == 0:
        e = np.empty(0, dtype=np.int64)
        return e, e.copy(), np.empty(0)
    node, cost = _seed_arrays(snap, idx)
    M = _augmented_csr(net, np.concatenate([np.arange(k), np.arange(k)]), node, cost, k)
    chunk = max(1, _CHUNK_FLOATS // (n + k))
    starts = range(0, k, chunk)
    if progress and k > chunk:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="逐设施步行搜索", unit="批", leave=False)
    P, N, D = [], [], []
    for s0 in starts:
        rows = np.arange(s0, min(s0 + chunk, k))
        dist = csgraph.dijkstra(M, directed=True, indices=n + rows, limit=limit_m)[:, :n]
        r, c = np.nonzero(dist <= limit_m)
        P.append(idx[rows[r]])
        N.append(c.astype(np.int64))
        D.append(dist[r, c])
    return np.concatenate(P), np.concatenate(N), np.concatenate(D)
