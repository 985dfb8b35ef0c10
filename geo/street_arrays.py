"""The street graph as arrays: read from networkx once, cleaned with numpy, rebuilt on demand.

:meth:`lifecircle.geo.network.WalkNetwork.from_graph` cleans a raw street graph (drop isolated
nodes and non-walkable edges, add the missing reverse edges, drop self loops, keep the largest
strongly connected component). Doing that through networkx copies the graph and edits it edge by
edge; a 200k-node network spent most of its loading time there. :class:`StreetArrays` reads the
nodes and edges once and does each step on arrays, keeping networkx's order (nodes in input
order; each node's edges in input order, then the reverse edges added for it), so the cleaned
graph has the same nodes, edges, keys and attributes. The networkx graph itself is only built
when something asks for it (:meth:`StreetArrays.to_networkx`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from scipy import sparse
from scipy.sparse import csgraph

from ..settings import WGS84

__all__ = ["StreetArrays"]


@dataclass
class StreetArrays:
    """Nodes and directed edges of a street graph, in the order networkx would keep them.

    Attributes
    ----------
    graph_attrs : dict
        The graph's attributes (``crs`` is WGS84).
    ids : list
        Node ids.
    node_data : list of dict
        Each node's attributes as given (not copied; never modified).
    lonlat : ndarray, shape (n, 2)
        Node coordinates in WGS84.
    u, v : ndarray of int
        Edge ends as node positions.
    key : ndarray of int
        Edge keys.
    data : list of dict
        The input edges' attributes (the input's dicts, never modified).
    src : ndarray of int
        Each edge's row of :attr:`data`.
    rev : ndarray of bool
        Added reverse edges: :attr:`data` of the edge they reverse, with the geometry reversed
        and ``reversed=True`` (see :meth:`edge_attrs`).
    """

    graph_attrs: dict
    ids: list
    node_data: list
    lonlat: np.ndarray
    u: np.ndarray
    v: np.ndarray
    key: np.ndarray
    data: list
    src: np.ndarray
    rev: np.ndarray
    projected: bool = False

    @classmethod
    def read(cls, graph: nx.MultiDiGraph) -> StreetArrays:
        """Read a MultiDiGraph (nodes with ``x``/``y``; a projected graph is converted)."""
        attrs = dict(graph.graph)
        attrs.setdefault("crs", WGS84)
        ids = list(graph.nodes)
        node_data = [graph.nodes[n] for n in ids]
        x = np.array([d["x"] for d in node_data], dtype=float)
        y = np.array([d["y"] for d in node_data], dtype=float)
        gcrs = CRS.from_user_input(attrs["crs"])
        projected = not gcrs.is_geographic
        if projected:
            x, y = Transformer.from_crs(gcrs, WGS84, always_xy=True).transform(x, y)
        if projected or gcrs.to_epsg() != 4326:
            attrs["crs"] = WGS84
        rows = list(graph.edges(keys=True, data=True))
        us, vs, keys, data = map(list, zip(*rows, strict=True)) if rows else ([], [], [], [])
        index = pd.Index(ids)
        u = index.get_indexer(us).astype(np.int64)
        v = index.get_indexer(vs).astype(np.int64)
        if projected:
            # edge geometries are rebuilt in the metric CRS from the nodes: drop projected ones
            data = [{k: val for k, val in d.items() if k != "geometry"} for d in data]
        key = np.array(keys, dtype=np.int64)
        lonlat = np.column_stack([x, y])
        src = np.arange(len(rows))
        rev = np.zeros(len(rows), dtype=bool)
        return cls(attrs, ids, node_data, lonlat, u, v, key, data, src, rev, projected)

    @property
    def n_nodes(self) -> int:
        return len(self.ids)

    def _take_edges(self, keep: np.ndarray) -> None:
        self.u, self.v, self.key = self.u[keep], self.v[keep], self.key[keep]
        self.src, self.rev = self.src[keep], self.rev[keep]

    def edge_attrs(self, i: int) -> dict:
        """A new dict of edge ``i``'s attributes."""
        d = dict(self.data[self.src[i]])
        if self.rev[i]:
            if d.get("geometry") is not None:
                d["geometry"] = shapely.reverse(d["geometry"])
            d["reversed"] = True
        return d

    def column(self, name: str, fn=lambda x: x) -> list:
        """``fn(attribute)`` of every edge (computed once per input edge)."""
        values = np.empty(len(self.data), dtype=object)
        values[:] = [fn(d.get(name)) for d in self.data]
        return values[self.src].tolist()

    def _degree(self) -> np.ndarray:
        n = self.n_nodes
        return np.bincount(self.u, minlength=n) + np.bincount(self.v, minlength=n)

    def keep_nodes(self, keep: np.ndarray) -> np.ndarray:
        """Keep some nodes (and the edges between kept nodes); returns the dropped positions."""
        keep = np.asarray(keep, dtype=bool)
        new = np.cumsum(keep) - 1
        self._take_edges(keep[self.u] & keep[self.v])
        self.u, self.v = new[self.u], new[self.v]
        pos = np.flatnonzero(keep).tolist()
        self.ids = [self.ids[i] for i in pos]
        self.node_data = [self.node_data[i] for i in pos]
        self.lonlat = self.lonlat[keep]
        return np.flatnonzero(~keep)

    def drop_isolated(self) -> int:
        """Drop nodes on no edge; returns how many."""
        return len(self.keep_nodes(self._degree() > 0))

    def drop_edges(self, walkable: Callable[[dict], bool], tags: tuple) -> tuple[int, int]:
        """Drop the edges ``walkable`` refuses and the nodes left on no edge: ``(edges, nodes)``.

        ``walkable`` reads only ``tags``: it is asked once per distinct combination of them.
        """
        memo: dict = {}

        def ok(d: dict) -> bool:
            k = tuple(map(d.get, tags))
            if not all(type(x) in _PLAIN for x in k):
                # lists, numbers (0 == 0.0 == False but read differently): typed keys
                try:
                    k = (None, *map(_hashable, k))
                except TypeError:
                    return walkable(d)
            if k not in memo:
                memo[k] = walkable(d)
            return memo[k]

        good = np.array([ok(self.data[i]) for i in self.src.tolist()], dtype=bool)
        n_bad = int((~good).sum())
        if not n_bad:
            return 0, 0
        self._take_edges(good)
        return n_bad, self.drop_isolated()

    def add_reverse(self) -> int:
        """Add ``v→u`` for every edge ``u→v`` without one (the first of parallel edges gives it).

        The reverse carries a copy of the edge's attributes, its geometry reversed and
        ``reversed=True``; it goes after the node's own edges, as networkx appends it.
        """
        n = self.n_nodes
        pair = pd.Index(self.u * n + self.v)
        cand = (self.u != self.v) & ~pd.Index(self.v * n + self.u).isin(pair)
        idx = np.flatnonzero(cand)
        idx = idx[~pair[idx].duplicated()]
        if not len(idx):
            return 0
        u = np.concatenate([self.u, self.v[idx]])
        v = np.concatenate([self.v, self.u[idx]])
        key = np.concatenate([self.key, np.zeros(len(idx), dtype=np.int64)])
        src = np.concatenate([self.src, self.src[idx]])
        rev = np.concatenate([self.rev, np.ones(len(idx), dtype=bool)])
        # networkx order: each node's edges as given, then the reverse edges added for it
        order = np.lexsort((np.arange(len(u)), rev, u))
        self.u, self.v, self.key = u[order], v[order], key[order]
        self.src, self.rev = src[order], rev[order]
        return len(idx)

    def drop_loops(self) -> None:
        """Drop self loops (they carry no walking)."""
        loop = self.u == self.v
        if loop.any():
            self._take_edges(~loop)

    def components(self) -> tuple[np.ndarray, np.ndarray]:
        """Strongly connected components: ``(label per node, sizes)``."""
        n = self.n_nodes
        adj = sparse.csr_matrix((np.ones(len(self.u)), (self.u, self.v)), shape=(n, n))
        _, labels = csgraph.connected_components(adj, directed=True, connection="strong")
        return labels, np.bincount(labels)

    def subgraph(self, nodes: np.ndarray) -> nx.MultiDiGraph:
        """A networkx graph of some nodes and the edges between them (dropped fragments)."""
        inside = np.zeros(self.n_nodes, dtype=bool)
        inside[nodes] = True
        e = np.flatnonzero(inside[self.u] & inside[self.v])
        G = nx.MultiDiGraph(**self.graph_attrs)
        G.add_nodes_from((self.ids[i], self._node_attrs(i)) for i in np.flatnonzero(inside))
        G.add_edges_from(
            (self.ids[self.u[i]], self.ids[self.v[i]], int(self.key[i]), self.edge_attrs(i))
            for i in e.tolist()
        )
        return G

    def _node_attrs(self, i: int) -> dict:
        d = dict(self.node_data[i])
        if self.projected:
            d["x"], d["y"] = float(self.lonlat[i, 0]), float(self.lonlat[i, 1])
        return d

    def to_networkx(self, edge_values: dict[str, np.ndarray], metric: CRS) -> nx.MultiDiGraph:
        """The cleaned graph: nodes and edges in this order, ``edge_values`` set on the edges."""
        G = nx.MultiDiGraph(**self.graph_attrs)
        G.graph["metric_crs"] = metric.to_string()
        G.add_nodes_from((n, self._node_attrs(i)) for i, n in enumerate(self.ids))
        cols = {k: np.asarray(a).tolist() for k, a in edge_values.items()}
        ids = self.ids
        G.add_edges_from(
            (ids[a], ids[b], k, self.edge_attrs(i) | {c: vals[i] for c, vals in cols.items()})
            for i, (a, b, k) in enumerate(
                zip(self.u.tolist(), self.v.tolist(), self.key.tolist(), strict=True)
            )
        )
        return G


_PLAIN = (str, type(None))


def _hashable(value):
    """A hashable stand-in for a tag value (lists and sets as tuples, typed)."""
    if isinstance(value, list | tuple | set):
        return (type(value).__name__, *(_hashable(v) for v in value))
    hash(value)
    return (type(value).__name__, value)
