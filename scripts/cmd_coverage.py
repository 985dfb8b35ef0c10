"""``lifecircle coverage``: 5/10/15-minute walking coverage of facilities per boundary.

::

    lifecircle coverage --network PATH | --boundary-osm RELATION_ID  --boundaries PATH \\
        --facilities PATH --coords gcj02 --minutes 5 10 15 --profile elderly \\
        [--population PATH] --out DIR

Writes

``DIR/coverage.csv``
    One row per boundary × category × threshold (UTF-8 with BOM for Excel; columns of
    :mod:`lifecircle.analysis.coverage`).
``DIR/coverage.gpkg``
    Layers ``service_areas`` (one polygon per facility and ``fid == "全部"`` per category and
    threshold), ``blind_spots``, ``nodes`` (``osmid``, ``t_<category>`` minutes, empty where
    unreachable), plus ``facilities`` and ``boundaries`` for the map.
``DIR/rejected.csv``
    The run's one table of input rows left out (facilities, boundaries, demand off the network):
    input, file, spreadsheet row, field, value and reason; the console prints the same count.

and prints a Chinese summary table (类别 / 分钟 / 面积覆盖率 / 人口覆盖率 / 60岁以上覆盖率 ...).
"""

from __future__ import annotations

import argparse
import os
import unicodedata
from pathlib import Path

import pandas as pd
import shapely

from ..errors import InputError
from ..settings import DEFAULT_MINUTES, get_profile
from ..workflow.writers import warning_lines, write_coverage, write_notes
from . import _common as common


def register(subparsers) -> None:
    """Add the ``coverage`` subcommand."""
    p = subparsers.add_parser(
        "coverage",
        help="步行覆盖率: 5/10/15 分钟服务范围、覆盖率、服务盲区",
        description=(
            "计算各类设施 5/10/15 分钟步行服务范围 (沿路网, 非直线), 各街道的面积/路网/人口/60岁以上"
            "人口覆盖率, 与直线距离 (200 m / 500 m 圈) 的对比, 以及服务盲区。"
        ),
    )
    src = p.add_argument_group("路网 (二选一)")
    net = src.add_mutually_exclusive_group(required=True)
    common.add_network_args(net)
    net.add_argument(
        "--boundary-osm",
        metavar="RELATION_ID",
        help="从 OpenStreetMap 下载该边界关系 (如 14187869 石泉路街道) 及周边步行路网 (需联网)",
    )
    d = p.add_argument_group("输入数据")
    common.add_boundary_args(d, name_col=True)
    common.add_facility_args(d, required=True)
    d.add_argument(
        "--categories", nargs="+", metavar="CAT", help="只分析这些类别 (默认: 设施表中的全部类别)"
    )
    common.add_population_args(d)
    common.add_residents_args(p.add_argument_group("居民、居民区、容量与规划标准"))
    t = p.add_argument_group("阈值与参数")
    th = t.add_mutually_exclusive_group()
    th.add_argument(
        "--minutes",
        type=float,
        nargs="+",
        metavar="MIN",
        help=f"步行时间阈值 (分钟, 默认 {' '.join(map(str, DEFAULT_MINUTES))})",
    )
    th.add_argument(
        "--metres",
        type=float,
        nargs="+",
        metavar="M",
        help="步行距离阈值 (米), 如 GB 50180 的 300 500 1000",
    )
    common.add_profile_arg(t)
    t.add_argument(
        "--buffer-width",
        type=float,
        default=50.0,
        metavar="M",
        help="服务范围: 可达道路两侧的宽度 (米, 默认 50)",
    )
    common.add_max_snap_arg(t)
    common.add_allow_partial_arg(t)
    t.add_argument(
        "--blind-cell",
        type=float,
        default=150.0,
        metavar="M",
        help="盲区: 每个需求点代表的最大半径 (米, 默认 150)",
    )
    t.add_argument(
        "--no-per-facility", action="store_true", help="不输出单个设施的服务范围 (只输出合并范围)"
    )
    t.add_argument(
        "--jobs",
        type=int,
        default=min(4, os.cpu_count() or 1),
        metavar="N",
        help="构建服务范围多边形的线程数 (默认: CPU 核数, 最多 4)",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="输出目录")
    p.set_defaults(func=run)


# --------------------------------------------------------------------------- loading
def _load_network(args):
    if args.network:
        return common.load_network_from_args(args), None
    from ..analysis.coverage import thresholds_for
    from ..geo import network as network_mod
    from ..geo.boundaries import boundary_from_osm

    try:
        boundary = boundary_from_osm(args.boundary_osm)
        # facilities up to the largest threshold's walk outside the boundary still count
        reach = thresholds_for(args.profile, args.minutes, args.metres)[-1][1]
        net = network_mod.network_from_osm(boundary, buffer_m=reach, profile=args.profile)
    except ValueError as exc:
        raise InputError(f"OSM 边界关系 {args.boundary_osm}: {exc}") from None
    return net, boundary


def _demand(args, net, boundaries):
    path = common.population_path_from_args(args)
    if path is None:
        return None
    from ..geo.population import demand_from_network

    try:
        return demand_from_network(
            net, path, boundary=boundaries, share60=common.share60_from_args(args)
        )
    except (OSError, ValueError) as exc:
        raise InputError(f"人口文件无法使用: {path}: {exc}") from None


def _residents_demand(args, net, boundaries, ropts, share60):
    """Building demand (居民, 估算) and 居民区 when asked for."""
    if ropts is None:
        return None, None, []
    from ..workflow.residents import residents_demand_for_run

    try:
        return residents_demand_for_run(
            net, boundaries, ropts, population=common.population_path_from_args(args),
            share60=share60,
        )  # fmt: skip
    except (OSError, ValueError) as exc:
        raise InputError(f"建筑/居民区: {exc}") from None


