"""Network service areas (服务范围): the street area a walk of a given length reaches.

A service area is built from the *reachable network*, never from a convex hull:

1. every street (undirected edge) both of whose ends are reached with enough distance left to
   walk it in full is taken whole;
2. a street reached only partly is **cut at exactly the remaining distance**, from either end
   (``limit - dist(u)`` from ``u`` and ``limit - dist(v)`` from ``v``: a street can be partly
   reached from both ends, which leaves an unreached gap in its middle);
3. a facility's own street is reachable from the facility's snap point in both directions by
   ``limit - snap distance``, even when neither end node is reached (the same-edge case);
4. optionally the *connector* from the facility to its snap point (the walk from the door to the
   street) is added;
5. the reached pieces are buffered by a documented width (:data:`DEFAULT_WIDTH_M`, 50 m: about
   half a typical residential block depth, i.e. the homes that front a reached street) and
   unioned.

The union of buffers is a valid polygon; it has holes only where an area lies farther than the
buffer width from every reached street (a genuine gap, e.g. a large block whose surrounding
streets are reached), and it never bridges the gap between two reached streets farther apart than
twice the width (holes under 1 m², round-off where two buffers just touch, are filled).
Buffers use ``quad_segs`` straight segments per quarter circle (:data:`DEFAULT_QUAD_SEGS` = 4:
the round ends deviate from a true circle by at most ``width * (1 - cos(pi / 16))``, 1 m for a
50 m buffer).

All metric work happens in ``net.crs`` (EPSG:32651 in Shanghai); the GeoDataFrames handed to maps
are converted to WGS84 by :mod:`lifecircle.analysis.coverage`.

Per-facility areas come from bounded searches: one virtual node per facility (joined to both ends
of its snap edge with the snap + along-edge cost) is appended to the CSR adjacency and
:func:`scipy.sparse.csgraph.dijkstra` runs from all of them at once with ``limit`` = the largest
threshold.

Speed: the union of many overlapping buffers is what costs. Three shortcuts give the same set
(up to where the polygonal arcs put their vertices, well inside the 1 m above):

* a *street block* (a face of the noded street network) whose boundary edges are all reached in
  full contributes ``buffer(block, w) - block.buffer(-w)`` (one polygon) instead of the union of
  its edges' buffers; the cores of different blocks lie 2 w apart, so they are subtracted as one
  MultiPolygon without a union;
* the other reached lines (whole streets off the blocks, cut pieces, connectors) are not buffered
  one by one: the pieces a source reaches from the same node are joined two by two into one line
  through that node, the lines are merged into chains where they meet end to end
  (:func:`shapely.line_merge`), and the chains are buffered in ONE call (a round-joined line's
  buffer is the union of its segments' round-capped buffers). Fewer round ends means far less
  to union: this halves the polygon time of a 50k-node grid. Past :data:`_ONE_BUFFER_MAX`
  vertices (dense real networks, a whole district's field) the chains are buffered one by one
  and unioned instead, which scales better;
* a street that bounds no block and lies inside an enclosed block without a core (a dead end,
  a path into a courtyard) lies within the block's buffer: it is left out, whole or cut (on
  Helsinki's footways, where 23 % of the streets are such dead ends, a quarter of the polygon
  time; within 0.7 m of the edge-buffer union, where the arcs put their vertices);
* the block part and the chains' buffer are then joined by one binary union; holes under 1 m²
  are filled for all polygons at once.

``use_blocks=False`` keeps the plain reference: one cached buffer per whole street, one per piece
and connector, unioned.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..geo.network import WalkNetwork
from ..geo.snap import SnapResult
from .walk import (
    _EPS,
    UndirectedEdges,
    _expand_reach,
    _merge_intervals,
    _own_edge,
    _sources,
    cut_edges,
    facility_reach,
    reachable_intervals,
    seed_distances,
    undirected_edges,
)

__all__ = [
    "DEFAULT_QUAD_SEGS",
    "DEFAULT_WIDTH_M",
    "FacilityAreas",
    "UndirectedEdges",
    "cut_edges",
    "disjoint_union",
    "facility_reach",
    "facility_service_areas",
    "prepare_streets",
    "reachable_intervals",
    "reachable_pieces",
    "reachable_polygon",
    "seed_distances",
    "street_blocks",
    "undirected_edges",
]

#: Buffer width (m) around reached streets: the homes and doors that front a reached street.
DEFAULT_WIDTH_M = 50.0
#: Segments per quarter circle of the buffers' round ends (1 m error at 50 m).
DEFAULT_QUAD_SEGS = 4
#: Holes smaller than this (m²) are round-off where buffers meet, not gaps: they are filled.
_MIN_HOLE_M2 = 1.0
#: Chains with up to this many vertices in all are buffered in one call; more are buffered one
#: by one and unioned (GEOS's buffer of many lines scales worse than its cascaded union).
_ONE_BUFFER_MAX = 200


# --------------------------------------------------------------------------- snapping
def _connectors(
    ue: UndirectedEdges, snap: SnapResult, idx: np.ndarray, points_xy: np.ndarray, limit: float
) -> tuple[np.ndarray, np.ndarray]:
    """Walks from points to their snap points, cut at ``limit``: ``(which, lines)``."""
    e, pos = ue.position(snap, idx)
    s = snap.snap_m[idx]
    keep = s > _EPS
    e, pos, s, idx = e[keep], pos[keep], s[keep], idx[keep]
    q = shapely.get_coordinates(shapely.line_interpolate_point(ue.geometry[e], pos))
    p = points_xy[idx]
    f = np.minimum(limit / s, 1.0)[:, None]
    end = p + f * (q - p)
    coords = np.stack([p, end], axis=1)
    return idx, shapely.linestrings(coords)


def _pair_at_nodes(
    ue: UndirectedEdges,
    src: np.ndarray,
    edge: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    lines: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Join a source's cut pieces two by two where they leave the same node.

    Pieces reached from a node ``u`` (``[0, t]`` from ``a`` or ``[s, L]`` from ``b``) are
    paired per (source, node) and each pair becomes one line ``c_i → u → c_j``: its round-joined
    buffer is the union of the two pieces' buffers, with two round ends fewer to union.
    Returns ``(src, lines)``; pieces without a partner are returned as they are.
    """
    L = ue.length[edge]
    at_a = start <= _EPS
    at_b = ~at_a & (end >= L - _EPS)
    node = np.where(at_a, ue.a[edge], np.where(at_b, ue.b[edge], -1))
    att = np.flatnonzero(node >= 0)
    if len(att) < 2:
        return src, lines
    order = att[np.lexsort((node[att], src[att]))]
    key_s, key_n = src[order], node[order]
    new_run = np.ones(len(order), dtype=bool)
    new_run[1:] = (key_s[1:] != key_s[:-1]) | (key_n[1:] != key_n[:-1])
    run_start = np.maximum.accumulate(np.where(new_run, np.arange(len(order)), 0))
    rank = np.arange(len(order)) - run_start
    run_len = np.bincount(np.cumsum(new_run) - 1)[np.cumsum(new_run) - 1]
    first = (rank % 2 == 0) & (rank + 1 < run_len)
    i, j = order[first], order[np.flatnonzero(first) + 1]
    if len(i) == 0:
        return src, lines
    # orient i to end at the node and j to start there
    li = np.where(at_a[i], shapely.reverse(lines[i]), lines[i])
    lj = np.where(at_b[j], shapely.reverse(lines[j]), lines[j])
    ci, ii = shapely.get_coordinates(li, return_index=True)
    cj, jj = shapely.get_coordinates(lj, return_index=True)
    skip = np.ones(len(jj), dtype=bool)
    skip[1:] = jj[1:] != jj[:-1]  # the node itself, already the last point of i
    cj, jj = cj[~skip], jj[~skip]
    coords = np.concatenate([ci, cj])
    pair = np.concatenate([ii, jj])
    seq = np.concatenate([np.zeros(len(ii), np.int8), np.ones(len(jj), np.int8)])
    o = np.lexsort((seq, pair))  # stable: keeps each line's own vertex order
    joined = shapely.linestrings(coords[o], indices=pair[o])
    used = np.zeros(len(lines), dtype=bool)
    used[i] = used[j] = True
    return np.concatenate([src[~used], src[i]]), np.concatenate([lines[~used], joined])


