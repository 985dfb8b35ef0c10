"""The site command as a library call: what-if of proposed sites and the optimal new sites."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..cells import read_csv
from ..errors import InputError
from ..settings import DEFAULT_MINUTES, WGS84, get_profile
from ..units import basis_label, basis_unit, tidy_numbers
from ..vocabulary import MODEL_LABELS, STATUS_LABELS
from .loading import (
    BoundaryFile,
    FacilityFile,
    PopulationFile,
    check_study_area,
    load_facility_file,
    load_network_file,
    require_coords_arg,
    resolve_path,
)
from .writers import refuse_links, write_rejections, write_sites

__all__ = ["SiteRequest", "run_site"]

Echo = Callable[[str], None]


@dataclass
class SiteRequest:
    """Everything ``lifecircle site`` asks for.

    Attributes
    ----------
    network, out : path
        The walking network file; the output folder.
    boundaries, facilities : optional
        The study boundary (None: the network's extent); the existing facilities (locked open).
    category : str
        The facility category sited (default ``elder_care``).
    population, residents :
        Demand: a population file and 60+ share; building demand
        (:class:`~lifecircle.workflow.residents.ResidentsOptions`) or None; ``outside`` metres
        of demand outside the boundary also counted.
    candidates, candidate_coords, spacing, parcels :
        A candidate file and its coordinate system, else network nodes ``spacing`` metres apart
        (near ``parcels`` when given).
    minutes, thresholds, profile :
        The model's walk, the thresholds gains are reported at, the walking profile.
    new, model, target, weight, time_limit, max_snap :
        Number of new sites (None: 3, or 0 with ``add``), model (mclp, lscp, pmedian, greedy,
        greedy-pmedian), LSCP target share, demand weight (pop/pop60; None: by category),
        solver time limit in seconds, snapping limit in metres.
    add, add_coords :
        Proposed ``LON,LAT`` points for a what-if, and their coordinate system.
    """

    network: str | Path
    out: str | Path
    boundaries: BoundaryFile | None = None
    extent: str | None = None
    facilities: FacilityFile | None = None
    category: str = "elder_care"
    population: PopulationFile = field(default_factory=PopulationFile)
    residents: object | None = None
    outside: float = 0.0
    candidates: str | Path | None = None
    candidate_coords: str | None = None
    spacing: float = 150.0
    parcels: str | Path | None = None
    minutes: float = 10.0
    thresholds: Sequence[float] | None = None
    profile: str = "elderly"
    new: int | None = None
    model: str = "mclp"
    target: float = 1.0
    weight: str | None = None
    time_limit: float = 60.0
    max_snap: float = 250.0
    add: Sequence[str] | None = None
    add_coords: str | None = None


# ------------------------------------------------------------------------------ loading
def _boundary(req) -> tuple[gpd.GeoDataFrame | None, str]:
    if req.boundaries is None:  # --extent network, chosen explicitly
        return None, "路网范围 (--extent network, 不是街道边界)"
    gdf, _ = req.boundaries.load()
    names = gdf["name"].astype(str).tolist()
    return gdf, "、".join(names[:3]) + ("等" if len(names) > 3 else "")


def _facilities(req) -> tuple[gpd.GeoDataFrame | None, object]:
    if req.facilities is None:
        return None, None
    gdf, rep = load_facility_file(req.facilities)
    return gdf[gdf["category"] == req.category], rep


def _candidates(req, net, boundary):
    from ..analysis.siting import generate_candidates, read_candidates

    if req.candidates:  # the file and its --candidate-coords were checked (_check_files)
        p = resolve_path(req.candidates)
        try:
            return read_candidates(p, req.candidate_coords)
        except FileNotFoundError as exc:
            raise InputError(f"{p}: 候选点文件不存在") from exc
        except ValueError as exc:
            raise InputError(str(exc)) from exc
    parcels = None
    if req.parcels:
        p = resolve_path(req.parcels)
        try:
            parcels = gpd.read_file(p)
        except Exception as exc:  # noqa: BLE001 - any reader failure is unusable input
            raise InputError(f"{p}: 无法读取地块 ({exc})") from exc
        if parcels.crs is None:
            parcels = parcels.set_crs(WGS84)
    return generate_candidates(net, boundary, spacing_m=req.spacing, parcels=parcels), None


# --------------------------------------------------------------------------------- run
def _pct(x: float) -> str:
    return "—" if x is None or not np.isfinite(x) else f"{100.0 * x:.1f}%"


def _mins(m: float) -> str:
    return f"{int(m)}" if float(m).is_integer() else f"{m:g}"


def _question(req):
    """Threshold list, number of new sites, proposed points: checked before any loading."""
    from ..analysis.siting import parse_lonlat

    check_study_area(
        req.extent,
        "--boundaries" if req.boundaries is not None else "",
        "--boundaries 边界.geojson [--boundary-name 名称] 给出边界文件",
    )
    _check_files(req)
    profile = get_profile(req.profile)
    n_new = req.new if req.new is not None else (0 if req.add else 3)
    if n_new < 0:
        raise InputError(f"--new {n_new}: 不能为负数")
    if not 0.0 < req.target <= 1.0:
        raise InputError(f"--target {req.target}: 应在 0 与 1 之间 (1.0 = 100%)")
    proposed = None
    if req.add:
        require_coords_arg(req.add_coords, "--add 的坐标", "--add-coords")
        try:
            proposed = parse_lonlat(req.add)
        except ValueError as exc:
            raise InputError(f"--add: {exc}") from exc
    thresholds = sorted(
        {float(m) for m in (req.thresholds or DEFAULT_MINUTES)} | {float(req.minutes)}
    )
    try:
        for m in thresholds:
            profile.metres_for_minutes(m)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    return profile, n_new, thresholds, proposed


def _check_files(req) -> None:
    """The input files exist and declare their coordinate systems: told before the network
    (possibly long) loads."""
    if req.facilities is not None:
        req.facilities.check()
    if req.candidates:
        p = resolve_path(req.candidates)
        if not p.exists():
            raise InputError(f"{p}: 候选点文件不存在")
        require_coords_arg(req.candidate_coords, f"--candidates {p}", "--candidate-coords")
    req.population.check()


def _basis(req, population_known: bool, share60) -> tuple[bool, str, str]:
    """(60+ known, model weight, demand basis): node counts are never people, 60+ never guessed."""
    pop60_known = population_known and share60 is not None
    weight = req.weight or ("pop60" if req.category == "elder_care" and pop60_known else "pop")
    if weight == "pop60" and not pop60_known:
        raise InputError(
            "--weight pop60: 60岁以上人口未知 (60+ population unknown): 需要 --population 与 "
            "--share60 或 --district; 或用 --weight pop"
        )
    return pop60_known, weight, (weight if population_known else "nodes")


def _demand(req, net, boundary, population_known: bool, pop60_known: bool, share60, echo):
    from ..analysis.siting import demand_points

    ropts = req.residents
    if ropts is not None and ropts.buildings is not None:
        from ..workflow.residents import residents_demand_for_run

        try:
            demand, _, notes = residents_demand_for_run(
                net, boundary, ropts, population=req.population.load(),
                share60=share60,
            )  # fmt: skip
        except (OSError, ValueError) as exc:
            raise InputError(f"建筑: {exc}") from None
        for note in notes:
            echo(f"说明: {note}")
        demand = demand.assign(inside=True)
        return demand if pop60_known else demand.drop(columns="pop60")

    pop_path = req.population.resolved()
    try:
        demand = demand_points(
            net,
            boundary,
            population=req.population.load(),
            share60=share60 if population_known else None,
            outside_m=req.outside,
        )
    except (ValueError, OSError) as exc:
        raise InputError(f"需求点: {exc}") from exc
    if len(demand) == 0:
        raise InputError("边界内没有路网节点: 检查边界与路网是否对应同一地区")
    if population_known and not demand["pop"].sum() > 0:
        raise InputError(
            f"--population {pop_path}: 人口数据与研究范围不重叠 (population layer does not "
            "overlap the study area): 边界内人口合计为 0"
        )
    return demand if pop60_known else demand.drop(columns="pop60")


def _head_lines(req, prob, area_label, basis, pop60_known, profile) -> list[str]:
    from ..vocabulary import category_label

    metres = prob.threshold_m(req.minutes)
    inside = prob.demand["inside"].to_numpy()
    n_existing = int(prob.sites["snapped"].to_numpy()[prob.existing_idx].sum())
    lines = [
        f"新增站点选址: {area_label}, 类别 {category_label(req.category)}, 步行 "
        f"{_mins(req.minutes)} 分钟 ({profile.label}: {metres:.0f} 米), 目标 {basis_label(basis)}"
    ]
    if basis == "nodes":
        what = (
            f"需求点 {int(inside.sum()):,} 个路网节点 (未给出人口 --population: 每个节点权重 1, "
            "不计 60岁以上)"
        )
    else:
        p60 = f"{prob.weights('pop60')[inside].sum():,.0f}" if pop60_known else "未知"
        what = (
            f"需求点 {int(inside.sum()):,} 个 (人口 {prob.weights('pop')[inside].sum():,.0f}, "
            f"60岁以上 {p60})"
        )
    lines.append(f"{what}; 现有设施 {n_existing} 处; 候选点 {len(prob.candidate_idx)} 处")
    tot = prob.shares(prob.existing_idx, [req.minutes]).iloc[0]
    if basis == "nodes":
        lines.append(f"现状 {_mins(req.minutes)} 分钟覆盖: 路网节点 {_pct(tot['share_pop'])}")
    else:
        p60 = f", 60岁以上 {_pct(tot['share_pop60'])}" if pop60_known else ""
        lines.append(f"现状 {_mins(req.minutes)} 分钟覆盖: 人口 {_pct(tot['share_pop'])}{p60}")
    return lines


def _gain_text(row, basis: str, pop60_known: bool) -> str:
    unit = basis_unit(basis)
    label = "" if basis == "nodes" else f"{basis_label('pop')} "  # the unit says 路网节点
    text = f"{label}+{row['gain_pop']:,.0f} {unit}"
    if basis != "nodes":
        text += f" (+{row['gain_pp']:.1f} 个百分点)"
        if pop60_known:
            text += f", 60岁以上 +{row['gain_pop60']:,.0f} 人 (+{row['gain_pp60']:.1f} 个百分点)"
    return text


def _what_if(req, prob, proposed, weight, basis, pop60_known):
    """What-if of the proposed sites: their table (numbered A1, A2 …), new areas, lines."""
    whatif = prob.what_if(proposed, coords=req.add_coords, weight=weight, rank_minutes=req.minutes)
    t = whatif.sites.copy()
    t["rank"] = [f"A{k}" for k in range(1, len(t) + 1)]
    t["kind"] = "proposed"
    t["model"] = "what-if"
    nc = whatif.new_coverage.copy()
    nc["kind"] = "proposed"
    ok = prob.sites["snapped"].to_numpy()[whatif.site_idx]
    row = whatif.table.set_index("minutes").loc[float(req.minutes)]
    pp = "gain_pp" if weight == "pop" else "gain_pp60"
    gain = f"+{row[f'gain_{weight}']:,.0f} {basis_unit(basis)}"
    if basis != "nodes":
        gain += f" (+{row[pp]:.1f} 个百分点)"
    lines = [
        f"假设新增 {len(whatif.site_idx)} 处拟建站点 A1…A{len(whatif.site_idx)} "
        f"({int(ok.sum())} 处可接入路网): {_mins(req.minutes)} 分钟{basis_label(basis)}覆盖 "
        f"{_pct(row[f'share_{weight}_before'])} → {_pct(row[f'share_{weight}_after'])}, {gain}"
    ]
    for _, r in whatif.table.iterrows():
        if float(r["minutes"]) != float(req.minutes):
            lines.append(f"  {_mins(r['minutes'])} 分钟: {_gain_text(r, basis, pop60_known)}")
    tag = f"gain_{weight}_{_mins(req.minutes)}min"
    for _, r in t.iterrows():
        lines.append(
            f"  {r['rank']} {r['name']}  ({r['lon_gcj02']:.6f}, {r['lat_gcj02']:.6f} 高德坐标)  "
            f"+{r[tag]:,.0f} {basis_unit(basis)}"
        )
    locked = np.concatenate([prob.existing_idx, whatif.site_idx[ok]])
    return t, nc, locked, lines


def _solver_text(s: dict) -> str:
    if s["status"] == "heuristic":
        return f"贪心+交换 (启发式), 上界 {s['bound']:,.0f}, 与最优解的差距不超过 {s['gap']:.2%}"
    if s["status"] == "optimal":
        return "已证明最优"
    label = STATUS_LABELS.get(s["status"], s["status"])
    return f"{label}, 与最优解的差距不超过 {s['gap']:.2%}"


def _optimum(req, prob, n_new, weight, basis, locked):
    """The model's new sites (numbered 1…N), their new areas, ranking and lines."""
    from ..analysis.siting import optimal_sites

    opt = optimal_sites(
        prob,
        req.model,
        p=n_new,
        minutes=req.minutes,
        weight=weight,
        category=req.category,
        target=req.target,
        time_limit=req.time_limit,
        locked=locked,
    )
    s = opt.selection.summary
    unit = basis_unit(basis)
    label = basis_label(basis)
    lines = [
        f"{MODEL_LABELS.get(req.model, req.model)}: 选出 {s['n_new']} 处新站点"
        + (f" 1…{s['n_new']}" if s["n_new"] else "")
        + f", {_solver_text(s)}, 用时 {s['runtime_s']:.1f} 秒"
    ]
    if req.model in ("pmedian", "greedy-pmedian"):
        lines.append(
            f"  平均步行距离 {s['mean_m']:.0f} 米 (约 {s['mean_minutes']:.1f} 分钟); "
            f"{s['penalty_m']:.0f} 米罚距计入 {s['unserved_weight']:,.0f} {unit}无站可达的{label}"
        )
    else:
        lines.append(
            f"  {_mins(req.minutes)} 分钟{label}覆盖: {_pct(s['share_before'])} → "
            f"{_pct(s['share_after'])} (+{s['covered_after'] - s['covered_before']:,.0f} {unit})"
        )
    if req.model == "lscp":
        lines.append(
            f"  目标: 可到达{label}的 {_pct(req.target)}; "
            f"{'已达到' if s.get('target_met') else '未达到'}"
        )
    if s["unreachable_rows"]:
        lines.append(
            f"  {s['unreachable_rows']} 个需求点 ({s['unreachable_weight']:,.0f} {unit}) 在 "
            f"{_mins(req.minutes)} 分钟内没有任何站点或候选点可达, 已报告并从目标中排除"
        )
    table = pd.DataFrame(opt.sites.drop(columns="geometry"))
    table["rank"] = [str(k) for k in range(1, len(table) + 1)]
    tag = f"gain_{weight}_{_mins(req.minutes)}min"
    for _, r in table.iterrows():
        lines.append(
            f"  {r['rank']} {r['name']}  ({r['lon_gcj02']:.6f}, {r['lat_gcj02']:.6f} 高德坐标)  "
            f"+{r[tag]:,.0f} {unit}"
        )
    return table, opt.new_coverage, opt.ranking, lines


def _sites_table(parts, req, profile, weight, basis, pop60_known) -> gpd.GeoDataFrame:
    from ..analysis.siting import relabel_gains

    sites = pd.concat(parts, ignore_index=True)
    sites["category"] = req.category
    sites["profile"] = profile.name
    sites["minutes"] = float(req.minutes)
    sites["weight"] = "nodes" if basis == "nodes" else weight
    front = ["rank", "kind", "site_id", "name", "lon", "lat", "lon_gcj02", "lat_gcj02"]
    sites = sites[front + [c for c in sites.columns if c not in front]]
    sites = tidy_numbers(relabel_gains(sites, pop60_known, basis != "nodes"), basis)
    return gpd.GeoDataFrame(
        sites, geometry=gpd.points_from_xy(sites["lon"], sites["lat"]), crs=WGS84
    )


def _problem(req, net, demand, cands, facilities, thresholds, profile, progress: bool):
    from ..analysis.siting import SitingProblem

    return SitingProblem.build(
        net,
        demand,
        candidates=cands,
        existing=facilities,
        minutes=thresholds,
        profile=profile,
        max_snap_m=req.max_snap,
        progress=progress,
    )


def _answers(req, prob, proposed, n_new, weight, basis, pop60_known):
    """The what-if and the optimum: site tables, new areas, ranking, locked sites, lines."""
    parts, newcov_parts, locked, lines = [], [], prob.existing_idx, []
    if proposed is not None:
        try:
            t, nc, locked, more = _what_if(req, prob, proposed, weight, basis, pop60_known)
        except ValueError as exc:
            raise InputError(f"--add: {exc}") from exc
        parts.append(t)
        newcov_parts.append(nc)
        lines += more
    ranking = None
    if n_new > 0 or req.model == "lscp":
        t, nc, ranking, more = _optimum(req, prob, n_new, weight, basis, locked)
        parts.append(t)
        newcov_parts.append(nc)
        lines += more
    if not parts:
        raise InputError("没有要做的分析: 给出 --add 做假设分析, 或 --new N (N > 0) 做选址")
    return parts, newcov_parts, ranking, locked, lines


def _write(req, prob, tables, reports, basis, weight, pop60_known) -> tuple[dict, list[str]]:
    """Write sites.csv/gpkg, candidates.csv and rejected.csv; the closing lines."""
    from ..analysis.siting import notes_for_weight, relabel_gains

    sites_gdf, newcov, ranking = tables
    ranking = tidy_numbers(relabel_gains(ranking, pop60_known, basis != "nodes"), basis)
    refuse_links(req.out)
    paths = write_sites(sites_gdf, newcov, req.out, candidates=ranking)
    rejected = write_rejections({**reports, "站点与需求点": prob.report}, req.out)
    lines = []
    if rejected is not None:
        paths["rejected"] = rejected
        n_rows = len(read_csv(rejected))
        lines.append(f"未使用的输入 {n_rows} 行 (逐行原因见 {rejected})")
    lines += [f"注: {note}" for note in notes_for_weight(prob.report.notes, weight)]
    if len(ranking):
        top = ranking.iloc[0]
        tag = f"gain_{'nodes' if basis == 'nodes' else weight}_{_mins(req.minutes)}min"
        lines.append(
            f"下一处最值得建的候选点: {top['name']} (+{top[tag]:,.0f} {basis_unit(basis)}, "
            f"{_mins(req.minutes)} 分钟), 全部排名见 {paths['candidates']}"
        )
    lines.append("输出: " + ", ".join(str(p) for p in paths.values()))
    return paths, lines


def run_site(req: SiteRequest, *, echo: Echo = print, progress: bool = False) -> dict:
    """Answer a siting question: load, build the problem, what-if and/or optimum, write.

    Parameters
    ----------
    req : SiteRequest
    echo : callable
        Receives the console lines (default :func:`print`).
    progress : bool
        Progress bars.

    Returns
    -------
    dict
        Kind → path of every file written (``sites``, ``gpkg``, ``candidates``, ``rejected``).

    Raises
    ------
    InputError
        An unusable input or question (exit code 2 on the command line).
    """
    from ..analysis.siting import relabel_gains

    t0 = time.perf_counter()
    profile, n_new, thresholds, proposed = _question(req)
    net = load_network_file(req.network)
    boundary, area_label = _boundary(req)
    facilities, fac_report = _facilities(req)
    share60 = req.population.share()
    population_known = bool(req.population.path) or (
        req.residents is not None and req.residents.buildings is not None
    )
    pop60_known, weight, basis = _basis(req, population_known, share60)
    demand = _demand(req, net, boundary, population_known, pop60_known, share60, echo)
    cands, cand_report = _candidates(req, net, boundary)
    prob = _problem(req, net, demand, cands, facilities, thresholds, profile, progress)
    lines = _head_lines(req, prob, area_label, basis, pop60_known, profile)
    parts, newcov_parts, ranking, locked, more = _answers(
        req, prob, proposed, n_new, weight, basis, pop60_known
    )
    lines += more
    sites_gdf = _sites_table(parts, req, profile, weight, basis, pop60_known)
    newcov = gpd.GeoDataFrame(pd.concat(newcov_parts, ignore_index=True), crs=WGS84)
    newcov = relabel_gains(newcov, pop60_known, basis != "nodes")
    if ranking is None:
        ranking = prob.rank_candidates(locked, minutes=req.minutes, weight=weight)
        ranking = ranking.drop(columns="site_index")
    reports = {"现有设施": fac_report, "候选点": cand_report}
    paths, more = _write(
        req, prob, (sites_gdf, newcov, ranking), reports, basis, weight, pop60_known
    )
    lines += more
    lines.append(f"总用时 {time.perf_counter() - t0:.1f} 秒")
    echo("\n".join(lines))
    return paths
