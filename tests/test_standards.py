"""Planning standards: the shipped files, and the 达标率 on known walks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lifecircle.analysis.standards import attainment, load_standard, standard_names


def test_shipped_standards_are_complete():
    assert {"gb50180", "shanghai15"} <= set(standard_names())
    gb = load_standard("gb50180")
    assert gb.threshold("elder_care") == (5.0, 300.0)
    assert gb.threshold("health") == (15.0, 1000.0)
    assert gb.levels[15]["range_m"] == [800, 1000]
    sh = load_standard("shanghai15")
    assert sh.threshold("elder_care") == (5.0, 300.0)
    assert sh.threshold("child_care") == (10.0, 500.0)
    for std in (gb, sh):
        for c in std.categories.values():
            assert c.source, c.category
            assert not c.uncertain or c.note, f"{std.name}/{c.category}: uncertain without a note"
    assert gb.categories["market"].uncertain and not gb.categories["elder_care"].uncertain
    with pytest.raises(ValueError, match="unknown standard"):
        load_standard("gb99999")


def test_bad_standard_file(tmp_path):
    p = tmp_path / "x.yaml"
    p.write_text(
        "name: x\ntitle: X\nsource: s\nlevels: {5: {metres: 300}}\n"
        "categories: {elder_care: {level: 10, source: s}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="level 10 is not one of"):
        load_standard(p)


def test_attainment_on_known_walks():
    gb = load_standard("gb50180")
    # four homes: elder care walks 100, 299, 301 m, unreachable; health within 1000 m for all
    walks = pd.DataFrame(
        {
            "elder_care": [100.0, 299.0, 301.0, np.inf],
            "health": [900.0, 100.0, 1000.0, 999.0],
            "unknown_cat": [1.0, 1.0, 1.0, 1.0],
        }
    )
    pop = np.array([100.0, 200.0, 300.0, 400.0])
    pop60 = np.array([50.0, 10.0, 10.0, 30.0])
    comp = pd.DataFrame({"elder_care": [250.0, 350.0], "health": [10.0, np.nan]})
    targets = [{"category": "elder_care", "minutes": 5, "population_share": 1.0, "source": "规划"}]
    tab = attainment(
        gb, walks, pop, pop60, comp, targets, target_metres=lambda m: 54.0 * m
    ).set_index("category")
    assert tab.loc["elder_care", "limit_m"] == 300
    assert tab.loc["elder_care", "population_share"] == pytest.approx(0.3)
    assert tab.loc["elder_care", "pop60_share"] == pytest.approx(0.6)
    assert tab.loc["elder_care", "compound_share"] == 0.5
    assert tab.loc["health", "population_share"] == 1.0
    assert tab.loc["health", "compound_share"] == 0.5
    # the plan's own 5 minutes at 54 m/min = 270 m: only the first home
    assert tab.loc["elder_care", "plan_share"] == 1.0
    assert tab.loc["elder_care", "plan_actual_share"] == pytest.approx(0.1)
    assert np.isnan(tab.loc["unknown_cat", "limit_m"])
    assert "未规定" in tab.loc["unknown_cat", "note"]
