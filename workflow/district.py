"""A district in one run: all its streets on one network, per street and for the district.

``lifecircle run --config data/districts/普陀区.yaml`` loads the district config
(:func:`lifecircle.analysis.runconfig.load_district_config`), the streets' boundaries (OSM
relations online, or the features of a boundaries file), ONE network around all of them plus
the buffer, and runs ONE coverage pass over every street (:class:`DistrictStudy`). The tables
gain a ``level`` column (``street`` rows and one ``district`` row per category × threshold, the
district's demand-weighted total), coverage.xlsx a ranking sheet (街道排名) and the map a
district outline, a layer per street and a street selector.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import InputError
from ..geo.crs import metric_crs_for
from ..geo.report import LoadReport
from ..settings import WGS84
from ..vocabulary import category_label
from .inputs import PipelineInputs, config_inputs
from .result import PipelineResult
from .study import Study

__all__ = [
    "DistrictStudy",
    "district_boundaries",
    "district_inputs",
    "district_totals",
    "run_district",
    "street_ranking",
]

#: Share of a feature's area inside the district polygon for it to count as the district's street.
INSIDE_SHARE = 0.5
#: Columns summed for the district row; shares are recomputed from them.
_SUMS = [
    "area_km2", "area_covered_km2", "network_km", "network_covered_km",
    "population", "population_covered", "population_uncovered",
    "pop60", "pop60_covered", "pop60_uncovered",
    "facilities_inside", "blind_spot_population", "blind_spot_pop60", "n_blind_spots",
    "blind_spot_area_km2",
]  # fmt: skip
#: share column → (numerator, denominator) of the district row.
_RATIOS = {
    "area_share": ("area_covered_km2", "area_km2"),
    "network_share": ("network_covered_km", "network_km"),
    "population_share": ("population_covered", "population"),
    "pop60_share": ("pop60_covered", "pop60"),
}
#: share column → weight column of a weighted mean over the streets.
_WEIGHTED = {
    "network_extent_share": "area_km2",
    "crowfly_population_share": "population",
    "crowfly_pop60_share": "pop60",
    "crowfly_area_share": "area_km2",
}


# ------------------------------------------------------------------------------ inputs
def _bare(name: str) -> str:
    return name[:-2] if name.endswith("街道") else name


def _pick_streets(gdf: gpd.GeoDataFrame, streets: list[dict], path: str) -> gpd.GeoDataFrame:
    names = gdf["name"].astype(str)
    rows = []
    for st in streets:
        hit = np.flatnonzero((names == st["name"]).to_numpy())
        if not len(hit):
            hit = np.flatnonzero((names.map(_bare) == _bare(st["name"])).to_numpy())
        if not len(hit):
            raise InputError(
                f"{path}: 没有名为 {st['name']!r} 的街道边界 (streets); 文件中有: "
                f"{', '.join(names.head(20))}"
            )
        row = gdf.iloc[[hit[0]]].copy()
        row["name"] = st["name"]
        if st.get("code"):
            row["code"] = str(st["code"])
        rows.append(row)
    return gpd.GeoDataFrame(pd.concat(rows, ignore_index=True), crs=gdf.crs)


def _inside(gdf: gpd.GeoDataFrame, dcfg: Mapping) -> gpd.GeoDataFrame:
    """Features with at least :data:`INSIDE_SHARE` of their area inside the district polygon."""
    from ..geo.boundaries import load_boundaries
    from .inputs import _pick_boundary

    try:
        poly, _ = load_boundaries(dcfg["file"], name_col=dcfg["name_col"])
    except (OSError, ValueError) as exc:
        raise InputError(f"district_boundary 无法读取: {exc}") from None
    poly = _pick_boundary(poly, dcfg["name"], dcfg["file"])
    crs = metric_crs_for(gdf)
    shape = poly.to_crs(crs).geometry.union_all()
    metric = gdf.to_crs(crs).geometry
    share = metric.intersection(shape).area / metric.area
    keep = gdf.loc[(share >= INSIDE_SHARE).to_numpy()].reset_index(drop=True)
    if keep.empty:
        raise InputError(f"{dcfg['file']}: 区界内没有街道边界 (no street polygon inside)")
    return keep


def district_boundaries(
    cfg: Mapping, *, cache_folder: str | Path | None = None
) -> tuple[gpd.GeoDataFrame, dict[str, LoadReport]]:
    """The district's street polygons (``name``, ``code``; EPSG:4326), in the config's order.

    From ``street_boundaries`` (the listed ``streets``, else those inside ``district_boundary``,
    else every feature) or, without it, each street's OSM relation (online).
    """
    from ..geo.boundaries import boundary_from_osm, load_boundaries

    sb = cfg.get("street_boundaries")
    if sb is not None:
        try:
            gdf, rep = load_boundaries(sb["file"], name_col=sb["name_col"])
        except (OSError, ValueError) as exc:
            raise InputError(f"street_boundaries 无法读取: {exc}") from None
        if cfg["streets"]:
            gdf = _pick_streets(gdf, cfg["streets"], sb["file"])
        elif cfg.get("district_boundary"):
            gdf = _inside(gdf, cfg["district_boundary"])
        return gdf.to_crs(WGS84).reset_index(drop=True), {"boundary": rep}
    from .inputs import _online_errors

    rows = []
    for st in cfg["streets"]:
        try:
            one = boundary_from_osm(st["osm_relation"], cache_folder=cache_folder)
        except _online_errors() as exc:
            raise InputError(
                f"无法下载街道边界 {st['name']} (OSM relation {st['osm_relation']}, "
                f"{type(exc).__name__}): 请给出 street_boundaries 文件，或联网运行"
            ) from None
        except ValueError as exc:
            raise InputError(f"OSM 边界 {st['name']}: {exc}") from None
        one = one.to_crs(WGS84).copy()
        one["name"] = st["name"]
        if st.get("code"):
            one["code"] = str(st["code"])
        rows.append(one.iloc[[0]])
    gdf = gpd.GeoDataFrame(pd.concat(rows, ignore_index=True), crs=WGS84)
    return gdf, {}


def district_inputs(
    cfg: Mapping,
    network_path: str | Path | None = None,
    *,
    cache_folder: str | Path | None = None,
    net=None,
) -> PipelineInputs:
    """Inputs of a district config: every street's boundary, ONE network around all of them.

    Parameters
    ----------
    cfg : dict
        A loaded district config (:func:`lifecircle.analysis.runconfig.load_district_config`).
    network_path : path-like, optional
        Local network file (``--network``); overrides the config.
    cache_folder : path-like, optional
        osmnx cache for the downloads.
    net : WalkNetwork, optional
        The network already loaded.
    """
    streets, reports = district_boundaries(cfg, cache_folder=cache_folder)
    inputs = config_inputs(cfg, network_path, cache_folder=cache_folder, net=net, boundary=streets)
    inputs.reports = {**reports, **inputs.reports}
    inputs.notes.insert(0, f"{cfg['district']}：{len(streets)} 个街道，一个路网、一次计算")
    inputs.options["title"] = f"{cfg['district']} 15分钟社区生活圈（{len(streets)} 个街道）"
    inputs.district = cfg["district"]
    return inputs


# ------------------------------------------------------------------------------ tables
def district_totals(table: pd.DataFrame, district: str) -> pd.DataFrame:
    """One ``district`` row per category × profile × threshold from the streets' rows.

    Counts, lengths and areas are summed; coverage shares are recomputed from the sums (so the
    district's share is the demand-weighted mean of the streets' shares); the straight-line
    shares and the network extent share are weighted means. ``n_facilities`` is the category's
    (same for every street); ``facilities_outside_reaching`` is left empty (not additive).
    """
    keys = ["category", "profile", "minutes", "limit_m"]
    cols = [c for c in table.columns if c != "boundary"]
    rows = []
    for key, g in table.groupby(keys, dropna=False, sort=False):
        row = dict(zip(keys, key, strict=True))
        for c in _SUMS:
            if c in g:
                row[c] = g[c].sum(min_count=1)
        for c, (num, den) in _RATIOS.items():
            if c in g and num in row and den in row:
                row[c] = row[num] / row[den] if row[den] and row[den] > 0 else np.nan
        for c, w in _WEIGHTED.items():
            if c in g and w in g:
                ok = g[c].notna() & g[w].notna()
                wt = g.loc[ok, w].sum()
                row[c] = (g.loc[ok, c] * g.loc[ok, w]).sum() / wt if wt > 0 else np.nan
        for c in ("n_facilities", "facilities_unsnapped", "demand_basis", "metres"):
            if c in g:
                row[c] = g[c].iloc[0]
        rows.append(row)
    out = pd.DataFrame(rows, columns=cols)
    out.insert(0, "boundary", district)
    return out


def with_district_total(table: pd.DataFrame, district: str) -> pd.DataFrame:
    """The streets' rows (``level`` = ``street``) followed by the district's (``district``)."""
    streets = table.copy()
    total = district_totals(streets, district)
    streets.insert(0, "level", "street")
    total.insert(0, "level", "district")
    return pd.concat([streets, total.astype(streets.dtypes.drop("level"), errors="ignore")],
                     ignore_index=True)  # fmt: skip


def street_ranking(table: pd.DataFrame) -> pd.DataFrame:
    """Sheet 街道排名: street × category × threshold, best coverage first within each
    category and threshold, with the blind spots' population (Chinese headers)."""
    t = table
    if "level" in t:
        t = t.loc[t["level"] == "street"]
    t = t.loc[t["minutes"].notna()]
    if "profile" in t and len(t):
        t = t.loc[t["profile"] == t["profile"].iloc[0]]
    nodes = len(t) and (t.get("demand_basis") == "nodes").all()
    unit = "路网节点" if nodes else "人口"
    t = t.sort_values(
        ["category", "minutes", "population_share", "boundary"],
        ascending=[True, True, False, True],
        kind="stable",
    )
    rank = t.groupby(["category", "minutes"], sort=False).cumcount() + 1
    out = pd.DataFrame(
        {
            "类别": t["category"].map(category_label),
            "步行分钟": t["minutes"].to_numpy(),
            "排名": rank.to_numpy(),
            "街道": t["boundary"].to_numpy(),
            f"{unit}覆盖率": t["population_share"].round(4).to_numpy(),
            f"{unit}": t["population"].to_numpy(),
            f"盲区{unit}": t["blind_spot_population"].to_numpy(),
        }
    )
    if not nodes and "pop60_share" in t and t["pop60_share"].notna().any():
        out["60岁以上人口覆盖率"] = t["pop60_share"].round(4).to_numpy()
    return out.reset_index(drop=True)


