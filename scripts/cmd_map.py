"""``lifecircle map``: draw the outputs of ``coverage`` and ``site`` on one HTML map.

Reads

* ``--coverage DIR``: ``DIR/coverage.gpkg`` (layers ``service_areas``, ``blind_spots``; optional
  ``facilities`` and ``boundaries`` layers are drawn when present) and ``DIR/coverage.csv`` (the
  coverage table: population coverage shares in the legend);
* ``--sites DIR``: ``DIR/sites.gpkg`` (layers ``sites``, ``new_coverage``). Rows whose ``kind``
  is ``proposed`` (or ``whatif``/``拟建``) are drawn as proposed sites, the others as optimal;
* ``--boundaries``, ``--facilities`` (with ``--coords`` ...), ``--corridors``: more layers.
  ``--corridors`` takes resolved corridor lines (GeoPackage/GeoJSON; a GeoPackage may hold a
  ``summary`` table with each corridor's length and coverage role, or a CSV of the same stem
  beside the file).

Writes one HTML file; ``--offline`` makes it self-contained (no CDN), ``--basemap none`` removes
the tiles so that it needs no network at all.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import pandas as pd

from ..errors import InputError
from ..geo.report import LoadReport
from . import _common as common

_PROPOSED = {"proposed", "whatif", "what-if", "what_if", "拟建", "拟建站点", "user"}


def register(subparsers) -> None:
    """Add the ``map`` subcommand."""
    p = subparsers.add_parser(
        "map",
        help="绘制生活圈地图 (HTML, 可离线)",
        description=(
            "把 lifecircle coverage / site 的结果画成一张 HTML 地图: 边界、设施、5/10/15 分钟服务范围、"
            "服务盲区、新增站点、规划慢行道, 每层可开关, 带图例、比例尺和全屏。"
        ),
    )
    p.add_argument("--coverage", metavar="DIR", help="lifecircle coverage 的输出目录")
    p.add_argument("--sites", metavar="DIR", help="lifecircle site 的输出目录")
    common.add_boundary_args(p)
    p.add_argument("--corridors", metavar="PATH", help="规划慢行道 (已解析的线, GPKG/GeoJSON)")
    common.add_facility_args(p.add_argument_group("设施 (facilities)"))
    s = p.add_argument_group("地图 (map)")
    s.add_argument(
        "--basemap",
        default="auto",
        choices=["auto", "osm", "positron", "amap", "none"],
        help="底图: auto (中国境内用高德, 否则 OSM), osm, positron, amap (高德, 叠加层转为 GCJ-02), "
        "none (无底图, 完全离线)",
    )
    s.add_argument("--offline", action="store_true", help="脚本和样式全部内嵌, 不引用 CDN")
    s.add_argument("--title", help="地图标题 (默认: 边界名称 + 15分钟社区生活圈)")
    s.add_argument(
        "--focus", metavar="CAT", help="打开时显示其服务范围与盲区的类别 (默认 elder_care)"
    )
    s.add_argument(
        "--tolerance", type=float, default=3.0, metavar="M", help="显示简化容差, 米 (默认 3)"
    )
    s.add_argument("--out", required=True, metavar="FILE.html", help="输出 HTML 文件")
    p.set_defaults(func=run)


# ---------------------------------------------------------------------------------- reading


def _layers(path: Path) -> list[str]:
    import pyogrio

    try:
        return [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    except Exception as exc:  # pyogrio raises several DataSource errors
        raise InputError(f"{path}: 无法读取 (cannot read): {exc}") from None


def _read_layer(path: Path, layer: str | None, required: tuple[str, ...] = ()) -> gpd.GeoDataFrame:
    try:
        gdf = gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
    except Exception as exc:
        where = f"{path} 图层 {layer}" if layer else str(path)
        raise InputError(f"{where}: 无法读取 (cannot read): {exc}") from None
    where = f"{path} 图层 {layer}" if layer else str(path)
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry is None:
        raise InputError(f"{where}: 没有几何字段 (no geometry)")
    if gdf.crs is None:
        raise InputError(f"{where}: 未声明坐标系 (no CRS); 应为 EPSG:4326")
    missing = [c for c in required if c not in gdf.columns]
    if missing:
        raise InputError(
            f"{where}: 缺少字段 (missing field) {', '.join(missing)}; 现有字段: "
            f"{', '.join(map(str, gdf.columns))}"
        )
    return gdf.to_crs("EPSG:4326")


def _read_table(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    try:
        return pd.read_csv(path, encoding="utf-8-sig")
    except Exception as exc:
        raise InputError(f"{path}: 无法读取 (cannot read): {exc}") from None


def _open_output(
    folder: str, what: str, command: str, gpkg_name: str, layer: str
) -> tuple[Path, Path, list[str]]:
    """The folder ``lifecircle <command> --out`` wrote, its GeoPackage and that file's layers
    (``layer`` required)."""
    d = Path(folder)
    gpkg = d / gpkg_name
    if not d.is_dir():
        raise InputError(f"{what}目录不存在 (no such folder): {d}")
    if not gpkg.exists():
        raise InputError(f"{gpkg}: 文件不存在; 先运行 lifecircle {command} --out {d}")
    names = _layers(gpkg)
    if layer not in names:
        raise InputError(f"{gpkg}: 缺少图层 {layer} (has: {', '.join(names)})")
    return d, gpkg, names


def _read_coverage(folder: str, inputs: dict, notes: list[str]) -> None:
    d, gpkg, names = _open_output(folder, "覆盖分析", "coverage", "coverage.gpkg", "service_areas")
    inputs["service_areas"] = _read_layer(gpkg, "service_areas", ("category", "minutes"))
    if "blind_spots" in names:
        inputs["blind_spots"] = _read_layer(gpkg, "blind_spots", ("minutes",))
    else:
        notes.append(f"{gpkg}: 没有 blind_spots 图层, 不画盲区")
    for extra in ("facilities", "boundaries"):
        if extra in names:
            inputs[f"_{extra}"] = _read_layer(gpkg, extra)
    inputs["coverage_table"] = _read_table(d / "coverage.csv")


def _read_sites(folder: str, inputs: dict, notes: list[str]) -> None:
    _, gpkg, names = _open_output(folder, "选址", "site", "sites.gpkg", "sites")
    sites = _read_layer(gpkg, "sites")
    kind_col = next((c for c in ("kind", "source") if c in sites.columns), None)
    if kind_col is not None:
        proposed = sites[kind_col].astype(str).str.strip().str.lower().isin(_PROPOSED)
        inputs["proposed_sites"] = sites.loc[proposed]
        sites = sites.loc[~proposed]
    inputs["sites"] = sites
    if "new_coverage" in names:
        inputs["new_coverage"] = _read_layer(gpkg, "new_coverage")
    else:
        notes.append(f"{gpkg}: 没有 new_coverage 图层, 不画新站点服务范围")


def _read_corridors(path_text: str, inputs: dict) -> None:
    path = Path(path_text)
    if not path.exists():
        raise InputError(f"慢行道文件不存在 (no such file): {path}")
    if path.suffix.lower() in (".yaml", ".yml"):
        raise InputError(
            f"{path}: 这是慢行道规划 (道路名称序列), 需先在路网上解析 (lifecircle run); "
            "请给出解析后的线 (GPKG/GeoJSON)"
        )
    summary = None
    layer = None
    if path.suffix.lower() == ".gpkg":
        names = _layers(path)
        layer = next((n for n in ("lines", "corridors") if n in names), None)
        if "summary" in names:
            import pyogrio

            try:
                summary = pyogrio.read_dataframe(path, layer="summary", read_geometry=False)
            except Exception as exc:
                raise InputError(f"{path} 图层 summary: 无法读取: {exc}") from None
    inputs["corridors"] = _read_layer(path, layer)
    if summary is None:
        summary = _read_table(path.with_suffix(".csv"))
    inputs["corridor_summary"] = summary


def _print_report(report: LoadReport, what: str) -> None:
    if report.rejections:
        print(f"  {what}: 拒绝 {report.n_rejected} 行")
        common.print_rejections(report, "    ")


# ---------------------------------------------------------------------------------- run


def run(args: argparse.Namespace) -> int:
    """Read the inputs, draw the map, write the HTML and print what it shows."""
    from ..maps.builder import build_map, overlay_summary
    from ..maps.offline import OfflineExportError, save_map

    if not (args.coverage or args.sites or args.boundaries or args.facilities or args.corridors):
        raise InputError(
            "请至少给出 --coverage, --sites, --boundaries, --facilities 或 --corridors"
        )
    if args.facilities and not args.coords:
        raise InputError("--facilities 需要 --coords (wgs84, gcj02, bd09 或 EPSG 代码)")
    inputs: dict = {}
    notes: list[str] = []
    if args.coverage:
        _read_coverage(args.coverage, inputs, notes)
    if args.sites:
        _read_sites(args.sites, inputs, notes)
    if args.corridors:
        _read_corridors(args.corridors, inputs)
    boundaries = inputs.pop("_boundaries", None)
    facilities = inputs.pop("_facilities", None)
    if args.boundaries:
        boundaries, rep = common.load_boundaries_from_args(args, allow_empty=True)
        _print_report(rep, f"边界 {args.boundaries}")
    if args.facilities:
        facilities, rep = common.load_facilities_from_args(args)
        print(f"设施 {args.facilities}: 共 {rep.n_input} 行, 载入 {rep.n_loaded} 行")
        _print_report(rep, "设施")

    title = args.title
    if title is None:
        names = []
        if boundaries is not None and "name" in boundaries.columns:
            names = [str(n) for n in boundaries["name"].dropna().unique()[:3]]
        title = f"{'、'.join(names)} 15分钟社区生活圈" if names else "15分钟社区生活圈"

    drawn = LoadReport(source="map")
    basemap = None if args.basemap == "none" else args.basemap
    try:
        m = build_map(
            boundaries=boundaries,
            facilities=facilities,
            **inputs,  # the layers read above, under build_map's keyword names
            basemap=basemap,
            title=title,
            focus_category=args.focus,
            tolerance_m=args.tolerance,
            report=drawn,
        )
    except (TypeError, ValueError) as exc:
        raise InputError(str(exc)) from None
    export_notes: list[str] = []
    try:
        path = save_map(m, args.out, offline=args.offline, notes=export_notes)
    except OfflineExportError as exc:
        raise InputError(f"无法离线导出: {exc}") from None

    summary = overlay_summary(m)
    base = {
        "osm": "OpenStreetMap",
        "positron": "CartoDB Positron",
        "amap": "高德地图 (GCJ-02)",
        None: "无底图",
    }[m.lc_basemap]
    print(
        f"地图: {path}  ({path.stat().st_size / 1e6:.2f} MB, 底图 {base}"
        f"{', 离线单文件' if args.offline else ''})"
    )
    for row in summary.itertuples():
        state = "显示" if row.show else "隐藏"
        print(f"  {row.name}: {row.n_features} 个要素 ({state})")
    for note in notes:
        print(f"  说明: {note}")
    for r in drawn.rejections:
        print(f"  未绘制: {r.reason} (第 {r.row} 行)")
    if args.offline and m.lc_basemap is not None:
        print("  说明: 底图瓦片仍需联网; 内网使用请加 --basemap none")
    return 0
