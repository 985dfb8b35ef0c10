"""Siting: exact models against brute force and spopt, heuristics, sparse searches, what-if, CLI."""

from __future__ import annotations

import itertools

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from scipy.sparse import csgraph

from lifecircle.analysis.siting import (
    SitingProblem,
    demand_points,
    generate_candidates,
    parse_lonlat,
    read_candidates,
    site_node_distances,
    sites_from_lonlat,
)
from lifecircle.analysis.siting_models import LSCP, MCLP, Greedy, PMedian, marginal_gains
from lifecircle.geo.crs import gcj02_to_wgs84
from lifecircle.geo.network import WalkNetwork

X0, Y0 = 350_000.0, 3_460_000.0  # central Shanghai in EPSG:32651


# ----------------------------------------------------------------------------- helpers
def random_instance(seed: int, n_d: int = 14, n_c: int = 7):
    rng = np.random.default_rng(seed)
    D = rng.uniform(0.0, 100.0, (n_d, n_c)).round(1)
    w = rng.integers(0, 10, n_d).astype(float)
    return D, w


def brute_mclp(C, w, p, locked=()):
    free = [j for j in range(C.shape[1]) if j not in set(locked)]
    best = 0.0
    for S in itertools.combinations(free, min(p, len(free))):
        cols = list(S) + list(locked)
        best = max(best, float(w[C[:, cols].any(axis=1)].sum()) if cols else 0.0)
    return best


def brute_pmedian(D, w, p, locked=(), penalty=np.inf):
    free = [j for j in range(D.shape[1]) if j not in set(locked)]
    best = np.inf
    for S in itertools.combinations(free, min(p, len(free))):
        cols = list(S) + list(locked)
        best = min(best, float((w * np.minimum(D[:, cols].min(axis=1), penalty)).sum()))
    return best


def brute_lscp_k(C, w, target, locked=()):
    reach = C.any(axis=1)
    need = target * w[reach].sum() - 1e-9
    free = [j for j in range(C.shape[1]) if j not in set(locked)]
    for k in range(len(free) + 1):
        for S in itertools.combinations(free, k):
            cols = list(S) + list(locked)
            if (float(w[C[:, cols].any(axis=1)].sum()) if cols else 0.0) >= need:
                return k
    raise AssertionError("infeasible")


def line_network(n: int = 11, step: float = 100.0) -> WalkNetwork:
    """A straight street of ``n`` nodes ``step`` metres apart (node k at x = k*step)."""
    G = nx.MultiDiGraph(crs="EPSG:32651")
    for k in range(n):
        G.add_node(k + 1, x=X0 + step * k, y=Y0)
    for k in range(n - 1):
        G.add_edge(k + 1, k + 2, highway="residential")
    return WalkNetwork.from_graph(G)


def metric_points(xy, **cols) -> gpd.GeoDataFrame:
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    return gpd.GeoDataFrame(
        cols, geometry=gpd.points_from_xy(X0 + xy[:, 0], Y0 + xy[:, 1]), crs="EPSG:32651"
    )


@pytest.fixture(scope="module")
def line():
    return line_network()


@pytest.fixture
def line_problem(line):
    """Existing station at x=0; candidates at x=500, x=1000 and 30 m off the street at x=550."""
    dem = demand_points(line)
    ex = metric_points([(0, 0)], name=["现有站"])
    ca = metric_points([(500, 0), (1000, 0), (550, 30)], name=["c500", "c1000", "off550"])
    return SitingProblem.build(
        line, dem, candidates=ca, existing=ex, minutes=(5, 10, 15), profile="elderly"
    )