# ------------------------------------------------------------------------------ the study
class DistrictStudy(Study):
    """A :class:`Study` of a district's streets with district totals, ranking and selector map.

    Parameters
    ----------
    *args, **kwargs
        Those of :class:`Study` (``boundary`` holds every street, ``name`` column).
    district : str
        The district's name (its total rows and map outline).
    """

    def __init__(self, *args, district: str = "全区", **kwargs):
        self.district = district
        super().__init__(*args, **kwargs)

    def coverage(self, *, progress: bool = False):
        """Coverage of every street, plus the district rows (``level`` column)."""
        if self._coverage is not None:
            return self._coverage
        cov = super().coverage(progress=progress)
        cov.table = with_district_total(cov.table, self.district)
        return cov

    @property
    def area_name(self) -> str:
        """The district's name."""
        return self.district

    def map(self, *, basemap: str | None = None, sites=None):
        """The study map with the district outline, a layer per street and a street selector."""
        from ..maps.builder import display_system
        from ..maps.district import add_district_layers

        m = super().map(basemap=basemap, sites=sites)
        basemap = self.options.basemap if basemap is None else basemap
        add_district_layers(
            m, self.boundaries, self.district, display_system(basemap, [self.boundaries])
        )
        return m

    def _residents_report(self, result: PipelineResult) -> dict:
        extra = super()._residents_report(result)
        ranking = street_ranking(result.coverage.table)
        extra["extra_sheets"] = [("街道排名", ranking), *extra.get("extra_sheets", [])]
        return extra


def run_district(
    inputs: PipelineInputs,
    out_dir: str | Path,
    *,
    progress: bool = False,
    on_step: Callable[[int, int, str], None] | None = None,
    **overrides,
) -> PipelineResult:
    """Run a district's inputs (:func:`district_inputs`) into ``out_dir``, as ``lifecircle run``.

    ``overrides`` replace entries of ``inputs.options`` (``basemap=None``, ``allow_partial=True``).
    """
    district = getattr(inputs, "district", None) or "全区"
    study = DistrictStudy.from_inputs(inputs, district=district, **overrides)
    return study.write(out_dir, progress=progress, on_step=on_step)