def reachable_pieces(
    net: WalkNetwork,
    node_dist_m: np.ndarray,
    limit_m: float,
    snap: SnapResult | None = None,
    points: gpd.GeoDataFrame | None = None,
    which: np.ndarray | None = None,
) -> gpd.GeoDataFrame:
    """The reached network as lines in ``net.crs``: whole edges and edges cut exactly.

    Parameters
    ----------
    net, node_dist_m, limit_m, snap, which
        See :func:`reachable_intervals`.
    points : GeoDataFrame, optional
        The snapped points themselves (rows aligned with ``snap``); adds their connectors
        (``kind == "connector"``).

    Returns
    -------
    GeoDataFrame
        ``kind`` (``edge``/``connector``), ``edge``, ``start_m``, ``end_m``, ``full``,
        ``length``, geometry (LineString, ``net.crs``).
    """
    ue = undirected_edges(net)
    iv = reachable_intervals(net, node_dist_m, limit_m, snap=snap, which=which)
    geoms = np.empty(len(iv), dtype=object)
    full = iv["full"].to_numpy()
    e = iv["edge"].to_numpy()
    geoms[full] = ue.geometry[e[full]]
    geoms[~full] = cut_edges(
        ue, e[~full], iv["start_m"].to_numpy()[~full], iv["end_m"].to_numpy()[~full]
    )
    frame = iv.assign(kind="edge")
    if snap is not None and points is not None:
        ok = snap.ok if which is None else snap.ok & which
        idx = np.flatnonzero(ok)
        xy = shapely.get_coordinates(_metric_points(points, net))
        _, lines = _connectors(ue, snap, idx, xy, limit_m)
        if len(lines):
            con = pd.DataFrame(
                {
                    "edge": -1,
                    "start_m": 0.0,
                    "end_m": shapely.length(lines),
                    "full": False,
                    "kind": "connector",
                }
            )
            frame = pd.concat([frame, con], ignore_index=True)
            geoms = np.concatenate([geoms, lines])
    out = gpd.GeoDataFrame(frame, geometry=geoms, crs=net.crs)
    out["length"] = shapely.length(out.geometry.values)
    return out[["kind", "edge", "start_m", "end_m", "full", "length", "geometry"]]


