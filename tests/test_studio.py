"""The siting studio file (maps/studio.py) without a browser: what it carries, escaping, CSP.

The browser side (same numbers as Python, clicks, timings) is in ``test_browser_studio.py``.
"""

from __future__ import annotations

import base64
import json
import re

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from pyproj import CRS

from lifecircle.analysis.siting import demand_points, generate_candidates
from lifecircle.geo.network import WalkNetwork
from lifecircle.maps.offline import external_references
from lifecircle.maps.studio import StudioOptions, build_studio, tm_parameters

UTM = "EPSG:32651"
X0, Y0 = 354_000.0, 3_456_000.0


def grid_network(nx_: int, ny: int, spacing: float = 100.0) -> WalkNetwork:
    """A street grid in EPSG:32651 (near 石泉路), every street two-way."""
    G = nx.MultiDiGraph(crs=UTM)
    for i in range(nx_):
        for j in range(ny):
            G.add_node(i * ny + j + 1, x=X0 + spacing * i, y=Y0 + spacing * j)
    for i in range(nx_):
        for j in range(ny):
            a = i * ny + j + 1
            if i + 1 < nx_:
                G.add_edge(a, a + ny, highway="residential")
                G.add_edge(a + ny, a, highway="residential")
            if j + 1 < ny:
                G.add_edge(a, a + 1, highway="residential")
                G.add_edge(a + 1, a, highway="residential")
    return WalkNetwork.from_graph(G)


def _points(xy, crs=UTM, **cols) -> gpd.GeoDataFrame:
    xy = np.asarray(xy, dtype=float)
    return gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=crs).to_crs(
        4326
    )


def _data(text: str) -> dict:
    m = re.search(r'<script type="application/json" id="lc-data">(.*?)</script>', text, re.S)
    return json.loads(m.group(1))


def _array(text: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=np.dtype(dtype).newbyteorder("<"))


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    net = grid_network(6, 5)
    demand = demand_points(net)
    existing = _points(
        [(X0 + 30, Y0 + 3)], name=['</script><img src=x onerror="alert(1)">站'], type=["为老"]
    )
    cands = generate_candidates(net, spacing_m=150)
    out = tmp_path_factory.mktemp("studio") / "studio.html"
    res = build_studio(
        net, demand, out, existing=existing, candidates=cands,
        options=StudioOptions(category="elder_care", title="<b>标题</b> & 测试"),
    )  # fmt: skip
    return net, res, out.read_text(encoding="utf-8")


def test_carries_network_demand_and_field(small):
    net, res, text = small
    data = _data(text)
    assert res.n_nodes == 30 and res.n_edges == 5 * 5 + 6 * 4 == data["network"]["n_edges"]
    xy = _array(data["network"]["node_xy"], "f8").reshape(-1, 2)
    np.testing.assert_array_equal(xy, net.xy)
    assert set(_array(data["network"]["edge_len"], "f8").round(6)) == {100.0}
    assert len(_array(data["network"]["vert_xy"], "f8")) == 0  # straight streets: no shape points
    dem = data["demand"]
    assert dem["n"] == 30 and dem["at_nodes"] and dem["basis"] == "nodes" and "pop" not in dem
    before = _array(dem["before"], "f8")
    # the facility sits 3 m off the street x = 0..100 at 30 m: 33 m to node (0,0), 73 m to (1,0)
    d0 = before[np.argmin(np.hypot(net.xy[:, 0] - X0, net.xy[:, 1] - Y0))]
    assert d0 == pytest.approx(33.0, abs=1e-6)
    assert np.isfinite(before).all() and before.max() == pytest.approx(3 + 70 + 400 + 400, abs=1e-5)
    assert [p["name"] for p in data["profiles"]] == ["elderly", "adult", "gb50180"]
    assert data["profiles"][0]["metres"] == [270.0, 540.0, 810.0]
    assert data["profiles"][2]["metres"] == [300.0, 500.0, 1000.0]
    assert data["reach_m"] == 1080.0 and data["max_snap_m"] == 250.0
    assert data["candidates"]["n"] == res.n_candidates > 0
    assert data["gcj02"] is True


