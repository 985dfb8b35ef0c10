"""Blind spots add up, keep their meaning; network extent per boundary; no import circles."""

from __future__ import annotations

import ast
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from lifecircle.analysis.blind_spots import demand_cells, uncovered_region
from lifecircle.analysis.coverage import ALL_FACILITIES, CoverageOptions, compute_coverage
from lifecircle.scripts.bench_coverage import grid_network

UTM = "EPSG:32651"
X0, Y0 = 350_000.0, 3_450_000.0


def _pts(xy, crs=UTM, **cols) -> gpd.GeoDataFrame:
    xy = np.asarray(xy, dtype=float)
    return gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=crs)


def _box(x0, y0, x1, y1, name) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": [name]}, geometry=[shapely.box(x0, y0, x1, y1)], crs=UTM)


@pytest.fixture(scope="module")
def grid30():
    """A jittered 30 × 30 grid (100 m blocks), random population on the nodes, 2 categories."""
    net = grid_network(30, seed=4)
    rng = np.random.default_rng(5)
    pop = rng.integers(0, 40, net.n_nodes).astype(float)
    demand = gpd.GeoDataFrame(
        {"node_idx": np.arange(net.n_nodes), "pop": pop, "pop60": np.round(pop * 0.3, 1)},
        geometry=gpd.points_from_xy(*net.lonlat.T),
        crs=4326,
    )
    lo, hi = net.xy.min(axis=0), net.xy.max(axis=0)
    fxy = lo + rng.random((9, 2)) * (hi - lo)
    fac = _pts(fxy, category=["elder_care"] * 5 + ["park"] * 4)
    bounds = pd_concat(
        _box(X0 - 50, Y0 - 50, X0 + 1450, Y0 + 2950, "西"),
        _box(X0 + 1450, Y0 - 50, X0 + 2950, Y0 + 2950, "东"),
    )
    return net, demand, fac, bounds


def pd_concat(*frames):
    import pandas as pd

    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)


def test_blind_spot_totals_equal_uncovered_population_in_every_row(grid30):
    net, demand, fac, bounds = grid30
    res = compute_coverage(net, fac, bounds, demand=demand, minutes=[5, 10, 15])
    t = res.table
    assert len(t) == 2 * 2 * 3
    assert (t["population_uncovered"] > 0).all()
    bs = res.blind_spots.groupby(["boundary", "category", "limit_m"])[["population", "pop60"]]
    sums = bs.sum()
    for r in t.itertuples():
        key = (r.boundary, r.category, r.limit_m)
        assert sums.loc[key, "population"] == pytest.approx(r.population_uncovered, rel=1e-12)
        assert sums.loc[key, "pop60"] == pytest.approx(r.pop60_uncovered, rel=1e-12)
        assert r.blind_spot_population == pytest.approx(r.population_uncovered, rel=1e-12)
    # counts of demand points add up too: uncovered populated nodes per row
    inside = [shapely.contains_xy(g, *net.xy.T) for g in bounds.geometry]
    pop = demand["pop"].to_numpy()
    n = res.blind_spots.groupby(["boundary", "category", "limit_m"])["n_demand"].sum()
    for bi, name in enumerate(bounds["name"]):
        for cat in ("elder_care", "park"):
            d = res.fields[cat]
            for lim in (270.0, 540.0, 810.0):
                want = int((inside[bi] & (pop > 0) & ~(d <= lim + 1e-6)).sum())
                assert n.loc[(name, cat, lim)] == want
    # blind spots lie in their boundary and outside the service area
    sa = res.service_areas[res.service_areas["fid"] == ALL_FACILITIES].to_crs(UTM)
    for r in res.blind_spots.to_crs(UTM).itertuples():
        g = bounds.loc[bounds["name"] == r.boundary].geometry.iloc[0]
        assert r.geometry.difference(g.buffer(0.01)).area < 1e-6
        s = sa[(sa["category"] == r.category) & (sa["limit_m"] == r.limit_m)].geometry.iloc[0]
        assert r.geometry.intersection(s).area < 1.0


