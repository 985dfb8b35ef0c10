"""Buildings and 居民区 downloaded through osmnx from the local fake Overpass (no internet)."""

from __future__ import annotations

import numpy as np
import pytest
from test_online import boundary, fake_osm  # noqa: F401 (shared fixtures)

from lifecircle.geo.buildings import buildings_from_osm
from lifecircle.geo.compounds import compounds_from_osm


def test_buildings_from_osm_floor_area_and_cache(fake_osm, boundary):  # noqa: F811
    blds, rep = buildings_from_osm(boundary, buffer_m=100)
    assert rep.n_loaded == 3 and rep.balanced
    by_name = blds.set_index(blds["name"].fillna("—"))
    # 40 × 20 m × 6 storeys; 30 × 30 m × (15 m / 3 m); the shop holds no homes
    assert by_name.loc["兰田新村1号楼", "floor_area_m2"] == pytest.approx(4800, rel=0.01)
    assert by_name.loc["—", "levels"] == 5 and by_name.loc["—", "levels_source"] == "height"
    assert by_name.loc["—", "floor_area_m2"] == pytest.approx(4500, rel=0.01)
    assert by_name.loc["兰田商场", "floor_area_m2"] == 0
    assert not by_name.loc["兰田商场", "residential"]
    n = fake_osm.count("interpreter")
    assert n == 1
    buildings_from_osm(boundary, buffer_m=100)  # the same request again: from the cache
    assert fake_osm.count("interpreter") == n


def test_compounds_from_osm_named_only(fake_osm, boundary):  # noqa: F811
    comp, rep = compounds_from_osm(boundary)
    assert list(comp["name"]) == ["兰田新村"] and rep.n_rejected == 1
    assert "no name" in rep.rejections[0].reason
    area = comp.to_crs(32651).area.iloc[0]
    assert area == pytest.approx(180 * 130, rel=0.01)
    comp, rep = compounds_from_osm(boundary, keep_unnamed=True)
    assert sorted(comp["name"]) == ["兰田新村", "未命名居民区 1"]
    assert np.isnan(comp["population"]).all()
