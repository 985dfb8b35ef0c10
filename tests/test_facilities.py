"""geo.facilities: loading facility tables with full row accounting, categories, OSM POIs."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon, box

from lifecircle.geo import facilities as F
from lifecircle.geo.crs import gcj02_to_wgs84, wgs84_to_bd09
from lifecircle.geo.facilities import FacilitiesError, load_categories, load_facilities

COLUMNS = ["fid", "name", "type", "category", "address", "src_file", "src_row", "src_x", "src_y"]

#: Expected outcome of the fixture tables (tests/fixtures/facilities_gbk.csv and
#: facilities_utf8bom.csv hold the same 14 rows), keyed by spreadsheet row (header = row 1).
LOADED = {
    2: ("曹杨新村街道综合为老服务中心", "elder_care"),
    3: ("兰溪路健身苑点", "fitness"),
    4: ("曹杨公共停车场", "car_parking"),
    5: ("曹杨社区卫生服务中心", "health"),
    6: ("曹杨社区文化活动中心", "culture"),
    7: ("枫桥路菜市场", "market"),
    8: ("上海曹杨社区长者照护之家", "elder_care"),
    13: ("北京某为老服务站", "elder_care"),  # in China: kept unless an area is declared
}
REJECTED = {
    9: ("经度/纬度", "经纬度颠倒 (swapped lat/lon)"),
    10: ("经度", "坐标不是数字"),
    11: ("经度/纬度", "缺少坐标"),
    12: ("类型", "未知设施类型"),
    14: (None, "重复行"),
    15: ("名称", "同名且位置重复 (duplicate: same name within 1 m)"),
}
CAOYANG = box(121.39, 31.22, 121.43, 31.26)


def rejections(report) -> dict[int, tuple[str | None, str]]:
    return {r.row: (r.field, r.reason) for r in report.rejections}


# --------------------------------------------------------------------------- CSV
@pytest.mark.parametrize(
    "name,encoding",
    [("facilities_gbk.csv", "GBK/GB18030"), ("facilities_utf8bom.csv", "UTF-8-BOM")],
)
def test_csv_row_accounting(fixtures_dir, name, encoding):
    gdf, rep = load_facilities(fixtures_dir / name, "gcj02")
    assert f"encoding {encoding}" in rep.notes
    assert (rep.n_input, rep.n_loaded, rep.n_rejected) == (14, 8, 6) and rep.balanced
    assert list(gdf.columns) == [*COLUMNS, "geometry"] and gdf.crs.to_epsg() == 4326
    assert (
        dict(zip(gdf["src_row"], zip(gdf["name"], gdf["category"], strict=True), strict=True))
        == LOADED
    )
    got = rejections(rep)
    assert set(got) == set(REJECTED)
    for row, (field, reason) in REJECTED.items():
        assert got[row][0] == field, row
        assert got[row][1].startswith(reason), (row, got[row][1])
    assert all(r.file == str(fixtures_dir / name) for r in rep.rejections)
    assert "与第 2 行相同" in got[14][1] and "与第 3 行相同" in got[15][1]
    # coordinates: original kept, geometry converted from GCJ-02
    first = gdf.iloc[0]
    assert (first.src_x, first.src_y) == (121.407393, 31.240929)
    lon, lat = gcj02_to_wgs84(121.407393, 31.240929)
    assert first.geometry.x == pytest.approx(lon, abs=1e-12)
    assert first.geometry.y == pytest.approx(lat, abs=1e-12)
    assert first.fid == f"{name[:-4]}:2" and first.src_file == name
    assert first.address == "枣阳路" and gdf.iloc[1].address is None
    assert gdf["fid"].is_unique
    assert rep.stats["loaded_elder_care"] == 3


def test_declared_area_rejects_far_points(fixtures_dir):
    gdf, rep = load_facilities(fixtures_dir / "facilities_gbk.csv", "gcj02", area=CAOYANG)
    assert rep.balanced and rep.n_loaded == 7 and 13 not in set(gdf["src_row"])
    field, reason = rejections(rep)[13]
    assert field == "经度/纬度" and reason.startswith(
        "远离研究范围 (far outside the declared area)"
    )
    assert "1,0" in reason  # ≈ 1,05x km from the area, stated in metres
    # tolerance: a point 500 m outside the area is kept with the default 1 km, not with 100 m
    small = box(121.39, 31.22, 121.4034, 31.26)  # row 7 (菜市场) lies 376 m east of it
    g1, _ = load_facilities(fixtures_dir / "facilities_gbk.csv", "gcj02", area=small)
    g2, r2 = load_facilities(
        fixtures_dir / "facilities_gbk.csv", "gcj02", area=small, area_tolerance_m=100
    )
    assert 7 in set(g1["src_row"]) and 7 not in set(g2["src_row"]) and r2.balanced
    # an area given as a GeoDataFrame in a metric CRS works the same way
    gdf_area = gpd.GeoDataFrame(geometry=[CAOYANG], crs=4326).to_crs(32651)
    g3, _ = load_facilities(fixtures_dir / "facilities_gbk.csv", "gcj02", area=gdf_area)
    assert set(g3["src_row"]) == set(gdf["src_row"])


def test_default_area_is_china(tmp_path):
    path = tmp_path / "world.csv"
    pd.DataFrame(
        {
            "name": ["上海", "东京", "赫尔辛基"],
            "lng": [121.4, 139.69, 24.94],
            "lat": [31.2, 35.69, 60.17],
        }
    ).to_csv(path, index=False)
    gdf, rep = load_facilities(path, "wgs84", category="elder_care")
    assert list(gdf["name"]) == ["上海"]
    assert {r.row: r.reason.split(":")[0] for r in rep.rejections} == {
        3: "远离研究范围 (far outside the declared area)",
        4: "远离研究范围 (far outside the declared area)",
    }
    gdf, rep = load_facilities(path, "wgs84", category="elder_care", area=False)
    assert len(gdf) == 3 and rep.n_rejected == 0


def test_default_category_and_no_type_column(fixtures_dir, tmp_path):
    gdf, rep = load_facilities(fixtures_dir / "facilities_gbk.csv", "gcj02", category="elder_care")
    assert rep.balanced and rep.n_loaded == 9
    office = gdf.set_index("src_row").loc[12]
    assert office.category == "elder_care" and office.type == "其他/企业办公"
    assert any("default category 'elder_care'" in n for n in rep.notes)
    # without a type column every row takes the default (or "other")
    path = tmp_path / "plain.csv"
    pd.DataFrame({"名称": ["甲", "乙"], "x": [121.40, 121.41], "y": [31.2, 31.21]}).to_csv(
        path, index=False
    )
    gdf, _ = load_facilities(path, "wgs84", category="fitness")
    assert list(gdf["category"]) == ["fitness", "fitness"] and list(gdf["type"]) == [None, None]
    gdf, _ = load_facilities(path, "wgs84")
    assert list(gdf["category"]) == ["other", "other"]
    with pytest.raises(FacilitiesError, match="unknown category"):
        load_facilities(path, "wgs84", category="nonsense")


def test_columns_named_or_detected(tmp_path):
    path = tmp_path / "odd.csv"
    pd.DataFrame(
        {
            "站名": ["甲", "乙"],
            "E": [121.40, 121.41],
            "N": [31.20, 31.21],
            "设施类型": ["百姓健身房", "共享单车停放点"],
        }
    ).to_csv(path, index=False)
    with pytest.raises(FacilitiesError, match="no coordinate columns"):
        load_facilities(path, "wgs84")
    gdf, rep = load_facilities(path, "wgs84", x="E", y="N", name_col="站名")
    assert list(gdf["category"]) == ["fitness", "bike_parking"] and list(gdf["name"]) == [
        "甲",
        "乙",
    ]
    assert np.allclose(gdf.geometry.x, [121.40, 121.41])
    with pytest.raises(FacilitiesError, match="no x"):
        load_facilities(path, "wgs84", x="lon", y="N")
    # several candidates by prefix: refuse to guess
    amb = tmp_path / "amb.csv"
    pd.DataFrame({"lon_min": [121.4], "lon_max": [121.41], "lat": [31.2]}).to_csv(amb, index=False)
    with pytest.raises(FacilitiesError, match="several possible"):
        load_facilities(amb, "wgs84")
    # Chinese names, semicolons, an Amap-style combined "location" column
    semi = tmp_path / "semi.csv"
    semi.write_text("名称;经度;纬度\n甲;121.40;31.20\n", encoding="utf-8")
    assert len(load_facilities(semi, "wgs84")[0]) == 1
    loc = tmp_path / "loc.csv"
    loc.write_text('name,location\n甲,"121.40,31.20"\n乙,\n', encoding="utf-8")
    gdf, rep = load_facilities(loc, "wgs84")
    assert list(gdf["src_x"]) == [121.40] and rejections(rep)[3][1].startswith("缺少坐标")


def test_malformed_and_blank_lines(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "name,lng,lat\n甲,121.40,31.20\n\n乙,121.41,31.21,多余,字段\n丙,121.42,31.22,,\n",
        encoding="utf-8",
    )
    gdf, rep = load_facilities(path, "wgs84")
    assert list(gdf["name"]) == ["甲", "丙"] and list(gdf["src_row"]) == [2, 5]
    assert rep.balanced and rejections(rep)[4][1].startswith("字段数与表头不符 (malformed row)")


@pytest.mark.parametrize(
    "coords,x,y",
    [
        ("bd09", *wgs84_to_bd09(121.41, 31.23)),
        ("EPSG:32651", 346_000.0, 3_456_000.0),
    ],
)
def test_other_coordinate_systems(tmp_path, coords, x, y):
    path = tmp_path / "sys.csv"
    pd.DataFrame({"name": ["甲"], "x": [float(x)], "y": [float(y)]}).to_csv(path, index=False)
    gdf, rep = load_facilities(path, coords)
    assert rep.n_loaded == 1
    pt = gdf.geometry.iloc[0]
    if coords == "bd09":
        assert (pt.x, pt.y) == pytest.approx((121.41, 31.23), abs=1e-7)
    else:
        back = gpd.GeoSeries([pt], crs=4326).to_crs(32651).iloc[0]
        assert (back.x, back.y) == pytest.approx((346_000.0, 3_456_000.0), abs=1e-3)
    assert gdf["src_x"].iloc[0] == pytest.approx(float(x))


def test_coordinates_out_of_range(tmp_path):
    path = tmp_path / "range.csv"
    pd.DataFrame({"name": ["a", "b"], "lng": [121.4, 500.0], "lat": [31.2, 31.2]}).to_csv(
        path, index=False
    )
    gdf, rep = load_facilities(path, "wgs84", category="market")
    assert len(gdf) == 1 and rejections(rep)[3][1].startswith("坐标超出经纬度范围")


def test_unreadable_inputs(tmp_path, fixtures_dir):
    with pytest.raises(FileNotFoundError):
        load_facilities(tmp_path / "missing.csv", "gcj02")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(FacilitiesError, match="empty"):
        load_facilities(empty, "gcj02")
    with pytest.raises(FacilitiesError, match="unknown coordinate system"):
        load_facilities(fixtures_dir / "facilities_gbk.csv", "mars-ish")
    with pytest.raises(FacilitiesError, match="declare the coordinate system"):
        load_facilities(fixtures_dir / "facilities_gbk.csv", None)
    junk = tmp_path / "junk.geojson"
    junk.write_text("not json", encoding="utf-8")
    with pytest.raises(FacilitiesError, match="cannot read"):
        load_facilities(junk, "wgs84")


# --------------------------------------------------------------------------- XLSX, GeoJSON, GPKG
def test_xlsx_sheet(tmp_path):
    path = tmp_path / "f.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    wb.active.append(["本表说明"])
    ws = wb.create_sheet("站点")
    ws.append(["名称", "类型", "经度", "纬度"])
    ws.append(["曹杨为老服务站", "为老服务站", 121.407393, 31.240929])  # numeric cells
    ws.append([None, None, None, None])  # blank row: not a data row
    ws.append(["石泉停车场", "公共停车场", "121.421365", "31.244022"])  # text cells
    ws.append(["无坐标", "为老服务站", None, 31.2])
    wb.save(path)
    gdf, rep = load_facilities(path, "gcj02", sheet="站点")
    assert list(gdf["name"]) == ["曹杨为老服务站", "石泉停车场"]
    assert list(gdf["src_row"]) == [2, 4] and list(gdf["category"]) == ["elder_care", "car_parking"]
    assert rejections(rep) == {5: ("经度", "缺少坐标 (missing coordinates)")} and rep.balanced
    assert gdf["src_x"].iloc[0] == 121.407393
    with pytest.raises(FacilitiesError, match="no sheet"):
        load_facilities(path, "gcj02", sheet="nope")
    with pytest.raises(FacilitiesError, match="no coordinate columns"):
        load_facilities(path, "gcj02")  # first sheet has no coordinates


@pytest.mark.parametrize("suffix", ["geojson", "gpkg"])
def test_vector_files(tmp_path, suffix):
    square = box(121.400, 31.200, 121.402, 31.202)
    src = gpd.GeoDataFrame(
        {"name": ["点", "面", "空"], "type": ["超市", "便利店", "菜市场"]},
        geometry=[Point(121.41, 31.21), square, None],
        crs=4326,
    )
    path = tmp_path / f"f.{suffix}"
    src.to_file(path)
    gdf, rep = load_facilities(path, "gcj02")
    assert rep.balanced and rejections(rep) == {3: ("geometry", "缺少几何 (missing geometry)")}
    assert list(gdf["category"]) == ["market", "market"]
    # the polygon is represented by a point inside it, converted from GCJ-02
    assert square.contains(Point(gdf["src_x"].iloc[1], gdf["src_y"].iloc[1]))
    lon, lat = gcj02_to_wgs84(121.41, 31.21)
    assert gdf.geometry.iloc[0].distance(Point(lon, lat)) < 1e-9
    # a projected file is used through its own CRS when declared wgs84
    utm = tmp_path / f"utm.{suffix}"
    src.to_crs(32651).to_file(utm)
    gdf, rep = load_facilities(utm, "wgs84")
    assert gdf.geometry.iloc[0].distance(Point(121.41, 31.21)) < 1e-9
    assert any("file CRS EPSG:32651 used" in n for n in rep.notes)
    with pytest.raises(FacilitiesError, match="projected"):
        load_facilities(utm, "gcj02")


# --------------------------------------------------------------------------- categories
ISSUE_TYPES = {
    "elder_care": [
        "为老服务站",
        "综合为老服务中心",
        "长者照护之家",
        "日间照料中心",
        "老年人日间服务中心",
        "社区食堂/助餐点",
        "养老院/敬老院",
    ],
    "fitness": ["健身苑点", "健身步道", "百姓健身房", "体育场馆", "学校开放场地"],
    # parking as the plans count it: three categories (issue 8 §7)
    "car_parking": ["公共停车场", "停车场", "居民区停车位"],
    "bike_parking": ["非机动车停放点", "共享单车停放点", "非机动车库"],
    "charging": ["充电桩", "非机动车充电桩"],
    "health": ["卫生服务站", "社区卫生服务中心", "医院", "门诊"],
    "culture": ["文化活动中心", "社区文化中心", "图书馆"],
    "market": ["菜市场", "标准化菜市场", "超市", "便利店"],
}


def test_categories_yaml_lists_the_issue_types_exactly():
    cats = load_categories()
    for cat, types in ISSUE_TYPES.items():
        for t in types:
            assert cats.exact.get(F._norm(t)) == cat, t
    assert {c: cats.label(c) for c in ISSUE_TYPES} == {
        "elder_care": "为老服务",
        "fitness": "体育健身",
        "car_parking": "停车场",
        "bike_parking": "非机动车停放",
        "charging": "充电桩",
        "health": "医疗卫生",
        "culture": "文化",
        "market": "商业便民",
    }
    assert cats.label("other") == "其他"


@pytest.mark.parametrize(
    "text,cat",
    [
        # the shared elder-care file's types
        ("长者照护之家", "elder_care"),
        ("爱照护服务点(企业站点)", "elder_care"),
        ("养老机构", "elder_care"),
        ("护理站", "elder_care"),
        ("日间照料", "elder_care"),
        ("医院/门诊", "health"),
        ("其他/企业办公", None),
        # real-world variants: full-width brackets, spaces, parts of "A/B", longer names
        ("爱照护服务点（企业站点）", "elder_care"),
        (" 为老 服务站 ", "elder_care"),
        ("助餐点", "elder_care"),
        ("敬老院", "elder_care"),
        ("上海曹杨社区长者照护之家", "elder_care"),
        ("社区卫生服务站", "health"),
        ("精神卫生中心", "health"),
        ("社区文化活动中心", "culture"),
        ("公共自行车停车点", "bike_parking"),
        ("小区非机动车停车棚", "bike_parking"),
        ("电动自行车充电柜", "charging"),
        ("地下停车库", "car_parking"),
        ("市民健身中心", "fitness"),
        ("生鲜超市", "market"),
        ("公园", "park"),
        ("为老服务", "elder_care"),
        ("elder_care", "elder_care"),
        ("", None),
        (None, None),
        ("加油站", None),
        ("养老服务公司办公室", None),
        ("万达广场", None),
        ("曹杨花园", None),
    ],
)
def test_classify(text, cat):
    assert load_categories().classify(text) == cat


def test_custom_categories_mapping(tmp_path):
    rules = {"categories": {"school": {"label": "学校", "keywords": ["小学"]}}}
    path = tmp_path / "s.csv"
    pd.DataFrame(
        {"name": ["甲"], "type": ["曹杨二中附属小学"], "lng": [121.4], "lat": [31.2]}
    ).to_csv(path, index=False)
    gdf, _ = load_facilities(path, "wgs84", categories=rules)
    assert list(gdf["category"]) == ["school"]
    yml = tmp_path / "c.yaml"
    yml.write_text("categories:\n  school:\n    label: 学校\n    types: [小学]\n", encoding="utf-8")
    assert load_categories(yml).classify("小学") == "school"


# --------------------------------------------------------------------------- OSM
def osm_features() -> gpd.GeoDataFrame:
    """An osmnx-style features frame: (element, id) index, tags as columns."""
    idx = pd.MultiIndex.from_tuples(
        [
            ("node", 1),
            ("node", 2),
            ("way", 3),
            ("node", 4),
            ("node", 5),
            ("node", 6),
            ("way", 7),
            ("way", 8),
            ("node", 9),
            ("relation", 10),
            ("node", 11),
        ],
        names=["element", "id"],
    )
    rows = [
        # amenity, social_facility, social_facility:for, leisure, access, shop, healthcare, name
        ("social_facility", None, "senior", None, None, None, None, "曹杨长者照护之家"),
        ("social_facility", None, "child", None, None, None, None, "儿童福利"),
        ("parking", None, None, None, None, None, None, "停车场"),
        (None, None, None, "fitness_station", None, None, None, "健身点"),
        ("pharmacy", None, None, None, None, None, None, "药房"),
        ("clinic", None, None, None, None, None, None, "社区卫生服务站"),
        (None, None, None, "pitch", "private", None, None, "学校球场"),
        (None, None, None, "pitch", None, None, None, "市民球场"),
        (None, None, None, None, None, "supermarket", None, "超市"),
        ("community_centre", None, None, None, None, None, None, "文化中心"),
        (None, "nursing_home", None, None, None, None, None, "养老院"),
    ]
    cols = [
        "amenity",
        "social_facility",
        "social_facility:for",
        "leisure",
        "access",
        "shop",
        "healthcare",
        "name",
    ]
    geoms = [Point(121.40 + 0.001 * i, 31.20) for i in range(len(rows))]
    geoms[2] = box(121.40, 31.21, 121.401, 31.211)
    geoms[9] = Polygon([(121.41, 31.22), (121.412, 31.22), (121.412, 31.222)])
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=cols, index=idx), geometry=geoms, crs=4326)


def test_facilities_from_osm_features():
    gdf, rep = F.facilities_from_osm_features(osm_features())
    assert rep.balanced and (rep.n_input, rep.n_loaded) == (11, 8)
    assert dict(zip(gdf["fid"], gdf["category"], strict=True)) == {
        "osm:node/1": "elder_care",
        "osm:way/3": "car_parking",
        "osm:node/4": "fitness",
        "osm:node/6": "health",
        "osm:way/8": "fitness",
        "osm:node/9": "market",
        "osm:relation/10": "culture",
        "osm:node/11": "elder_care",
    }
    assert gdf.set_index("fid").loc["osm:node/1", "type"] == "amenity=social_facility"
    rejected = {r.row: r.value for r in rep.rejections}
    assert set(rejected) == {2, 5, 7}  # child care, pharmacy, private pitch
    assert "amenity=pharmacy" in rejected[5]
    # polygons → a point inside them
    park = gdf.set_index("fid").loc["osm:way/3"]
    assert box(121.40, 31.21, 121.401, 31.211).contains(park.geometry)
    assert (park.src_x, park.src_y) == (park.geometry.x, park.geometry.y)
    only, rep2 = F.facilities_from_osm_features(osm_features(), categories=["elder_care"])
    assert len(only) == 2 and rep2.balanced


def test_facilities_from_pyrosm_style_frame():
    # pyrosm: id/osm_type columns, rarer tags inside a "tags" JSON column
    frame = gpd.GeoDataFrame(
        {
            "id": [5, 6],
            "osm_type": ["node", "way"],
            "amenity": ["social_facility", "bicycle_parking"],
            "name": ["老年日间照料中心", None],
            "tags": ['{"social_facility:for": "senior"}', None],
        },
        geometry=[Point(24.94, 60.17), Point(24.95, 60.17)],
        crs=4326,
    )
    gdf, rep = F.facilities_from_osm_features(frame)
    assert list(gdf["fid"]) == ["osm:node/5", "osm:way/6"]
    assert list(gdf["category"]) == ["elder_care", "bike_parking"] and rep.balanced


def test_osm_tags_and_online_call_goes_through_osmnx(monkeypatch):
    assert "social_facility" in F.OSM_TAGS["amenity"]
    assert {"fitness_station", "fitness_centre", "sports_centre"} <= set(F.OSM_TAGS["leisure"])
    assert {"parking", "bicycle_parking"} <= set(F.OSM_TAGS["amenity"])
    assert F.osm_tags(["car_parking"]) == {"amenity": ["parking"]}
    assert F.osm_tags(["bike_parking"]) == {"amenity": ["bicycle_parking", "motorcycle_parking"]}
    assert F.osm_tags(["charging"]) == {"amenity": ["charging_station"]}
    calls = []

    def fake(polygon, tags):
        calls.append((polygon, tags))
        return osm_features()

    import osmnx

    monkeypatch.setattr(osmnx, "features_from_polygon", fake)
    area = gpd.GeoDataFrame(geometry=[CAOYANG], crs=4326).to_crs(32651)
    gdf, rep = F.facilities_from_osm(area, categories=["elder_care", "market"])
    ((poly, tags),) = calls
    assert poly.geom_type == "Polygon" and poly.normalize().equals_exact(CAOYANG.normalize(), 1e-9)
    assert tags == F.osm_tags(["elder_care", "market"])
    assert sorted(gdf["category"]) == ["elder_care", "elder_care", "market"] and rep.balanced


# --------------------------------------------------------------------------- real data
def test_shared_eldercare_file_accounts_for_all_72_rows(shared_data):
    path = shared_data / "facilities" / "eldercare_shanghai_gcj02.csv"
    gdf, rep = load_facilities(path, "gcj02")
    assert (rep.n_input, rep.n_loaded, rep.n_rejected) == (72, 61, 11) and rep.balanced
    got = rejections(rep)
    assert got[13] == ("lng/lat", "缺少坐标 (missing coordinates)")  # 爱照护总部, Excel row 13
    offices = {r for r, (_, reason) in got.items() if reason.startswith("未知设施类型")}
    assert offices == {2, 3, 8, 23, 35, 36, 37, 38, 40, 55}
    assert gdf["category"].value_counts().to_dict() == {"elder_care": 49, "health": 12}
    assert sorted(gdf["src_row"].tolist() + list(got)) == list(range(2, 74))


def test_shared_eldercare_rows_fall_inside_putuo(shared_data):
    gdf, _ = load_facilities(shared_data / "facilities" / "eldercare_shanghai_gcj02.csv", "gcj02")
    putuo = gpd.read_file(shared_data / "boundaries" / "putuo_district.geojson")  # EPSG:4490
    outline = putuo.to_crs(32651).geometry.iloc[0]
    inside = gdf.to_crs(32651).within(outline).to_numpy()
    rows_inside = set(gdf["src_row"][inside])
    # every site named 普陀区 lies in the (simplified) outline once converted from GCJ-02
    named = set(gdf["src_row"][gdf["name"].str.contains("普陀区")])
    assert named == {14, 15, 16, 18, 21, 41, 68} and named <= rows_inside
    assert rows_inside == named | {5, 12, 17, 19, 20, 22, 26, 31, 45, 56, 71, 73}
    # read as WGS84 (the mistake the declaration prevents), 爱晚亭敬老院 lands 320 m outside
    raw = gpd.GeoSeries(gpd.points_from_xy(gdf["src_x"], gdf["src_y"]), crs=4326).to_crs(32651)
    wrong = set(gdf["src_row"][raw.within(outline).to_numpy()])
    assert {15, 19} <= rows_inside - wrong
    # the outline as the declared area (1 km tolerance) keeps those and nearby sites only
    near, rep = load_facilities(
        shared_data / "facilities" / "eldercare_shanghai_gcj02.csv", "gcj02", area=putuo
    )
    assert rep.balanced and set(near["src_row"]) == rows_inside | {69}  # 静安区精神卫生中心, 794 m


def test_shared_parks_file(shared_data):
    gdf, rep = load_facilities(shared_data / "facilities" / "parks_putuo_wgs84.csv", "wgs84")
    assert (rep.n_input, rep.n_loaded) == (277, 277) and rep.balanced
    assert set(gdf["category"]) == {"park"}
    first = gdf.iloc[0]
    assert (first["name"], first["src_row"]) == ("大华公园城市丽景街", 2)
    assert (first.geometry.x, first.geometry.y) == (121.4622873, 31.3157458)  # WGS84: unshifted
