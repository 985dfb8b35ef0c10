"""Population weights: from rasters or counted polygons onto network nodes or demand points.

Sources
-------
* a raster (GeoTIFF etc., any CRS; WorldPop-style persons per cell): every cell with data becomes
  a cell polygon with its count;
* polygons with a count column (grid cells, buildings, residential compounds) from GeoJSON, GPKG,
  Shapefile, or a CSV/Excel table of cells with ``lon_min``/``lat_min``/``lon_max``/``lat_max``
  (like the shared 0.01° grid) or of points with ``lon``/``lat``.

Coordinate systems
------------------
A table of numbers carries no coordinate system, so its system must be declared (``coords=``,
``--population-coords``, ``population.coords`` in a run config): ``wgs84``, ``gcj02``, ``bd09``
or an EPSG code; there is no default (GCJ-02 lies about 500 m from WGS84, more than a 5-minute
walk). GCJ-02/BD-09 tables are converted to WGS84. Vector files and rasters use their own CRS;
one without a CRS needs the declaration too.

Distribution (:func:`distribute_to_points`)
------------------------------------------
Each source polygon's count is split among the target points inside it, equally or in proportion
to a weight per point (e.g. the street length around each node). The count of a polygon holding
no target point, and of point sources, goes whole to the nearest target point; that is reported,
never lost. The total is conserved exactly (up to floating-point rounding).

For a study area (:func:`demand_from_network` with a boundary) the sources are first cut to the area
by area share, assuming uniform density inside a cell; the part outside is reported.

Age
---
:func:`district_age_share` reads the 2020 census table (60+ / total per district; 普陀区
37.89 / 123.98 = 0.3056) and :func:`apply_age_share` turns population into 60+ population.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..settings import WGS84, data_dir
from .crs import (
    COORDS_CHOICES,
    looks_like_degrees,
    metric_crs_for,
    missing_coords_message,
    normalize_coords,
)
from .report import LoadReport

__all__ = [
    "RASTER_SUFFIXES",
    "TABLE_SUFFIXES",
    "check_declared_values",
    "population_needs_coords",
    "apply_age_share",
    "demand_from_network",
    "distribute_to_points",
    "district_age_share",
    "load_population",
    "node_street_length",
]

RASTER_SUFFIXES = (".tif", ".tiff", ".img", ".vrt", ".asc", ".bil")
#: Tables of numbers (cells or points) without a coordinate system of their own.
TABLE_SUFFIXES = (".csv", ".txt", ".xlsx", ".xls")
_COUNT_NAMES = ("population", "pop", "人口", "总人口", "count", "value", "persons")
_BOX_NAMES = (
    ("lon_min", "lat_min", "lon_max", "lat_max"),
    ("xmin", "ymin", "xmax", "ymax"),
    ("minx", "miny", "maxx", "maxy"),
)
_POINT_NAMES = (("lon", "lat"), ("lng", "lat"), ("longitude", "latitude"), ("x", "y"))
CENSUS_JSON = Path("population") / "shanghai_district_age_2020_census.json"


# --------------------------------------------------------------------------- loading
_COORDS_OPTION = "coords= / --population-coords / population.coords"


def _no_crs_message(path: Path, kind: str) -> str:
    return (
        f"{path.name}: {kind}没有坐标系 (the file has no CRS): 用 {_COORDS_OPTION} 指定 "
        f"{COORDS_CHOICES}"
    )


def _raster_crs(coords, path: Path) -> CRS:
    """The declared CRS of a raster without one (an EPSG code or wgs84; never GCJ-02/BD-09)."""
    if coords is None:
        raise ValueError(_no_crs_message(path, "栅格"))
    system = normalize_coords(coords)
    if system in ("gcj02", "bd09"):
        raise ValueError(
            f"{path.name}: {system} 栅格无法直接使用, 请先重投影到 WGS84 或 EPSG 坐标系"
        )
    return CRS.from_user_input(WGS84 if system == "wgs84" else system)


def _load_raster(path: Path, band: int, coords, clip, report: LoadReport) -> gpd.GeoDataFrame:
    import rasterio
    from rasterio.windows import Window, from_bounds

    with rasterio.open(path) as src:
        rcrs = src.crs or _raster_crs(coords, path)
        window = None
        if clip is not None:
            gs = _as_geoseries(clip).to_crs(rcrs)
            window = from_bounds(*gs.total_bounds, transform=src.transform)
            window = window.round_offsets().round_lengths()
            window = window.intersection(Window(0, 0, src.width, src.height))
        data = src.read(band, window=window, masked=True)
        transform = src.window_transform(window) if window is not None else src.transform
    values = np.ma.filled(data.astype(float), np.nan)
    nodata = ~np.isfinite(values)
    zero = values == 0
    rows, cols = np.nonzero(~nodata & ~zero)
    counts = values[rows, cols]
    t = transform
    corners = [(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)]
    ring = np.stack(
        [
            np.column_stack(
                (
                    t.a * (cols + dc) + t.b * (rows + dr) + t.c,
                    t.d * (cols + dc) + t.e * (rows + dr) + t.f,
                )
            )
            for dc, dr in corners
        ],
        axis=1,
    )
    report.n_input = len(counts)
    report.note(
        f"raster {data.shape[1]}×{data.shape[0]} cells: {int(nodata.sum())} without data and "
        f"{int(zero.sum())} with 0 persons skipped"
    )
    gdf = gpd.GeoDataFrame(
        {
            "pop": counts,
            "src_row": rows * data.shape[1] + cols + 1,
            "cell_row": rows,
            "cell_col": cols,
        },
        geometry=shapely.polygons(ring),
        crs=rcrs,
    )
    negative = counts < 0
    for r, v in zip(gdf["src_row"][negative], counts[negative], strict=True):
        report.reject(int(r), "pop", "negative count (人口为负)", float(v))
    return gdf[~negative].reset_index(drop=True)


def population_needs_coords(path: str | Path) -> bool:
    """Whether a population file is a table of numbers (CSV/Excel) whose coordinate system must
    be declared: it carries none of its own."""
    return Path(path).suffix.lower() in TABLE_SUFFIXES


def _table_frame(path: Path, sheet) -> pd.DataFrame:
    if path.suffix.lower() in (".xlsx", ".xls"):
        return pd.read_excel(path, sheet_name=0 if sheet is None else sheet)
    return pd.read_csv(path, encoding="utf-8-sig")


def _table_geometry(df: pd.DataFrame, path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(geometries, x, y) of a cell or point table; x/y are the coordinates as written."""
    low = {str(c).lower(): c for c in df.columns}
    for names in _BOX_NAMES:
        if all(n in low for n in names):
            b = [pd.to_numeric(df[low[n]], errors="coerce").to_numpy(dtype=float) for n in names]
            ok = np.all([np.isfinite(a) for a in b], axis=0)
            geoms = np.full(len(df), None, dtype=object)
            geoms[ok] = shapely.box(*(a[ok] for a in b))
            return geoms, np.concatenate([b[0], b[2]]), np.concatenate([b[1], b[3]])
    for names in _POINT_NAMES:
        if all(n in low for n in names):
            x, y = (pd.to_numeric(df[low[n]], errors="coerce").to_numpy(dtype=float) for n in names)
            geoms = np.full(len(df), None, dtype=object)
            ok = np.isfinite(x) & np.isfinite(y)
            geoms[ok] = shapely.points(x[ok], y[ok])
            return geoms, x, y
    raise ValueError(
        f"{path}: 没有格网边界列 (no cell bounds: lon_min, lat_min, lon_max, lat_max) 或点坐标列 "
        f"(point columns: lon, lat 或 x, y); 文件中的列: {list(df.columns)}"
    )


