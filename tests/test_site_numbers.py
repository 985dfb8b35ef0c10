"""Sites numbered as planners read them; the map shows the siting's threshold (issue 8 §8)."""

from __future__ import annotations

import geopandas as gpd
from shapely.geometry import Point

from lifecircle.analysis.siting import site_kind
from lifecircle.maps.builder import build_map, overlay_summary


def _pts(xy, **cols):
    geoms = [Point(121.40 + dx * 1e-3, 31.25 + dy * 1e-3) for dx, dy in xy]
    return gpd.GeoDataFrame(cols, geometry=geoms, crs=4326)


def test_map_shows_new_coverage_at_the_siting_threshold_and_site_numbers():
    new_cov = gpd.GeoDataFrame(
        {"minutes": [5.0, 10.0, 15.0], "area_ha": [1.0, 2.0, 3.0], "gain_pop": [1.0, 2.0, 3.0]},
        geometry=[Point(121.40, 31.25).buffer(r * 1e-3) for r in (1, 2, 3)],
        crs=4326,
    )
    sites = _pts([(0, 0), (1, 1)], rank=["1", "2"], kind=["greedy"] * 2, minutes=[10.0] * 2)
    proposed = _pts([(2, 2)], rank=["A1"], kind=["proposed"], minutes=[10.0])
    m = build_map(sites=sites, proposed_sites=proposed, new_coverage=new_cov, basemap=None)
    nc = overlay_summary(m).query("kind == 'new_coverage'")
    assert nc.loc[nc["show"], "minutes"].tolist() == [10.0]  # not the largest (15)
    html = m.get_root().render()
    for no in ("A1", "1", "2"):  # the stars carry the numbers of sites.csv and the console
        assert f"\\u003e{no}\\u003c/text\\u003e" in html, no


def test_kind_never_calls_a_heuristic_optimal():
    assert site_kind("optimal") == "optimal"
    assert site_kind("heuristic") == "greedy"
    assert site_kind("time_limit") == "best_found"
