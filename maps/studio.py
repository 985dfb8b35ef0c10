"""Siting studio: one offline HTML file in which planners try new sites by clicking on the map.

:func:`build_studio` packs what a what-if needs into one self-contained page: the walking network
(node coordinates and street edges with their lengths and shape points, in the metric CRS, as
base64 little-endian typed arrays), the demand (weights, population and 60+ where known, with
its basis), the existing facilities of the category and every demand row's walk to the nearest
of them, candidate sites and the thresholds of each speed profile. The page's script
(``maps/studio_assets/studio.js``) then repeats :meth:`lifecircle.analysis.siting.SitingProblem.
what_if` in the browser: it projects a click into the metric CRS with the same transverse
Mercator as PROJ, snaps it to the nearest street under the same rule and limit as
:func:`lifecircle.geo.snap.snap_points`, runs a bounded Dijkstra (binary heap on typed arrays)
and counts the newly covered demand exactly as the Python engine does.

Leaflet is inlined from the installed ``folium-offline`` package (as :mod:`lifecircle.maps.
offline` does); the page fetches nothing unless a tile basemap is asked for. A Content-Security-
Policy allows only the page's own scripts (by hash), so no inline event handler can run.
"""

from __future__ import annotations

import base64
import html
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from ..analysis.siting import SitingProblem
from ..geo.crs import out_of_china
from ..settings import WGS84, get_profile, threshold_cost
from . import style as st
from .offline import add_csp, asset_registry

__all__ = [
    "STUDIO_BASEMAPS",
    "StudioFile",
    "StudioOptions",
    "build_studio",
    "studio_payload",
    "studio_problem",
    "tm_parameters",
]

_LEAFLET_JS = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"
_LEAFLET_CSS = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css"

#: Tile basemaps the studio can draw (WGS84 tiles only): name → (URL template, attribution).
STUDIO_BASEMAPS: dict[str, tuple[str, str]] = {
    "osm": ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "© OpenStreetMap contributors"),
    "positron": (
        "https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}.png",
        "© OpenStreetMap contributors © CARTO",
    ),
}

_BASIS_WORDS = {
    "nodes": "路网节点 (未提供人口, 每个节点权重 1)",
    "population": "人口 (60岁以上人口未知)",
    "pop60": "人口与60岁以上人口",
}


@dataclass
class StudioOptions:
    """What the studio page shows and how.

    Attributes
    ----------
    category : str
        Facility category of the existing sites (``elder_care``).
    title : str, optional
        Page title (default: 为老服务站 选址工作台).
    profiles : tuple of str
        Speed profiles the page can switch between; the first is shown first. Profiles that
        cannot express every threshold (GB 50180 beyond 5/10/15 min) are left out.
    minutes : tuple of float
        Thresholds.
    basemap : str
        ``none`` (no tiles, nothing fetched), ``osm`` or ``positron``.
    max_snap_m : float
        Snap limit of a clicked point (the Python engine's 250 m).
    population_known, pop60_known : bool
        Demand basis: without population every node weighs 1 (counts are 路网节点).
    boundary_name : str, optional
        Shown in the header.
    """

    category: str = "elder_care"
    title: str | None = None
    profiles: tuple[str, ...] = ("elderly", "adult", "gb50180")
    minutes: tuple[float, ...] = (5, 10, 15)
    basemap: str = "none"
    max_snap_m: float = 250.0
    population_known: bool = False
    pop60_known: bool = False
    boundary_name: str | None = None

    def __post_init__(self) -> None:
        if self.basemap not in ("none", *STUDIO_BASEMAPS):
            raise ValueError(f"basemap must be none, osm or positron, not {self.basemap!r}")
        if not (np.isfinite(self.max_snap_m) and self.max_snap_m > 0):
            raise ValueError("max_snap_m must be a positive number")
        if not self.minutes or any(not (np.isfinite(m) and m > 0) for m in self.minutes):
            raise ValueError("minutes must be positive numbers")

    @property
    def basis(self) -> str:
        """``nodes``, ``population`` or ``pop60``."""
        if not self.population_known:
            return "nodes"
        return "pop60" if self.pop60_known else "population"

    def usable_profiles(self) -> list[str]:
        """The profiles that express every threshold, in order."""
        out = []
        for name in self.profiles:
            try:
                [threshold_cost(name, minutes=m) for m in self.minutes]
            except ValueError:
                continue
            out.append(get_profile(name).name)
        if not out:
            raise ValueError("no speed profile can express the thresholds")
        return out


