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
``DIR/coverage_rejected.csv``
    Facility (and demand) rows left out, with file, row, field and reason (when there are any).

and prints a Chinese summary table (类别 / 分钟 / 面积覆盖率 / 人口覆盖率 / 60岁以上覆盖率 ...).
"""

from __future__ import annotations

import argparse
import os
import unicodedata

import pandas as pd
import shapely

from ..errors import InputError
from ..settings import DEFAULT_MINUTES, get_profile
from ..workflow.writers import write_coverage
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
    """The Chinese summary lines printed by the command (one block per boundary)."""
    if len(table) == 0:
        return ["(没有结果)"]
    nodes = (table["demand_basis"] == "nodes").all()
    pop_head = "节点覆盖率*" if nodes else "人口覆盖率"
    blind_head = "盲区节点" if nodes else "盲区人口"
    heads = ["类别", "分钟", "米", "面积覆盖率", "路网覆盖率", pop_head, "60岁以上覆盖率",
             "直线距离人口覆盖率", blind_head]  # fmt: skip
    lines = []
    for boundary, sub in table.groupby("boundary", sort=False):
        first = sub.iloc[0]
        pop = (
            f"{first['population']:,.0f} 个路网节点" if nodes else f"{first['population']:,.0f} 人"
        )
        lines.append(f"{boundary}  (面积 {first['area_km2']:.2f} km², 街道 "
                     f"{first['network_km']:.1f} km, {pop})")  # fmt: skip
        rows = [
            [
                _category_label(str(r["category"])),
                f"{r['minutes']:g}",
                f"{r['limit_m']:.0f}",
                _pct(r["area_share"]),
                _pct(r["network_share"]),
                _pct(r["population_share"]),
                _pct(r["pop60_share"]),
                _pct(r["crowfly_population_share"]),
                f"{r['blind_spot_population']:,.0f}",
            ]
            for _, r in sub.iterrows()
        ]
        widths = [max(_width(h), *(_width(row[i]) for row in rows)) for i, h in enumerate(heads)]
        lines.append("  " + "  ".join(_pad(h, w) for h, w in zip(heads, widths, strict=True)))
        for row in rows:
            cells = [
                _pad(c, w, right=i > 0) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ]
            lines.append("  " + "  ".join(cells))
    if nodes:
        lines.append("* 未提供人口数据: 按路网节点计 (每个节点权重 1)")
    return lines


def run(args: argparse.Namespace) -> int:
    """Run the coverage analysis and write the outputs; 0 even when rows were rejected."""
    from ..analysis.coverage import compute_coverage

    prof = get_profile(args.profile)
    fac_path = common.resolve_path(args.facilities)
    if not fac_path.exists():  # before the (possibly long) network loading
        raise InputError(f"设施文件不存在 (no such file): {fac_path}")
    net, boundaries = _load_network(args)
    print(f"路网: {net.n_nodes:,} 个节点, 街道 {net.total_length() / 1000:,.1f} km")
    # the network's extent (+1 km, the loader's tolerance) is the declared area
    area = shapely.convex_hull(shapely.multipoints(net.lonlat))
    fac, frep = common.load_facilities_from_args(args, area=area)
    print(f"设施: {frep.n_input} 行, 载入 {frep.n_loaded}, 拒绝 {frep.n_rejected}")
    for r in frep.rejections:
        print(f"  拒绝 {common.rejection_text(r, file=True, value=False)}")
    if len(fac) == 0:
        raise InputError(f"{args.facilities}: 没有可用的设施")
    if args.boundaries:
        boundaries, brep = common.load_boundaries_from_args(args)
        common.print_rejections(brep, "  边界拒绝: ")
    if boundaries is None:
        print("未给出边界: 以路网范围 (节点凸包) 作为研究范围")
    demand = _demand(args, net, boundaries)
    share60 = common.share60_from_args(args)
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
            n_jobs=max(1, args.jobs),
            progress=True,
        )
    except ValueError as exc:
        raise InputError(str(exc)) from None
    files = write_coverage(result, args.out)
    print()
    print(f"步行覆盖率 ({prof.label}, 服务范围为可达道路两侧各 {args.buffer_width:g} 米)")
    for line in summary_table(result.table):
        print(line)
    for note in result.notes:
        print(f"说明: {note}")
    common.print_rejections(result.reports, "  未参与计算: ")
    print()
    for kind, path in files.items():
        print(f"已写出 {kind}: {path}")
    return 0
