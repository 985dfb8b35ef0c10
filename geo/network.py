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

from ..gcpause import paused_gc
from ..settings import PROFILES, WGS84, SpeedProfile, get_profile
from .crs import metric_crs_for
from .report import LoadReport
from .street_arrays import StreetArrays

__all__ = [
    "WalkNetwork",
    "walkable_edge",
    "NOT_WALKABLE_HIGHWAYS",
    "dropped_fragments",
    "fragment_label",
]

#: Highway classes never walked on.
NOT_WALKABLE_HIGHWAYS = frozenset(
    {
        "motorway",
        "motorway_link",
        "construction",
        "proposed",
        "raceway",
        "bus_guideway",
        "abandoned",
        "platform",
    }
)
_ELEVATED_ONLY = frozenset({"trunk", "trunk_link"})


def _first(value):
    """osmnx stores merged attributes as lists; take the first."""
    if isinstance(value, list | tuple | set):
        return next(iter(value), None)
    return value


def _truthy(value) -> bool:
    value = _first(value)
    return value is not None and str(value).lower() not in ("no", "false", "0", "nan", "none", "")


#: OSM way tags :func:`walkable_edge` and the loaders read: osmnx must keep them on the edges
#: (its default ``useful_tags_way`` lacks ``foot`` and ``layer``).
WALK_TAGS = ("highway", "foot", "access", "bridge", "tunnel", "layer", "name", "oneway")


def _walk_tag_settings() -> dict:
    """osmnx setting overrides keeping :data:`WALK_TAGS` on every downloaded or read way."""
    import osmnx as ox

    return {"useful_tags_way": list(dict.fromkeys([*ox.settings.useful_tags_way, *WALK_TAGS]))}


#: The edge tags :func:`walkable_edge` reads.
WALKABLE_TAGS = ("highway", "foot", "access", "bridge", "tunnel")


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
    return not (
        hws
        and hws <= _ELEVATED_ONLY
        and (_truthy(data.get("bridge")) or _truthy(data.get("tunnel")))
    )


