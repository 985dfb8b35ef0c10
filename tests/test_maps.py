"""Maps: layers, popups, GCJ-02 shift for Amap, display simplification, offline export, CLI."""

from __future__ import annotations

import json
import re

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from lifecircle.geo.crs import wgs84_to_gcj02
from lifecircle.geo.report import LoadReport
from lifecircle.maps import layers as ly
from lifecircle.maps.builder import build_map, overlay_summary
from lifecircle.maps.offline import (
    OfflineExportError,
    external_references,
    inline_assets,
    save_map,
)
from lifecircle.scripts.cli import main

UTM = "EPSG:32651"
# People's Square, Shanghai (WGS84) and its metric position
LON0, LAT0 = 121.4737, 31.2304
X0, Y0 = gpd.GeoSeries([Point(LON0, LAT0)], crs=4326).to_crs(UTM).iloc[0].coords[0]


def _metric(geoms, crs=UTM, **cols) -> gpd.GeoDataFrame:
    """A WGS84 GeoDataFrame from geometries given in metres relative to People's Square."""
    moved = [None if g is None else shapely.affinity.translate(g, X0, Y0) for g in geoms]
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries(moved, crs=crs)).to_crs(4326)


def _sq(x, y, size):
    return box(x, y, x + size, y + size)


@pytest.fixture(scope="module")
def street() -> dict:
    """A 2 km street with known contents (all metric sizes exact before projection)."""
    d = {}
    d["boundaries"] = _metric([_sq(-1000, -1000, 2000)], name=["示例街道"], code=["310107017"])
    d["facilities"] = _metric(
        [Point(0, 0), Point(300, 200), Point(-400, 100), Point(200, -500), None],
        fid=["f1", "f2", "f3", "f4", "f5"],
        name=["长者照护之家", "为老服务站", "健身苑点", "停车场<A>", "无坐标停车场"],
        type=["长者照护之家", "为老服务站", "健身苑点", "公共停车场", "公共停车场"],
        category=["elder_care", "elder_care", "fitness", "car_parking", "car_parking"],
        address=["石泉路1号", None, None, None, None],
    )
    d["service_areas"] = _metric(
        [Point(0, 0).buffer(r) for r in (200, 400, 700)]
        + [Point(-400, 100).buffer(r) for r in (200, 400, 700)],
        category=["elder_care"] * 3 + ["fitness"] * 3,
        minutes=[5, 10, 15] * 2,
        facility_fid=["全部"] * 6,
    )
    d["blind_spots"] = _metric(
        [_sq(600, 600, 300), _sq(-950, -950, 200)],
        boundary=["示例街道"] * 2,
        category=["elder_care"] * 2,
        minutes=[15, 15],
        population=[1234.4, 88.0],
        pop60=[400.0, 20.0],
    )
    d["sites"] = _metric(
        [Point(750, 750), Point(-850, -850)],
        rank=[1, 2],
        site_id=["c17", "c3"],
        gain_pop_15min=[1500.0, 800.0],
        gain_pop60_15min=[500.0, 200.0],
        gain_pp_15min=[2.5, 1.0],
        objective=[9000.0, 9000.0],
        gap=[0.0, 0.0],
    )
    d["corridors"] = _metric(
        [LineString([(-500, 0), (500, 0)]), LineString([(500, 0), (500, 300)]), Point(500, 0)],
        corridor_id=["c1", "c1", "g1"],
        corridor=["铜川路慢行街", "铜川路慢行街", "门户节点"],
        kind=["axis", "axis", "gateway"],
        part=["铜川路", "连接", "铜川路/兰田路"],
        role=["road", "connection", "gateway"],
        gap=[False, True, False],
    )
    d["corridor_summary"] = pd.DataFrame(
        {
            "corridor_id": ["c1", "g1"],
            "length_m": [1300.0, 0.0],
            "pop": [5000.0, None],
            "pop60": [1500.0, None],
            "minutes": [5.0, 5.0],
            "demand": ["population", "population"],
        }
    )
    d["coverage_table"] = pd.DataFrame(
        {
            "boundary": ["示例街道"] * 6,
            "category": ["elder_care"] * 3 + ["fitness"] * 3,
            "minutes": [5, 10, 15] * 2,
            "population": [10000] * 6,
            "population_covered": [3000, 6000, 9000, 2000, 5000, 8000],
        }
    )
    return d