# ------------------------------------------------------------------ exact models vs brute force
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("lp_first", [True, False])
def test_mclp_equals_brute_force(seed, lp_first):
    D, w = random_instance(seed)
    C = D <= 35.0
    locked = [seed % 7] if seed % 2 else []
    for p in (1, 2, 3):
        res = MCLP.from_cost_matrix(D, w, 35.0, p, locked=locked).solve(lp_first=lp_first)
        assert res.status == "optimal"
        assert res.objective == pytest.approx(brute_mclp(C, w, p, locked))
        assert res.gap <= 1e-4
        assert len(res.sites) <= p
        assert not set(res.sites) & set(locked)
        # the objective is the weight of the demand the open sites cover
        cov = C[:, list(res.sites) + locked].any(axis=1)
        assert res.objective == pytest.approx(w[cov].sum())
        assert np.array_equal(res.covered, cov)


@pytest.mark.parametrize("seed", range(6))
def test_pmedian_equals_brute_force(seed):
    D, w = random_instance(seed)
    locked = [seed % 7] if seed % 2 else []
    for p in (1, 2, 3):
        res = PMedian.from_cost_matrix(D, w, p, locked=locked).solve()
        assert res.status == "optimal"
        assert res.objective == pytest.approx(brute_pmedian(D, w, p, locked))
        # every demand is assigned to its nearest open site
        open_ = list(res.sites) + locked
        nearest = np.asarray(open_)[np.argmin(D[:, open_], axis=1)]
        served = w > 0
        assert np.allclose(
            D[np.arange(len(w)), res.assignment][served], D[np.arange(len(w)), nearest][served]
        )


@pytest.mark.parametrize("seed", range(4))
def test_pmedian_cutoff_and_penalty(seed):
    """Pairs beyond the cutoff are not assignable; unserved demand pays the penalty."""
    dist, w = random_instance(seed)
    cut, pen = 40.0, 90.0
    S = sparse.csr_matrix(np.where(dist <= cut, dist, 0.0))  # stored entries = allowed pairs
    for p in (1, 2):
        res = PMedian.from_cost_matrix(S, w, p, cutoff=cut, penalty=pen).solve()
        expect = brute_pmedian(np.where(dist <= cut, dist, np.inf), w, p, penalty=pen)
        assert res.objective == pytest.approx(expect)
        unserved = res.assignment < 0
        assert np.allclose(res.cost[unserved], pen)
        assert res.stats["unserved_weight"] == pytest.approx(w[unserved].sum())


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("target", [1.0, 0.75])
def test_lscp_feasible_and_minimal(seed, target):
    D, w = random_instance(seed)
    C = D <= 30.0
    locked = [seed % 7] if seed % 3 == 0 else []
    res = LSCP.from_coverage(C, w, target=target, locked=locked).solve()
    assert res.status == "optimal"
    cols = list(res.sites) + locked
    reach = C.any(axis=1)
    covered = float(w[C[:, cols].any(axis=1)].sum()) if cols else 0.0
    assert covered >= target * w[reach].sum() - 1e-9  # feasible
    assert res.stats["target_met"]
    assert res.objective == len(res.sites) == brute_lscp_k(C, w, target, locked)  # minimal


def test_lscp_known_answer():
    # 4 demand points on a line; site j covers points j and j+1 (a 3-site chain)
    C = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]], dtype=bool)
    w = np.array([1.0, 1.0, 1.0, 1.0])
    assert LSCP.from_coverage(C, w).solve().objective == 2  # {0, 2}
    res = LSCP.from_coverage(C, w, locked=[1]).solve()  # site 1 open: still needs 0 and 2
    assert sorted(res.sites) == [0, 2]
    assert LSCP.from_coverage(C, w, target=0.5).solve().objective == 1