@dataclass
class WalkNetwork:
    """A walking network with the arrays that fast searches need.

    Build it with :meth:`from_graph` (or a loader in this module); do not fill the fields by hand.

    Attributes
    ----------
    streets : StreetArrays or networkx.MultiDiGraph
        The cleaned street graph as arrays, until :attr:`graph` (the osmnx-style networkx graph
        in WGS84, every edge with ``length`` in m and ``travel_time_<profile>`` in s) is first
        asked for and replaces them.
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
    fragments : geopandas.GeoDataFrame
        The disconnected pieces cleaning dropped (:func:`dropped_fragments`), in :attr:`crs`:
        ``n_nodes``, ``length_m``, ``names``, ``to_main_m``, ``geometry``; empty when none.
    """

    streets: StreetArrays | nx.MultiDiGraph = field(repr=False)
    crs: CRS
    node_ids: np.ndarray
    xy: np.ndarray
    lonlat: np.ndarray
    edges: gpd.GeoDataFrame
    profiles: dict[str, SpeedProfile]
    report: LoadReport
    source: str = ""
    _csr_cache: dict = field(default_factory=dict, repr=False)
    fragments: gpd.GeoDataFrame | None = field(default=None, repr=False)

    @property
    def graph(self) -> nx.MultiDiGraph:
        """The cleaned osmnx-style graph (networkx, WGS84), built from the arrays on first use.

        Every edge carries ``length`` (m) and ``travel_time_<profile>`` (s), as in :attr:`edges`.
        """
        if isinstance(self.streets, StreetArrays):
            e = self.edges
            values = {"length": e["length"].to_numpy()}
            values |= {p.time_attr: e[p.time_attr].to_numpy() for p in self.profiles.values()}
            self.streets = self.streets.to_networkx(values, self.crs)
        return self.streets

    # ------------------------------------------------------------------ construction
    @classmethod
    @paused_gc()  # half the time of a large graph went to collections that free nothing
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

        The graph is read once into arrays (:class:`~lifecircle.geo.street_arrays.StreetArrays`)
        and cleaned there: isolated nodes, edges a pedestrian cannot use and the nodes they
        strand are dropped; every one-way edge gains its reverse; self loops go; only the
        largest strongly connected component stays (the others are kept as
        :attr:`fragments`). The input graph is not modified.

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
            Keep only the largest strongly connected component (reported; on a tie in size, the
            one holding the earliest node).
        filter_walkable : bool
            Drop edges a pedestrian cannot use (see :func:`walkable_edge`).
        source : str
            Description of the origin, for reports.
        report : LoadReport, optional
            Report to extend (a loader's); a new one otherwise.
        """
        report = report or LoadReport(source or "graph")
        if not isinstance(graph, nx.MultiDiGraph):
            multi = nx.MultiDiGraph(graph)  # upgrades Graph/DiGraph/MultiGraph
            multi.graph.update(graph.graph)
            graph = multi
        report.n_input = graph.number_of_nodes()
        if report.n_input == 0:
            raise ValueError(f"{report.source}: the network has no nodes")
        streets = StreetArrays.read(graph)
        pieces = _clean(streets, report, keep_largest, filter_walkable)
        if len(streets.u) == 0:
            raise ValueError(f"{report.source}: no walkable edges left")
        report.n_loaded = streets.n_nodes
        report.n_input = max(report.n_input, report.n_loaded)

        metric = CRS.from_user_input(metric_crs) if metric_crs else None
        profs = {p.name: p for p in (get_profile(p) for p in (profiles or PROFILES.values()))}
        net = cls._derive(streets, metric, profs, report, source or report.source)
        net.fragments = dropped_fragments(pieces, net)
        if len(net.fragments):
            report.note(_fragments_note(net.fragments))
        return net

    @classmethod
    def _derive(
        cls,
        streets: StreetArrays,
        metric: CRS | None,
        profiles: dict[str, SpeedProfile],
        report: LoadReport,
        source: str,
    ) -> WalkNetwork:
        from pyproj import Transformer

        ids = np.array(streets.ids, dtype=np.int64)
        lonlat = streets.lonlat
        if metric is None:
            metric = metric_crs_for((float(np.mean(lonlat[:, 0])), float(np.mean(lonlat[:, 1]))))
        tr = Transformer.from_crs(WGS84, metric, always_xy=True)
        mx, my = tr.transform(lonlat[:, 0], lonlat[:, 1])
        xy = np.column_stack([mx, my])
        u_idx, v_idx = streets.u, streets.v

        # straight edges in one call; curved ones projected all at once (same coordinates),
        # each input geometry once (a reverse edge takes its edge's, reversed)
        given = np.array([d.get("geometry") for d in streets.data], dtype=object)[streets.src]
        curved = ~shapely.is_missing(given)
        geoms = np.empty(len(u_idx), dtype=object)
        straight = np.flatnonzero(~curved)
        geoms[straight] = shapely.linestrings(
            np.stack([xy[u_idx[straight]], xy[v_idx[straight]]], axis=1)
        )
        if curved.any():
            g = shapely.transform(
                given[curved], lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1]))
            )
            flip = streets.rev[curved]
            g[flip] = shapely.reverse(g[flip])
            geoms[curved] = g
        # Lengths come from the metric geometry: within 0.04 % of the geodesic in a UTM zone,
        # closer than osmnx's spherical haversine (about +0.3 % north-south at Shanghai's
        # latitude), and consistent with snapping and with cutting edges at a remaining distance.
        length = shapely.length(geoms)
        table = {
            "u": ids[u_idx],
            "v": ids[v_idx],
            "key": streets.key,
            "u_idx": u_idx,
            "v_idx": v_idx,
            "length": length,
            "name": streets.column("name", _first),
            "highway": streets.column("highway", _first),
        }
        for p in profiles.values():
            table[p.time_attr] = length / p.speed_mps
        edges = gpd.GeoDataFrame(table, geometry=geoms, crs=metric)
        return cls(streets, metric, ids, xy, lonlat, edges, profiles, report, source)

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

    def extent(self) -> shapely.Geometry:
        """Convex hull (WGS84) of the nodes and of the :attr:`fragments` cleaning dropped: the
        area the network's source covers, e.g. to judge whether a facility is far outside."""
        parts = shapely.multipoints(self.lonlat)
        if self.fragments is not None and len(self.fragments):
            parts = shapely.union(parts, self.fragments.to_crs(WGS84).union_all())
        return shapely.convex_hull(parts)

    def total_length(self, undirected: bool = True) -> float:
        """Total street length in metres (each two-way street counted once if ``undirected``)."""
        total = float(self.edges["length"].sum())
        return total / 2.0 if undirected else total

    def __post_init__(self) -> None:
        if self.fragments is None:
            self.fragments = dropped_fragments([], self)

    def __repr__(self) -> str:
        return (
            f"WalkNetwork({self.source!r}, {self.n_nodes} nodes, {self.n_edges} directed edges, "
            f"crs={self.crs.to_string()})"
        )


def _drop_bad_coordinates(streets: StreetArrays, report) -> None:
    """Drop nodes whose coordinates are not finite lon/lat (NaN, 1e308), saying so."""
    lon, lat = streets.lonlat[:, 0], streets.lonlat[:, 1]
    bad = ~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90))
    if not bad.any():
        return
    first = int(np.flatnonzero(bad)[0])
    node, x, y = streets.ids[first], lon[first], lat[first]
    streets.keep_nodes(~bad)
    report.warn(
        None,
        "node",
        f"去掉 {int(bad.sum())} 个坐标无效的路网节点 (不是有效的经纬度, 如节点 {node}: "
        f"{x:g}, {y:g}; dropped nodes with invalid coordinates)",
    )
    if streets.n_nodes == 0:
        raise ValueError(f"{report.source}: no node has valid coordinates")


def _clean(streets: StreetArrays, report: LoadReport, keep_largest: bool, walkable: bool):
    """Clean the street arrays in place, noting each step; returns the dropped fragments."""
    _drop_bad_coordinates(streets, report)
    isolated = streets.drop_isolated()
    if isolated:
        report.note(
            f"去掉 {isolated} 个不在任何道路上的节点 "
            f"(dropped {isolated} nodes that lie on no street)"
        )
    if walkable:
        bad, stranded = streets.drop_edges(walkable_edge, WALKABLE_TAGS)
        if bad:
            report.note(
                f"去掉 {bad} 条不许步行的有向路段 (高速公路 motorway、禁止步行 foot=no、高架/隧道快速路 trunk) 及只与其"
                f"相连的 {stranded} 个节点 (removed {bad} directed edges not open "
                "to pedestrians)"
            )
    added = streets.add_reverse()
    if added:
        report.note(f"单行道对行人双向可走: 补上 {added} 条反向路段 (added {added} reverse edges)")
    streets.drop_loops()
    pieces: list[nx.MultiDiGraph] = []
    if keep_largest and streets.n_nodes:
        labels, sizes = streets.components()
        _, first = np.unique(labels, return_index=True)
        biggest = np.flatnonzero(sizes == sizes.max())
        largest = int(biggest[np.argmin(first[biggest])])  # on a tie: the earliest node's
        n = streets.n_nodes
        dropped = n - int(sizes[largest])
        if dropped:
            share = dropped / n
            pieces = [
                streets.subgraph(np.flatnonzero(labels == c)) for c in _others(labels, largest)
            ]
            report.note(
                f"只保留最大的连通步行路网 (largest connected component): 去掉 "
                f"{n} 个节点中的 {dropped} 个 ({share:.1%}), 分属 "
                f"{len(sizes) - 1} 个孤立小片"
            )
            report.stats["dropped_component_nodes"] = dropped
            report.stats["dropped_component_share"] = share
            streets.keep_nodes(labels == largest)
        else:
            report.note("步行路网是连通的, 没有去掉节点 (the walking network is connected)")
    return pieces


