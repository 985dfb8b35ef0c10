"""Plain output for planners: no English solver banner, numbers rounded (issue 8 §2, §9)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd

from lifecircle.units import basis_label, basis_unit, tidy_numbers


def test_highs_banner_does_not_reach_the_console():
    code = (
        "import numpy as np\n"
        "from lifecircle.analysis.siting_models import MCLP\n"
        "D = np.array([[0.0, 50.0], [50.0, 0.0], [10.0, 90.0]])\n"
        "res = MCLP.from_cost_matrix(D, np.ones(3), 20.0, 1).solve()\n"
        "print('objective', res.objective)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "objective 2.0"
    assert "HiGHS" not in run.stdout + run.stderr and "THIRD_PARTY" not in run.stdout


def test_tidy_numbers_rounds_shares_and_makes_node_counts_integers():
    df = pd.DataFrame(
        {
            "population_share": [1.0000000000000002, 0.123456789],
            "population_covered": [389.9999999999998, 12.0],
            "gain_nodes_10min": [8.0, 3.0],
            "gap": [0.0037837837837837837, 0.0],
            "lon": [121.47046597817194, 121.4],
            "area_km2": [1.10667035604105, 2.0],
        }
    )
    nodes = tidy_numbers(df, basis="nodes")
    assert nodes["population_share"].tolist() == [1.0, 0.1235]
    assert nodes["population_covered"].tolist() == [390, 12]
    assert str(nodes["population_covered"].dtype) == "Int64"
    assert str(nodes["gain_nodes_10min"].dtype) == "Int64"
    assert nodes["gap"].tolist() == [0.0038, 0.0]
    assert nodes["lon"].tolist() == [121.470466, 121.4]
    assert nodes["area_km2"].tolist() == [1.1067, 2.0]
    people = tidy_numbers(df, basis="pop")
    assert people["population_covered"].tolist() == [390.0, 12.0]  # people: one decimal
    assert not np.isnan(people["gain_nodes_10min"].astype(float)).any()
    text = people.to_csv(index=False)
    assert "0000000000" not in text and "9999999" not in text
    assert basis_label("nodes") == "路网节点" and basis_unit("nodes") == "个路网节点"


def _street(tmp_path):
    import geopandas as gpd
    import networkx as nx
    import shapely

    from lifecircle.geo.network import WalkNetwork, save_network

    x0, y0 = 350_000.0, 3_460_000.0
    G = nx.MultiDiGraph(crs="EPSG:32651")
    for k in range(11):
        G.add_node(k + 1, x=x0 + 100.0 * k, y=y0)
    for k in range(10):
        G.add_edge(k + 1, k + 2, highway="residential")
    net = WalkNetwork.from_graph(G)
    save_network(net, tmp_path / "street.graphml")
    cell = shapely.box(x0 - 60, y0 - 60, x0 + 1060, y0 + 60)
    gpd.GeoDataFrame({"population": [1100.0]}, geometry=[cell], crs="EPSG:32651").to_crs(
        4326
    ).to_file(tmp_path / "pop.geojson", driver="GeoJSON")
    gpd.GeoDataFrame({"name": ["测试街道"]}, geometry=[cell.buffer(10)], crs="EPSG:32651").to_crs(
        4326
    ).to_file(tmp_path / "area.geojson", driver="GeoJSON")
    return net


def _site(tmp_path, *extra):
    from lifecircle.scripts.cli import main

    net = _street(tmp_path)
    lon, lat = net.lonlat[10]
    argv = ["site", "--network", str(tmp_path / "street.graphml"), "--minutes", "5",
            "--boundaries", str(tmp_path / "area.geojson"),
            "--add", f"{lon:.7f},{lat:.7f}", "--add-coords", "wgs84", "--new", "1",
            "--spacing", "250", "--out", str(tmp_path / "out"), *extra]  # fmt: skip
    return main(argv)


def test_site_names_people_only_with_a_population_and_no_progress_debris(tmp_path, capsys):
    rc = _site(tmp_path, "--population", str(tmp_path / "pop.geojson"), "--share60", "0.3")
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "%|" not in err and "it/s" not in err  # stderr is not a terminal: no bars
    assert "目标 60岁以上人口" in out and " 人" in out and "路网节点" not in out
    sites = pd.read_csv(tmp_path / "out" / "sites.csv", encoding="utf-8-sig", dtype={"rank": str})
    assert sites["rank"].tolist() == ["A1", "1"] and sites["weight"].tolist() == ["pop60"] * 2
    # the straight street simplifies to its two end nodes, 550 people each (by street length);
    # the proposed site at x = 1000 reaches its end node: 550 people, 165 aged 60+ (30 %)
    assert sites.loc[0, "gain_pop_5min"] == 550.0
    assert sites.loc[0, "gain_pop60_5min"] == 165.0


def test_site_refuses_a_60_plus_weight_it_would_have_to_invent(tmp_path, capsys):
    rc = _site(tmp_path, "--weight", "pop60", "--share60", "0.3")
    assert rc == 2 and "60岁以上人口未知" in capsys.readouterr().err
    rc = _site(tmp_path, "--share60", "0.3")
    out = capsys.readouterr().out
    assert rc == 0 and "目标 路网节点" in out and " 人" not in out
    sites = pd.read_csv(tmp_path / "out" / "sites.csv", encoding="utf-8-sig")
    assert not any("pop60" in c for c in sites.columns)


def test_population_not_overlapping_the_study_area_is_an_error(tmp_path, capsys):
    import geopandas as gpd
    import shapely

    far = tmp_path / "far.geojson"
    gpd.GeoDataFrame(
        {"population": [500.0]}, geometry=[shapely.box(116.3, 39.9, 116.4, 40.0)], crs=4326
    ).to_file(far, driver="GeoJSON")
    rc = _site(tmp_path, "--population", str(far))
    assert rc == 2 and "不重叠" in capsys.readouterr().err


def _chinese_first(text: str) -> bool:
    return "\u4e00" <= text.lstrip()[0] <= "\u9fff"


def test_rejection_reasons_and_network_notes_read_in_chinese(fixtures_dir, tmp_path):
    from lifecircle.geo.facilities import REASONS, load_facilities

    assert all(_chinese_first(r) for r in REASONS.values())
    _, rep = load_facilities(fixtures_dir / "facilities_gbk.csv", "gcj02")
    assert rep.rejections and all(_chinese_first(r.reason) for r in rep.rejections)
    net = _street(tmp_path)
    assert net.report.notes and all(_chinese_first(n) for n in net.report.notes), net.report.notes