def _build(street, **kw):
    args = {
        k: street[k]
        for k in ("boundaries", "facilities", "service_areas", "blind_spots", "sites", "corridors")
    }
    return build_map(
        **args,
        coverage_table=street["coverage_table"],
        corridor_summary=street["corridor_summary"],
        **kw,
    )


def _layers(m, kind):
    return [c for c in m._children.values() if getattr(c, "lc_kind", None) == kind]


def _props(layer):
    return [f["properties"] for f in layer.data["features"]]


# ------------------------------------------------------------------------- display geometry


def test_simplify_straight_line_to_two_points_and_rounds():
    # a 1 km line with a vertex every metre: 1,001 vertices, all on one straight line
    xs = np.linspace(0, 1000, 1001)
    line = _metric([LineString(np.column_stack([xs, 0.5 * xs]))])
    out = ly.simplify_for_display(line, tolerance_m=3.0)
    coords = np.asarray(out.geometry.iloc[0].coords)
    assert len(coords) == 2
    assert np.array_equal(coords, np.round(coords, 6))  # six decimals
    # the ends stay put (within rounding, 0.1 m)
    ends = gpd.GeoSeries([Point(coords[0]), Point(coords[-1])], crs=4326).to_crs(UTM)
    assert ends.iloc[0].distance(Point(X0, Y0)) < 0.2
    assert ends.iloc[1].distance(Point(X0 + 1000, Y0 + 500)) < 0.2


def test_simplify_keeps_real_shape():
    # zig-zag with 20 m teeth: far above the 3 m tolerance, every vertex stays
    xs = np.arange(0, 400, 20.0)
    ys = np.where(np.arange(len(xs)) % 2 == 0, 0.0, 20.0)
    zig = _metric([LineString(np.column_stack([xs, ys]))])
    out = ly.simplify_for_display(zig, tolerance_m=3.0)
    assert len(out.geometry.iloc[0].coords) == len(xs)


def test_to_display_reports_missing_geometry(street):
    report = LoadReport("map")
    out = ly.to_display(street["facilities"], what="facilities", report=report)
    assert len(out) == 4
    assert [(r.row, r.field) for r in report.rejections] == [(5, "geometry")]


# ------------------------------------------------------------------------- layers and popups


def test_overlays_counts_and_visibility(street):
    report = LoadReport("map")
    m = _build(street, basemap=None, report=report)
    s = overlay_summary(m)
    assert list(s["name"]) == [
        "街道边界",
        "设施 · 为老服务 (2)",
        "设施 · 体育健身 (1)",
        "设施 · 停车场 (1)",
        "服务范围 · 为老服务 · 5分钟",
        "服务范围 · 为老服务 · 10分钟",
        "服务范围 · 为老服务 · 15分钟",
        "服务范围 · 体育健身 · 5分钟",
        "服务范围 · 体育健身 · 10分钟",
        "服务范围 · 体育健身 · 15分钟",
        "服务盲区 · 为老服务 · 15分钟",
        "规划慢行道 (3)",
        "新增站点 (2)",
    ]
    assert list(s["n_features"]) == [1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 2, 3, 2]
    # the focus category (elder care) is on, fitness service areas are listed but off
    assert list(s["show"]) == [True] * 7 + [False] * 3 + [True] * 3
    # the facility without coordinates is reported, not lost
    assert [(r.row, r.field) for r in report.rejections] == [(5, "geometry")]


def test_facility_popups_name_type_address(street):
    m = _build(street, basemap=None)
    elder, fitness, parking = _layers(m, "facilities")
    p = _props(elder)[0]["_popup"]
    assert "<th>名称</th><td>长者照护之家</td>" in p
    assert "<th>类型</th><td>长者照护之家</td>" in p
    assert "<th>地址</th><td>石泉路1号</td>" in p
    # no address known: no 地址 row at all
    assert "地址" not in _props(elder)[1]["_popup"]
    # names from files are escaped
    assert "停车场&lt;A&gt;" in _props(parking)[0]["_popup"]
    # distinct colour and icon per category
    icons = [layer.marker.icon.options["html"] for layer in (elder, fitness, parking)]
    assert len(set(icons)) == 3
    assert "#c2185b" in icons[0] and ">老<" in icons[0]
    assert "#2e7d32" in icons[1] and ">健<" in icons[1]
    assert "#1565c0" in icons[2] and ">P<" in icons[2]


