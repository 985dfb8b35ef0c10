"""``lifecircle site``: where should new 为老服务站 (or any facility) go?

Two questions, in one run or separately:

* **what-if** (``--add LON,LAT ...``): the coverage gained per threshold by proposed sites, the
  newly covered area, and every candidate ranked by what it would add next;
* **optimum** (``--new N --model mclp|lscp|pmedian|greedy``): the best new sites among the
  candidates (a file, or network nodes inside the boundary at ``--spacing`` metres), with the
  existing facilities (and proposed sites) locked open; the objective, bound and gap are reported.

Writes ``DIR/sites.csv`` (rank, kind, lon/lat in WGS84 and GCJ-02, gains per threshold,
objective, gap), ``DIR/sites.gpkg`` (layers ``sites``, ``new_coverage``, ``candidates``) and
``DIR/candidates.csv`` (every candidate ranked by its marginal gain), and prints a summary in
Chinese. Rows that could not be used (facilities or candidates off the network, demand no site
reaches) are listed in ``DIR/site_rejected.csv``.
"""

from __future__ import annotations

import argparse
import time

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import InputError
from ..settings import DEFAULT_MINUTES, WGS84, get_profile
from ..units import basis_label, basis_unit, tidy_numbers
from ..vocabulary import MODEL_LABELS, STATUS_LABELS
from ..workflow.writers import write_sites
from . import _common as common


def register(subparsers) -> None:
    """Add the ``site`` subcommand."""
    p = subparsers.add_parser(
        "site",
        help="新增设施选址: 假设分析 (--add) 与最优选址 (MCLP/LSCP/P-中值/贪心)",
        description="新增为老服务站等设施的选址: 评估拟建站点的覆盖增益, 或在候选点中求最优站点。",
    )
    d = p.add_argument_group("输入数据")
    common.add_network_args(d, required=True)
    common.add_boundary_args(d)
    common.add_facility_args(d, help="现有设施表 (作为已建站点锁定)", default_category=False)
    d.add_argument("--category", default="elder_care", help="设施类别 (默认 elder_care)")
    common.add_population_args(d)
    common.add_residents_args(d, demand_only=True)
    d.add_argument(
        "--outside",
        type=float,
        default=0.0,
        metavar="M",
        help="也计入边界外 M 米内的需求点 (默认 0)",
    )
    c = p.add_argument_group("候选点")
    c.add_argument("--candidates", metavar="PATH", help="候选点文件 (默认: 边界内路网节点)")
    c.add_argument(
        "--candidate-coords",
        metavar="SYS",
        help="候选点坐标系 (给 --candidates 时必填): wgs84, gcj02 (高德拾取的点), bd09 或 EPSG:xxxx",
    )
    c.add_argument(
        "--spacing",
        type=float,
        default=150.0,
        metavar="M",
        help="自动生成候选点的最小间距 (米, 默认 150)",
    )
    c.add_argument("--parcels", metavar="PATH", help="只在这些地块附近生成候选点")
    m = p.add_argument_group("模型")
    m.add_argument("--minutes", type=float, default=10.0, help="模型的步行时间阈值 (分钟)")
    m.add_argument(
        "--thresholds",
        type=float,
        nargs="+",
        metavar="MIN",
        help=f"报告增益的阈值 (默认 {' '.join(map(str, DEFAULT_MINUTES))} 与 --minutes)",
    )
    common.add_profile_arg(m)
    m.add_argument(
        "--new",
        type=int,
        metavar="N",
        help="新增站点数 (默认 3; 只给 --add 时为 0, 即只做假设分析)",
    )
    m.add_argument(
        "--model",
        default="mclp",
        choices=["mclp", "lscp", "pmedian", "greedy", "greedy-pmedian"],
        help="mclp 最大覆盖 (默认), lscp 最少站点达到 --target, pmedian 总步行距离最小, "
        "greedy 贪心+交换 (1 秒内), greedy-pmedian",
    )
    m.add_argument(
        "--target",
        type=float,
        default=1.0,
        help="LSCP 覆盖目标 (可到达需求的比例, 默认 1.0 = 100%%)",
    )
    m.add_argument(
        "--weight",
        choices=["pop", "pop60"],
        help="需求权重 (默认: elder_care 用 pop60, 其他用 pop)",
    )
    m.add_argument(
        "--time-limit", type=float, default=60.0, metavar="S", help="求解时间上限 (秒, 默认 60)"
    )
    common.add_max_snap_arg(m)
    a = p.add_argument_group("假设分析")
    a.add_argument("--add", nargs="+", metavar="LON,LAT", help="拟建站点坐标")
    a.add_argument(
        "--add-coords",
        metavar="SYS",
        help="拟建站点坐标系 (给 --add 时必填): wgs84, gcj02 (高德地图上拾取的), bd09 或 EPSG:xxxx",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="输出目录")
    p.set_defaults(func=run)


