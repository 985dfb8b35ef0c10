"""The siting studio of a run: ``studio.html`` from the run's inputs or from its output folders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np

from ..cells import read_csv
from ..errors import InputError
from ..settings import DEFAULT_MINUTES, PROFILES, WGS84, get_profile
from .writers import refuse_links

__all__ = ["StudioRequest", "studio_from_outputs", "write_studio"]


@dataclass
class StudioRequest:
    """What the studio shows: category, first profile, thresholds, basemap, candidate spacing.

    ``basemap``: the run's map basemap; ``osm``/``positron`` keep their tiles, anything else
    (``auto``, ``amap``: GCJ-02 tiles, ``none``) gives a page without tiles.
    """

    category: str = "elder_care"
    profile: str = "elderly"
    minutes: Sequence[float] = DEFAULT_MINUTES
    basemap: str | None = "none"
    spacing_m: float = 150.0
    max_snap_m: float = 250.0
    title: str | None = None
    boundary_name: str | None = None


def _profiles(first: str) -> tuple[str, ...]:
    first = get_profile(first).name
    return (first, *[p for p in PROFILES if p != first])


def write_studio(
    net,
    demand: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame | None,
    out,
    request: StudioRequest | None = None,
    *,
    population_known: bool = True,
    initial_sites: gpd.GeoDataFrame | None = None,
):
    """Write ``studio.html`` for one category (:func:`lifecircle.maps.studio.build_studio`).

    Candidates are network nodes inside the boundaries ``spacing_m`` apart (as the run's
    siting step takes them); the demand basis follows the demand (60+ known when ``pop60``
    has numbers). ``initial_sites`` (e.g. the run's new sites) are placed when the page opens.

    Returns
    -------
    lifecircle.maps.studio.StudioFile
    """
    from ..analysis.siting import generate_candidates
    from ..maps.studio import StudioOptions, build_studio

    req = request or StudioRequest()
    dem = demand.copy()
    pop60_known = "pop60" in dem.columns and bool(np.isfinite(dem["pop60"].to_numpy(float)).any())
    if not pop60_known and "pop60" in dem.columns:
        dem = dem.drop(columns="pop60")
    existing = facilities.loc[facilities["category"].astype(str) == req.category]
    cands = generate_candidates(net, boundaries, spacing_m=req.spacing_m)
    options = StudioOptions(
        category=req.category,
        title=req.title,
        profiles=_profiles(req.profile),
        minutes=tuple(float(m) for m in req.minutes),
        basemap=req.basemap if req.basemap in ("osm", "positron") else "none",
        max_snap_m=req.max_snap_m,
        population_known=population_known,
        pop60_known=pop60_known and population_known,
        boundary_name=req.boundary_name,
    )
    refuse_links(out, file=True)
    return build_studio(
        net, dem, out, existing=existing, candidates=cands, boundary=boundaries,
        options=options, initial_sites=initial_sites,
    )  # fmt: skip


def _read(path: Path, layer: str, required: bool = True) -> gpd.GeoDataFrame | None:
    import pyogrio

    try:
        names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    except Exception as exc:  # pyogrio raises several DataSource errors
        raise InputError(f"{path}: 无法读取 (cannot read): {exc}") from None
    if layer not in names:
        if required:
            raise InputError(f"{path}: 缺少图层 {layer} (has: {', '.join(names)})")
        return None
    gdf = gpd.read_file(path, layer=layer)
    if gdf.crs is None:
        raise InputError(f"{path} 图层 {layer}: 未声明坐标系 (no CRS)")
    return gdf.to_crs(WGS84)


def _population_known(coverage_dir: Path, demand: gpd.GeoDataFrame) -> bool:
    """The coverage table's ``demand_basis`` (else: not known when every node weighs 1)."""

    csv = coverage_dir / "coverage.csv"
    if csv.exists():
        try:
            basis = read_csv(csv, usecols=["demand_basis"])
            if len(basis):
                return bool((basis["demand_basis"].astype(str) != "nodes").any())
        except (ValueError, OSError):
            pass
    pop60 = demand["pop60"].to_numpy(float) if "pop60" in demand.columns else np.array([np.nan])
    return not (np.all(demand["pop"].to_numpy(float) == 1.0) and not np.isfinite(pop60).any())


def _demand_from_nodes(net, nodes: gpd.GeoDataFrame, boundaries) -> tuple[gpd.GeoDataFrame, bool]:
    """Demand at the boundary's network nodes, weighted by the coverage run's node counts."""
    from ..analysis.siting import demand_points

    dem = demand_points(net, boundaries)
    if "pop" not in nodes.columns or "osmid" not in nodes.columns:
        return dem, False
    idx = net.index_of(nodes["osmid"].to_numpy())
    ok = idx >= 0
    pop = np.zeros(net.n_nodes)
    pop[idx[ok]] = nodes["pop"].to_numpy(float)[ok]
    dem["pop"] = pop[dem["node_idx"].to_numpy()]
    if "pop60" in nodes.columns:
        p60 = np.full(net.n_nodes, np.nan)
        p60[idx[ok]] = nodes["pop60"].to_numpy(float)[ok]
        dem["pop60"] = p60[dem["node_idx"].to_numpy()]
    else:
        dem["pop60"] = np.nan
    return dem, True


def studio_from_outputs(
    coverage_dir,
    out,
    request: StudioRequest | None = None,
    *,
    network=None,
    sites_dir=None,
):
    """``lifecircle studio``: the studio from a coverage run's folder (``coverage.gpkg``: layers
    ``nodes``, ``facilities``, ``boundaries``) and its walking network (``network``, else the
    one a ``lifecircle run`` folder keeps, ``coverage_dir/network.npz``, or ``network.graphml.gz`` /
    ``network.graphml``); ``sites_dir`` (``sites.gpkg``) adds its sites.

    Raises
    ------
    InputError
        A folder, file or layer is missing or unreadable.
    """
    from ..geo.network import load_network

    d = Path(coverage_dir)
    gpkg = d / "coverage.gpkg"
    if not gpkg.exists():
        raise InputError(f"{gpkg}: 文件不存在; 先运行 lifecircle coverage --out {d}")
    if network:
        net_path = Path(network)
    else:  # a run folder keeps its network (network.npz); older folders a GraphML file
        saved = [d / "network.npz", d / "network.graphml.gz", d / "network.graphml"]
        net_path = next((p for p in saved if p.exists()), saved[0])
    if not net_path.exists():
        raise InputError(
            f"路网文件不存在: {net_path}; 用 --network 给出覆盖分析所用的路网文件 (.osm/.pbf/.graphml)"
        )
    try:
        net = load_network(net_path)
    except (OSError, ValueError) as exc:
        raise InputError(f"路网文件无法读取: {net_path}: {exc}") from None
    boundaries = _read(gpkg, "boundaries", required=False)
    facilities = _read(gpkg, "facilities")
    if "category" not in facilities.columns:
        raise InputError(f"{gpkg} 图层 facilities: 缺少字段 category")
    demand, weighted = _demand_from_nodes(net, _read(gpkg, "nodes"), boundaries)
    known = weighted and _population_known(d, demand)
    sites = None
    if sites_dir is not None:
        sgpkg = Path(sites_dir) / "sites.gpkg"
        if not sgpkg.exists():
            raise InputError(f"{sgpkg}: 文件不存在; 先运行 lifecircle site --out {sites_dir}")
        sites = _read(sgpkg, "sites")
    req = request or StudioRequest()
    if req.boundary_name is None and boundaries is not None and "name" in boundaries.columns:
        req.boundary_name = "、".join(str(n) for n in boundaries["name"].dropna().unique()[:3])
    try:
        return write_studio(
            net, demand, facilities, boundaries, out, req, population_known=known,
            initial_sites=sites,
        )  # fmt: skip
    except ValueError as exc:
        raise InputError(str(exc)) from None
