"""Dasymetric population: control totals spread over buildings by residential floor area.

Three ways to the residents (:func:`dasymetric_population`), two of them control totals:

* a **street total** (``population_total``, e.g. 石泉路街道 96,200): each building gets
  ``total × its floor area / all residential floor area``;
* a **population layer** (grid cells or raster, :func:`lifecircle.geo.population.load_population`):
  each cell's count goes to the residential floor area inside that cell. The areal step is
  tobler's extensive ``area_interpolate`` (PySAL) given a floor-area table: entry (cell i,
  building j) = floor area of j × share of j's footprint inside i, so a building across two cells
  takes from both. A cell holding no residential floor area gives its count to the nearest
  residential building (reported, never lost). With a study area, cells are first cut to it by
  area share and the part outside is reported;
* with neither, an **assumed floor area per resident** (``m2_per_person``, e.g. 35 m²): an
  estimate with no control total, labelled as such wherever it is shown.

Totals are conserved: the buildings' sum equals the (clipped) control total up to
floating-point rounding (tests assert 1e-9 relative).

60+ (:func:`age_population`): a share from the district census file
(:func:`lifecircle.geo.population.district_age_share`) or a share per 居民区 where given.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from ..settings import WGS84
from .crs import metric_crs_for
from .population import _clip, _population_frame
from .report import LoadReport

__all__ = ["age_population", "building_demand", "dasymetric_population", "floor_area_table"]


def floor_area_table(
    cells: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, metric
) -> sparse.csr_matrix:
    """Residential floor area of each building inside each cell (cells × buildings, m²).

    Entry (i, j) = ``floor_area_m2[j] × area(cell_i ∩ footprint_j) / area(footprint_j)``.
    """
    cg = cells.geometry.to_crs(metric).to_numpy()
    bg = buildings.geometry.to_crs(metric).to_numpy()
    fa = buildings["floor_area_m2"].to_numpy(dtype=float)
    res = np.flatnonzero(fa > 0)
    tree = shapely.STRtree(bg[res])
    ci, k = tree.query(cg, predicate="intersects")
    bj = res[k]
    foot = shapely.area(bg[bj])
    part = shapely.area(shapely.intersection(cg[ci], bg[bj]))
    share = np.where(foot > 0, part / np.where(foot > 0, foot, 1.0), 0.0)
    return sparse.csr_matrix((fa[bj] * share, (ci, bj)), shape=(len(cg), len(bg)), dtype=np.float64)


def _from_layer(
    cells: gpd.GeoDataFrame, col: str, buildings: gpd.GeoDataFrame, metric, report: LoadReport
) -> np.ndarray:
    """Cell counts onto buildings through tobler's area_interpolate on the floor-area table."""
    from tobler.area_weighted import area_interpolate

    table = floor_area_table(cells, buildings, metric)
    counts = cells[col].to_numpy(dtype=float)
    src = gpd.GeoDataFrame({"pop": counts}, geometry=cells.geometry.to_crs(metric).to_numpy())
    src = src.set_crs(metric)
    tgt = gpd.GeoDataFrame(geometry=buildings.geometry.to_crs(metric).to_numpy(), crs=metric)
    est = area_interpolate(src, tgt, extensive_variables=["pop"], table=table)
    pop = est["pop"].to_numpy(dtype=float, copy=True)

    orphan = np.flatnonzero((np.asarray(table.sum(axis=1)).ravel() <= 0) & (counts != 0))
    if len(orphan):
        fa = buildings["floor_area_m2"].to_numpy(dtype=float)
        res = np.flatnonzero(fa > 0)
        bg = buildings.geometry.to_crs(metric).to_numpy()[res]
        cg = src.geometry.to_numpy()[orphan]
        (oi, bj), dist = shapely.STRtree(bg).query_nearest(
            cg, return_distance=True, all_matches=False
        )
        pop += np.bincount(res[bj], weights=counts[orphan[oi]], minlength=len(pop))
        moved = float(counts[orphan].sum())
        report.stats.update(cells_without_buildings=float(len(orphan)), pop_to_nearest=moved)
        report.note(
            f"{len(orphan)} 个人口格网内没有住宅建筑：其 {moved:,.0f} 人归入最近的住宅建筑"
            f"（最远 {float(dist.max()):,.0f} 米）"
        )
    return pop


