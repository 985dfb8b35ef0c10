"""Online OpenStreetMap access through osmnx: settings applied for one call, then restored.

osmnx keeps its configuration in the module-level ``osmnx.settings`` (endpoints, cache folder,
rate limiting). The online loaders of :mod:`lifecircle.geo.network` and
:mod:`lifecircle.geo.boundaries` change those settings only for the duration of one call through
:func:`osmnx_settings`, so that a caller's own osmnx configuration is left as it was.

Limits: inside :func:`osmnx_settings` every HTTP request osmnx makes to Overpass and Nominatim
goes through :class:`BoundedRequests` (a stand-in for the ``requests`` module in osmnx's request
code): a connect/read timeout, a bounded number of retries with doubling pauses for refused
connections (short ones: a refusing server is down), HTTP 429 and 5xx (osmnx alone sleeps and
retries a 429 without end), then :class:`OnlineError` naming the endpoint and the options that
change the limits. A read or connect timeout is not retried. osmnx's look at the Overpass
``/status`` page before a query (up to a minute's pause for a page it cannot read) costs at most
the timeout. An answer that is not JSON is reported as what came back. Nominatim
results missing ``importance`` or ``boundingbox`` are completed before osmnx reads them. The
limits are :class:`lifecircle.settings.OnlineSettings`, set for a block by
:func:`online_limits` (the CLI's ``--osm-timeout`` and ``--osm-retries``).

Caching: osmnx stores every Overpass and Nominatim answer as a JSON file in
``settings.cache_folder`` (``./cache`` by default) keyed by the request URL, and answers a repeated
request from that file without touching the network. The loaders keep ``use_cache=True`` unless
told otherwise.
"""

from __future__ import annotations

import dataclasses
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from pathlib import Path

import geopandas as gpd
import shapely
from shapely.geometry.base import BaseGeometry

from ..settings import DEFAULT_ONLINE, WGS84, OnlineSettings
from .crs import metric_crs_for

__all__ = [
    "BoundedRequests",
    "OnlineError",
    "buffer_polygon",
    "cache_overrides",
    "current_limits",
    "online_limits",
    "osmnx_settings",
    "polygon_wgs84",
]

_LIMITS: ContextVar[OnlineSettings] = ContextVar("lifecircle_online_limits", default=DEFAULT_ONLINE)

#: How a planner changes the limits (named in every error).
OPTIONS_HINT = (
    "可用 --osm-timeout 秒数 和 --osm-retries 次数 调整（OnlineSettings.timeout_s / retries）"
)


class OnlineError(ConnectionError):
    """OpenStreetMap's service gave no usable answer within the limits (the message says why)."""


def current_limits() -> OnlineSettings:
    """The online limits in force (:func:`online_limits`, else the defaults)."""
    return _LIMITS.get()


@contextmanager
def online_limits(limits: OnlineSettings | None = None, **changes) -> Iterator[OnlineSettings]:
    """Use other online limits for a ``with`` block, e.g. ``online_limits(timeout_s=5)``.

    Parameters
    ----------
    limits : OnlineSettings, optional
        The limits (default: those in force); ``None`` values in ``changes`` are ignored.
    **changes
        Fields of :class:`lifecircle.settings.OnlineSettings` to change.
    """
    base = limits or _LIMITS.get()
    new = dataclasses.replace(base, **{k: v for k, v in changes.items() if v is not None})
    token = _LIMITS.set(new)
    try:
        yield new
    finally:
        _LIMITS.reset(token)


