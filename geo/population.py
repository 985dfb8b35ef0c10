"""Population weights: from rasters or counted polygons onto network nodes or demand points.

Sources
-------
* a raster (GeoTIFF etc., any CRS; WorldPop-style persons per cell): every cell with data becomes
  a cell polygon with its count;
* polygons with a count column (grid cells, buildings, residential compounds) from GeoJSON, GPKG,
  Shapefile, or a CSV of cells with ``lon_min``/``lat_min``/``lon_max``/``lat_max`` (like the shared
  0.01° grid) or of points with ``lon``/``lat``.

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
from .crs import metric_crs_for
from .features import read_vector
from .report import LoadReport

__all__ = [
    "RASTER_SUFFIXES",
    "apply_age_share",
    "demand_from_network",
    "distribute_to_points",
    "district_age_share",
    "load_population",
    "node_street_length",
]

RASTER_SUFFIXES = (".tif", ".tiff", ".img", ".vrt", ".asc", ".bil")
_COUNT_NAMES = ("population", "pop", "人口", "总人口", "count", "value", "persons")
_BOX_NAMES = (
    ("lon_min", "lat_min", "lon_max", "lat_max"),
    ("xmin", "ymin", "xmax", "ymax"),
    ("minx", "miny", "maxx", "maxy"),
)
_POINT_NAMES = (("lon", "lat"), ("lng", "lat"), ("longitude", "latitude"), ("x", "y"))
CENSUS_JSON = Path("population") / "shanghai_district_age_2020_census.json"


# --------------------------------------------------------------------------- loading
def _load_raster(path: Path, band: int, crs, clip, report: LoadReport) -> gpd.GeoDataFrame:
    import rasterio
    from rasterio.windows import Window, from_bounds

    with rasterio.open(path) as src:
        rcrs = src.crs or (CRS.from_user_input(crs) if crs else None)
        if rcrs is None:
            raise ValueError(f"{path}: the raster has no CRS; give crs=")
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


def _read_table(path: Path, layer, crs) -> gpd.GeoDataFrame:
    if path.suffix.lower() in (".csv", ".txt"):
        df = pd.read_csv(path, encoding="utf-8-sig")
        low = {c.lower(): c for c in df.columns}
        for names in _BOX_NAMES:
            if all(n in low for n in names):
                b = [pd.to_numeric(df[low[n]], errors="coerce").to_numpy() for n in names]
                ok = np.all([np.isfinite(a) for a in b], axis=0)
                geoms = np.full(len(df), None, dtype=object)
                geoms[ok] = shapely.box(*(a[ok] for a in b))
                return gpd.GeoDataFrame(df, geometry=geoms, crs=crs or WGS84)
        for names in _POINT_NAMES:
            if all(n in low for n in names):
                x, y = (pd.to_numeric(df[low[n]], errors="coerce").to_numpy() for n in names)
                geoms = np.full(len(df), None, dtype=object)
                ok = np.isfinite(x) & np.isfinite(y)
                geoms[ok] = shapely.points(x[ok], y[ok])
                return gpd.GeoDataFrame(df, geometry=geoms, crs=crs or WGS84)
        raise ValueError(
            f"{path}: no cell bounds (lon_min, lat_min, lon_max, lat_max) or point columns "
            f"(lon, lat) found; columns: {list(df.columns)}"
        )
    return read_vector(path, layer, crs)


def load_population(
    path: str | Path,
    count_col: str = "population",
    layer: str | None = None,
    crs: str | int | CRS | None = None,
    clip=None,
    band: int = 1,
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Load population counts as polygons (or points) with a ``pop`` column.

    Parameters
    ----------
    path : str or Path
        A raster (``.tif`` ...; cells become polygons) or a vector/CSV table of counted polygons
        or points (see the module docstring).
    count_col : str
        Count column of tables. With the default, ``pop``/``人口``/``count``/``value`` are tried too.
    layer : str, optional
        Layer of a multi-layer vector file.
    crs : optional
        CRS of a CSV (default WGS84) or of a file/raster without one.
    clip : geometry, GeoSeries or GeoDataFrame, optional
        Read only the raster window covering this (WGS84 when a bare geometry).
    band : int
        Raster band.

    Returns
    -------
    (GeoDataFrame, LoadReport)
        Columns ``pop`` (float), ``src_row`` (1-based row, or cell number for rasters), geometry in
        the source CRS. Rows with a missing, non-numeric or negative count or no geometry are
        rejected in the report.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    report = LoadReport(str(path))
    if path.suffix.lower() in RASTER_SUFFIXES:
        gdf = _load_raster(path, band, crs, clip, report)
        report.n_loaded = len(gdf)
        report.stats["total"] = float(gdf["pop"].sum())
        return gdf, report

    gdf = _read_table(path, layer, crs)
    col = count_col
    if col not in gdf.columns:
        low = {str(c).lower(): c for c in gdf.columns}
        hits = [low[n] for n in _COUNT_NAMES if n in low] if count_col == "population" else []
        if not hits:
            raise ValueError(f"{path}: no count column {count_col!r}; columns: {list(gdf.columns)}")
        col = hits[0]
    report.n_input = len(gdf)
    raw = gdf[col]
    counts = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    geoms = gdf.geometry.to_numpy()
    no_geom = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    bad_count = ~no_geom & ~np.isfinite(counts)
    negative = ~no_geom & np.isfinite(counts) & (counts < 0)
    ok = ~(no_geom | bad_count | negative)
    for i in np.flatnonzero(~ok):  # only the rejected rows
        if no_geom[i]:
            report.reject(int(i) + 1, "geometry", "missing geometry (缺少几何)")
        elif bad_count[i]:
            reason = "missing or non-numeric count (人口缺失或不是数字)"
            report.reject(int(i) + 1, col, reason, raw.iloc[i])
        else:
            report.reject(int(i) + 1, col, "negative count (人口为负)", float(counts[i]))
    invalid = ok & ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid])
        report.note(f"repaired {int(invalid.sum())} invalid geometries")
    keep = np.flatnonzero(ok)
    out = gpd.GeoDataFrame(
        {"pop": counts[keep], "src_row": keep + 1},
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