def check_declared_values(x, y, system: str, what: str) -> None:
    """``ValueError`` when coordinates contradict their declared system: degree-looking values
    declared as a projected (metric) system, values beyond ±180/±90 declared as degrees, or
    lat/lon swapped (most points outside China, but inside it read the other way round)."""
    from pyproj import CRS as _CRS

    from .crs import out_of_china

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return
    x, y = x[ok], y[ok]
    geographic = system in ("wgs84", "gcj02", "bd09") or _CRS.from_user_input(system).is_geographic
    if not geographic:
        if looks_like_degrees(x, y):
            raise ValueError(
                f"{what}: 坐标值看起来是经纬度 (values look like degrees), 不是 {system} 的投影坐标 "
                f"(projected metres), 如 ({x[0]:g}, {y[0]:g}); 经纬度请声明为 wgs84, gcj02 或 bd09"
            )
        return
    if not looks_like_degrees(x, y):
        raise ValueError(
            f"{what}: 声明为 {system} (经纬度), 但坐标值不是经纬度 (values are not degrees), 如 "
            f"({x[0]:g}, {y[0]:g}); 投影坐标请声明 EPSG:xxxx (如 EPSG:4547)"
        )
    swapped = out_of_china(x, y) & ~out_of_china(y, x)
    if swapped.mean() > 0.5:
        raise ValueError(
            f"{what}: 大多数点的经纬度看起来互换了 (lat/lon look swapped), 如 ({x[0]:g}, {y[0]:g}); "
            "请检查经度列 (lon/x) 与纬度列 (lat/y)"
        )


