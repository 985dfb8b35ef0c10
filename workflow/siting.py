"""New sites for one more facility of a category, with gains worded for the demand basis."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from ..geo.network import WalkNetwork
from ..geo.report import LoadReport
from ..settings import DEFAULT_MINUTES


@dataclass
class NewSites:
    """The result of :func:`site_new_facilities`.

    Attributes
    ----------
    sites : GeoDataFrame (EPSG:4326 points)
        ``rank``, ``kind`` (``optimal``), ``site_id``, ``name``, ``lon``, ``lat``,
        ``lon_gcj02``, ``lat_gcj02``, sequential gains per threshold (``gain_pop_<m>min``,
        ``gain_pop60_<m>min``, ``gain_pp_<m>min`` ...; ``gain_nodes_<m>min`` when the population
        is unknown), ``objective``, ``bound``, ``gap``, ``model``, ``status``, ``category``,
        ``profile``, ``minutes``, ``weight``: the columns of ``lifecircle site``.
    new_coverage : GeoDataFrame (EPSG:4326)
        Area newly covered per threshold, with its gains.
    candidates : DataFrame
        Every candidate ranked by what it would add next (``candidates.csv``).
    summary : dict
        :attr:`lifecircle.analysis.siting.SiteSelection.summary` plus ``category``,
        ``profile``, ``n_existing``, ``weight_label``, ``population_known``.
    report : LoadReport
        Sites and demand left out, demand no site reaches.
    """

    sites: gpd.GeoDataFrame
    new_coverage: gpd.GeoDataFrame
    candidates: pd.DataFrame
    summary: dict
    report: LoadReport


def site_new_facilities(
    net: WalkNetwork,
    demand: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame | None,
    *,
    category: str = "elder_care",
    minutes: float = 15,
    new: int = 3,
    model: str = "greedy",
    profile: str = "elderly",
    report_minutes: Sequence[float] = DEFAULT_MINUTES,
    spacing_m: float = 150.0,
    max_snap_m: float = 250.0,
    population_known: bool = True,
    time_limit: float = 60.0,
    progress: bool = False,
    candidates: gpd.GeoDataFrame | None = None,
) -> NewSites:
    """The best ``new`` sites for one more facility of ``category`` (``lifecircle site --new``).

    Candidates are ``candidates`` when given (e.g. :func:`lifecircle.analysis.siting.read_candidates`
    of a file, as ``lifecircle site --candidates``), else network nodes inside the boundary at
    least ``spacing_m`` apart (:func:`lifecircle.analysis.siting.generate_candidates`); the
    existing facilities of the
    category stay open; the model (``greedy``: greedy+swap, ``mclp``, ``lscp``, ``pmedian``)
    maximises the demand within ``minutes`` (:meth:`SitingProblem.solve`), weighted by the 60+
    population when it is known, else by population (or network nodes).

    Parameters
    ----------
    net, demand, facilities, boundaries
        As for :func:`run_pipeline`.
    category, minutes, new, model, profile
        The siting question.
    report_minutes : sequence of float
        Thresholds whose gains the table reports.
    spacing_m : float
        Minimum distance between candidate nodes.
    max_snap_m : float
        Facilities farther from every street are left out (reported).
    population_known : bool
        False renames the people gains to ``gain_nodes_*`` and drops the share gains.
    time_limit : float
        Solver seconds (MCLP/LSCP/p-median); the proven gap is reported.
    progress : bool
        tqdm progress bar over the bounded searches.
    candidates : GeoDataFrame, optional
        Candidate sites (points, any CRS; ``site_id``, ``name``); candidates off the network
        are reported, not used.
    """
    from ..analysis.siting import (
        WEIGHT_LABELS,
        SitingProblem,
        generate_candidates,
        notes_for_weight,
        optimal_sites,
        relabel_gains,
    )

    dem = demand.copy()
    pop60_known = "pop60" in dem.columns and bool(np.isfinite(dem["pop60"].to_numpy(float)).any())
    if not pop60_known and "pop60" in dem.columns:
        dem = dem.drop(columns="pop60")  # SitingProblem then weighs it 1 per row: unused below
    weight = "pop60" if pop60_known else "pop"
    existing = facilities.loc[facilities["category"].astype(str) == category]
    given = candidates is not None
    cands = candidates if given else generate_candidates(net, boundaries, spacing_m=spacing_m)
    thresholds = sorted({float(m) for m in report_minutes} | {float(minutes)})
    prob = SitingProblem.build(
        net,
        dem,
        candidates=cands,
        existing=existing,
        minutes=thresholds,
        profile=profile,
        max_snap_m=max_snap_m,
        progress=progress,
    )
    opt = optimal_sites(
        prob,
        model,
        p=int(new),
        minutes=float(minutes),
        weight=weight,
        category=category,
        time_limit=time_limit,
    )
    sites = relabel_gains(opt.sites, pop60_known, population_known)
    if not population_known:
        sites["weight"] = "nodes"
    newcov = opt.new_coverage
    newcov["category"] = category
    newcov = relabel_gains(newcov, pop60_known, population_known)
    ranking = relabel_gains(opt.ranking, pop60_known, population_known)
    summary = dict(opt.selection.summary)
    summary.update(
        category=category,
        profile=prob.profile.name,
        n_existing=int(len(prob.existing_idx)),
        weight_label=("路网节点" if not population_known else WEIGHT_LABELS.get(weight, weight)),
        population_known=population_known,
        candidates_label=(
            f"{candidates.attrs.get('source', '给定文件')} 中的 {len(candidates)} 处候选点"
            if given
            else f"研究范围内的路网节点（间距不小于 {spacing_m:g} 米，{len(cands)} 处）"
        ),
    )
    prob.report.notes[:] = notes_for_weight(prob.report.notes, weight)
    return NewSites(sites, newcov, ranking, summary, prob.report)
