"""A district in one run: its streets on one network, district totals, ranking, selector map."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import yaml
from jingan_configs import DISTRICT
from shapely.geometry import box

from lifecircle.analysis.runconfig import (
    DistrictConfig,
    RunConfigError,
    is_district_config,
    load_district_config,
    run_config_schema,
)
from lifecircle.scripts.cli import main
from lifecircle.settings import PACKAGE_DATA
from lifecircle.workflow.district import district_boundaries, district_totals, street_ranking

PUTUO = PACKAGE_DATA / "districts" / "普陀区.yaml"

CONFIG = DISTRICT


# ------------------------------------------------------------------------------ the config
def test_shipped_district_config_lists_putuos_ten_streets(monkeypatch):
    monkeypatch.delenv("LIFECIRCLE_DATA", raising=False)
    assert is_district_config(PUTUO)
    assert not is_district_config(PACKAGE_DATA / "streets" / "石泉路街道.yaml")
    cfg = load_district_config(PUTUO)
    rels = sorted(s["osm_relation"] for s in cfg["streets"])
    assert rels == list(range(14187864, 14187874))
    assert cfg["street"] == cfg["district"] == "普陀区" and cfg["siting"] is None
    # the registry's relations and names are the config's
    reg = yaml.safe_load((PACKAGE_DATA / "boundaries" / "streets.yaml").read_text("utf-8"))
    assert {s["name"]: s["osm_relation"] for s in reg["streets"]} == {
        s["name"]: s["osm_relation"] for s in cfg["streets"]
    }


def test_district_schema_is_shipped_and_validates_the_config(capsys):
    assert main(["schema", "district-config"]) == 0
    printed = json.loads(capsys.readouterr().out)
    shipped = PACKAGE_DATA / "schemas" / "district-config.schema.json"
    assert json.loads(shipped.read_text(encoding="utf-8")) == printed
    assert printed["required"] == ["district"]
    text = PUTUO.read_text(encoding="utf-8")
    assert text.splitlines()[0].endswith("$schema=../schemas/district-config.schema.json")
    raw = yaml.safe_load(text)
    DistrictConfig.model_validate(raw)
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(run_config_schema("district-config"))
    assert [e.message for e in validator.iter_errors(raw)] == []


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("district: 区\nstreets: []\n", "streets"),
        ("district: 区\nstreets: [{name: 甲街道}]\n", "streets[0].osm_relation"),
        ("district: 区\nstreets: [{name: 甲, osm_relation: 1}, {name: 甲, osm_relation: 2}]\n",
         "streets"),
        ("district: 区\nstreets: [{name: 甲, osm_relation: 0}]\n", "streets[0].osm_relation"),
        ("district: 区\nstreets: [{name: 甲, osm_relation: 1}]\nstreet: 甲\n", "street"),
    ],
)  # fmt: skip
def test_district_config_errors_name_the_field(tmp_path, text, field):
    path = tmp_path / "区.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RunConfigError) as exc:
        load_district_config(path)
    assert exc.value.field == field


# ------------------------------------------------------------------------------ the tables
def _table() -> pd.DataFrame:
    rows = []
    for name, pop, cov, area in (("甲街道", 100.0, 50.0, 1.0), ("乙街道", 300.0, 30.0, 3.0)):
        for minutes, k in ((5, 1), (15, 2)):
            rows.append({
                "boundary": name, "category": "elder_care", "profile": "elderly",
                "minutes": minutes, "limit_m": 54.0 * minutes, "area_km2": area,
                "area_covered_km2": area * 0.1 * k, "area_share": 0.1 * k,
                "network_extent_share": 1.0 if name == "甲街道" else 0.6,
                "population": pop, "population_covered": min(pop, cov * k),
                "population_uncovered": pop - min(pop, cov * k),
                "population_share": min(pop, cov * k) / pop,
                "crowfly_population_share": 0.9 if name == "甲街道" else 0.5,
                "blind_spot_population": pop - min(pop, cov * k), "n_facilities": 7,
                "demand_basis": "population",
            })  # fmt: skip
    return pd.DataFrame(rows)


def test_district_total_is_the_population_weighted_sum_of_the_streets():
    t = _table()
    total = district_totals(t, "测试区").set_index("minutes")
    # 5 min: (50 + 30) / 400; 15 min: (100 + 60) / 400
    assert total.loc[5, "population_share"] == pytest.approx(0.2)
    assert total.loc[15, "population_share"] == pytest.approx(0.4)
    for m in (5, 15):
        s = t[t["minutes"] == m]
        weighted = (s["population_share"] * s["population"]).sum() / s["population"].sum()
        assert total.loc[m, "population_share"] == pytest.approx(weighted)
    assert total.loc[5, "population"] == 400 and total.loc[5, "blind_spot_population"] == 320
    assert total.loc[5, "crowfly_population_share"] == pytest.approx((90 + 150) / 400)
    assert total.loc[5, "network_extent_share"] == pytest.approx((1.0 + 1.8) / 4)
    assert total.loc[5, "area_share"] == pytest.approx(0.1)
    assert total.loc[5, "n_facilities"] == 7 and (total["boundary"] == "测试区").all()


def test_ranking_is_sorted_by_coverage_within_category_and_minutes():
    r = street_ranking(_table())
    assert list(r.columns) == ["类别", "步行分钟", "排名", "街道", "人口覆盖率", "人口", "盲区人口"]
    assert r["街道"].tolist() == ["甲街道", "乙街道", "甲街道", "乙街道"]
    assert r["排名"].tolist() == [1, 2, 1, 2]
    assert r["人口覆盖率"].tolist() == [0.5, 0.1, 1.0, 0.2]
    assert r["盲区人口"].tolist() == [50.0, 270.0, 0.0, 240.0]


# ------------------------------------------------------------------------------ boundaries
@pytest.mark.realdata
def test_streets_inside_a_district_polygon(shared_data, tmp_path):
    districts = gpd.read_file(shared_data / "boundaries" / "shanghai_districts.geojson")
    two = districts[districts["县名"].isin(["黄浦区", "静安区"])].to_crs(32651)
    poly = gpd.GeoDataFrame(
        {"name": ["两区"]}, geometry=[two.union_all().buffer(200)], crs=32651
    ).to_crs(4326)
    poly_file = tmp_path / "两区.geojson"
    poly.to_file(poly_file)
    cfg = {
        "streets": [],
        "street_boundaries": {
            "file": str(shared_data / "boundaries" / "shanghai_districts.geojson"),
            "name_col": None,
        },
        "district_boundary": {"file": str(poly_file), "name_col": None, "name": "两区"},
    }
    gdf, _ = district_boundaries(cfg)
    assert sorted(gdf["name"]) == ["静安区", "黄浦区"]  # neighbours only touch it
    cfg["district_boundary"] = None
    assert len(district_boundaries(cfg)[0]) == 16  # no polygon: every feature


# ------------------------------------------------------------------------------ end to end
@pytest.mark.realdata
def test_district_run_offline_on_the_jingan_network(shared_data, tmp_path, capsys):
    path = tmp_path / "测试区.yaml"
    path.write_text(CONFIG.format(data=shared_data), encoding="utf-8")
    out = tmp_path / "out"
    argv = ["run", "--config", str(path), "--out", str(out), "--quiet", "--allow-partial"]
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    assert "测试区：2 个街道，一个路网、一次计算" in stdout
    assert "全区合计" in stdout and "为老服务：5 分钟 1.5% / 10 分钟 5.6% / 15 分钟 11.2%" in stdout
    t = pd.read_csv(out / "coverage.csv", encoding="utf-8-sig")
    assert t["level"].tolist() == ["street"] * 6 + ["district"] * 3
    streets = t[t["level"] == "street"]
    total = t[t["level"] == "district"].set_index("minutes")
    assert (t.loc[t["level"] == "district", "boundary"] == "测试区").all()
    # one network, one pass: 黄浦区 531 nodes, 静安区 5 (a third / 1 % inside the network)
    assert streets.groupby("boundary")["population"].first().to_dict() == {
        "静安区": 5,
        "黄浦区": 531,
    }
    assert total["population"].tolist() == [536, 536, 536]
    assert total["population_covered"].tolist() == [8, 30, 60]
    for m, s in streets.groupby("minutes"):
        weighted = (s["population_share"] * s["population"]).sum() / s["population"].sum()
        assert total.loc[m, "population_share"] == pytest.approx(weighted, abs=1e-4)
        assert total.loc[m, "blind_spot_population"] == s["blind_spot_population"].sum()
    assert (t["blind_spot_population"] == t["population_uncovered"]).all()
    detail = pd.read_excel(out / "coverage.xlsx", sheet_name="覆盖率明细")  # Chinese only
    assert "level" not in detail and detail["层级"].tolist() == ["街道"] * 6 + ["全区合计"] * 3
    rank = pd.read_excel(out / "coverage.xlsx", sheet_name="街道排名")
    assert rank["街道"].tolist() == ["黄浦区", "静安区"] * 3
    for _, g in rank.groupby("步行分钟"):
        assert g["路网节点覆盖率"].is_monotonic_decreasing and g["排名"].tolist() == [1, 2]
    assert rank["盲区路网节点"].tolist() == [523, 5, 501, 5, 471, 5]
    # the report speaks per street, in network nodes (no population given), never of people
    md = (out / "report.md").read_text(encoding="utf-8")
    assert md.startswith("# 测试区 15分钟社区生活圈评估报告（2 个街道）\n")
    findings = md[md.index("## 一、主要结论") : md.index("## 二、")]
    assert "需求口径：路网节点（每个节点权重 1，不是人数）；测试区共 2 个街道" in findings
    assert "为老服务 路网节点覆盖率最低的街道：5 分钟 静安区 0.0%（全区 1.5%）" in findings
    assert (
        "为老服务 15 分钟服务盲区路网节点（单位：路网节点）：黄浦区 471、静安区 5；"
        "全区合计 476 个路网节点"
    ) in findings
    assert "人口" not in findings and "| 测试区 | 476 |" in findings
    html = (out / "map_offline.html").read_text(encoding="utf-8")
    names = ("区界：测试区", "街道：黄浦区", "街道：静安区")  # layer names, JSON-escaped
    assert "lc-street-select" in html and all(json.dumps(n)[1:-1] in html for n in names)


def test_street_selector_escapes_hostile_names():
    import folium

    from lifecircle.maps.district import add_district_layers

    bad = '</script><img src=x onerror="alert(1)">'
    streets = gpd.GeoDataFrame(
        {"name": [bad, "乙街道"]},
        geometry=[box(121.40, 31.20, 121.41, 31.21), box(121.41, 31.20, 121.42, 31.21)],
        crs=4326,
    )
    m = folium.Map(location=[31.2, 121.4])
    folium.LayerControl().add_to(m)
    assert add_district_layers(m, streets, "<b>区</b>") == 2
    html = m.get_root().render()
    assert bad not in html and "<img src=x" not in html and "<b>区</b>" not in html
    # the layer control comes after the street layers (it names them)
    keys = list(m._children)
    assert isinstance(m._children[keys[-1]], folium.LayerControl)
    assert np.isfinite(streets.total_bounds).all()


def test_district_run_online_against_fake_osm(tmp_path, capsys, monkeypatch):
    """Two streets (the fixture relation split in halves): two boundary lookups, ONE Overpass
    query for the network around both and one for the POIs; the district row sums them."""
    import copy

    import shapely
    from fakeosm import RELATION_ID, install

    server = install(monkeypatch, tmp_path)
    try:
        place = server.places[0]
        poly = shapely.geometry.shape(place["geojson"])
        x0, y0, x1, y1 = poly.bounds
        mid = (x0 + x1) / 2
        halves = []
        for k, (a, b) in enumerate(((x0, mid), (mid, x1))):
            p = copy.deepcopy(place)
            p["osm_id"] = RELATION_ID + k
            p["geojson"] = shapely.geometry.mapping(box(a, y0, b, y1))
            halves.append(p)
        server.places = halves
        cfg = tmp_path / "示范区.yaml"
        cfg.write_text(
            "district: 示范区\n"
            f"streets: [{{name: 西街道, osm_relation: {RELATION_ID}}},"
            f" {{name: 东街道, osm_relation: {RELATION_ID + 1}}}]\n"
            "categories: [elder_care, fitness]\nfacilities: [{source: osm}]\n",
            encoding="utf-8",
        )
        out = tmp_path / "out"
        code = main(["run", "--config", str(cfg), "--out", str(out), "--quiet"])
        stdout, stderr = capsys.readouterr()
        assert code == 0, stderr
    finally:
        server.stop()
    assert (server.count("lookup"), server.count("interpreter")) == (2, 2)
    assert "路网: 11 个节点, 2.8 千米街道" in stdout and "需求点: 9 个" in stdout
    t = pd.read_csv(out / "coverage.csv", encoding="utf-8-sig")
    streets = t[t["level"] == "street"]
    total = t[t["level"] == "district"]
    assert set(streets["boundary"]) == {"西街道", "东街道"} and len(total) == 2 * 3
    by = streets.groupby("boundary")["population"].first()
    assert by.sum() == 9 and (total["population"] == 9).all()
    for (cat, m), s in streets.groupby(["category", "minutes"]):
        row = total[(total["category"] == cat) & (total["minutes"] == m)].iloc[0]
        assert row["population_covered"] == s["population_covered"].sum()
    rank = pd.read_excel(out / "coverage.xlsx", sheet_name="街道排名")
    assert len(rank) == 2 * 2 * 3
