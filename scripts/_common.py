"""Pieces the ``lifecircle`` subcommands share: input options, arguments → requests, printing.

Each input kind has an ``add_*_args`` (the options, added to a parser or argument group) and a
``*_from_args`` turning the parsed options into the request pieces of
:mod:`lifecircle.workflow.loading` (:class:`~lifecircle.workflow.loading.FacilityFile`,
:class:`~lifecircle.workflow.loading.BoundaryFile`,
:class:`~lifecircle.workflow.loading.PopulationFile`, residents options); the workflow loads
them and turns every unusable input into :class:`lifecircle.errors.InputError` (exit code 2).

The printers (:func:`say`, and those of the one-command pipeline shared by ``lifecircle demo``
and ``lifecircle run``) write the Chinese lines a planner reads.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from ..errors import InputError
from ..workflow import loading

__all__ = [
    "add_allow_partial_arg",
    "add_boundary_args",
    "add_facility_args",
    "add_max_snap_arg",
    "add_network_args",
    "add_population_args",
    "add_profile_arg",
    "add_residents_args",
    "boundary_file_from_args",
    "facility_file_from_args",
    "population_from_args",
    "residents_options_from_args",
    "output_dir",
    "print_inputs",
    "print_result",
    "show_progress",
    "resolve_path",
    "say",
    "run_pipeline_and_print",
    "add_jobs_arg",
    "step_printer",
]


# ------------------------------------------------------------------------------------ paths
def resolve_path(path: str | Path) -> Path:
    """A path as given, else relative to ``$LIFECIRCLE_DATA`` when it exists there."""
    return loading.resolve_path(path)


def show_progress(args: argparse.Namespace) -> bool:
    """Progress bars only on a terminal, and never with ``--quiet``: a log file or a pipe gets
    plain lines, not bar debris."""
    import sys

    return not getattr(args, "quiet", False) and sys.stderr.isatty()


# ------------------------------------------------------------------------------- facilities
def add_facility_args(
    group,
    *,
    required: bool = False,
    help: str = "设施表 (CSV/XLSX/GeoJSON/GPKG)",  # noqa: A002 - argparse's own word
    coords_default: str | None = None,
    default_category: bool = True,
) -> None:
    """Add ``--facilities``, ``--coords``, the column options and ``--sheet`` (and ``--category``).

    Parameters
    ----------
    group : argparse parser or argument group
    required : bool
        Whether ``--facilities`` must be given.
    help : str
        Help of ``--facilities``.
    coords_default : str, optional
        Default of ``--coords`` (none: the loader asks for it).
    default_category : bool
        Add ``--category`` (dest ``default_category``): the category of rows without a type
        column or with a type ``categories.yaml`` does not list. Commands whose ``--category``
        means something else pass False.
    """
    group.add_argument("--facilities", required=required, metavar="PATH", help=help)
    group.add_argument(
        "--coords",
        metavar="SYS",
        default=coords_default,
        help="设施坐标系 (必填, 无默认): wgs84, gcj02 (高德/腾讯), bd09 (百度) 或 EPSG:xxxx",
    )
    group.add_argument(
        "--skip-rows",
        type=int,
        metavar="N",
        help="表头上方有 N 行标题/说明 (默认自动识别只有一格文字的标题行)",
    )
    group.add_argument(
        "--swap-xy",
        action="store_true",
        help="经度列与纬度列对调了 (x 列是纬度): 交换两列后再读",
    )
    group.add_argument("--x", metavar="COL", help="经度列 (默认自动识别 lng/lon/经度/x)")
    group.add_argument("--y", metavar="COL", help="纬度列 (默认自动识别 lat/纬度/y)")
    group.add_argument("--type-col", metavar="COL", help="类型列 (默认自动识别 type/类型)")
    group.add_argument("--name-col", metavar="COL", help="名称列 (默认自动识别 name/名称)")
    group.add_argument("--sheet", metavar="S", help="XLSX 工作表名称或序号 (默认第一个)")
    if default_category:
        group.add_argument(
            "--category",
            dest="default_category",
            metavar="CAT",
            help="默认类别 (无类型列或类型未列入 categories.yaml 时使用)",
        )


def facility_file_from_args(args: argparse.Namespace) -> loading.FacilityFile:
    """The :class:`~lifecircle.workflow.loading.FacilityFile` of :func:`add_facility_args`."""
    return loading.FacilityFile(
        path=args.facilities,
        coords=args.coords,
        x=args.x,
        y=args.y,
        type_col=args.type_col,
        name_col=args.name_col,
        default_category=getattr(args, "default_category", None),
        sheet=args.sheet,
        swap_xy=bool(getattr(args, "swap_xy", False)),
        skip_rows=getattr(args, "skip_rows", None),
        keep_cols=[c for c in [getattr(args, "capacity_col", None)] if c],
    )


# ---------------------------------------------------------------------------------- residents
def add_residents_args(group, *, demand_only: bool = False) -> None:
    """``--buildings``, ``--population-total``, ``--compounds``, ``--capacity-col``,
    ``--access-category`` and ``--standard`` (居民、居民区、2SFCA、规划标准); with
    ``demand_only`` just the first two (``site``)."""
    group.add_argument(
        "--buildings",
        metavar="FILE|osm",
        help="建筑轮廓 (GeoJSON/GPKG/SHP, 或 osm 在线下载): 按住宅建筑面积估算居民, 每栋住宅为一个需求点",
    )
    group.add_argument(
        "--population-total",
        type=float,
        metavar="N",
        help="街道常住人口 (控制总数), 按住宅建筑面积分配到建筑 (如石泉路街道 96200)",
    )
    if demand_only:
        return
    group.add_argument(
        "--compounds",
        metavar="FILE|osm",
        help="居民区/小区边界 (文件, 或 osm: 有名称的 landuse=residential)",
    )
    group.add_argument(
        "--capacity-col", metavar="COL", help="设施容量列 (如 床位), 用于 2SFCA; 默认每个设施计 1"
    )
    group.add_argument(
        "--access-category",
        default="elder_care",
        metavar="CAT",
        help="2SFCA 可达性的设施类别 (默认 elder_care 为老服务)",
    )
    group.add_argument(
        "--standard", metavar="NAME", help="按规划标准计算达标率: gb50180 / shanghai15 或 YAML 文件"
    )


def residents_options_from_args(args: argparse.Namespace):
    """:class:`ResidentsOptions` of the command line, or ``None`` when none was asked for
    (:func:`lifecircle.workflow.loading.residents_options`)."""
    return loading.residents_options(
        buildings=args.buildings,
        population_total=args.population_total,
        compounds=getattr(args, "compounds", None),
        capacity_col=getattr(args, "capacity_col", None),
        access_category=getattr(args, "access_category", "elder_care"),
        standard=getattr(args, "standard", None),
    )


# ---------------------------------------------------------------------------------- network
def add_network_args(group, *, required: bool = False) -> None:
    """Add ``--network PATH`` (a walking network file)."""
    group.add_argument(
        "--network", required=required, metavar="PATH", help="路网文件 (.osm/.xml/.pbf/.graphml)"
    )


# ------------------------------------------------------------------------------- boundaries
def add_boundary_args(group, *, name_col: bool = False, name: bool = True) -> None:
    """Add ``--boundaries PATH``, ``--boundary-name NAME`` (and ``--boundary-name-col COL``)."""
    group.add_argument("--boundaries", metavar="PATH", help="街道边界 (GeoJSON/GPKG/SHP)")
    if name:
        group.add_argument(
            "--boundary-name",
            metavar="NAME",
            help="只用边界文件中名为 NAME 的一个边界 (如 黄浦区; 默认全部)",
        )
    if name_col:
        group.add_argument("--boundary-name-col", metavar="COL", help="边界名称列 (默认自动识别)")


def add_extent_arg(group) -> None:
    """Add ``--extent network``: the explicit choice of the network's extent as the study area."""
    group.add_argument(
        "--extent",
        choices=["network"],
        help="没有边界文件时明确选择研究范围: network = 路网范围 (节点凸包, 不是街道边界; "
        "结果中标为 研究范围 = 路网范围)",
    )


