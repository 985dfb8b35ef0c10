"""居民区: the gate rule on a hand-built street graph, population, plan targets."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from test_coverage import X0, Y0, make_net, pts

from lifecircle.analysis.compounds import (
    BASIS_CENTROID,
    BASIS_GATES,
    compound_gates,
    compound_population,
    compound_reach,
    compounds_missing,
)
from lifecircle.geo.compounds import compounds_from_features

UTM = "EPSG:32651"


def _box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def case():
    """Street y = 0 from x = 0 to 400, street x = 400 from y = 0 to 400; a 为老服务站 at (0, 0).

    甲: x ∈ [100, 300], y ∈ [-50, 250] — crossed by the street at x = 100 and x = 300: gates
        walk 100 m and 300 m; its centroid (200, 100) would walk 100 + 200 = 300 m.
    乙: x ∈ [450, 550], y ∈ [100, 200] — meets no street: centroid (500, 150) snaps 100 m to
        x = 400 and walks 100 + 150 + 400 = 650 m.
    丙: x ∈ [200, 300], y ∈ [-100, 0] — its top edge runs along the street: gates at the two
        ends of the shared stretch, x = 200 (200 m) and x = 300.
    """
    nodes = {i: (100.0 * i, 0.0) for i in range(5)}
    nodes.update({10 + j: (400.0, 100.0 * j) for j in range(1, 5)})
    edges = [(i, i + 1) for i in range(4)] + [(4, 11), (11, 12), (12, 13), (13, 14)]
    net = make_net(nodes, edges)
    comp = gpd.GeoDataFrame(
        {"name": ["甲", "乙", "丙"], "population": [np.nan, 800.0, np.nan]},
        geometry=[_box(100, -50, 300, 250), _box(450, 100, 550, 200), _box(200, -100, 300, 0)],
        crs=UTM,
    )
    comp, _ = compounds_from_features(comp, "test")
    fac = pts([(0, 0)], category=["elder_care"], name=["站"])
    return net, comp, fac


def test_gates_where_the_outline_meets_a_street():
    net, comp, _ = case()
    g = compound_gates(net, comp)
    assert list(g.n_gates) == [2, 0, 2]
    assert list(g.basis) == [BASIS_GATES, BASIS_CENTROID, BASIS_GATES]
    xy = g.points.to_crs(UTM).get_coordinates().to_numpy() - [X0, Y0]
    got = sorted((int(c), round(x), round(y)) for c, (x, y) in zip(g.compound, xy, strict=True))
    assert got == [(0, 100, 0), (0, 300, 0), (1, 500, 150), (2, 200, 0), (2, 300, 0)]
    assert g.snap.ok.all()


def test_reached_from_the_nearest_gate():
    net, comp, fac = case()
    ths = [(2.0, 150.0), (5.0, 270.0), (15.0, 810.0)]
    table, layer, _ = compound_reach(net, comp, fac, ths, "elderly")
    walk = layer.set_index("name")["d_elder_care"]
    np.testing.assert_allclose(walk[["甲", "乙", "丙"]], [100, 650, 200], atol=1e-6)
    np.testing.assert_allclose(layer["t_elder_care"], np.array([100, 650, 200]) / 54, rtol=1e-9)
    reached = table.pivot(index="compound", columns="minutes", values="reached")
    # 甲 is reached at 150 m only through its gate (its centroid walks 300 m)
    assert reached.loc["甲"].tolist() == [True, True, True]
    assert reached.loc["乙"].tolist() == [False, False, True]
    assert reached.loc["丙"].tolist() == [False, True, True]
    miss = compounds_missing(table, [("elder_care", 5)])
    assert list(miss["compound"]) == ["乙"] and miss["population"].iloc[0] == 800
    with pytest.raises(ValueError, match="no elder_care result at 10"):
        compounds_missing(table, [("elder_care", 10)])


def test_population_from_buildings_and_own_figures():
    _, comp, _ = case()
    dem = pts([(150, 100), (250, 200), (500, 150), (900, 900)], pop=[100.0, 60, 40, 5])
    dem["pop60"] = [30.0, 18, 12, 1.5]
    out = compound_population(comp, dem, share60=0.3)
    # 甲 holds two buildings (160, 60+ 48); 乙 has its own 800 (60+ = 800 × 0.3)
    np.testing.assert_allclose(out["population"], [160, 800, 0])
    np.testing.assert_allclose(out["pop60"], [48, 240, 0])
    assert list(out["population_source"]) == ["建筑面积估算", "居民区数据", "建筑面积估算"]
    comp = comp.assign(share60=[0.5, np.nan, np.nan])
    np.testing.assert_allclose(compound_population(comp, dem, 0.3)["pop60"][:1], [80])
