"""Coverage tables: polygons reprojected to WGS84 in chunks and threads, repaired where invalid."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from lifecircle.analysis.coverage import _balanced_chunks, _to_wgs84

UTM = "EPSG:32651"
X0, Y0 = 350_000.0, 3_450_000.0


@pytest.fixture(scope="module")
def polygons() -> gpd.GeoDataFrame:
    """300 buffered random walks (rings of different sizes), a bowtie and a missing geometry."""
    rng = np.random.default_rng(3)
    steps = rng.normal(0, 40, (300, 12, 2)).cumsum(axis=1) + rng.random((300, 1, 2)) * 5000
    lines = shapely.linestrings(steps + [X0, Y0])
    geoms = list(shapely.buffer(lines, rng.uniform(5, 60, 300), quad_segs=4))
    bowtie = shapely.Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100)])
    geoms += [bowtie, None]
    return gpd.GeoDataFrame({"k": np.arange(len(geoms))}, geometry=geoms, crs=UTM)


@pytest.mark.parametrize("n_jobs", [1, 2, 3])
def test_to_wgs84_same_vertices_as_to_crs_and_repairs(polygons, n_jobs):
    got = _to_wgs84(polygons, n_jobs=n_jobs)
    want = polygons.to_crs(4326)
    assert got.crs.equals(want.crs) and list(got.columns) == list(want.columns)
    assert (got["k"] == want["k"]).all()
    g, w = np.asarray(got.geometry.values), np.asarray(want.geometry.values)
    # every valid polygon: exactly the vertices geopandas gives
    for a, b in zip(g[:300], w[:300], strict=True):
        assert shapely.to_wkb(a) == shapely.to_wkb(b)
    # the bowtie is repaired into its two triangles (each a quarter of the 100 m square)
    assert not shapely.is_valid(w[300]) and shapely.is_valid(g[300])
    assert g[300].geom_type == "MultiPolygon" and len(g[300].geoms) == 2
    metric = gpd.GeoSeries([g[300]], crs=4326).to_crs(UTM).area.iloc[0]
    assert metric == pytest.approx(5000.0, rel=1e-6)
    assert g[301] is None


def test_balanced_chunks_split_rows_by_vertices(polygons):
    geoms = np.asarray(polygons.geometry.values)
    chunks = _balanced_chunks(geoms, 4)
    assert sum(len(c) for c in chunks) == len(geoms)
    assert all(np.array_equal(a, b) for a, b in zip(np.concatenate(chunks), geoms, strict=True))
    n = [int(shapely.get_num_coordinates(c).sum()) for c in chunks]
    assert len(chunks) == 4 and max(n) < 0.4 * sum(n)
    assert len(_balanced_chunks(geoms[:1], 4)) == 1
