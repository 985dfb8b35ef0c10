"""A district run's report speaks per street: real boundaries (曹杨新村街道, 甘泉路+宜川路),
the real population grid, elder-care and park points, on a 100 m street grid over both."""

from __future__ import annotations

import json
import time

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import test_browser_studio
from jingan_configs import ELDERCARE_FACILITIES
from pyproj import Transformer

from lifecircle.geo.network import WalkNetwork, load_network, save_network
from lifecircle.scripts.cli import main

#: The headless Chromium of the studio's browser tests (network blocked), as fixture ``browser``.
browser = test_browser_studio.browser
UTM = "EPSG:32651"
CONFIG = """district: 普陀区（样例）
street_boundaries: {{file: {streets}}}
network: {{source: file, file: {network}}}
categories: [elder_care, park]
facilities:
"""
CONFIG += ELDERCARE_FACILITIES
CONFIG += """  - source: file
    file: {data}/facilities/parks_putuo_wgs84.csv
    coords: wgs84
    x: lng
    y: lat
    name_col: name
    type_col: type
    category: park
population:
  source: file
  file: {data}/population/grid_0p01deg_putuo.geojson
  count_col: population
  age_file: {data}/population/shanghai_district_age_2020_census.json
  age_district: 普陀区
"""


def street_grid(bounds, spacing: float = 100.0) -> WalkNetwork:
    """A street grid ``spacing`` m apart over lon/lat ``bounds`` (jittered 10 m, fixed seed)."""
    to_utm = Transformer.from_crs("EPSG:4326", UTM, always_xy=True)
    x0, y0 = to_utm.transform(bounds[0], bounds[1])
    x1, y1 = to_utm.transform(bounds[2], bounds[3])
    nx_, ny = int((x1 - x0) // spacing) + 1, int((y1 - y0) // spacing) + 1
    rng = np.random.default_rng(7)
    ii, jj = np.meshgrid(np.arange(nx_), np.arange(ny), indexing="ij")
    x = x0 + ii.ravel() * spacing + rng.uniform(-10, 10, ii.size)
    y = y0 + jj.ravel() * spacing + rng.uniform(-10, 10, ii.size)
    lon, lat = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True).transform(x, y)
    G = nx.MultiDiGraph(crs="EPSG:4326")
    G.add_nodes_from((i, {"x": a, "y": b}) for i, (a, b) in enumerate(zip(lon, lat, strict=True)))
    idx = np.arange(ii.size).reshape(nx_, ny)
    for a, b in ((idx[:-1, :], idx[1:, :]), (idx[:, :-1], idx[:, 1:])):
        for u, v in zip(a.ravel().tolist(), b.ravel().tolist(), strict=True):
            G.add_edge(u, v, highway="residential")
            G.add_edge(v, u, highway="residential")
    return WalkNetwork.from_graph(G, metric_crs=UTM, source="grid")


@pytest.fixture(scope="module")
def district_run(shared_data, tmp_path_factory):
    d = tmp_path_factory.mktemp("putuo")
    b = shared_data / "boundaries"
    streets = pd.concat(
        [gpd.read_file(b / "caoyang_xincun_jiedao_osm.geojson"),
         gpd.read_file(b / "ganquan_yichuan_osm.geojson")], ignore_index=True,
    )  # fmt: skip
    streets.to_file(d / "streets.geojson")
    x0, y0, x1, y1 = streets.total_bounds
    net = street_grid((x0 - 0.01, y0 - 0.01, x1 + 0.01, y1 + 0.01))
    save_network(net, d / "grid.graphml")
    cfg = d / "普陀区样例.yaml"
    cfg.write_text(
        CONFIG.format(streets=d / "streets.geojson", network=d / "grid.graphml", data=shared_data),
        encoding="utf-8",
    )
    out = d / "out"
    assert main(["run", "--config", str(cfg), "--out", str(out), "--quiet"]) == 0
    return out


def _findings(md: str) -> str:
    return md[md.index("## 一、主要结论") : md.index("## 二、")]


