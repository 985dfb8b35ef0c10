"""The info command as a library call: what a facility table, network and boundary file hold."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..geo.report import Rejection
from .loading import BoundaryFile, FacilityFile, load_facility_file, load_network_file, resolve_path

__all__ = ["InfoRequest", "describe_inputs", "rejection_text"]

Echo = Callable[[str], None]


@dataclass
class InfoRequest:
    """The inputs ``lifecircle info`` checks: any of a facility table, a network, boundaries."""

    facilities: FacilityFile | None = None
    network: str | Path | None = None
    boundaries: BoundaryFile | None = None


def rejection_text(r: Rejection, *, file: bool = False, value: bool = True) -> str:
    """One rejected row in Chinese: ``[file ]第 n 行, 字段 f: reason[ (值: v)]``."""
    where = f"第 {r.row} 行" if r.row is not None else "文件"
    field = f", 字段 {r.field}" if r.field else ""
    val = f" (值: {r.value})" if value and r.value is not None else ""
    src = f"{r.file} " if file else ""
    return f"{src}{where}{field}: {r.reason}{val}"


def _reason_key(reason: str) -> str:
    """Group reasons that carry details after a colon ('...: same as row 3')."""
    return reason.split(": ", 1)[0]


def facility_lines(spec: FacilityFile) -> list[str]:
    """Rows loaded per category and every rejected row with its reason."""
    from ..geo.facilities import load_categories

    gdf, report = load_facility_file(spec)
    cats = load_categories()
    lines = [f"设施文件: {resolve_path(spec.path)}"]
    lines += [f"  说明: {note}" for note in report.notes]
    if spec.coords:
        lines.append(f"  坐标系: {spec.coords} → WGS84 (原始坐标保存在 src_x/src_y)")
    lines.append(
        f"  共 {report.n_input} 行: 载入 {report.n_loaded} 行, 拒绝 {report.n_rejected} 行"
    )
    if len(gdf):
        lines.append("  按类别载入:")
        for cat, n in gdf["category"].value_counts().items():
            lines.append(f"    {cats.label(cat)} ({cat}): {n}")
    if report.rejections:
        lines.append("  拒绝原因:")
        for reason, n in Counter(_reason_key(r.reason) for r in report.rejections).most_common():
            lines.append(f"    {reason}: {n}")
        lines.append("  拒绝明细:")
        lines += [f"    {rejection_text(r)}" for r in report.rejections]
    if not report.balanced:  # a bug, never expected: say so loudly
        lines.append(
            f"  警告: 行数不平衡 ({report.n_loaded} + {report.n_rejected} ≠ {report.n_input})"
        )
    return lines


def network_lines(path: str | Path) -> list[str]:
    """Nodes, edges, street length, projection and named streets of a network file."""
    net = load_network_file(path)
    lines = [
        f"路网: {resolve_path(path)}",
        f"  节点 {net.n_nodes:,} 个, 有向边 {net.n_edges:,} 条, "
        f"道路总长 {net.total_length() / 1000:,.1f} km, 投影 {net.crs.to_string()}",
    ]
    names = net.edges["name"].dropna()
    if len(names):
        lines.append(
            f"  有名称的道路 {names.nunique():,} 条 (如 {', '.join(map(str, names.unique()[:3]))})"
        )
    lines += [f"  说明: {note}" for note in net.report.notes]
    return lines


def boundary_lines(spec: BoundaryFile) -> list[str]:
    """Each boundary's name and area, notes and rejected features."""
    from ..geo.crs import metric_crs_for

    gdf, report = spec.load(allow_empty=True)
    lines = [
        f"边界: {resolve_path(spec.path)}",
        f"  共 {report.n_input} 个要素: 载入 {report.n_loaded}, 拒绝 {report.n_rejected}",
    ]
    if len(gdf):
        areas = gdf.to_crs(metric_crs_for(gdf)).area / 1e6
        names = gdf["name"] if "name" in gdf.columns else gdf.index.astype(str)
        for name, area in zip(names, areas, strict=True):
            lines.append(f"    {name}\t{area:,.2f} km²")
    lines += [f"  说明: {note}" for note in report.notes]
    lines += [f"  拒绝: {r}" for r in report.rejections]
    return lines


def describe_inputs(req: InfoRequest, *, echo: Echo = print) -> None:
    """Report what each given input holds (facilities, then network, then boundaries).

    Raises
    ------
    InputError
        No input given, or a file that cannot be read at all.
    """
    if req.facilities is None and not req.network and req.boundaries is None:
        raise InputError("请给出 --facilities, --network 或 --boundaries 中的至少一个")
    if req.facilities is not None:
        for line in facility_lines(req.facilities):
            echo(line)
    if req.network:
        for line in network_lines(req.network):
            echo(line)
    if req.boundaries is not None:
        for line in boundary_lines(req.boundaries):
            echo(line)
