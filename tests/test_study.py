"""The run as an API (``lifecircle.Study``): the same numbers as ``lifecircle run``.

The 5 × 5 street grid of test_pipeline (100 m blocks, 25 nodes, one 为老服务站 at the centre,
one 健身苑点 at a corner), once through the config and once built from its files.
"""

from __future__ import annotations

import json

import folium
import pandas as pd
import pytest
from test_pipeline import GRID_CONFIG, _lonlat, read_coverage, shares, write_grid_inputs

import lifecircle
from lifecircle import Study
from lifecircle.errors import InputError
from lifecircle.geo.crs import wgs84_to_gcj02
from lifecircle.scripts.cli import main


@pytest.fixture
def grid(tmp_path):
    paths = write_grid_inputs(tmp_path)
    cfg = tmp_path / "grid.yaml"
    cfg.write_text(
        GRID_CONFIG.format(**{k: json.dumps(str(v)) for k, v in paths.items()}), encoding="utf-8"
    )
    return paths, cfg


def test_study_is_the_package_entry_point():
    assert lifecircle.Study is Study
    with pytest.raises(AttributeError):
        lifecircle.NoSuchThing  # noqa: B018


def test_from_config_gives_the_numbers_of_the_command_line(grid, tmp_path, capsys):
    paths, cfg = grid
    study = Study.from_config(cfg)
    assert study.net.n_nodes == 25 and not study.population_known

    table = study.coverage().table
    main_rows = table[(table["profile"] == "elderly") & table["minutes"].notna()]
    assert shares(main_rows, "elder_care") == [13 / 25, 1.0, 1.0]
    assert shares(main_rows, "fitness") == [6 / 25, 19 / 25, 1.0]
    adult = table[table["profile"] == "adult"]
    assert shares(adult, "elder_care") == [21 / 25, 1.0, 1.0]
    ring = table[table["minutes"].isna()].set_index("category")["population_share"]
    assert ring.round(6).to_dict() == {"elder_care": 0.2, "fitness": 0.12}

    new = study.site()  # the config's question: 2 new 为老服务站, 5 minutes, greedy
    assert new.sites["gain_nodes_5min"].tolist() == [3.0, 3.0]
    assert new.summary["covered_before"] == 13 and new.summary["covered_after"] == 19

    result = study.write(tmp_path / "api")
    assert main(["run", "--config", str(cfg), "--out", str(tmp_path / "cli"), "--quiet"]) == 0
    capsys.readouterr()
    api, cli = read_coverage(tmp_path / "api"), read_coverage(tmp_path / "cli")
    pd.testing.assert_frame_equal(api, cli)
    sites_api = pd.read_csv(tmp_path / "api" / "sites.csv", encoding="utf-8-sig")
    sites_cli = pd.read_csv(tmp_path / "cli" / "sites.csv", encoding="utf-8-sig")
    pd.testing.assert_frame_equal(sites_api, sites_cli)
    assert {p.name for p in result.files()} == {p.name for p in (tmp_path / "cli").iterdir()}
    assert "覆盖 13 → 19 个路网节点" in "\n".join(result.summary_lines())


def test_constructor_from_files_what_if_and_map(grid):
    paths, _ = grid
    study = Study(paths["boundary"], paths["network"], paths["facilities"], coords="gcj02")
    assert len(study.demand) == 25 and not study.population_known
    assert study.facilities["category"].value_counts().to_dict() == {
        "elder_care": 1,
        "fitness": 1,
    }
    elder = study.coverage().table.query("category == 'elder_care'").sort_values("minutes")
    assert elder["population_share"].tolist() == [13 / 25, 1.0, 1.0]

    # one more station at the corner (0, 0), picked on Amap (GCJ-02): 270 m reaches 6 nodes
    # there, 3 of them not reached by the centre station before (13 → 16 of 25)
    corner = tuple(float(v) for v in wgs84_to_gcj02(*_lonlat(0, 0)))
    effect = study.what_if([corner], coords="gcj02")
    five = effect.table.set_index("minutes").loc[5]
    assert five["gain_pop"] == 3 and five["pop_after"] == 16
    with pytest.raises(ValueError, match="gcj02"):
        study.what_if([corner])  # no default coordinate system

    m = study.map(basemap=None)
    assert isinstance(m, folium.Map)
    assert "网格街道" in m.get_root().render()


def test_options_are_checked():
    with pytest.raises(TypeError, match="unknown run option"):
        lifecircle.RunOptions.from_mapping({"minuts": [5]})


def test_bad_config_is_an_input_error(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("street: 网格街道\nminutes: [-5]\n", encoding="utf-8")
    with pytest.raises(InputError, match="bad.yaml"):
        Study.from_config(cfg)