def dasymetric_population(
    buildings: gpd.GeoDataFrame,
    *,
    population: gpd.GeoDataFrame | str | None = None,
    total: float | None = None,
    m2_per_person: float | None = None,
    area=None,
    count_col: str = "pop",
    report: LoadReport | None = None,
) -> np.ndarray:
    """Residents per building, in proportion to residential floor area.

    Parameters
    ----------
    buildings : GeoDataFrame
        From :mod:`lifecircle.geo.buildings` (``floor_area_m2``, polygons, CRS set).
    population : GeoDataFrame or path, optional
        Counted cells (grid, raster cells) as control totals.
    total : float, optional
        One control total for all buildings (the street's ``population_total``).
    m2_per_person : float, optional
        Without a control total: residents = residential floor area / this.
    area : geometry, GeoSeries or GeoDataFrame, optional
        Study area: cells are cut to it by area share first (population layer only).
    count_col : str
        Count column of a population GeoDataFrame.
    report : LoadReport, optional
        Receives ``stats`` (``total_in``, ``total_out``, ``pop_outside_area`` …) and notes.

    Returns
    -------
    ndarray
        Persons per building (0 for non-residential ones); sums to the control total.
    """
    if sum(x is not None for x in (population, total, m2_per_person)) != 1:
        raise ValueError("give a population layer, a total or m2_per_person, exactly one")
    report = report if report is not None else LoadReport("dasymetric population")
    fa = buildings["floor_area_m2"].to_numpy(dtype=float)
    if fa.sum() <= 0:
        raise ValueError("no residential floor area: no building to put residents in")
    if m2_per_person is not None:
        if not (np.isfinite(m2_per_person) and m2_per_person > 0):
            raise ValueError(f"m2_per_person must be > 0, not {m2_per_person}")
        pop = fa / float(m2_per_person)
        report.stats.update(total_in=float(pop.sum()), total_out=float(pop.sum()))
        return pop
    if total is not None:
        total = float(total)
        if not (np.isfinite(total) and total >= 0):
            raise ValueError(f"population_total must be a number >= 0, not {total}")
        pop = total * fa / fa.sum()
        report.stats.update(total_in=total, total_out=float(pop.sum()))
        return pop
    metric = metric_crs_for(buildings)
    cells, col = _population_frame(population, count_col)
    total_in = float(cells[col].sum())
    outside = 0.0
    if area is not None:
        gs = area.geometry if isinstance(area, gpd.GeoDataFrame) else area
        if not isinstance(gs, gpd.GeoSeries):
            gs = gpd.GeoSeries([gs], crs=WGS84)
        region = shapely.union_all(gs.to_crs(metric).to_numpy())
        cells, outside = _clip(cells, col, region, metric)
        if outside > 0:
            report.note(f"人口图层 {total_in:,.0f} 人中 {outside:,.0f} 人在研究范围外，未计入")
    pop = _from_layer(cells, col, buildings, metric, report)
    report.stats.update(total_in=total_in, pop_outside_area=outside, total_out=float(pop.sum()))
    return pop


def age_population(
    pop: np.ndarray,
    buildings: gpd.GeoDataFrame,
    share60: float | None = None,
    compounds: gpd.GeoDataFrame | None = None,
    share_col: str = "share60",
) -> np.ndarray:
    """Residents aged 60+ per building.

    The share of the 居民区 a building stands in (``compounds[share_col]``, where given)
    wins over the district ``share60``; NaN where neither is known.
    """
    share = np.full(len(buildings), np.nan if share60 is None else float(share60))
    if compounds is not None and share_col in compounds.columns and len(compounds):
        metric = metric_crs_for(buildings)
        pts = shapely.point_on_surface(buildings.geometry.to_crs(metric).to_numpy())
        polys = compounds.geometry.to_crs(metric).to_numpy()
        bi, ci = shapely.STRtree(polys).query(pts, predicate="within")
        cshare = pd.to_numeric(compounds[share_col], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(cshare[ci])
        share[bi[ok]] = cshare[ci[ok]]
    if np.any((share < 0) | (share > 1)):
        raise ValueError("an age share is between 0 and 1")
    return np.asarray(pop, dtype=float) * share


def building_demand(
    buildings: gpd.GeoDataFrame, pop: np.ndarray, pop60: np.ndarray | None = None
) -> gpd.GeoDataFrame:
    """Demand points: one per residential building with residents (WGS84 point on its surface).

    Coverage snaps each point to its nearest street (the 250 m rule): that is the building's
    entrance to the walking network.
    """
    pop = np.asarray(pop, dtype=float)
    pop60 = np.full(len(pop), np.nan) if pop60 is None else np.asarray(pop60, dtype=float)
    keep = np.flatnonzero(pop > 0)
    metric = metric_crs_for(buildings)
    pts = shapely.point_on_surface(buildings.geometry.to_crs(metric).to_numpy()[keep])
    out = gpd.GeoDataFrame(
        {
            "bid": buildings["bid"].to_numpy()[keep],
            "name": buildings["name"].to_numpy()[keep],
            "floor_area_m2": buildings["floor_area_m2"].to_numpy()[keep],
            "pop": pop[keep],
            "pop60": pop60[keep],
            "src_row": buildings["src_row"].to_numpy()[keep],
        },
        geometry=gpd.GeoSeries(pts, crs=metric).to_crs(WGS84).to_numpy(),
        crs=WGS84,
    )
    out.attrs["demand_basis"] = "buildings"
    return out