def test_blind_spots_keep_the_cell_definition(grid30):
    """Same set as the plain recipe: union(cell ∩ disc ∩ boundary) − service area."""
    net, demand, fac, bounds = grid30
    res = compute_coverage(net, fac, bounds.iloc[:1], demand=demand, minutes=[10])
    g = bounds.geometry.iloc[0]
    inside = shapely.contains_xy(g, *net.xy.T)
    xy = net.xy[inside]
    unc = ~(res.fields["park"][inside] <= 540 + 1e-6) & (demand["pop"].to_numpy()[inside] > 0)
    vor = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=g, ordered=True)
    )
    discs = shapely.buffer(shapely.points(xy), 150.0, quad_segs=4)
    ref = shapely.intersection(shapely.union_all(shapely.intersection(vor, discs)[unc]), g)
    sa = res.service_areas.to_crs(UTM)
    sa = sa[(sa["fid"] == ALL_FACILITIES) & (sa["category"] == "park")].geometry.iloc[0]
    ref = ref.difference(sa)
    ours = shapely.union_all(
        res.blind_spots[res.blind_spots["category"] == "park"].to_crs(UTM).geometry.values
    )
    assert ours.area == pytest.approx(ref.area, rel=1e-3)
    assert ours.symmetric_difference(ref).area < 2e-3 * ref.area + 200.0


def test_demand_beside_reached_streets_is_counted_with_the_nearest_blind_spot():
    net = grid_network(12, jitter=0.0)
    fac = _pts([(X0 + 550, Y0 + 550)], category=["elder_care"])
    # a 120 m buffer covers the cells of unreached nodes next to reached streets
    res = compute_coverage(net, fac, "network", metres=[200], width_m=120.0, profile="gb50180")
    t = res.table.iloc[0]
    assert t["population_uncovered"] == 144 - 8
    assert res.blind_spots["population"].sum() == 136
    assert res.blind_spots["n_demand"].sum() == 136
    assert any("计入最近的盲区" in n for n in res.notes)


def test_demand_cells_reach_beyond_the_disc_only_where_sparse():
    ii, jj = np.meshgrid(np.arange(5), np.arange(5))
    xy = np.c_[ii.ravel() * 100.0, jj.ravel() * 100.0]
    xy = np.vstack([xy, xy[:1], [[1500.0, 200.0]]])  # a duplicate and a lone far point
    g = shapely.box(-50, -50, 1600, 450)
    dc = demand_cells(xy, g, 150.0)
    assert len(dc.cells) == 26 and dc.of_point[25] == dc.of_point[0]
    beyond = ~shapely.is_missing(dc.beyond_disc)
    # the 9 inner cells are 100 m squares well within 150 m of their point; edge cells are not
    inner = (xy[:25, 0] % 400 > 0) & (xy[:25, 1] % 400 > 0)
    assert not beyond[dc.of_point[:25][inner]].any()
    assert beyond[dc.of_point[26]]
    assert shapely.coverage_union_all(dc.cells).covers(g)


def test_uncovered_region_cuts_only_the_chosen_cells_beyond_their_discs():
    # the clip built once per boundary (boundary minus every cell's part beyond its disc) gives
    # the region the row-by-row recipe gave: chosen cells, to the boundary, minus their parts
    rng = np.random.default_rng(4)
    xy = np.vstack([rng.random((60, 2)) * 800.0, [[1500.0, 200.0], [1400.0, 420.0]]])
    g = shapely.Polygon([(-60, -40), (1620, -60), (1580, 470), (700, 520), (-30, 460)])
    dc = demand_cells(xy, g, 150.0)
    assert (~shapely.is_missing(dc.beyond_disc)).sum() > 10
    for chosen in (np.arange(0, 62, 3), np.r_[np.arange(0, 50), 60, 61], np.arange(62)):
        idx = np.unique(dc.of_point[chosen])
        beyond = dc.beyond_disc[idx]
        beyond = beyond[~shapely.is_missing(beyond)]
        ref = shapely.intersection(shapely.coverage_union_all(dc.cells[idx]), g)
        ref = shapely.difference(ref, shapely.union_all(beyond))
        got = uncovered_region(dc, idx)
        assert got.is_valid
        assert got.area == pytest.approx(ref.area, rel=1e-9)
        assert shapely.symmetric_difference(got, ref).area < 1e-6 * ref.area


