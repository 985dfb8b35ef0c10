"""2SFCA / E2SFCA: a hand-computed line, agreement with PySAL access, summaries."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from test_coverage import box, grid_net, make_net, pts

from lifecircle.analysis.accessibility import (
    DEFAULT_BANDS,
    access_summary,
    compute_access,
    facility_capacity,
    gini,
    two_step_fca,
    weighted_quantile,
)
from lifecircle.analysis.point_walks import nearest_walks, walk_cost_matrix
from lifecircle.geo.snap import snap_points


def line_case():
    """Street x = 0..600 (nodes every 100 m); F1 (x=100, 10 beds), F2 (x=500, 20 beds) on it;
    homes 20 m off the street: A (x=0, 100 older residents), B (x=250, 50), C (x=600, 200)."""
    net = make_net({i: (100.0 * i, 0.0) for i in range(7)}, [(i, i + 1) for i in range(6)])
    fac = pts([(100, 0), (500, 0)], category=["elder_care"] * 2, 床位=[10, 20], name=["F1", "F2"])
    dem = pts([(0, 20), (250, 20), (600, 20)], pop=[300.0, 150.0, 600.0], pop60=[100, 50, 200])
    return net, fac, dem


def test_cost_matrix_is_the_coverage_walk():
    net, fac, dem = line_case()
    ds = snap_points(net, dem)
    fs = snap_points(net, fac)
    C = walk_cost_matrix(net, ds, fs, 300.0).toarray()
    np.testing.assert_allclose(C, [[120, 0], [170, 270], [0, 120]], atol=1e-6)
    near, _ = nearest_walks(net, fac, ds, facility_snap=fs)
    full = walk_cost_matrix(net, ds, fs, 1e9).toarray()
    np.testing.assert_allclose(near["elder_care"], full.min(axis=1), atol=1e-6)


def test_hand_computed_2sfca_and_enhanced():
    net, fac, dem = line_case()
    res = compute_access(net, fac, dem, "elder_care", 300.0, capacity_col="床位")
    # F1 serves A and B: 10 / 150; F2 serves B and C: 20 / 250 (per 1,000 older residents)
    np.testing.assert_allclose(res.points["access"], [1000 / 15, 1000 / 15 + 80, 80])
    # bands 100/200/300 m weigh 1, 0.68, 0.22: R1 = 10 / (0.68·150), R2 = 20 / (0.22·50 + 0.68·200)
    r1, r2 = 10 / 102, 20 / 147
    expect = 1000 * np.array([0.68 * r1, 0.68 * r1 + 0.22 * r2, 0.68 * r2])
    np.testing.assert_allclose(res.points["access_e2sfca"], expect)
    assert res.basis == "60岁以上人口" and "床位" in res.capacity_note
    np.testing.assert_allclose(res.facilities["ratio"], [10 / 150, 20 / 250])


def test_capacity_defaults_to_one_each():
    net, fac, dem = line_case()
    fac = fac.assign(床位=[np.nan, 4])
    cap, note = facility_capacity(fac, "床位")
    assert list(cap) == [1.0, 4.0] and "1 个无值的按 1 计" in note
    cap, note = facility_capacity(fac, None)
    assert list(cap) == [1.0, 1.0] and "按 1 计" in note
    with pytest.raises(ValueError, match="capacity column"):
        facility_capacity(fac, "places")


def test_agrees_with_pysal_access():
    access = pytest.importorskip("access")
    rng = np.random.default_rng(7)
    net = grid_net(8)
    dem_xy = rng.uniform(0, 700, size=(120, 2))
    dem = pts(dem_xy, pop=np.ones(120), pop60=rng.integers(5, 80, 120).astype(float))
    fxy = rng.uniform(50, 650, size=(9, 2))
    fac = pts(fxy, category=["elder_care"] * 9, beds=rng.integers(5, 60, 9).astype(float))
    limit = 400.0
    ds, fs = snap_points(net, dem), snap_points(net, fac)
    C = walk_cost_matrix(net, ds, fs, limit).tocoo()
    cost_df = pd.DataFrame({"origin": C.row, "dest": C.col, "cost": C.data})
    demand_df = pd.DataFrame({"pop60": dem["pop60"].to_numpy()}, index=pd.RangeIndex(120))
    supply_df = pd.DataFrame({"beds": fac["beds"].to_numpy()}, index=pd.RangeIndex(9))
    demand_df.index.name = supply_df.index.name = "geoid"
    acc = access.Access(
        demand_df=demand_df, demand_index=True, demand_value="pop60",
        supply_df=supply_df, supply_index=True, supply_value="beds",
        cost_df=cost_df, cost_origin="origin", cost_dest="dest", cost_name="cost",
    )  # fmt: skip
    ref = acc.two_stage_fca(name="fca", max_cost=limit)["fca_beds"]
    step = access.weights.step_fn(DEFAULT_BANDS.step_dict(limit))
    ref_e = acc.enhanced_two_stage_fca(name="e", max_cost=limit, weight_fn=step)["e_beds"]

    res = compute_access(net, fac, dem, "elder_care", limit, capacity_col="beds")
    for ours, theirs in ((res.points["access"], ref), (res.points["access_e2sfca"], ref_e)):
        theirs = theirs.reindex(range(120)).to_numpy() * 1000
        reached = np.isfinite(theirs)
        assert reached.sum() > 100
        np.testing.assert_allclose(ours.to_numpy()[reached], theirs[reached], rtol=1e-9)
        assert (ours.to_numpy()[~reached] == 0).all()
    # the same numbers straight from the matrix
    a2, _ = two_step_fca(C.tocsr(), dem["pop60"].to_numpy(), fac["beds"].to_numpy(), limit)
    np.testing.assert_allclose(a2, res.points["access"], rtol=1e-12)


def test_gini_quantile_and_summary():
    assert gini(np.array([5.0, 5.0, 5.0])) == 0
    # two people, one has everything: Σ|xi - xj| = 2·10, 2·n²·mean = 2·4·5 → 0.5
    assert gini(np.array([0.0, 10.0])) == pytest.approx(0.5)
    # weights act as repeated people: [0 ×3, 10 ×1] ↔ 6·10 / (2·16·2.5) = 0.75
    assert gini(np.array([0.0, 10.0]), np.array([3.0, 1.0])) == pytest.approx(0.75)
    assert gini(np.array([0.0, 0.0, 0.0, 10.0])) == pytest.approx(0.75)
    assert weighted_quantile(np.array([3.0, 1.0, 2.0]), np.array([1.0, 1.0, 8.0]), 0.1) == 1.0
    assert weighted_quantile(np.array([3.0, 1.0, 2.0]), np.array([1.0, 1.0, 8.0]), 0.5) == 2.0

    net, fac, dem = line_case()
    res = compute_access(net, fac, dem, "elder_care", 300.0, capacity_col="床位")
    b = pd.concat([box(-50, -50, 300, 100, "西"), box(300, -50, 700, 100, "东")])
    tab = access_summary(res.points["access"], res.points["demand"], dem, b).set_index("boundary")
    a, bb = 1000 / 15, 1000 / 15 + 80
    assert tab.loc["西", "mean"] == pytest.approx((100 * a + 50 * bb) / 150)
    assert tab.loc["西", "p10"] == pytest.approx(a)
    assert tab.loc["东", "mean"] == pytest.approx(80) and tab.loc["东", "gini"] == 0
    assert isinstance(b, gpd.GeoDataFrame)