@dataclass
class StudioFile:
    """The written studio page: path, size and what it carries."""

    path: Path
    size_bytes: int
    n_nodes: int
    n_edges: int
    n_demand: int
    n_existing: int
    n_candidates: int
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------ projection
def tm_parameters(crs) -> dict:
    """Transverse Mercator parameters of a metric CRS (UTM or any TM) for the page's projection.

    Raises
    ------
    ValueError
        If the CRS is not a transverse Mercator projection.
    """
    from pyproj import CRS

    crs = CRS.from_user_input(crs)
    op = crs.coordinate_operation
    if op is None or "transverse mercator" not in op.method_name.lower():
        raise ValueError(
            f"the studio needs the network in a transverse Mercator CRS (UTM); got {crs.name}"
        )
    p = {q.name.lower(): q.value for q in op.params}

    def find(*words):
        for key, value in p.items():
            if all(w in key for w in words):
                return float(value)
        raise ValueError(f"{crs.name}: no parameter {' '.join(words)}")

    ell = crs.ellipsoid
    return {
        "a": float(ell.semi_major_metre),
        "f": 1.0 / float(ell.inverse_flattening) if ell.inverse_flattening else 0.0,
        "lat0": find("latitude", "origin"),
        "lon0": find("longitude", "origin"),
        "k0": find("scale"),
        "x0": find("false", "easting"),
        "y0": find("false", "northing"),
    }


# --------------------------------------------------------------------------------- problem
def studio_problem(
    net,
    demand: gpd.GeoDataFrame,
    existing: gpd.GeoDataFrame | None = None,
    candidates: gpd.GeoDataFrame | None = None,
    options: StudioOptions | None = None,
) -> SitingProblem:
    """The siting problem the studio starts from: searches reach the largest threshold of every
    carried profile, so that switching the profile in the page needs no new data."""
    options = options or StudioOptions()
    profiles = options.usable_profiles()
    reach = max(threshold_cost(p, minutes=m) for p in profiles for m in options.minutes)
    return SitingProblem.build(
        net,
        demand,
        candidates=candidates,
        existing=existing,
        minutes=options.minutes,
        profile=profiles[0],
        max_snap_m=options.max_snap_m,
        max_m=reach,
    )


# ------------------------------------------------------------------------------- encoding
def _b64(array: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder("<"))
                            .tobytes()).decode("ascii")  # fmt: skip