# -------------------------------------------------------------- unreachable demand and locked
def test_unreachable_demand_reported_models_still_solve():
    # demand 3 (weight 5) is reached by no site
    C = np.array([[1, 0, 0], [0, 1, 0], [0, 1, 1], [0, 0, 0]], dtype=bool)
    w = np.array([2.0, 3.0, 4.0, 5.0])
    m = MCLP.from_coverage(C, w, 3).solve()
    assert m.unreachable.tolist() == [3]
    assert m.objective == 9.0
    assert m.stats["unreachable_weight"] == 5.0
    ls = LSCP.from_coverage(C, w, target=1.0).solve()
    assert ls.status == "optimal" and ls.objective == 2  # {0, 1}; demand 3 left out of target
    assert ls.unreachable.tolist() == [3]
    assert ls.stats["reachable_weight"] == 9.0
    D = np.where(C, 10.0, np.inf)
    pm = PMedian.from_cost_matrix(D, w, 2, penalty=100.0).solve()
    assert pm.unreachable.tolist() == [3]
    assert pm.objective == pytest.approx(10.0 * 9.0 + 100.0 * 5.0)


def test_locked_sites_are_open_and_not_counted_in_p():
    # site 0 (locked) covers demand 0-1; sites 1 and 2 cover demand 1-2 and 3
    C = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=bool)
    w = np.array([10.0, 1.0, 1.0, 3.0])
    res = MCLP.from_coverage(C, w, 1, locked=[0]).solve()
    assert res.locked.tolist() == [0]
    assert res.sites.tolist() == [2]  # 3 beats 1 (demand 1 is already covered by site 0)
    assert res.objective == 14.0
    assert res.stats["locked_covered_weight"] == 11.0
    g = Greedy.from_coverage(C, w, 1, locked=[0]).solve()
    assert g.sites.tolist() == [2] and g.locked.tolist() == [0]
    D = np.where(C, 1.0, 50.0)
    pm = PMedian.from_cost_matrix(D, w, 1, locked=[0]).solve()
    assert 0 not in pm.sites and pm.locked.tolist() == [0]
    assert set(pm.assignment.tolist()) <= {0, int(pm.sites[0])}
    ls = LSCP.from_coverage(C, w, locked=[0]).solve()
    assert sorted(ls.sites.tolist()) == [1, 2]


def test_greedy_swap_fixes_plain_greedy():
    """Plain greedy takes the big central site first and gets 5 of 6; one swap reaches 6."""
    C = np.array(
        [
            [1, 1, 0],
            [1, 1, 0],
            [1, 0, 1],
            [1, 0, 1],  # site 0 covers 0-3
            [0, 1, 0],
            [0, 0, 1],  # site 1 covers 0, 1, 4; site 2 covers 2, 3, 5
        ],
        dtype=bool,
    )
    w = np.ones(6)
    plain = Greedy.from_coverage(C, w, 2).solve(swap=False)
    assert plain.sites[0] == 0 and plain.objective == 5.0
    swapped = Greedy.from_coverage(C, w, 2).solve(swap=True, ils=False)
    assert swapped.objective == 6.0 and sorted(swapped.sites.tolist()) == [1, 2]
    assert swapped.stats["swaps"] == 1
    assert MCLP.from_coverage(C, w, 2).solve().objective == 6.0
    # the heuristic's bound is a valid upper bound
    assert plain.bound >= 6.0


@pytest.mark.parametrize("seed", range(5))
def test_greedy_bounds_are_valid(seed):
    D, w = random_instance(seed, 20, 8)
    C = D <= 35.0
    g = Greedy.from_coverage(C, w, 2).solve()
    opt = brute_mclp(C, w, 2)
    assert g.objective <= opt + 1e-9 <= g.bound + 1e-9
    gm = Greedy.from_cost_matrix(D, w, 2).solve()
    optm = brute_pmedian(D, w, 2)
    assert gm.bound - 1e-6 <= optm <= gm.objective + 1e-6


