"""Choosing one boundary, partial networks, clear errors (issue 8 §3, §5)."""

from __future__ import annotations

import pandas as pd
import pytest

from lifecircle.scripts.cli import main


def _coverage(shared_data, tmp_path, *extra):
    return main([
        "coverage", "--network", str(shared_data / "osm" / "jingan_huangpu_drive.osm"),
        "--boundaries", str(shared_data / "boundaries" / "shanghai_districts.geojson"),
        "--facilities", str(shared_data / "facilities" / "eldercare_shanghai_gcj02.csv"),
        "--coords", "gcj02", "--minutes", "10", "--no-per-facility",
        "--out", str(tmp_path / "cov"), *extra,
    ])  # fmt: skip


def test_coverage_boundary_name_and_partial_network(shared_data, tmp_path, capsys):
    # the Jing'an/Huangpu network reaches a third of 黄浦区: set aside by name, exit 2
    assert _coverage(shared_data, tmp_path, "--boundary-name", "黄浦区") == 2
    err = capsys.readouterr().err
    assert "黄浦区" in err and "34%" in err and "--allow-partial" in err
    assert not (tmp_path / "cov" / "coverage.csv").exists()
    # asked for: computed, with the share in the file and the console, and a warning
    assert _coverage(shared_data, tmp_path, "--boundary-name", "黄浦区", "--allow-partial") == 0
    out = capsys.readouterr().out
    assert "步行路网覆盖边界面积的 33.9%" in out and "只有 34% 的面积" in out
    table = pd.read_csv(tmp_path / "cov" / "coverage.csv", encoding="utf-8-sig")
    assert set(table["boundary"]) == {"黄浦区"}
    assert table["network_extent_share"].iloc[0] == pytest.approx(0.3388, abs=0.001)
    # node counts are integers, shares rounded
    assert str(table["population_covered"].dtype) == "int64"
    assert (table["population_share"].round(4) == table["population_share"]).all()


def test_wrong_boundary_name_says_what_is_wrong_once(shared_data, tmp_path, capsys):
    path = shared_data / "boundaries" / "shanghai_districts.geojson"
    assert _coverage(shared_data, tmp_path, "--boundary-name", "黄埔区") == 2
    err = capsys.readouterr().err
    assert err.count(str(path)) == 1 and "'黄埔区'" in err and "--boundary-name" in err
    assert "黄浦区" in err  # the names the file has
    assert "无法读取" not in err
    rc = _coverage(shared_data, tmp_path, "--boundary-name-col", "区名")
    err = capsys.readouterr().err
    assert rc == 2 and err.count(str(path)) == 1 and "no name column" in err and "'区名'" in err
    assert "无法读取" not in err