def _others(labels: np.ndarray, largest: int) -> list[int]:
    """Component labels other than ``largest``, in the order of their first node."""
    _, first = np.unique(labels, return_index=True)
    return [int(labels[i]) for i in np.sort(first) if labels[i] != largest]


def _names(values) -> str:
    names = dict.fromkeys(
        str(n)
        for v in values
        for n in (v if isinstance(v, list | tuple | set) else [v])
        if n is not None and str(n) not in ("", "nan", "None")
    )
    return "、".join(names)


def dropped_fragments(pieces: list[nx.MultiDiGraph], net: WalkNetwork) -> gpd.GeoDataFrame:
    """The disconnected pieces cleaning dropped, one row each, largest first.

    Parameters
    ----------
    pieces : list of networkx.MultiDiGraph
        The dropped components (WGS84 nodes, as in :meth:`WalkNetwork.from_graph`).
    net : WalkNetwork
        The kept network: its CRS, and its edges for the distance to the main network.

    Returns
    -------
    geopandas.GeoDataFrame
        In ``net.crs``: ``fragment`` (1 = largest), ``n_nodes``, ``length_m`` (street length,
        each two-way street once), ``names`` (street names, ``、``-joined, may be empty),
        ``to_main_m`` (straight-line gap to the kept network) and the streets as ``geometry``.
    """
    from pyproj import Transformer

    cols = ["fragment", "n_nodes", "length_m", "names", "to_main_m"]
    if not pieces:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=net.crs)
    tr = Transformer.from_crs(WGS84, net.crs, always_xy=True)
    lines, rows = [], []
    for piece in pieces:
        segs = []
        for u, v, d in piece.edges(data=True):
            g = d.get("geometry")
            if g is None:
                a, b = piece.nodes[u], piece.nodes[v]
                g = shapely.LineString([(a["x"], a["y"]), (b["x"], b["y"])])
            segs.append(g)
        if segs:
            geom = shapely.transform(
                shapely.multilinestrings(segs), lambda c: np.column_stack(tr.transform(*c.T))
            )
        else:  # a lone node with a self-loop removed
            n = next(iter(piece.nodes))
            geom = shapely.Point(tr.transform(piece.nodes[n]["x"], piece.nodes[n]["y"]))
        lines.append(geom)
        names = _names(d.get("name") for _, _, d in piece.edges(data=True))
        rows.append((piece.number_of_nodes(), shapely.length(geom) / 2.0, names))
    geoms = np.array(lines, dtype=object)
    tree = shapely.STRtree(net.edges.geometry.values)
    _, gap = tree.query_nearest(geoms, return_distance=True, all_matches=False)
    frame = gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=["n_nodes", "length_m", "names"]).assign(to_main_m=gap),
        geometry=geoms,
        crs=net.crs,
    )
    frame = frame.sort_values(["n_nodes", "length_m"], ascending=False, kind="stable")
    frame.insert(0, "fragment", np.arange(1, len(frame) + 1))
    return frame.reset_index(drop=True)


def fragment_label(row) -> str:
    """A dropped fragment in Chinese: its streets' names (or 无名道路), node count and length."""
    names = row["names"] or "无名道路"
    if len(names) > 40:
        names = names[:40] + "…"
    return f"孤立小片 {int(row['fragment'])} ({names}; {int(row['n_nodes'])} 个节点, {row['length_m']:.0f} 米街道)"


def _fragments_note(fragments: gpd.GeoDataFrame, show: int = 3) -> str:
    """Load note naming the largest dropped fragments and their gap to the main network."""
    parts = [
        f"{fragment_label(r)}, 离主路网 {r['to_main_m']:.0f} 米"
        for _, r in fragments.head(show).iterrows()
    ]
    more = f" 等 {len(fragments)} 片" if len(fragments) > show else ""
    return (
        "去掉的孤立小片 (dropped network fragments; 上面的设施与住户无法步行到主路网): "
        + "; ".join(parts)
        + more
    )


# ====================================================================== loaders
# Loaders build the raw OSM street graph *unsimplified*, clean it with WalkNetwork.from_graph
# (walkability is judged segment by segment, before osmnx would merge bridge and ground segments
# into one edge with list-valued tags), and then, by default, simplify the topology: nodes that
# only shape a street become edge geometry. Lengths and shortest walks between the kept nodes are
# unchanged (see tests/test_network.py); the graph shrinks to about a third.

from pathlib import Path  # noqa: E402  (loader section: imports kept next to the loaders)