def test_pmedian_swap_reaches_optimum():
    """Two pairs of homes (0, 1 and 10, 11 on a line) and a central site 4.8 from each home:
    greedy opens the centre first (19.2 beats 20) and is stuck at 10.6; one swap gives 2."""
    xs = np.array([0.0, 1.0, 10.0, 11.0])
    D = np.column_stack([np.abs(xs[:, None] - xs[None, :]), np.full(4, 4.8)])
    w = np.ones(4)
    plain = Greedy.from_cost_matrix(D, w, 2).solve(swap=False)
    assert plain.sites[0] == 4 and plain.objective == pytest.approx(10.6)
    best = Greedy.from_cost_matrix(D, w, 2).solve()
    assert best.objective == pytest.approx(2.0) and 4 not in best.sites
    assert PMedian.from_cost_matrix(D, w, 2).solve().objective == pytest.approx(2.0)


def test_marginal_gains_one_product():
    C = sparse.csr_matrix(np.array([[1, 0], [1, 1], [0, 1]], dtype=float))
    gains = marginal_gains(C, np.array([1.0, 2.0, 4.0]), np.array([False, True, False]))
    assert gains.tolist() == [1.0, 4.0]


# --------------------------------------------------------------------------------- spopt
@pytest.mark.parametrize("seed", range(3))
def test_objectives_equal_spopt(seed):
    pulp = pytest.importorskip("pulp")
    locate = pytest.importorskip("spopt.locate")
    D, w = random_instance(seed, 18, 7)
    solver = pulp.PULP_CBC_CMD(msg=False)
    locked = [1] if seed == 2 else []
    for p in (2, 3):
        sp = locate.MCLP.from_cost_matrix(
            D,
            w,
            service_radius=35.0,
            p_facilities=p + len(locked),
            predefined_facilities_arr=np.array(locked) if locked else None,
        )
        sp.solve(solver)
        ours = MCLP.from_cost_matrix(D, w, 35.0, p, locked=locked).solve()
        assert ours.objective == pytest.approx(sp.problem.objective.value())
        spm = locate.PMedian.from_cost_matrix(
            D,
            w,
            p_facilities=p + len(locked),
            predefined_facilities_arr=np.array(locked) if locked else None,
        )
        spm.solve(solver)
        ours_m = PMedian.from_cost_matrix(D, w, p, locked=locked).solve()
        assert ours_m.objective == pytest.approx(spm.problem.objective.value(), rel=1e-9)


# ------------------------------------------------------------------------ sparse searches
def test_site_node_distances_match_full_dijkstra_in_chunks():
    rng = np.random.default_rng(3)
    n = 60
    G = nx.gnm_random_graph(n, 150, seed=3)
    r, c = np.array(G.edges()).T
    wts = rng.uniform(20, 120, len(r))
    A = sparse.csr_matrix((np.r_[wts, wts], (np.r_[r, c], np.r_[c, r])), shape=(n, n))
    sites = np.arange(12)
    seed_node = np.r_[rng.choice(n, 12), rng.choice(n, 12)]
    seed_cost = rng.uniform(0, 30, 24)
    seed_site = np.r_[sites, sites]
    limit = 250.0
    M = site_node_distances(
        A, seed_site, seed_node, seed_cost, 12, limit, chunk_bytes=8 * (n + 12) * 5
    )  # 5 sites per chunk
    full = csgraph.dijkstra(A)
    expect = np.full((n, 12), np.inf)
    for s, v, cst in zip(seed_site, seed_node, seed_cost, strict=True):
        expect[:, s] = np.minimum(expect[:, s], cst + full[v])
    expect[expect > limit] = np.inf
    got = np.full((n, 12), np.inf)
    coo = M.tocoo()
    got[coo.row, coo.col] = coo.data
    assert np.allclose(got, expect)


