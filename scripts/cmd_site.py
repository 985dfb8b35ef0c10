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

from ..settings import DEFAULT_MINUTES
from ..workflow.site_run import SiteRequest, run_site
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
    common.add_extent_arg(d)
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


def run(args: argparse.Namespace) -> int:
    """Answer the siting question (:func:`lifecircle.workflow.site_run.run_site`), print it."""
    request = SiteRequest(
        network=args.network,
        out=args.out,
        boundaries=common.boundary_file_from_args(args),
        extent=args.extent,
        facilities=common.facility_file_from_args(args) if args.facilities else None,
        category=args.category,
        population=common.population_from_args(args),
        residents=common.residents_options_from_args(args),
        outside=args.outside,
        candidates=args.candidates,
        candidate_coords=args.candidate_coords,
        spacing=args.spacing,
        parcels=args.parcels,
        minutes=args.minutes,
        thresholds=args.thresholds,
        profile=args.profile,
        new=args.new,
        model=args.model,
        target=args.target,
        weight=args.weight,
        time_limit=args.time_limit,
        max_snap=args.max_snap,
        add=args.add,
        add_coords=args.add_coords,
    )
    run_site(request, echo=common.say, progress=common.show_progress(args))
    return 0