def _metric_points(points: gpd.GeoDataFrame, net: WalkNetwork) -> np.ndarray:
    geoms = points.to_crs(net.crs).geometry.values
    return np.where(shapely.get_type_id(geoms) == 0, geoms, shapely.point_on_surface(geoms))


# --------------------------------------------------------------------------- street blocks
@dataclass
class _Faces:
    """Street blocks (faces of the noded street network) usable as whole-area shortcuts.

    The street lines are noded (split where they cross, even without a shared node) and
    polygonized. Each noded segment (*piece*) is matched to the street(s) holding it. A face is
    *enclosed* for a source when every street with a piece on its boundary is reached in full;
    the union of those boundary pieces' buffers is then ``buffer(face, w)`` minus the face's
    *core* (points farther than ``w`` from its boundary, ``face.buffer(-w)``): one polygon buffer
    replaces many edge buffers. A whole street is left to the blocks only when every one of its
    pieces lies on an enclosed face; other streets (dead ends inside a block, streets beside
    unreached blocks) are buffered on their own. Results equal buffering every edge.
    """

    polygons: np.ndarray
    degree: np.ndarray  # distinct boundary edges per face; -1 for unusable faces
    ef_ptr: np.ndarray  # edge -> faces it bounds (CSR)
    ef_face: np.ndarray
    ep_ptr: np.ndarray  # edge -> its pieces (CSR)
    ep_piece: np.ndarray
    pf_ptr: np.ndarray  # piece -> faces it bounds (CSR)
    pf_face: np.ndarray
    inner_face: np.ndarray | None = None  # edge -> the face holding it (-1: bounds a face / none)
    cores: dict = field(default_factory=dict)

    def __getstate__(self) -> dict:
        # tens of thousands of blocks travel between processes as coordinate arrays (several
        # times faster than pickling each polygon)
        state = dict(self.__dict__)
        polys = state["polygons"]
        if len(polys) and (shapely.get_type_id(polys) == 3).all():
            state["polygons"] = ("ragged", shapely.to_ragged_array(polys))
        return state

    def __setstate__(self, state: dict) -> None:
        polys = state["polygons"]
        if isinstance(polys, tuple) and polys[0] == "ragged":
            state["polygons"] = shapely.from_ragged_array(*polys[1])
        self.__dict__.update(state)

    def core(self, faces: np.ndarray, width_m: float, quad_segs: int) -> np.ndarray:
        """Cores (``face.buffer(-w)``, ``None`` when empty) of some faces, computed once each."""
        key = (float(width_m), int(quad_segs))
        store = self.cores.get(key)
        if store is None:
            store = self.cores[key] = (
                np.full(len(self.polygons), None, dtype=object),
                np.zeros(len(self.polygons), dtype=bool),
            )
        cores, done = store
        faces = np.asarray(faces, dtype=np.int64)
        todo = np.unique(faces[~done[faces]])
        if len(todo):
            done[todo] = True
            # a block whose bounding box is at most 2 w wide or high has no core
            box = shapely.bounds(self.polygons[todo])
            todo = todo[np.minimum(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]) > 2 * width_m]
            ero = shapely.buffer(self.polygons[todo], -width_m, quad_segs=quad_segs)
            # a block barely wider than 2 w erodes to round-off specks, not to a real core
            cores[todo] = np.where(shapely.area(ero) < _MIN_HOLE_M2, None, ero)
        return cores[faces]


_KEYS = ["x1", "y1", "x2", "y2"]


def _seg_keys(coords: np.ndarray, gi: np.ndarray):
    """Canonical integer keys (mm) of the consecutive segments of grouped coordinates."""
    same = gi[1:] == gi[:-1]
    p = np.round(coords[:-1][same] * 1000).astype(np.int64)
    q = np.round(coords[1:][same] * 1000).astype(np.int64)
    swap = (p[:, 0] > q[:, 0]) | ((p[:, 0] == q[:, 0]) & (p[:, 1] > q[:, 1]))
    p2 = np.where(swap[:, None], q, p)
    q2 = np.where(swap[:, None], p, q)
    nonzero = (p2 != q2).any(axis=1)
    keys = pd.DataFrame({"x1": p2[:, 0], "y1": p2[:, 1], "x2": q2[:, 0], "y2": q2[:, 1]})
    return keys[nonzero].reset_index(drop=True), gi[:-1][same][nonzero]


