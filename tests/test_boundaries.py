"""Boundaries: files in any CRS, geometry repair and rejection, the street registry."""

from __future__ import annotations

import json
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from lifecircle.geo.boundaries import (
    BOUNDARY_COLUMNS,
    district_info,
    load_boundaries,
    registry_entry,
    street_registry,
)

E0, N0 = 350000.0, 3457000.0  # metres in EPSG:32651 (Putuo)


def _ring(pts):
    return [[E0 + x, N0 + y] for x, y in pts]


def _feature(props, geometry):
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _geojson_32651(tmp_path):
    """Five features in EPSG:32651 (metres): a 1 km² square, a bow-tie, an empty polygon,
    a point and a zero-area polygon."""
    square = [(0, 0), (1000, 0), (1000, 1000), (0, 1000), (0, 0)]
    bowtie = [(2000, 0), (3000, 1000), (3000, 0), (2000, 1000), (2000, 0)]
    flat = [(0, 2000), (500, 2000), (1000, 2000), (0, 2000)]
    features = [
        _feature(
            {"街道名称": "石泉路街道", "备注": "ok"},
            {"type": "Polygon", "coordinates": [_ring(square)]},
        ),
        _feature(
            {"街道名称": "甘泉路", "备注": "self-intersecting"},
            {"type": "Polygon", "coordinates": [_ring(bowtie)]},
        ),
        _feature({"街道名称": "空白", "备注": "empty"}, None),
        _feature({"街道名称": "某点", "备注": "point"}, {"type": "Point", "coordinates": [E0, N0]}),
        _feature(
            {"街道名称": "一条线", "备注": "zero area"},
            {"type": "Polygon", "coordinates": [_ring(flat)]},
        ),
    ]
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32651"}},
        "features": features,
    }
    path = tmp_path / "streets_utm.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def test_projected_geojson_repairs_rejects_and_fills_registry(tmp_path):
    path = _geojson_32651(tmp_path)
    gdf, rep = load_boundaries(path)
    assert list(gdf.columns) == [*BOUNDARY_COLUMNS, "geometry"]
    assert gdf.crs.to_epsg() == 4326
    assert rep.n_input == 5 and rep.n_loaded == 2 and rep.balanced
    assert gdf["name"].tolist() == ["石泉路街道", "甘泉路"]
    assert gdf["src_row"].tolist() == [1, 2]
    # codes and relations come from data/boundaries/streets.yaml (甘泉路 matches 甘泉路街道)
    assert gdf["code"].tolist() == ["310107017", "310107016"]
    assert gdf["osm_relation"].tolist() == [14187869, 14187870]
    # areas in the metric CRS: the square is 1 km², the repaired bow-tie two 0.25 km² triangles
    np.testing.assert_allclose(gdf["area_km2"], [1.0, 0.5], rtol=1e-6)
    assert gdf.geometry.is_valid.all()
    assert gdf.geometry.iloc[1].geom_type == "MultiPolygon"
    notes = " ".join(rep.notes)
    assert "row 2 (甘泉路): invalid geometry (Self-intersection" in notes
    assert "converted from EPSG:32651" in notes
    rej = {r.row: r for r in rep.rejections}
    assert sorted(rej) == [3, 4, 5]
    assert all(r.field == "geometry" and r.file == str(path) for r in rej.values())
    assert rej[3].reason == "empty or missing geometry"
    assert rej[4].reason == "not a polygon (Point)"
    assert "no area left after repair" in rej[5].reason


def test_shapefile_in_cgcs2000_and_without_prj(tmp_path):
    square = shapely.box(121.40, 31.23, 121.41, 31.24)
    gdf = gpd.GeoDataFrame(
        {"名称": ["曹杨新村街道"], "代码": [310107005]}, geometry=[square], crs="EPSG:4490"
    )
    gdf.to_file(tmp_path / "caoyang.shp", encoding="utf-8")
    out, rep = load_boundaries(tmp_path / "caoyang.shp")
    assert out["name"].tolist() == ["曹杨新村街道"] and out["code"].tolist() == ["310107005"]
    assert out["osm_relation"].tolist() == [14187873]
    assert "converted from EPSG:4490" in " ".join(rep.notes)
    # CGCS2000 and WGS84 agree to well under a metre: same coordinates
    assert out.geometry.iloc[0].normalize().equals_exact(square.normalize(), tolerance=1e-7)
    expect = gpd.GeoSeries([square], crs=4326).to_crs(32651).area.iloc[0] / 1e6
    assert out["area_km2"].iloc[0] == pytest.approx(expect, rel=1e-9)
    assert expect == pytest.approx(1.056, abs=0.001)  # 0.952 km (0.01° lon) x 1.109 km (lat)

    (tmp_path / "caoyang.prj").unlink()
    out2, rep2 = load_boundaries(tmp_path / "caoyang.shp")
    assert out2["area_km2"].iloc[0] == pytest.approx(expect, rel=1e-6)
    assert "declares no CRS" in " ".join(rep2.notes)

    gdf.to_crs(32651).to_file(tmp_path / "utm.shp", encoding="utf-8")
    (tmp_path / "utm.prj").unlink()
    with pytest.raises(ValueError, match=r"utm\.shp.*no CRS"):
        load_boundaries(tmp_path / "utm.shp")