def boundary_file_from_args(args: argparse.Namespace) -> loading.BoundaryFile | None:
    """``--boundaries`` (with ``--boundary-name``/``--boundary-name-col``) as a
    :class:`~lifecircle.workflow.loading.BoundaryFile`; None when not given."""
    if not args.boundaries:
        return None
    return loading.BoundaryFile(
        args.boundaries,
        name=getattr(args, "boundary_name", None),
        name_col=getattr(args, "boundary_name_col", None),
    )


# ------------------------------------------------------------------------------- population
def add_population_args(group) -> None:
    """Add ``--population PATH``, ``--population-coords SYS``, ``--share60 F``, ``--district``."""
    group.add_argument("--population", metavar="PATH", help="人口 (栅格或带人口数的面/格网/点)")
    group.add_argument(
        "--population-coords",
        metavar="SYS",
        help="人口表 (CSV/XLSX) 的坐标系 (必填, 无默认): wgs84, gcj02 (高德/腾讯), bd09 (百度) 或 "
        "EPSG:xxxx; 自带坐标系的 GeoJSON/GPKG/栅格不需要",
    )
    group.add_argument("--share60", type=float, metavar="F", help="60岁以上人口比例 (如 0.306)")
    group.add_argument(
        "--district",
        metavar="NAME",
        help="从人口普查表取该区的60岁以上比例 (如 普陀区; 需 LIFECIRCLE_DATA)",
    )


