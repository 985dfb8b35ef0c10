"""The online path (osmnx → Overpass/Nominatim) against a local fake server; no internet.

The fixture neighbourhood and its hand-computed walking network are described in
``tests/fakeosm.py``. Summary: 14 street nodes and 18 two-way segments, 2800 m of street, after
the walk filter (cycleway, private road), the removal of the elevated road and its ramp (3 nodes)
and of a 3-node island; simplified: 11 nodes, 15 streets. Within the bare boundary (buffer 0):
12 nodes, 2350 m (石泉路's western 300 m and 交通路's 150 m lie outside); simplified 9 nodes.
"""

from __future__ import annotations

import json
import math
import socket

import geopandas as gpd
import numpy as np
import osmnx as ox
import pandas as pd
import pytest
import shapely.geometry
from fakeosm import NOMINATIM_FIXTURE, RELATION_ID, install

from lifecircle.geo.boundaries import boundary_for, boundary_from_osm, street_registry
from lifecircle.geo.network import network_from_osm, network_from_relation
from lifecircle.geo.osm_online import buffer_polygon, osmnx_settings, polygon_wgs84


@pytest.fixture
def fake_osm(monkeypatch, tmp_path):
    server = install(monkeypatch, tmp_path)
    yield server
    server.stop()


@pytest.fixture
def boundary(fake_osm):
    """The fixture relation's polygon, read straight from the Nominatim fixture (no request:
    Nominatim calls cost a 1 s pause each in osmnx; the download itself is tested below)."""
    place = json.loads(NOMINATIM_FIXTURE.read_text(encoding="utf-8"))[0]
    return gpd.GeoDataFrame(
        {"name": [place["name"]]}, geometry=[shapely.geometry.shape(place["geojson"])], crs=4326
    )


STREET_LENGTHS = {
    "石泉路": 700.0,
    "兰田路": 400.0,
    "华池路": 400.0,
    "管弄路": 300.0,
    "铜川路": 300.0,
    "真华路": 300.0,
    "交通路": 150.0,
}


def test_boundary_download_and_cache(fake_osm):
    b = boundary_from_osm(RELATION_ID)
    assert len(b) == 1 and b.crs.to_epsg() == 4326
    row = b.iloc[0]
    assert row["name"] == "示范街道" and row["osm_relation"] == RELATION_ID
    assert row["code"] is None  # not in the street registry
    assert row["area_km2"] == pytest.approx(0.480 * 0.380, abs=1e-4)  # 480 m x 380 m
    assert fake_osm.count("lookup") == 1
    assert fake_osm.requests[0]["params"]["osm_ids"] == f"R{RELATION_ID}"
    # the second call is answered from osmnx's cache: no request
    again = boundary_from_osm(f"R{RELATION_ID}")
    assert fake_osm.count() == 1
    assert again.geometry.iloc[0].equals(b.geometry.iloc[0])


def test_boundary_errors(fake_osm):
    with pytest.raises(ValueError, match="OSM relation 123: not found by Nominatim"):
        boundary_from_osm(123)
    with pytest.raises(ValueError, match="not an OSM relation id"):
        boundary_from_osm("石泉路街道")
    with pytest.raises(ValueError, match="unknown street '外滩街道'.*石泉路街道"):
        boundary_for("外滩街道")


def test_boundary_for_uses_the_registry(fake_osm):
    reg = street_registry()
    demo = reg.iloc[[0]].copy()
    demo["name"] = "示范街道"
    demo["osm_relation"] = pd.array([RELATION_ID], dtype="Int64")
    demo["code"] = "310107999"
    reg = pd.concat([reg, demo], ignore_index=True)
    b = boundary_for("示范", registry=reg)
    assert b.iloc[0]["name"] == "示范街道" and b.iloc[0]["code"] == "310107999"
    assert fake_osm.count("lookup") == 1
    # by code and by relation: the same cached answer
    assert boundary_for("310107999", registry=reg).iloc[0]["osm_relation"] == RELATION_ID
    assert boundary_for(RELATION_ID, registry=reg).iloc[0]["code"] == "310107999"
    assert fake_osm.count() == 1