def _residents(args, net, fac, result, demand, compounds, ropts, share60) -> dict:
    """居民区, 2SFCA and 达标率 of a coverage run, written beside coverage.csv."""
    from ..workflow.residents import analyse_residents, write_residents, write_residents_workbook

    if demand is None:  # no buildings: the demand of the coverage (nodes or population)
        area = shapely.union_all(result.boundaries.to_crs(4326).geometry.to_numpy())
        nodes = result.nodes.loc[shapely.intersects(area, result.nodes.geometry.to_numpy())]
        demand = nodes.assign(pop=nodes.get("pop", 1.0))
    res = analyse_residents(
        net, fac, result.boundaries, demand, ropts, thresholds=result.thresholds,
        profile=result.profile, categories=args.categories, compounds=compounds,
        share60=share60, max_snap_m=args.max_snap,
    )  # fmt: skip
    files = write_residents(res, args.out)
    xlsx = write_residents_workbook(res, args.out)
    if xlsx is not None:
        files["xlsx"] = xlsx
    for note in res.notes:
        print(f"说明: {note}")
    return {f"residents_{k}": v for k, v in files.items()}


# --------------------------------------------------------------------------- writing
# --------------------------------------------------------------------------- printing
def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - _width(text))
    return gap + text if right else text + gap


def _pct(x) -> str:
    return "—" if x is None or pd.isna(x) else f"{100 * float(x):.1f}%"


def _category_label(cat: str) -> str:
    try:
        from ..vocabulary import category_label

        return category_label(cat)
    except ImportError:
        return cat


def summary_table(table: pd.DataFrame) -> list[str]:
    """The Chinese summary lines printed by the command (one block per boundary): every share
    names its demand basis (路网节点 or 人口); 60+ only when known."""
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
            row = [_category_label(str(r["category"])), f"{r['minutes']:g}", f"{r['limit_m']:.0f}",
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


def run(args: argparse.Namespace) -> int:
    """Run the coverage analysis and write the outputs; 0 even when rows were rejected."""
    from ..analysis.coverage import compute_coverage
    from ..workflow.writers import coverage_reports, write_rejections

    prof = get_profile(args.profile)
    fac_path = common.resolve_path(args.facilities)
    if not fac_path.exists():  # before the (possibly long) network loading
        raise InputError(f"设施文件不存在 (no such file): {fac_path}")
    common.require_coords_arg(args.coords, f"--facilities {fac_path}", "--coords")
    net, boundaries = _load_network(args)
    print(f"路网: {net.n_nodes:,} 个节点, 街道 {net.total_length() / 1000:,.1f} km")
    # the network's extent (+1 km, the loader's tolerance) is the declared area
    area = shapely.convex_hull(shapely.multipoints(net.lonlat))
    fac, frep = common.load_facilities_from_args(args, area=area)
    reports = {"设施": frep}
    print(f"设施: {frep.n_input} 行, 载入 {frep.n_loaded}, 未使用 {frep.n_rejected}")
    if len(fac) == 0:
        raise InputError(f"{args.facilities}: 没有可用的设施 (见上: 都不在路网范围内或无法读取)")
    if args.boundaries:
        boundaries, reports["边界"] = common.load_boundaries_from_args(args)
    if boundaries is None:
        print("未给出边界 (--boundaries): 以路网范围 (节点凸包) 作为研究范围")
    share60 = common.share60_from_args(args)
    ropts = common.residents_options_from_args(args)
    demand, compounds, rnotes = _residents_demand(args, net, boundaries, ropts, share60)
    if demand is None:
        demand = _demand(args, net, boundaries)
    if demand is not None and share60 is None:
        print("未给出 60 岁以上比例 (--share60 或 --district): 60岁以上覆盖率留空")
    try:
        result = compute_coverage(
            net,
            fac,
            boundaries,
            profile=prof,
            minutes=args.minutes,
            metres=args.metres,
            demand=demand,
            categories=args.categories,
            width_m=args.buffer_width,
            max_snap_m=args.max_snap,
            per_facility=not args.no_per_facility,
            blind_cell_m=args.blind_cell,
            population_known=demand is not None,
            allow_partial=args.allow_partial,
            n_jobs=max(1, args.jobs),
            progress=common.show_progress(args),
        )
    except ValueError as exc:
        raise InputError(str(exc)) from None
    files = write_coverage(result, args.out)
    if ropts is not None:
        files.update(_residents(args, net, fac, result, demand, compounds, ropts, share60))
    rejected = write_rejections({**reports, **coverage_reports(result)}, args.out)
    flagged = write_notes(reports, args.out)
    if flagged is not None:
        files["notes"] = flagged
    for line in warning_lines(reports):
        print(line)
    print()
    print(f"步行覆盖率 ({prof.label}, 服务范围为可达道路两侧各 {args.buffer_width:g} 米)")
    for line in summary_table(result.table):
        print(line)
    for note in [*rnotes, *result.notes]:
        print(f"说明: {note}")
    if rejected is not None:
        files["rejected"] = rejected
        frame = pd.read_csv(rejected, encoding="utf-8-sig")
        print(f"未使用的输入 {len(frame)} 行 (逐行原因见 {rejected}):")
        for r in frame.head(20).itertuples():
            row = "" if pd.isna(r.row) else f"第 {int(r.row)} 行, "
            print(f"  {r.input} {Path(str(r.file)).name} {row}字段 {r.field}: {r.reason}")
        if len(frame) > 20:
            print(f"  … 另 {len(frame) - 20} 行见 {rejected}")
    print()
    for kind, path in files.items():
        print(f"已写出 {kind}: {path}")
    return 0
