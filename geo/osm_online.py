"""Online OpenStreetMap access through osmnx: settings applied for one call, then restored.

osmnx keeps its configuration in the module-level ``osmnx.settings`` (endpoints, cache folder,
rate limiting). The online loaders of :mod:`lifecircle.geo.network` and
:mod:`lifecircle.geo.boundaries` change those settings only for the duration of one call through
:func:`osmnx_settings`, so that a caller's own osmnx configuration is left as it was.

Caching: osmnx stores every Overpass and Nominatim answer as a JSON file in
``settings.cache_folder`` (``./cache`` by default) keyed by the request URL, and answers a repeated
request from that file without touching the network. The loaders keep ``use_cache=True`` unless
told otherwise.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import shapely
from shapely.geometry.base import BaseGeometry

from ..settings import WGS84
from .crs import metric_crs_for

__all__ = ["osmnx_settings", "cache_overrides", "polygon_wgs84", "buffer_polygon"]


@contextmanager
def osmnx_settings(**overrides) -> Iterator[object]:
    """Set ``osmnx.settings`` attributes for the duration of a ``with`` block.

    Every overridden setting is restored on exit, and so is ``socket.getaddrinfo``, which osmnx
    replaces to pin the Overpass host to one IP address.

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
    saved = {k: getattr(ox.settings, k) for k in overrides}
    getaddrinfo = socket.getaddrinfo
    try:
        for key, value in overrides.items():
            setattr(ox.settings, key, value)
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