def _undirected_edges(net) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``net.edges`` to carry, one per street (the lowest row of the rows that are the
    same street: both directions of a two-way street, exact duplicates), and each street's
    length walked backwards (v → u; the two directions may differ in the last digit).

    Raises ``ValueError`` for a street walkable one way only."""
    e = net.edges
    u = e["u_idx"].to_numpy()
    v = e["v_idx"].to_numpy()
    length = e["length"].to_numpy(dtype=float)
    groups: dict = {}
    for k, g in enumerate(e.geometry.values):
        c = shapely.get_coordinates(g)
        key = (min(u[k], v[k]), max(u[k], v[k]), (c[::-1] if u[k] > v[k] else c).tobytes())
        groups.setdefault(key, []).append(k)
    rows, back = [], []
    for ks in groups.values():
        first = ks[0]
        fwd = [k for k in ks if u[k] == u[first] and v[k] == v[first]]
        rev = [k for k in ks if u[k] == v[first] and v[k] == u[first]]
        if not rev:
            raise ValueError(
                "the studio needs a two-way walking network (every street walkable both ways)"
            )
        rows.append(first)
        back.append(min(length[k] for k in rev) if u[first] != v[first] else length[first])
        if min(length[k] for k in fwd) != length[first]:
            raise ValueError("duplicate street rows with different lengths")
    order = np.argsort(rows)
    return np.asarray(rows, dtype=np.int64)[order], np.asarray(back, dtype=float)[order]


def _graph_from_carried(net, rows: np.ndarray, back: np.ndarray) -> bool:
    """True when the carried streets, walked both ways, give exactly ``net.csr("length")``."""
    from scipy import sparse

    e = net.edges
    u = e["u_idx"].to_numpy()[rows]
    v = e["v_idx"].to_numpy()[rows]
    w = e["length"].to_numpy(dtype=float)[rows]
    uu, vv, ww = np.concatenate([u, v]), np.concatenate([v, u]), np.concatenate([w, back])
    order = np.lexsort((ww, vv, uu))
    uu, vv, ww = uu[order], vv[order], ww[order]
    keep = np.ones(len(uu), dtype=bool)
    keep[1:] = (uu[1:] != uu[:-1]) | (vv[1:] != vv[:-1])
    n = net.n_nodes
    B = sparse.csr_matrix((np.maximum(ww[keep], 1e-9), (uu[keep], vv[keep])), shape=(n, n))
    A = net.csr("length")
    A.sort_indices()
    B.sort_indices()
    return (
        A.nnz == B.nnz
        and np.array_equal(A.indptr, B.indptr)
        and np.array_equal(A.indices, B.indices)
        and np.array_equal(A.data, B.data)
    )


def _network_payload(net) -> dict:
    """Nodes and carried streets (metric CRS): shape points between the end nodes only."""
    rows, back = _undirected_edges(net)
    if not _graph_from_carried(net, rows, back):
        raise ValueError("the carried streets do not reproduce the walking graph")
    e = net.edges
    u = e["u_idx"].to_numpy()[rows]
    v = e["v_idx"].to_numpy()[rows]
    geoms = e.geometry.values[rows]
    n_coords = shapely.get_num_coordinates(geoms)
    coords = shapely.get_coordinates(geoms)
    start = np.concatenate([[0], np.cumsum(n_coords)[:-1]])
    end = start + n_coords - 1
    xy = net.xy
    if not (np.array_equal(coords[start], xy[u]) and np.array_equal(coords[end], xy[v])):
        raise ValueError("street geometries do not start and end at their nodes")
    fwd = e["length"].to_numpy(dtype=float)[rows]
    inner = np.ones(len(coords), dtype=bool)
    inner[start] = False
    inner[end] = False
    voff = np.concatenate([[0], np.cumsum(n_coords - 2)])
    return {
        "n_nodes": int(net.n_nodes),
        "n_edges": len(rows),
        "node_xy": _b64(xy.ravel(), "f8"),
        "edge_u": _b64(u, "i4"),
        "edge_v": _b64(v, "i4"),
        "edge_len": _b64(fwd, "f8"),
        "back_idx": _b64(np.flatnonzero(back != fwd), "i4"),
        "back_len": _b64(back[back != fwd], "f8"),
        "vert_off": _b64(voff, "i4"),
        "vert_xy": _b64(coords[inner].ravel(), "f8"),
        "edge_row": rows,  # kept for the edge-key groups (dropped before writing)
    }


def _edge_groups(net, rows: np.ndarray, snap) -> tuple[np.ndarray, np.ndarray]:
    """Same-street groups as the Python engine matches a site and a point on one segment:
    (lower end, upper end, length to the cm). Returns the group of each carried street and of
    each demand point (-1: a node, or a self-loop)."""
    e = net.edges
    lo = np.minimum(e["u_idx"].to_numpy(), e["v_idx"].to_numpy())[rows]
    hi = np.maximum(e["u_idx"].to_numpy(), e["v_idx"].to_numpy())[rows]
    ln = np.round(e["length"].to_numpy(dtype=float)[rows], 2)
    table: dict = {}
    egroup = np.array(
        [table.setdefault((a, b, c), len(table)) if a != b else -1 for a, b, c in zip(lo, hi, ln, strict=True)],
        dtype=np.int64,
    )  # fmt: skip
    dlo, dhi = np.minimum(snap.u, snap.v), np.maximum(snap.u, snap.v)
    dlen = np.round(snap.edge_len, 2)
    dgroup = np.array(
        [
            table.get((a, b, c), -1) if (ok and a != b) else -1
            for a, b, c, ok in zip(dlo, dhi, dlen, snap.ok, strict=True)
        ],
        dtype=np.int64,
    )
    return egroup, dgroup


def _demand_payload(prob: SitingProblem, options: StudioOptions, egroup_rows) -> dict:
    """Demand rows: where they meet the network, weights, inside flag and the walk to the
    nearest existing facility (as the engine's sparse distances give it)."""
    snap = prob._dem_snap
    dem = prob.demand
    ex = prob.existing_idx
    before = np.full(len(dem), np.inf)
    if len(ex):
        D = prob.dist[:, ex].tocsr()
        has = np.diff(D.indptr) > 0
        if has.any():
            mins = np.minimum.reduceat(D.data, D.indptr[:-1][has]) if D.nnz else []
            before[has] = mins
    ok = snap.ok
    u = np.where(ok, snap.u, -1)
    v = np.where(ok, snap.v, -1)
    pop = dem["pop"].to_numpy(dtype=float)
    pop60 = dem["pop60"].to_numpy(dtype=float)
    egroup, dgroup = egroup_rows
    out = {
        "n": len(dem),
        "at_nodes": bool(np.all(snap.snap[ok] == 0) and np.all(snap.u[ok] == snap.v[ok])),
        "u": _b64(u, "i4"),
        "v": _b64(v, "i4"),
        "to_u": _b64(np.nan_to_num(snap.to_u), "f8"),
        "to_v": _b64(np.nan_to_num(snap.to_v), "f8"),
        "snap": _b64(np.nan_to_num(snap.snap), "f8"),
        "group": _b64(dgroup, "i4"),
        "edge_group": _b64(egroup, "i4"),
        "inside": _b64(dem["inside"].to_numpy(dtype=bool).astype(np.uint8), "u1"),
        "before": _b64(before, "f8"),
        "basis": options.basis,
        "basis_label": _BASIS_WORDS[options.basis],
    }
    if not np.all(pop == 1.0):
        out["pop"] = _b64(pop, "f8")
    if not np.array_equal(pop60, pop):
        out["pop60"] = _b64(pop60, "f8")
    return out


def _site_seeds(prob: SitingProblem, idx: np.ndarray) -> dict:
    """Snapped sites as search seeds: end nodes and the walk to each (snap + along the street)."""
    s = prob._site_snap
    idx = np.asarray(idx, dtype=np.int64)
    rows = prob.sites.iloc[idx]
    return {
        "n": len(idx),
        "u": _b64(s.u[idx], "i4"),
        "v": _b64(s.v[idx], "i4"),
        "cu": _b64(s.snap[idx] + s.to_u[idx], "f8"),
        "cv": _b64(s.snap[idx] + s.to_v[idx], "f8"),
        "lon": _b64(rows["lon"].to_numpy(dtype=float), "f8"),
        "lat": _b64(rows["lat"].to_numpy(dtype=float), "f8"),
        "names": [None if v is None or v != v else str(v) for v in rows["name"].tolist()],
    }


def _existing_markers(prob: SitingProblem, existing: gpd.GeoDataFrame | None) -> list[dict]:
    if existing is None or len(existing) == 0:
        return []
    pts = existing.to_crs(WGS84)
    out = []
    for _, r in pts.iterrows():
        g = r.geometry
        if g is None or g.is_empty:
            continue
        g = g if g.geom_type == "Point" else g.representative_point()
        out.append(
            {
                "lon": float(g.x),
                "lat": float(g.y),
                "name": "" if r.get("name") is None or r.get("name") != r.get("name")
                else str(r.get("name")),
                "type": "" if r.get("type") is None or r.get("type") != r.get("type")
                else str(r.get("type")),
            }
        )  # fmt: skip
    return out


def _initial_sites(sites: gpd.GeoDataFrame | None) -> list[dict]:
    if sites is None or len(sites) == 0:
        return []
    pts = sites.to_crs(WGS84)
    names = pts["name"] if "name" in pts.columns else [None] * len(pts)
    out = []
    for g, name in zip(pts.geometry.values, names, strict=True):
        if g is None or g.is_empty:
            continue
        g = g if g.geom_type == "Point" else g.representative_point()
        text = None if name is None or name != name else str(name)
        out.append({"lon": float(g.x), "lat": float(g.y), "name": text})
    return out


def _boundary_rings(boundary) -> list:
    if boundary is None or len(boundary) == 0:
        return []
    geom = shapely.union_all(boundary.to_crs(WGS84).geometry.values).simplify(1e-5)
    polys = getattr(geom, "geoms", [geom])
    rings = []
    for p in polys:
        if p.geom_type != "Polygon":
            continue
        rings.append(np.round(np.asarray(p.exterior.coords)[:, ::-1], 6).tolist())
    return rings


def studio_payload(
    prob: SitingProblem,
    options: StudioOptions,
    existing: gpd.GeoDataFrame | None = None,
    boundary: gpd.GeoDataFrame | None = None,
) -> dict:
    """Everything the page carries, as JSON-ready data (arrays base64-encoded)."""
    net = prob.net
    network = _network_payload(net)
    rows = network.pop("edge_row")
    groups = _edge_groups(net, rows, prob._dem_snap)
    profiles = options.usable_profiles()
    cand = prob.candidate_idx
    cand = cand[prob.sites["snapped"].to_numpy()[cand]]
    ex = prob.existing_idx
    center = net.lonlat.mean(axis=0) if net.n_nodes else np.zeros(2)
    cat = st.category_style(options.category)
    return {
        "version": 1,
        "tm": tm_parameters(net.crs),
        "crs": net.crs.to_string(),
        "gcj02": bool(not out_of_china(center[0], center[1])),
        "max_snap_m": float(options.max_snap_m),
        "reach_m": float(prob.max_m),
        "minutes": [float(m) for m in options.minutes],
        "profiles": [
            {
                "name": p,
                "label": get_profile(p).label,
                "metres": [threshold_cost(p, minutes=m) for m in options.minutes],
            }
            for p in profiles
        ],
        "category": options.category,
        "category_label": cat.label,
        "category_icon": st.icon_svg(cat, 20),
        "title": options.title or f"{cat.label}站点 选址工作台",
        "boundary_name": options.boundary_name or "",
        "network": network,
        "demand": _demand_payload(prob, options, groups),
        "existing": _existing_markers(prob, existing),
        "n_existing_snapped": int(prob.sites["snapped"].to_numpy()[ex].sum()) if len(ex) else 0,
        "candidates": _site_seeds(prob, cand),
        "boundary": _boundary_rings(boundary),
        "basemap": (
            dict(zip(("url", "attribution"), STUDIO_BASEMAPS[options.basemap], strict=True))
            if options.basemap in STUDIO_BASEMAPS
            else None
        ),
    }


# ----------------------------------------------------------------------------------- page
def _json_for_script(data) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``<``, ``>``, ``&``."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):  # fmt: skip
        text = text.replace(ch, esc)
    return text


def _asset(name: str) -> str:
    return resources.files("lifecircle.maps").joinpath("studio_assets", name).read_text("utf-8")


def _script_text(text: str) -> str:
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.I)