# ------------------------------------------------------------------ network extent
def test_network_extent_share_warns_and_sets_aside(grid30):
    net, demand, fac, _ = grid30  # the grid spans about 0..2900 m
    full = _box(X0, Y0, X0 + 2900, Y0 + 2900, "全在网内")
    # 2900 × 4000: the network (plus 250 m) reaches about (2900 × 3150) / (2900 × 4000)
    part = _box(X0, Y0, X0 + 2900, Y0 + 4000, "部分")
    half = _box(X0 + 2000, Y0, X0 + 6000, Y0 + 2900, "大半在外")
    res = compute_coverage(net, fac, pd_concat(full, part, half), minutes=[10])
    share = res.table.groupby("boundary")["network_extent_share"].first()
    assert share["全在网内"] == pytest.approx(1.0)
    assert share["部分"] == pytest.approx(3150 / 4000, abs=0.01)
    assert "大半在外" not in share.index
    assert list(res.set_aside["boundary"]) == ["大半在外"]
    assert res.set_aside["network_extent_share"].iloc[0] == pytest.approx(1150 / 4000, abs=0.01)
    assert any("部分" in n and "79%" in n for n in res.notes)
    assert any("大半在外" in n and "--allow-partial" in n for n in res.notes)
    kept = compute_coverage(
        net, fac, half, options=CoverageOptions(minutes=[10], allow_partial=True)
    )
    assert list(kept.table["boundary"].unique()) == ["大半在外"]
    assert "network_extent_share" in kept.boundaries.columns


def test_network_extent_share_on_jingan_network_and_districts(shared_data):
    from lifecircle.geo.boundaries import load_boundaries
    from lifecircle.geo.network import load_network

    net = load_network(shared_data / "osm" / "jingan_huangpu_drive.osm")
    b = load_boundaries(shared_data / "boundaries" / "shanghai_districts.geojson")
    b = b[0] if isinstance(b, tuple) else b
    b = b[b["name"].isin(["黄浦区", "静安区"])]
    fac = _pts([(121.475, 31.235)], crs=4326, category=["elder_care"])
    with pytest.raises(ValueError, match="黄浦区: 路网只覆盖边界面积的 34%"):
        compute_coverage(net, fac, b, minutes=[10])
    res = compute_coverage(net, fac, b, minutes=[10], allow_partial=True)
    t = res.table.set_index("boundary")
    # the exact share (union of 250 m street buffers ∩ district) is 0.3391 and 0.0076
    assert t.loc["黄浦区", "network_extent_share"] == pytest.approx(0.3391, abs=0.002)
    assert t.loc["静安区", "network_extent_share"] == pytest.approx(0.0076, abs=0.001)
    assert t.loc["静安区", "population"] == 5  # five nodes, not a district
    assert (t["blind_spot_population"] == t["population_uncovered"]).all()
    assert any("静安区" in n and "1%" in n for n in res.notes)


# ------------------------------------------------------------------ import circles
def test_analysis_modules_import_without_circles():
    root = Path(__file__).resolve().parents[1] / "analysis"
    deps = {}
    for f in root.glob("*.py"):
        tree = ast.parse(f.read_text(encoding="utf-8"))
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    names.add(node.module.split(".")[0])
                else:
                    names.update(a.name for a in node.names)
        deps[f.stem] = names & {p.stem for p in root.glob("*.py")}

    def reach(start, seen):
        for d in deps.get(start, ()):
            if d not in seen:
                seen.add(d)
                reach(d, seen)
        return seen

    circles = [m for m in deps if m in reach(m, set())]
    assert circles == []
    assert "coverage" not in deps["service_areas"]
