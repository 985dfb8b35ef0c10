"""Cleaning on arrays gives the graph the networkx edit-by-edit cleaning gave, edge for edge.

The reference is the networkx cleaning WalkNetwork.from_graph did before (also the load
baseline of ``lifecircle.scripts.bench_pipeline``).
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from lifecircle.geo.network import WalkNetwork, walkable_edge
from lifecircle.geo.street_arrays import StreetArrays
from lifecircle.scripts.bench_pipeline import networkx_cleaning as reference_clean

UTM = "EPSG:32651"
_TO_LL = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)


def tricky_graph() -> nx.MultiDiGraph:
    """One-way and two-way streets, parallel edges, a curved one-way street, a motorway, a
    foot=no path, a trunk bridge, a self loop, an isolated node and a detached pair of nodes."""
    xy = {
        1: (0, 0), 2: (100, 0), 3: (200, 0), 4: (0, 100), 5: (100, 100), 6: (200, 100),
        7: (300, 50), 8: (50, 300), 9: (900, 900), 10: (950, 900), 11: (500, 500),
    }  # fmt: skip
    G = nx.MultiDiGraph(crs="EPSG:4326")
    for n, (x, y) in xy.items():
        lon, lat = _TO_LL.transform(350_000.0 + x, 3_450_000.0 + y)
        G.add_node(n, x=lon, y=lat, street_count=3)

    def ll(*pts):
        return shapely.LineString(
            [_TO_LL.transform(350_000.0 + x, 3_450_000.0 + y) for x, y in pts]
        )

    G.add_edge(1, 2, highway="residential", name="甲路", oneway=True)
    G.add_edge(2, 1, highway="residential", name="甲路")
    G.add_edge(2, 3, highway="footway", oneway=True)  # one-way: gains a reverse
    G.add_edge(2, 3, highway="service", name="乙路")  # parallel one-way: no second reverse
    G.add_edge(3, 6, highway="path", geometry=ll((200, 0), (260, 40), (200, 100)))  # curved
    G.add_edge(1, 4, highway=["residential", "footway"], name=["丙路", "丁路"])
    G.add_edge(4, 5, highway="living_street")
    G.add_edge(5, 2, highway="pedestrian")
    G.add_edge(5, 6, highway="motorway")  # not walkable
    G.add_edge(6, 7, highway="trunk", bridge="yes")  # elevated trunk: not walkable, 7 stranded
    G.add_edge(4, 8, highway="path", foot="no")  # not walkable, 8 stranded
    G.add_edge(6, 5, highway="tertiary", foot="yes", access="private")
    G.add_edge(5, 5, highway="footway")  # self loop
    G.add_edge(9, 10, highway="footway")  # a detached fragment
    return G  # node 11 is isolated


def assert_same(a: WalkNetwork, ref: nx.MultiDiGraph) -> None:
    assert list(a.node_ids) == list(ref.nodes)
    assert list(zip(a.edges["u"], a.edges["v"], a.edges["key"], strict=True)) == list(
        ref.edges(keys=True)
    )
    got = list(a.graph.edges(keys=True, data=True))
    want = list(ref.edges(keys=True, data=True))
    for (u, v, k, d), (u2, v2, k2, d2) in zip(got, want, strict=True):
        assert (u, v, k) == (u2, v2, k2)
        extra = {"length"} | {c for c in d if c.startswith("travel_time_")}
        assert set(d) - extra == set(d2) - {"length"}
        for c in set(d2) - {"length"}:
            same = d[c].equals(d2[c]) if c == "geometry" else d[c] == d2[c]
            assert same, (u, v, k, c)
    assert list(a.graph.nodes(data=True)) == list(ref.nodes(data=True))


def test_array_cleaning_equals_networkx_cleaning():
    G = tricky_graph()
    before = nx.MultiDiGraph(G)
    net = WalkNetwork.from_graph(G, metric_crs=UTM)
    ref = reference_clean(G)
    # nodes 1-6 remain (7, 8 stranded; 9-10 a fragment; 11 isolated)
    assert list(net.node_ids) == [1, 2, 3, 4, 5, 6]
    assert_same(net, ref)
    # 2->3 has two one-way edges: only the first gains a reverse (key 0)
    rev = net.edges[(net.edges["u"] == 3) & (net.edges["v"] == 2)]
    assert list(rev["key"]) == [0] and rev["highway"].tolist() == ["footway"]
    # the curved street's reverse runs the other way along the same curve, same length
    e = net.edges
    fwd = e[(e["u"] == 3) & (e["v"] == 6)].iloc[0]
    back = e[(e["u"] == 6) & (e["v"] == 3)].iloc[0]
    assert back.geometry.equals(shapely.reverse(fwd.geometry))
    assert (
        fwd["length"]
        == pytest.approx(back["length"])
        == pytest.approx(np.hypot(60, 40) + np.hypot(60, 60), rel=1e-3)
    )
    assert e["length"].sum() == pytest.approx(
        sum(d["length"] for _, _, d in net.graph.edges(data=True))
    )
    # the notes count what the reference dropped and added
    notes = " ".join(net.report.notes)
    assert "去掉 1 个不在任何道路上的节点" in notes
    assert "去掉 3 条不许步行的有向路段" in notes and "相连的 2 个节点" in notes
    assert len(net.fragments) == 1 and net.fragments["n_nodes"].tolist() == [2]
    # the input graph is left as it was
    assert nx.utils.graphs_equal(G, before)
    assert all("length" not in d for _, _, d in G.edges(data=True))


def test_projected_and_undirected_inputs():
    G = tricky_graph()
    # projected input: nodes given in UTM, converted to WGS84 like before
    tr = Transformer.from_crs("EPSG:4326", UTM, always_xy=True)
    P = nx.MultiDiGraph(crs=UTM)
    for n, d in G.nodes(data=True):
        x, y = tr.transform(d["x"], d["y"])
        P.add_node(n, x=x, y=y)
    P.add_edges_from(
        (u, v, k, {c: val for c, val in d.items() if c != "geometry"})
        for u, v, k, d in G.edges(keys=True, data=True)
    )
    assert_same(WalkNetwork.from_graph(P, metric_crs=UTM), reference_clean(P))
    # an undirected graph is upgraded to a MultiDiGraph first (both directions)
    U = nx.Graph(crs="EPSG:4326")
    U.add_nodes_from(G.nodes(data=True))
    U.add_edges_from((u, v, {"highway": "footway"}) for u, v in [(1, 2), (2, 3), (3, 1), (9, 10)])
    net = WalkNetwork.from_graph(U, metric_crs=UTM)
    assert_same(net, reference_clean(nx.MultiDiGraph(U)))
    assert net.n_edges == 6


def test_walkable_answers_are_asked_once_per_tag_combination():
    G = tricky_graph()
    calls = []

    def counting(d):
        calls.append(d)
        return walkable_edge(d)

    s = StreetArrays.read(G)
    s.drop_isolated()
    bad, stranded = s.drop_edges(counting, ("highway", "foot", "access", "bridge", "tunnel"))
    assert (bad, stranded) == (3, 2)
    assert len(calls) == len({repr(sorted(d.items())) for d in calls}) < G.number_of_edges()


def test_real_osm_file_cleans_like_networkx(shared_data, monkeypatch):
    from lifecircle.geo.network import load_network

    raw = []
    build = WalkNetwork.from_graph.__func__

    def grab(cls, graph, *args, **kw):
        raw.append(graph.copy())
        return build(cls, graph, *args, **kw)

    monkeypatch.setattr(WalkNetwork, "from_graph", classmethod(grab))
    load_network(shared_data / "osm" / "jingan_huangpu_drive.osm", simplify=False)
    monkeypatch.undo()
    net = WalkNetwork.from_graph(raw[0], metric_crs=UTM)
    ref = reference_clean(raw[0])
    assert (net.n_nodes, net.n_edges) == (ref.number_of_nodes(), ref.number_of_edges())
    assert net.n_nodes > 1000
    assert_same(net, ref)