def render_studio(payload: dict) -> str:
    """The page: template + inlined Leaflet + the data block + the studio script, with the
    offline maps' Content-Security-Policy (:func:`lifecircle.maps.offline.add_csp`: only these
    scripts run, by hash; no connections)."""
    reg = asset_registry()
    leaflet_js = _script_text(reg[_LEAFLET_JS])
    leaflet_css = re.sub(r"</(style)", r"<\\/\1", reg[_LEAFLET_CSS], flags=re.I)
    studio_js = _script_text(_asset("studio.js"))
    page = _asset("studio.html")
    parts = {
        "__TITLE__": html.escape(payload["title"]),
        "__LEAFLET_CSS__": leaflet_css,
        "__STUDIO_CSS__": _asset("studio.css"),
        "__LEAFLET_JS__": leaflet_js,
        "__DATA__": _json_for_script(payload),
        "__STUDIO_JS__": studio_js,
    }
    page = re.sub("|".join(map(re.escape, parts)), lambda m: parts[m.group(0)], page)
    return add_csp(page)


def build_studio(
    net,
    demand: gpd.GeoDataFrame,
    out,
    existing: gpd.GeoDataFrame | None = None,
    candidates: gpd.GeoDataFrame | None = None,
    boundary: gpd.GeoDataFrame | None = None,
    options: StudioOptions | None = None,
    problem: SitingProblem | None = None,
    initial_sites: gpd.GeoDataFrame | None = None,
) -> StudioFile:
    """Write the siting studio: one self-contained offline HTML file.

    Parameters
    ----------
    net : WalkNetwork
        Walking network of the study area and its buffer (two-way, transverse Mercator CRS).
    demand : GeoDataFrame
        Demand rows (``pop``, ``pop60``, ``inside``; at nodes with ``node_idx`` or points), as
        for :meth:`SitingProblem.build`.
    out : path-like
        The ``.html`` file to write.
    existing : GeoDataFrame, optional
        Existing facilities of ``options.category``.
    candidates : GeoDataFrame, optional
        Candidate sites for 推荐 (e.g. :func:`lifecircle.analysis.siting.generate_candidates`).
    boundary : GeoDataFrame, optional
        Study boundary, drawn dashed.
    options : StudioOptions, optional
    problem : SitingProblem, optional
        A problem already built by :func:`studio_problem` (skips the searches).
    initial_sites : GeoDataFrame, optional
        Sites placed when the page opens (e.g. the sites of ``lifecircle site``), in order.

    Returns
    -------
    StudioFile
    """
    options = options or StudioOptions()
    path = Path(out)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"{path}: the studio is an .html file")
    prob = problem or studio_problem(net, demand, existing, candidates, options)
    payload = studio_payload(prob, options, existing, boundary)
    payload["initial_sites"] = _initial_sites(initial_sites)
    text = render_studio(payload)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return StudioFile(
        path,
        path.stat().st_size,
        int(net.n_nodes),
        int(payload["network"]["n_edges"]),
        int(payload["demand"]["n"]),
        len(payload["existing"]),
        int(payload["candidates"]["n"]),
        [n for n in prob.report.notes] if hasattr(prob.report, "notes") else [],
    )