def test_blind_spot_site_corridor_popups(street):
    m = _build(street, basemap=None)
    (blind,) = _layers(m, "blind_spots")
    p = _props(blind)[0]["_popup"]
    assert "<th>人口</th><td>1,234</td>" in p
    assert "<th>60岁以上</th><td>400</td>" in p
    assert "<th>面积</th><td>9.0 公顷</td>" in p  # 300 m × 300 m
    (sites,) = _layers(m, "sites")
    p = _props(sites)[0]["_popup"]
    assert "<th>15分钟新增覆盖人口</th><td>1,500</td>" in p
    assert "<th>15分钟新增覆盖60岁以上人口</th><td>500</td>" in p
    assert "<th>15分钟人口覆盖率提升</th><td>+2.5 个百分点</td>" in p
    assert "<th>编号</th><td>c17</td>" in p
    gx, gy = wgs84_to_gcj02(*street["sites"].geometry.iloc[0].coords[0])
    assert f"{float(gx):.6f}, {float(gy):.6f}" in p  # 高德坐标 given for field work
    assert ">1<" in _props(sites)[0]["_icon"]
    (cor,) = _layers(m, "corridors")
    road, link, gate = _props(cor)
    assert "<th>本段长度</th><td>1.00 公里</td>" in road["_popup"]  # 1,000 m measured
    assert "<th>全线长度</th><td>1.30 公里</td>" in road["_popup"]
    assert "<th>5分钟步行范围</th><td>5,000 人</td>" in road["_popup"]
    assert "<th>其中60岁以上</th><td>1,500</td>" in road["_popup"]
    assert link.get("_gap") is True and "_gap" not in road
    assert "300 米" in link["_popup"]
    assert "门户节点" in gate["_popup"] and "长度" not in gate["_popup"]


def test_siting_column_labels():
    assert ly.gain_label("gain_pop_15min") == "15分钟新增覆盖人口"
    assert ly.gain_label("gain_pp60_5min") == "5分钟60岁以上覆盖率提升"
    assert ly.gain_label("gain_pop60") == "新增覆盖60岁以上人口"
    assert ly.gain_label("gap") == "最优性差距"
    assert ly.gain_label("gain_odd") == "gain_odd"


def test_service_areas_union_when_no_total_rows():
    # two facilities' own areas, no "全部" row: drawn as one union per category × minutes
    sa = _metric(
        [_sq(0, 0, 100), _sq(500, 0, 100), _sq(50, 0, 100)],
        category=["elder_care"] * 3,
        minutes=[5, 5, 10],
        fid=["a", "b", "a"],
    )
    layers = ly.service_area_layers(sa)
    assert [(la.lc_minutes, la.lc_n_features) for la in layers] == [(5.0, 1), (10.0, 1)]
    assert "2.0 公顷" in _props(layers[0])[0]["_popup"]  # 2 × 100 m × 100 m


def test_map_frames_the_boundary_not_far_facilities(street):
    far = pd.concat([street["facilities"], _metric([Point(90_000, 90_000)], category=["health"])])
    m = build_map(boundaries=street["boundaries"], facilities=far, basemap=None)
    (fit,) = [c for c in m._children.values() if type(c).__name__ == "FitBounds"]
    lon0, lat0, lon1, lat1 = street["boundaries"].total_bounds
    assert np.allclose(fit.bounds, [[lat0, lon0], [lat1, lon1]], atol=1e-6)
    # without boundaries: everything drawn
    m = build_map(facilities=far, basemap=None)
    (fit,) = [c for c in m._children.values() if type(c).__name__ == "FitBounds"]
    assert fit.bounds[1][1] == pytest.approx(far.geometry.x.max(), abs=1e-6)


def test_blind_spots_without_category_are_shown():
    bs = _metric([_sq(0, 0, 100)], minutes=[10], population=[50.0])
    (layer,) = ly.blind_spot_layer(bs)
    assert layer.layer_name == "服务盲区 · 全部设施 · 10分钟" and layer.show


def test_missing_column_is_named():
    sa = _metric([_sq(0, 0, 100)], category=["elder_care"])
    with pytest.raises(ValueError, match="service_areas: missing column\\(s\\) 'minutes'"):
        build_map(service_areas=sa, basemap=None)
    with pytest.raises(ValueError, match="no CRS"):
        build_map(service_areas=gpd.GeoDataFrame(geometry=[_sq(0, 0, 1)]), basemap=None)


# ------------------------------------------------------------------------- basemaps and GCJ-02


