"""``lifecircle studio``: the siting studio, one offline HTML file to try new sites by clicking.

::

    lifecircle studio --coverage DIR [--network PATH] [--sites DIR] --category elder_care \\
        [--profile elderly] [--basemap none|osm|positron] --out studio.html

Reads ``DIR/coverage.gpkg`` (layers ``nodes``, ``facilities``, ``boundaries``) and the walking
network the coverage run used (``--network``, else the network a ``lifecircle run`` folder keeps,
``DIR/network.npz``, or ``DIR/network.graphml``); ``--sites DIR``
places the sites of ``lifecircle site`` when the page opens. Writes one self-contained HTML
file (:func:`lifecircle.workflow.studio.studio_from_outputs`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError
from ..settings import DEFAULT_MINUTES
from . import _common as common


def register(subparsers) -> None:
    """Add the ``studio`` subcommand."""
    p = subparsers.add_parser(
        "studio",
        help="选址工作台: 在地图上点击试验新增站点 (单个离线 HTML 文件)",
        description=(
            "生成一个离线 HTML 选址工作台: 在地图上单击即在最近的步行道路上新增站点, 立即显示 "
            "5/10/15 分钟可达道路和新增覆盖 (与 lifecircle site --add 的计算一致); 可拖动、删除、"
            "推荐 N 处, 导出 WGS84 / GCJ-02 坐标 CSV。"
        ),
    )
    p.add_argument(
        "--coverage",
        "--run",
        dest="coverage",
        required=True,
        metavar="DIR",
        help="lifecircle run 或 coverage 的输出目录 (run 的目录自带路网 network.npz)",
    )
    common.add_network_args(p)
    p.add_argument("--sites", metavar="DIR", help="lifecircle site 的输出目录 (打开时放置其站点)")
    p.add_argument("--category", default="elder_care", help="设施类别 (默认 elder_care 为老服务)")
    common.add_profile_arg(p)
    p.add_argument(
        "--minutes", type=float, nargs="+", metavar="MIN", help="步行时间阈值 (默认 5 10 15)"
    )
    p.add_argument(
        "--basemap",
        default="none",
        choices=["none", "osm", "positron"],
        help="底图: none (默认, 完全离线), osm, positron (只有瓦片需要联网)",
    )
    p.add_argument(
        "--spacing", type=float, default=150.0, metavar="M", help="候选点间距, 米 (默认 150)"
    )
    p.add_argument("--title", help="页面标题")
    p.add_argument("--out", required=True, metavar="FILE.html", help="输出 HTML 文件")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the studio file and print what it carries."""
    from ..workflow.studio import StudioRequest, studio_from_outputs

    out = Path(args.out)
    if out.suffix.lower() not in (".html", ".htm") or out.is_dir():
        raise InputError(f"--out {out}: 应为 .html 文件")
    request = StudioRequest(
        category=args.category,
        profile=args.profile,
        minutes=args.minutes or DEFAULT_MINUTES,
        basemap=args.basemap,
        spacing_m=args.spacing,
        title=args.title,
    )
    res = studio_from_outputs(
        common.resolve_path(args.coverage),
        out,
        request,
        network=common.resolve_path(args.network) if args.network else None,
        sites_dir=common.resolve_path(args.sites) if args.sites else None,
    )
    print(
        f"选址工作台: 路网 {res.n_nodes:,} 个节点, 需求点 {res.n_demand:,} 个, "
        f"现有设施 {res.n_existing} 处, 候选点 {res.n_candidates} 个"
    )
    print(f"已写出 studio: {res.path} ({res.size_bytes / 1e6:.2f} MB)")
    return 0
