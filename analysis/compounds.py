"""居民区 as units: gates, walking minutes to the nearest facility, reached or not, population.

The gate rule
-------------
A 居民区 is entered where its boundary meets a street: every point where the polygon's outline
crosses or touches a walking edge is a gate (an outline running along a street gives the two
ends of the shared stretch). The compound is *reached* at a threshold when the walk from its
nearest gate to the nearest facility is within it. A compound that no street meets has no gate
data: its point on surface stands in for a gate, snapped with the usual 250 m rule, and
``gate_basis`` says so (质心（无出入口数据）).

Population: the compound's own figures (``population``/``pop60``/``share60`` columns) when
given, else the residents of the buildings inside it (dasymetric estimate), 60+ from the
compound's share or the buildings' 60+.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..geo.network import WalkNetwork
from ..geo.snap import SnapResult, snap_points, street_index
from ..settings import WGS84, SpeedProfile, get_profile
from .point_walks import nearest_walks

__all__ = [
    "BASIS_CENTROID",
    "BASIS_GATES",
    "Gates",
    "compound_gates",
    "compound_population",
    "compound_reach",
    "compounds_missing",
]

BASIS_GATES = "出入口（边界与道路交点）"
BASIS_CENTROID = "质心（无出入口数据）"


@dataclass
class Gates:
    """Where each 居民区 meets the walking network.

    Attributes
    ----------
    compound : ndarray of int
        Compound (row of the compounds frame) of each gate.
    snap : SnapResult
        The gates snapped to the network.
    points : GeoDataFrame (WGS84)
        ``compound`` and the gate points, for maps.
    basis : ndarray of str
        Per compound: :data:`BASIS_GATES` or :data:`BASIS_CENTROID`.
    n_gates : ndarray of int
        Per compound: gates found on its outline (0: centroid used).
    """

    compound: np.ndarray
    snap: SnapResult
    points: gpd.GeoDataFrame
    basis: np.ndarray
    n_gates: np.ndarray


def _gate_points(rings: np.ndarray, lines: np.ndarray, ci: np.ndarray, ei: np.ndarray):
    """Points where outline ``ci`` meets street ``ei`` (ends of shared stretches for overlaps)."""
    inter = shapely.intersection(rings[ci], lines[ei])
    parts, owner = shapely.get_parts(inter, return_index=True)
    dim = shapely.get_dimensions(parts)
    ends = np.where(dim == 1, shapely.boundary(parts), parts)
    pts, owner2 = shapely.get_parts(ends, return_index=True)
    keep = shapely.get_type_id(pts) == 0
    return ci[owner[owner2[keep]]], pts[keep]


def compound_gates(
    net: WalkNetwork, compounds: gpd.GeoDataFrame, max_snap_m: float = 250.0
) -> Gates:
    """Gates of every compound (see the module notes), snapped to the network."""
    polys = compounds.geometry.to_crs(net.crs).to_numpy()
    rings = shapely.boundary(polys)
    lines = net.edges.geometry.to_numpy()
    ci, ei = street_index(net).query(rings, predicate="intersects")
    owner, pts = _gate_points(rings, lines, ci, ei)
    xy = np.round(shapely.get_coordinates(pts), 1)
    frame = pd.DataFrame({"c": owner, "x": xy[:, 0], "y": xy[:, 1]}).drop_duplicates()
    n = len(compounds)
    n_gates = np.bincount(frame["c"].to_numpy(dtype=np.int64), minlength=n)
    none = np.flatnonzero(n_gates == 0)
    centre = shapely.get_coordinates(shapely.point_on_surface(polys[none]))
    c = np.concatenate([frame["c"].to_numpy(dtype=np.int64), none])
    xy = np.vstack([frame[["x", "y"]].to_numpy(dtype=float), centre.reshape(-1, 2)])
    gdf = gpd.GeoDataFrame(
        {"compound": c, "src_row": c + 1}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=net.crs,
    )  # fmt: skip
    snap = snap_points(net, gdf, max_snap_m=max_snap_m, label="居民区出入口")
    basis = np.where(n_gates > 0, BASIS_GATES, BASIS_CENTROID)
    return Gates(c, snap, gdf.to_crs(WGS84), basis, n_gates)


def compound_population(
    compounds: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame | None = None,
    share60: float | None = None,
) -> pd.DataFrame:
    """Residents and 60+ per compound, and where the figure came from.

    Own ``population``/``pop60`` columns win; else the sum of the demand points (buildings)
    inside the polygon. 60+: own ``pop60``, else population × own ``share60``, else the
    buildings' ``pop60`` (when the residents are the buildings'), else population × ``share60``
    (district).
    """
    n = len(compounds)
    own = compounds["population"].to_numpy(dtype=float) if "population" in compounds else None
    pop = np.full(n, np.nan) if own is None else own.copy()
    pop60 = (
        compounds["pop60"].to_numpy(dtype=float).copy()
        if "pop60" in compounds
        else np.full(n, np.nan)
    )
    b_pop = np.full(n, np.nan)
    b_pop60 = np.full(n, np.nan)
    if demand is not None and len(demand):
        polys = compounds.geometry.to_crs(WGS84).to_numpy()
        pts = demand.geometry.to_crs(WGS84).to_numpy()
        pi, ci = shapely.STRtree(polys).query(pts, predicate="within")
        b_pop = np.bincount(ci, weights=demand["pop"].to_numpy(dtype=float)[pi], minlength=n)
        if "pop60" in demand:
            p60 = demand["pop60"].to_numpy(dtype=float)[pi]
            b_pop60 = np.bincount(ci, weights=np.nan_to_num(p60), minlength=n)
            if not np.isfinite(p60).any():
                b_pop60[:] = np.nan
    given = np.isfinite(pop)
    source = np.where(given, "居民区数据", "建筑面积估算")
    pop = np.where(given, pop, b_pop)
    b_pop60 = np.where(given, np.nan, b_pop60)  # buildings' 60+ only with buildings' residents
    own_share = (
        compounds["share60"].to_numpy(dtype=float) if "share60" in compounds else np.full(n, np.nan)
    )
    district = np.nan if share60 is None else float(share60)
    for fill in (pop * own_share, b_pop60, pop * district):
        pop60 = np.where(np.isfinite(pop60), pop60, fill)
    return pd.DataFrame({"population": pop, "pop60": pop60, "population_source": source})


def compound_reach(
    net: WalkNetwork,
    compounds: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    thresholds: list[tuple[float, float]],
    profile: str | SpeedProfile,
    *,
    categories=None,
    demand: gpd.GeoDataFrame | None = None,
    share60: float | None = None,
    gates: Gates | None = None,
    max_snap_m: float = 250.0,
) -> tuple[pd.DataFrame, gpd.GeoDataFrame, Gates]:
    """居民区 × category × threshold: reached, walking minutes from the nearest gate, residents.

    Parameters
    ----------
    net : WalkNetwork
    compounds : GeoDataFrame
        ``name`` and polygons (:mod:`lifecircle.geo.compounds`).
    facilities : GeoDataFrame
        With ``category``.
    thresholds : list of (minutes, metres)
        As :func:`lifecircle.analysis.coverage.thresholds_for` gives them.
    profile : str or SpeedProfile
        Turns walking metres into minutes.
    categories : sequence of str, optional
    demand : GeoDataFrame, optional
        Building demand points (``pop``, ``pop60``) for the compounds' residents.
    share60 : float, optional
        District 60+ share.
    gates : Gates, optional
        Computed before (:func:`compound_gates`).

    Returns
    -------
    (table, layer, gates)
        ``table``: ``compound``, ``category``, ``minutes``, ``limit_m``, ``reached``,
        ``walk_m``, ``walk_min``, ``population``, ``pop60``, ``gate_basis``, ``n_gates``;
        ``layer``: the compounds (WGS84) with ``d_<category>`` / ``t_<category>`` and population;
        ``gates``.
    """
    prof = get_profile(profile)
    gates = gates or compound_gates(net, compounds, max_snap_m)
    walks, _ = nearest_walks(net, facilities, gates.snap, categories, max_snap_m)
    n = len(compounds)
    per = walks.groupby(gates.compound).min().reindex(range(n))
    people = compound_population(compounds, demand, share60)
    layer = compounds.to_crs(WGS84).reset_index(drop=True)
    layer = layer.assign(**people, gate_basis=gates.basis, n_gates=gates.n_gates)
    rows = []
    for cat in walks.columns:
        d = per[cat].to_numpy(dtype=float)
        t = np.where(np.isfinite(d), prof.minutes_for_metres(d), np.nan)
        layer[f"d_{cat}"], layer[f"t_{cat}"] = d, t
        for minutes, limit in thresholds:
            rows.append(
                pd.DataFrame(
                    {
                        "compound": layer["name"].to_numpy(),
                        "category": cat,
                        "minutes": minutes,
                        "limit_m": limit,
                        "reached": np.isfinite(d) & (d <= limit + 1e-6),
                        "walk_m": d,
                        "walk_min": t,
                        "population": people["population"].to_numpy(),
                        "pop60": people["pop60"].to_numpy(),
                        "gate_basis": gates.basis,
                        "n_gates": gates.n_gates,
                    }
                )
            )
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    return table, layer, gates


def compounds_missing(table: pd.DataFrame, targets) -> pd.DataFrame:
    """The compounds that miss each plan target ``(category, minutes)``.

    Returns one row per target and compound not reached (``category``, ``minutes``,
    ``compound``, ``walk_min``, ``population``, ``pop60``), longest walks first.
    """
    out = []
    for category, minutes in targets:
        sel = (table["category"] == category) & np.isclose(table["minutes"], float(minutes))
        if not sel.any():
            raise ValueError(f"no {category} result at {minutes} minutes to compare a target with")
        miss = table[sel & ~table["reached"]]
        out.append(miss.sort_values("walk_m", ascending=False, na_position="first"))
    cols = ["category", "minutes", "compound", "walk_min", "population", "pop60", "gate_basis"]
    return pd.concat(out, ignore_index=True)[cols] if out else pd.DataFrame(columns=cols)