def _in_wgs84(gdf: gpd.GeoDataFrame, system: str) -> gpd.GeoDataFrame:
    """A frame whose coordinates are written in ``system`` (any CRS label), in WGS84."""
    from .crs import to_wgs84

    return to_wgs84(gdf.set_crs(None, allow_override=True), system)


def _read_table(path: Path, layer, coords) -> gpd.GeoDataFrame:
    """A CSV/Excel table of cells or points in its declared system, returned in WGS84."""
    if coords is None:
        raise ValueError(missing_coords_message(f"人口表 {path.name}", _COORDS_OPTION))
    system = normalize_coords(coords)
    df = _table_frame(path, layer)
    geoms, x, y = _table_geometry(df, path)
    check_declared_values(x, y, system, f"人口表 {path.name}")
    return _in_wgs84(gpd.GeoDataFrame(df, geometry=geoms, crs=WGS84), system)


def _read_population_vector(path: Path, layer, coords, report: LoadReport) -> gpd.GeoDataFrame:
    """A vector file: its own CRS; a declaration only for a file without one, or to read
    GCJ-02/BD-09 lon/lat mislabelled as WGS84."""
    frame = gpd.read_file(path, layer=layer)
    system = None if coords is None else normalize_coords(coords)
    if frame.crs is None:
        if system is None:
            raise ValueError(_no_crs_message(path, "文件"))
        xy = shapely.get_coordinates(frame.geometry.to_numpy())
        check_declared_values(xy[:, 0], xy[:, 1], system, f"人口文件 {path.name}")
        return _in_wgs84(frame, system)
    if system in ("gcj02", "bd09"):
        if not CRS.from_user_input(frame.crs).is_geographic:
            raise ValueError(
                f"{path.name}: 声明为 {system}, 但文件是投影坐标系 {frame.crs.to_string()} "
                f"(declared {system} but the file is projected); {system} 是经纬度"
            )
        return _in_wgs84(frame, system)
    if system is not None and system != normalize_coords(frame.crs):
        report.note(f"使用文件自带的坐标系 {frame.crs.to_string()} (声明为 {system})")
    return frame


