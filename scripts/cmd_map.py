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

from ..workflow.map_run import MapRequest, draw_map
from . import _common as common


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


def run(args: argparse.Namespace) -> int:
    """Draw the map (:func:`lifecircle.workflow.map_run.draw_map`) and print what it shows."""
    request = MapRequest(
        out=args.out,
        coverage=args.coverage,
        sites=args.sites,
        boundaries=common.boundary_file_from_args(args),
        facilities=common.facility_file_from_args(args) if args.facilities else None,
        corridors=args.corridors,
        basemap=args.basemap,
        offline=args.offline,
        title=args.title,
        focus=args.focus,
        tolerance=args.tolerance,
    )
    draw_map(request, echo=common.say)
    return 0