class BoundedRequests:
    """Stands in for the ``requests`` module in osmnx's request code: bounded, retried, checked.

    Parameters
    ----------
    real : module
        The real ``requests`` module.
    limits : OnlineSettings
    """

    def __init__(self, real, limits: OnlineSettings):
        self._real = real
        self.limits = limits
        self.Request = real.Request
        self.exceptions = real.exceptions

    def __getattr__(self, name):
        return getattr(self._real, name)

    def get(self, url, **kwargs):
        return self._send("GET", url, **kwargs)

    def post(self, url, **kwargs):
        return self._send("POST", url, **kwargs)

    def _pause(self, attempt: int, response=None) -> float:
        lim = self.limits
        pause = lim.backoff_s * 2**attempt
        after = response.headers.get("Retry-After") if response is not None else None
        if after is not None:
            with suppress(ValueError):
                pause = float(after)
        return max(0.0, min(pause, lim.max_backoff_s))

    def _fail(self, endpoint: str, what: str) -> OnlineError:
        lim = self.limits
        return OnlineError(
            f"OpenStreetMap 服务 {endpoint} {what}（超时 {lim.timeout_s:g} 秒，重试 "
            f"{lim.retries} 次）。请稍后再试，或{OPTIONS_HINT}"
        )

    def _send(self, method: str, url: str, **kwargs):
        exc_ = self._real.exceptions
        lim = self.limits
        kwargs["timeout"] = (lim.timeout_s, lim.timeout_s)
        endpoint = str(url).split("?")[0]
        last = ""
        for attempt in range(lim.retries + 1):
            try:
                response = self._real.request(method, url, **kwargs)
            except exc_.ReadTimeout:
                raise self._fail(endpoint, f"在 {lim.timeout_s:g} 秒内没有应答") from None
            except exc_.ConnectTimeout:  # no answer to the connection either: not retried
                raise self._fail(endpoint, f"在 {lim.timeout_s:g} 秒内连接不上") from None
            except exc_.RequestException as exc:  # refused, reset, DNS
                last = f"无法连接: {type(exc).__name__}"
                if _unresolvable(exc):  # no DNS: offline, retrying cannot help
                    raise self._fail(
                        endpoint, f"无法解析主机名（离线？）: {type(exc).__name__}"
                    ) from None
                if attempt < lim.retries:  # refused: the server is down, short pauses
                    time.sleep(min(self._pause(attempt), lim.refused_backoff_s * 2**attempt))
                continue
            code = response.status_code
            if code == 429 or code >= 500:
                last = f"HTTP {code} {response.reason or ''}".strip()
                if attempt < lim.retries:
                    time.sleep(self._pause(attempt, response))
                continue
            return self._checked(endpoint, response)
        raise self._fail(endpoint, f"{lim.retries + 1} 次请求均失败，最后一次：{last}")

    def _checked(self, endpoint: str, response):
        if endpoint.rstrip("/").endswith("/status"):
            return response  # Overpass's status page is plain text
        try:
            response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "?")
            text = " ".join(response.text[:160].split())
            raise self._fail(
                endpoint, f"返回的不是 JSON 数据 (HTTP {response.status_code}, {kind}): {text!r}"
            ) from None
        if response.status_code >= 400:
            text = " ".join(response.text[:160].split())
            raise self._fail(endpoint, f"拒绝了请求 (HTTP {response.status_code}): {text!r}")
        return response


def _unresolvable(exc: BaseException) -> bool:
    """Whether a request failed because the host name could not be resolved."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, socket.gaierror) or "NameResolution" in type(exc).__name__:
            return True
        text = str(exc)
        if "Name or service not known" in text or "Temporary failure in name resolution" in text:
            return True
        exc = (
            exc.__cause__
            or exc.__context__
            or (exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None)
        )
    return False


def _complete_nominatim(results):
    """Nominatim results with ``importance``, ``boundingbox``, ``lat``/``lon`` filled in."""
    out = []
    for r in results if isinstance(results, list) else []:
        if not isinstance(r, dict):
            continue
        r = dict(r)
        r.setdefault("importance", 0.0)
        geo = r.get("geojson")
        if isinstance(geo, dict) and ("boundingbox" not in r or "lat" not in r):
            try:
                shape = shapely.geometry.shape(geo)
                minx, miny, maxx, maxy = shape.bounds
                r.setdefault("boundingbox", [str(miny), str(maxy), str(minx), str(maxx)])
                c = shape.representative_point()
                r.setdefault("lat", str(c.y))
                r.setdefault("lon", str(c.x))
            except (ValueError, TypeError, AttributeError, shapely.errors.GEOSException):
                pass
        out.append(r)
    return out


def _status_wait(text: str) -> float | None:
    """Seconds to wait that an Overpass ``/status`` page asks for; ``None`` for "a query of
    yours is running, look again"; 0 for a page that says nothing usable (garbage)."""
    import datetime as dt

    lines = str(text).split("\n")
    words = lines[4].split(" ") if len(lines) > 4 else [""]
    if words[0].isdigit():
        return 0.0  # slots available now
    if words[0] == "Currently":
        return None
    if words[0] == "Slot" and len(words) > 3:
        with suppress(ValueError):
            free = dt.datetime.strptime(words[3], "%Y-%m-%dT%H:%M:%SZ,").replace(tzinfo=dt.UTC)
            return max((free - dt.datetime.now(tz=dt.UTC)).total_seconds(), 1.0)
    return 0.0


def _status_pause(real, limits: OnlineSettings):
    """osmnx's Overpass ``/status`` check (``_get_overpass_pause``), bounded.

    osmnx waits up to its ``requests_timeout`` for the page, pauses 60 s when it cannot read
    it and looks again every 5 s for as long as the server says a query is running. Here the
    page, every look again and the pause it asks for together cost at most
    ``limits.timeout_s``; an unreachable, slow or unreadable page means no pause (the status
    is advice: the query itself is bounded and retried on 429).
    """
    from osmnx import _http
    from osmnx import settings as ox_settings

    def pause(base_endpoint: str, *, recursion_pause: float = 5, default_pause: float = 60):
        if not ox_settings.overpass_rate_limit:
            return 0
        url = base_endpoint.rstrip("/") + "/status"
        start = time.monotonic()

        def left() -> float:
            return limits.timeout_s - (time.monotonic() - start)

        while left() > 0:
            try:
                text = real.get(
                    url,
                    headers=_http._get_http_headers(),
                    timeout=(left(), left()),
                    **ox_settings.requests_kwargs,
                ).text
            except (real.exceptions.RequestException, ValueError):
                return 0
            wait = _status_wait(text)
            if wait is not None:
                return max(0.0, min(wait, left()))
            time.sleep(max(0.0, min(recursion_pause, left())))
        return 0

    return pause