def load_population(
    path: str | Path,
    count_col: str = "population",
    layer: str | int | None = None,
    coords: str | int | CRS | None = None,
    clip=None,
    band: int = 1,
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Load population counts as polygons (or points) with a ``pop`` column.

    Parameters
    ----------
    path : str or Path
        A raster (``.tif`` ...; cells become polygons), a vector file of counted polygons or
        points, or a CSV/Excel table of cells or points (see the module docstring).
    count_col : str
        Count column of tables. With the default, ``pop``/``人口``/``count``/``value`` are tried too.
    layer : str or int, optional
        Layer of a multi-layer vector file, or the sheet of an Excel table.
    coords : str, int or CRS
        The system the coordinates are written in: ``wgs84``, ``gcj02`` (高德/腾讯), ``bd09``
        (百度) or an EPSG code. **Required for CSV/Excel tables** (there is no default: GCJ-02 is
        about 500 m from WGS84) and for a vector file or raster without a CRS of its own; a
        vector file with a CRS needs none (``gcj02``/``bd09`` read its lon/lat in that system).
        Values that contradict it (degrees declared metric, metres declared degrees, lat/lon
        swapped) raise ``ValueError``.
    clip : geometry, GeoSeries or GeoDataFrame, optional
        Read only the raster window covering this (WGS84 when a bare geometry).
    band : int
        Raster band.

    Returns
    -------
    (GeoDataFrame, LoadReport)
        Columns ``pop`` (float), ``src_row`` (spreadsheet row of a table, header = row 1; feature
        number of a vector file; cell number of a raster), geometry in
        the raster's or vector file's CRS (tables and declared systems: WGS84). Rows with a
        missing, non-numeric or negative count or no geometry are rejected in the report.

    Raises
    ------
    ValueError
        A table (or a file without a CRS) without ``coords``, with the choices; values that
        contradict the declared system; no count column.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    report = LoadReport(str(path))
    if path.suffix.lower() in RASTER_SUFFIXES:
        gdf = _load_raster(path, band, coords, clip, report)
        report.n_loaded = len(gdf)
        report.stats["total"] = float(gdf["pop"].sum())
        return gdf, report

    if population_needs_coords(path):
        gdf = _read_table(path, layer, coords)
    else:
        gdf = _read_population_vector(path, layer, coords, report)
    col = count_col
    if col not in gdf.columns:
        low = {str(c).lower(): c for c in gdf.columns}
        hits = [low[n] for n in _COUNT_NAMES if n in low] if count_col == "population" else []
        if not hits:
            raise ValueError(f"{path}: no count column {count_col!r}; columns: {list(gdf.columns)}")
        col = hits[0]
    report.n_input = len(gdf)
    # rows as the planner sees them: spreadsheet rows (header = row 1), feature numbers
    first = 2 if population_needs_coords(path) else 1
    raw = gdf[col]
    counts = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    geoms = gdf.geometry.to_numpy()
    no_geom = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    bad_count = ~no_geom & ~np.isfinite(counts)
    negative = ~no_geom & np.isfinite(counts) & (counts < 0)
    ok = ~(no_geom | bad_count | negative)
    for i in np.flatnonzero(~ok):  # only the rejected rows
        if no_geom[i]:
            report.reject(int(i) + first, "geometry", "missing geometry (缺少几何)")
        elif bad_count[i]:
            reason = "missing or non-numeric count (人口缺失或不是数字)"
            report.reject(int(i) + first, col, reason, raw.iloc[i])
        else:
            report.reject(int(i) + first, col, "negative count (人口为负)", float(counts[i]))
    invalid = ok & ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid])
        report.note(f"repaired {int(invalid.sum())} invalid geometries")
    keep = np.flatnonzero(ok)
    out = gpd.GeoDataFrame(
        {"pop": counts[keep], "src_row": keep + first},
        geometry=geoms[keep],
        crs=gdf.crs,
    )
    for c in gdf.columns:
        if c not in (col, gdf.geometry.name, "pop", "src_row"):
            out[c] = gdf[c].to_numpy()[keep]
    report.n_loaded = len(out)
    report.stats["total"] = float(out["pop"].sum())
    return out, report