@pytest.mark.realdata
def test_district_report_speaks_per_street(district_run):
    t = pd.read_csv(district_run / "coverage.csv", encoding="utf-8-sig")
    streets, total = t[t["level"] == "street"], t[t["level"] == "district"]
    # real population on the real polygons: 曹杨新村 78,159, 甘泉路+宜川路 189,828 (grid estimate)
    pop = streets.groupby("boundary")["population"].first().round()
    assert pop.to_dict() == {"曹杨新村街道": 78159, "甘泉路街道+宜川路街道": 189828}
    assert (total["population"].round() == 267987).all()
    md = (district_run / "report.md").read_text(encoding="utf-8")
    html = (district_run / "report.html").read_text(encoding="utf-8")
    assert md.startswith("# 普陀区（样例） 15分钟社区生活圈评估报告（2 个街道）\n")
    assert "<h1>普陀区（样例） 15分钟社区生活圈评估报告（2 个街道）</h1>" in html
    text = _findings(md)
    assert "- 需求口径：人口；普陀区（样例）共 2 个街道，各街道按人口覆盖率比较" in text
    assert "为老服务：全区 5分钟 / 10分钟 / 15分钟 步行可达人口覆盖率 4.0% / 14.9% / 34.0%" in text
    # the lowest street at each threshold is the table's (ties would all be named)
    low = streets.loc[streets.groupby(["category", "minutes"])["population_share"].idxmin()]
    assert low.loc[low["category"] == "park", "boundary"].tolist() == [
        "甘泉路街道+宜川路街道", "曹杨新村街道", "曹杨新村街道",
    ]  # fmt: skip
    assert (
        "为老服务 人口覆盖率最低的街道：5 分钟 甘泉路街道+宜川路街道 2.1%（全区 4.0%）；"
        "10 分钟 甘泉路街道+宜川路街道 7.5%（全区 14.9%）；15 分钟 甘泉路街道+宜川路街道 15.6%"
        "（全区 34.0%）"
    ) in text
    assert (
        "公园绿地 人口覆盖率最低的街道：5 分钟 甘泉路街道+宜川路街道 32.3%（全区 32.5%）；"
        "10 分钟 曹杨新村街道 75.3%（全区 76.7%）；15 分钟 曹杨新村街道 95.5%（全区 96.3%）"
    ) in text
    # blind spots per street, largest first, and the district's sum of them
    b15 = streets[(streets["category"] == "elder_care") & (streets["minutes"] == 15)]
    by = b15.set_index("boundary")["blind_spot_population"].round()
    assert by.to_dict() == {"曹杨新村街道": 16665, "甘泉路街道+宜川路街道": 160131}
    assert (
        "为老服务 15 分钟服务盲区人口（单位：人）：甘泉路街道+宜川路街道 160,131、"
        "曹杨新村街道 16,665；全区合计 176,796 人（60 岁以上 54,031 人）"
    ) in text
    assert "| 曹杨新村街道 | 16,665 | 3,520 |" in text
    assert "| 普陀区（样例） | 176,796 | 9,827 |" in text
    assert "路网节点" not in text


@pytest.mark.realdata
def test_studio_rebuilds_from_a_run_folder_without_network(district_run, tmp_path, capsys):
    """The run keeps its network (network.npz, in the manifest): ``studio --run DIR``
    needs nothing else."""
    manifest = json.loads((district_run / "manifest.json").read_text(encoding="utf-8"))
    assert "network.npz" in manifest["files"]
    saved = load_network(district_run / "network.npz")
    assert saved.n_nodes == 4966
    capsys.readouterr()
    page = tmp_path / "studio.html"
    assert main(["studio", "--run", str(district_run), "--out", str(page)]) == 0
    out = capsys.readouterr().out
    # every node of the run's network; demand: the 662 nodes inside the two streets
    assert "选址工作台: 路网 4,966 个节点, 需求点 662 个, 现有设施 10 处" in out
    assert page.stat().st_size > 100_000


@pytest.mark.browser
@pytest.mark.realdata
def test_district_map_street_selector_in_chromium(browser, district_run):
    """The offline district map in headless Chromium (network blocked): the district outline is
    drawn; choosing a street shows its layer and zooms the map to it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get((district_run / "map_offline.html").resolve().as_uri())
    for _ in range(100):
        if browser.find_elements(By.ID, "lc-street-select"):
            break
        time.sleep(0.05)
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    # nothing but basemap tiles is requested (blocked here): every script and style is inline
    kinds = browser.execute_script(
        "return performance.getEntriesByType('resource').map(function(r) {"
        " return r.initiatorType; });"
    )
    assert set(kinds) <= {"img"}
    select = Select(browser.find_element(By.ID, "lc-street-select"))
    assert [o.text for o in select.options] == ["全区", "曹杨新村街道", "甘泉路街道+宜川路街道"]
    shown = """
        var names = [];
        document.querySelectorAll('.leaflet-control-layers-overlays label').forEach(function(l) {
            var box = l.querySelector('input');
            if (box && box.checked) { names.push(l.textContent.trim()); }
        });
        return names;"""
    view = """
        for (var k in window) {
            try { if (window[k] instanceof L.Map) {
                var c = window[k].getCenter(), z = window[k].getZoom();
                return [c.lng, c.lat, z];
            } } catch (err) {}
        }"""
    before = browser.execute_script(shown)
    assert "区界：普陀区（样例）" in before and not any(n.startswith("街道：") for n in before)
    zoom0 = browser.execute_script(view)[2]
    select.select_by_visible_text("曹杨新村街道")
    time.sleep(0.5)
    after = browser.execute_script(shown)
    assert "街道：曹杨新村街道" in after and "街道：甘泉路街道+宜川路街道" not in after
    lon, lat, zoom = browser.execute_script(view)
    # centred on 曹杨新村 (121.394–121.415 E, 31.233–31.248 N; GCJ-02 display shifts ~500 m)
    assert 121.39 < lon < 121.42 and 31.23 < lat < 31.25 and zoom > zoom0
    browser.save_screenshot(str(district_run / "map_street_selected.png"))