def population_from_args(args: argparse.Namespace) -> loading.PopulationFile:
    """``--population``, ``--population-coords``, ``--share60`` and ``--district`` as a
    :class:`~lifecircle.workflow.loading.PopulationFile`."""
    return loading.PopulationFile(
        args.population, args.share60, args.district, args.population_coords
    )


# ------------------------------------------------------------------------------ walking
def add_profile_arg(group) -> None:
    """Add ``--profile`` (walking speed profile, default ``elderly``)."""
    from ..settings import PROFILES

    group.add_argument(
        "--profile",
        default="elderly",
        choices=sorted(PROFILES),
        help="步速: elderly 0.9 m/s (默认), adult 1.2 m/s, gb50180 距离口径",
    )


def add_allow_partial_arg(group) -> None:
    """Add ``--allow-partial``: analyse boundaries the network reaches less than half of."""
    group.add_argument(
        "--allow-partial",
        action="store_true",
        help="路网只覆盖边界面积不足 50%% 时仍然计算 (默认: 该边界不计算并说明)",
    )


def add_jobs_arg(group, what: str = "并行计算各类设施的进程数") -> None:
    """Add ``--jobs N``: worker processes for the categories (default: the cores, at most 4)."""
    group.add_argument(
        "--jobs",
        type=int,
        default=min(4, os.cpu_count() or 1),
        metavar="N",
        help=f"{what} (默认: CPU 核数, 最多 4)",
    )


def add_max_snap_arg(group) -> None:
    """Add ``--max-snap M``: points farther from every street are left out and reported."""
    group.add_argument(
        "--max-snap",
        type=float,
        default=250.0,
        metavar="M",
        help="设施/需求点离最近道路超过 M 米则不参与并报告 (默认 250)",
    )


# --------------------------------------------------------------------------------- printing
# ----------------------------------------------------------------- the one-command pipeline
def output_dir(text: str) -> Path:
    """``--out DIR`` of the pipeline commands (an existing file is refused)."""
    out = Path(text)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: 已存在且不是目录")
    return out


def say(line: str) -> None:
    """Print one console line at once (flushed: a log shows it before a long step)."""
    print(line, flush=True)


def step_printer(t0: float):
    """An ``on_step`` callback printing ``[k/n] label`` with the elapsed time."""

    def on_step(k: int, n: int, label: str) -> None:
        print(f"[{k}/{n}] {label} …  (已用 {time.perf_counter() - t0:.0f} 秒)", flush=True)

    return on_step


def print_inputs(inputs) -> None:
    """One line per pipeline input: what was loaded and what was left out."""
    from ..vocabulary import category_label

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
            label = name.replace("facilities", "设施表", 1).replace("population", "人口数据", 1)
            print(f"  {label}: 共 {rep.n_input} 行, 载入 {rep.n_loaded}, 拒绝 {rep.n_rejected}")
    dem = inputs.demand
    what = "人口" if inputs.population_known else "路网节点 (每个权重 1)"
    if "bid" in dem.columns:
        what = "人口, 按住宅建筑面积估算; 每栋住宅一个需求点"
    print(f"需求点: {len(dem)} 个, 合计 {dem['pop'].sum():,.0f} ({what})")


def print_result(result, t0: float) -> None:
    """The Chinese summary of a pipeline run and the files written."""
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


def run_pipeline_and_print(inputs, out: Path, args: argparse.Namespace, t0: float) -> int:
    """Print the inputs, run :func:`lifecircle.workflow.run_inputs` into ``out`` (with
    ``--basemap`` and ``--quiet``), print the summary and the files; returns the exit code."""
    from ..workflow import run_inputs

    print_inputs(inputs)
    opts = {}
    if args.basemap != "auto":
        opts["basemap"] = None if args.basemap == "none" else args.basemap
    if getattr(args, "allow_partial", False):
        opts["allow_partial"] = True
    if getattr(args, "jobs", None):
        opts["jobs"] = args.jobs
    result = run_inputs(inputs, out, progress=show_progress(args), on_step=step_printer(t0), **opts)
    print_result(result, t0)
    return 0
