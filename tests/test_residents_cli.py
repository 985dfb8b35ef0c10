"""``lifecircle coverage`` with buildings, a street total, 居民区, capacity and a standard.

On the grid of ``test_pipeline`` (100 m blocks, 为老服务站 at (200, 200) m, elderly 270/540/810 m):

* 甲楼 20 × 20 m, 5 storeys (2000 m²) at (240, 260): enters 兰 x = 200 street 40 m away, walks
  40 + 60 = 100 m; 乙楼 20 × 20 m, 3 storeys (1200 m²) at (40, 380): 40 + 180 + 200 = 420 m;
  a shop (0 m²). The street total 1000 goes 625 / 375.
* 居民区 甲小区 x ∈ [150, 290], y ∈ [210, 290] is crossed by x = 200: its nearest gate (200, 210)
  walks 10 m; it holds 甲楼 (625 residents).
* 2SFCA at 270 m: 30 beds for the 625 residents within reach → 1000 · 30 / 625 = 48 per 1,000.
* GB 50180: 为老服务 at 300 m: 625 of 1000 residents, 1 of 1 居民区.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from test_pipeline import X0, Y0, write_grid_inputs

from lifecircle.scripts.cli import main


def _sq(cx, cy, half=10.0):
    return shapely.box(X0 + cx - half, Y0 + cy - half, X0 + cx + half, Y0 + cy + half)


@pytest.fixture
def inputs(tmp_path):
    paths = write_grid_inputs(tmp_path)
    fac = pd.read_csv(paths["facilities"])
    fac["床位"] = [30, None]
    fac.to_csv(paths["facilities"], index=False, encoding="utf-8")
    b = tmp_path / "buildings.geojson"
    gpd.GeoDataFrame(
        {
            "name": ["甲楼", "乙楼", "商店"],
            "building": ["apartments", "yes", "retail"],
            "building:levels": [5, 3, 2],
        },
        geometry=[_sq(240, 260), _sq(40, 380), _sq(340, 140)],
        crs=32651,
    ).to_crs(4326).to_file(b, driver="GeoJSON")
    c = tmp_path / "compounds.geojson"
    gpd.GeoDataFrame(
        {"name": ["甲小区"]},
        geometry=[shapely.box(X0 + 150, Y0 + 210, X0 + 290, Y0 + 290)],
        crs=32651,
    ).to_crs(4326).to_file(c, driver="GeoJSON")
    return paths, b, c


def test_coverage_of_residents(inputs, tmp_path, capsys):
    paths, b, c = inputs
    out = tmp_path / "cov"
    code = main(
        [
            "coverage", "--network", str(paths["network"]), "--boundaries", str(paths["boundary"]),
            "--facilities", str(paths["facilities"]), "--coords", "gcj02",
            "--buildings", str(b), "--population-total", "1000", "--compounds", str(c),
            "--capacity-col", "床位", "--standard", "gb50180", "--out", str(out),
        ]
    )  # fmt: skip
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    table = pd.read_csv(out / "coverage.csv", encoding="utf-8-sig")
    ec = table[table["category"] == "elder_care"].sort_values("minutes")
    assert ec["population"].tolist() == pytest.approx([1000, 1000, 1000])  # conserved
    assert ec["population_share"].tolist() == pytest.approx([0.625, 1.0, 1.0])
    comp = pd.read_csv(out / "compounds.csv", encoding="utf-8-sig")
    row = comp[(comp["category"] == "elder_care") & (comp["minutes"] == 5)].iloc[0]
    assert row["compound"] == "甲小区" and bool(row["reached"])
    assert row["walk_m"] == pytest.approx(10, abs=0.5) and row["population"] == pytest.approx(625)
    acc = pd.read_csv(out / "access.csv", encoding="utf-8-sig").iloc[0]
    assert acc["limit_m"] == 270 and acc["mean"] == pytest.approx(0.625 * 48, rel=1e-6)
    att = pd.read_csv(out / "attainment.csv", encoding="utf-8-sig").set_index("category")
    assert att.loc["elder_care", "population_share"] == pytest.approx(0.625)
    assert att.loc["elder_care", "compound_share"] == 1.0
    assert (out / "residents.xlsx").exists() and (out / "residents.gpkg").exists()
    assert "合计 1,000 人（估算）" in stdout and "容量取“床位”列（1 个设施有值）" in stdout


def test_residents_tables_are_rounded_for_planners():
    """No 449.7347377785964 people, no 0.6062126897682258 shares, no 'inf' metres in the CSVs."""
    from lifecircle.reports.residents import residents_table

    raw = pd.DataFrame(
        {
            "compound": ["甲", "乙"],
            "walk_m": [np.inf, 123.456],
            "population": [449.7347377785964, 341.55589898040387],
            "population_share": [0.6062126897682258, 1.0000000000000002],
            "demand": [41220.7692027989, 1.0],
            "mean": [15.962826815840243, 0.0],
            "gini": [0.7969555836984098, 0.0],
        }
    )
    out = residents_table(raw)
    assert pd.isna(out.loc[0, "walk_m"]) and out.loc[1, "walk_m"] == 123.5
    assert out["population"].tolist() == [449.7, 341.6]
    assert out["population_share"].tolist() == [0.6062, 1.0]
    assert out.loc[0, "demand"] == 41220.8 and out.loc[0, "mean"] == 15.96
    assert out.loc[0, "gini"] == 0.797


def test_population_total_needs_buildings(inputs, tmp_path, capsys):
    paths, _, _ = inputs
    code = main(
        [
            "coverage", "--network", str(paths["network"]), "--boundaries", str(paths["boundary"]),
            "--facilities", str(paths["facilities"]), "--coords", "gcj02",
            "--population-total", "1000", "--out", str(tmp_path / "x"),
        ]
    )  # fmt: skip
    assert code == 2 and "--buildings" in capsys.readouterr().err


def test_site_weighs_buildings(inputs, tmp_path, capsys):
    """One more 为老服务站 at 5 minutes: only 乙楼 (375 residents, 420 m away) is left to gain."""
    paths, b, _ = inputs
    out = tmp_path / "site"
    code = main(
        [
            "site", "--network", str(paths["network"]), "--boundaries", str(paths["boundary"]),
            "--facilities", str(paths["facilities"]), "--coords", "gcj02",
            "--category", "elder_care", "--minutes", "5", "--new", "1", "--model", "greedy",
            "--buildings", str(b), "--population-total", "1000", "--out", str(out), "--quiet",
        ]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    sites = pd.read_csv(out / "sites.csv", encoding="utf-8-sig")
    assert sites["gain_pop_5min"].tolist() == pytest.approx([375])


def test_run_config_with_buildings(inputs, tmp_path, capsys):
    """``buildings:``/``population_total:``/``compounds:``/``standard:`` in a run config."""
    paths, b, c = inputs
    cfg = tmp_path / "grid.yaml"
    cfg.write_text(
        f"street: 网格街道\nboundary: {{file: {paths['boundary']}}}\n"
        f"network: {{source: file, file: {paths['network']}}}\n"
        "categories: [elder_care, fitness]\n"
        f"facilities:\n  - {{source: file, file: {paths['facilities']}, coords: gcj02}}\n"
        f"buildings: {b}\npopulation_total: 1000\ncompounds: {c}\nstandard: shanghai15\n"
        "targets:\n  - {category: elder_care, minutes: 5, population_share: 1.0, source: 规划}\n",
        encoding="utf-8",
    )
    out = tmp_path / "run"
    code = main(["run", "--config", str(cfg), "--out", str(out), "--quiet"])
    assert code == 0, capsys.readouterr().err
    table = pd.read_csv(out / "coverage.csv", encoding="utf-8-sig")
    ec = table[(table["category"] == "elder_care") & (table["minutes"] == 5)]
    assert ec["population_share"].tolist() == pytest.approx([0.625])
    att = pd.read_csv(out / "attainment.csv", encoding="utf-8-sig").set_index("category")
    assert att.loc["elder_care", "plan_share"] == 1.0
    assert att.loc["elder_care", "plan_actual_share"] == pytest.approx(0.625)
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "达标率（上海市15分钟社区生活圈规划导则" in md and "居民区步行可达" in md
    assert "所有居民区均达到规划目标" in md  # 甲小区 walks 10 m from its gate
