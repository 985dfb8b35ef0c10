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
from fakeosm import _STATUS, NOMINATIM_FIXTURE, RELATION_ID, FakeOSM, install

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


# ------------------------------------------------------------- Overpass /status and refusals
BUSY = _STATUS.replace("2 slots available now.", "Currently running a query.")
FAR_SLOT = _STATUS.replace(
    "2 slots available now.", "Slot available after: 2099-01-01T00:00:00Z, in 999999 seconds."
)


@pytest.mark.parametrize(
    ("fault", "least"),
    [("garbage", 0.0), (("text", "无法解析的状态页"), 0.0), ("hang", TIMEOUT),
     (("text", BUSY), TIMEOUT), (("text", FAR_SLOT), TIMEOUT)],
    ids=["html", "short-text", "never-answers", "always-busy", "slot-in-2099"],
)  # fmt: skip
def test_status_page_costs_at_most_the_timeout(fake_osm, area, monkeypatch, fault, least):
    """osmnx alone pauses 60 s for an unreadable status page, waits for a far slot and looks
    again every 5 s while busy: here the status costs at most the timeout, then the query runs."""
    import osmnx as ox

    monkeypatch.setattr(ox.settings, "overpass_rate_limit", True)
    fake_osm.faults = [fault]
    with online_limits(timeout_s=TIMEOUT):
        net = network_from_osm(area, buffer_m=50, use_cache=False)
    assert (fake_osm.count("status"), fake_osm.count("interpreter")) == (1, 1)
    # from asking for the status to sending the query: the status's whole cost
    status, query = (r["t"] for r in fake_osm.requests)
    # 50 ms of slack below: the server stamps arrivals with its own clock and timers round
    assert least - 0.05 <= query - status < TIMEOUT + 0.3, query - status
    assert net.n_nodes == 9  # the fixture with a 50 m buffer, as without a status check


def test_refused_connection_fails_within_seconds_at_default_limits(fake_osm, area, monkeypatch):
    """Nothing listens on the port: 1 + 3 refused attempts with short pauses (< 2 s), never
    the 2 + 4 + 8 s of the 429 backoff; the status check costs nothing either."""
    import socket

    import osmnx as ox

    with socket.socket() as s:  # a free port: connections to it are refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(ox.settings, "overpass_url", f"http://127.0.0.1:{port}/api")
    monkeypatch.setattr(ox.settings, "overpass_rate_limit", True)
    assert current_limits().retries == 3 and current_limits().backoff_s == 2.0
    start = time.monotonic()
    with pytest.raises(OnlineError) as err:
        network_from_osm(area, buffer_m=50, use_cache=False)
    elapsed = time.monotonic() - start
    assert elapsed < 3.0, elapsed
    msg = str(err.value)
    assert f"http://127.0.0.1:{port}/api/interpreter" in msg
    assert "4 次请求均失败" in msg and "无法连接" in msg
    assert "--osm-timeout" in msg and "--osm-retries" in msg


def test_status_parsing():
    from lifecircle.geo.osm_online import _status_wait

    assert _status_wait(_STATUS) == 0.0
    assert _status_wait(BUSY) is None
    assert _status_wait(FAR_SLOT) > 1e9
    assert _status_wait("<html>502</html>") == 0.0 and _status_wait("") == 0.0
    assert (
        _status_wait(_STATUS.replace("2 slots", "Slot available after: 2000-01-01T00:00:00Z, in 0"))
        == 1.0
    )