def test_line_problem_distances(line_problem):
    prob = line_problem
    D = prob.dist.toarray()
    x = np.arange(11) * 100.0
    # existing station at x=0 (node 0): distances within 15 min (810 m)
    exp0 = np.where(x <= 810, np.maximum(x, 1e-9), 0.0)
    assert np.allclose(D[:, 0], exp0)
    assert np.allclose(D[:, 2], np.where(1000 - x <= 810, np.maximum(1000 - x, 1e-9), 0.0))
    # off-street candidate: 30 m snap + 50 m to the nodes at 500 and 600
    off = 30 + np.minimum(np.abs(x - 500) + 50, np.abs(x - 600) + 50)
    assert np.allclose(D[:, 3], np.where(off <= 810, off, 0.0))
    assert prob.sites["snap_m"].tolist() == pytest.approx([0.0, 0.0, 0.0, 30.0])
    assert prob.sites["reaches"].tolist() == [9, 11, 9, 11]
    # coverage within 5 min (270 m at 0.9 m/s)
    assert prob.threshold_m(5) == pytest.approx(270.0)
    assert prob.coverage(5)[:, 1].toarray().ravel().nonzero()[0].tolist() == [3, 4, 5, 6, 7]


def test_point_demand_walks_along_its_own_street(line):
    # a demand point and a candidate on the same street segment (500-600): 60 + 10 + 20 m
    dem = metric_points([(520, 10)], pop=[7.0], pop60=[3.0])
    cand = metric_points([(580, 20)])
    prob = SitingProblem.build(line, dem, candidates=cand, minutes=(5,))
    assert prob.dist[0, 0] == pytest.approx(90.0)


def test_unreachable_candidates_and_unsnapped_sites_reported(line):
    dem = demand_points(line)
    cand = metric_points([(100, 0), (100, 2000)], name=["ok", "far"])
    prob = SitingProblem.build(line, dem, candidates=cand, minutes=(5,))
    assert prob.sites["snapped"].tolist() == [True, False]
    reasons = [r.reason for r in prob.report.rejections]
    assert any("2000 m from the nearest walkable street" in r for r in reasons)
    assert any("离最近的可步行道路 2000 米" in r for r in reasons)
    # a candidate far along a long street reaches nobody within 5 minutes
    long = line_network(3, 1000.0)
    dem2 = demand_points(long).iloc[[0]]
    p2 = SitingProblem.build(long, dem2, candidates=metric_points([(2000, 0)]), minutes=(5,))
    assert p2.sites["reaches"].tolist() == [0]
    assert any("reaches no demand" in r.reason for r in p2.report.rejections)
    assert any("no site can serve them" in n for n in p2.report.notes)
    sel = p2.solve("mclp", p=1, minutes=5, weight="pop")
    assert sel.result.objective == 0.0 and sel.summary["unreachable_rows"] == 1


# ----------------------------------------------------------------------------- candidates
def test_generate_candidates_min_spacing(line):
    c = generate_candidates(line, spacing_m=250.0)
    # junction nodes first (degree 2), then the two ends; greedy thinning along the line
    assert c["node_idx"].tolist() == [1, 4, 7, 10]
    xy = line.xy[c["node_idx"].to_numpy()]
    d = np.linalg.norm(xy[:, None] - xy[None], axis=2)
    assert d[np.triu_indices(len(xy), 1)].min() >= 250.0
    assert c.crs.to_epsg() == 4326
    # restricted to parcels: only nodes within 50 m of the parcel around x = 500..700
    parcel = metric_points([(600, 80)]).buffer(100.0)
    cp = generate_candidates(line, spacing_m=0.0, parcels=parcel)
    assert cp["node_idx"].tolist() == [5, 6, 7]


def test_read_candidates_gcj02(fixtures_dir):
    gdf, rep = read_candidates(fixtures_dir / "siting_candidates_gcj02.csv", "gcj02")
    assert len(gdf) == 3 and rep.n_input == 4 and rep.balanced
    assert rep.rejections[0].row == 5  # spreadsheet row (header = row 1)
    lon, lat = gcj02_to_wgs84(
        [121.4322726, 121.4364665, 121.4385631], [31.2628282, 31.2628744, 31.2628972]
    )
    assert np.allclose(gdf.geometry.x, lon, atol=1e-9)
    assert np.allclose(gdf.geometry.y, lat, atol=1e-9)
    assert gdf["name"].tolist() == ["甲地块", "乙地块", "丙地块"]


