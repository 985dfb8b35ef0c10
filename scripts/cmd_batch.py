"""``lifecircle batch CONFIG... --out DIR``: many street/district configs as dask tasks.

Each config runs as ``lifecircle run`` runs it, into ``DIR/<street or district>/``;
``DIR/summary.csv`` and ``summary.xlsx`` hold every street's coverage rows (and the districts'). A local cluster of ``--workers`` processes by
default, or an existing cluster with ``--scheduler``. See :mod:`lifecircle.workflow.batch`.
"""

from __future__ import annotations

import argparse
import time

from ._common import add_allow_partial_arg, output_dir


def register(subparsers) -> None:
    """Add the ``batch`` subcommand."""
    p = subparsers.add_parser(
        "batch",
        help="批量运行多个街道配置 (dask.distributed 并行)",
        description=(
            "批量运行多个街道/区配置 (与 lifecircle run 相同), 每个街道输出到 DIR/<街道>/, "
            "汇总表 DIR/summary.csv 与 summary.xlsx。默认在本机启动 --workers 个进程; "
            "--scheduler 连接已有的 dask 集群。"
        ),
        allow_abbrev=False,
    )
    p.add_argument("configs", nargs="+", metavar="CONFIG", help="街道配置或区配置 YAML 文件")
    p.add_argument("--out", required=True, metavar="DIR", help="输出目录")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=int, default=2, metavar="N", help="本机工作进程数 (默认 2)"
    )
    where.add_argument("--scheduler", metavar="ADDRESS", help="已有 dask 集群的调度器地址")
    add_allow_partial_arg(p)
    p.add_argument("--quiet", action="store_true", help="不显示进度条")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the batch; print what ran, what failed (by street) and the summary files."""
    from ..workflow.batch import run_batch

    t0 = time.perf_counter()
    out = output_dir(args.out)
    res = run_batch(
        args.configs,
        out,
        workers=args.workers,
        scheduler=args.scheduler,
        allow_partial=args.allow_partial,
        progress=not args.quiet,
    )
    print(
        f"完成 {len(res.done)} 个街道/区 (用时 {time.perf_counter() - t0:.0f} 秒): "
        + "、".join(res.done)
    )
    for path, runs in res.shared.items():
        if len(runs) > 1:
            print(f"共用路网 (读取一次): {path}: " + "、".join(runs))
    for street, reason in res.failures.items():
        print(f"失败: {street}: {reason}")
    for path in res.files.values():
        print(f"  {path}")
    return 1 if res.failures else 0