def test_network_download_build_and_cache(fake_osm, boundary):
    net = network_from_osm(boundary)  # default buffer: elderly, 15 min = 810 m
    assert fake_osm.count("interpreter") == 1 and fake_osm.count() == 1
    query = fake_osm.requests[-1]["params"]["data"]
    assert query.startswith("[out:json]") and '["highway"]' in query and "(poly:'" in query

    assert net.report.stats["buffer_m"] == pytest.approx(810.0)
    assert "boundary + 810 m" in net.source
    assert (net.n_nodes, net.n_edges) == (11, 30)  # simplified
    assert net.total_length() == pytest.approx(2800.0, abs=0.1)
    rep = net.report
    assert rep.n_input == 20 and rep.n_loaded == 11
    notes = " ".join(rep.notes)
    assert "removed 6 directed edges not open to pedestrians" in notes  # 内环高架路 + ramp
    assert "只与其相连的 3 个节点" in notes
    assert "去掉 17 个节点中的 3 个 (17.6%), 分属 1 个孤立小片" in notes  # 小区步道
    assert "节点 14 → 11" in notes
    assert net.crs.to_epsg() == 32651
    assert "内环高架路" not in set(net.edges["name"].dropna())
    assert "cycleway" not in set(net.edges["highway"])  # Overpass's walk filter

    # second call: same network, answered from the cache without any request
    count = fake_osm.count()
    again = network_from_osm(boundary)
    assert fake_osm.count() == count
    assert np.array_equal(np.sort(again.node_ids), np.sort(net.node_ids))
    assert again.total_length() == pytest.approx(net.total_length(), abs=1e-9)


def test_network_from_relation_unsimplified(fake_osm):
    net = network_from_relation(RELATION_ID, simplify=False)
    assert fake_osm.count("lookup") == 1 and fake_osm.count("interpreter") == 1
    assert (net.n_nodes, net.n_edges) == (14, 36)
    by_street = (net.edges.groupby("name")["length"].sum() / 2).to_dict()
    assert set(by_street) == set(STREET_LENGTHS)
    for name, length in STREET_LENGTHS.items():
        assert by_street[name] == pytest.approx(length, abs=0.1), name
    footway = net.edges.loc[net.edges["highway"] == "footway", "length"].sum() / 2
    assert footway == pytest.approx(250.0, abs=0.1)
    # 石泉路 is one-way for cars; osmnx's walk network already has both directions
    assert "reverse edges" not in " ".join(net.report.notes)
    np.testing.assert_allclose(net.edges["travel_time_elderly"], net.edges["length"] / 0.9)
    assert f"边界: OSM 关系 {RELATION_ID} (示范街道)" in net.report.notes[-1]
    # the same relation again: boundary and streets both come from the cache
    network_from_relation(RELATION_ID, simplify=False)
    assert fake_osm.count() == 2


def test_buffer_controls_the_download(fake_osm, boundary):
    bare = network_from_osm(boundary, buffer_m=0)
    assert "boundary + 0 m" in bare.source
    assert (bare.n_nodes, bare.n_edges) == (9, 26)
    assert bare.total_length() == pytest.approx(2350.0, abs=0.1)
    assert "交通路" not in set(bare.edges["name"].dropna())
    assert "dropped 1 nodes that lie on no street" in " ".join(bare.report.notes)  # (200, -20)
    raw = network_from_osm(boundary, buffer_m=0, simplify=False)
    assert raw.n_nodes == 12
    assert fake_osm.count("interpreter") == 1  # same query, from the cache
    wide = network_from_osm(boundary, buffer_m=100, profile="gb50180")
    assert wide.report.stats["buffer_m"] == 100.0
    assert fake_osm.count("interpreter") == 2  # another polygon, another request


