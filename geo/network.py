"""Walking networks: one small object holding the graph and the arrays the fast path needs.

:class:`WalkNetwork` wraps an osmnx-style ``networkx.MultiDiGraph`` (nodes with ``x``/``y`` in
WGS84, edges with ``length`` in metres) and derives, once:

* node ids and node coordinates in the metric CRS (EPSG:32651 in Shanghai, the local UTM zone
  elsewhere);
* an edge table (GeoDataFrame in the metric CRS) with integer end indices, length, travel time for
  every speed profile, name and highway class;
* CSR adjacency matrices for :mod:`scipy.sparse.csgraph`.

Pedestrians ignore one-way rules, so every edge is walkable both ways: :meth:`WalkNetwork.from_graph`
adds the missing reverse edges. Roads a pedestrian cannot use (motorways, ``foot=no``, elevated or
tunnelled trunk roads) are removed, and only the largest strongly connected component is kept; what
was dropped is reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy import sparse

from ..settings import PROFILES, WGS84, SpeedProfile, get_profile
from .crs import metric_crs_for
from .report import LoadReport

__all__ = ["WalkNetwork", "walkable_edge", "NOT_WALKABLE_HIGHWAYS"]

#: Highway classes never walked on.
NOT_WALKABLE_HIGHWAYS = frozenset({"motorway", "motorway_link", "construction", "proposed",
                                   "raceway", "bus_guideway", "abandoned", "platform"})
_ELEVATED_ONLY = frozenset({"trunk", "trunk_link"})


def _first(value):
    """osmnx stores merged attributes as lists; take the first."""
    if isinstance(value, list | tuple | set):
        return next(iter(value), None)
    return value


def _truthy(value) -> bool:
    value = _first(value)
    return value is not None and str(value).lower() not in ("no", "false", "0", "nan", "none", "")


def walkable_edge(data: dict) -> bool:
    """Whether an OSM edge can be walked.

    Not walkable: motorways and their links, ``foot=no``/``access=no|private`` (unless
    ``foot=yes``), and trunk roads on bridges or in tunnels (Shanghai's 高架 expressways are
    tagged trunk). Ground-level trunk roads have pavements and stay walkable.
    """
    hw = data.get("highway")
    hws = set(hw) if isinstance(hw, list | tuple | set) else {hw}
    if hws and hws <= NOT_WALKABLE_HIGHWAYS:
        return False
    foot = str(_first(data.get("foot")) or "").lower()
    if foot in ("no", "private"):
        return False
    access = str(_first(data.get("access")) or "").lower()
    if access in ("no", "private") and foot not in ("yes", "designated", "permissive"):
        return False
    return not (hws and hws <= _ELEVATED_ONLY
                and (_truthy(data.get("bridge")) or _truthy(data.get("tunnel"))))


@dataclass
class WalkNetwork:
    """A walking network with the arrays that fast searches need.

    Build it with :meth:`from_graph` (or a loader in this module); do not fill the fields by hand.

    Attributes
    ----------
    graph : networkx.MultiDiGraph
        osmnx-style graph in WGS84; every edge has ``length`` (m) and ``travel_time_<profile>`` (s).
    crs : pyproj.CRS
        The metric CRS of :attr:`xy` and :attr:`edges`.
    node_ids : numpy.ndarray
        Node ids (OSM ids) in index order.
    xy : numpy.ndarray
        ``(n, 2)`` node coordinates in :attr:`crs`.
    lonlat : numpy.ndarray
        ``(n, 2)`` node coordinates in WGS84.
    edges : geopandas.GeoDataFrame
        One row per directed edge, in :attr:`crs`: ``u``, ``v``, ``key``, ``u_idx``, ``v_idx``,
        ``length``, ``travel_time_<profile>``, ``name``, ``highway``, ``geometry`` (oriented u→v).
    profiles : dict
        Speed profiles whose travel times the edges carry.
    report : LoadReport
        What loading and cleaning kept and dropped.
    source : str
        Where the network came from.
    """

    graph: nx.MultiDiGraph
    crs: CRS
    node_ids: np.ndarray
    xy: np.ndarray
    lonlat: np.ndarray
    edges: gpd.GeoDataFrame
    profiles: dict[str, SpeedProfile]
    report: LoadReport
    source: str = ""
    _csr_cache: dict = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_graph(
        cls,
        graph: nx.MultiDiGraph | nx.MultiGraph | nx.Graph | nx.DiGraph,
        metric_crs: str | CRS | None = None,
        profiles: Iterable[str | SpeedProfile] | None = None,
        keep_largest: bool = True,
        filter_walkable: bool = True,
        source: str = "",
        report: LoadReport | None = None,
    ) -> WalkNetwork:
        """Build a walking network from an osmnx-style graph.

        Parameters
        ----------
        graph : networkx graph
            Nodes need ``x``/``y``; in WGS84 unless ``graph.graph["crs"]`` says otherwise
            (a projected graph is accepted and converted). Edge ``length`` is recomputed from the
            edge geometry (or the straight segment) in the metric CRS.
        metric_crs : str or CRS, optional
            Metric CRS; default: EPSG:32651 in Shanghai, else the local UTM zone.
        profiles : iterable, optional
            Speed profiles to precompute travel times for; default all of
            :data:`lifecircle.settings.PROFILES`.
        keep_largest : bool
            Keep only the largest strongly connected component (reported).
        filter_walkable : bool
            Drop edges a pedestrian cannot use (see :func:`walkable_edge`).
        source : str
            Description of the origin, for reports.
        report : LoadReport, optional
            Report to extend (a loader's); a new one otherwise.
        """
        report = report or LoadReport(source or "graph")
        G = nx.MultiDiGraph(graph)  # copy; also upgrades Graph/DiGraph/MultiGraph
        G.graph.update(graph.graph)
        G.graph.setdefault("crs", WGS84)
        report.n_input = G.number_of_nodes()
        if G.number_of_nodes() == 0:
            raise ValueError(f"{report.source}: the network has no nodes")

        # coordinates: bring nodes to WGS84 lon/lat
        ids = list(G.nodes)
        x = np.array([G.nodes[n]["x"] for n in ids], dtype=float)
        y = np.array([G.nodes[n]["y"] for n in ids], dtype=float)
        gcrs = CRS.from_user_input(G.graph["crs"])
        if not gcrs.is_geographic:
            from pyproj import Transformer

            lon, lat = Transformer.from_crs(gcrs, WGS84, always_xy=True).transform(x, y)
            for n, a, b in zip(ids, lon, lat, strict=True):
                G.nodes[n]["x"], G.nodes[n]["y"] = float(a), float(b)
            # edge geometries are rebuilt below in the metric CRS; drop projected ones
            for _, _, d in G.edges(data=True):
                d.pop("geometry", None)
            G.graph["crs"] = WGS84
        elif gcrs.to_epsg() != 4326:
            G.graph["crs"] = WGS84

        isolated = [n for n, deg in G.degree() if deg == 0]
        if isolated:
            G.remove_nodes_from(isolated)
            report.note(f"dropped {len(isolated)} nodes that lie on no street")

        # walkability
        if filter_walkable:
            bad = [(u, v, k) for u, v, k, d in G.edges(keys=True, data=True) if not walkable_edge(d)]
            if bad:
                G.remove_edges_from(bad)
                stranded = [n for n, deg in G.degree() if deg == 0]
                G.remove_nodes_from(stranded)
                report.note(f"removed {len(bad)} directed edges not open to pedestrians "
                            "(motorway, foot=no, elevated/tunnel trunk) and the "
                            f"{len(stranded)} nodes only they reached")

        # pedestrians walk both ways: add reverse edges (geometry reversed)
        added = 0
        for u, v, k, d in list(G.edges(keys=True, data=True)):
            if u == v or G.has_edge(v, u):
                continue
            rd = dict(d)
            if "geometry" in rd and rd["geometry"] is not None:
                rd["geometry"] = shapely.reverse(rd["geometry"])
            rd["reversed"] = True
            G.add_edge(v, u, **rd)
            added += 1
        if added:
            report.note(f"added {added} reverse edges: one-way rules do not bind pedestrians")

        # self loops carry no walking
        loops = list(nx.selfloop_edges(G, keys=True))
        if loops:
            G.remove_edges_from(loops)

        # largest strongly connected component
        if keep_largest and G.number_of_nodes():
            comps = list(nx.strongly_connected_components(G))
            largest = max(comps, key=len)
            dropped = G.number_of_nodes() - len(largest)
            if dropped:
                share = dropped / G.number_of_nodes()
                report.note(f"kept the largest connected walking component: dropped {dropped} of "
                            f"{G.number_of_nodes()} street nodes ({share:.1%}) in {len(comps) - 1} "
                            "smaller components")
                report.stats["dropped_component_nodes"] = dropped
                report.stats["dropped_component_share"] = share
                G = G.subgraph(largest).copy()
            else:
                report.note("the walking network is connected: no nodes dropped")
        if G.number_of_edges() == 0:
            raise ValueError(f"{report.source}: no walkable edges left")
        report.n_loaded = G.number_of_nodes()
        report.n_input = max(report.n_input, report.n_loaded)

        metric = CRS.from_user_input(metric_crs) if metric_crs else None
        profs = {p.name: p for p in (get_profile(p) for p in (profiles or PROFILES.values()))}
        return cls._derive(G, metric, profs, report, source or report.source)

    @classmethod
    def _derive(cls, G: nx.MultiDiGraph, metric: CRS | None,
                profiles: dict[str, SpeedProfile], report: LoadReport, source: str) -> WalkNetwork:
        from pyproj import Transformer

        ids = np.array(list(G.nodes), dtype=np.int64)
        lonlat = np.array([(G.nodes[n]["x"], G.nodes[n]["y"]) for n in ids.tolist()], dtype=float)
        if metric is None:
            metric = metric_crs_for((float(np.mean(lonlat[:, 0])), float(np.mean(lonlat[:, 1]))))
        tr = Transformer.from_crs(WGS84, metric, always_xy=True)
        mx, my = tr.transform(lonlat[:, 0], lonlat[:, 1])
        xy = np.column_stack([mx, my])
        index = pd.Index(ids)

        rows = list(G.edges(keys=True, data=True))
        u = np.array([r[0] for r in rows], dtype=np.int64)
        v = np.array([r[1] for r in rows], dtype=np.int64)
        keys = np.array([r[2] for r in rows], dtype=np.int64)
        u_idx = index.get_indexer(u)
        v_idx = index.get_indexer(v)

        def project(line):
            return shapely.transform(line, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))

        geoms = []
        for (_, _, _, d), a, b in zip(rows, u_idx, v_idx, strict=True):
            g = d.get("geometry")
            if g is None:
                geoms.append(shapely.LineString([xy[a], xy[b]]))
            else:
                geoms.append(project(g))
        geoms = np.array(geoms, dtype=object)
        # Lengths come from the metric geometry: within 0.04 % of the geodesic in a UTM zone,
        # closer than osmnx's spherical haversine (about +0.3 % north-south at Shanghai's
        # latitude), and consistent with snapping and with cutting edges at a remaining distance.
        length = shapely.length(geoms)

        def attr(name):
            return [_first(d.get(name)) for _, _, _, d in rows]

        table = {
            "u": u, "v": v, "key": keys, "u_idx": u_idx, "v_idx": v_idx, "length": length,
            "name": attr("name"), "highway": attr("highway"),
        }
        for p in profiles.values():
            table[p.time_attr] = length / p.speed_mps
        edges = gpd.GeoDataFrame(table, geometry=geoms, crs=metric)

        # write lengths and travel times back onto the graph
        for (_, _, _, d), ln in zip(rows, length, strict=True):
            d["length"] = float(ln)
            for p in profiles.values():
                d[p.time_attr] = float(ln) / p.speed_mps
        G.graph["metric_crs"] = metric.to_string()
        return cls(G, metric, ids, xy, lonlat, edges, profiles, report, source)

    # ------------------------------------------------------------------ views
    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)

    @property
    def n_edges(self) -> int:
        return len(self.edges)

    @cached_property
    def _index(self) -> pd.Index:
        return pd.Index(self.node_ids)

    def index_of(self, osmids) -> np.ndarray:
        """Integer positions of node ids (``-1`` where unknown)."""
        return self._index.get_indexer(np.asarray(osmids, dtype=np.int64))

    def csr(self, weight: str = "length") -> sparse.csr_matrix:
        """Directed adjacency as CSR for :mod:`scipy.sparse.csgraph` (cached).

        Parallel edges keep their minimum weight. Zero weights become 1e-9 so that csgraph
        does not read them as missing edges.
        """
        if weight not in self._csr_cache:
            w = self.edges[weight].to_numpy(dtype=float)
            u = self.edges["u_idx"].to_numpy()
            v = self.edges["v_idx"].to_numpy()
            order = np.lexsort((w, v, u))
            u, v, w = u[order], v[order], w[order]
            keep = np.ones(len(u), dtype=bool)
            keep[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
            w = np.maximum(w[keep], 1e-9)
            n = self.n_nodes
            self._csr_cache[weight] = sparse.csr_matrix((w, (u[keep], v[keep])), shape=(n, n))
        return self._csr_cache[weight]

    def nodes_gdf(self, crs: str | CRS | None = None) -> gpd.GeoDataFrame:
        """Nodes as points (``osmid`` column), in ``crs`` (default WGS84)."""
        gdf = gpd.GeoDataFrame(
            {"osmid": self.node_ids},
            geometry=gpd.points_from_xy(self.xy[:, 0], self.xy[:, 1]),
            crs=self.crs,
        )
        return gdf.to_crs(crs or WGS84)

    def edges_gdf(self, crs: str | CRS | None = None) -> gpd.GeoDataFrame:
        """Edges as lines in ``crs`` (default WGS84)."""
        return self.edges.to_crs(crs or WGS84)

    def total_length(self, undirected: bool = True) -> float:
        """Total street length in metres (each two-way street counted once if ``undirected``)."""
        total = float(self.edges["length"].sum())
        return total / 2.0 if undirected else total

    def __repr__(self) -> str:
        return (f"WalkNetwork({self.source!r}, {self.n_nodes} nodes, {self.n_edges} directed edges, "
                f"crs={self.crs.to_string()})")
