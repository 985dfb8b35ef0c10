"""Residents as the unit of a run: building demand, 居民区, 2SFCA and a standard's 达标率.

:class:`ResidentsOptions` gathers what ``--buildings``, ``--population-total``,
``--compounds``, ``--capacity-col`` and ``--standard`` ask for. :func:`building_demand_for`
turns footprints into demand points (residents estimated from residential floor area, 估算);
:func:`analyse_residents` computes the 居民区 table, the 2SFCA scores and the 达标率 on the
walks coverage uses; :func:`write_residents` writes ``compounds.csv``, ``access.csv``,
``attainment.csv`` and ``residents.gpkg``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import cells
from ..analysis.accessibility import AccessResult, access_summary, compute_access
from ..analysis.compounds import compound_reach, compounds_missing
from ..analysis.point_walks import nearest_walks
from ..analysis.standards import attainment, load_standard
from ..errors import InputError
from ..geo.buildings import (
    FloorAreaRule,
    buildings_from_features,
    buildings_from_osm,
    buildings_from_pbf,
    load_buildings,
)
from ..geo.compounds import compounds_from_features, compounds_from_osm, load_compounds
from ..geo.dasymetric import age_population, building_demand, dasymetric_population
from ..geo.network import WalkNetwork
from ..geo.report import LoadReport
from ..geo.snap import snap_points
from ..reports.residents import residents_table
from ..settings import WGS84, get_profile
from ..vocabulary import category_label

__all__ = [
    "ResidentsOptions",
    "ResidentsResult",
    "analyse_residents",
    "building_demand_for",
    "compounds_for",
    "write_residents",
]


@dataclass
class ResidentsOptions:
    """Residents' options of a run.

    Attributes
    ----------
    buildings : path, "osm" or GeoDataFrame, optional
        Footprints: a GeoJSON/GPKG/SHP file, a ``.osm.pbf`` extract, OSM online, or a frame.
    population_total : float, optional
        The street's residents (control total); else a population layer; else
        ``m2_per_person``.
    m2_per_person : float, optional
        Assumed residential floor area per resident when no control total is known (估算).
    compounds : path, "osm" or GeoDataFrame, optional
        居民区 polygons.
    keep_unnamed_compounds : bool
        Keep unnamed polygons (named 未命名居民区 N).
    capacity_col : str, optional
        Facility capacity column for 2SFCA (床位 …); without it each facility counts 1.
    access_category : str
        Category of the 2SFCA scores (default 为老服务).
    access_minutes : float, optional
        Catchment threshold of the 2SFCA (default: the smallest threshold).
    standard : str, optional
        ``gb50180``, ``shanghai15`` or a YAML path: the 达标率 sheet.
    floor_rule : FloorAreaRule
        Storeys and use assumptions.
    buffer_m : float
        Buildings/compounds downloaded this far around the study area.
    cache_folder : path, optional
        osmnx cache.
    """

    buildings: object = None
    population_total: float | None = None
    m2_per_person: float | None = None
    compounds: object = None
    keep_unnamed_compounds: bool = False
    capacity_col: str | None = None
    access_category: str = "elder_care"
    access_minutes: float | None = None
    standard: str | None = None
    floor_rule: FloorAreaRule = field(default_factory=FloorAreaRule)
    buffer_m: float = 0.0
    cache_folder: str | None = None

    @classmethod
    def from_mapping(cls, options: Mapping | ResidentsOptions | None) -> ResidentsOptions:
        """From a dict (a config's keys); unknown keys are an error."""
        if isinstance(options, ResidentsOptions) or options is None:
            return options or cls()
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise InputError(f"unknown residents option(s) {unknown}; known: {sorted(names)}")
        return cls(**dict(options))

    @property
    def active(self) -> bool:
        """Whether the run has anything of residents to compute."""
        return any(
            x is not None
            for x in (self.buildings, self.compounds, self.capacity_col, self.standard)
        )


def _area(boundaries: gpd.GeoDataFrame):
    return shapely.union_all(boundaries.to_crs(WGS84).geometry.to_numpy())


def _load_buildings(source, boundaries, opts: ResidentsOptions):
    rule = opts.floor_rule
    if isinstance(source, gpd.GeoDataFrame):
        return buildings_from_features(source, rule, "buildings")
    if str(source) == "osm":
        return buildings_from_osm(boundaries, opts.buffer_m, rule, cache_folder=opts.cache_folder)
    path = Path(source)
    if not path.exists():
        raise InputError(f"{path}: buildings file not found (建筑文件不存在)")
    if path.name.endswith(".pbf"):
        return buildings_from_pbf(path, bbox=list(boundaries.to_crs(WGS84).total_bounds), rule=rule)
    try:
        return load_buildings(path, rule)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def building_demand_for(
    boundaries: gpd.GeoDataFrame,
    opts: ResidentsOptions,
    *,
    population=None,
    share60: float | None = None,
    compounds: gpd.GeoDataFrame | None = None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, list[str], LoadReport]:
    """Demand points from building footprints inside the study area.

    Residents come from ``opts.population_total``, else the ``population`` layer, else
    ``opts.m2_per_person``; 60+ from a 居民区's ``share60`` or ``share60``.

    Returns
    -------
    (buildings, demand, notes, report)
        The buildings inside the area (with ``pop``/``pop60``), the demand points (one per
        residential building), Chinese notes and the loading report.
    """
    blds, rep = _load_buildings(opts.buildings, boundaries, opts)
    area = _area(boundaries)
    pts = shapely.point_on_surface(blds.geometry.to_numpy())
    inside = blds.loc[shapely.intersects(area, pts)].reset_index(drop=True)
    if not (inside["floor_area_m2"] > 0).any():
        raise InputError(f"{rep.source}: no residential building inside the study area")
    drep = LoadReport("buildings → residents")
    if opts.population_total is not None:
        pop = dasymetric_population(inside, total=opts.population_total, report=drep)
        basis = f"街道常住人口 {opts.population_total:,.0f} 人按住宅建筑面积分配"
    elif population is not None:
        pop = dasymetric_population(inside, population=population, area=boundaries, report=drep)
        basis = "人口图层（格网）按住宅建筑面积分配到建筑（tobler 面积加权）"
    elif opts.m2_per_person is not None:
        pop = dasymetric_population(inside, m2_per_person=opts.m2_per_person, report=drep)
        basis = f"无人口控制总数：按人均住宅建筑面积 {opts.m2_per_person:g} 平方米估算"
    else:
        raise InputError("buildings need --population-total, a population layer or m2_per_person")
    pop60 = age_population(pop, inside, share60, compounds)
    inside = inside.assign(pop=pop, pop60=pop60)
    demand = building_demand(inside, pop, pop60)
    levels = inside["levels_source"].value_counts()
    notes = [
        f"居民（估算）：{basis}；研究范围内建筑 {len(inside)} 栋，其中住宅 "
        f"{int(inside['residential'].sum())} 栋，合计 {float(pop.sum()):,.0f} 人（估算）",
        opts.floor_rule.describe()
        + f"（层数来自 building:levels {int(levels.get('building:levels', 0))} 栋、"
        f"高度 {int(levels.get('height', 0))} 栋、默认值 {int(levels.get('default', 0))} 栋）",
        "每栋住宅以其最近的步行道路为出入口（250 米吸附规则），需求口径：人口（建筑面积估算）",
    ] + drep.notes
    return inside, demand, notes, rep


def compounds_for(
    source, boundaries, opts: ResidentsOptions
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """居民区 polygons (a file, OSM ``"osm"``, a ``.pbf`` or a GeoDataFrame) in the study area.

    Polygons that do not reach into the study area are left out and counted in a note.
    """
    comp, rep = _compounds_from(source, boundaries, opts)
    keep = shapely.intersects(_area(boundaries), comp.geometry.to_numpy())
    if (~keep).any():
        rep.note(f"{int((~keep).sum())} 个居民区在研究范围外，未计入")
        comp = comp.loc[keep].reset_index(drop=True)
        comp["cid"] = np.arange(1, len(comp) + 1)
    return comp, rep


def _compounds_from(source, boundaries, opts: ResidentsOptions):
    keep = opts.keep_unnamed_compounds
    if isinstance(source, gpd.GeoDataFrame):
        return compounds_from_features(source, "compounds", keep_unnamed=keep)
    if str(source) == "osm":
        return compounds_from_osm(
            boundaries, opts.buffer_m, keep_unnamed=keep, cache_folder=opts.cache_folder
        )
    path = Path(source)
    if not path.exists():
        raise InputError(f"{path}: 居民区 file not found (居民区文件不存在)")
    if path.name.endswith(".pbf"):
        import pyrosm

        lu = pyrosm.OSM(str(path), bounding_box=list(boundaries.to_crs(WGS84).total_bounds))
        feats = lu.get_landuse()
        feats = feats.loc[feats["landuse"] == "residential"] if feats is not None else None
        feats = feats if feats is not None else gpd.GeoDataFrame(geometry=[], crs=WGS84)
        return compounds_from_features(feats, f"{path.name} landuse=residential", keep_unnamed=keep)
    try:
        return load_compounds(path)
    except ValueError as exc:
        raise InputError(str(exc)) from None


@dataclass
class ResidentsResult:
    """What :func:`analyse_residents` found (every part ``None`` when not asked for)."""

    demand: gpd.GeoDataFrame | None = None
    compounds: pd.DataFrame | None = None
    compound_layer: gpd.GeoDataFrame | None = None
    missing: pd.DataFrame | None = None
    access: AccessResult | None = None
    access_summary: pd.DataFrame | None = None
    attainment: pd.DataFrame | None = None
    standard_title: str | None = None
    n_targets: int = 0
    notes: list[str] = field(default_factory=list)


def _plan_targets(targets, table: pd.DataFrame) -> list[tuple[str, float]]:
    have = set(zip(table["category"], table["minutes"].astype(float), strict=True))
    pairs = [(t["category"], float(t["minutes"])) for t in targets or () if t.get("minutes")]
    return [p for p in pairs if p in have]


def _access(net, facilities, demand, boundaries, opts, thresholds, gates, n_comp):
    cat = opts.access_category
    if not (facilities["category"].astype(str) == cat).any():
        return None, None, [f"2SFCA：{cat} 类没有设施，未计算"]
    limit = min(m for _, m in thresholds) if opts.access_minutes is None else None
    if limit is None:
        limit = dict(thresholds).get(float(opts.access_minutes))
        if limit is None:
            raise InputError(f"--access-minutes {opts.access_minutes} is not one of the thresholds")
    acc = compute_access(
        net, facilities, demand, cat, limit, capacity_col=opts.capacity_col,
        gate_snap=None if gates is None else gates.snap,
        gate_compound=None if gates is None else gates.compound, n_compounds=n_comp,
    )  # fmt: skip
    summ = access_summary(acc.points["access"], acc.points["demand"], demand, boundaries)
    summ.insert(1, "category", cat)
    summ.insert(2, "limit_m", limit)
    note = (
        f"2SFCA 可达性（{category_label(cat)}，步行 {limit:.0f} 米内）：每千名{acc.basis}拥有的设施容量；"
        f"{acc.capacity_note}；增强型 (E2SFCA) 按距离分三段加权 1 / 0.68 / 0.22"
    )
    return acc, summ, [note]


def analyse_residents(
    net: WalkNetwork,
    facilities: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    opts: ResidentsOptions,
    *,
    thresholds: list[tuple[float, float]],
    profile: str,
    categories: Sequence[str] | None = None,
    compounds: gpd.GeoDataFrame | None = None,
    targets: Sequence[dict] | None = None,
    share60: float | None = None,
    max_snap_m: float = 250.0,
) -> ResidentsResult:
    """居民区 table, 2SFCA scores and 达标率 of one study (see the module notes)."""
    res = ResidentsResult(demand=demand)
    gates = None
    if categories:
        fac = facilities.loc[facilities["category"].astype(str).isin(list(categories))]
    else:
        fac = facilities
    if compounds is not None and len(compounds):
        table, layer, gates = compound_reach(
            net, compounds, fac, thresholds, profile, categories=categories,
            demand=demand, share60=share60, max_snap_m=max_snap_m,
        )  # fmt: skip
        res.compounds, res.compound_layer = table, layer
        pairs = _plan_targets(targets, table)
        res.missing, res.n_targets = compounds_missing(table, pairs), len(pairs)
        n_centroid = int((layer["n_gates"] == 0).sum())
        if n_centroid:
            res.notes.append(
                f"{n_centroid} 个居民区边界不与任何道路相交（无出入口数据），以其质心吸附到最近道路代替出入口"
            )
    if len(fac):
        acc, summ, notes = _access(
            net,
            fac,
            demand,
            boundaries,
            opts,
            thresholds,
            gates,
            0 if compounds is None else len(compounds),
        )
        res.access, res.access_summary = acc, summ
        res.notes += notes
        if acc is not None:
            res.demand = demand.assign(
                access=acc.points["access"].to_numpy(),
                access_e2sfca=acc.points["access_e2sfca"].to_numpy(),
            )
            if acc.compounds is not None and res.compound_layer is not None:
                res.compound_layer = res.compound_layer.assign(
                    access=acc.compounds["access"].to_numpy(),
                    access_e2sfca=acc.compounds["access_e2sfca"].to_numpy(),
                )
    if opts.standard:
        res.attainment, res.standard_title = _attainment(
            net, fac, demand, res, opts, profile, categories, targets, max_snap_m
        )
    return res


def _attainment(net, fac, demand, res, opts, profile, categories, targets, max_snap_m):
    try:
        std = load_standard(opts.standard)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    dsnap = snap_points(net, demand, max_snap_m=max_snap_m, label="demand")
    walks, _ = nearest_walks(net, fac, dsnap, categories, max_snap_m)
    cw = None
    if res.compound_layer is not None:
        cols = [c for c in res.compound_layer.columns if c.startswith("d_")]
        cw = res.compound_layer[cols].rename(columns=lambda c: c[2:])
    prof = get_profile(profile)
    pop60 = demand["pop60"].to_numpy(dtype=float) if "pop60" in demand else None
    if pop60 is not None and not np.isfinite(pop60).any():
        pop60 = None
    tab = attainment(
        std, walks, demand["pop"].to_numpy(dtype=float), pop60, cw, targets,
        target_metres=prof.metres_for_minutes,
    )  # fmt: skip
    return tab, std.title


def write_residents(res: ResidentsResult, out: str | Path) -> dict[str, Path]:
    """``compounds.csv``, ``access.csv``, ``attainment.csv`` and ``residents.gpkg``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    tables = {
        "compounds": res.compounds,
        "access": res.access_summary,
        "attainment": res.attainment,
    }
    for name, table in tables.items():
        if table is not None:
            paths[name] = out / f"{name}.csv"
            cells.write_csv(residents_table(table), paths[name])
    gpkg = out / "residents.gpkg"
    homes = res.demand is not None and "bid" in res.demand.columns
    layers = {"buildings" if homes else "demand": res.demand, "compounds": res.compound_layer}
    for name, gdf in layers.items():
        if gdf is not None and len(gdf):
            gdf.to_file(gpkg, layer=name, driver="GPKG")
            paths["gpkg"] = gpkg
    return paths


def residents_demand_for_run(
    net: WalkNetwork,
    boundaries: gpd.GeoDataFrame | None,
    opts: ResidentsOptions,
    *,
    population=None,
    share60: float | None = None,
) -> tuple[gpd.GeoDataFrame | None, gpd.GeoDataFrame | None, list[str]]:
    """The building demand and 居民区 of a command-line run (``None`` where not asked for).

    Without boundaries the study area is the network's extent.
    """
    if boundaries is None:
        hull = shapely.convex_hull(shapely.multipoints(net.lonlat))
        boundaries = gpd.GeoDataFrame({"name": ["研究范围"]}, geometry=[hull], crs=WGS84)
    area = boundaries
    compounds = None
    if opts.compounds is not None:
        compounds, _ = compounds_for(opts.compounds, area, opts)
    if opts.buildings is None:
        return None, compounds, []
    _, demand, notes, _ = building_demand_for(
        area, opts, population=population, share60=share60, compounds=compounds
    )
    return demand, compounds, notes


def write_residents_workbook(res: ResidentsResult, out: str | Path) -> Path | None:
    """``residents.xlsx``: the 居民区, 可达性2SFCA and 达标率 sheets (``lifecircle coverage``)."""
    from ..reports.residents import residents_sheets

    sheets = residents_sheets(res)
    if not sheets:
        return None
    path = Path(out) / "residents.xlsx"
    cells.write_xlsx(path, sheets)
    return path