def test_tm_parameters_of_utm():
    p = tm_parameters(CRS.from_epsg(32651))
    assert p["lon0"] == 123.0 and p["k0"] == 0.9996 and p["x0"] == 500000.0 and p["y0"] == 0.0
    assert p["a"] == 6378137.0 and 1 / p["f"] == pytest.approx(298.257223563)
    with pytest.raises(ValueError, match="transverse Mercator"):
        tm_parameters(CRS.from_epsg(3857))


def test_offline_escaped_and_strict_csp(small):
    _, res, text = small
    assert external_references(text) == []
    # the planner's facility name and the title reach the page only escaped
    assert "<img src=x" not in text and "</script><img" not in text
    assert "\\u003c/script\\u003e\\u003cimg" in text
    assert "<title>&lt;b&gt;标题&lt;/b&gt; &amp; 测试</title>" in text
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text).group(1)
    script_src = re.search(r"script-src ([^;]+);", csp).group(1)
    assert "unsafe-inline" not in script_src and script_src.count("'sha256-") >= 2
    assert "default-src 'none'" in csp and "connect-src 'none'" in csp
    # no inline event handler attribute anywhere in the markup
    markup = re.sub(r"<script\b.*?</script>|<style\b.*?</style>", "", text, flags=re.S)
    assert not re.search(r"\son[a-z]+\s*=", markup, re.I)
    assert res.size_bytes == len(text.encode("utf-8")) < 400_000


def test_bad_options_and_path(tmp_path):
    with pytest.raises(ValueError, match="basemap"):
        StudioOptions(basemap="amap")
    with pytest.raises(ValueError, match="max_snap_m"):
        StudioOptions(max_snap_m=float("nan"))
    net = grid_network(3, 3)
    with pytest.raises(ValueError, match="html"):
        build_studio(net, demand_points(net), tmp_path / "s.csv")


# -------------------------------------------------------------------------------------- CLI
def test_cli_studio_from_coverage_and_sites(tmp_path, capsys):
    from lifecircle.geo.network import save_network
    from lifecircle.scripts.cli import main

    net = grid_network(8, 6)
    cov = tmp_path / "cov"
    cov.mkdir()
    save_network(net, cov / "network.graphml")
    lon, lat = net.lonlat[3]
    (tmp_path / "fac.csv").write_text(
        f"name,type,lon,lat\n=HYPERLINK(1) 站,为老服务,{lon:.7f},{lat:.7f}\n", encoding="utf-8"
    )
    assert main(["coverage", "--network", str(cov / "network.graphml"), "--facilities",
                 str(tmp_path / "fac.csv"), "--coords", "wgs84", "--extent", "network",
                 "--out", str(cov)]) == 0  # fmt: skip
    sites = tmp_path / "site"
    sites.mkdir()
    _points([(X0 + 350, Y0 + 250)], name=["新增1"]).to_file(sites / "sites.gpkg", layer="sites")
    out = tmp_path / "studio.html"
    capsys.readouterr()
    code = main(["studio", "--coverage", str(cov), "--sites", str(sites), "--out", str(out)])
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    assert str(out) in stdout and "现有设施 1 处" in stdout
    data = _data(out.read_text(encoding="utf-8"))
    # reloaded with simplification: the 4 corner nodes only shape a street
    assert data["network"]["n_nodes"] == 44 and data["demand"]["basis"] == "nodes"
    assert data["initial_sites"] == [
        {"lon": pytest.approx(data["initial_sites"][0]["lon"]), "lat": pytest.approx(
            data["initial_sites"][0]["lat"]), "name": "新增1"}
    ]  # fmt: skip
    before = _array(data["demand"]["before"], "f8")
    assert before.min() == pytest.approx(0.0, abs=0.05) and np.isfinite(before).all()
    # bad input: exit 2 with a one-line message
    assert main(["studio", "--coverage", str(tmp_path / "none"), "--out", str(out)]) == 2
    assert main(["studio", "--coverage", str(cov), "--out", str(tmp_path / "x.csv")]) == 2
    (cov / "network.graphml").unlink()
    assert main(["studio", "--coverage", str(cov), "--out", str(out)]) == 2
    assert "--network" in capsys.readouterr().err
