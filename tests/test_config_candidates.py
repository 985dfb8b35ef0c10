"""Run configs site among given candidates (``siting.candidates`` with a required ``coords``)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import yaml
from shapely.geometry import box

from lifecircle.analysis.runconfig import RunConfigError, load_run_config
from lifecircle.errors import InputError
from lifecircle.geo.crs import convert_lonlat
from lifecircle.geo.network import save_network
from lifecircle.scripts.cli import main
from lifecircle.workflow import Study
from tests.test_population_coords import _grid  # the 15 × 9 grid of 100 m blocks

#: candidate nodes (i, j): the model must pick among these, not among all nodes
CANDIDATES = {"东站": (11, 4), "中站": (7, 4), "北站": (7, 8), "西站": (3, 4), "角站": (14, 0)}


def _lonlat(net, i, j) -> tuple[float, float]:
    k = list(net.node_ids).index(100 * i + j)
    return float(net.lonlat[k][0]), float(net.lonlat[k][1])


@pytest.fixture
def inputs(tmp_path):
    net = _grid()
    save_network(net, tmp_path / "grid.graphml")
    lo, hi = net.lonlat.min(axis=0), net.lonlat.max(axis=0)
    area = gpd.GeoDataFrame({"name": ["网格街道"]}, geometry=[box(*lo, *hi)], crs=4326)
    area.to_file(tmp_path / "area.geojson")
    lon, lat = _lonlat(net, 1, 1)
    (tmp_path / "fac.csv").write_text(
        f"name,type,lng,lat\n老站,为老服务站,{lon:.8f},{lat:.8f}\n", encoding="utf-8"
    )
    rows = []
    for name, (i, j) in CANDIDATES.items():  # picked on Amap: GCJ-02
        glon, glat = convert_lonlat([_lonlat(net, i, j)[0]], [_lonlat(net, i, j)[1]],
                                    "wgs84", "gcj02")  # fmt: skip
        rows.append({"name": name, "lng": f"{glon[0]:.8f}", "lat": f"{glat[0]:.8f}"})
    pd.DataFrame(rows).to_csv(tmp_path / "cands.csv", index=False)
    return net, tmp_path


def _config(tmp_path, candidates: dict) -> str:
    cfg = {
        "street": "网格街道",
        "boundary": {"file": "area.geojson"},
        "network": {"source": "file", "file": "grid.graphml"},
        "minutes": [5, 10],
        "categories": ["elder_care"],
        "facilities": [{"source": "file", "file": "fac.csv", "coords": "wgs84"}],
        "siting": {"category": "elder_care", "model": "greedy", "new_sites": 2, "minutes": 5,
                   "candidates": candidates},
    }  # fmt: skip
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return str(path)


def _picks(out) -> list[tuple[str, float, float]]:
    t = pd.read_csv(out / "sites.csv", encoding="utf-8-sig")
    t = t[t["kind"] != "proposed"]
    rows = zip(t["name"], t["lon"], t["lat"], strict=True)
    return [(n, round(x, 7), round(y, 7)) for n, x, y in rows]


def test_config_candidates_pick_as_the_cli_site(inputs, capsys):
    net, tmp = inputs
    cfg = _config(tmp, {"file": "cands.csv", "coords": "gcj02", "x": "lng", "y": "lat"})
    rc = main(["run", "--config", cfg, "--out", str(tmp / "run"), "--quiet"])
    assert rc == 0, capsys.readouterr().err
    summary = capsys.readouterr().out
    rc = main(["site", "--network", str(tmp / "grid.graphml"), "--boundaries",
               str(tmp / "area.geojson"), "--facilities", str(tmp / "fac.csv"), "--coords",
               "wgs84", "--category", "elder_care", "--candidates", str(tmp / "cands.csv"),
               "--candidate-coords", "gcj02", "--new", "2", "--minutes", "5", "--model",
               "greedy", "--out", str(tmp / "site"), "--quiet"])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    run, site = _picks(tmp / "run"), _picks(tmp / "site")
    assert run == site and len(run) == 2
    # the picks are candidate points, converted from GCJ-02 onto their nodes (not ~500 m off)
    for name, lon, lat in run:
        assert (lon, lat) == pytest.approx(_lonlat(net, *CANDIDATES[name]), abs=1e-7)
    # two of the three inner candidates (13 nodes each within 270 m); the corner and edge ones
    # reach fewer: 10 → 36 nodes covered, as the console says
    assert {n for n, _, _ in run} < {"东站", "中站", "西站"}
    assert "覆盖 10 → 36 个路网节点" in summary and "cands.csv 中的 5 处候选点" in summary


def test_config_candidates_need_coords(inputs):
    _, tmp = inputs
    with pytest.raises(RunConfigError) as exc:
        load_run_config(_config(tmp, {"file": "cands.csv"}))
    assert exc.value.field == "siting.candidates.coords"
    assert "gcj02" in exc.value.reason and "EPSG" in exc.value.reason
    with pytest.raises(RunConfigError, match="siting.candidates.file"):
        load_run_config(_config(tmp, {"file": "none.csv", "coords": "gcj02"}))
    cfg = load_run_config(_config(tmp, {"file": "cands.csv", "coords": "GCJ-02"}))
    assert cfg["siting"]["candidates"]["file"] == str(tmp / "cands.csv")


def test_study_site_among_candidates(inputs):
    net, tmp = inputs
    fac = gpd.GeoDataFrame(
        {"fid": ["f1"], "name": ["老站"], "type": ["为老服务站"], "category": ["elder_care"]},
        geometry=gpd.points_from_xy(*zip(_lonlat(net, 1, 1))), crs=4326,
    )  # fmt: skip
    study = Study(tmp / "area.geojson", net, fac)
    with pytest.raises(InputError, match="declare the coordinate system"):
        study.site(new=2, minutes=5, candidates=tmp / "cands.csv")
    found = study.site(new=2, minutes=5, candidates=tmp / "cands.csv", candidate_coords="gcj02")
    assert set(found.sites["name"]) < {"东站", "中站", "西站"}
    assert found.summary["covered_after"] == 36
    assert "cands.csv 中的 5 处候选点" in found.summary["candidates_label"]