# --------------------------------------------------------------------------- distribution
def _as_geoseries(obj) -> gpd.GeoSeries:
    if isinstance(obj, gpd.GeoDataFrame):
        obj = obj.geometry
    if isinstance(obj, gpd.GeoSeries):
        return obj if obj.crs is not None else obj.set_crs(WGS84)
    return gpd.GeoSeries([obj], crs=WGS84)


def _population_frame(population, count_col: str) -> tuple[gpd.GeoDataFrame, str]:
    if isinstance(population, str | Path):
        population, _ = load_population(population)
        return population, "pop"
    if count_col not in population.columns:
        raise ValueError(f"population has no count column {count_col!r}")
    if population.crs is None:
        raise ValueError("population GeoDataFrame has no CRS")
    return population, count_col


def distribute_to_points(
    source: gpd.GeoDataFrame | str | Path,
    points: gpd.GeoDataFrame | gpd.GeoSeries,
    weights: np.ndarray | None = None,
    count_col: str = "pop",
    report: LoadReport | None = None,
) -> np.ndarray:
    """Distribute counted polygons (or points) onto target points, conserving the total.

    Parameters
    ----------
    source : GeoDataFrame or path
        Polygons (or points) with ``count_col``; a path is read with :func:`load_population`.
    points : GeoDataFrame or GeoSeries
        Target points (any CRS; non-point geometries use a representative point).
    weights : array, optional
        Non-negative weight per target point (e.g. street length around a node); a polygon's count
        is split in proportion to the weights of the points inside it (equally if all are 0).
        Default: equal split.
    count_col : str
        Count column of ``source``.
    report : LoadReport, optional
        Receives notes and ``stats`` (``sources_without_points``, ``pop_to_nearest``,
        ``max_nearest_m``, ``total_in``, ``total_out``).

    Returns
    -------
    numpy.ndarray
        Population per target point; ``sum`` equals the source total.
    """
    src, count_col = _population_frame(source, count_col)
    pts = _as_geoseries(points)
    if len(pts) == 0:
        raise ValueError("no target points to distribute population onto")
    metric = metric_crs_for(pts)
    pgeom = pts.to_crs(metric).to_numpy()
    nonpoint = shapely.get_type_id(pgeom) != 0
    if nonpoint.any():
        pgeom = pgeom.copy()
        pgeom[nonpoint] = shapely.point_on_surface(pgeom[nonpoint])
    n = len(pgeom)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (n,) or not np.all(np.isfinite(w)) or (w < 0).any():
        raise ValueError(f"weights must be {n} finite non-negative numbers")
    counts = src[count_col].to_numpy(dtype=float)
    if not np.all(np.isfinite(counts)):
        raise ValueError(f"population column {count_col!r} has missing values")
    active = np.flatnonzero(counts != 0)
    geoms = src.geometry.to_crs(metric).to_numpy()[active]
    counts = counts[active]

    out = np.zeros(n)
    tree = shapely.STRtree(pgeom)
    areal = shapely.get_dimensions(geoms) == 2
    poly_idx = np.flatnonzero(areal)
    si, pi = tree.query(geoms[poly_idx], predicate="intersects")
    si = poly_idx[si]
    pw = w[pi]
    wsum = np.bincount(si, weights=pw, minlength=len(geoms))
    has_pts = np.bincount(si, minlength=len(geoms)) > 0
    zero_w = has_pts & (wsum <= 0)
    if zero_w.any():  # points inside but all weights 0: split equally
        pw = np.where(zero_w[si], 1.0, pw)
        wsum = np.bincount(si, weights=pw, minlength=len(geoms))
    if len(si):
        out += np.bincount(pi, weights=counts[si] * pw / wsum[si], minlength=n)

    orphan = np.flatnonzero(~has_pts)
    max_d = 0.0
    if len(orphan):
        (oi, opi), dist = tree.query_nearest(geoms[orphan], return_distance=True, all_matches=False)
        out += np.bincount(opi, weights=counts[orphan[oi]], minlength=n)
        max_d = float(dist.max())
    total_in = float(counts.sum())
    if report is not None:
        n_orphan_polys = int((~has_pts & areal).sum())
        pop_orphan = float(counts[orphan].sum())
        report.stats.update(
            sources=float(len(src)),
            sources_without_points=float(n_orphan_polys),
            point_sources=float((~areal).sum()),
            pop_to_nearest=pop_orphan,
            max_nearest_m=max_d,
            total_in=total_in,
            total_out=float(out.sum()),
        )
        if len(orphan):
            report.note(
                f"{n_orphan_polys} source polygons hold no target point and "
                f"{int((~areal).sum())} sources are points: their {pop_orphan:,.0f} persons went to "
                f"the nearest point (at most {max_d:,.0f} m away)"
            )
    return out


