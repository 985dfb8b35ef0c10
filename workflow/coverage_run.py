"""The coverage command as a library call: load its files, compute, write, report in Chinese."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import shapely

from ..cells import read_csv
from ..errors import InputError
from ..settings import get_profile
from .loading import (
    NETWORK_EXTENT_NOTE,
    BoundaryFile,
    FacilityFile,
    PopulationFile,
    check_study_area,
    load_facility_file,
    load_network_file,
)
from .writers import (
    coverage_reports,
    refuse_links,
    warning_lines,
    write_coverage,
    write_notes,
    write_rejections,
)

__all__ = ["CoverageRequest", "run_coverage", "summary_table"]

Echo = Callable[[str], None]


@dataclass
class CoverageRequest:
    """Everything ``lifecircle coverage`` asks for.

    ``network`` (a file) or ``boundary_osm`` (an OSM relation: boundary and network downloaded);
    with a network file, ``boundaries`` or ``extent="network"`` (the explicit choice of the
    network's extent, 研究范围 = 路网范围) — there is no silent fallback;
    ``residents``: :class:`~lifecircle.workflow.residents.ResidentsOptions` or None;
    thresholds ``minutes`` or ``metres`` (None: the defaults); the rest as
    :func:`lifecircle.analysis.coverage.compute_coverage`.
    """

    facilities: FacilityFile
    out: str | Path
    network: str | Path | None = None
    boundary_osm: str | None = None
    boundaries: BoundaryFile | None = None
    extent: str | None = None
    categories: Sequence[str] | None = None
    population: PopulationFile = field(default_factory=PopulationFile)
    residents: object | None = None
    minutes: Sequence[float] | None = None
    metres: Sequence[float] | None = None
    profile: str = "elderly"
    buffer_width: float = 50.0
    max_snap: float = 250.0
    allow_partial: bool = False
    blind_cell: float = 150.0
    per_facility: bool = True
    jobs: int = 1


# --------------------------------------------------------------------------- loading
def _load_network(req: CoverageRequest):
    if req.network:
        return load_network_file(req.network), None
    from ..analysis.coverage import thresholds_for
    from ..geo import network as network_mod
    from ..geo.boundaries import boundary_from_osm

    try:
        boundary = boundary_from_osm(req.boundary_osm)
        # facilities up to the largest threshold's walk outside the boundary still count
        reach = thresholds_for(req.profile, req.minutes, req.metres)[-1][1]
        net = network_mod.network_from_osm(boundary, buffer_m=reach, profile=req.profile)
    except ValueError as exc:
        raise InputError(f"OSM 边界关系 {req.boundary_osm}: {exc}") from None
    return net, boundary


def _demand(req: CoverageRequest, net, boundaries):
    population = req.population.load()
    if population is None:
        return None
    from ..geo.population import demand_from_network

    share60 = req.population.share()
    try:
        return demand_from_network(net, population, boundary=boundaries, share60=share60)
    except (OSError, ValueError) as exc:
        raise InputError(f"人口文件无法使用: {population.attrs['source']}: {exc}") from None


def _residents_demand(req: CoverageRequest, net, boundaries, share60):
    """Building demand (居民, 估算) and 居民区 when asked for."""
    if req.residents is None:
        return None, None, []
    from .residents import residents_demand_for_run

    try:
        return residents_demand_for_run(
            net, boundaries, req.residents, population=req.population.load(),
            share60=share60,
        )  # fmt: skip
    except (OSError, ValueError) as exc:
        raise InputError(f"建筑/居民区: {exc}") from None


def _residents(req, net, fac, result, demand, compounds, share60, echo: Echo) -> dict:
    """居民区, 2SFCA and 达标率 of a coverage run, written beside coverage.csv."""
    from .residents import analyse_residents, write_residents, write_residents_workbook

    if demand is None:  # no buildings: the demand of the coverage (nodes or population)
        area = shapely.union_all(result.boundaries.to_crs(4326).geometry.to_numpy())
        nodes = result.nodes.loc[shapely.intersects(area, result.nodes.geometry.to_numpy())]
        demand = nodes.assign(pop=nodes.get("pop", 1.0))
    res = analyse_residents(
        net, fac, result.boundaries, demand, req.residents, thresholds=result.thresholds,
        profile=result.profile, categories=req.categories, compounds=compounds,
        share60=share60, max_snap_m=req.max_snap,
    )  # fmt: skip
    files = write_residents(res, req.out)
    xlsx = write_residents_workbook(res, req.out)
    if xlsx is not None:
        files["xlsx"] = xlsx
    for note in res.notes:
        echo(f"说明: {note}")
    return {f"residents_{k}": v for k, v in files.items()}


def _inputs(req: CoverageRequest, echo: Echo):
    """Network, facilities, boundaries (and their load reports), as the console reports them."""
    req.facilities.check()  # before the (possibly long) network loading
    req.population.check()
    _check_extent(req)
    net, boundaries = _load_network(req)
    echo(f"路网: {net.n_nodes:,} 个节点, 街道 {net.total_length() / 1000:,.1f} km")
    # the network's extent (+1 km, the loader's tolerance) is the declared area: with the
    # fragments cleaning dropped, whose facilities are then named by the snap
    area = net.extent()
    fac, frep = load_facility_file(req.facilities, area=area)
    reports = {"设施": frep}
    echo(f"设施: {frep.n_input} 行, 载入 {frep.n_loaded}, 未使用 {frep.n_rejected}")
    if len(fac) == 0:
        raise InputError(
            f"{req.facilities.path}: 没有可用的设施 (见上: 都不在路网范围内或无法读取)"
        )
    if req.boundaries is not None:
        boundaries, reports["边界"] = req.boundaries.load()
    if boundaries is None:  # --extent network, chosen explicitly
        from ..analysis.study_areas import network_extent_frame

        boundaries = network_extent_frame(net).to_crs(4326)
        echo(NETWORK_EXTENT_NOTE)
    return net, fac, boundaries, reports


def _check_extent(req: CoverageRequest) -> None:
    """A study area is named: a boundary file, an OSM relation, or ``--extent network``."""
    given = [
        o for o, v in (("--boundaries", req.boundaries), ("--boundary-osm", req.boundary_osm)) if v
    ]
    check_study_area(
        req.extent,
        " / ".join(given),
        "--boundaries 边界.geojson [--boundary-name 名称] 给出边界文件, "
        "或 --boundary-osm RELATION_ID 联网下载边界",
    )


def _compute(req: CoverageRequest, net, fac, boundaries, demand, progress: bool):
    from ..analysis.coverage import compute_coverage

    try:
        return compute_coverage(
            net,
            fac,
            boundaries,
            profile=get_profile(req.profile),
            minutes=req.minutes,
            metres=req.metres,
            demand=demand,
            categories=req.categories,
            width_m=req.buffer_width,
            max_snap_m=req.max_snap,
            per_facility=req.per_facility,
            blind_cell_m=req.blind_cell,
            population_known=demand is not None,
            allow_partial=req.allow_partial,
            n_jobs=max(1, req.jobs),
            progress=progress,
        )
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _rejected_lines(rejected: Path) -> list[str]:
    frame = read_csv(rejected)
    lines = [f"未使用的输入 {len(frame)} 行 (逐行原因见 {rejected}):"]
    for r in frame.head(20).itertuples():
        row = "" if pd.isna(r.row) else f"第 {int(r.row)} 行, "
        lines.append(f"  {r.input} {Path(str(r.file)).name} {row}字段 {r.field}: {r.reason}")
    if len(frame) > 20:
        lines.append(f"  … 另 {len(frame) - 20} 行见 {rejected}")
    return lines


def run_coverage(req: CoverageRequest, *, echo: Echo = print, progress: bool = False) -> dict:
    """Load the inputs, compute the coverage, write the files and report in Chinese.

    Parameters
    ----------
    req : CoverageRequest
    echo : callable
        Receives every console line (default :func:`print`).
    progress : bool
        Progress bars.

    Returns
    -------
    dict
        Kind → path of every file written (``coverage``, ``gpkg``, ``rejected`` ...).

    Raises
    ------
    InputError
        An unusable input (exit code 2 on the command line).
    """
    prof = get_profile(req.profile)
    net, fac, boundaries, reports = _inputs(req, echo)
    share60 = req.population.share()
    demand, compounds, rnotes = _residents_demand(req, net, boundaries, share60)
    if demand is None:
        demand = _demand(req, net, boundaries)
    if demand is not None and share60 is None:
        echo("未给出 60 岁以上比例 (--share60 或 --district): 60岁以上覆盖率留空")
    result = _compute(req, net, fac, boundaries, demand, progress)
    refuse_links(req.out)  # checked again just before writing: links planted meanwhile
    files = write_coverage(result, req.out)
    if req.residents is not None:
        files.update(_residents(req, net, fac, result, demand, compounds, share60, echo))
    rejected = write_rejections({**reports, **coverage_reports(result)}, req.out)
    flagged = write_notes(reports, req.out)
    if flagged is not None:
        files["notes"] = flagged
    lines = [*warning_lines(reports), ""]
    lines.append(f"步行覆盖率 ({prof.label}, 服务范围为可达道路两侧各 {req.buffer_width:g} 米)")
    lines += summary_table(result.table)
    extent = [NETWORK_EXTENT_NOTE] if req.extent == "network" else []
    lines += [f"说明: {note}" for note in [*extent, *rnotes, *result.notes]]
    if rejected is not None:
        files["rejected"] = rejected
        lines += _rejected_lines(rejected)
    lines.append("")
    lines += [f"已写出 {kind}: {path}" for kind, path in files.items()]
    for line in lines:
        echo(line)
    return files


# --------------------------------------------------------------------------- printing
def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - _width(text))
    return gap + text if right else text + gap


def _pct(x) -> str:
    return "—" if x is None or pd.isna(x) else f"{100 * float(x):.1f}%"


def summary_table(table: pd.DataFrame) -> list[str]:
    """The Chinese summary lines of a coverage table (one block per boundary): every share
    names its demand basis (路网节点 or 人口); 60+ only when known."""
    from ..vocabulary import category_label

    if len(table) == 0:
        return ["(没有结果)"]
    nodes = (table["demand_basis"] == "nodes").all()
    what = "路网节点" if nodes else "人口"
    with60 = not nodes and table["pop60_share"].notna().any()
    heads = ["类别", "分钟", "米", "面积覆盖率", "路网覆盖率", f"{what}覆盖率"]
    heads += ["60岁以上覆盖率"] if with60 else []
    heads += [f"直线距离{what}覆盖率", "盲区路网节点" if nodes else "盲区人口"]
    unit = "个路网节点" if nodes else "人"
    lines = []
    for boundary, sub in table.groupby("boundary", sort=False):
        first = sub.iloc[0]
        extent = first.get("network_extent_share", float("nan"))
        lines.append(f"{boundary}  (面积 {first['area_km2']:.2f} km², 街道 "
                     f"{first['network_km']:.1f} km, {first['population']:,.0f} {unit}; "
                     f"步行路网覆盖边界面积的 {_pct(extent)})")  # fmt: skip
        rows = []
        for _, r in sub.iterrows():
            row = [category_label(str(r["category"])), f"{r['minutes']:g}", f"{r['limit_m']:.0f}",
                   _pct(r["area_share"]), _pct(r["network_share"]), _pct(r["population_share"])]  # fmt: skip
            row += [_pct(r["pop60_share"])] if with60 else []
            row += [_pct(r["crowfly_population_share"]), f"{r['population_uncovered']:,.0f}"]
            rows.append(row)
        widths = [max(_width(h), *(_width(row[i]) for row in rows)) for i, h in enumerate(heads)]
        lines.append("  " + "  ".join(_pad(h, w) for h, w in zip(heads, widths, strict=True)))
        for row in rows:
            cells = [
                _pad(c, w, right=i > 0) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ]
            lines.append("  " + "  ".join(cells))
    if nodes:
        lines.append(
            "未提供人口数据 (--population): 覆盖率是路网节点的比例 (每个节点权重 1), 不是人口"
        )
    return lines