# ------------------------------------------------------------------------------ loading
def _boundary(args) -> tuple[gpd.GeoDataFrame | None, str]:
    if not args.boundaries:
        return None, "路网范围 (未给出 --boundaries)"
    gdf, _ = common.load_boundaries_from_args(args)
    names = gdf["name"].astype(str).tolist()
    return gdf, "、".join(names[:3]) + ("等" if len(names) > 3 else "")


def _facilities(args) -> tuple[gpd.GeoDataFrame | None, object]:
    if not args.facilities:
        return None, None
    gdf, rep = common.load_facilities_from_args(args)
    return gdf[gdf["category"] == args.category], rep


def _candidates(args, net, boundary):
    from ..analysis.siting import generate_candidates, read_candidates

    if args.candidates:
        p = common.resolve_path(args.candidates)
        common.require_coords_arg(args.candidate_coords, f"--candidates {p}", "--candidate-coords")
        try:
            return read_candidates(p, args.candidate_coords)
        except FileNotFoundError as exc:
            raise InputError(f"{p}: 候选点文件不存在") from exc
        except ValueError as exc:
            raise InputError(str(exc)) from exc
    parcels = None
    if args.parcels:
        p = common.resolve_path(args.parcels)
        try:
            parcels = gpd.read_file(p)
        except Exception as exc:  # noqa: BLE001 - any reader failure is unusable input
            raise InputError(f"{p}: 无法读取地块 ({exc})") from exc
        if parcels.crs is None:
            parcels = parcels.set_crs(WGS84)
    return generate_candidates(net, boundary, spacing_m=args.spacing, parcels=parcels), None


# --------------------------------------------------------------------------------- run
def _pct(x: float) -> str:
    return "—" if x is None or not np.isfinite(x) else f"{100.0 * x:.1f}%"


def _mins(m: float) -> str:
    return f"{int(m)}" if float(m).is_integer() else f"{m:g}"


def _question(args):
    """Threshold list, number of new sites, proposed points: checked before any loading."""
    from ..analysis.siting import parse_lonlat

    profile = get_profile(args.profile)
    n_new = args.new if args.new is not None else (0 if args.add else 3)
    if n_new < 0:
        raise InputError(f"--new {n_new}: 不能为负数")
    if not 0.0 < args.target <= 1.0:
        raise InputError(f"--target {args.target}: 应在 0 与 1 之间 (1.0 = 100%)")
    proposed = None
    if args.add:
        common.require_coords_arg(args.add_coords, "--add 的坐标", "--add-coords")
        try:
            proposed = parse_lonlat(args.add)
        except ValueError as exc:
            raise InputError(f"--add: {exc}") from exc
    thresholds = sorted(
        {float(m) for m in (args.thresholds or DEFAULT_MINUTES)} | {float(args.minutes)}
    )
    try:
        for m in thresholds:
            profile.metres_for_minutes(m)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    return profile, n_new, thresholds, proposed