def node_street_length(net) -> np.ndarray:
    """Half the length of the streets meeting at each node (metres; weight for distribution)."""
    # every street is stored in both directions, so the out-edges of a node are all its streets
    u = net.edges["u_idx"].to_numpy()
    return (
        np.bincount(u, weights=net.edges["length"].to_numpy(dtype=float), minlength=net.n_nodes) / 2
    )


def _clip(src: gpd.GeoDataFrame, count_col: str, region, metric) -> tuple[gpd.GeoDataFrame, float]:
    """Cut sources to ``region`` (metric geometry) by area share; returns (clipped, pop outside)."""
    s = src.to_crs(metric)
    geoms = s.geometry.to_numpy()
    counts = s[count_col].to_numpy(dtype=float)
    shapely.prepare(region)
    inside = shapely.covered_by(geoms, region)
    touch = shapely.intersects(geoms, region) & ~inside
    frac = inside.astype(float)
    areal = shapely.get_dimensions(geoms) == 2
    part = touch & areal
    new_geoms = geoms.copy()
    if part.any():
        cut = shapely.intersection(geoms[part], region)
        area = shapely.area(geoms[part])
        frac[part] = np.where(area > 0, shapely.area(cut) / np.where(area > 0, area, 1), 0.0)
        new_geoms[part] = cut
    frac[touch & ~areal] = 1.0  # lines/points touching the edge count as inside
    keep = frac > 0
    out = gpd.GeoDataFrame(
        {count_col: counts[keep] * frac[keep]}, geometry=new_geoms[keep], crs=metric
    )
    return out, float((counts * (1 - frac)).sum())


