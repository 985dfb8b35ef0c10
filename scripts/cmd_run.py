"""``lifecircle run --config FILE --out DIR``: one street, end to end, from its run config.

The config (``data/streets/<街道>.yaml``, schema in :mod:`lifecircle.analysis.runconfig`) names the
street's OSM boundary relation, the facility sources, the population, the corridors plan and the
siting question. The walking network is downloaded from OpenStreetMap around the boundary (osmnx,
cached) unless ``--network PATH`` or the config's ``network.file`` gives a local file; offline and
without one, the command stops with exit code 2 and says so.

Outputs are those of ``lifecircle demo`` (see :mod:`lifecircle.workflow.pipeline`).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..errors import InputError
from ._common import add_allow_partial_arg, output_dir, resolve_path, run_pipeline_and_print


def register(subparsers) -> None:
    """Add the ``run`` subcommand."""
    p = subparsers.add_parser(
        "run",
        help="按街道配置文件跑完整分析 (覆盖率、选址、慢行道、地图、报告)",
        description=(
            "按一个街道的配置文件 (data/streets/<街道>.yaml) 跑完整流程。路网默认从 "
            "OpenStreetMap 下载 (需联网, 有缓存); 离线时用 --network 指定本地路网文件。"
        ),
    )
    p.add_argument(
        "--config",
        required=True,
        metavar="FILE",
        help="街道配置 YAML (如 data/streets/石泉路街道.yaml) 或区配置 (data/districts/普陀区.yaml, "
        "全部街道一次分析), 或内置名称 (如 石泉路街道、普陀区)",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="输出目录")
    p.add_argument(
        "--network", metavar="PATH", help="本地路网文件 (.osm/.pbf/.graphml), 代替在线下载"
    )
    p.add_argument(
        "--boundaries",
        metavar="PATH",
        help="街道边界文件 (GeoJSON/GPKG/SHP), 代替配置中的边界 (离线时必需)",
    )
    p.add_argument(
        "--boundary-name",
        metavar="NAME",
        help="边界文件中要用的边界名称 (默认: 配置中的街道名)",
    )
    add_allow_partial_arg(p)
    p.add_argument("--cache-folder", metavar="DIR", help="osmnx 下载缓存目录 (默认 ./cache)")
    p.add_argument(
        "--basemap",
        default="auto",
        choices=["auto", "osm", "positron", "amap", "none"],
        help="HTML 地图底图 (默认 auto: 中国境内用高德)",
    )
    p.add_argument("--quiet", action="store_true", help="不显示进度条")
    p.set_defaults(func=run)


def resolve_config(text: str) -> Path:
    """A config path as given; else a packaged street config by name or by relative path."""
    from ..analysis.runconfig import street_config_file
    from ..settings import PACKAGE_DATA

    path = Path(text).expanduser()
    if path.is_file():
        return path
    candidates = [
        street_config_file(text),
        PACKAGE_DATA / "districts" / f"{text}.yaml",
        PACKAGE_DATA.parent / text,
    ]
    if not text.endswith((".yaml", ".yml")):
        candidates.append(street_config_file(text + "街道"))
    for cand in candidates:
        if cand.is_file():
            return cand
    known = sorted(p.stem for p in (PACKAGE_DATA / "streets").glob("*.yaml"))
    raise InputError(f"--config {text}: 文件不存在; 内置街道配置: {', '.join(known)}")


def run(args: argparse.Namespace) -> int:
    """Load the config and its inputs, run the pipeline, print the summary and the files."""
    from ..analysis.runconfig import RunConfigError, is_district_config, load_run_config
    from ..workflow import config_inputs

    t0 = time.perf_counter()
    path = resolve_config(args.config)
    if is_district_config(path):
        return _run_district(path, args, t0)
    try:
        cfg = load_run_config(path)
    except (RunConfigError, FileNotFoundError) as exc:
        raise InputError(str(exc)) from None
    if args.boundaries:
        path_b = resolve_path(args.boundaries)
        if not path_b.is_file():
            raise InputError(f"--boundaries {path_b}: 边界文件不存在 (no such file)")
        cfg["boundary"] = {**cfg["boundary"], "file": str(path_b)}
    if args.boundary_name:
        cfg["boundary"] = {**cfg["boundary"], "name": args.boundary_name}
    out = output_dir(args.out)
    print(f"{cfg['street']}: 配置 {path}")
    print("读取数据 (边界、路网、设施、人口) …", flush=True)
    inputs = config_inputs(cfg, args.network, cache_folder=args.cache_folder)
    return run_pipeline_and_print(inputs, out, args, t0)


def _run_district(path: Path, args: argparse.Namespace, t0: float) -> int:
    """A district config: every street on one network (:mod:`lifecircle.workflow.district`)."""
    from ..analysis.runconfig import RunConfigError, load_district_config
    from ..workflow.district import district_inputs

    if args.boundaries or args.boundary_name:
        raise InputError(
            "区配置的街道边界写在配置中 (streets / street_boundaries): "
            "--boundaries/--boundary-name 只用于街道配置"
        )
    try:
        cfg = load_district_config(path)
    except (RunConfigError, FileNotFoundError) as exc:
        raise InputError(str(exc)) from None
    out = output_dir(args.out)
    print(f"{cfg['district']}: 区配置 {path}")
    print("读取数据 (各街道边界、一个路网、设施、人口) …", flush=True)
    inputs = district_inputs(cfg, args.network, cache_folder=args.cache_folder)
    return run_pipeline_and_print(inputs, out, args, t0)
