"""居民区 / 小区 polygons (residential compounds) from a file or OSM ``landuse=residential``.

Every compound has a ``name``, optional ``population`` / ``pop60`` / ``share60`` columns when the
source gives them, and its polygon (WGS84). OSM polygons without a name are kept only when asked
(``keep_unnamed``), named ``未命名居民区 N`` and counted in the report, so a planner sees that the
name is ours.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..settings import WGS84
from .features import osm_features, read_vector
from .report import LoadReport

__all__ = ["COMPOUND_COLUMNS", "compounds_from_features", "compounds_from_osm", "load_compounds"]

#: Columns of every compounds GeoDataFrame returned here.
COMPOUND_COLUMNS = ["cid", "name", "population", "pop60", "share60", "src_row"]
_NAME_COLS = ("name", "名称", "居民区", "小区", "小区名称", "居委会", "name:zh")
_POP_COLS = ("population", "人口", "常住人口", "pop")
_POP60_COLS = ("pop60", "60岁以上人口", "老年人口")
_SHARE60_COLS = ("share60", "60岁以上占比", "老龄化率")


def _pick(frame: pd.DataFrame, given: str | None, names) -> str | None:
    if given is not None:
        if given not in frame.columns:
            raise ValueError(f"no column {given!r}; columns: {list(frame.columns)}")
        return given
    return next((c for c in names if c in frame.columns), None)


def _numbers(frame: pd.DataFrame, col: str | None) -> np.ndarray:
    if col is None:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)


def compounds_from_features(
    features: gpd.GeoDataFrame,
    source: str,
    name_col: str | None = None,
    keep_unnamed: bool = False,
    population_col: str | None = None,
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Compounds from polygons (a file's rows or OSM features).

    Parameters
    ----------
    features : GeoDataFrame
        Polygons with a CRS.
    source : str
        Names the input in the report.
    name_col : str, optional
        Name column (default: ``name``/名称/居民区/小区 …).
    keep_unnamed : bool
        Keep polygons without a name (named ``未命名居民区 N``); otherwise they are rejected.
    population_col : str, optional
        Residents per compound (default: ``population``/人口/常住人口 if present).
    """
    if features.crs is None:
        raise ValueError(f"{source}: compounds have no CRS")
    frame = features.reset_index(drop=True)
    report = LoadReport(source, n_input=len(frame))
    rows = np.arange(1, len(frame) + 1)
    geoms = frame.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    geoms = np.where(~missing & ~shapely.is_valid(geoms), shapely.make_valid(geoms), geoms)
    areal = ~missing & (shapely.get_dimensions(geoms) == 2)
    ncol = _pick(frame, name_col, _NAME_COLS)
    names = (
        frame[ncol].astype("string").str.strip().fillna("")
        if ncol
        else pd.Series("", index=frame.index)
    ).to_numpy(dtype=object)
    unnamed = areal & (names == "")
    for i in np.flatnonzero(~areal):
        report.reject(int(rows[i]), "geometry", "not a polygon (不是面)")
    if not keep_unnamed:
        for i in np.flatnonzero(unnamed):
            report.reject(int(rows[i]), ncol or "name", "no name (居民区无名称)")
    elif unnamed.any():
        names[unnamed] = [f"未命名居民区 {k + 1}" for k in range(int(unnamed.sum()))]
        report.note(f"{int(unnamed.sum())} 个居民区无名称，按顺序编为“未命名居民区 N”")
    keep = np.flatnonzero(areal & (keep_unnamed | ~unnamed))
    pcol = _pick(frame, population_col, _POP_COLS)
    out = gpd.GeoDataFrame(
        {
            "cid": np.arange(1, len(keep) + 1),
            "name": names[keep],
            "population": _numbers(frame, pcol)[keep],
            "pop60": _numbers(frame, _pick(frame, None, _POP60_COLS))[keep],
            "share60": _numbers(frame, _pick(frame, None, _SHARE60_COLS))[keep],
            "src_row": rows[keep],
        },
        geometry=gpd.GeoSeries(geoms[keep], crs=frame.crs).to_crs(WGS84).to_numpy(),
        crs=WGS84,
    )
    bad = (out["share60"] < 0) | (out["share60"] > 1)
    if bad.any():
        raise ValueError(f"{source}: share60 must be between 0 and 1")
    report.n_loaded = len(out)
    return out, report


def load_compounds(
    path: str | Path, name_col: str | None = None, layer: str | None = None, crs=None
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Load 居民区 polygons from GeoJSON, GPKG or Shapefile (unnamed rows are rejected)."""
    frame = read_vector(path, layer, crs)
    return compounds_from_features(frame, str(path), name_col=name_col)


def compounds_from_osm(
    area,
    buffer_m: float = 0.0,
    keep_unnamed: bool = False,
    cache_folder: str | Path | None = None,
    use_cache: bool = True,
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Download ``landuse=residential`` polygons in an area (plus a buffer) through osmnx."""
    feats = osm_features(area, {"landuse": "residential"}, buffer_m, cache_folder, use_cache)
    return compounds_from_features(
        feats, "OpenStreetMap landuse=residential (Overpass)", keep_unnamed=keep_unnamed
    )
