"""``lifecircle info``: check input data before an analysis.

Prints, in Chinese, how many facility rows were loaded per category and every rejected row with its
reason; optionally a short summary of a walking network and of boundaries. Rejected rows are a
normal outcome (exit 0); a file that cannot be read at all exits 2.
"""

from __future__ import annotations

import argparse
from collections import Counter

from ..errors import InputError
from . import _common as common


def register(subparsers) -> None:
    """Add the ``info`` subcommand."""
    p = subparsers.add_parser(
        "info",
        help="检查输入数据 (设施表的载入与拒绝行, 路网, 边界)",
        description="检查输入数据: 设施表按类别统计载入行数, 列出每一条被拒绝的行及原因。",
    )
    common.add_facility_args(p.add_argument_group("设施 (facilities)"))
    o = p.add_argument_group("其他数据 (optional)")
    common.add_network_args(o)
    common.add_boundary_args(o)
    p.set_defaults(func=run)


def _reason_key(reason: str) -> str:
    """Group reasons that carry details after a colon ('...: same as row 3')."""
    return reason.split(": ", 1)[0]


def _facilities(args: argparse.Namespace) -> None:
    from ..geo.facilities import load_categories

    gdf, report = common.load_facilities_from_args(args)
    cats = load_categories()
    print(f"设施文件: {common.resolve_path(args.facilities)}")
    for note in report.notes:
        print(f"  说明: {note}")
    if args.coords:
        print(f"  坐标系: {args.coords} → WGS84 (原始坐标保存在 src_x/src_y)")
    print(f"  共 {report.n_input} 行: 载入 {report.n_loaded} 行, 拒绝 {report.n_rejected} 行")
    if len(gdf):
        print("  按类别载入:")
        for cat, n in gdf["category"].value_counts().items():
            print(f"    {cats.label(cat)} ({cat}): {n}")
    if report.rejections:
        print("  拒绝原因:")
        for reason, n in Counter(_reason_key(r.reason) for r in report.rejections).most_common():
            print(f"    {reason}: {n}")
        print("  拒绝明细:")
        for r in report.rejections:
            print(f"    {common.rejection_text(r)}")
    if not report.balanced:  # a bug, never expected: say so loudly
        print(f"  警告: 行数不平衡 ({report.n_loaded} + {report.n_rejected} ≠ {report.n_input})")


def _network(args: argparse.Namespace) -> None:
    net = common.load_network_from_args(args)
    print(f"路网: {common.resolve_path(args.network)}")
    print(
        f"  节点 {net.n_nodes:,} 个, 有向边 {net.n_edges:,} 条, "
        f"道路总长 {net.total_length() / 1000:,.1f} km, 投影 {net.crs.to_string()}"
    )
    names = net.edges["name"].dropna()
    if len(names):
        print(
            f"  有名称的道路 {names.nunique():,} 条 (如 {', '.join(map(str, names.unique()[:3]))})"
        )
    for note in net.report.notes:
        print(f"  说明: {note}")


def _boundaries(args: argparse.Namespace) -> None:
    from ..geo.crs import metric_crs_for

    gdf, report = common.load_boundaries_from_args(args, allow_empty=True)
    print(f"边界: {common.resolve_path(args.boundaries)}")
    print(f"  共 {report.n_input} 个要素: 载入 {report.n_loaded}, 拒绝 {report.n_rejected}")
    if len(gdf):
        areas = gdf.to_crs(metric_crs_for(gdf)).area / 1e6
        names = gdf["name"] if "name" in gdf.columns else gdf.index.astype(str)
        for name, area in zip(names, areas, strict=True):
            print(f"    {name}\t{area:,.2f} km²")
    for note in report.notes:
        print(f"  说明: {note}")
    common.print_rejections(report, "  拒绝: ")


def run(args: argparse.Namespace) -> int:
    """Print the summaries; 0 even when rows were rejected."""
    if not (args.facilities or args.network or args.boundaries):
        raise InputError("请给出 --facilities, --network 或 --boundaries 中的至少一个")
    if args.facilities:
        _facilities(args)
    if args.network:
        _network(args)
    if args.boundaries:
        _boundaries(args)
    return 0