def test_geopackage_layers_and_columns(tmp_path):
    path = tmp_path / "plan.gpkg"
    pts = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Point(121.4, 31.2)], crs=4326)
    pts.to_file(path, layer="pois")
    polys = gpd.GeoDataFrame(
        {"jd": ["石泉路街道", "试验区"], "dm": ["310107017", None]},
        geometry=[
            shapely.box(121.42, 31.24, 121.43, 31.25),
            shapely.box(121.43, 31.24, 121.44, 31.25),
        ],
        crs=4326,
    )
    polys.to_file(path, layer="streets")
    # the first polygon layer is chosen, and said so; no name column: rows named after the file
    out, rep = load_boundaries(path)
    assert len(out) == 2
    notes = " ".join(rep.notes)
    assert "read 'streets'" in notes and "no name column found" in notes
    assert out["name"].tolist() == ["plan #1", "plan #2"]
    # named columns
    out, rep = load_boundaries(path, layer="streets", name_col="jd", code_col="dm")
    assert out["name"].tolist() == ["石泉路街道", "试验区"]
    assert out["code"].tolist() == ["310107017", None]
    assert out["osm_relation"].isna().tolist() == [False, True]
    assert not any("layers" in n for n in rep.notes)
    with pytest.raises(ValueError, match=r"plan\.gpkg: 没有名称列 \(no name column\) '街道'"):
        load_boundaries(path, layer="streets", name_col="街道")
    with pytest.raises(FileNotFoundError, match="missing.geojson"):
        load_boundaries(tmp_path / "missing.geojson")
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.geojson: cannot read boundaries"):
        load_boundaries(bad)


@pytest.mark.realdata
def test_putuo_district_epsg4490(shared_data):
    path = shared_data / "boundaries" / "putuo_district.geojson"
    gdf, rep = load_boundaries(path)
    assert rep.n_input == 1 and rep.n_loaded == 1 and not rep.rejections
    row = gdf.iloc[0]
    assert row["name"] == "普陀区" and row["code"] == "310107"  # 县名 / 县代码 310107.0
    assert pd.isna(row["osm_relation"])
    assert row["area_km2"] == pytest.approx(54.52, abs=0.01)  # the README's ≈ 54.5 km²
    assert gdf.crs.to_epsg() == 4326
    assert "converted from EPSG:4490" in " ".join(rep.notes)
    raw = gpd.read_file(path)
    assert gdf.geometry.iloc[0].equals_exact(raw.geometry.iloc[0], tolerance=1e-9)


@pytest.mark.realdata
def test_shanghai_districts(shared_data):
    gdf, rep = load_boundaries(shared_data / "boundaries" / "shanghai_districts.geojson")
    assert rep.n_loaded == 16 and rep.balanced
    assert gdf["name"].is_unique and len(gdf) == 16
    codes = dict(zip(gdf["name"], gdf["code"], strict=True))
    assert codes["普陀区"] == "310107" and codes["浦东新区"] == "310115"
    area = dict(zip(gdf["name"], gdf["area_km2"], strict=True))
    assert area["普陀区"] == pytest.approx(54.52, abs=0.01)
    # the simplified outlines take in water (Shanghai's official land area is 6,340.5 km²)
    assert gdf["area_km2"].sum() == pytest.approx(7205.07, abs=0.1)


def test_street_registry_figures():
    reg = street_registry().set_index("name")
    sq = reg.loc["石泉路街道"]
    assert sq["osm_relation"] == 14187869 and sq["code"] == "310107017"
    assert sq["area_km2"] == 3.53 and sq["population"] == 96200
    assert sq["share60"] == pytest.approx(0.4461)
    assert sq["district"] == "普陀区" and sq["district_code"] == "310107"
    assert sq["verified"]
    assert (reg.loc["甘泉路街道", "osm_relation"], reg.loc["甘泉路街道", "code"]) == (
        14187870,
        "310107016",
    )
    assert (reg.loc["曹杨新村街道", "osm_relation"], reg.loc["曹杨新村街道", "code"]) == (
        14187873,
        "310107005",
    )
    # what a plan does not state stays missing
    assert math.isnan(reg.loc["甘泉路街道", "population"])
    assert reg.loc["甘泉路街道", "plan_facts"]["coverage_15min"]["health"] == 0.98
    assert not reg.loc["长寿路街道", "verified"]
    assert district_info() == {"name": "普陀区", "code": "310107"}


def test_registry_entry_lookups():
    assert registry_entry("石泉路")["osm_relation"] == 14187869
    assert registry_entry("石泉路街道")["code"] == "310107017"
    assert registry_entry("R14187870")["name"] == "甘泉路街道"
    assert registry_entry(14187873)["name"] == "曹杨新村街道"
    assert registry_entry("310107005")["name"] == "曹杨新村街道"
    assert registry_entry("外滩街道") is None
