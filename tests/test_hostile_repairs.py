"""Silent repairs and drops made visible: what the loaders change is said, on real small files."""

from __future__ import annotations

import pytest
from pyproj import Transformer

from lifecircle.geo.network import load_network

X0, Y0 = 354_000.0, 3_456_000.0  # near 石泉路 (EPSG:32651)


def _lonlat(x, y):
    tr = Transformer.from_crs("EPSG:32651", "EPSG:4326", always_xy=True)
    return tr.transform(X0 + x, Y0 + y)


def write_osm(path, ways):
    """An OSM XML file: ``ways`` = [(tags, [(x, y), ...]), ...] in metres from the origin."""
    ids: dict = {}
    nodes, lines = [], []
    for tags, pts in ways:
        refs = []
        for p in pts:
            if p not in ids:
                ids[p] = 1000 + len(ids)
                lon, lat = _lonlat(*p)
                nodes.append(f'<node id="{ids[p]}" version="1" lat="{lat:.9f}" lon="{lon:.9f}"/>')
            refs.append(ids[p])
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        tg = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<way id="{5000 + len(lines)}" version="1">{nds}{tg}</way>')
    body = "\n".join(["<?xml version='1.0' encoding='UTF-8'?>", '<osm version="0.6">', *nodes,
                      *lines, "</osm>"])  # fmt: skip
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(("foot", "kept"), [("no", 3), ("yes", 4), (None, 4)])
def test_foot_no_is_honoured_for_osm_xml(tmp_path, foot, kept):
    side = {"highway": "residential", "name": "支路"}
    if foot:
        side["foot"] = foot
    path = write_osm(
        tmp_path / "foot.osm",
        [
            ({"highway": "residential", "name": "主路"}, [(0, 0), (100, 0), (200, 0)]),
            (side, [(100, 0), (100, 100)]),
        ],
    )
    net = load_network(path, simplify=False)
    assert net.n_nodes == kept
    assert net.total_length() == pytest.approx(200.0 if kept == 3 else 300.0, abs=0.5)
    if foot == "no":
        assert any("foot=no" in n for n in net.report.notes)


def _bow_tie_boundary(path, crs=32651, name="蝴蝶街道"):
    import geopandas as gpd
    import shapely
    from test_pipeline import X0 as GX
    from test_pipeline import Y0 as GY

    tie = shapely.Polygon(
        [(GX - 50, GY - 50), (GX + 450, GY + 450), (GX + 450, GY - 50), (GX - 50, GY + 450)]
    )
    assert not tie.is_valid
    gdf = gpd.GeoDataFrame({"name": [name]}, geometry=[tie], crs=32651)
    gdf.to_crs(crs).to_file(path, driver="GeoJSON")
    return path


