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
