"""``lifecircle.open_study``: what ``lifecircle run --config`` runs, in one call (issue 10)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from test_district import CONFIG as DISTRICT_CONFIG
from test_pipeline import GRID_CONFIG, read_coverage, write_grid_inputs

import lifecircle
from lifecircle import open_study
from lifecircle.errors import InputError
from lifecircle.scripts.cli import main
from lifecircle.workflow import Study
from lifecircle.workflow.district import DistrictStudy
from lifecircle.workflow.writers import write_coverage


def _coverage_csv(study, folder) -> pd.DataFrame:
    write_coverage(study.coverage(), folder)
    return read_coverage(folder)


def test_open_study_is_exported():
    assert lifecircle.open_study is open_study
    assert lifecircle.workflow.open_study is open_study


def test_street_config_with_boundary_override_matches_the_command(tmp_path, capsys):
    paths = write_grid_inputs(tmp_path)
    cfg = tmp_path / "grid.yaml"
    cfg.write_text(
        GRID_CONFIG.format(**{k: json.dumps(str(v)) for k, v in paths.items()}), encoding="utf-8"
    )
    other = tmp_path / "other.geojson"
    other.write_bytes(paths["boundary"].read_bytes())
    study = open_study(cfg, boundaries=other)
    assert type(study) is Study and study.net.n_nodes == 25
    api = _coverage_csv(study, tmp_path / "api")
    argv = ["run", "--config", str(cfg), "--boundaries", str(other)]
    assert main([*argv, "--out", str(tmp_path / "cli"), "--quiet"]) == 0
    capsys.readouterr()
    cli = read_coverage(tmp_path / "cli")
    assert len(api) == 14  # 2 categories x (5/10/15 min elderly and adult + 150 m)
    pd.testing.assert_frame_equal(api, cli)


def test_unknown_name_and_district_with_boundaries_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="内置街道配置"):
        open_study("没有这个街道")
    with pytest.raises(InputError, match="只用于街道配置"):
        open_study("普陀区", boundaries=tmp_path / "x.geojson")


@pytest.mark.realdata
def test_district_config_matches_the_command_row_for_row(shared_data, tmp_path, capsys):
    path = tmp_path / "测试区.yaml"
    path.write_text(DISTRICT_CONFIG.format(data=shared_data), encoding="utf-8")
    study = open_study(path, allow_partial=True)
    assert isinstance(study, DistrictStudy) and study.area_name == "测试区"
    api = _coverage_csv(study, tmp_path / "api")
    argv = ["run", "--config", str(path), "--out", str(tmp_path / "cli"), "--allow-partial"]
    assert main([*argv, "--quiet", "--basemap", "none"]) == 0
    capsys.readouterr()
    cli = read_coverage(tmp_path / "cli")
    assert api["level"].tolist() == ["street"] * 6 + ["district"] * 3
    assert api.loc[api["level"] == "district", "population_covered"].tolist() == [8, 30, 60]
    pd.testing.assert_frame_equal(api, cli)
