"""Online calls under a misbehaving server: bounded time, bounded retries, a clear error.

The stand-in server (``tests/fakeosm.py``) never answers, answers 429 and 500 before the real
answer, or answers an HTML page instead of JSON. Every failure is an
:class:`lifecircle.geo.osm_online.OnlineError` naming the endpoint and the options; cached
answers are still served with the server gone.
"""

from __future__ import annotations

import json
import time

import geopandas as gpd
import pytest
import shapely
from fakeosm import NOMINATIM_FIXTURE, RELATION_ID, FakeOSM, install

from lifecircle.geo.boundaries import boundary_from_osm
from lifecircle.geo.facilities import facilities_from_osm
from lifecircle.geo.network import network_from_osm
from lifecircle.geo.osm_online import OnlineError, current_limits, online_limits

TIMEOUT = 1.0


@pytest.fixture
def fake_osm(monkeypatch, tmp_path):
    server = install(monkeypatch, tmp_path)
    yield server
    server.stop()


@pytest.fixture
def area():
    place = json.loads(NOMINATIM_FIXTURE.read_text(encoding="utf-8"))[0]
    return gpd.GeoDataFrame(geometry=[shapely.geometry.shape(place["geojson"])], crs=4326)


def test_defaults():
    lim = current_limits()
    assert (lim.timeout_s, lim.retries) == (30.0, 3)
    with online_limits(timeout_s=5, retries=None) as inner:
        assert (inner.timeout_s, inner.retries) == (5, 3)
        assert current_limits() is inner
    assert current_limits() is lim


def test_server_that_never_answers_fails_within_twice_the_timeout(fake_osm, area):
    fake_osm.faults = ["hang"] * 10
    start = time.monotonic()
    with online_limits(timeout_s=TIMEOUT), pytest.raises(OnlineError) as err:
        network_from_osm(area, buffer_m=50)
    elapsed = time.monotonic() - start
    assert elapsed < 2 * TIMEOUT, elapsed
    msg = str(err.value)
    assert fake_osm.overpass_url + "/interpreter" in msg
    assert "1 秒内没有应答" in msg and "--osm-timeout" in msg and "--osm-retries" in msg
    assert fake_osm.count("interpreter") == 1  # a read timeout is not retried


def test_429_and_500_then_success(fake_osm, area):
    fake_osm.faults = [429, 500]
    with online_limits(timeout_s=TIMEOUT, backoff_s=0.01):
        net = network_from_osm(area, buffer_m=50)
    assert fake_osm.count("interpreter") == 3
    assert net.graph.number_of_nodes() > 0


def test_retries_are_bounded(fake_osm, area):
    fake_osm.faults = [429] * 20
    start = time.monotonic()
    with (
        online_limits(timeout_s=TIMEOUT, retries=2, backoff_s=0.01),
        pytest.raises(OnlineError) as err,
    ):
        network_from_osm(area, buffer_m=50)
    assert time.monotonic() - start < 2 * TIMEOUT
    assert fake_osm.count("interpreter") == 3  # 1 + 2 retries, then a clear error
    assert "3 次请求均失败" in str(err.value) and "HTTP 429" in str(err.value)


def test_refused_connection_is_retried_then_named(fake_osm, area, monkeypatch):
    import osmnx as ox

    monkeypatch.setattr(ox.settings, "overpass_url", "http://127.0.0.1:9/api")  # nothing there
    with (
        online_limits(timeout_s=TIMEOUT, retries=1, backoff_s=0.01),
        pytest.raises(OnlineError) as err,
    ):
        network_from_osm(area, buffer_m=50)
    assert "http://127.0.0.1:9/api/interpreter" in str(err.value)
    assert "无法连接" in str(err.value)


def test_garbage_is_reported_as_what_came_back(fake_osm, area):
    fake_osm.faults = ["garbage"]
    with online_limits(timeout_s=TIMEOUT), pytest.raises(OnlineError) as err:
        facilities_from_osm(area)  # osmnx alone would call this "no data" and return nothing
    msg = str(err.value)
    assert "不是 JSON" in msg and "text/html" in msg and "502 Bad Gateway" in msg


def test_nominatim_garbage_is_not_called_not_found(fake_osm):
    fake_osm.faults = ["garbage"]
    with pytest.raises(OnlineError, match="不是 JSON.*Bad Gateway"):
        boundary_from_osm(RELATION_ID)


def test_nominatim_reply_without_importance(monkeypatch, tmp_path):
    place = json.loads(NOMINATIM_FIXTURE.read_text(encoding="utf-8"))[0]
    for key in ("importance", "boundingbox", "lat", "lon", "place_rank"):
        place.pop(key)
    server = install(monkeypatch, tmp_path, FakeOSM(nominatim=[place]))
    try:
        b = boundary_from_osm(RELATION_ID)
    finally:
        server.stop()
    assert b.iloc[0]["name"] == "示范街道"
    assert b.iloc[0]["area_km2"] == pytest.approx(0.480 * 0.380, abs=1e-4)


def test_cached_answers_serve_with_the_server_gone(fake_osm, area):
    first = network_from_osm(area, buffer_m=50)
    fake_osm.stop()
    with online_limits(timeout_s=TIMEOUT, retries=0):
        again = network_from_osm(area, buffer_m=50)
    assert again.graph.number_of_nodes() == first.graph.number_of_nodes()