def test_parse_and_proposed_sites():
    pts = parse_lonlat(["121.43,31.26", "121.44，31.27"])
    assert pts.tolist() == [[121.43, 31.26], [121.44, 31.27]]
    with pytest.raises(ValueError, match="site 1"):
        parse_lonlat(["31.26"])
    with pytest.raises(ValueError, match="out of range"):
        parse_lonlat(["300,31"])
    gdf = sites_from_lonlat(pts, "gcj02")
    lon, lat = gcj02_to_wgs84(pts[:, 0], pts[:, 1])
    assert np.allclose(gdf.geometry.x, lon) and gdf["name"].tolist() == ["新增站点1", "新增站点2"]


# --------------------------------------------------------------------------------- what-if
def test_what_if_gains_polygons_and_ranking(line_problem):
    prob = line_problem
    n_before = prob.n_sites
    wi = prob.what_if(metric_points([(1000, 0)]), weight="pop")
    t = wi.table.set_index("minutes")
    # 11 people (one per node); the station at x=0 covers 3 / 6 / 9 nodes within 5/10/15 min
    assert t["pop_before"].tolist() == [3.0, 6.0, 9.0]
    assert t["gain_pop"].tolist() == [3.0, 5.0, 2.0]
    assert t["gain_pp"].tolist() == pytest.approx([300 / 11, 500 / 11, 200 / 11])
    assert t["gain_pop60"].tolist() == [3.0, 5.0, 2.0]  # no age share: pop60 = pop
    assert wi.sites["gain_pop_10min"].tolist() == [5.0]
    # new areas: service area with the new station minus the existing one, beyond x = 540
    nc = wi.new_coverage.to_crs("EPSG:32651").set_index("minutes")
    assert (nc.area > 0).all()
    assert nc.bounds.loc[10.0, "minx"] >= X0 + 540.0 - 1e-6
    assert nc.bounds.loc[5.0, "minx"] >= X0 + 730.0 - 50.0 - 1e-6
    assert nc["gain_pop"].tolist() == [3.0, 5.0, 2.0]
    # ranking of all candidates after the addition (10 min = the largest gain first)
    r = wi.ranking
    assert len(r) == 3 and r["rank"].tolist() == [1, 2, 3]
    assert r.loc[r["name"] == "c1000", "gain_pop_10min"].item() == 0.0
    assert r.loc[r["name"] == "c500", "gain_pop_15min"].item() == 0.0
    assert r["gain_pop_15min"].max() == 0.0  # x=0 and x=1000 together reach every node
    assert prob.n_sites == n_before + 1


def test_what_if_at_existing_site_gains_nothing(line_problem):
    wi = line_problem.what_if(metric_points([(0, 0)]), weight="pop")
    assert (wi.table["gain_pop"] == 0).all()
    assert wi.new_coverage.to_crs("EPSG:32651").area.max() < 1.0


def test_solve_through_problem(line_problem):
    prob = line_problem
    sel = prob.solve("mclp", p=1, minutes=5, weight="pop")
    # 5 min = 270 m: the station at x=0 covers nodes 0-2; c500 adds 3-7 (5), c1000 8-10 (3),
    # off550 (30 m off the street) 4-7 (4)
    assert prob.sites.iloc[sel.result.sites]["name"].tolist() == ["c500"]
    assert sel.result.objective == 8.0 and sel.summary["share_after"] == pytest.approx(8 / 11)
    assert sel.table["gain_pop_5min"].tolist() == [5.0]
    assert sel.table["gain_pop_15min"].tolist() == [2.0]  # nodes 9 and 10
    assert sel.table["lon_gcj02"].iloc[0] > sel.table["lon"].iloc[0]  # GCJ-02 shift eastward
    ls = prob.solve("lscp", minutes=5, weight="pop", target=1.0)
    assert ls.result.objective == 2 and ls.summary["target_met"]  # c500 + c1000
    assert sorted(prob.sites.iloc[ls.result.sites]["name"]) == ["c1000", "c500"]
    pm = prob.solve("pmedian", p=1, weight="pop")
    gp = prob.solve("greedy-pmedian", p=1, weight="pop")
    assert pm.result.objective == pytest.approx(gp.result.objective)
    assert pm.summary["mean_minutes"] > 0
    gr = prob.solve("greedy", p=1, minutes=5, weight="pop")
    assert gr.result.objective == sel.result.objective


