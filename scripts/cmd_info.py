"""``lifecircle info``: check input data before an analysis.

Prints, in Chinese, how many facility rows were loaded per category and every rejected row with its
reason; optionally a short summary of a walking network and of boundaries. Rejected rows are a
normal outcome (exit 0); a file that cannot be read at all exits 2.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from ..settings import data_dir
from .cli import InputError


def register(subparsers) -> None:
    """Add the ``info`` subcommand."""
    p = subparsers.add_parser(
        "info",
        help="检查输入数据 (设施表的载入与拒绝行, 路网, 边界)",
        description="检查输入数据: 设施表按类别统计载入行数, 列出每一条被拒绝的行及原因。",
    )
    f = p.add_argument_group("设施 (facilities)")
    f.add_argument("--facilities", metavar="FILE", help="CSV/XLSX/GeoJSON/GPKG 设施表")
    f.add_argument(
        "--coords", metavar="SYS", help="坐标系: wgs84, gcj02 (高德), bd09 (百度) 或 EPSG 代码"
    )
    f.add_argument("--x", metavar="COL", help="经度列 (默认自动识别 lng/lon/经度/x)")
    f.add_argument("--y", metavar="COL", help="纬度列 (默认自动识别 lat/纬度/y)")
    f.add_argument("--type-col", metavar="COL", help="类型列 (默认自动识别 type/类型)")
    f.add_argument("--name-col", metavar="COL", help="名称列 (默认自动识别 name/名称)")
    f.add_argument("--sheet", metavar="S", help="XLSX 工作表名称 (默认第一个)")
    f.add_argument(
        "--category", metavar="CAT", help="默认类别 (无类型列或类型未列入 categories.yaml 时使用)"
    )
    o = p.add_argument_group("其他数据 (optional)")
    o.add_argument("--network", metavar="PATH", help="路网文件 (.osm/.pbf/.graphml)")
    o.add_argument("--boundaries", metavar="PATH", help="边界文件 (GeoJSON/GPKG/SHP)")
    p.set_defaults(func=run)


def _resolve(path: str) -> Path:
    """A path as given, else relative to $LIFECIRCLE_DATA when it exists there."""
    p = Path(path)
    if not p.exists():
        try:
            base = data_dir()
        except RuntimeError:
            base = None
        if base is not None and (base / path).exists():
            return base / path
    return p


def _reason_key(reason: str) -> str:
    """Group reasons that carry details after a colon ('...: same as row 3')."""
    return reason.split(": ", 1)[0]


def _facilities(args: argparse.Namespace) -> None:
    from ..geo.facilities import FacilitiesError, load_categories, load_facilities

    path = _resolve(args.facilities)
    sheet = args.sheet
    if sheet is not None and sheet.isdigit():
        sheet = int(sheet)
    try:
        gdf, report = load_facilities(
            path,
            args.coords,
            x=args.x,
            y=args.y,
            type_col=args.type_col,
            name_col=args.name_col,
            category=args.category,
            sheet=sheet,
        )
    except FileNotFoundError:
        raise InputError(f"设施文件不存在 (no such file): {path}") from None
    except PermissionError:
        raise InputError(f"设施文件无法读取 (permission denied): {path}") from None
    except (FacilitiesError, OSError) as exc:
        raise InputError(f"设施文件无法读取: {exc}") from None

    cats = load_categories()
    print(f"设施文件: {path}")
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
            where = f"第 {r.row} 行" if r.row is not None else "文件"
            field = f", 字段 {r.field}" if r.field else ""
            value = "" if r.value is None else f" (值: {r.value})"
            print(f"    {where}{field}: {r.reason}{value}")
    if not report.balanced:  # a bug, never expected: say so loudly
        print(f"  警告: 行数不平衡 ({report.n_loaded} + {report.n_rejected} ≠ {report.n_input})")


def _network(path_text: str) -> None:
    try:
        from ..geo.network import load_network
    except ImportError:
        print(f"路网: 路网加载器尚未提供, 跳过 {path_text}")
        return
    path = _resolve(path_text)
    if not path.exists():
        raise InputError(f"路网文件不存在 (no such file): {path}")
    try:
        net = load_network(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"路网文件无法读取: {path}: {exc}") from None
    if isinstance(net, tuple):
        net = net[0]
    print(f"路网: {path}")
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


def _boundaries(path_text: str) -> None:
    try:
        from ..geo.boundaries import load_boundaries
    except ImportError:
        print(f"边界: 边界加载器尚未提供, 跳过 {path_text}")
        return
    path = _resolve(path_text)
    if not path.exists():
        raise InputError(f"边界文件不存在 (no such file): {path}")
    try:
        gdf, report = load_boundaries(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"边界文件无法读取: {path}: {exc}") from None
    from ..geo.crs import metric_crs_for

    print(f"边界: {path}")
    print(f"  共 {report.n_input} 个要素: 载入 {report.n_loaded}, 拒绝 {report.n_rejected}")
    if len(gdf):
        areas = gdf.to_crs(metric_crs_for(gdf)).area / 1e6
        names = gdf["name"] if "name" in gdf.columns else gdf.index.astype(str)
        for name, area in zip(names, areas, strict=True):
            print(f"    {name}\t{area:,.2f} km²")
    for note in report.notes:
        print(f"  说明: {note}")
    for r in report.rejections:
        print(f"  拒绝: {r}")


def run(args: argparse.Namespace) -> int:
    """Print the summaries; 0 even when rows were rejected."""
    if not (args.facilities or args.network or args.boundaries):
        raise InputError("请给出 --facilities, --network 或 --boundaries 中的至少一个")
    if args.facilities:
        _facilities(args)
    if args.network:
        _network(args.network)
    if args.boundaries:
        _boundaries(args.boundaries)
    return 0
