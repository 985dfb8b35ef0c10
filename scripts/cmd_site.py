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
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..cells import write_csv
from ..errors import InputError
from ..settings import DEFAULT_MINUTES, WGS84, get_profile
from ..workflow.writers import write_sites
from . import _common as common

MODEL_LABELS = {
    "mclp": "最大覆盖模型 (MCLP)",
    "lscp": "最少设施覆盖模型 (LSCP)",
    "pmedian": "P-中值模型 (总步行距离最小)",
    "greedy": "贪心 + 交换启发式",
    "greedy-pmedian": "贪心 + 交换启发式 (总步行距离)",
}
STATUS_LABELS = {
    "optimal": "已证明最优",
    "time_limit": "达到时间上限",
    "heuristic": "启发式解",
    "infeasible": "无可行解",
}


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
    d.add_argument("--boundary-name", metavar="NAME", help="只用这个边界 (默认全部合并)")
    common.add_facility_args(d, help="现有设施表 (作为已建站点锁定)", default_category=False)
    d.add_argument("--category", default="elder_care", help="设施类别 (默认 elder_care)")
    common.add_population_args(d)
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
        return None, "路网范围"
    gdf, _ = common.load_boundaries_from_args(args)
    if args.boundary_name:
        names = gdf["name"].astype(str)
        want = args.boundary_name.strip()
        hit = gdf[(names == want) | (names.str.replace("街道", "") == want.replace("街道", ""))]
        if len(hit) == 0:
            raise InputError(
                f"{common.resolve_path(args.boundaries)}: 没有名为 {want!r} 的边界 "
                f"(有: {', '.join(names[:20])})"
            )
        return hit, want
    label = "、".join(gdf["name"].astype(str).tolist()[:3]) + ("等" if len(gdf) > 3 else "")
    return gdf, label


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


# ------------------------------------------------------------------------------ writing
def _rejections(reports) -> pd.DataFrame:
    frames = [r.to_frame() for r in reports if r is not None and r.rejections]
    if not frames:
        return pd.DataFrame(columns=["file", "row", "field", "reason", "value"])
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------------- run
def _pct(x: float) -> str:
    return "—" if x is None or not np.isfinite(x) else f"{100.0 * x:.1f}%"


def _mins(m: float) -> str:
    return f"{int(m)}" if float(m).is_integer() else f"{m:g}"