def test_amap_shifts_every_overlay_to_gcj02():
    fac = gpd.GeoDataFrame(
        {"name": ["人民广场"], "category": ["elder_care"]}, geometry=[Point(LON0, LAT0)], crs=4326
    )
    area = _metric([_sq(0, 0, 100)], category=["elder_care"], minutes=[5])
    gx, gy = wgs84_to_gcj02(LON0, LAT0)
    assert (float(gx), float(gy)) == pytest.approx((121.478223, 31.228458), abs=1e-6)

    m = build_map(facilities=fac, service_areas=area, basemap="amap")
    assert m.lc_system == "gcj02"
    (layer,) = _layers(m, "facilities")
    x, y = layer.data["features"][0]["geometry"]["coordinates"]
    assert (x, y) == pytest.approx((float(gx), float(gy)), abs=6e-7)
    # polygons too: every vertex shifted
    (sa,) = _layers(m, "service_areas")
    ring = np.asarray(sa.data["features"][0]["geometry"]["coordinates"][0])
    src = np.asarray(area.geometry.iloc[0].exterior.coords)
    ex, ey = wgs84_to_gcj02(src[:, 0], src[:, 1])
    # same vertices (a square is not simplified), shifted
    assert len(ring) == len(src)
    assert np.allclose(ring, np.column_stack([ex, ey]), atol=6e-7)

    # OSM basemap: drawn where the data are
    m = build_map(facilities=fac, basemap="osm")
    (layer,) = _layers(m, "facilities")
    assert list(layer.data["features"][0]["geometry"]["coordinates"]) == [LON0, LAT0]


def test_basemaps_in_html():
    fac = gpd.GeoDataFrame({"category": ["fitness"]}, geometry=[Point(LON0, LAT0)], crs=4326)
    html = build_map(facilities=fac, basemap="amap").get_root().render()
    tiles = json.loads(re.search(r'L\.tileLayer\(\s*("[^"]+")', html).group(1))
    assert tiles == (
        "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
        "&x={x}&y={y}&z={z}"
    )
    assert '"subdomains": "1234"' in html
    assert '"attribution": ' + json.dumps("高德地图") in html
    assert "tile.openstreetmap.org" not in html  # no WGS84 tiles under GCJ-02 overlays
    html = build_map(facilities=fac, basemap="osm").get_root().render()
    assert "tile.openstreetmap.org" in html and "basemaps.cartocdn.com" in html
    assert "autonavi" not in html
    # auto: Amap in China, OSM elsewhere (Helsinki)
    assert build_map(facilities=fac).lc_basemap == "amap"
    hel = gpd.GeoDataFrame({"category": ["fitness"]}, geometry=[Point(24.94, 60.17)], crs=4326)
    assert build_map(facilities=hel).lc_basemap == "osm"
    assert "L.tileLayer" not in build_map(facilities=fac, basemap=None).get_root().render()
    with pytest.raises(ValueError, match="unknown basemap"):
        build_map(facilities=fac, basemap="google")


def test_legend_scale_fullscreen_layer_control(street):
    html = _build(street, basemap=None, title="示例街道 15分钟社区生活圈").get_root().render()
    assert "<title>示例街道 15分钟社区生活圈</title>" in html
    assert "L.control.scale({imperial: false, metric: true" in html
    assert "L.Control.Fullscreen" in html or "L.control.fullscreen" in html
    assert "L.control.layers" in html
    texts = [json.loads(t) for t in re.findall(r'div\.innerHTML = (".*?");\n', html)]
    assert texts[0] == "示例街道 15分钟社区生活圈"  # the title over the map
    (legend,) = [t for t in texts if t.startswith("<h4>图例</h4>")]
    for text in (
        "为老服务 (2)",
        "体育健身 (1)",
        "停车场 (1)",
        "5分钟",
        "10分钟",
        "15分钟",
        "服务盲区",
        "规划慢行道",
        "街道边界",
        "新增站点",
        "人口覆盖率",
    ):
        assert text in legend
    # coverage shares from the table: 3000/10000 ... 8000/10000
    assert re.search(r"为老服务</th><td>30%</td><td>60%</td><td>90%</td>", legend)
    assert re.search(r"体育健身</th><td>20%</td><td>50%</td><td>80%</td>", legend)


def _layer_control(m) -> folium.LayerControl:
    (lc,) = [c for c in m._children.values() if isinstance(c, folium.LayerControl)]
    return lc


