"""``lifecircle coverage``: 5/10/15-minute walking coverage of facilities per boundary.

::

    lifecircle coverage --network PATH | --boundary-osm RELATION_ID  --boundaries PATH \\
        --facilities PATH --coords gcj02 --minutes 5 10 15 --profile elderly \\
        [--population PATH [--population-coords SYS]] --out DIR

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

from ..settings import DEFAULT_MINUTES
from ..workflow.coverage_run import CoverageRequest, run_coverage
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
    common.add_extent_arg(d)
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
    common.add_jobs_arg(t)
    p.add_argument("--out", required=True, metavar="DIR", help="输出目录")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the coverage analysis (:func:`lifecircle.workflow.coverage_run.run_coverage`) and
    print what it reports; 0 even when rows were rejected."""
    request = CoverageRequest(
        facilities=common.facility_file_from_args(args),
        out=args.out,
        network=args.network,
        boundary_osm=args.boundary_osm,
        boundaries=common.boundary_file_from_args(args),
        extent=args.extent,
        categories=args.categories,
        population=common.population_from_args(args),
        residents=common.residents_options_from_args(args),
        minutes=args.minutes,
        metres=args.metres,
        profile=args.profile,
        buffer_width=args.buffer_width,
        max_snap=args.max_snap,
        allow_partial=args.allow_partial,
        blind_cell=args.blind_cell,
        per_facility=not args.no_per_facility,
        jobs=args.jobs,
    )
    run_coverage(request, echo=common.say, progress=common.show_progress(args))
    return 0