from ..settings import DEFAULT_MINUTES, threshold_cost  # noqa: E402

__all__ += [
    "NETWORK_SUFFIXES",
    "default_buffer_m",
    "load_network",
    "network_from_graphml",
    "network_from_npz",
    "network_from_osm",
    "network_from_osm_xml",
    "network_from_pbf",
    "network_from_relation",
    "save_network",
    "simplify_network",
]

#: File suffixes :func:`load_network` understands, and the reader each one selects.
NETWORK_SUFFIXES = {
    ".osm": "xml", ".xml": "xml", ".pbf": "pbf", ".graphml": "graphml", ".graphml.gz": "graphml",
    ".npz": "npz",
}  # fmt: skip

#: Edge attributes whose change keeps a node when simplifying (a street's name or class changes).
_SIMPLIFY_KEEP_ATTRS = ("name", "highway")
#: Largest unpacked ``.graphml.gz`` read (characters): a city's walking network is a few hundred
#: MB; a gzip bomb (kilobytes unpacking to many GB) is refused instead of filling the memory.
MAX_GRAPHML_CHARS = 2_000_000_000
#: Graph attribute marking a graph that WalkNetwork already cleaned (written by save_network).
_CLEANED = "lifecircle_walk_network"


def _existing(path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such network file")
    return path


def _simplify_walk_graph(G: nx.MultiDiGraph) -> tuple[nx.MultiDiGraph, int]:
    """osmnx topology simplification that keeps loop streets.

    A street loop hanging off one intersection becomes a self-loop edge in osmnx's result, which
    :meth:`WalkNetwork.from_graph` would drop together with its length. Each such loop is split
    again at its middle node (both walking directions at the same node). Returns the simplified
    graph and the number of loops split.
    """
    import osmnx as ox

    H = nx.MultiDiGraph(G)
    H.graph = dict(G.graph, simplified=False)
    Gs = ox.simplify_graph(H, edge_attrs_differ=_SIMPLIFY_KEEP_ATTRS, remove_rings=False)
    loops = [(u, k, d) for u, v, k, d in Gs.edges(keys=True, data=True) if u == v]
    if not loops:
        return Gs, 0
    where = {(d["x"], d["y"]): n for n, d in H.nodes(data=True)}
    middle: dict[tuple, int] = {}
    for u, k, d in loops:
        coords = list(d["geometry"].coords)
        key = (u, frozenset(coords[1:-1]))  # the same loop walked either way
        m = middle.setdefault(key, where[coords[len(coords) // 2]])
        mxy = (H.nodes[m]["x"], H.nodes[m]["y"])
        i = coords.index(mxy) if mxy in coords[1:-1] else 0
        if not 0 < i < len(coords) - 1:
            continue  # cannot split (duplicate coordinates): WalkNetwork drops the loop
        Gs.remove_edge(u, u, k)
        if m not in Gs:
            Gs.add_node(m, **H.nodes[m])
        attrs = {a: v for a, v in d.items() if a not in ("length", "geometry")}
        Gs.add_edge(u, m, **attrs, geometry=shapely.LineString(coords[: i + 1]))
        Gs.add_edge(m, u, **attrs, geometry=shapely.LineString(coords[i:]))
    return Gs, len(middle)


def simplify_network(net: WalkNetwork) -> WalkNetwork:
    """Simplify a cleaned walking network's topology (osmnx ``simplify_graph``).

    Nodes that only shape a street (two neighbours, same street name and class on both sides)
    become vertices of the edge geometry. Street length and the shortest walk between any two
    kept nodes are unchanged. Loop streets are split so that none becomes a self-loop.

    Parameters
    ----------
    net : WalkNetwork
        A network from :meth:`WalkNetwork.from_graph` or a loader (simplify=False).

    Returns
    -------
    WalkNetwork
        The simplified network, with the same CRS and profiles; its report extends ``net``'s.
    """
    if net.graph.graph.get("simplified"):
        return net
    before_len = net.total_length()
    Gs, n_loops = _simplify_walk_graph(net.graph)
    out = WalkNetwork.from_graph(
        Gs,
        metric_crs=net.crs,
        profiles=list(net.profiles.values()),
        keep_largest=False,
        filter_walkable=False,
        source=net.source,
    )
    report = LoadReport(
        net.report.source,
        net.report.n_input,
        out.n_nodes,
        list(net.report.rejections),
        list(net.report.notes),
        dict(net.report.stats),
    )
    report.notes.extend(out.report.notes)
    text = (
        f"简化路网拓扑 (simplified the topology): 节点 {net.n_nodes} → {out.n_nodes}, 有向路段 "
        f"{net.n_edges} → {out.n_edges} (街道长度 {before_len:.0f} 米 → "
        f"{out.total_length():.0f} 米, 不变)"
    )
    if n_loops:
        text += f"; {n_loops} 条环形街道在中点分开"
    report.note(text)
    report.stats["nodes_unsimplified"] = net.n_nodes
    report.stats["edges_unsimplified"] = net.n_edges
    out.report = report
    out.fragments = net.fragments
    return out


def _build(
    G: nx.MultiDiGraph,
    source: str,
    report: LoadReport,
    simplify: bool,
    metric_crs=None,
    profiles=None,
    keep_largest: bool = True,
    filter_walkable: bool = True,
) -> WalkNetwork:
    """Raw street graph → cleaned (and by default simplified) WalkNetwork."""
    already = bool(G.graph.get("simplified"))
    net = WalkNetwork.from_graph(
        G,
        metric_crs=metric_crs,
        profiles=profiles,
        keep_largest=keep_largest,
        filter_walkable=filter_walkable,
        source=source,
        report=report,
    )
    report.stats.setdefault("nodes_read", report.n_input)
    if not simplify:
        return net
    if already:
        report.note("路网保存前已简化, 按原样使用 (simplified before it was saved)")
        return net
    return simplify_network(net)


def _street_edges_only(G: nx.MultiDiGraph, report: LoadReport) -> None:
    """Drop edges of ways that are not streets (no highway tag, or area=yes), in place."""
    bad = [
        (u, v, k)
        for u, v, k, d in G.edges(keys=True, data=True)
        if not d.get("highway") or str(_first(d.get("area")) or "").lower() == "yes"
    ]
    if bad:
        ways = {str(G.edges[e].get("osmid")) for e in bad}
        G.remove_edges_from(bad)
        report.note(
            f"忽略 {len(ways)} 条不是道路的线 (没有 highway 标签或 area=yes; "
            f"ignored {len(ways)} ways that are not streets)"
        )


def network_from_osm_xml(
    path, *, simplify: bool = True, metric_crs=None, profiles=None, keep_largest: bool = True
) -> WalkNetwork:
    """Walking network from an OSM XML file (``.osm``/``.xml``: JOSM, osm.org export, osmnx).

    Parameters
    ----------
    path : path-like
        The OSM XML file (UTF-8). Ways without a ``highway`` tag (buildings, land use) are ignored.
    simplify : bool
        Simplify the topology after cleaning (see :func:`simplify_network`).
    metric_crs, profiles, keep_largest
        Passed to :meth:`WalkNetwork.from_graph`.

    Returns
    -------
    WalkNetwork
        ``source`` is the file path; ``report`` says what was dropped.

    Raises
    ------
    FileNotFoundError, ValueError
        Missing file; unreadable XML or no streets in it (the message names the file).
    """
    import warnings
    from xml.etree.ElementTree import ParseError

    import osmnx as ox

    path = _existing(path)
    report = LoadReport(str(path))
    with warnings.catch_warnings():
        # osmnx warns about files it wrote itself (save_graph_xml); they load correctly here
        warnings.filterwarnings("ignore", message=".*generated by OSMnx.*")
        from .osm_online import osmnx_settings

        try:
            with osmnx_settings(**_walk_tag_settings()):
                G = ox.graph_from_xml(path, bidirectional=False, simplify=False, retain_all=True)
        except (ParseError, UnicodeDecodeError, KeyError, ValueError) as exc:
            raise ValueError(f"{path}: not a readable OSM XML file ({exc})") from exc
    _street_edges_only(G, report)
    if G.number_of_edges() == 0:
        raise ValueError(f"{path}: no streets (ways with a highway tag) in this OSM XML file")
    return _build(G, str(path), report, simplify, metric_crs, profiles, keep_largest)


def network_from_graphml(
    path,
    *,
    simplify: bool = True,
    metric_crs=None,
    profiles=None,
    keep_largest: bool = True,
    filter_walkable: bool | None = None,
) -> WalkNetwork:
    """Walking network from a GraphML file (``osmnx.save_graphml`` or :func:`save_network`).

    Parameters
    ----------
    path : path-like
        GraphML written by osmnx (nodes with ``x``/``y``; any CRS the graph declares).
    simplify : bool
        Simplify after cleaning, unless the saved graph is already simplified.
    filter_walkable : bool, optional
        Default: True, except for files written by :func:`save_network` (already cleaned).
    metric_crs, profiles, keep_largest
        Passed to :meth:`WalkNetwork.from_graph`.

    Raises
    ------
    FileNotFoundError, ValueError
        Missing or unreadable file (the message names it).
    """
    from xml.etree.ElementTree import ParseError

    import osmnx as ox

    path = _existing(path)
    report = LoadReport(str(path))
    try:
        if path.name.lower().endswith(".gz"):  # a run's network.graphml.gz
            import gzip

            with gzip.open(path, "rt", encoding="utf-8") as fh:
                text = fh.read(MAX_GRAPHML_CHARS + 1)  # a gzip bomb stops here
            if len(text) > MAX_GRAPHML_CHARS:
                raise ValueError(
                    f"解压后超过 {MAX_GRAPHML_CHARS / 1e9:g}G 字符 (larger than any street "
                    "network when unpacked)"
                )
            G = ox.load_graphml(graphml_str=text)
        else:
            G = ox.load_graphml(path)
    except (
        ParseError,
        KeyError,
        ValueError,
        TypeError,
        OSError,
        EOFError,
        nx.NetworkXError,
    ) as exc:
        raise ValueError(f"{path}: not a readable osmnx GraphML file ({exc})") from exc
    if G.number_of_nodes() == 0:
        raise ValueError(f"{path}: the GraphML graph has no nodes")
    missing = [n for n, d in G.nodes(data=True) if "x" not in d or "y" not in d]
    if missing:
        raise ValueError(f"{path}: node {missing[0]} (and {len(missing) - 1} more) has no x/y")
    if filter_walkable is None:
        filter_walkable = not G.graph.get(_CLEANED)
    return _build(
        G, str(path), report, simplify, metric_crs, profiles, keep_largest, filter_walkable
    )


def _bbox_arg(bbox):
    if bbox is None:
        return None
    if isinstance(bbox, gpd.GeoDataFrame | gpd.GeoSeries):
        return bbox.to_crs(WGS84).union_all()
    if isinstance(bbox, shapely.Geometry):
        return bbox
    values = [float(v) for v in bbox]
    if len(values) != 4 or not (values[0] < values[2] and values[1] < values[3]):
        raise ValueError(f"bbox must be (minlon, minlat, maxlon, maxlat), got {bbox!r}")
    return values


def network_from_pbf(
    path,
    bbox=None,
    *,
    simplify: bool = True,
    metric_crs=None,
    profiles=None,
    keep_largest: bool = True,
) -> WalkNetwork:
    """Walking network from an OSM PBF extract (``.osm.pbf``), read with pyrosm.

    pyrosm's ``walking`` filter selects the ways (footways, paths, steps and streets open to
    pedestrians); its graph export (unsimplified) goes through the same cleaning as the other
    loaders.

    Parameters
    ----------
    path : path-like
        The ``.osm.pbf`` file.
    bbox : sequence, shapely geometry or GeoDataFrame, optional
        Read only this area: ``(minlon, minlat, maxlon, maxlat)`` or a polygon (WGS84 when bare).
    simplify : bool
        Simplify the topology after cleaning (see :func:`simplify_network`).
    metric_crs, profiles, keep_largest
        Passed to :meth:`WalkNetwork.from_graph`.

    Raises
    ------
    FileNotFoundError, ValueError
        Missing or unreadable file; no walkable ways (inside ``bbox``).
    """
    import warnings

    import pyrosm
    from pyrosm import exceptions as pyrosm_errors

    path = _existing(path)
    report = LoadReport(str(path))
    box = _bbox_arg(bbox)
    try:
        with warnings.catch_warnings():
            # an empty area is reported below with the file named
            warnings.filterwarnings("ignore", message="Could not find any edges")
            osm = pyrosm.OSM(str(path), bounding_box=box)
            nodes, edges = osm.get_network(network_type="walking", nodes=True)
    except (OSError, ValueError, RuntimeError, pyrosm_errors.PBFException) as exc:
        raise ValueError(f"{path}: not a readable OSM PBF file ({exc})") from exc
    if edges is None or nodes is None or len(edges) == 0:
        where = " inside the bbox" if box is not None else ""
        raise ValueError(f"{path}: no walkable ways{where}")
    G = osm.to_graph(
        nodes,
        edges,
        graph_type="networkx",
        network_type="walking",
        simplify=False,
        retain_all=True,
        osmnx_compatible=True,
    )
    G.graph["crs"] = WGS84
    if box is not None:
        report.note(f"只读取范围框内的部分 (bbox {box if isinstance(box, list) else box.bounds})")
    return _build(G, str(path), report, simplify, metric_crs, profiles, keep_largest)


def load_network(path, **kw) -> WalkNetwork:
    """Load a walking network from a file, choosing the reader by suffix.

    ``.osm``/``.xml`` → :func:`network_from_osm_xml`, ``.pbf`` (``.osm.pbf``) →
    :func:`network_from_pbf`, ``.graphml`` (``.graphml.gz``) → :func:`network_from_graphml`.
    Keyword arguments go to the reader.
    """
    path = Path(path)
    name = path.name.lower()
    suffix = ".graphml.gz" if name.endswith(".graphml.gz") else path.suffix.lower()
    kind = NETWORK_SUFFIXES.get(suffix)
    if kind is None:
        raise ValueError(
            f"{path}: unknown network file type {path.suffix!r}; "
            f"use one of {', '.join(sorted(NETWORK_SUFFIXES))}"
        )
    reader = {
        "xml": network_from_osm_xml,
        "pbf": network_from_pbf,
        "graphml": network_from_graphml,
        "npz": network_from_npz,
    }[kind]
    return reader(path, **kw)


def save_network(net: WalkNetwork, path) -> Path:
    """Save a network's graph (a cache that :func:`load_network` reloads).

    ``.npz``: compact arrays (about 50–140 bytes per node, 20k nodes in well under a second;
    :func:`network_from_npz`); otherwise GraphML (:func:`network_from_graphml`; ``.gz``
    compressed). The graph is marked as already cleaned, so reloading it skips the walkability
    filter. The edges' ``travel_time_<profile>`` are left out (:meth:`WalkNetwork.from_graph`
    recomputes them from the lengths).
    """
    path = Path(path)
    if path.suffix.lower() == ".npz":
        return _save_npz(net, path)
    import osmnx as ox

    G = net.graph.copy()
    for _, _, data in G.edges(data=True):
        for key in [k for k in data if k.startswith("travel_time_")]:
            del data[key]
    G.graph[_CLEANED] = True
    G.graph["source"] = net.source
    ox.save_graphml(G, filepath=path)
    return path


def _save_npz(net: WalkNetwork, path: Path) -> Path:
    """Nodes as arrays, edge geometries as flat coordinates, the rest as one JSON text."""
    import json

    G = net.graph
    ids = list(G.nodes)
    pos = {n: i for i, n in enumerate(ids)}
    u, v, keys, attrs, geoms = [], [], [], [], []
    for a, b, key, d in G.edges(keys=True, data=True):
        u.append(pos[a])
        v.append(pos[b])
        keys.append(key)
        geoms.append(d.get("geometry"))
        attrs.append(
            {c: x for c, x in d.items() if c != "geometry" and not c.startswith("travel_time_")}
        )
    geoms = np.array(geoms, dtype=object)
    has = np.array([g is not None for g in geoms], dtype=bool)
    coords, index = shapely.get_coordinates(geoms[has], return_index=True)
    graph = {k: x for k, x in G.graph.items() if isinstance(x, str | int | float | bool)}
    graph.update({_CLEANED: True, "source": net.source, "crs": str(G.graph.get("crs", WGS84))})
    meta = {"graph": graph, "nodes": ids, "keys": keys, "edges": attrs}
    meta["fragments"], fragment_arrays = _fragments_to_npz(net.fragments, net.crs)
    text = json.dumps(meta, ensure_ascii=False, default=str).encode("utf-8")
    np.savez_compressed(
        path,
        x=np.array([G.nodes[n]["x"] for n in ids], dtype=float),
        y=np.array([G.nodes[n]["y"] for n in ids], dtype=float),
        u=np.array(u, dtype=np.int64), v=np.array(v, dtype=np.int64), has_geometry=has,
        coords=coords, coord_index=index.astype(np.int64),
        meta=np.frombuffer(text, dtype=np.uint8), **fragment_arrays,
    )  # fmt: skip
    return path


#: Columns of :attr:`WalkNetwork.fragments` besides ``geometry`` (see :func:`dropped_fragments`).
_FRAGMENT_COLUMNS = ("fragment", "n_nodes", "length_m", "names", "to_main_m")


def _fragments_to_npz(fragments: gpd.GeoDataFrame | None, crs) -> tuple[dict, dict]:
    """The dropped fragments as JSON (CRS, rows of numbers and names) and arrays (the
    geometries' WKB, one byte array, and each geometry's size)."""
    frame = fragments if fragments is not None else gpd.GeoDataFrame(geometry=[], crs=crs)
    rows = [
        [int(r.fragment), int(r.n_nodes), float(r.length_m), str(r.names or ""), float(r.to_main_m)]
        for r in frame.itertuples()
    ]
    wkb = [shapely.to_wkb(g) for g in frame.geometry.values]
    meta = {
        "crs": CRS.from_user_input(frame.crs or crs).to_wkt(),
        "columns": list(_FRAGMENT_COLUMNS),
        "rows": rows,
    }
    arrays = {
        "fragment_wkb": np.frombuffer(b"".join(wkb), dtype=np.uint8),
        "fragment_wkb_sizes": np.array([len(b) for b in wkb], dtype=np.int64),
    }
    return meta, arrays


def _fragments_from_npz(saved: dict, arrays: dict, crs) -> gpd.GeoDataFrame:
    """:func:`_fragments_to_npz` read back, in ``crs`` (a ``ValueError`` if malformed)."""
    rows, blob, sizes = saved["rows"], arrays["fragment_wkb"], arrays["fragment_wkb_sizes"]
    if list(saved["columns"]) != list(_FRAGMENT_COLUMNS) or len(rows) != len(sizes):
        raise ValueError("fragments: columns or geometries do not match")
    if blob.dtype != np.uint8 or (sizes < 1).any() or int(sizes.sum()) != len(blob):
        raise ValueError("fragments: geometry sizes do not match their bytes")
    ends = np.cumsum(sizes)
    wkb = np.array([blob[e - n : e].tobytes() for e, n in zip(ends, sizes, strict=True)], object)
    try:
        geoms = shapely.from_wkb(wkb)
    except shapely.errors.ShapelyError as exc:
        raise ValueError(f"fragments: {exc}") from None
    table = pd.DataFrame(rows, columns=list(_FRAGMENT_COLUMNS))
    table = table.astype(
        {"fragment": int, "n_nodes": int, "length_m": float, "names": str, "to_main_m": float}
    )
    frame = gpd.GeoDataFrame(table, geometry=geoms, crs=CRS.from_wkt(saved["crs"]))
    return frame.to_crs(crs)


def _graph_from_npz(path: Path) -> tuple[nx.MultiDiGraph, dict]:
    """The saved graph, and the rest of the file's JSON with its ``arrays`` (the dropped
    ``fragments``, if saved)."""
    import json

    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
    ids, attrs = meta["nodes"], meta["edges"]
    u, v, has = arrays["u"], arrays["v"], arrays["has_geometry"]
    n, m = len(ids), len(attrs)
    if not (len(arrays["x"]) == len(arrays["y"]) == n and len(u) == len(v) == len(has) == m):
        raise ValueError("arrays of different lengths")
    if m and (min(u.min(), v.min()) < 0 or max(u.max(), v.max()) >= n):
        raise ValueError("an edge names a node that is not there")
    G = nx.MultiDiGraph(**meta["graph"])
    G.add_nodes_from(
        (i, {"x": a, "y": b})
        for i, a, b in zip(ids, arrays["x"].tolist(), arrays["y"].tolist(), strict=True)
    )
    lines = shapely.linestrings(arrays["coords"], indices=arrays["coord_index"])
    if len(lines) != int(has.sum()):
        raise ValueError("edge geometries do not match the edges")
    for d, g in zip([attrs[i] for i in np.flatnonzero(has)], lines, strict=True):
        d["geometry"] = g
    G.add_edges_from(
        (ids[a], ids[b], k, d)
        for a, b, k, d in zip(u.tolist(), v.tolist(), meta["keys"], attrs, strict=True)
    )
    return G, {**meta, "arrays": arrays}


@paused_gc()
def network_from_npz(
    path, *, simplify: bool = True, metric_crs=None, profiles=None, keep_largest: bool = True
) -> WalkNetwork:
    """A network saved by :func:`save_network` as ``.npz`` (a run's ``network.npz``).

    No pickled objects are read (``allow_pickle=False``); a malformed file is a ``ValueError``
    naming it. Parameters as :func:`network_from_graphml`. The fragments cleaning dropped when
    the network was first loaded come back as :attr:`WalkNetwork.fragments` (and are named in
    the load notes), as if the original file had been read.
    """
    import zipfile

    path = _existing(path)
    report = LoadReport(str(path))
    try:
        G, meta = _graph_from_npz(path)
        saved = meta.get("fragments")
        fragments = None if saved is None else _fragments_from_npz(saved, meta["arrays"], WGS84)
    except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: not a network saved by lifecircle (.npz): {exc}") from exc
    if G.number_of_nodes() == 0:
        raise ValueError(f"{path}: the saved network has no nodes")
    net = _build(G, str(path), report, simplify, metric_crs, profiles, keep_largest, False)
    if fragments is not None and len(fragments):
        if len(net.fragments):  # the file held more than one piece after all
            fragments = pd.concat([fragments.to_crs(net.crs), net.fragments], ignore_index=True)
            fragments = fragments.sort_values(["n_nodes", "length_m"], ascending=False)
            fragments["fragment"] = np.arange(1, len(fragments) + 1)
        net.fragments = fragments.to_crs(net.crs).reset_index(drop=True)
        net.report.note(_fragments_note(net.fragments))
    return net


def default_buffer_m(
    profile: str | SpeedProfile = "elderly", minutes: Iterable[float] | float = DEFAULT_MINUTES
) -> float:
    """Default download buffer: the walking reach of the largest threshold.

    Facilities up to that distance outside a boundary can still serve residents inside it.
    ``elderly`` at 15 min: 810 m; ``adult``: 1080 m; ``gb50180``: 1000 m.
    """
    ms = [minutes] if isinstance(minutes, int | float) else list(minutes)
    if not ms:
        raise ValueError("no thresholds given")
    return threshold_cost(profile, minutes=max(ms))


def network_from_osm(
    polygon,
    buffer_m: float | None = None,
    profile: str | SpeedProfile = "elderly",
    minutes: Iterable[float] | float = DEFAULT_MINUTES,
    *,
    simplify: bool = True,
    cache_folder=None,
    use_cache: bool = True,
    metric_crs=None,
    profiles=None,
    keep_largest: bool = True,
) -> WalkNetwork:
    """Download the walking network of a boundary plus a buffer from OSM (Overpass, via osmnx).

    Parameters
    ----------
    polygon : shapely (Multi)Polygon in WGS84, GeoSeries or GeoDataFrame
        The boundary (e.g. a row of :func:`lifecircle.geo.boundaries.load_boundaries`).
    buffer_m : float, optional
        Extra margin around the boundary in metres (buffered in the metric CRS); default
        :func:`default_buffer_m` of ``profile`` and ``minutes``, so that facilities just across
        the boundary count.
    profile, minutes
        Speed profile and thresholds defining the default buffer.
    simplify : bool
        Simplify the topology after cleaning (see :func:`simplify_network`). osmnx downloads
        with ``simplify=False``: walkability is judged per OSM segment first.
    cache_folder : path-like, optional
        osmnx cache folder for this call (default: osmnx's ``settings.cache_folder``).
    use_cache : bool
        Answer repeated requests from osmnx's cache (no network access).
    metric_crs, profiles, keep_largest
        Passed to :meth:`WalkNetwork.from_graph`.

    Returns
    -------
    WalkNetwork
        ``report.stats["buffer_m"]`` holds the buffer used.
    """
    import osmnx as ox

    from .osm_online import buffer_polygon, cache_overrides, osmnx_settings, polygon_wgs84

    area = polygon_wgs84(polygon)
    if buffer_m is None:
        buffer_m = default_buffer_m(profile, minutes)
    query = buffer_polygon(area, float(buffer_m))
    with osmnx_settings(
        **cache_overrides(cache_folder, use_cache), **_walk_tag_settings()
    ) as settings:
        url = settings.overpass_url
        try:
            G = ox.graph_from_polygon(query, network_type="walk", simplify=False, retain_all=True)
        except ox._errors.InsufficientResponseError as exc:
            raise ValueError(
                f"OpenStreetMap ({url}) has no walkable streets in the area ({exc})"
            ) from exc
    source = f"OpenStreetMap walk network ({url}), boundary + {float(buffer_m):.0f} m"
    report = LoadReport(source)
    report.stats["buffer_m"] = float(buffer_m)
    G.graph["crs"] = WGS84
    return _build(G, source, report, simplify, metric_crs, profiles, keep_largest)


def network_from_relation(
    relation_id, buffer_m: float | None = None, *, cache_folder=None, use_cache: bool = True, **kw
) -> WalkNetwork:
    """Walking network of an OSM boundary relation (e.g. 石泉路街道, 14187869) plus a buffer.

    The boundary comes from Nominatim (:func:`lifecircle.geo.boundaries.boundary_from_osm`),
    the streets from Overpass (:func:`network_from_osm`); both through osmnx's cache.
    Other keywords go to :func:`network_from_osm`.
    """
    from .boundaries import boundary_from_osm

    boundary = boundary_from_osm(relation_id, cache_folder=cache_folder, use_cache=use_cache)
    net = network_from_osm(boundary, buffer_m, cache_folder=cache_folder, use_cache=use_cache, **kw)
    row = boundary.iloc[0]
    net.report.note(f"边界: OSM 关系 {int(row['osm_relation'])} ({row['name']})")
    return net
