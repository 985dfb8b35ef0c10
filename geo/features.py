"""Polygon features from a vector file (its CRS kept) or from OSM in an area (osmnx, cached)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from ..settings import WGS84
from .osm_online import buffer_polygon, cache_overrides, osmnx_settings, polygon_wgs84

__all__ = ["osm_features", "read_vector"]


def read_vector(path: str | Path, layer: str | None = None, crs=None) -> gpd.GeoDataFrame:
    """Read a GeoJSON/GPKG/SHP file; a file without a CRS needs ``crs``.

    Raises
    ------
    FileNotFoundError, ValueError
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    frame = gpd.read_file(path, layer=layer)
    if frame.crs is None:
        if crs is None:
            raise ValueError(f"{path}: the file has no CRS; give crs=")
        frame = frame.set_crs(crs)
    return frame


def osm_features(
    area,
    tags: dict,
    buffer_m: float = 0.0,
    cache_folder: str | Path | None = None,
    use_cache: bool = True,
) -> gpd.GeoDataFrame:
    """OSM features with ``tags`` in an area plus a buffer (empty frame when there are none).

    Parameters
    ----------
    area : shapely geometry (WGS84), GeoSeries or GeoDataFrame
    tags : dict
        osmnx tags, e.g. ``{"building": True}`` or ``{"landuse": "residential"}``.
    buffer_m : float
        Metres around the area.
    cache_folder, use_cache
        osmnx cache (repeated requests are answered without the network).
    """
    import osmnx as ox
    from osmnx._errors import InsufficientResponseError

    polygon = buffer_polygon(polygon_wgs84(area), buffer_m)
    with osmnx_settings(**cache_overrides(cache_folder, use_cache)):
        try:
            return ox.features_from_polygon(polygon, tags)
        except InsufficientResponseError:
            return gpd.GeoDataFrame({k: [] for k in tags}, geometry=[], crs=WGS84)