def test_long_layer_list_starts_folded(street):
    """A street map with a few overlays keeps its layer list open; a map with more than
    LAYER_LIST_OPEN_MAX overlays (the demo has 8 categories x 3 thresholds) starts folded, so the
    list never covers the map; an explicit choice wins."""
    from lifecircle.maps.builder import LAYER_LIST_OPEN_MAX

    small = _build(street, basemap=None)
    n_small = sum(
        isinstance(c, folium.map.Layer) and c.overlay and c.control
        for c in small._children.values()
    )
    assert n_small <= LAYER_LIST_OPEN_MAX
    assert _layer_control(small).options["collapsed"] is False
    many = street["facilities"].copy()
    many["category"] = [f"cat{i}" for i in range(len(many))]
    fac = pd.concat([many] * 7, ignore_index=True)
    fac["category"] = [f"cat{i}" for i in range(len(fac))]
    big = build_map(facilities=fac, basemap=None)
    assert _layer_control(big).options["collapsed"] is True
    assert (
        _layer_control(build_map(facilities=fac, basemap=None, collapsed=False)).options[
            "collapsed"
        ]
        is False
    )


def _legend(m) -> str:
    html = m.get_root().render()
    texts = [json.loads(t) for t in re.findall(r'div\.innerHTML = (".*?");\n', html)]
    (legend,) = [t for t in texts if t.startswith("<h4>图例</h4>")]
    return legend


def _node_street(street) -> dict:
    """The same street when no population is known: every count is network nodes."""
    d = dict(street)
    d["coverage_table"] = street["coverage_table"].assign(demand_basis="nodes")
    d["blind_spots"] = street["blind_spots"].assign(pop60=np.nan)
    d["sites"] = (
        street["sites"]
        .drop(columns=["gain_pop60_15min", "gain_pp_15min"])
        .rename(columns={"gain_pop_15min": "gain_nodes_15min"})
        .assign(weight="nodes")
    )
    d["corridor_summary"] = street["corridor_summary"].assign(demand="nodes", pop60=None)
    return d


def test_node_basis_says_network_nodes_never_population(street):
    d = _node_street(street)
    m = _build(d, basemap=None)
    assert m.lc_demand_basis == "nodes"
    legend = _legend(m)
    assert "<h5>路网节点覆盖率</h5>" in legend and "人口" not in legend
    # same shares as with people: 3000/10000 ... (the counts are nodes now)
    assert re.search(r"为老服务</th><td>30%</td><td>60%</td><td>90%</td>", legend)
    (blind,) = _layers(m, "blind_spots")
    p0, p1 = _props(blind)
    assert "<th>路网节点</th><td>1,234</td>" in p0["_popup"]
    assert p0["_tip"] == "盲区 1,234 个路网节点"
    assert "<th>路网节点</th><td>88</td>" in p1["_popup"]
    assert "60岁以上" not in p0["_popup"]  # unknown, not "0"
    (sites,) = _layers(m, "sites")
    sp = _props(sites)[0]["_popup"]
    assert "<th>15分钟新增覆盖路网节点</th><td>1,500</td>" in sp
    (cor,) = _layers(m, "corridors")
    road = _props(cor)[0]["_popup"]
    assert "<th>5分钟步行范围</th><td>5,000 个路网节点</td>" in road
    popups = [f["_popup"] for la in _layers(m, "blind_spots") + [sites, cor] for f in _props(la)]
    assert not any("人口" in p or " 人<" in p for p in popups)
    # the people's wording is unchanged on the street with population
    legend = _legend(_build(street, basemap=None))
    assert "<h5>人口覆盖率</h5>" in legend and "路网节点" not in legend


def test_node_basis_from_sites_or_explicit(street):
    d = _node_street(street)
    # no coverage table: the sites' weight says nodes; gain_pop columns are nodes then too
    sites = street["sites"].assign(weight="nodes")
    m = build_map(blind_spots=d["blind_spots"], sites=sites, basemap=None)
    assert m.lc_demand_basis == "nodes"
    sp = _props(_layers(m, "sites")[0])[0]["_popup"]
    assert "<th>15分钟新增覆盖路网节点</th><td>1,500</td>" in sp
    assert "<th>15分钟路网节点覆盖率提升</th><td>+2.5 个百分点</td>" in sp
    assert "<th>路网节点</th><td>1,234</td>" in _props(_layers(m, "blind_spots")[0])[0]["_popup"]
    # an explicit basis wins over the table
    m = _build(street, basemap=None, demand_basis="nodes")
    assert "<h5>路网节点覆盖率</h5>" in _legend(m)
    m = _build(d, basemap=None, demand_basis="population")
    assert "<h5>人口覆盖率</h5>" in _legend(m)


