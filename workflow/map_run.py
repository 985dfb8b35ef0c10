"""The map command as a library call: read coverage/site outputs and layers, draw one HTML map."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from ..cells import read_csv
from ..errors import InputError
from ..geo.report import LoadReport
from .loading import BoundaryFile, FacilityFile, load_facility_file
from .writers import refuse_links

__all__ = ["MapRequest", "draw_map"]

Echo = Callable[[str], None]

_PROPOSED = {"proposed", "whatif", "what-if", "what_if", "拟建", "拟建站点", "user"}


@dataclass
class MapRequest:
    """Everything ``lifecircle map`` asks for.

    ``coverage``/``sites``: output folders of ``lifecircle coverage``/``site``; ``boundaries``,
    ``facilities``, ``corridors`` (resolved lines): more layers; ``basemap`` auto, osm,
    positron, amap or none; ``offline``: a self-contained file; ``title`` (None: the boundary
    names); ``focus``: the category shown when the page opens; ``tolerance``: display
    simplification in metres; ``out``: the HTML file.
    """

    out: str | Path
    coverage: str | Path | None = None
    sites: str | Path | None = None
    boundaries: BoundaryFile | None = None
    facilities: FacilityFile | None = None
    corridors: str | Path | None = None
    basemap: str = "auto"
    offline: bool = False
    title: str | None = None
    focus: str | None = None
    tolerance: float = 3.0


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
        return read_csv(path)
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


def _report_lines(report: LoadReport, what: str) -> list[str]:
    if not report.rejections:
        return []
    return [f"  {what}: 拒绝 {report.n_rejected} 行", *(f"    {r}" for r in report.rejections)]


# ---------------------------------------------------------------------------------- run
def _read_inputs(req: MapRequest, echo: Echo) -> tuple[dict, list[str]]:
    """The layers to draw, under :func:`~lifecircle.maps.builder.build_map`'s keyword names."""
    if not (req.coverage or req.sites or req.boundaries or req.facilities or req.corridors):
        raise InputError(
            "请至少给出 --coverage, --sites, --boundaries, --facilities 或 --corridors"
        )
    if req.facilities is not None and not req.facilities.coords:
        raise InputError("--facilities 需要 --coords (wgs84, gcj02, bd09 或 EPSG 代码)")
    inputs: dict = {}
    notes: list[str] = []
    if req.coverage:
        _read_coverage(req.coverage, inputs, notes)
    if req.sites:
        _read_sites(req.sites, inputs, notes)
    if req.corridors:
        _read_corridors(req.corridors, inputs)
    inputs["boundaries"] = inputs.pop("_boundaries", None)
    inputs["facilities"] = inputs.pop("_facilities", None)
    if req.boundaries is not None:
        inputs["boundaries"], rep = req.boundaries.load(allow_empty=True)
        for line in _report_lines(rep, f"边界 {req.boundaries.path}"):
            echo(line)
    if req.facilities is not None:
        inputs["facilities"], rep = load_facility_file(req.facilities)
        echo(f"设施 {req.facilities.path}: 共 {rep.n_input} 行, 载入 {rep.n_loaded} 行")
        for line in _report_lines(rep, "设施"):
            echo(line)
    return inputs, notes


def _title(req: MapRequest, boundaries) -> str:
    if req.title is not None:
        return req.title
    names = []
    if boundaries is not None and "name" in boundaries.columns:
        names = [str(n) for n in boundaries["name"].dropna().unique()[:3]]
    return f"{'、'.join(names)} 15分钟社区生活圈" if names else "15分钟社区生活圈"


def _summary_lines(req: MapRequest, m, path: Path, notes, drawn: LoadReport) -> list[str]:
    from ..maps.builder import overlay_summary

    base = {
        "osm": "OpenStreetMap",
        "positron": "CartoDB Positron",
        "amap": "高德地图 (GCJ-02)",
        None: "无底图",
    }[m.lc_basemap]
    lines = [
        f"地图: {path}  ({path.stat().st_size / 1e6:.2f} MB, 底图 {base}"
        f"{', 离线单文件' if req.offline else ''})"
    ]
    for row in overlay_summary(m).itertuples():
        state = "显示" if row.show else "隐藏"
        lines.append(f"  {row.name}: {row.n_features} 个要素 ({state})")
    lines += [f"  说明: {note}" for note in notes]
    lines += [f"  未绘制: {r.reason} (第 {r.row} 行)" for r in drawn.rejections]
    if req.offline and m.lc_basemap is not None:
        lines.append("  说明: 底图瓦片仍需联网; 内网使用请加 --basemap none")
    return lines


def draw_map(req: MapRequest, *, echo: Echo = print) -> Path:
    """Read the layers, draw the map, write the HTML file and report what it shows.

    Parameters
    ----------
    req : MapRequest
    echo : callable
        Receives the console lines (default :func:`print`).

    Returns
    -------
    Path
        The HTML file written.

    Raises
    ------
    InputError
        Nothing to draw, or an unreadable input (exit code 2 on the command line).
    """
    from ..maps.builder import build_map
    from ..maps.offline import OfflineExportError, save_map

    inputs, notes = _read_inputs(req, echo)
    drawn = LoadReport(source="map")
    try:
        m = build_map(
            **inputs,  # the layers read above, under build_map's keyword names
            basemap=None if req.basemap == "none" else req.basemap,
            title=_title(req, inputs["boundaries"]),
            focus_category=req.focus,
            tolerance_m=req.tolerance,
            report=drawn,
        )
    except (TypeError, ValueError) as exc:
        raise InputError(str(exc)) from None
    refuse_links(req.out, file=True)
    try:
        path = save_map(m, req.out, offline=req.offline, notes=[])
    except OfflineExportError as exc:
        raise InputError(f"无法离线导出: {exc}") from None
    for line in _summary_lines(req, m, path, notes, drawn):
        echo(line)
    return path