def _basis(args, population_known: bool, share60) -> tuple[bool, str, str]:
    """(60+ known, model weight, demand basis): node counts are never people, 60+ never guessed."""
    pop60_known = population_known and share60 is not None
    weight = args.weight or ("pop60" if args.category == "elder_care" and pop60_known else "pop")
    if weight == "pop60" and not pop60_known:
        raise InputError(
            "--weight pop60: 60岁以上人口未知 (60+ population unknown): 需要 --population 与 "
            "--share60 或 --district; 或用 --weight pop"
        )
    return pop60_known, weight, (weight if population_known else "nodes")


def _demand(args, net, boundary, population_known: bool, pop60_known: bool, share60):
    from ..analysis.siting import demand_points

    ropts = common.residents_options_from_args(args)
    if ropts is not None and ropts.buildings is not None:
        from ..workflow.residents import residents_demand_for_run

        try:
            demand, _, notes = residents_demand_for_run(
                net, boundary, ropts, population=common.population_path_from_args(args),
                share60=share60,
            )  # fmt: skip
        except (OSError, ValueError) as exc:
            raise InputError(f"建筑: {exc}") from None
        for note in notes:
            print(f"说明: {note}")
        demand = demand.assign(inside=True)
        return demand if pop60_known else demand.drop(columns="pop60")

    pop_path = common.population_path_from_args(args)
    try:
        demand = demand_points(
            net,
            boundary,
            population=str(pop_path) if pop_path is not None else None,
            share60=share60 if population_known else None,
            outside_m=args.outside,
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


def _head_lines(args, prob, area_label, basis, pop60_known, profile) -> list[str]:
    from ..vocabulary import category_label

    metres = prob.threshold_m(args.minutes)
    inside = prob.demand["inside"].to_numpy()
    n_existing = int(prob.sites["snapped"].to_numpy()[prob.existing_idx].sum())
    lines = [
        f"新增站点选址: {area_label}, 类别 {category_label(args.category)}, 步行 "
        f"{_mins(args.minutes)} 分钟 ({profile.label}: {metres:.0f} 米), 目标 {basis_label(basis)}"
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
    tot = prob.shares(prob.existing_idx, [args.minutes]).iloc[0]
    if basis == "nodes":
        lines.append(f"现状 {_mins(args.minutes)} 分钟覆盖: 路网节点 {_pct(tot['share_pop'])}")
    else:
        p60 = f", 60岁以上 {_pct(tot['share_pop60'])}" if pop60_known else ""
        lines.append(f"现状 {_mins(args.minutes)} 分钟覆盖: 人口 {_pct(tot['share_pop'])}{p60}")
    return lines


def _gain_text(row, basis: str, pop60_known: bool) -> str:
    unit = basis_unit(basis)
    text = f"{basis_label('nodes' if basis == 'nodes' else 'pop')} +{row['gain_pop']:,.0f} {unit}"
    if basis != "nodes":
        text += f" (+{row['gain_pp']:.1f} 个百分点)"
        if pop60_known:
            text += f", 60岁以上 +{row['gain_pop60']:,.0f} 人 (+{row['gain_pp60']:.1f} 个百分点)"
    return text


def _what_if(args, prob, proposed, weight, basis, pop60_known):
    """What-if of the proposed sites: their table (numbered A1, A2 …), new areas, lines."""
    whatif = prob.what_if(
        proposed, coords=args.add_coords, weight=weight, rank_minutes=args.minutes
    )
    t = whatif.sites.copy()
    t["rank"] = [f"A{k}" for k in range(1, len(t) + 1)]
    t["kind"] = "proposed"
    t["model"] = "what-if"
    nc = whatif.new_coverage.copy()
    nc["kind"] = "proposed"
    ok = prob.sites["snapped"].to_numpy()[whatif.site_idx]
    row = whatif.table.set_index("minutes").loc[float(args.minutes)]
    pp = "gain_pp" if weight == "pop" else "gain_pp60"
    gain = f"+{row[f'gain_{weight}']:,.0f} {basis_unit(basis)}"
    if basis != "nodes":
        gain += f" (+{row[pp]:.1f} 个百分点)"
    lines = [
        f"假设新增 {len(whatif.site_idx)} 处拟建站点 A1…A{len(whatif.site_idx)} "
        f"({int(ok.sum())} 处可接入路网): {_mins(args.minutes)} 分钟{basis_label(basis)}覆盖 "
        f"{_pct(row[f'share_{weight}_before'])} → {_pct(row[f'share_{weight}_after'])}, {gain}"
    ]
    for _, r in whatif.table.iterrows():
        if float(r["minutes"]) != float(args.minutes):
            lines.append(f"  {_mins(r['minutes'])} 分钟: {_gain_text(r, basis, pop60_known)}")
    tag = f"gain_{weight}_{_mins(args.minutes)}min"
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


def _optimum(args, prob, n_new, weight, basis, locked):
    """The model's new sites (numbered 1…N), their new areas, ranking and lines."""
    from ..analysis.siting import optimal_sites

    opt = optimal_sites(
        prob,
        args.model,
        p=n_new,
        minutes=args.minutes,
        weight=weight,
        category=args.category,
        target=args.target,
        time_limit=args.time_limit,
        locked=locked,
    )
    s = opt.selection.summary
    unit = basis_unit(basis)
    label = basis_label(basis)
    lines = [
        f"{MODEL_LABELS.get(args.model, args.model)}: 选出 {s['n_new']} 处新站点"
        + (f" 1…{s['n_new']}" if s["n_new"] else "")
        + f", {_solver_text(s)}, 用时 {s['runtime_s']:.1f} 秒"
    ]
    if args.model in ("pmedian", "greedy-pmedian"):
        lines.append(
            f"  平均步行距离 {s['mean_m']:.0f} 米 (约 {s['mean_minutes']:.1f} 分钟); "
            f"{s['penalty_m']:.0f} 米罚距计入 {s['unserved_weight']:,.0f} {unit}无站可达的{label}"
        )
    else:
        lines.append(
            f"  {_mins(args.minutes)} 分钟{label}覆盖: {_pct(s['share_before'])} → "
            f"{_pct(s['share_after'])} (+{s['covered_after'] - s['covered_before']:,.0f} {unit})"
        )
    if args.model == "lscp":
        lines.append(
            f"  目标: 可到达{label}的 {_pct(args.target)}; "
            f"{'已达到' if s.get('target_met') else '未达到'}"
        )
    if s["unreachable_rows"]:
        lines.append(
            f"  {s['unreachable_rows']} 个需求点 ({s['unreachable_weight']:,.0f} {unit}) 在 "
            f"{_mins(args.minutes)} 分钟内没有任何站点或候选点可达, 已报告并从目标中排除"
        )
    table = pd.DataFrame(opt.sites.drop(columns="geometry"))
    table["rank"] = [str(k) for k in range(1, len(table) + 1)]
    tag = f"gain_{weight}_{_mins(args.minutes)}min"
    for _, r in table.iterrows():
        lines.append(
            f"  {r['rank']} {r['name']}  ({r['lon_gcj02']:.6f}, {r['lat_gcj02']:.6f} 高德坐标)  "
            f"+{r[tag]:,.0f} {unit}"
        )
    return table, opt.new_coverage, opt.ranking, lines


def _sites_table(parts, args, profile, weight, basis, pop60_known) -> gpd.GeoDataFrame:
    from ..analysis.siting import relabel_gains

    sites = pd.concat(parts, ignore_index=True)
    sites["category"] = args.category
    sites["profile"] = profile.name
    sites["minutes"] = float(args.minutes)
    sites["weight"] = "nodes" if basis == "nodes" else weight
    front = ["rank", "kind", "site_id", "name", "lon", "lat", "lon_gcj02", "lat_gcj02"]
    sites = sites[front + [c for c in sites.columns if c not in front]]
    sites = tidy_numbers(relabel_gains(sites, pop60_known, basis != "nodes"), basis)
    return gpd.GeoDataFrame(
        sites, geometry=gpd.points_from_xy(sites["lon"], sites["lat"]), crs=WGS84
    )


def run(args: argparse.Namespace) -> int:
    from ..analysis.siting import SitingProblem, relabel_gains
    from ..workflow.writers import write_rejections

    t0 = time.perf_counter()
    profile, n_new, thresholds, proposed = _question(args)
    net = common.load_network_from_args(args)
    boundary, area_label = _boundary(args)
    facilities, fac_report = _facilities(args)
    share60 = common.share60_from_args(args)
    population_known = bool(args.population) or args.buildings is not None
    pop60_known, weight, basis = _basis(args, population_known, share60)
    demand = _demand(args, net, boundary, population_known, pop60_known, share60)
    cands, cand_report = _candidates(args, net, boundary)
    prob = SitingProblem.build(
        net,
        demand,
        candidates=cands,
        existing=facilities,
        minutes=thresholds,
        profile=profile,
        max_snap_m=args.max_snap,
        progress=common.show_progress(args),
    )
    lines = _head_lines(args, prob, area_label, basis, pop60_known, profile)
    parts, newcov_parts, locked = [], [], prob.existing_idx
    if proposed is not None:
        try:
            t, nc, locked, more = _what_if(args, prob, proposed, weight, basis, pop60_known)
        except ValueError as exc:
            raise InputError(f"--add: {exc}") from exc
        parts.append(t)
        newcov_parts.append(nc)
        lines += more
    ranking = None
    if n_new > 0 or args.model == "lscp":
        t, nc, ranking, more = _optimum(args, prob, n_new, weight, basis, locked)
        parts.append(t)
        newcov_parts.append(nc)
        lines += more
    if not parts:
        raise InputError("没有要做的分析: 给出 --add 做假设分析, 或 --new N (N > 0) 做选址")
    sites_gdf = _sites_table(parts, args, profile, weight, basis, pop60_known)
    newcov = gpd.GeoDataFrame(pd.concat(newcov_parts, ignore_index=True), crs=WGS84)
    newcov = relabel_gains(newcov, pop60_known, basis != "nodes")
    if ranking is None:
        ranking = prob.rank_candidates(locked, minutes=args.minutes, weight=weight)
        ranking = ranking.drop(columns="site_index")
    ranking = tidy_numbers(relabel_gains(ranking, pop60_known, basis != "nodes"), basis)
    paths = write_sites(sites_gdf, newcov, args.out, candidates=ranking)
    rejected = write_rejections(
        {"现有设施": fac_report, "候选点": cand_report, "站点与需求点": prob.report}, args.out
    )
    if rejected is not None:
        paths["rejected"] = rejected
        n_rows = len(pd.read_csv(rejected, encoding="utf-8-sig"))
        lines.append(f"未使用的输入 {n_rows} 行 (逐行原因见 {rejected})")
    for note in prob.report.notes:
        lines.append(f"注: {note}")
    if len(ranking):
        top = ranking.iloc[0]
        tag = f"gain_{'nodes' if basis == 'nodes' else weight}_{_mins(args.minutes)}min"
        lines.append(
            f"下一处最值得建的候选点: {top['name']} (+{top[tag]:,.0f} {basis_unit(basis)}, "
            f"{_mins(args.minutes)} 分钟), 全部排名见 {paths['candidates']}"
        )
    lines.append("输出: " + ", ".join(str(p) for p in paths.values()))
    lines.append(f"总用时 {time.perf_counter() - t0:.1f} 秒")
    print("\n".join(lines))
    return 0