def test_demand_basis_helper():
    from lifecircle.maps.style import demand_basis, demand_words

    assert demand_basis(pd.DataFrame({"demand_basis": ["nodes", "nodes"]})) == "nodes"
    assert demand_basis(pd.DataFrame({"demand_basis": ["nodes", "population"]})) == "population"
    assert demand_basis(None, pd.DataFrame({"weight": ["nodes"]})) == "nodes"
    assert demand_basis(pd.DataFrame({"weight": ["pop"]})) == "population"
    assert demand_basis(pd.DataFrame({"x": [1]}), default="nodes") == "nodes"
    # the coverage table decides before the sites
    table = pd.DataFrame({"demand_basis": ["population"]})
    assert demand_basis(table, pd.DataFrame({"weight": ["nodes"]})) == "population"
    w = demand_words("nodes")
    assert (w.noun, w.share, w.count("12")) == ("路网节点", "路网节点覆盖率", "12 个路网节点")
    assert demand_words(None).share == "人口覆盖率"
    assert ly.gain_label("gain_pop_15min", "nodes") == "15分钟新增覆盖路网节点"
    assert ly.gain_label("gain_nodes_5min") == "5分钟新增覆盖路网节点"
    assert ly.gain_label("gain_pp_15min", "nodes") == "15分钟路网节点覆盖率提升"


def test_new_coverage_popup_names_the_category_in_chinese():
    nc = _metric(
        [_sq(0, 0, 100)], minutes=[15.0], area_ha=[1.0], gain_nodes=[42.0], category=["elder_care"]
    )
    (layer,) = ly.new_coverage_layer(nc, demand_basis="nodes")
    p = _props(layer)[0]["_popup"]
    assert "<th>类别</th><td>为老服务</td>" in p
    assert "<th>新增覆盖路网节点</th><td>42</td>" in p
    (layer,) = ly.new_coverage_layer(nc, category_labels={"elder_care": "养老"})
    assert "<th>类别</th><td>养老</td>" in _props(layer)[0]["_popup"]


# ------------------------------------------------------------------------- export


def test_offline_export_inlines_everything(street, tmp_path):
    m = _build(street, basemap=None)
    online = save_map(m, tmp_path / "online.html")
    text = online.read_text(encoding="utf-8")
    assert "https://cdn.jsdelivr.net/npm/leaflet@" in text  # folium's CDN links
    notes: list[str] = []
    offline = save_map(m, tmp_path / "offline.html", offline=True, notes=notes)
    html = offline.read_text(encoding="utf-8")
    assert external_references(html) == []
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=", html)
    # inlined from the package: Leaflet itself and the full-screen plugin
    assert "/npm/leaflet@1.9.3/dist/leaflet.js */" in html and "leaflet.fullscreen" in html
    assert "jquery" not in html.lower() or "jquery-3.7.1.min.js: not used" in " ".join(notes)
    dropped = [n for n in notes if "left out" in n]
    assert len(dropped) == 8  # jQuery, Bootstrap (2), Glyphicons, Font Awesome, Awesome-Markers (3)
    assert "@font-face" not in html
    # tiles remain the only network use when a basemap is drawn
    amap = save_map(_build(street, basemap="amap"), tmp_path / "amap.html", offline=True)
    assert external_references(amap.read_text(encoding="utf-8")) == []


def test_offline_refuses_unknown_asset_and_matches_other_release():
    page = '<html><head><script src="https://example.org/x/thing.js"></script></head></html>'
    with pytest.raises(OfflineExportError, match="no local copy of https://example.org/x/thing.js"):
        inline_assets(page, registry={})
    reg = {"https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": "var L = 1;</script>"}
    page = '<script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js"></script>'
    notes: list[str] = []
    out = inline_assets(page, registry=reg, notes=notes)
    assert out.startswith("<script>") and "var L = 1;<\\/script>" in out
    assert "another release" in notes[0]
    css = '<link rel="stylesheet" href="https://x.org/a@1/b.css"/>'
    with pytest.raises(OfflineExportError, match="loads further files"):
        inline_assets(css, registry={"https://x.org/a@1/b.css": "a{src:url(../f.woff)}"})