def demand_from_network(
    net,
    population: gpd.GeoDataFrame | str | Path | None = None,
    boundary=None,
    share60: float | None = None,
    include_outside_m: float = 0.0,
    node_weight: str = "length",
    count_col: str = "pop",
    report: LoadReport | None = None,
) -> gpd.GeoDataFrame:
    """Demand points at network nodes, weighted by population.

    Parameters
    ----------
    net : WalkNetwork
    population : GeoDataFrame or path, optional
        Counted polygons/points (:func:`load_population`). ``None``: every node weighs 1.
    boundary : geometry, GeoSeries or GeoDataFrame, optional
        Study area (WGS84 when a bare geometry). Only nodes inside (or within
        ``include_outside_m`` of it) are demand points; population outside is cut away by area
        share and reported. Without a boundary, the area is the convex hull of all nodes.
    share60 : float, optional
        Share of residents aged 60+ (:func:`district_age_share`); ``pop60`` is NaN without it.
    include_outside_m : float
        Margin around the boundary (metres).
    node_weight : {"length", "uniform"}
        How a cell's population is split among the nodes inside it: by the street length around
        each node (default) or equally.
    count_col : str
        Count column of a population GeoDataFrame.
    report : LoadReport, optional
        Receives the distribution figures (also stored in ``result.attrs["report"]``).

    Returns
    -------
    GeoDataFrame
        ``node_idx`` (position in ``net`` arrays), ``osmid``, ``pop``, ``pop60``, geometry
        (EPSG:4326 points at the nodes).
    """
    report = report or LoadReport("population → network nodes")
    x, y = net.xy[:, 0], net.xy[:, 1]
    if boundary is not None:
        region = shapely.union_all(_as_geoseries(boundary).to_crs(net.crs).to_numpy())
        if include_outside_m > 0:
            region = region.buffer(include_outside_m)
        shapely.prepare(region)
        sel = np.flatnonzero(shapely.intersects_xy(region, x, y))
        if len(sel) == 0:
            raise ValueError("no network node lies inside the boundary")
    else:
        sel = np.arange(net.n_nodes)
        region = shapely.convex_hull(shapely.multipoints(net.xy))
        if include_outside_m > 0:
            region = region.buffer(include_outside_m)
    report.n_input = report.n_loaded = len(sel)

    if population is None:
        pop = np.ones(len(sel))
        report.note("no population given: every node weighs 1")
    else:
        src, col = _population_frame(population, count_col)
        total = float(src[col].sum())
        clipped, outside = _clip(src, col, region, net.crs)
        if node_weight == "length":
            weights = node_street_length(net)[sel]
        elif node_weight == "uniform":
            weights = None
        else:
            raise ValueError(f"node_weight must be 'length' or 'uniform', not {node_weight!r}")
        pts = gpd.GeoSeries(shapely.points(net.xy[sel]), crs=net.crs)
        pop = distribute_to_points(clipped, pts, weights=weights, count_col=col, report=report)
        report.stats.update(population_total=total, pop_outside_area=outside)
        if outside > 0:
            report.note(
                f"{outside:,.0f} of {total:,.0f} persons ({outside / total:.1%}) live outside the "
                "study area and are not counted"
            )
    pop60 = np.full(len(sel), np.nan) if share60 is None else apply_age_share(pop, share60)
    out = gpd.GeoDataFrame(
        {"node_idx": sel, "osmid": net.node_ids[sel], "pop": pop, "pop60": pop60},
        geometry=gpd.points_from_xy(net.lonlat[sel, 0], net.lonlat[sel, 1]),
        crs=WGS84,
    )
    out.attrs["report"] = report
    return out


# --------------------------------------------------------------------------- age
def district_age_share(json_path: str | Path | None, district: str, age: int = 60) -> float:
    """Share of a district's residents aged ``age``+ (60, 65 or 80) from the census JSON.

    Parameters
    ----------
    json_path : str or Path, optional
        The census table (``columns`` + ``rows``, as in the shared
        ``population/shanghai_district_age_2020_census.json``); ``None`` reads that file from
        ``$LIFECIRCLE_DATA``.
    district : str
        District name, with or without ``区`` (``普陀区``, ``普陀``).
    age : int
        60, 65 or 80.

    Returns
    -------
    float
        E.g. 普陀区, 60: 37.89 / 123.98 = 0.3056.
    """
    if json_path is None:
        json_path = data_dir(required=True) / CENSUS_JSON
    with open(json_path, encoding="utf-8") as fh:
        table = json.load(fh)
    cols = table["columns"]
    col = f"age_{age}_plus"
    if col not in cols:
        raise ValueError(f"{json_path}: no column {col!r}; columns: {cols}")
    rows = {r[0]: r for r in table["rows"]}
    name = district.strip()
    row = rows.get(name) or rows.get(name + "区")
    if row is None:
        raise ValueError(f"{json_path}: no district {district!r}; known: {list(rows)}")
    total = float(row[cols.index("total")])
    return float(row[cols.index(col)]) / total


def apply_age_share(pop, share: float, col: str = "pop", out: str = "pop60"):
    """Multiply population by an age share.

    ``pop`` is an array (returns an array) or a DataFrame (returns a copy with column ``out``).
    """
    share = float(share)
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"an age share is between 0 and 1, not {share}")
    if isinstance(pop, pd.DataFrame):
        res = pop.copy()
        res[out] = res[col].to_numpy(dtype=float) * share
        return res
    return np.asarray(pop, dtype=float) * share
