"""``lifecircle run --config FILE --out DIR``: one street, end to end, from its run config.

The config (``data/streets/<街道>.yaml``, schema in :mod:`lifecircle.analysis.runconfig`) names the
street's OSM boundary relation, the facility sources, the population, the corridors plan and the
siting question. The walking network is downloaded from OpenStreetMap around the boundary (osmnx,
cached) unless ``--network PATH`` or the config's ``network.file`` gives a local file; offline and
without one, the command stops with exit code 2 and says so.

Outputs are those of ``lifecircle demo`` (see :mod:`lifecircle.workflow.pipeline`).
"""

from __future__ import annotations

import argparse
import time

from ..workflow.configs import RunRequest, load_run_inputs
from ._common import (
    add_allow_partial_arg,
    add_jobs_arg,
    output_dir,
    run_pipeline_and_print,
    say,
)


def register(subparsers) -> None:
    """Add the ``run`` subcommand."""
    p = subparsers.add_parser(
        "run",
        help="按街道配置文件跑完整分析 (覆盖率、选址、慢行道、地图、报告)",
        description=(
            "按一个街道的配置文件 (data/streets/<街道>.yaml) 跑完整流程。路网默认从 "
            "OpenStreetMap 下载 (需联网, 有缓存); 离线时用 --network 指定本地路网文件。"
        ),
    )
    p.add_argument(
        "--config",
        required=True,
        metavar="FILE",
        help="街道配置 YAML (如 data/streets/石泉路街道.yaml) 或区配置 (data/districts/普陀区.yaml, "
        "全部街道一次分析), 或内置名称 (如 石泉路街道、普陀区)",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="输出目录")
    p.add_argument(
        "--network", metavar="PATH", help="本地路网文件 (.osm/.pbf/.graphml), 代替在线下载"
    )
    p.add_argument(
        "--boundaries",
        metavar="PATH",
        help="街道边界文件 (GeoJSON/GPKG/SHP), 代替配置中的边界 (离线时必需)",
    )
    p.add_argument(
        "--boundary-name",
        metavar="NAME",
        help="边界文件中要用的边界名称 (默认: 配置中的街道名)",
    )
    add_allow_partial_arg(p)
    p.add_argument("--cache-folder", metavar="DIR", help="osmnx 下载缓存目录 (默认 ./cache)")
    p.add_argument(
        "--basemap",
        default="auto",
        choices=["auto", "osm", "positron", "amap", "none"],
        help="HTML 地图底图 (默认 auto: 中国境内用高德)",
    )
    p.add_argument("--quiet", action="store_true", help="不显示进度条")
    add_jobs_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load the config and its inputs (:func:`lifecircle.workflow.configs.load_run_inputs`),
    run the pipeline, print the summary and the files."""
    t0 = time.perf_counter()
    out = output_dir(args.out)
    request = RunRequest(
        config=args.config,
        network=args.network,
        boundaries=args.boundaries,
        boundary_name=args.boundary_name,
        cache_folder=args.cache_folder,
    )
    inputs = load_run_inputs(request, echo=say)
    return run_pipeline_and_print(inputs, out, args, t0)