def _street_grid(spacing=80.0, extent=2400.0, step=1.0):
    """Dense street lines (a vertex every ``step`` metres, slightly wavy like real data)."""
    lines = []
    for k in np.arange(0, extent + 1, spacing):
        t = np.arange(0, extent + step, step)
        wobble = 0.4 * np.sin(t / 7.0)  # sub-metre noise, removed by simplification
        lines.append(LineString(np.column_stack([t, k + wobble])))
        lines.append(LineString(np.column_stack([k + wobble, t])))
    return lines


def test_street_map_stays_under_5_mb(tmp_path):
    # a 2.4 km street: buffered-network service areas for 3 categories × 3 thresholds, their
    # complements as blind spots, 300 facilities; every polygon has thousands of vertices
    lines = _street_grid()
    net = shapely.union_all([ln.buffer(25, quad_segs=8) for ln in lines])
    rng = np.random.default_rng(5)
    rows, geoms = [], []
    for cat, origin in (
        ("elder_care", (600, 600)),
        ("fitness", (1800, 700)),
        ("car_parking", (1200, 1800)),
    ):
        for minutes, r in ((5, 300), (10, 540), (15, 810)):
            reach = Point(origin).buffer(r, quad_segs=32)
            geoms.append(net.intersection(reach))
            rows.append((cat, minutes))
    sa = _metric(
        geoms, category=[r[0] for r in rows], minutes=[r[1] for r in rows], fid=["全部"] * len(rows)
    )
    frame = _sq(0, 0, 2400)
    blind = _metric(
        [frame.difference(g) for g in geoms],
        category=[r[0] for r in rows],
        minutes=[r[1] for r in rows],
        population=rng.integers(100, 900, len(rows)),
        pop60=rng.integers(10, 300, len(rows)),
    )
    pts = rng.uniform(0, 2400, (300, 2))
    fac = _metric(
        [Point(p) for p in pts],
        name=[f"设施{i}" for i in range(300)],
        type=["站点"] * 300,
        category=rng.choice(["elder_care", "fitness", "car_parking"], 300),
    )
    bnd = _metric([frame], name=["示例街道"])
    raw_vertices = int(
        shapely.get_num_coordinates(sa.geometry.values).sum()
        + shapely.get_num_coordinates(blind.geometry.values).sum()
    )
    assert raw_vertices > 200_000

    m = build_map(boundaries=bnd, facilities=fac, service_areas=sa, blind_spots=blind, basemap=None)
    path = save_map(m, tmp_path / "street.html", offline=True)
    size = path.stat().st_size
    assert size < 5_000_000, f"{size / 1e6:.2f} MB"
    drawn = sum(
        int(shapely.get_num_coordinates(shapely.from_geojson(json.dumps(f["geometry"]))))
        for la in _layers(m, "service_areas") + _layers(m, "blind_spots")
        for f in la.data["features"]
    )
    assert drawn < raw_vertices / 3  # simplification removed most vertices

    # the same without simplification would be far heavier
    m_raw = build_map(service_areas=sa, blind_spots=blind, basemap=None, tolerance_m=0)
    raw = len(m_raw.get_root().render().encode("utf-8"))
    assert raw > 2 * (size - 250_000)


@pytest.mark.realdata
def test_real_jingan_network_map_size(shared_data, tmp_path):
    # service areas shaped like the real Jing'an street network (edges buffered 20 m)
    path = shared_data / "osm" / "jingan_huangpu_drive.osm"
    edges = gpd.read_file(path, layer="lines")
    edges = edges.loc[edges["highway"].notna()].to_crs(UTM)
    assert len(edges) > 500
    net = shapely.union_all(edges.geometry.buffer(20, quad_segs=8).values)
    c = edges.geometry.union_all().centroid
    geoms, rows = [], []
    for cat, dx in (("elder_care", -500), ("fitness", 0), ("car_parking", 500)):
        for minutes, r in ((5, 300), (10, 540), (15, 810)):
            geoms.append(net.intersection(Point(c.x + dx, c.y).buffer(r)))
            rows.append((cat, minutes))
    sa = gpd.GeoDataFrame(
        {"category": [r[0] for r in rows], "minutes": [r[1] for r in rows]}, geometry=geoms, crs=UTM
    ).to_crs(4326)
    bnd = gpd.GeoDataFrame(
        {"name": ["静安-黄浦"]}, geometry=[edges.geometry.union_all().envelope], crs=UTM
    ).to_crs(4326)
    blind = gpd.GeoDataFrame(
        {
            "category": [r[0] for r in rows],
            "minutes": [r[1] for r in rows],
            "population": [1000] * 9,
            "pop60": [300] * 9,
        },
        geometry=[bnd.to_crs(UTM).geometry.iloc[0].difference(g) for g in geoms],
        crs=UTM,
    ).to_crs(4326)
    m = build_map(boundaries=bnd, service_areas=sa, blind_spots=blind, basemap="amap")
    out = save_map(m, tmp_path / "jingan.html", offline=True)
    assert out.stat().st_size < 5_000_000
    assert len(overlay_summary(m)) == 1 + 9 + 9


