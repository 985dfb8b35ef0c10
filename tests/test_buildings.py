"""Buildings, residential floor area and dasymetric population on hand-computed cases."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from lifecircle.geo.buildings import FloorAreaRule, buildings_from_features, load_buildings
from lifecircle.geo.dasymetric import (
    age_population,
    building_demand,
    dasymetric_population,
    floor_area_table,
)

UTM = "EPSG:32651"
X0, Y0 = 350_000.0, 3_450_000.0


def _box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def footprints() -> gpd.GeoDataFrame:
    """A: 20×10 m, 6 storeys (1200 m²); B: 20×10 m across x=100, height 12 m → 4 storeys
    (800 m²); C: 10×10 m, no storeys → default 6 (600 m²); D an office, E a school (0);
    F a building node (rejected)."""
    return gpd.GeoDataFrame(
        {
            "name": ["A", "B", "C", "D", "E", "F"],
            "building": ["apartments", "yes", "yes", "office", "yes", "yes"],
            "building:levels": ["6", None, None, "10", "3", None],
            "height": [None, "12 m", None, None, None, None],
            "amenity": [None, None, None, None, "school", None],
        },
        geometry=[
            _box(40, 40, 60, 50),
            _box(90, 40, 110, 50),
            _box(150, 40, 160, 50),
            _box(40, 70, 60, 80),
            _box(150, 70, 160, 80),
            shapely.Point(X0 + 5, Y0 + 5),
        ],
        crs=UTM,
    )


@pytest.fixture
def blds():
    out, rep = buildings_from_features(footprints(), source="test")
    assert rep.n_input == 6 and rep.n_loaded == 5 and rep.balanced
    assert rep.rejections[0].row == 6 and "not a polygon" in rep.rejections[0].reason
    return out


def test_floor_area_rule(blds):
    assert blds.crs.to_epsg() == 4326
    assert list(blds["name"]) == ["A", "B", "C", "D", "E"]
    assert list(blds["residential"]) == [True, True, True, False, False]
    assert list(blds["levels_source"]) == [
        "building:levels", "height", "default", "building:levels", "building:levels",
    ]  # fmt: skip
    np.testing.assert_allclose(blds["levels"], [6, 4, 6, 10, 3])
    np.testing.assert_allclose(blds["footprint_m2"], [200, 200, 100, 200, 100], rtol=1e-6)
    np.testing.assert_allclose(blds["floor_area_m2"], [1200, 800, 600, 0, 0], rtol=1e-6)


def test_rule_parameters_and_use_column():
    rule = FloorAreaRule(default_levels=3, storey_height_m=4.0, unknown_is_residential=False)
    out, _ = buildings_from_features(footprints(), rule)
    # B: 12 m / 4 m = 3 storeys, but building=yes is not housing under this rule
    np.testing.assert_allclose(out["levels"], [6, 3, 3, 10, 3])
    np.testing.assert_allclose(out["floor_area_m2"], [1200, 0, 0, 0, 0], rtol=1e-6)
    assert "3 层" in rule.describe() and "不计" in rule.describe()
    fp = footprints().iloc[:5].assign(用途=["住宅", "商业", "居住", "住宅", "办公"])
    out, _ = buildings_from_features(fp, use_col="用途", levels_col="building:levels")
    assert list(out["residential"]) == [True, False, True, True, False]
    with pytest.raises(ValueError, match="default_levels"):
        FloorAreaRule(default_levels=0)


def test_load_buildings_from_a_file(tmp_path):
    path = tmp_path / "b.gpkg"
    footprints().iloc[:5].rename(columns={"building:levels": "层数"}).to_file(path)
    out, rep = load_buildings(path, levels_col="层数")
    assert rep.n_loaded == 5
    np.testing.assert_allclose(out["floor_area_m2"], [1200, 800, 600, 0, 0], rtol=1e-6)
    with pytest.raises(FileNotFoundError):
        load_buildings(tmp_path / "none.gpkg")


def test_street_total_is_conserved(blds):
    pop = dasymetric_population(blds, total=96_200)
    assert pop.sum() == pytest.approx(96_200, rel=1e-12)
    np.testing.assert_allclose(pop, 96_200 * np.array([1200, 800, 600, 0, 0]) / 2600, rtol=1e-9)
    with pytest.raises(ValueError, match="exactly one"):
        dasymetric_population(blds)
    # no control total: an assumed 40 m² per resident
    np.testing.assert_allclose(
        dasymetric_population(blds, m2_per_person=40.0), [30, 20, 15, 0, 0], rtol=1e-6
    )


def cells() -> gpd.GeoDataFrame:
    """Three 100 m cells side by side: 1000, 300 and 50 persons; the third has no building."""
    return gpd.GeoDataFrame(
        {"pop": [1000.0, 300.0, 50.0]},
        geometry=[_box(0, 0, 100, 100), _box(100, 0, 200, 100), _box(200, 0, 300, 100)],
        crs=UTM,
    ).to_crs(4326)


def test_grid_cells_to_buildings_by_floor_area(blds):
    table = floor_area_table(cells(), blds, UTM)
    # B lies half in each cell: 400 m² of floor area on each side
    np.testing.assert_allclose(
        table.toarray(), [[1200, 400, 0, 0, 0], [0, 400, 600, 0, 0], [0, 0, 0, 0, 0]], rtol=1e-6
    )
    from lifecircle.geo.report import LoadReport

    rep = LoadReport("t")
    pop = dasymetric_population(blds, population=cells(), report=rep)
    # cell 1: 1000 × 1200/1600 = 750 to A, 250 to B; cell 2: 300 × 400/1000 = 120 to B,
    # 180 to C; cell 3 has no housing: its 50 go to the nearest residential building, C
    np.testing.assert_allclose(pop, [750, 370, 230, 0, 0], rtol=1e-6)
    assert pop.sum() == pytest.approx(1350, rel=1e-12)
    assert rep.stats["pop_to_nearest"] == 50 and rep.stats["cells_without_buildings"] == 1
    assert "最近的住宅建筑" in rep.notes[0]


def test_study_area_cuts_cells_by_area_share(blds):
    from lifecircle.geo.report import LoadReport

    area = gpd.GeoDataFrame(geometry=[_box(0, 0, 250, 100)], crs=UTM)
    rep = LoadReport("t")
    pop = dasymetric_population(blds, population=cells(), area=area, report=rep)
    np.testing.assert_allclose(pop, [750, 370, 205, 0, 0], rtol=1e-6)
    assert rep.stats["pop_outside_area"] == pytest.approx(25)
    assert rep.stats["total_out"] == pytest.approx(1325, rel=1e-9)
    # conserved: what is inside the area all lands on buildings
    kept = rep.stats["total_in"] - rep.stats["pop_outside_area"]
    assert rep.stats["total_out"] == pytest.approx(kept, rel=1e-12)


def test_age_shares_district_and_compound(blds):
    pop = np.array([750.0, 370.0, 230.0, 0.0, 0.0])
    compound = gpd.GeoDataFrame(
        {"name": ["甲小区"], "share60": [0.5]}, geometry=[_box(0, 0, 80, 100)], crs=UTM
    )
    pop60 = age_population(pop, blds, share60=0.3056, compounds=compound)
    np.testing.assert_allclose(pop60, [375, 370 * 0.3056, 230 * 0.3056, 0, 0])
    assert np.isnan(age_population(pop, blds)[0])
    demand = building_demand(blds, pop, pop60)
    assert list(demand["name"]) == ["A", "B", "C"]  # non-residential buildings hold nobody
    assert demand.crs.to_epsg() == 4326 and demand.attrs["demand_basis"] == "buildings"
    inside = demand.to_crs(UTM).geometry.within(
        blds.to_crs(UTM).geometry.iloc[:3].reset_index(drop=True)
    )
    assert inside.all()
