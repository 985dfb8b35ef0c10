"""Planned corridors (YAML, resolution on a known grid and on the real Jing'an network) and the
streets' run configs."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from lifecircle.analysis.corridors import (
    CorridorConfigError,
    CorridorSpec,
    RoadSpec,
    corridor_file,
    load_corridors,
    resolve_corridor,
    resolve_corridors,
)
from lifecircle.analysis.runconfig import RunConfigError, load_run_config, street_config_file
from lifecircle.geo.network import WalkNetwork
from lifecircle.settings import threshold_cost

UTM = "EPSG:32651"
X0, Y0, STEP, N = 350000.0, 3460000.0, 100.0, 7
TO_LL = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)


def grid(unnamed=(), footway_rows=(), rename=None) -> WalkNetwork:
    """7 × 7 grid, 100 m spacing, in UTM 51N. Row i is 横i路 (west-east), column j is 纵j路.

    Node (i, j) has id i*7+j+1 and sits at (X0 + 100 j, Y0 + 100 i). ``unnamed`` holds
    ``(i, j, "h"|"v")`` edges (from node (i, j) east or north) without a name; rows in
    ``footway_rows`` are unnamed footways; ``rename`` maps (i, j, d) to another name.
    """
    G = nx.MultiDiGraph(crs="EPSG:4326")
    for i in range(N):
        for j in range(N):
            lon, lat = TO_LL.transform(X0 + j * STEP, Y0 + i * STEP)
            G.add_node(i * N + j + 1, x=lon, y=lat)
    for i in range(N):
        for j in range(N):
            a = i * N + j + 1
            for d, b, name in (("h", a + 1, f"横{i}路"), ("v", a + N, f"纵{j}路")):
                if (d == "h" and j == N - 1) or (d == "v" and i == N - 1):
                    continue
                attrs = {"highway": "residential"}
                if d == "h" and i in footway_rows:
                    attrs["highway"] = "footway"
                elif (i, j, d) not in unnamed:
                    attrs["name"] = (rename or {}).get((i, j, d), name)
                G.add_edge(a, b, **attrs)
    return WalkNetwork.from_graph(G, metric_crs=UTM)


def node_xy(net):
    ij = np.column_stack([(net.node_ids - 1) // N, (net.node_ids - 1) % N])
    return ij


def expected_reach(net, seed_ij, limit_m):
    """Nodes within limit of a set of grid nodes (Manhattan distance on the full grid)."""
    ij = node_xy(net)
    d = np.min([np.abs(ij[:, 0] - a) + np.abs(ij[:, 1] - b) for a, b in seed_ij], axis=0) * STEP
    return d <= limit_m


@pytest.fixture(scope="module")
def net():
    return grid()


def spec(name, kind, roads, **kw):
    return CorridorSpec(
        name=name,
        kind=kind,
        id=name,
        roads=tuple(r if isinstance(r, RoadSpec) else RoadSpec(r) for r in roads),
        **kw,
    )


def metric(gdf):
    return gdf.to_crs(UTM)


# --------------------------------------------------------------------------- synthetic grid
def test_ring_exact_length_and_coverage(net):
    demand = gpd.GeoDataFrame(
        {
            "node_idx": np.arange(net.n_nodes),
            "pop": net.node_ids * 10.0,
            "pop60": net.node_ids * 1.0,
        },
        geometry=gpd.points_from_xy(net.lonlat[:, 0], net.lonlat[:, 1]),
        crs=4326,
    )
    lines, rep = resolve_corridor(
        net, spec("环", "ring", ["横0路", "纵6路", "横6路", "纵0路", "横0路"]), demand=demand
    )
    assert rep.status == "ok" and not rep.gaps and not rep.unmatched
    assert rep.length_m == pytest.approx(2400.0, abs=1e-6)
    assert list(lines["part"]) == ["横0路", "纵6路", "横6路", "纵0路"]
    assert lines["length_m"].tolist() == pytest.approx([600.0] * 4, abs=1e-6)
    assert metric(lines).length.sum() == pytest.approx(2400.0, abs=1e-3)
    # 5 min at 0.9 m/s = 270 m: every node but the centre (300 m from the ring)
    limit = threshold_cost("elderly", minutes=5)
    assert limit == pytest.approx(270.0)
    ring_ij = [(i, j) for i in range(N) for j in range(N) if i in (0, 6) or j in (0, 6)]
    reach = expected_reach(net, ring_ij, limit)
    assert reach.sum() == 48
    assert rep.pop == pytest.approx(10.0 * net.node_ids[reach].sum())
    assert rep.pop60 == pytest.approx(net.node_ids[reach].sum())
    centre = 3 * N + 3 + 1
    assert rep.pop_total - rep.pop == pytest.approx(10.0 * centre)
    assert rep.pop_share == pytest.approx(1 - centre / net.node_ids.sum())


def test_axis_whole_road_and_stretch(net):
    lines, rep = resolve_corridor(net, spec("轴", "axis", ["横3路"]))
    assert rep.length_m == pytest.approx(600.0, abs=1e-6)
    limit = threshold_cost("elderly", minutes=5)
    assert rep.pop == expected_reach(net, [(3, j) for j in range(N)], limit).sum() == 35
    assert rep.demand_is_count and rep.pop60 is None

    road = RoadSpec("横3路", from_road="纵2路", to_road="纵4路")
    lines, rep = resolve_corridor(net, spec("段", "themed", [road]))
    assert rep.status == "ok"
    assert rep.length_m == pytest.approx(200.0, abs=1e-6)
    seg = metric(lines).geometry.iloc[0]
    assert sorted(shapely.get_coordinates(seg)[[0, -1], 0] - X0) == pytest.approx([200, 400])
    assert rep.pop == expected_reach(net, [(3, 2), (3, 3), (3, 4)], limit).sum()


def test_unmatched_name_and_connection_gap(net):
    lines, rep = resolve_corridor(net, spec("缺", "axis", ["横1路", "不存在路", "横3路"]))
    assert rep.unmatched == ["不存在路"]
    assert rep.status == "partial"
    assert len(rep.gaps) == 1
    g = rep.gaps[0]
    assert (g.kind, g.from_road, g.to_road) == ("connection", "横1路", "横3路")
    assert g.length_m == pytest.approx(200.0) and g.unnamed_m == 0.0
    conn = lines[lines["role"] == "connection"]
    assert len(conn) == 1 and bool(conn["gap"].iloc[0])
    # the two parallel roads from their far ends to the connection, plus 200 m between them
    assert rep.length_m == pytest.approx(300 + 200 + 300, abs=1e-6)


def test_short_connections_and_unnamed_connections():
    # 横0路 and 横1路 joined by 100 m named streets: not a gap (gap_m = 100)
    lines, rep = resolve_corridor(grid(), spec("近", "axis", ["横0路", "横1路"]))
    assert not rep.gaps and rep.status == "ok"
    # the same with every street between them unnamed: a gap (100 m unnamed > unnamed_m = 30)
    unnamed = {(0, j, "v") for j in range(N)}
    lines, rep = resolve_corridor(grid(unnamed=unnamed), spec("近", "axis", ["横0路", "横1路"]))
    assert [(g.kind, g.length_m, g.unnamed_m) for g in rep.gaps] == [("connection", 100.0, 100.0)]


def test_planned_link_is_not_a_gap(net):
    roads = [RoadSpec("横1路"), RoadSpec("绿地联通", link=True), RoadSpec("横3路")]
    lines, rep = resolve_corridor(net, spec("联", "axis", roads))
    assert not rep.gaps and rep.status == "ok"
    assert [(g.kind, g.from_road, g.to_road, g.length_m) for g in rep.links] == [
        ("link", "横1路", "横3路", 200.0)
    ]
    assert lines.loc[lines["role"] == "link", "part"].tolist() == ["绿地联通"]


def test_road_with_a_break_reports_off_road_stretch():
    # 横3路 has no name on its two middle blocks (between 纵2路 and 纵4路)
    net = grid(unnamed={(3, 2, "h"), (3, 3, "h")})
    lines, rep = resolve_corridor(net, spec("断", "axis", ["横3路"]))
    assert rep.length_m == pytest.approx(600.0, abs=1e-6)
    assert [(g.kind, g.length_m, g.unnamed_m) for g in rep.gaps] == [("off_road", 200.0, 200.0)]
    assert rep.matched_m["横3路"] == pytest.approx(400.0)


def test_creek_bank_path_by_waterway_and_alias():
    # row 6 is an unnamed footway along a creek 30 m to its north
    net = grid(footway_rows=(6,))
    creek = gpd.GeoDataFrame(
        {"name": ["真如港"]},
        geometry=[shapely.LineString([(X0 - 50, Y0 + 630), (X0 + 650, Y0 + 630)])],
        crs=UTM,
    )
    bank = RoadSpec("真如港", along_waterway="^真如港", waterway_m=60, highway=("footway", "path"))
    ring = spec("环", "ring", ["横0路", "纵6路", bank, "纵0路"])
    lines, rep = resolve_corridor(net, ring, waterways=creek.to_crs(4326))
    assert rep.status == "ok" and not rep.gaps
    assert rep.matched_m["真如港"] == pytest.approx(600.0)
    assert rep.length_m == pytest.approx(2400.0, abs=1e-6)
    # without the creek's geometry the bank path is unmatched and the ring has a 600 m gap
    lines, rep = resolve_corridor(net, ring)
    assert rep.unmatched == ["真如港"]
    assert [(g.kind, g.from_road, g.to_road, g.length_m) for g in rep.gaps] == [
        ("connection", "纵6路", "纵0路", 600.0)
    ]
    assert any("真如港" in n for n in rep.notes)
    # a named bank path matches by alias
    rename = {(6, j, "h"): "真如港滨河步道" for j in range(N - 1)}
    net2 = grid(rename=rename)
    bank2 = RoadSpec("真如港", aliases=("真如港滨河步道",))
    lines, rep = resolve_corridor(net2, spec("环", "ring", ["横0路", "纵6路", bank2, "纵0路"]))
    assert rep.status == "ok" and rep.length_m == pytest.approx(2400.0, abs=1e-6)


def test_gateways_at_junctions_and_boundary(net):
    gate = spec("门", "gateway", ["横3路", "纵3路", "横5路"])
    pts, rep = resolve_corridor(net, gate)
    xy = shapely.get_coordinates(metric(pts).geometry.values) - [X0, Y0]
    assert sorted(map(tuple, np.round(xy, 3))) == [(300.0, 300.0), (300.0, 500.0)]
    assert rep.n_points == 2 and not rep.gaps
    assert any("横3路 与 横5路 不相交" in n for n in rep.notes)

    box = gpd.GeoDataFrame(geometry=[shapely.box(X0 - 50, Y0 - 50, X0 + 450, Y0 + 650)], crs=UTM)
    edge = CorridorSpec(
        name="边", kind="gateway", at="boundary", roads=(RoadSpec("横3路"), RoadSpec("纵3路"))
    )
    pts, rep = resolve_corridor(net, edge, boundary=box.to_crs(4326))
    xy = shapely.get_coordinates(metric(pts).geometry.values) - [X0, Y0]
    assert np.round(xy, 3).tolist() == [[450.0, 300.0]]
    assert any("纵3路 未穿过街道边界" in n for n in rep.notes)


def test_boundary_limits_the_roads(net):
    # a street boundary over the western third of the grid, 100 m margin: x up to 350 m
    box = gpd.GeoDataFrame(geometry=[shapely.box(X0 - 50, Y0 - 50, X0 + 250, Y0 + 650)], crs=UTM)
    lines, rep = resolve_corridor(
        net, spec("轴", "axis", ["横3路"]), boundary=box.to_crs(4326), margin_m=100.0
    )
    assert rep.length_m == pytest.approx(400.0, abs=1e-6)
    xs = shapely.get_coordinates(metric(lines).geometry.values)[:, 0] - X0
    assert (xs.min(), xs.max()) == pytest.approx((0.0, 400.0), abs=1e-3)


def test_user_drawn_geojson(net, tmp_path):
    a, b = TO_LL.transform([X0, X0 + 600], [Y0 + 300, Y0 + 300])
    path = tmp_path / "drawn.geojson"
    gpd.GeoDataFrame(geometry=[shapely.LineString(zip(a, b, strict=True))], crs=4326).to_file(
        path, driver="GeoJSON"
    )
    drawn = CorridorSpec(name="手绘", kind="themed", geojson=path)
    lines, rep = resolve_corridor(net, drawn)
    assert rep.status == "drawn"
    assert rep.length_m == pytest.approx(600.0, abs=0.05)
    assert lines["role"].tolist() == ["drawn"]
    assert rep.pop == 35  # the same reach as 横3路


def test_placeholder(net):
    lines, rep = resolve_corridor(net, spec("趣味减压街", "themed", []))
    assert rep.status == "placeholder" and len(lines) == 0 and rep.pop is None
    assert "待指定道路" in str(rep)


# --------------------------------------------------------------------------- YAML
def test_packaged_corridor_files():
    sq = load_corridors(corridor_file("石泉路街道"))
    assert sq.street == "石泉路街道" and len(sq) == 7
    ring = sq.corridors[0]
    assert ring.kind == "ring"
    assert [r.name for r in ring.roads] == [
        "铜川路",
        "兰田路",
        "华池路",
        "管弄路",
        "石泉路",
        "真如港",
    ]
    assert ring.roads[-1].along_waterway and "真如港滨河步道" in ring.roads[-1].aliases
    themed = [c for c in sq if c.kind == "themed"]
    assert [c.name for c in themed] == [
        "趣味减压街",
        "生态活力街",
        "亲子活动街",
        "幸福烟火街",
        "文艺生活街",
        "健康养生街",
    ]
    assert all(c.is_placeholder for c in themed)

    gq = load_corridors(corridor_file("甘泉路街道"))
    by_id = {c.id: c for c in gq}
    assert [r.name for r in by_id["ring"].roads] == [
        "新村路",
        "子长路",
        "绿地通行和联通通道",
        "西乡路",
        "新村路",
        "黄陵路",
        "甘泉路",
        "宜川路",
        "白水路",
        "合阳路",
    ]
    assert by_id["ring"].roads[2].link
    assert {c.kind for c in gq} == {"axis", "ring", "gateway", "themed"}
    assert {c.theme for c in gq if c.kind == "themed"} == {"公益", "休闲", "文化", "营商"}
    gan = by_id["theme_ganquan"].roads[0]
    assert (gan.name, gan.from_road, gan.to_road) == ("甘泉路", "黄陵路", "宜川路")
    assert len(load_corridors(corridor_file("曹杨新村街道"))) == 9


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("corridors:\n  - {name: a, kind: loop, roads: [x]}\n", "corridors[0] (a).kind"),
        ("corridors:\n  - {name: a, kind: axis, roads: [x], colour: red}\n", "corridors[0].colour"),
        (
            "corridors:\n  - {name: a, kind: ring, roads: [{name: x, from: y}, z]}\n",
            "corridors[0] (a).roads[0].from",
        ),
        (
            "corridors:\n  - {name: a, kind: axis, roads: [{name: x, pattern: '('}]}\n",
            "corridors[0] (a).roads[0].pattern",
        ),
        (
            "corridors:\n  - {name: a, kind: axis, geojson: nothere.geojson}\n",
            "corridors[0] (a).geojson",
        ),
        ("defaults: {profile: runner}\ncorridors: []\n", "defaults.profile"),
        (
            "corridors:\n  - {name: a, kind: axis}\n  - {name: b, kind: axis, id: c1}\n",
            "corridors[1] (b).id",
        ),
    ],
)
def test_bad_yaml_names_file_and_field(tmp_path, text, field):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CorridorConfigError) as exc:
        load_corridors(path)
    assert exc.value.field == field
    assert str(path) in str(exc.value)


def test_resolve_corridors_from_yaml(net, tmp_path):
    path = tmp_path / "grid.yaml"
    path.write_text(
        "street: 网格街道\ndefaults: {minutes: 10, profile: adult}\ncorridors:\n"
        "  - {id: ring, name: 主环, kind: ring, roads: [横0路, 纵6路, 横6路, 纵0路, 横0路]}\n"
        "  - {id: todo, name: 待定街, kind: themed, roads: []}\n"
        "  - {id: gate, name: 中心, kind: gateway, roads: [横3路, 纵3路]}\n",
        encoding="utf-8",
    )
    res = resolve_corridors(net, path)
    assert res.summary["corridor_id"].tolist() == ["ring", "todo", "gate"]
    assert res.summary["status"].tolist() == ["ok", "placeholder", "ok"]
    assert res.summary["length_m"].tolist() == pytest.approx([2400.0, 0.0, 0.0])
    # 10 min at 1.2 m/s = 720 m reaches every node from the ring and from the centre
    assert res.summary["pop"].tolist()[0] == 49 and res.summary["pop"].tolist()[2] == 49
    assert res.lines.crs.to_epsg() == 4326
    assert res.lines["role"].value_counts().to_dict() == {"road": 4, "gateway": 1}
    assert "主环" in str(res)


# --------------------------------------------------------------------------- real network
@pytest.fixture(scope="module")
def jingan(shared_data):
    import osmnx as ox

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        G = ox.graph_from_xml(shared_data / "osm" / "jingan_huangpu_drive.osm", simplify=False)
    return WalkNetwork.from_graph(G)


def _junction(net, a, b):
    """Centroid of the nodes two named roads share (hand check, independent of the resolver)."""
    e = net.edges
    na = set(e.loc[e["name"] == a, "u_idx"]) | set(e.loc[e["name"] == a, "v_idx"])
    nb = set(e.loc[e["name"] == b, "u_idx"]) | set(e.loc[e["name"] == b, "v_idx"])
    shared = sorted(na & nb)
    assert shared, f"{a} and {b} do not meet"
    return net.xy[shared].mean(axis=0)


LOOP = ["福州路", "西藏中路", "延安东路", "河南中路"]


@pytest.mark.realdata
def test_real_loop_length_matches_hand_check(jingan):
    lines, rep = resolve_corridor(jingan, spec("环", "ring", LOOP + ["福州路"]))
    assert rep.status == "ok" and not rep.gaps and not rep.unmatched
    # hand check: the four junctions are about 365, 840, 398 and 976 m apart as the crow flies
    # (2.58 km); the roads are nearly straight
    corners = [_junction(jingan, a, b) for a, b in zip(LOOP, LOOP[1:] + LOOP[:1], strict=True)]
    crow = [float(np.hypot(*(corners[k] - corners[k - 1]))) for k in range(4)]
    assert sum(crow) == pytest.approx(2578, abs=15)
    assert 2450 < rep.length_m < 2750
    parts = dict(zip(lines["part"], lines["length_m"], strict=True))
    for road, c in zip(LOOP, [crow[0], crow[1], crow[2], crow[3]], strict=True):
        assert parts[road] == pytest.approx(c, rel=0.08), road
    assert 500 < rep.pop < 560  # network nodes within 270 m of the loop (of 1,694)
    assert rep.pop_total == jingan.n_nodes and rep.demand_is_count
    # with demand from geo.population (one per node, 30 % aged 60+)
    from lifecircle.geo.population import demand_from_network

    _, rep2 = resolve_corridor(
        jingan, spec("环", "ring", LOOP), demand=demand_from_network(jingan, share60=0.3)
    )
    assert rep2.pop == rep.pop and rep2.pop60 == pytest.approx(0.3 * rep.pop)


@pytest.mark.realdata
def test_real_unmatched_and_gaps(jingan):
    base = resolve_corridor(jingan, spec("环", "ring", LOOP))[1]
    roads = LOOP[:2] + ["不存在路"] + LOOP[2:]
    _, rep = resolve_corridor(jingan, spec("环", "ring", roads))
    assert rep.unmatched == ["不存在路"] and rep.status == "partial"
    assert rep.length_m == pytest.approx(base.length_m, abs=1.0)
    # 河南中路 ends at 延安东路; 人民路 starts 230 m further south, partly over unnamed links
    _, rep = resolve_corridor(jingan, spec("线", "axis", ["河南中路", "人民路"]))
    (gap,) = rep.gaps
    assert gap.kind == "connection" and 200 < gap.length_m < 260 and gap.unnamed_m > 0
    # 九江路 between 河南中路 and 浙江中路 is missing from this drive network: a long detour
    _, rep = resolve_corridor(
        jingan, spec("环", "ring", ["九江路", "浙江中路", "广东路", "河南中路"])
    )
    off = [g for g in rep.gaps if g.kind == "off_road"]
    assert len(off) == 1 and off[0].from_road == "九江路" and off[0].length_m > 500


# --------------------------------------------------------------------------- street run configs

STREETS = {"石泉路街道": 14187869, "甘泉路街道": 14187870, "曹杨新村街道": 14187873}


@pytest.mark.parametrize(("street", "relation"), list(STREETS.items()))
def test_street_configs_with_sample_data(street, relation, shared_data, monkeypatch):
    monkeypatch.setenv("LIFECIRCLE_DATA", str(shared_data))
    cfg = load_run_config(street_config_file(street))
    assert cfg["street"] == street and cfg["osm_relation"] == relation
    assert cfg["district"] == "普陀区" and cfg["notes"] == []
    assert cfg["profiles"] == ["elderly", "adult"] and cfg["minutes"] == [5, 10, 15]
    assert [f["source"] for f in cfg["facilities"]] == ["osm", "file", "file"]
    eldercare = cfg["facilities"][1]
    assert eldercare["coords"] == "gcj02" and eldercare["type_col"] == "type"
    assert Path(eldercare["file"]) == shared_data / "facilities" / "eldercare_shanghai_gcj02.csv"
    assert cfg["population"]["source"] == "file"
    assert Path(cfg["population"]["file"]).is_file()
    assert Path(cfg["corridors"]) == corridor_file(street).resolve()
    assert load_corridors(cfg["corridors"]).street == street
    assert cfg["siting"]["category"] == "elder_care" and cfg["siting"]["new_sites"] == 3
    assert cfg["siting"]["profile"] == "elderly"


def test_street_config_targets_and_rings(monkeypatch):
    monkeypatch.delenv("LIFECIRCLE_DATA", raising=False)
    gq = load_run_config(street_config_file("甘泉路街道"))
    assert {(t["category"], t["population_share"]) for t in gq["targets"]} == {
        ("health", 0.98),
        ("elder_care", 1.0),
        ("culture", 1.0),
        ("fitness", 1.0),
        ("market", 0.99),
    }
    cy = load_run_config(street_config_file("曹杨新村街道"))
    assert cy["metres"] == [200, 500] and cy["siting"]["minutes"] == 5


def test_street_config_without_sample_data(monkeypatch):
    monkeypatch.delenv("LIFECIRCLE_DATA", raising=False)
    cfg = load_run_config(street_config_file("石泉路街道"))
    # optional sources are skipped with a note; OSM stays
    assert [f["source"] for f in cfg["facilities"]] == ["osm"]
    assert cfg["population"]["source"] == "none" and cfg["population"]["file"] is None
    assert len(cfg["notes"]) == 5
    assert all("LIFECIRCLE_DATA" in n or "权重 1" in n for n in cfg["notes"])


BASE = "street: 测试街道\nosm_relation: 1\n"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("osm_relation: 1\n", "street"),
        ("street: 测试街道\n", "osm_relation"),
        (BASE + "profiles: [runner]\n", "profiles[0]"),
        (BASE + "minutes: [5, -10]\n", "minutes[1]"),
        (BASE + "categories: [elder_care, spa]\n", "categories[1]"),
        (BASE + "facilities:\n  - {source: file, file: x.csv}\n", "facilities[0].coords"),
        (
            BASE + "facilities:\n  - {source: file, file: x.csv, coords: moon}\n",
            "facilities[0].coords",
        ),
        (
            BASE + "facilities:\n  - {source: file, file: nothere.csv, coords: wgs84}\n",
            "facilities[0].file",
        ),
        (
            BASE
            + "facilities:\n  - {source: file, file: '${LC_UNSET_VAR}/a.csv', coords: wgs84}\n",
            "facilities[0].file",
        ),
        (BASE + "facilities:\n  - {source: ftp}\n", "facilities[0].source"),
        (BASE + "siting: {model: annealing}\n", "siting.model"),
        (BASE + "siting: {category: car_parking, new_sites: 2.5}\n", "siting.new_sites"),
        (BASE + "corridors: nothere.yaml\n", "corridors"),
        (BASE + "network: {source: file}\n", "network.file"),
        (BASE + "population: {source: file}\n", "population.file"),
        (
            BASE + "targets:\n  - {category: elder_care, minutes: 15, population_share: 100}\n",
            "targets[0].population_share",
        ),
        (BASE + "buffer: 500\n", "buffer"),
    ],
)
def test_bad_run_config_names_file_and_field(tmp_path, monkeypatch, text, field):
    monkeypatch.delenv("LC_UNSET_VAR", raising=False)
    path = tmp_path / "street.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RunConfigError) as exc:
        load_run_config(path)
    assert exc.value.field == field
    assert exc.value.file == str(path.resolve())


def test_run_config_paths_are_relative_to_the_file(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "fac.csv").write_text("name,lng,lat\na,121.4,31.2\n", encoding="utf-8")
    path = tmp_path / "street.yaml"
    path.write_text(
        BASE + "facilities:\n  - {file: sub/fac.csv, coords: wgs84, category: fitness}\n",
        encoding="utf-8",
    )
    cfg = load_run_config(path)
    assert cfg["facilities"][0]["file"] == str(tmp_path / "sub" / "fac.csv")
    assert cfg["facilities"][0]["category"] == "fitness"
    assert cfg["siting"] == {
        "category": "elder_care",
        "model": "greedy",
        "new_sites": 3,
        "minutes": 15,
        "profile": "elderly",
        "candidates": None,  # network nodes inside the boundary
    }
    assert cfg["buffer_m"] is None and cfg["max_snap_m"] == 250.0