# ------------------------------------------------------------------------- CLI


def _write_outputs(street, tmp_path):
    cov = tmp_path / "cov"
    cov.mkdir()
    street["service_areas"].to_file(cov / "coverage.gpkg", layer="service_areas")
    street["blind_spots"].to_file(cov / "coverage.gpkg", layer="blind_spots")
    nodes = gpd.GeoDataFrame(
        {"osmid": [1, 2], "t_elder_care": [3.0, np.nan]},
        geometry=[Point(LON0, LAT0), Point(LON0 + 0.001, LAT0)],
        crs=4326,
    )
    nodes.to_file(cov / "coverage.gpkg", layer="nodes")
    street["coverage_table"].to_csv(cov / "coverage.csv", index=False)
    site = tmp_path / "site"
    site.mkdir()
    sites = street["sites"].assign(kind=["optimal", "proposed"])
    sites.to_file(site / "sites.gpkg", layer="sites")
    new_cov = _metric(
        [Point(750, 750).buffer(200), Point(750, 750).buffer(300)],
        minutes=[10, 15],
        area_ha=[12.6, 28.3],
        gain_pop=[900.0, 1500.0],
        gain_pp=[1.5, 2.5],
    )
    new_cov.to_file(site / "sites.gpkg", layer="new_coverage")
    street["boundaries"].to_file(tmp_path / "boundary.geojson")
    street["corridors"].to_file(tmp_path / "corridors.gpkg", layer="lines")
    return cov, site


def test_cli_map_draws_coverage_and_sites(street, tmp_path, capsys):
    cov, site = _write_outputs(street, tmp_path)
    out = tmp_path / "out" / "map.html"
    code = main(
        [
            "map",
            "--coverage",
            str(cov),
            "--sites",
            str(site),
            "--boundaries",
            str(tmp_path / "boundary.geojson"),
            "--corridors",
            str(tmp_path / "corridors.gpkg"),
            "--basemap",
            "none",
            "--offline",
            "--out",
            str(out),
        ]
    )
    text = capsys.readouterr().out
    assert code == 0, text
    html = out.read_text(encoding="utf-8")
    assert external_references(html) == []
    assert "示例街道 15分钟社区生活圈" in html  # title from the boundary name
    for line in (
        "服务范围 · 为老服务 · 5分钟: 1 个要素 (显示)",
        "服务范围 · 体育健身 · 15分钟: 1 个要素 (隐藏)",
        "服务盲区 · 为老服务 · 15分钟: 2 个要素 (显示)",
        "新增站点 (1): 1 个要素",
        "拟建站点 (1): 1 个要素",
        "新站点服务范围 · 10分钟: 1 个要素 (隐藏)",
        "新站点服务范围 · 15分钟: 1 个要素 (显示)",
        "规划慢行道 (3): 3 个要素",
        "街道边界: 1 个要素",
    ):
        assert line in text
    assert "30%" in html  # coverage.csv shares in the legend


def test_cli_map_bad_input_exit_2(street, tmp_path, capsys):
    cov, _ = _write_outputs(street, tmp_path)
    out = str(tmp_path / "m.html")
    assert main(["map", "--coverage", str(tmp_path / "nope"), "--out", out]) == 2
    assert "nope" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["map", "--coverage", str(empty), "--out", out]) == 2
    assert "coverage.gpkg" in capsys.readouterr().err
    bad = tmp_path / "bad"
    bad.mkdir()
    street["service_areas"].drop(columns="minutes").to_file(
        bad / "coverage.gpkg", layer="service_areas"
    )
    assert main(["map", "--coverage", str(bad), "--out", out]) == 2
    err = capsys.readouterr().err
    assert "service_areas" in err and "minutes" in err
    assert main(["map", "--corridors", "data/corridors/x.yaml", "--out", out]) == 2