def test_bow_tie_repair_is_said_by_coverage(tmp_path, capsys):
    import pandas as pd
    from test_pipeline import write_grid_inputs

    from lifecircle.scripts.cli import main

    paths = write_grid_inputs(tmp_path)
    boundary = _bow_tie_boundary(tmp_path / "tie.geojson", crs=4326)
    out = tmp_path / "out"
    argv = ["coverage", "--network", str(paths["network"]), "--boundaries", str(boundary),
            "--facilities", str(paths["facilities"]), "--coords", "gcj02", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    line = next(ln for ln in stdout.splitlines() if "几何无效" in ln)
    assert line.startswith("注意 (边界): 第 1 行: 边界 蝴蝶街道 的几何无效, 已用 make_valid 修复")
    assert "invalid geometry (Self-intersection" in line
    assert "修复后面积 0.125 km²" in line  # two triangles of 250 m x 250 m / 2 ... x 2
    notes = pd.read_csv(out / "notes.csv", encoding="utf-8-sig")
    assert notes[["input", "row", "field"]].values.tolist() == [["边界", 1, "geometry"]]
    assert "make_valid" in notes["what"].iloc[0]


def test_bow_tie_repair_reaches_the_run_report(tmp_path, capsys):
    import json

    from test_pipeline import GRID_CONFIG, write_grid_inputs

    from lifecircle.scripts.cli import main

    paths = write_grid_inputs(tmp_path)
    paths["boundary"] = _bow_tie_boundary(tmp_path / "tie.geojson", name="网格街道")
    cfg = tmp_path / "grid.yaml"
    cfg.write_text(
        GRID_CONFIG.format(**{k: json.dumps(str(v)) for k, v in paths.items()}), encoding="utf-8"
    )
    out = tmp_path / "out"
    assert main(["run", "--config", str(cfg), "--out", str(out), "--quiet"]) == 0
    stdout = capsys.readouterr().out
    assert "几何无效" in stdout
    assert "几何无效" in (out / "report.md").read_text(encoding="utf-8")
    assert "几何无效" in (out / "notes.csv").read_text(encoding="utf-8-sig")


def test_lon_lat_declared_as_metres_is_warned(tmp_path):
    import geopandas as gpd
    import shapely

    from lifecircle.geo.boundaries import load_boundaries

    lonlat = shapely.box(121.42, 31.24, 121.43, 31.25)
    path = tmp_path / "wrong_crs.geojson"
    gpd.GeoDataFrame({"name": ["错街道"]}, geometry=[lonlat], crs=3857).to_file(path)
    gdf, rep = load_boundaries(path)
    assert gdf["area_km2"].iloc[0] < 1e-6  # what the file says: a speck
    (w,) = rep.warnings
    assert w.field == "crs" and "EPSG:3857" in w.reason and "像经纬度" in w.reason


def test_new_sites_capped_at_those_that_add_demand():
    import numpy as np
    from test_siting import demand_points, line_network, metric_points

    from lifecircle.analysis.siting import SitingProblem

    line = line_network()
    ex = metric_points([(0, 0)], name=["现有站"])
    ca = metric_points([(500, 0), (1000, 0), (550, 30)], name=["c500", "c1000", "off550"])
    prob = SitingProblem.build(
        line, demand_points(line), candidates=ca, existing=ex, minutes=(5,), profile="elderly"
    )
    # the models pick only sites that add demand here
    for model in ("mclp", "greedy"):
        sel = prob.solve(model, p=100_000, minutes=5, weight="pop")
        assert sorted(prob.sites.iloc[sel.result.sites]["name"]) == ["c1000", "c500"]
    # 5 min: c500 adds 5 nodes, c1000 3; off550 (chosen last) covers only what c500 covers
    names = prob.sites["name"].tolist()
    chosen = np.array([names.index(n) for n in ("c500", "c1000", "off550")])
    w = prob.weights("pop")
    kept = prob._sites_adding_demand(chosen, prob.existing_idx, 5, w)
    assert [names[k] for k in kept] == ["c500", "c1000"]
    prob._say_capped(3, len(kept), 3, 5, "pop")
    (warn,) = [x for x in prob.report.warnings if x.field == "new"]
    assert "选出的 3 处新站点中只有 2 处能在 5 分钟内增加覆盖" in warn.reason


def test_rerun_removes_its_own_stale_files_and_names_strangers(tmp_path, capsys):
    import json

    from test_pipeline import GRID_CONFIG, write_grid_inputs

    from lifecircle.scripts.cli import main

    paths = write_grid_inputs(tmp_path)
    fill = {k: json.dumps(str(v)) for k, v in paths.items()}
    with_corridors = tmp_path / "a.yaml"
    with_corridors.write_text(GRID_CONFIG.format(**fill), encoding="utf-8")
    without = tmp_path / "b.yaml"
    without.write_text(
        "\n".join(ln for ln in GRID_CONFIG.format(**fill).splitlines() if "corridors" not in ln),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert main(["run", "--config", str(with_corridors), "--out", str(out), "--quiet"]) == 0
    assert (out / "corridors.csv").exists()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {"corridors.csv", "corridors.gpkg", "coverage.csv", "report.html"} <= set(
        manifest["files"]
    )
    (out / "candidates_old.csv").write_text("x")  # not a run's name: left alone, unnamed
    (tmp_path / "out" / "residents.csv").write_text("x")  # a run's name, in no manifest
    capsys.readouterr()
    assert main(["run", "--config", str(without), "--out", str(out), "--quiet"]) == 0
    stdout = capsys.readouterr().out
    assert not (out / "corridors.csv").exists() and not (out / "corridors.gpkg").exists()
    assert "已删除上一次运行留在输出目录中的 corridors.csv" in stdout
    assert "residents.csv 不是本次运行写出的" in stdout and (out / "residents.csv").exists()
    assert (out / "candidates_old.csv").exists() and "candidates_old" not in stdout
    # the run's notes all say it: console (above), notes.csv and the report
    import pandas as pd

    notes = pd.read_csv(out / "notes.csv", encoding="utf-8-sig")
    said = notes[notes["input"] == "输出目录"]["what"].tolist()
    assert said == [
        "已删除上一次运行留在输出目录中的 corridors.csv (本次运行没有写出它)",
        "已删除上一次运行留在输出目录中的 corridors.gpkg (本次运行没有写出它)",
        "输出目录中的 residents.csv 不是本次运行写出的 (旧文件?), 已保留: 请勿混用",
    ]
    for report in ("report.md", "report.html"):
        text = (out / report).read_text(encoding="utf-8")
        assert "已删除上一次运行留在输出目录中的 corridors.gpkg" in text
        assert "residents.csv 不是本次运行写出的" in text
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["files"]
    assert "notes.csv" in manifest and "corridors.csv" not in manifest
    # a third, identical run: nothing stale, nothing said, notes.csv gone with nothing to say
    capsys.readouterr()
    (out / "residents.csv").unlink()
    assert main(["run", "--config", str(without), "--out", str(out), "--quiet"]) == 0
    stdout = capsys.readouterr().out
    assert "已删除" not in stdout and not (out / "notes.csv").exists()
    assert "已删除" not in (out / "report.md").read_text(encoding="utf-8")


def _fragment_inputs(tmp_path):
    """A real .osm file: a 5 x 5 grid (200 m blocks) and a 小区 path 141 m off its corner (two
    components), a boundary over both, one facility on each, in WGS84."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    ways = [({"highway": "residential", "name": f"东西{j}路"}, [(200 * i, 200 * j) for i in range(5)])
            for j in range(5)]  # fmt: skip
    ways += [({"highway": "residential", "name": f"南北{i}路"}, [(200 * i, 200 * j) for j in range(5)])
             for i in range(5)]  # fmt: skip
    ways.append(
        ({"highway": "footway", "name": "花园小区步道"}, [(900, 900), (1000, 900), (1000, 1000)])
    )
    osm = write_osm(tmp_path / "two_parts.osm", [(t, p) for t, p in ways])
    box = shapely.box(X0 - 50, Y0 - 50, X0 + 1050, Y0 + 1050)
    boundary = tmp_path / "boundary.geojson"
    gpd.GeoDataFrame({"name": ["两片街道"]}, geometry=[box], crs=32651).to_crs(4326).to_file(
        boundary, driver="GeoJSON"
    )
    rows = [("路网上的站", (200, 200)), ("小区里的站", (1000, 1000))]
    fac = pd.DataFrame(
        [
            {"name": n, "type": "为老服务站", "lng": _lonlat(*p)[0], "lat": _lonlat(*p)[1]}
            for n, p in rows
        ]  # fmt: skip
    )
    facilities = tmp_path / "facilities.csv"
    fac.to_csv(facilities, index=False)
    return osm, boundary, facilities


def test_dropped_fragment_is_kept_named_and_explains_rejections(tmp_path):
    import geopandas as gpd

    from lifecircle.geo.snap import snap_points

    osm, _, facilities = _fragment_inputs(tmp_path)
    net = load_network(osm)
    assert net.n_nodes == 25
    (frag,) = net.fragments.itertuples()
    assert (frag.fragment, frag.n_nodes, frag.names) == (1, 3, "花园小区步道")
    assert frag.length_m == pytest.approx(200.0, abs=0.5)
    assert frag.to_main_m == pytest.approx(100 * 2**0.5, abs=0.5)  # (900, 900) to (800, 800)
    notes = " ".join(net.report.notes)
    assert "孤立小片 1 (花园小区步道; 3 个节点, 200 米街道), 离主路网 141 米" in notes
    import pandas as pd

    df = pd.read_csv(facilities)
    pts = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.lng, df.lat), crs=4326)
    snap = snap_points(net, pts, max_snap_m=250)
    assert snap.ok.tolist() == [True, False]
    (rej,) = snap.report.rejections
    assert rej.row == 2
    assert rej.reason.startswith(
        "最近的可步行道路在孤立小片 1 (花园小区步道; 3 个节点, 200 米街道)上, 相距 0 米; "
        "这片路网与主路网不连通 (相隔 141 米)"
    )
    assert "离主路网的道路 283 米, 超过 250 米的接入上限" in rej.reason  # to (800, 800)


def test_dropped_fragment_reaches_rejected_csv_console_and_report(tmp_path, capsys):
    import pandas as pd

    from lifecircle.scripts.cli import main

    osm, boundary, facilities = _fragment_inputs(tmp_path)
    cfg = tmp_path / "two.yaml"
    cfg.write_text(
        f"street: 两片街道\nboundary: {{file: {boundary}}}\n"
        f"network: {{source: file, file: {osm}}}\nprofiles: [elderly]\nminutes: [5, 15]\n"
        f"categories: [elder_care]\nfacilities:\n  - source: file\n    file: {facilities}\n"
        "    coords: wgs84\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert main(["run", "--config", str(cfg), "--out", str(out), "--quiet"]) == 0
    stdout = capsys.readouterr().out
    rej = pd.read_csv(out / "rejected.csv", encoding="utf-8-sig")
    row = rej[rej["input"].str.startswith("覆盖率计算")].iloc[0]
    assert (row["file"], row["row"]) == ("facilities.csv", 3)
    assert row["reason"].startswith("最近的可步行道路在孤立小片 1 (花园小区步道; 3 个节点")
    assert "离主路网 141 米" not in row["reason"] and "相隔 141 米" in row["reason"]
    line = (
        "其中 1 个设施在路网清理时去掉的孤立小片上 (与主路网不连通, 步行到不了): "
        "孤立小片 1 (花园小区步道; 3 个节点, 200 米街道) 上 1 个, 离主路网 141 米"
    )
    assert line in stdout
    assert line in (out / "report.md").read_text(encoding="utf-8")
    assert "花园小区步道" in (out / "report.html").read_text(encoding="utf-8")
    # the run's network.npz keeps the fragment: studio --run DIR and map read it back
    saved = load_network(out / "network.npz").fragments
    assert saved[["fragment", "n_nodes", "names"]].values.tolist() == [[1, 3, "花园小区步道"]]


def test_coverage_names_the_fragment_of_a_facility_beyond_the_main_network(tmp_path, capsys):
    """coverage (no config) judges 'far outside' against the network's extent: a facility on a
    fragment 2 km past the main network is not 远离研究范围 but on a dropped fragment."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    from lifecircle.scripts.cli import main

    ways = [({"highway": "residential", "name": f"东西{j}路"}, [(200 * i, 200 * j) for i in range(5)])
            for j in range(5)]  # fmt: skip
    ways += [({"highway": "residential", "name": f"南北{i}路"}, [(200 * i, 200 * j) for j in range(5)])
             for i in range(5)]  # fmt: skip
    ways.append(({"highway": "service", "name": "远郊小区路"}, [(2300, 2300), (2400, 2300)]))
    osm = write_osm(tmp_path / "far.osm", ways)
    boundary = tmp_path / "b.geojson"
    box = shapely.box(X0 - 50, Y0 - 50, X0 + 2450, Y0 + 2450)
    gpd.GeoDataFrame({"name": ["大街道"]}, geometry=[box], crs=32651).to_crs(4326).to_file(boundary)
    lon, lat = _lonlat(2350, 2300)
    fac = tmp_path / "f.csv"
    pd.DataFrame([{"name": "远郊站", "type": "为老服务站", "lng": lon, "lat": lat},
                  {"name": "路网站", "type": "为老服务站", "lng": _lonlat(400, 400)[0],
                   "lat": _lonlat(400, 400)[1]}]).to_csv(fac, index=False)  # fmt: skip
    out = tmp_path / "out"
    argv = ["coverage", "--network", str(osm), "--boundaries", str(boundary), "--facilities",
            str(fac), "--coords", "wgs84", "--allow-partial", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr()
    stdout = capsys.readouterr().out
    rej = pd.read_csv(out / "rejected.csv", encoding="utf-8-sig")
    (reason,) = rej["reason"].tolist()
    assert "远离研究范围" not in reason
    assert reason.startswith("最近的可步行道路在孤立小片 1 (远郊小区路; 2 个节点, 100 米街道)上")
    assert "相隔 2121 米" in reason  # (2300, 2300) to (800, 800)
    assert "孤立小片 1 (远郊小区路; 2 个节点, 100 米街道) 上 1 个, 离主路网 2121 米" in stdout
