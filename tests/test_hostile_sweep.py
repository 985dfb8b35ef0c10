"""Hostile sweep, session 3: inputs that still ended in exit 1, a raw library error or a file
written outside the output folder. Each is now bad input (exit 2, one line) or a reported drop."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely
from test_hostile_repairs import write_osm
from test_pipeline import GRID_CONFIG, write_grid_inputs

from lifecircle.scripts.cli import main


def _grid_config(tmp_path, **changes) -> str:
    paths = write_grid_inputs(tmp_path)
    text = GRID_CONFIG.format(**{k: json.dumps(str(v)) for k, v in paths.items()})
    for old, new in changes.items():
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize(
    ("body", "said"),
    [(b"\xff\xfe\x00street", "不是 UTF-8"), (b"- a\n- b\n", "必须是映射")],
    ids=["not-utf8", "a-list"],
)
def test_unreadable_config_is_bad_input(tmp_path, capsys, body, said):
    cfg = tmp_path / "bad.yaml"
    cfg.write_bytes(body)
    assert main(["run", "--config", str(cfg), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("line", "new", "said"),
    [("metres: [150]", "metres: [.inf]", "metres[0]: 必须是有限的数字"),
     ("metres: [150]", "metres: [20000]", "metres[0]: 必须小于或等于 10000"),
     ("minutes: [5, 10, 15]", "minutes: [5, 500]", "minutes[1]: 必须小于或等于 120"),
     ("minutes: 5}", "minutes: .inf}", "siting.minutes: 必须是有限的数字")],
    ids=["metres-inf", "metres-huge", "minutes-huge", "siting-minutes-inf"],
)  # fmt: skip
def test_config_numbers_are_finite_and_in_the_cli_ranges(tmp_path, capsys, line, new, said):
    cfg = tmp_path / "odd.yaml"
    cfg.write_text(_grid_config(tmp_path, **{line: new}), encoding="utf-8")
    assert main(["run", "--config", str(cfg), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert said in err and "GEOS" not in err


def test_network_not_over_any_boundary_is_bad_input(tmp_path, capsys):
    from test_hostile_repairs import _fragment_inputs

    osm, _, facilities = _fragment_inputs(tmp_path)
    far = tmp_path / "far.geojson"
    gpd.GeoDataFrame({"name": ["远处街道"]}, geometry=[shapely.box(121.0, 31.0, 121.01, 31.01)],
                     crs=4326).to_file(far)  # fmt: skip
    argv = ["coverage", "--network", str(osm), "--boundaries", str(far), "--facilities",
            str(facilities), "--coords", "wgs84", "--out", str(tmp_path / "o"), "--quiet"]  # fmt: skip
    assert main(argv) == 2
    assert "没有可分析的边界" in capsys.readouterr().err


def test_batch_street_names_never_leave_the_output_folder(tmp_path):
    from lifecircle.workflow.batch import _load
    from lifecircle.workflow.writers import folder_name

    assert folder_name("石泉路街道") == "石泉路街道"
    assert folder_name("../../escaped") == "_.._escaped"
    assert folder_name("/etc/cron.d") == "_etc_cron.d"
    assert folder_name("..") == "街道" and folder_name("a\x00b\nc") == "a_b_c"
    cfgs = []
    for k, street in enumerate(["../../escaped", "/tmp/abs", "C:\\\\x"]):
        p = tmp_path / f"c{k}.yaml"
        p.write_text(
            _grid_config(tmp_path, **{"street: 网格街道": f"street: {json.dumps(street)}"})
        )
        cfgs.append(p)
    configs, failures = _load(cfgs)
    assert failures == {}
    names = [name for name, _ in configs]
    assert names == ["_.._escaped", "_tmp_abs", "C___x"]
    out = tmp_path / "out"
    for name in names:
        assert (out / name).resolve().parent == out.resolve()


def test_network_node_with_impossible_coordinates_is_dropped_and_said(tmp_path):
    from lifecircle.geo.network import load_network

    path = write_osm(
        tmp_path / "odd.osm",
        [({"highway": "residential", "name": "主路"}, [(0, 0), (100, 0), (200, 0)]),
         ({"highway": "residential", "name": "支路"}, [(100, 0), (100, 100)])],
    )  # fmt: skip
    text = path.read_text(encoding="utf-8")
    first = text.index('lon="')
    end = text.index('"', first + 5)
    path.write_text(text[:first] + 'lon="1e308' + text[end:], encoding="utf-8")  # node 1000
    net = load_network(path, simplify=False)
    assert net.n_nodes == 3 and net.crs.to_epsg() == 32651
    (w,) = net.report.warnings
    assert w.reason.startswith("去掉 1 个坐标无效的路网节点 (不是有效的经纬度, 如节点 1000: 1e+308")


def test_boundary_rows_with_impossible_coordinates_are_rejected(tmp_path):
    from lifecircle.geo.boundaries import load_boundaries

    good = shapely.box(121.42, 31.24, 121.43, 31.25)
    bad = shapely.Polygon([(121.42, 31.24), (1e308, 31.24), (121.43, 31.25)])
    path = tmp_path / "b.geojson"
    gpd.GeoDataFrame({"name": ["好街道", "坏街道"]}, geometry=[good, bad], crs=4326).to_file(path)
    gdf, rep = load_boundaries(path)
    assert gdf["name"].tolist() == ["好街道"]
    assert gdf["area_km2"].iloc[0] == pytest.approx(1.056, abs=0.001)  # 0.951 x 1.110 km
    (r,) = rep.rejections
    assert r.row == 2 and r.reason.startswith("坐标超出经纬度范围")


@pytest.mark.parametrize("command", ["map", "coverage", "studio"])
def test_empty_output_path_is_bad_input(tmp_path, capsys, command):
    paths = write_grid_inputs(tmp_path)
    args = {"map": ["--boundaries", str(paths["boundary"])],
            "coverage": ["--network", str(paths["network"]), "--boundaries",
                         str(paths["boundary"]), "--facilities", str(paths["facilities"]),
                         "--coords", "gcj02"],
            "studio": ["--coverage", str(tmp_path)]}[command]  # fmt: skip
    assert main([command, *args, "--out", "", "--quiet"]) == 2
    assert "输出路径为空" in capsys.readouterr().err


def test_malformed_graphml_and_nan_nodes(tmp_path, capsys):
    import osmnx as ox

    from lifecircle.geo.network import load_network

    bad = tmp_path / "bad.graphml"
    bad.write_text('<graphml><graph><node id="1"><data key="x">abc</data></node></graph></graphml>')
    assert main(["info", "--network", str(bad)]) == 2
    assert "not a readable osmnx GraphML file" in capsys.readouterr().err
    paths = write_grid_inputs(tmp_path)
    G = load_network(paths["network"]).graph.copy()
    G.nodes[next(iter(G.nodes))]["x"] = float("nan")
    ox.save_graphml(G, tmp_path / "nan.graphml")
    net = load_network(tmp_path / "nan.graphml")
    assert net.n_nodes == G.number_of_nodes() - 1
    assert "去掉 1 个坐标无效的路网节点" in net.report.warnings[0].reason


def test_yaml_alias_bomb_in_a_config_is_refused_quickly(tmp_path, capsys):
    import time

    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 9)}]" for k in range(1, 10)]
    bomb = tmp_path / "bomb.yaml"  # 9**10 strings if expanded: about 30 GB of text
    bomb.write_text("\n".join([*lines, "street: 炸弹街道", "categories: *a9"]), encoding="utf-8")
    start = time.monotonic()
    assert main(["run", "--config", str(bomb), "--out", str(tmp_path / "o")]) == 2
    assert time.monotonic() - start < 5
    err = capsys.readouterr().err
    assert "categories[0]: 必须是文字" in err and len(err) < 600


def test_gzip_bomb_network_is_refused_not_unpacked(tmp_path, monkeypatch, capsys):
    import gzip

    import lifecircle.geo.network as network

    bomb = tmp_path / "network.graphml.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as fh:
        fh.write(b"<" * 5_000_000)  # 5 MB of text from a ~5 KB file
    assert bomb.stat().st_size < 20_000
    monkeypatch.setattr(network, "MAX_GRAPHML_CHARS", 1_000_000)
    with pytest.raises(ValueError, match="解压后超过 0.001G 字符"):
        network.load_network(bomb)
    assert main(["info", "--network", str(bomb)]) == 2
    assert "解压后超过" in capsys.readouterr().err