# ------------------------------------------------------------------------------ real data
@pytest.mark.realdata
def test_real_network_siting(shared_data):
    from lifecircle.geo.facilities import load_facilities
    from lifecircle.geo.network import load_network

    net = load_network(shared_data / "osm" / "jingan_huangpu_drive.osm")
    fac, _ = load_facilities(shared_data / "facilities" / "eldercare_shanghai_gcj02.csv", "gcj02")
    dem = demand_points(net, share60=0.3056)
    cands = generate_candidates(net, spacing_m=200.0)
    prob = SitingProblem.build(net, dem, candidates=cands, existing=fac)
    snapped = prob.sites["snapped"].to_numpy()
    # every facility is either used or reported (most of Shanghai is off this small network)
    n_ex = len(prob.existing_idx)
    assert n_ex == len(fac)
    assert (
        snapped[prob.existing_idx].sum()
        + sum(r.file == "eldercare_shanghai_gcj02.csv" for r in prob.report.rejections)
        == n_ex
    )
    exact = prob.solve("mclp", p=3, minutes=10, weight="pop60", time_limit=30)
    heur = prob.solve("greedy", p=3, minutes=10, weight="pop60")
    assert exact.result.status == "optimal"
    assert exact.result.objective >= heur.result.objective - 1e-9
    before = exact.summary["covered_before"]
    assert exact.result.objective == pytest.approx(before + exact.table["gain_pop60_10min"].sum())
    wi = prob.what_if(exact.result.sites, weight="pop60")
    assert wi.table.set_index("minutes").loc[10.0, "gain_pop60"] == pytest.approx(
        exact.table["gain_pop60_10min"].sum()
    )
    assert len(wi.ranking) == len(prob.candidate_idx)
    assert not wi.new_coverage.geometry.is_empty.any()


# ------------------------------------------------------------------------------------- CLI
def comb_network() -> WalkNetwork:
    """A main street (nodes every 100 m, x = 0..1000) with a 10 m side lane at each interior
    junction, so that loading with topology simplification keeps every junction."""
    G = nx.MultiDiGraph(crs="EPSG:32651")
    for k in range(11):
        G.add_node(k + 1, x=X0 + 100.0 * k, y=Y0)
    for k in range(10):
        G.add_edge(k + 1, k + 2, highway="residential")
    for k in range(1, 10):
        G.add_node(101 + k, x=X0 + 100.0 * k, y=Y0 + 10.0)
        G.add_edge(k + 1, 101 + k, highway="footway")
    return WalkNetwork.from_graph(G)