def test_cache_switch_and_folder(fake_osm, boundary, tmp_path):
    network_from_osm(boundary, use_cache=False)
    network_from_osm(boundary, use_cache=False)
    assert fake_osm.count("interpreter") == 2  # no cache: every call asks
    assert ox.settings.use_cache is True  # restored
    other = tmp_path / "other_cache"
    network_from_osm(boundary, cache_folder=other)
    assert fake_osm.count("interpreter") == 3
    assert len(list(other.glob("*.json"))) == 1
    network_from_osm(boundary, cache_folder=other)
    assert fake_osm.count("interpreter") == 3
    assert ox.settings.cache_folder == str(tmp_path / "osmnx_cache")  # restored


def test_features_for_the_facilities_loader(fake_osm, boundary):
    tags = {
        "amenity": ["social_facility", "parking"],
        "leisure": ["fitness_station", "sports_centre"],
    }
    feats = ox.features_from_polygon(boundary.geometry.iloc[0], tags)
    assert sorted(feats["name"]) == sorted(
        [
            "示范街道综合为老服务中心",
            "示范长者照护之家",
            "兰田健身苑点",
            "石泉路公共停车场",
            "示范社区体育健身中心",
        ]
    )
    area = feats.loc[("way", 9200000014)]
    assert area.geometry.geom_type == "Polygon"
    assert fake_osm.count("interpreter") == 1
    ox.features_from_polygon(boundary.geometry.iloc[0], tags)
    assert fake_osm.count("interpreter") == 1


def test_facilities_from_osm_against_the_fake(fake_osm, boundary):
    facilities = pytest.importorskip("lifecircle.geo.facilities")
    if not hasattr(facilities, "facilities_from_osm"):
        pytest.skip("facilities_from_osm not built yet")
    gdf, rep = facilities.facilities_from_osm(boundary)
    # every POI inside the boundary (the parking lot on 交通路 lies outside)
    assert rep.n_loaded == 8 and rep.balanced
    assert "交通路停车场" not in set(gdf["name"])
    assert {"示范街道综合为老服务中心", "示范长者照护之家"} <= set(
        gdf.loc[gdf["category"] == "elder_care", "name"]
    )


def test_no_internet_and_settings_restored(fake_osm):
    with pytest.raises(OSError, match="only the fake OSM server"):
        socket.create_connection(("192.0.2.1", 80), timeout=1)
    with osmnx_settings(overpass_url="http://127.0.0.1:9/x", overpass_rate_limit=True):
        assert ox.settings.overpass_url == "http://127.0.0.1:9/x"
    assert ox.settings.overpass_url == fake_osm.overpass_url
    assert ox.settings.overpass_rate_limit is False
    with pytest.raises(ValueError, match="not osmnx settings"), osmnx_settings(no_such_setting=1):
        pass


def test_rate_limited_status_endpoint(fake_osm, boundary, monkeypatch):
    monkeypatch.setattr(ox.settings, "overpass_rate_limit", True)
    network_from_osm(boundary, buffer_m=50)
    assert fake_osm.count("status") == 1 and fake_osm.count("interpreter") == 1


def test_polygon_helpers():
    place = json.loads(NOMINATIM_FIXTURE.read_text(encoding="utf-8"))[0]
    poly = shapely.geometry.shape(place["geojson"])
    assert polygon_wgs84(gpd.GeoDataFrame(geometry=[poly], crs=4326)).equals(poly)
    utm = gpd.GeoSeries([poly], crs=4326).to_crs(32651)
    assert polygon_wgs84(utm).equals_exact(poly, tolerance=1e-9)
    with pytest.raises(ValueError, match="not WGS84 lon/lat"):
        polygon_wgs84(utm.iloc[0])
    with pytest.raises(ValueError, match="must be a polygon"):
        polygon_wgs84(shapely.Point(121.4, 31.2))
    # 480 m x 380 m buffered by 100 m in metres: rectangle + sides + quarter circles
    grown = gpd.GeoSeries([buffer_polygon(poly, 100.0)], crs=4326).to_crs(32651).area.iloc[0]
    assert grown == pytest.approx(480 * 380 + 2 * 100 * (480 + 380) + math.pi * 100**2, rel=1e-3)
    assert grown == pytest.approx(utm.iloc[0].buffer(100.0).area, abs=1.0)
    assert buffer_polygon(poly, 0) is poly