def _csr(keys: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(keys, kind="stable")
    ptr = np.concatenate([[0], np.cumsum(np.bincount(keys, minlength=n))])
    return ptr, values[order]


def _street_faces(ue: UndirectedEdges) -> _Faces:
    cached = ue._buffers.get("faces")
    if cached is not None:
        return cached
    n_e = len(ue)
    empty = np.empty(0, dtype=np.int64)
    noded = shapely.get_parts(shapely.node(shapely.multilinestrings(ue.geometry)))
    faces = shapely.get_parts(shapely.polygonize(noded))
    nf = len(faces)
    usable = np.ones(nf, dtype=bool)
    piece_edge = pf_piece = pf_face = fe_face = fe_edge = empty
    n_piece = 0
    if nf:
        # pieces: the noded segments, each matched to the street(s) holding it
        nc, nci = shapely.get_coordinates(noded, return_index=True)
        pieces = _seg_keys(nc, nci)[0].drop_duplicates().reset_index(drop=True)
        pieces["piece"] = np.arange(len(pieces))
        n_piece = len(pieces)
        gi = np.repeat(np.arange(n_e), ue.vend - ue.vstart + 1)
        ekeys, eseg = _seg_keys(ue.coords, gi)
        m = pieces.merge(ekeys.assign(edge=eseg), on=_KEYS, how="left")
        hit = m["edge"].notna().to_numpy()
        pe_piece = m["piece"].to_numpy()[hit]
        pe_edge = m["edge"].to_numpy()[hit].astype(np.int64)
        miss = pieces[~pieces["piece"].isin(pe_piece)]
        if len(miss):
            # pieces of streets split where another street crosses without a shared node
            mid = shapely.points(
                (miss["x1"] + miss["x2"]).to_numpy() / 2000.0,
                (miss["y1"] + miss["y2"]).to_numpy() / 2000.0,
            )
            si, ei = shapely.STRtree(ue.geometry).query(mid, predicate="dwithin", distance=0.01)
            pe_piece = np.concatenate([pe_piece, miss["piece"].to_numpy()[si]])
            pe_edge = np.concatenate([pe_edge, ei.astype(np.int64)])
        # face boundaries as pieces
        rings, ring_face = shapely.get_rings(faces, return_index=True)
        rc, rci = shapely.get_coordinates(rings, return_index=True)
        fkeys, fseg = _seg_keys(rc, rci)
        fm = fkeys.assign(face=ring_face[fseg]).merge(pieces, on=_KEYS, how="left")
        lost = fm["piece"].isna().to_numpy()
        usable[np.unique(fm["face"].to_numpy()[lost])] = False
        pf = fm.loc[~lost, ["piece", "face"]].astype(np.int64).drop_duplicates()
        pf_piece, pf_face = pf["piece"].to_numpy(), pf["face"].to_numpy()
        # pieces held by no street make their faces unusable
        orphan = np.setdiff1d(pf_piece, pe_piece)
        usable[np.unique(pf_face[np.isin(pf_piece, orphan)])] = False
        # face -> edges through its pieces
        fe = pd.DataFrame({"piece": pe_piece, "edge": pe_edge}).merge(
            pd.DataFrame({"piece": pf_piece, "face": pf_face}), on="piece"
        )
        fe = fe[["face", "edge"]].drop_duplicates()
        fe_face, fe_edge = fe["face"].to_numpy(), fe["edge"].to_numpy()
        piece_edge = (pe_piece, pe_edge)
    degree = np.where(usable, np.bincount(fe_face, minlength=nf), -1)
    ef_ptr, ef_face = _csr(fe_edge, fe_face, n_e)
    if n_piece:
        ep_ptr, ep_piece = _csr(piece_edge[1], piece_edge[0], n_e)
        pf_ptr, pf_face_s = _csr(pf_piece, pf_face, n_piece)
    else:
        ep_ptr = np.zeros(n_e + 1, dtype=np.int64)
        ep_piece, pf_ptr, pf_face_s = empty, np.zeros(1, dtype=np.int64), empty
    out = _Faces(faces, degree, ef_ptr, ef_face, ep_ptr, ep_piece, pf_ptr, pf_face_s)
    out.inner_face = _inner_faces(ue, faces, ef_ptr)
    ue._buffers["faces"] = out
    return out


def _inner_faces(ue: UndirectedEdges, faces: np.ndarray, ef_ptr: np.ndarray) -> np.ndarray:
    """For each street that bounds no block (a dead end, a path into a block): the block that
    holds it whole, or -1."""
    inner = np.full(len(ue), -1, dtype=np.int64)
    bare = np.flatnonzero(np.diff(ef_ptr) == 0)
    if len(bare) and len(faces):
        ei, fi = shapely.STRtree(faces).query(ue.geometry[bare], predicate="covered_by")
        inner[bare[ei]] = fi
    return inner


def prepare_streets(net: WalkNetwork, use_blocks: bool = True, blocks=None) -> UndirectedEdges:
    """Build once what every service area of ``net`` reads: the undirected streets and (with
    ``use_blocks``) the street blocks. Done before a job forks its workers, so that they
    inherit it instead of each building it again.

    ``blocks``: the street blocks already built elsewhere (:func:`street_blocks`, e.g. in a
    process beside this one), adopted as they are.
    """
    ue = undirected_edges(net)
    if blocks is not None:
        ue._buffers["faces"] = blocks
    elif use_blocks:
        _street_faces(ue)
    return ue


def street_blocks(ue: UndirectedEdges) -> _Faces:
    """The street blocks (faces of the noded street network) of the streets ``ue``."""
    return _street_faces(ue)


def _expand(ptr: np.ndarray, values: np.ndarray, keys: np.ndarray):
    """CSR lookup for many keys: ``(row, value)`` pairs (row indexes ``keys``)."""
    cnt = ptr[keys + 1] - ptr[keys]
    row = np.repeat(np.arange(len(keys)), cnt)
    pos = ptr[keys][row] + (np.arange(len(row)) - (np.cumsum(cnt) - cnt)[row])
    return row, values[pos]


# --------------------------------------------------------------------------- assembling
class _Bins:
    """Items grouped by (source, threshold) for quick slicing."""

    def __init__(self, src, t, items, k: int, T: int):
        src = np.asarray(src, dtype=np.int64)
        t = np.asarray(t, dtype=np.int64)
        key = src * T + t
        order = np.argsort(key, kind="stable")
        self.items = items[order] if len(items) else items
        self.bounds = np.searchsorted(key[order], np.arange(k * T + 1))
        self.T = T

    def get(self, f: int, ti: int):
        i = f * self.T + ti
        return self.items[self.bounds[i] : self.bounds[i + 1]]


def _collect(ue: UndirectedEdges, faces, per_t: list, width_m: float, quad_segs: int) -> dict:
    """Sort the reached intervals of every source and threshold into kinds of parts.

    Returns ``{kind: (sources, thresholds, items)}`` lists for the kinds ``faces`` (enclosed
    street blocks), ``cores``, ``lines`` (fast path) or ``edges``/``pieces``/``connectors``
    (reference path, already buffered).
    """
    NF = len(faces.polygons) if faces is not None else 0
    kinds = {
        name: ([], [], []) for name in ("faces", "cores", "edges", "pieces", "connectors", "lines")
    }

    def add(name, src, ti, items):
        kinds[name][0].append(np.asarray(src, dtype=np.int64))
        kinds[name][1].append(np.full(len(src), ti, dtype=np.int64))
        kinds[name][2].append(items)

    for ti, (src, e, a, b, csrc, clines) in enumerate(per_t):
        full = (a <= _EPS) & (b >= ue.length[e] - _EPS)
        sf, ef = src[full], e[full]
        on_face = np.zeros(len(ef), dtype=bool)
        if NF:
            # blocks whose every boundary street is whole
            row, face = _expand(faces.ef_ptr, faces.ef_face, ef)
            pk = sf[row] * NF + face
            uk, c = np.unique(pk, return_counts=True)
            encl = uk[c == faces.degree[uk % NF]]
            add("faces", encl // NF, ti, encl % NF)
            cores = faces.core(encl % NF, width_m, quad_segs)
            has = ~shapely.is_missing(cores)
            add("cores", encl[has] // NF, ti, cores[has])
            # whole streets all of whose pieces lie on an enclosed block need no own buffer
            prow, piece = _expand(faces.ep_ptr, faces.ep_piece, ef)
            frow, pface = _expand(faces.pf_ptr, faces.pf_face, piece)
            covered = np.zeros(len(piece), dtype=bool)
            covered[frow[np.isin(sf[prow[frow]] * NF + pface, encl)]] = True
            n_pieces = np.bincount(prow, minlength=len(ef))
            on_face = (n_pieces > 0) & (np.bincount(prow[covered], minlength=len(ef)) == n_pieces)
            if faces.inner_face is not None:
                # a street inside an enclosed block without a core lies in the block's buffer
                bare = encl[~has]
                fi = faces.inner_face[e]
                inner = (fi >= 0) & np.isin(src * NF + fi, bare)
                on_face |= inner[full]
                keep = ~inner | full
                src, e, a, b, full = src[keep], e[keep], a[keep], b[keep], full[keep]
        cut = cut_edges(ue, e[~full], a[~full], b[~full])
        if faces is not None:
            # fast path: the other reached lines of a source are buffered together, merged
            # into chains (see ``_Builder.fast``)
            add("lines", sf[~on_face], ti, ue.geometry[ef[~on_face]])
            psrc, plines = _pair_at_nodes(ue, src[~full], e[~full], a[~full], b[~full], cut)
            add("lines", psrc, ti, plines)
            if len(clines):
                add("lines", csrc, ti, clines)
            continue
        # reference path: one buffer per street, piece and connector, unioned
        add("edges", sf[~on_face], ti, ue.buffers(ef[~on_face], width_m, quad_segs))
        add("pieces", src[~full], ti, shapely.buffer(cut, width_m, quad_segs=quad_segs))
        if len(clines):
            add("connectors", csrc, ti, shapely.buffer(clines, width_m, quad_segs=quad_segs))
    return kinds


class _Builder:
    """Builds the polygons of one source at every threshold from its sorted parts."""

    def __init__(self, kinds: dict, faces, k: int, T: int, width_m: float, quad_segs: int):
        self.bins = {
            name: _Bins(np.concatenate(s), np.concatenate(t), np.concatenate(items), k, T)
            for name, (s, t, items) in kinds.items()
            if s
        }
        self.faces, self.T, self.width_m, self.quad_segs = faces, T, width_m, quad_segs
        # one field (k == 1): its chains lie scattered over the whole network and fall into
        # many groups that do not touch, unioned apart; one facility's chains all touch
        self.union_all = disjoint_union if k == 1 else shapely.union_all
        self.empty = np.empty(0, dtype=object)

    def get(self, name: str, f: int, ti: int) -> np.ndarray:
        return self.bins[name].get(f, ti) if name in self.bins else self.empty

    def blocks(self, f: int, ti: int):
        fids = self.get("faces", f, ti)
        if not len(fids):
            return None
        block = shapely.coverage_union_all(self.faces.polygons[fids])
        block = shapely.buffer(block, self.width_m, quad_segs=self.quad_segs)
        cores = self.get("cores", f, ti)
        return _with_holes(block, cores) if len(cores) else block

    def fast(self, f: int) -> list:
        out = []
        for ti in range(self.T):
            parts = [self.blocks(f, ti)]
            lines = self.get("lines", f, ti)
            if len(lines):
                # the lines merged into chains where they meet end to end: one buffer per chain
                # instead of one round-capped buffer per piece (the same set)
                chains = shapely.line_merge(shapely.multilinestrings(lines))
                if shapely.get_num_coordinates(chains) > _ONE_BUFFER_MAX:
                    chains = shapely.get_parts(chains)
                bufs = shapely.buffer(chains, self.width_m, quad_segs=self.quad_segs)
                if isinstance(bufs, np.ndarray):
                    parts.extend(bufs)
                else:
                    parts.append(bufs)
            parts = [p for p in parts if p is not None]
            if not parts:
                out.append(shapely.Polygon())
            elif len(parts) == 1:
                out.append(parts[0])
            elif len(parts) == 2:
                out.append(shapely.union(parts[0], parts[1]))
            else:
                out.append(self.union_all(parts))
        return out

    def reference(self, f: int) -> list:
        out = []
        for ti in range(self.T):
            parts = [self.blocks(f, ti)] if self.faces is not None else []
            parts = [p for p in parts if p is not None]
            for name in ("edges", "pieces", "connectors"):
                parts.extend(self.get(name, f, ti))
            out.append(_fill_specks(shapely.union_all(parts)) if parts else shapely.Polygon())
        return out


def _assemble(
    ue: UndirectedEdges,
    k: int,
    per_t: list,
    width_m: float,
    quad_segs: int,
    use_faces: bool = True,
    n_jobs: int = 1,
    progress: bool = False,
    desc: str = "服务范围多边形",
) -> np.ndarray:
    """Polygons (k, T) from reached intervals per threshold.

    ``per_t[ti] = (src, edge, start, end, con_src, con_lines)``: merged intervals of each source
    at threshold ``ti`` and its connector lines. A source's polygon at a threshold is the union
    of: the buffer of the street blocks enclosed by its whole reached edges (minus the blocks'
    cores) and the buffer of its other reached lines (whole edges off the blocks, cut pieces
    paired at their nodes, connectors), merged into chains and buffered in one call. Without
    ``use_faces`` (the reference): the union of the cached buffers of its whole edges and the
    buffers of its pieces and connectors.
    """
    T = len(per_t)
    faces = _street_faces(ue) if use_faces else None
    kinds = _collect(ue, faces, per_t, width_m, quad_segs)
    builder = _Builder(kinds, faces, k, T, width_m, quad_segs)
    build = builder.fast if faces is not None else builder.reference
    bar = None
    if progress and k > 1:
        from tqdm.auto import tqdm

        bar = tqdm(total=k, desc=desc, unit="个", leave=False)
    result = np.empty((k, T), dtype=object)
    if n_jobs and n_jobs > 1 and k > 1:
        with ThreadPoolExecutor(n_jobs) as ex:
            for f, row in zip(range(k), ex.map(build, range(k)), strict=True):
                result[f, :] = row
                if bar is not None:
                    bar.update()
    else:
        for f in range(k):
            result[f, :] = build(f)
            if bar is not None:
                bar.update()
    if bar is not None:
        bar.close()
    return _fill_specks_many(result) if faces is not None else result


def _with_holes(block, cores: np.ndarray):
    """``block`` minus the ``cores`` of its blocks, the cores put in as holes (no overlay).

    A core (``face.buffer(-w)``) lies inside its face, farther than ``w`` from the face's
    boundary; the block polygon (the faces' union buffered by ``w``) has its own holes only
    outside the faces, and cores of different faces lie at least ``2 w`` apart. So every core is
    a hole of the part that holds it, apart from every other ring: the same set as
    ``difference(block, cores)`` (which cost more than the buffer itself). A core not found
    inside a part (round-off) falls back to the overlay.
    """
    cores = shapely.get_parts(cores)
    cores = cores[shapely.get_type_id(cores) == 3]
    if not len(cores):
        return block
    parts = shapely.get_parts(block)
    rings = shapely.get_exterior_ring(cores)
    first = shapely.get_point(rings, 0)
    if len(parts) == 1:
        owner = np.where(shapely.contains(parts[0], first), 0, -1)
    else:
        owner = np.full(len(cores), -1, dtype=np.int64)
        ci, pi = shapely.STRtree(parts).query(first, predicate="within")
        owner[ci] = pi
    out = []
    for p_i, part in enumerate(parts):
        mine = rings[owner == p_i]
        if len(mine):
            holes = shapely.get_interior_ring(part, np.arange(shapely.get_num_interior_rings(part)))
            part = shapely.polygons(shapely.get_exterior_ring(part), np.concatenate([holes, mine]))
        out.append(part)
    block = out[0] if len(out) == 1 else shapely.multipolygons(out)
    lost = cores[owner < 0]
    return shapely.difference(block, shapely.multipolygons(lost)) if len(lost) else block


def disjoint_union(geoms):
    """Union of polygons; groups that do not touch each other are unioned separately."""
    return _UNION(np.asarray(geoms, dtype=object))


#: ``disjoint_subset_union_all`` (shapely >= 2.1, GEOS >= 3.12) splits the input into groups that
#: do not touch each other and unions each alone: 3-5x faster for scattered facilities.
_UNION = getattr(shapely, "disjoint_subset_union_all", shapely.union_all)


def _fill_specks(geom):
    """Fill holes smaller than :data:`_MIN_HOLE_M2` (round-off where buffers just touch)."""
    return _fill_specks_many(np.array([geom], dtype=object))[0]


def _fill_specks_many(geoms: np.ndarray) -> np.ndarray:
    """:func:`_fill_specks` of many geometries at once (vectorised; rebuilds only the few)."""
    geoms = np.asarray(geoms, dtype=object)
    flat = geoms.ravel()
    parts, owner = shapely.get_parts(flat, return_index=True)
    n_holes = shapely.get_num_interior_rings(parts)
    if not n_holes.any():
        return geoms
    ring_part = np.repeat(np.arange(len(parts)), n_holes)
    ring_no = np.arange(len(ring_part)) - (np.cumsum(n_holes) - n_holes)[ring_part]
    rings = shapely.get_interior_ring(parts[ring_part], ring_no)
    small = shapely.area(shapely.polygons(rings)) < _MIN_HOLE_M2
    if not small.any():
        return geoms
    out = flat.copy()
    for g in np.unique(owner[ring_part[small]]):
        fixed = []
        for p in np.flatnonzero(owner == g):
            mine = ring_part == p
            if (mine & small).any():
                keep = rings[mine & ~small]
                fixed.append(shapely.Polygon(parts[p].exterior, list(keep)))
            else:
                fixed.append(parts[p])
        out[g] = fixed[0] if len(fixed) == 1 else shapely.MultiPolygon(fixed)
    return out.reshape(geoms.shape)


def _field_intervals(
    ue: UndirectedEdges,
    node_dist: np.ndarray,
    limit: float,
    snap: SnapResult | None,
    idx: np.ndarray,
):
    nodes = np.flatnonzero(node_dist < limit)
    s1, e1, a1, b1 = _expand_reach(
        ue, np.zeros(len(nodes), np.int64), nodes, node_dist[nodes], limit
    )
    if snap is not None and len(idx):
        s2, e2, a2, b2 = _own_edge(ue, snap, idx, np.zeros(len(idx), np.int64), limit)
        e1, a1, b1 = np.concatenate([e1, e2]), np.concatenate([a1, a2]), np.concatenate([b1, b2])
    e, a, b = _merge_intervals(e1, a1, b1)
    keep = b - a > _EPS
    return np.zeros(int(keep.sum()), np.int64), e[keep], a[keep], b[keep]


def reachable_polygon(
    net: WalkNetwork,
    node_dist_m: np.ndarray,
    limit_m: float,
    width_m: float = DEFAULT_WIDTH_M,
    snap: SnapResult | None = None,
    points: gpd.GeoDataFrame | None = None,
    which: np.ndarray | None = None,
    quad_segs: int = DEFAULT_QUAD_SEGS,
    use_blocks: bool = True,
):
    """Network-based service area of a distance field, in ``net.crs``.

    Whole reached edges plus partly reached edges cut at exactly the remaining distance (see the
    module notes), buffered by ``width_m`` and unioned.

    Parameters
    ----------
    net : WalkNetwork
    node_dist_m : ndarray
        Walking metres to every node (``inf`` where unreached).
    limit_m : float
        Walking distance allowed (e.g. ``settings.threshold_cost(profile, minutes=10)``).
    width_m : float
        Buffer width around reached streets (default :data:`DEFAULT_WIDTH_M` = 50 m).
    snap, points, which
        Sources of the field: adds their own-edge stretches and, with ``points``, connectors.
    quad_segs : int
        Segments per quarter circle of the buffers.
    use_blocks : bool
        Replace street blocks enclosed by whole reached edges with one block buffer (same result,
        faster); ``False`` unions the edge buffers one by one.

    Returns
    -------
    shapely Polygon or MultiPolygon (empty when nothing is reached), in ``net.crs``.
    """
    ue = undirected_edges(net)
    idx = _sources(snap, which)
    d = np.asarray(node_dist_m, dtype=float)
    src, e, a, b = _field_intervals(ue, d, float(limit_m), snap, idx)
    csrc, clines = np.empty(0, np.int64), np.empty(0, dtype=object)
    if snap is not None and points is not None and len(idx):
        xy = shapely.get_coordinates(_metric_points(points, net))
        cidx, clines = _connectors(ue, snap, idx, xy, float(limit_m))
        csrc = np.zeros(len(cidx), np.int64)
    per_t = [(src, e, a, b, csrc, clines)]
    return _assemble(ue, 1, per_t, width_m, quad_segs, use_faces=use_blocks)[0, 0]


# --------------------------------------------------------------------------- per facility
@dataclass
class FacilityAreas:
    """Service areas of single facilities and their union, per threshold (all in ``net.crs``).

    Attributes
    ----------
    limits_m : ndarray
        Thresholds in walking metres (ascending).
    points : ndarray
        Indices (into the snap result / the facilities) of the facilities with areas.
    polygons : ndarray of geometry, shape (len(points), len(limits_m))
    union : ndarray of geometry, shape (len(limits_m),)
        Area reached from the nearest facility: the union of :attr:`polygons`, built from the
        nearest-facility field exactly as :func:`reachable_polygon` does.
    node_dist_m : ndarray
        The nearest-facility field (bounded at the largest threshold).
    """

    limits_m: np.ndarray
    points: np.ndarray
    polygons: np.ndarray
    union: np.ndarray
    node_dist_m: np.ndarray


def facility_service_areas(
    net: WalkNetwork,
    snap: SnapResult,
    limits_m,
    width_m: float = DEFAULT_WIDTH_M,
    points: gpd.GeoDataFrame | None = None,
    which: np.ndarray | None = None,
    quad_segs: int = DEFAULT_QUAD_SEGS,
    n_jobs: int = 1,
    per_facility: bool = True,
    use_blocks: bool = True,
    progress: bool = False,
) -> FacilityAreas:
    """One service-area polygon per facility and one union, for each threshold.

    Parameters
    ----------
    net : WalkNetwork
    snap : SnapResult
        Snapped facilities (points beyond the snap limit get no area).
    limits_m : sequence of float
        Thresholds in walking metres.
    width_m, quad_segs, use_blocks
        Buffer width and roundness, block shortcut (see :func:`reachable_polygon`).
    points : GeoDataFrame, optional
        The facilities (aligned with ``snap``): adds the connector from each door to its street.
    which : ndarray of bool, optional
        Subset of facilities (e.g. one category).
    n_jobs : int
        Threads for the per-facility unions (GEOS releases the GIL).
    per_facility : bool
        ``False`` builds only the unions.
    progress : bool
        Show tqdm progress bars.
    """
    limits = np.sort(np.asarray(list(limits_m), dtype=float))
    ue = undirected_edges(net)
    idx = _sources(snap, which)
    k, T = len(idx), len(limits)
    xy = shapely.get_coordinates(_metric_points(points, net)) if points is not None else None
    no_lines = np.empty(0, dtype=object)
    none = np.empty(0, np.int64)

    field_d = seed_distances(net, snap, which, limit_m=float(limits[-1]) if T else np.inf)
    polys = np.full((k, T), None, dtype=object)
    if k and per_facility:
        pt, node, dist = facility_reach(
            net, snap, float(limits[-1]), which=which, progress=progress
        )
        local = np.full(len(snap), -1, dtype=np.int64)
        local[idx] = np.arange(k)
        src_all = local[pt]
        E = max(len(ue), 1)
        per_t = []
        for lim in limits:
            s1, e1, a1, b1 = _expand_reach(ue, src_all, node, dist, lim)
            s2, e2, a2, b2 = _own_edge(ue, snap, idx, np.arange(k), lim)
            key = np.concatenate([s1, s2]) * E + np.concatenate([e1, e2])
            key, a, b = _merge_intervals(key, np.concatenate([a1, a2]), np.concatenate([b1, b2]))
            keep = b - a > _EPS
            key, a, b = key[keep], a[keep], b[keep]
            csrc, clines = none, no_lines
            if xy is not None:
                cidx, clines = _connectors(ue, snap, idx, xy, lim)
                csrc = local[cidx]
            per_t.append((key // E, key % E, a, b, csrc, clines))
        polys = _assemble(
            ue, k, per_t, width_m, quad_segs, use_faces=use_blocks, n_jobs=n_jobs, progress=progress
        )
        # the union of the facilities' polygons: the same set as the field's reachable polygon
        union = np.array([_union_parallel(polys[:, ti], n_jobs) for ti in range(T)], dtype=object)
    elif k:
        union = _field_polygons(ue, field_d, limits, snap, idx, xy, width_m, quad_segs, use_blocks)
    else:
        union = np.array([shapely.Polygon() for _ in range(T)], dtype=object)
    return FacilityAreas(limits, idx, polys, union, field_d)


def _union_parallel(geoms: np.ndarray, n_jobs: int):
    geoms = geoms[~shapely.is_missing(geoms)]
    if n_jobs and n_jobs > 1 and len(geoms) > 8:
        chunks = np.array_split(geoms, n_jobs)
        with ThreadPoolExecutor(n_jobs) as ex:
            geoms = np.array(list(ex.map(disjoint_union, chunks)), dtype=object)
    return disjoint_union(geoms) if len(geoms) else shapely.Polygon()


def _field_polygons(ue, field_d, limits, snap, idx, xy, width_m, quad_segs, use_blocks):
    per_t = []
    for lim in limits:
        src, e, a, b = _field_intervals(ue, field_d, lim, snap, idx)
        csrc, clines = np.empty(0, np.int64), np.empty(0, dtype=object)
        if xy is not None and len(idx):
            cidx, clines = _connectors(ue, snap, idx, xy, lim)
            csrc = np.zeros(len(cidx), np.int64)
        per_t.append((src, e, a, b, csrc, clines))
    return _assemble(ue, 1, per_t, width_m, quad_segs, use_faces=use_blocks)[0]