def run(args: argparse.Namespace) -> int:
    from ..analysis.siting import (
        WEIGHT_LABELS,
        SitingProblem,
        demand_points,
        optimal_sites,
        parse_lonlat,
    )

    t0 = time.perf_counter()
    profile = get_profile(args.profile)
    weight = args.weight or ("pop60" if args.category == "elder_care" else "pop")
    n_new = args.new if args.new is not None else (0 if args.add else 3)
    if n_new < 0:
        raise InputError("--new 不能为负数")
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

    net = common.load_network_from_args(args)
    boundary, area_label = _boundary(args)
    facilities, fac_report = _facilities(args)
    share60 = common.share60_from_args(args)
    pop_path = common.population_path_from_args(args)
    population = str(pop_path) if pop_path is not None else None
    try:
        demand = demand_points(
            net, boundary, population=population, share60=share60, outside_m=args.outside
        )
    except (ValueError, OSError) as exc:
        raise InputError(f"需求点: {exc}") from exc
    if len(demand) == 0:
        raise InputError("边界内没有路网节点: 检查边界与路网是否对应同一地区")
    cands, cand_report = _candidates(args, net, boundary)
    if weight == "pop60" and share60 is None:
        note_60 = "未给出60岁以上比例 (--share60/--district): 60岁以上权重按全部人口计"
    else:
        note_60 = None

    prob = SitingProblem.build(
        net,
        demand,
        candidates=cands,
        existing=facilities,
        minutes=thresholds,
        profile=profile,
        max_snap_m=args.max_snap,
        progress=True,
    )
    existing = prob.existing_idx
    parts, newcov_parts = [], []
    lines = []
    label = WEIGHT_LABELS.get(weight, weight)
    metres = prob.threshold_m(args.minutes)
    lines.append(
        f"新增站点选址: {area_label}, 类别 {args.category}, 步行 {_mins(args.minutes)} 分钟 "
        f"({profile.label}: {metres:.0f} 米), 权重 {label}"
    )
    tot = prob.shares(existing, [args.minutes]).iloc[0]
    inside = prob.demand["inside"].to_numpy()
    lines.append(
        f"需求点 {len(prob.demand):,} 个 (人口 {prob.weights('pop')[inside].sum():,.0f}, "
        f"60岁以上 {prob.weights('pop60')[inside].sum():,.0f}); 现有设施 "
        f"{int(prob.sites['snapped'].to_numpy()[existing].sum())} 处; 候选点 "
        f"{len(prob.candidate_idx)} 处"
    )
    lines.append(
        f"现状 {_mins(args.minutes)} 分钟覆盖: 人口 {_pct(tot['share_pop'])}, "
        f"60岁以上 {_pct(tot['share_pop60'])}"
    )
    locked = existing
    whatif = None
    if proposed is not None:
        try:
            whatif = prob.what_if(
                proposed, coords=args.add_coords, weight=weight, rank_minutes=args.minutes
            )
        except ValueError as exc:
            raise InputError(f"--add: {exc}") from exc
        t = whatif.sites.copy()
        t["kind"] = "proposed"
        t["model"] = "what-if"
        parts.append(t)
        nc = whatif.new_coverage.copy()
        nc["kind"] = "proposed"
        newcov_parts.append(nc)
        ok = prob.sites["snapped"].to_numpy()[whatif.site_idx]
        locked = np.concatenate([existing, whatif.site_idx[ok]])
        row = whatif.table.set_index("minutes").loc[float(args.minutes)]
        lines.append(
            f"假设新增 {len(whatif.site_idx)} 处拟建站点 ({int(ok.sum())} 处可接入路网): "
            f"{_mins(args.minutes)} 分钟 {label}增加 {row[f'gain_{weight}']:,.0f} 人, "
            f"覆盖率 {_pct(row[f'share_{weight}_before'])} → "
            f"{_pct(row[f'share_{weight}_after'])} "
            f"(+{row['gain_pp' if weight == 'pop' else 'gain_pp60']:.1f} 个百分点)"
        )
        for _, r in whatif.table.iterrows():
            if float(r["minutes"]) != float(args.minutes):
                lines.append(
                    f"  {_mins(r['minutes'])} 分钟: 人口 +{r['gain_pop']:,.0f} "
                    f"(+{r['gain_pp']:.1f} 个百分点), 60岁以上 "
                    f"+{r['gain_pop60']:,.0f} (+{r['gain_pp60']:.1f} 个百分点)"
                )
    sel = None
    if n_new > 0 or args.model == "lscp":
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
        sel = opt.selection
        parts.append(pd.DataFrame(opt.sites.drop(columns="geometry")))
        newcov_parts.append(opt.new_coverage)
        s = sel.summary
        status = STATUS_LABELS.get(s["status"], s["status"])
        lines.append(
            f"{MODEL_LABELS.get(args.model, args.model)}: 选出 {s['n_new']} 处新站点, "
            f"{status}, gap {s['gap']:.2%}, 用时 {s['runtime_s']:.1f} 秒"
        )
        if args.model in ("pmedian", "greedy-pmedian"):
            lines.append(
                f"  平均步行距离 {s['mean_m']:.0f} 米 (约 {s['mean_minutes']:.1f} 分钟); "
                f"{s['penalty_m']:.0f} 米罚距计入 {s['unserved_weight']:,.0f} 个无站可达的"
                f"{label}"
            )
        else:
            lines.append(
                f"  {_mins(args.minutes)} 分钟{label}覆盖: {_pct(s['share_before'])} → "
                f"{_pct(s['share_after'])} (+{s['covered_after'] - s['covered_before']:,.0f}"
                " 人)"
            )
        if args.model == "lscp":
            lines.append(
                f"  目标: 可到达{label}的 {_pct(args.target)}; "
                f"{'已达到' if s.get('target_met') else '未达到'}"
            )
        if s["unreachable_rows"]:
            lines.append(
                f"  {s['unreachable_rows']} 个需求点 ({label} {s['unreachable_weight']:,.0f})"
                f" 在 {_mins(args.minutes)} 分钟内没有任何站点或候选点可达, 已报告并从目标中排除"
            )
        for _, r in sel.table.iterrows():
            gain = r.get(f"gain_{weight}_{_mins(args.minutes)}min", np.nan)
            lines.append(
                f"  #{int(r['rank'])} {r['name']}  ({r['lon_gcj02']:.6f}, "
                f"{r['lat_gcj02']:.6f} 高德坐标)  +{gain:,.0f} 人"
            )
    if not parts:
        raise InputError("没有要做的分析: 给出 --add 做假设分析, 或 --new N (N > 0) 做选址")
    sites = pd.concat(parts, ignore_index=True)
    sites["rank"] = np.arange(1, len(sites) + 1)
    sites["category"] = args.category
    sites["profile"] = profile.name
    sites["minutes"] = float(args.minutes)
    sites["weight"] = weight
    front = ["rank", "kind", "site_id", "name", "lon", "lat", "lon_gcj02", "lat_gcj02"]
    sites = sites[front + [c for c in sites.columns if c not in front]]
    sites_gdf = gpd.GeoDataFrame(
        sites, geometry=gpd.points_from_xy(sites["lon"], sites["lat"]), crs=WGS84
    )
    newcov = (
        gpd.GeoDataFrame(pd.concat(newcov_parts, ignore_index=True), crs=WGS84)
        if newcov_parts
        else None
    )
    if sel is not None:
        ranking = opt.ranking
    else:
        ranking = prob.rank_candidates(locked, minutes=args.minutes, weight=weight)
        ranking = ranking.drop(columns="site_index")
    paths = write_sites(sites_gdf, newcov, args.out, candidates=ranking)
    rejected = _rejections([fac_report, cand_report, prob.report])
    if len(rejected):
        paths["rejected"] = Path(args.out) / "site_rejected.csv"
        write_csv(rejected, paths["rejected"])
        lines.append(f"未使用的输入 {len(rejected)} 行 (原因见 {paths['rejected']})")
    if note_60:
        lines.append(note_60)
    for note in prob.report.notes:
        lines.append(f"注: {note}")
    if len(ranking):
        top = ranking.iloc[0]
        lines.append(
            f"下一处最值得建的候选点: {top['name']} (+{top[f'gain_{weight}_{_mins(args.minutes)}min']:,.0f}"
            f" 人, {_mins(args.minutes)} 分钟), 全部排名见 {paths['candidates']}"
        )
    lines.append("输出: " + ", ".join(str(p) for p in paths.values()))
    lines.append(f"总用时 {time.perf_counter() - t0:.1f} 秒")
    print("\n".join(lines))
    return 0