def test_cli_site_whatif_and_mclp(tmp_path, capsys):
    import pyogrio
    import shapely

    from lifecircle.geo.crs import wgs84_to_gcj02
    from lifecircle.geo.network import save_network
    from lifecircle.scripts.cli import main

    comb = comb_network()
    save_network(comb, tmp_path / "street.graphml")
    area = gpd.GeoDataFrame(
        {"name": ["测试街道"]},
        geometry=[shapely.box(X0 - 50, Y0 - 50, X0 + 1050, Y0 + 50)],
        crs="EPSG:32651",
    ).to_crs("EPSG:4326")
    area.to_file(tmp_path / "street.geojson", driver="GeoJSON")
    node = dict(zip(comb.node_ids.tolist(), comb.lonlat, strict=True))
    glon, glat = wgs84_to_gcj02(*node[1])  # the existing station sits at x = 0
    (tmp_path / "fac.csv").write_text(
        f"名称,类型,经度,纬度\n现有站,为老服务站,{glon:.8f},{glat:.8f}\n"
        "远处站,为老服务站,121.9,31.9\n",
        encoding="utf-8",
    )
    plon, plat = wgs84_to_gcj02(*node[11])  # proposed at x = 1000, picked on Amap
    out = tmp_path / "out"
    rc = main(
        [
            "site",
            "--network",
            str(tmp_path / "street.graphml"),
            "--boundaries",
            str(tmp_path / "street.geojson"),
            "--facilities",
            str(tmp_path / "fac.csv"),
            "--coords",
            "gcj02",
            "--category",
            "elder_care",
            "--minutes",
            "5",
            "--spacing",
            "250",
            "--add",
            f"{plon:.8f},{plat:.8f}",
            "--add-coords",
            "gcj02",
            "--new",
            "1",
            "--model",
            "mclp",
            "--weight",
            "pop",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    text = capsys.readouterr().out
    assert "假设新增 1 处拟建站点 A1" in text and "已证明最优" in text
    # no population: node counts, never people, no 60+ figure
    assert "个路网节点" in text and " 人" not in text and "60岁以上 " not in text
    assert "  A1 新增站点1" in text and "  1 候选点" in text
    sites = pd.read_csv(out / "sites.csv", encoding="utf-8-sig", dtype={"rank": str})
    assert sites["kind"].tolist() == ["proposed", "optimal"]
    assert sites["rank"].tolist() == ["A1", "1"]  # what-if points apart from the model's picks
    # 20 nodes weigh 1 each. Within 5 min (270 m) the station at x=0 reaches 5 of them, the
    # proposed one at x=1000 5 more; of the generated candidates (junctions at x = 100, 400,
    # 700, 1000: 250 m apart at least) the one at x=400 adds 8 (x=700: 6, x=100: 2)
    assert sites["gain_nodes_5min"].tolist() == [5, 8]
    assert not any(c.startswith(("gain_pop", "gain_pp")) for c in sites.columns)
    assert sites["weight"].tolist() == ["nodes", "nodes"]
    assert sites.loc[1, ["lon", "lat"]].tolist() == pytest.approx(
        node[5].tolist(), abs=5e-8
    )  # 7 decimals (1 cm) in CSV
    assert sites.loc[0, "lon_gcj02"] == pytest.approx(plon, abs=1e-7)
    assert sites.loc[1, "objective"] == 18 and sites.loc[1, "gap"] == 0.0
    layers = dict(pyogrio.list_layers(out / "sites.gpkg"))
    assert {"sites", "new_coverage", "candidates"} <= set(layers)
    rejected = pd.read_csv(out / "rejected.csv", encoding="utf-8-sig")
    assert rejected["row"].tolist() == [3]  # the station far away (Excel row 3) is reported
    ranking = pd.read_csv(out / "candidates.csv", encoding="utf-8-sig")
    # ranked after all new sites: only the junction at x=700 and its lane are left uncovered
    assert len(ranking) == 4 and ranking["gain_nodes_5min"].tolist() == [2, 0, 0, 0]
    assert ranking.loc[0, "lon"] == pytest.approx(node[8][0], abs=5e-8)


def test_cli_site_bad_input(tmp_path, line):
    from lifecircle.geo.network import save_network
    from lifecircle.scripts.cli import main

    save_network(line, tmp_path / "street.graphml")
    rc = main(
        [
            "site",
            "--network",
            str(tmp_path / "street.graphml"),
            "--add",
            "121.4",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert rc == 2
    rc = main(["site", "--network", str(tmp_path / "missing.graphml"), "--out", str(tmp_path)])
    assert rc == 2
