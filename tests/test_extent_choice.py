"""No silent study area: coverage without a boundary is exit 2 unless ``--extent network``."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from lifecircle.errors import InputError
from lifecircle.scripts.cli import main
from lifecircle.workflow import Study
from tests.test_pipeline import write_grid_inputs

EXTENT = "研究范围 = 路网范围"


def _coverage(paths, out, *extra):
    return main(["coverage", "--network", str(paths["network"]), "--facilities",
                 str(paths["facilities"]), "--coords", "gcj02", "--minutes", "5", *extra,
                 "--out", str(out)])  # fmt: skip


def test_coverage_without_boundary_names_the_fix(tmp_path, capsys):
    paths = write_grid_inputs(tmp_path)
    out = tmp_path / "out"
    assert _coverage(paths, out) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "未给出研究范围" in err
    for fix in ("--boundaries", "--boundary-name", "--boundary-osm", "--extent network"):
        assert fix in err
    assert not (out / "coverage.csv").exists()
    # checked before the network is read: a broken network file gets the same answer
    broken = dict(paths, network=tmp_path / "broken.osm")
    broken["network"].write_text("not xml")
    assert _coverage(broken, out) == 2 and "未给出研究范围" in capsys.readouterr().err
    assert _coverage(paths, out, "--extent", "network", "--boundaries", str(paths["boundary"]))
    assert "不能同时使用" in capsys.readouterr().err


def test_coverage_extent_network_says_so_everywhere(tmp_path, capsys):
    paths = write_grid_inputs(tmp_path)
    out = tmp_path / "out"
    assert _coverage(paths, out, "--extent", "network") == 0
    printed = capsys.readouterr().out
    assert f"说明: {EXTENT}" in printed and printed.count(EXTENT) >= 2  # note + table header
    table = pd.read_csv(out / "coverage.csv", encoding="utf-8-sig")
    assert set(table["boundary"]) == {EXTENT}
    # the 5 × 5 grid of 100 m blocks: its nodes' hull is 0.16 km²
    assert table["area_km2"].iloc[0] == pytest.approx(0.16, abs=0.005)
    layer = gpd.read_file(out / "coverage.gpkg", layer="boundaries")
    assert layer["name"].tolist() == [EXTENT]


def test_study_needs_a_boundary_or_the_explicit_extent(tmp_path):
    paths = write_grid_inputs(tmp_path)
    with pytest.raises(InputError, match="no study boundary"):
        Study(None, paths["network"], paths["facilities"], coords="gcj02")
    study = Study("network", paths["network"], paths["facilities"], coords="gcj02")
    assert study.boundaries["name"].tolist() == [EXTENT]
    assert study.notes[0].startswith(EXTENT)
    table = study.coverage().table
    assert set(table["boundary"]) == {EXTENT}


def _site(paths, out, *extra):
    return main(["site", "--network", str(paths["network"]), "--facilities",
                 str(paths["facilities"]), "--coords", "gcj02", "--minutes", "5", "--new", "1",
                 "--spacing", "150", *extra, "--out", str(out)])  # fmt: skip


def test_site_without_boundary_names_the_fix_before_the_network(tmp_path, capsys):
    paths = write_grid_inputs(tmp_path)
    out = tmp_path / "out"
    broken = dict(paths, network=tmp_path / "broken.osm")
    broken["network"].write_text("not xml")
    assert _site(broken, out) == 2  # the study area is asked for before the network is read
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "未给出研究范围" in err and "--extent network" in err
    assert _site(paths, out, "--extent", "network", "--boundaries", str(paths["boundary"])) == 2
    assert "不能同时使用" in capsys.readouterr().err
    assert not (out / "sites.csv").exists()
    # a population table without its coordinate system is refused before the network, too
    pop = tmp_path / "pop.csv"
    pop.write_text("lng,lat,pop\n121.4,31.2,100\n", encoding="utf-8")
    assert _site(broken, out, "--extent", "network", "--population", str(pop)) == 2
    assert "--population-coords" in capsys.readouterr().err


def test_site_extent_network_says_so(tmp_path, capsys):
    paths = write_grid_inputs(tmp_path)
    out = tmp_path / "out"
    assert _site(paths, out, "--extent", "network") == 0
    printed = capsys.readouterr().out
    assert "路网范围 (--extent network, 不是街道边界)" in printed
    sites = pd.read_csv(out / "sites.csv", encoding="utf-8-sig")
    assert len(sites) >= 1


def test_coverage_refuses_a_population_table_without_system_before_the_network(tmp_path, capsys):
    paths = write_grid_inputs(tmp_path)
    broken = dict(paths, network=tmp_path / "broken.osm")
    broken["network"].write_text("not xml")
    pop = tmp_path / "pop.csv"
    pop.write_text("lng,lat,pop\n121.4,31.2,100\n", encoding="utf-8")
    out = tmp_path / "out"
    assert _coverage(broken, out, "--extent", "network", "--population", str(pop)) == 2
    err = capsys.readouterr().err
    assert "--population-coords" in err and "broken.osm" not in err
