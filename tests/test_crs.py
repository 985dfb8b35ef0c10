"""geo.crs: WGS84 ⇄ GCJ-02 ⇄ BD-09, declared systems, GeoDataFrame helpers."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
from shapely.geometry import Point, Polygon

from lifecircle.geo import crs as C

# Shanghai's extent (all 16 districts) and the metric CRS the errors are measured in.
LON = (120.85, 122.2)
LAT = (30.67, 31.88)
UTM51 = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32651", always_xy=True)


def metres(lon_a, lat_a, lon_b, lat_b) -> np.ndarray:
    """Distance in metres between lon/lat points, measured in EPSG:32651 (never in degrees)."""
    xa, ya = UTM51.transform(np.asarray(lon_a), np.asarray(lat_a))
    xb, yb = UTM51.transform(np.asarray(lon_b), np.asarray(lat_b))
    return np.hypot(np.asarray(xa) - xb, np.asarray(ya) - yb)


@pytest.fixture(scope="module")
def shanghai_grid():
    """301 × 301 WGS84 points (≈ 450 m × 400 m spacing) over all of Shanghai."""
    lon, lat = np.meshgrid(np.linspace(*LON, 301), np.linspace(*LAT, 301))
    return lon.ravel(), lat.ravel()


# --------------------------------------------------------------------------- GCJ-02 inverse
def test_gcj02_inverse_under_half_a_metre_everywhere_in_shanghai(shanghai_grid):
    lon, lat = shanghai_grid
    glon, glat = C.wgs84_to_gcj02(lon, lat)  # the public forward transform
    wlon, wlat = C.gcj02_to_wgs84(glon, glat)
    err = metres(lon, lat, wlon, wlat)
    assert err.max() < 0.5
    assert err.max() < 0.001  # in fact: the fixed-point iteration converges to < 1 mm
    # the test is sensitive: the naive inverse g - delta(g) is metres off
    nlon, nlat = C.gcj02_to_wgs84(glon, glat, max_iter=0)
    assert metres(lon, lat, nlon, nlat).max() > 1.0


def test_gcj02_inverse_then_forward_returns_the_input(shanghai_grid):
    glon, glat = shanghai_grid  # read the same grid as GCJ-02 coordinates
    back = C.wgs84_to_gcj02(*C.gcj02_to_wgs84(glon, glat))
    assert metres(glon, glat, *back).max() < 0.001


def test_shift_magnitude_in_shanghai(shanghai_grid):
    lon, lat = shanghai_grid
    shift = metres(lon, lat, *C.wgs84_to_gcj02(lon, lat))
    assert shift.min() > 300 and shift.max() < 700
    # measured: 456–501 m over the whole city
    assert 440 < shift.min() < 470 and 490 < shift.max() < 510


def test_published_reference_values():
    # wandergis/coordtransform's README/test pairs at (116.404, 39.915), Beijing
    assert np.allclose(
        C.wgs84_to_gcj02(116.404, 39.915), (116.41024449916938, 39.91640428150164), atol=1e-9
    )
    assert np.allclose(
        C.gcj02_to_bd09(116.404, 39.915), (116.41036949371029, 39.92133699351021), atol=1e-9
    )
    # their inverses are one-step approximations; ours are exact to the forward transform, so
    # they agree to centimetres, not to the last digit
    assert metres(*C.bd09_to_gcj02(116.404, 39.915), 116.39762729119315, 39.90865673957631) < 0.1
    ours = C.gcj02_to_wgs84(116.404, 39.915)
    theirs = (116.39775550083061, 39.91359571849836)
    assert metres(*ours, *theirs) < 0.1
    assert metres(*C.wgs84_to_gcj02(*ours), 116.404, 39.915) < metres(
        *C.wgs84_to_gcj02(*theirs), 116.404, 39.915
    )
    # a published Shanghai-area triple (Jinshan, 121.09°E 30.61°N)
    w = (121.0917077, 30.6107779)
    assert metres(*C.wgs84_to_gcj02(*w), 121.09626935575027, 30.608604331756705) < 0.05
    assert metres(*C.wgs84_to_bd09(*w), 121.10271732371203, 30.61484572185035) < 0.05


# --------------------------------------------------------------------------- BD-09
def test_bd09_round_trips(shanghai_grid):
    lon, lat = shanghai_grid
    glon, glat = C.wgs84_to_gcj02(lon, lat)
    assert metres(glon, glat, *C.bd09_to_gcj02(*C.gcj02_to_bd09(glon, glat))).max() < 0.01
    assert metres(lon, lat, *C.bd09_to_wgs84(*C.wgs84_to_bd09(lon, lat))).max() < 0.01
    # BD-09 is GCJ-02 moved a further ~ 0.0065° E, 0.006° N: 880–940 m in Shanghai
    d = metres(glon, glat, *C.gcj02_to_bd09(glon, glat))
    assert d.min() > 850 and d.max() < 950


def test_vectorised_shapes_and_types():
    lon, lat = C.gcj02_to_wgs84([121.4, 121.5], [31.2, 31.3])
    assert isinstance(lon, np.ndarray) and lon.shape == (2,) and lat.shape == (2,)
    lon, lat = C.wgs84_to_gcj02(121.4, 31.2)
    assert np.ndim(lon) == 0
    empty = C.gcj02_to_wgs84([], [])
    assert empty[0].size == 0
    with pytest.raises(ValueError, match="shape"):
        C.wgs84_to_gcj02([1, 2], [1])
    # a missing value stays missing and does not spoil its neighbours
    lon, lat = C.gcj02_to_wgs84([np.nan, 121.4], [31.2, 31.2])
    assert np.isnan(lon[0]) and np.isfinite(lon[1])


# --------------------------------------------------------------------------- outside China
@pytest.mark.parametrize(
    "lon,lat",
    [(24.94, 60.17), (-74.0, 40.7), (139.69, 35.69), (2.35, 48.85), (151.2, -33.87)],
    ids=["helsinki", "new_york", "tokyo", "paris", "sydney"],
)
def test_points_outside_china_are_unshifted(lon, lat):
    assert C.out_of_china(lon, lat)
    for func in (C.wgs84_to_gcj02, C.gcj02_to_wgs84):
        assert func(lon, lat) == (lon, lat)
    mixed = C.wgs84_to_gcj02([lon, 121.4], [lat, 31.2])
    assert mixed[0][0] == lon and mixed[0][1] != 121.4


@pytest.mark.parametrize(
    ("lon", "lat", "inside"),
    [
        (126.98, 37.57, False),  # Seoul
        (105.85, 21.03, False),  # Hanoi
        (106.92, 47.92, False),  # Ulaanbaatar
        (121.56, 25.03, False),  # Taipei
        (121.47, 31.23, True),  # Shanghai
        (114.17, 22.30, True),  # Hong Kong
        (87.62, 43.83, True),  # Urumqi
        (126.63, 45.75, True),  # Harbin
    ],
)
def test_china_outline(lon, lat, inside):
    assert bool(C.out_of_china(lon, lat)) is (not inside)
    shifted = C.wgs84_to_gcj02(lon, lat)
    assert (shifted != (lon, lat)) if inside else (shifted == (lon, lat))


def test_nan_does_not_stall_inverse():
    lon, lat = C.gcj02_to_wgs84([121.47, np.nan], [31.23, 31.2])
    assert np.isnan(lon[1]) and abs(lon[0] - 121.4654) < 1e-3


# --------------------------------------------------------------------------- declared systems
@pytest.mark.parametrize(
    "text,expected",
    [
        ("WGS84", "wgs84"),
        ("wgs-84", "wgs84"),
        ("EPSG:4326", "wgs84"),
        (4326, "wgs84"),
        (pyproj.CRS.from_epsg(4326), "wgs84"),
        ("GCJ-02", "gcj02"),
        ("gcj", "gcj02"),
        (" gcj_02 ", "gcj02"),
        ("Amap", "gcj02"),
        ("gaode", "gcj02"),
        ("BD-09", "bd09"),
        ("baidu", "bd09"),
        ("bd09ll", "bd09"),
        ("epsg:32651", "EPSG:32651"),
        ("EPSG:4490", "EPSG:4490"),
        (4490, "EPSG:4490"),
        (pyproj.CRS.from_epsg(4490), "EPSG:4490"),
    ],
)
def test_normalize_coords_spellings(text, expected):
    assert C.normalize_coords(text) == expected


@pytest.mark.parametrize("text", ["foo", "EPSG:999999", "mercator", ""])
def test_normalize_coords_rejects_unknown(text):
    with pytest.raises(ValueError):
        C.normalize_coords(text)


def test_convert_lonlat_between_all_systems():
    lon, lat = np.array([121.40, 121.45]), np.array([31.22, 31.25])
    g = C.convert_lonlat(lon, lat, "wgs84", "gcj02")
    assert np.allclose(g, C.wgs84_to_gcj02(lon, lat))
    b = C.convert_lonlat(*g, "gcj02", "bd09")
    assert np.allclose(b, C.gcj02_to_bd09(*g))
    assert metres(lon, lat, *C.convert_lonlat(*b, "baidu", 4326)).max() < 0.01
    # EPSG goes through pyproj, x first
    x, y = C.convert_lonlat(lon, lat, "wgs84", "EPSG:32651")
    ex, ey = UTM51.transform(lon, lat)
    assert np.allclose(x, ex) and np.allclose(y, ey) and x[0] > 300_000 and y[0] > 3_000_000
    assert np.allclose(C.convert_lonlat(x, y, 32651, "wgs84"), (lon, lat))
    # UTM metres → GCJ-02 in one call
    assert np.allclose(C.convert_lonlat(x, y, 32651, "gcj02"), g)


def test_points_to_wgs84_keeps_source_coordinates():
    gdf = C.points_to_wgs84([121.4, 121.5], [31.2, 31.3], "gcj02", name=["a", "b"])
    assert gdf.crs.to_epsg() == 4326
    assert list(gdf["src_x"]) == [121.4, 121.5] and list(gdf["name"]) == ["a", "b"]
    wlon, wlat = C.gcj02_to_wgs84([121.4, 121.5], [31.2, 31.3])
    assert np.allclose(gdf.geometry.x, wlon) and np.allclose(gdf.geometry.y, wlat)


# --------------------------------------------------------------------------- GeoDataFrames
def test_to_wgs84_with_gcj02_points_and_polygons():
    square = Polygon([(121.40, 31.20), (121.41, 31.20), (121.41, 31.21), (121.40, 31.21)])
    gdf = gpd.GeoDataFrame({"k": [1, 2]}, geometry=[Point(121.4, 31.2), square], crs=4326)
    out = C.to_wgs84(gdf, "gcj02")
    assert out.crs.to_epsg() == 4326 and list(out["k"]) == [1, 2]
    assert gdf.geometry[0].x == 121.4  # input untouched
    wlon, wlat = C.gcj02_to_wgs84(121.4, 31.2)
    assert out.geometry[0].x == pytest.approx(wlon, abs=1e-12)
    ring = np.asarray(out.geometry[1].exterior.coords)
    exp = np.column_stack(C.gcj02_to_wgs84(*np.asarray(square.exterior.coords).T))
    assert np.allclose(ring, exp, atol=1e-12)
    # the shift is the GCJ-02 one: ~ 460–500 m
    assert 440 < metres(121.4, 31.2, wlon, wlat) < 510


def test_to_wgs84_from_epsg_and_without_crs():
    x, y = UTM51.transform(121.4, 31.2)
    utm = gpd.GeoDataFrame(geometry=[Point(x, y)], crs=32651)
    out = C.to_wgs84(utm)
    assert out.crs.to_epsg() == 4326
    assert (out.geometry[0].x, out.geometry[0].y) == pytest.approx((121.4, 31.2), abs=1e-9)
    bare = gpd.GeoDataFrame(geometry=[Point(121.4, 31.2)])
    assert C.to_wgs84(bare).crs.to_epsg() == 4326
    cgcs = gpd.GeoDataFrame(geometry=[Point(121.4, 31.2)], crs=4490)
    assert C.to_wgs84(cgcs).geometry[0].distance(Point(121.4, 31.2)) < 1e-6


def test_gdf_from_wgs84_round_trip():
    wgs = gpd.GeoDataFrame(geometry=[Point(121.4, 31.2), Point(121.5, 31.3)], crs=4326)
    gcj = C.gdf_from_wgs84(wgs, "gcj02")
    assert gcj.crs.to_epsg() == 4326  # no EPSG code for GCJ-02: stays labelled 4326
    assert np.allclose(gcj.geometry.x, C.wgs84_to_gcj02([121.4, 121.5], [31.2, 31.3])[0])
    back = C.to_wgs84(gcj, "gcj02")
    assert metres(wgs.geometry.x, wgs.geometry.y, back.geometry.x, back.geometry.y).max() < 0.001
    bd = C.gdf_from_wgs84(wgs.to_crs(32651), "bd09")  # projected input is brought to WGS84 first
    assert np.allclose(bd.geometry.x, C.wgs84_to_bd09([121.4, 121.5], [31.2, 31.3])[0])
    assert C.gdf_from_wgs84(wgs, "wgs84").geometry.equals(wgs.geometry)


def test_metric_crs_for():
    sh = gpd.GeoDataFrame(geometry=[Point(121.4, 31.2)], crs=4326)
    assert C.metric_crs_for(sh).to_epsg() == 32651
    assert C.metric_crs_for(sh.to_crs(3857)).to_epsg() == 32651
    hel = gpd.GeoDataFrame(geometry=[Point(24.94, 60.17)], crs=4326)
    assert C.metric_crs_for(hel).to_epsg() == 32635
    assert C.metric_crs_for((121.4, 31.2)).to_epsg() == 32651
    assert C.metric_crs_for((151.2, -33.87)).to_epsg() == 32756
    assert C.to_metric(sh).crs.to_epsg() == 32651
    with pytest.raises(ValueError):
        C.metric_crs_for(gpd.GeoDataFrame(geometry=[], crs=4326))