@contextmanager
def _bounded_osmnx(limits: OnlineSettings) -> Iterator[None]:
    """Route osmnx's Overpass/Nominatim/DNS requests through :class:`BoundedRequests`."""
    import requests
    from osmnx import _http, _nominatim, _overpass

    shim = BoundedRequests(requests, limits)
    modules = (_overpass, _nominatim, _http)
    saved = [m.requests for m in modules]
    download = _nominatim._download_nominatim_element
    status = _overpass._get_overpass_pause

    def tolerant(*args, **kwargs):
        return _complete_nominatim(download(*args, **kwargs))

    try:
        for m in modules:
            m.requests = shim
        _nominatim._download_nominatim_element = tolerant
        _overpass._get_overpass_pause = _status_pause(requests, limits)
        yield
    finally:
        for m, old in zip(modules, saved, strict=True):
            m.requests = old
        _nominatim._download_nominatim_element = download
        _overpass._get_overpass_pause = status


@contextmanager
def osmnx_settings(**overrides) -> Iterator[object]:
    """Set ``osmnx.settings`` attributes for the duration of a ``with`` block.

    Every overridden setting is restored on exit, and so is ``socket.getaddrinfo``, which osmnx
    replaces to pin the Overpass host to one IP address. Inside the block every request is
    bounded by :func:`current_limits` (see the module docstring), whatever osmnx's
    ``requests_timeout`` says.

    Parameters
    ----------
    **overrides
        Setting names and values, e.g. ``cache_folder="cache"``, ``use_cache=True``,
        ``overpass_url=...``, ``nominatim_url=...``, ``overpass_rate_limit=False``.

    Yields
    ------
    osmnx.settings
        The settings module.

    Raises
    ------
    ValueError
        For a name that is not an osmnx setting.
    """
    import osmnx as ox

    unknown = sorted(k for k in overrides if not hasattr(ox.settings, k))
    if unknown:
        raise ValueError(f"not osmnx settings: {unknown}")
    # osmnx's own requests_timeout is left alone: it is written into the Overpass query, so
    # into the cache key; the HTTP timeout itself is the shim's
    limits = current_limits()
    saved = {k: getattr(ox.settings, k) for k in overrides}
    getaddrinfo = socket.getaddrinfo
    try:
        for key, value in overrides.items():
            setattr(ox.settings, key, value)
        with _bounded_osmnx(limits):
            yield ox.settings
    finally:
        for key, value in saved.items():
            setattr(ox.settings, key, value)
        socket.getaddrinfo = getaddrinfo


def cache_overrides(cache_folder: str | Path | None = None, use_cache: bool = True) -> dict:
    """osmnx setting overrides for a download: the cache switch and, if given, its folder."""
    out: dict = {"use_cache": bool(use_cache)}
    if cache_folder is not None:
        out["cache_folder"] = str(cache_folder)
    return out


def polygon_wgs84(area) -> shapely.Polygon | shapely.MultiPolygon:
    """One valid WGS84 (Multi)Polygon from a geometry, GeoSeries or GeoDataFrame.

    Parameters
    ----------
    area : shapely geometry, GeoSeries or GeoDataFrame
        A bare shapely geometry is taken to be in WGS84 (lon/lat). GeoSeries and GeoDataFrames
        are converted from their CRS, and their rows are merged.

    Raises
    ------
    ValueError
        For an empty area, a non-polygonal geometry, or coordinates that are not lon/lat.
    """
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        if area.crs is None:
            raise ValueError("the area has no CRS")
        geom = area.to_crs(WGS84).union_all()
    elif isinstance(area, BaseGeometry):
        geom = area
    else:
        raise ValueError(f"expected a polygon or GeoDataFrame, got {type(area).__name__}")
    if geom is None or geom.is_empty:
        raise ValueError("the area is empty")
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if geom.geom_type == "GeometryCollection":
        parts = [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        geom = shapely.union_all(parts) if parts else shapely.Polygon()
    if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
        raise ValueError(f"the area must be a polygon, not a {geom.geom_type}")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise ValueError(
            f"the area's coordinates ({minx:.1f}, {miny:.1f}, {maxx:.1f}, {maxy:.1f}) are not "
            "WGS84 lon/lat; pass a GeoDataFrame with its CRS"
        )
    return geom


def buffer_polygon(polygon: BaseGeometry, buffer_m: float) -> BaseGeometry:
    """Buffer a WGS84 polygon by ``buffer_m`` metres (in the local metric CRS), back to WGS84."""
    if buffer_m < 0:
        raise ValueError(f"buffer_m must be >= 0, got {buffer_m}")
    if buffer_m == 0:
        return polygon
    series = gpd.GeoSeries([polygon], crs=WGS84)
    metric = metric_crs_for(series)
    return series.to_crs(metric).buffer(buffer_m).to_crs(WGS84).iloc[0]
