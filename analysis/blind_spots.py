"""Blind spots (服务盲区): where the demand lives that no facility reaches, built locally.

Meaning
-------
Uncovered demand is the one definition: demand points (network nodes, buildings, grid cells)
*not* within the threshold by the network walk. Each demand point inside a boundary owns a
*cell*: its Voronoi cell clipped to the boundary and to a disc of ``blind_cell_m`` (150 m) around
it, so that parks, water and empty land far from any home are not called "populated". The blind
spots of a category and threshold are the cells of the populated, uncovered points minus the
service area, merged into connected polygons. Each uncovered point belongs to exactly one blind
spot, so the blind spots' population adds up to ``population_uncovered`` in every row:

* a point belongs to the blind spot it lies in;
* a point under the service-area buffer (a home beside a reached street whose own walk is too
  long), or in a piece too small to draw (under ``min_area_m2``), is counted with the nearest
  blind spot of the same boundary, category and threshold (nearest boundary vertex;
  :attr:`BlindSpots.n_attached` says how many);
* when nothing is left on the map at all, those points' cells themselves (not cut by the
  service area) form the blind spot.

Cost
----
Nothing small is intersected with one unbounded polygon. Voronoi cells are an exact coverage, so
the chosen cells are merged by :func:`shapely.coverage_union_all` (linear; when most cells are
chosen, the few others are merged and cut from the union of all cells, built once); the clip to the
boundary and to the discs (the boundary minus every cell's part beyond its disc — few cells in a
built-up area — built once per boundary: a cell's part beyond its disc lies inside that cell, so
it cuts only chosen cells) and the service area are then applied to that union by single overlays
(O(V log V)); points are found in their polygon by prepared point-in-polygon tests and the rest
by a k-d tree: O(n log n) overall.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.spatial import cKDTree

__all__ = ["BlindSpots", "DemandCells", "blind_spots", "demand_cells", "polygon_parts"]

_QUAD_SEGS = 4


@dataclass
class BlindSpots:
    """Blind-spot polygons of one boundary × category × threshold (in the metric CRS).

    Attributes
    ----------
    geometry : ndarray of Polygon
    population, pop60 : ndarray
        Demand of the uncovered points each polygon holds (``pop60`` NaN when unknown).
    n_demand : ndarray of int
        Uncovered populated demand points per polygon.
    n_attached : int
        Points counted with the nearest polygon because no piece of their own cell is on the map.
    """

    geometry: np.ndarray
    population: np.ndarray
    pop60: np.ndarray
    n_demand: np.ndarray
    n_attached: int = 0

    @classmethod
    def empty(cls) -> BlindSpots:
        e = np.empty(0)
        return cls(np.empty(0, dtype=object), e, e.copy(), np.empty(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.geometry)


def polygon_parts(geoms) -> np.ndarray:
    """The non-empty Polygons of geometries (collections and multi-parts flattened)."""
    parts = shapely.get_parts(shapely.get_parts(np.atleast_1d(np.asarray(geoms, dtype=object))))
    parts = parts[shapely.get_type_id(parts) == 3]
    return parts[~shapely.is_empty(parts)]


@dataclass
class DemandCells:
    """The Voronoi cells of a boundary's demand points (computed once per boundary).

    Attributes
    ----------
    boundary : Polygon or MultiPolygon (prepared)
    cells : ndarray of Polygon
        One Voronoi cell per distinct location: an exact coverage (neighbours share edges).
    of_point : ndarray of int
        For every demand point, its location's cell.
    beyond_disc : ndarray of geometry
        ``cell - disc(radius)`` for cells reaching farther than ``radius`` from their point
        (``None`` for the others, the usual case in a built-up area).
    whole : Polygon or None
        The union of all cells, clipped like :meth:`clip` (cached by :func:`uncovered_region`).
    """

    boundary: object
    cells: np.ndarray
    of_point: np.ndarray
    beyond_disc: np.ndarray
    whole: object = None  # the union of all cells, clipped, built when first needed
    _clip: object = None

    def clip(self):
        """The boundary minus every cell's part beyond its disc (built once).

        A cell's part beyond its disc lies inside that cell, so cutting all of them from a
        union of some cells cuts exactly the chosen cells' parts: one overlay per row instead
        of a union of the chosen parts and two overlays.
        """
        if self._clip is None:
            beyond = self.beyond_disc[~shapely.is_missing(self.beyond_disc)]
            clip = self.boundary
            if len(beyond):
                clip = shapely.difference(clip, shapely.union_all(beyond))
            self._clip = clip
        return self._clip


def demand_cells(xy: np.ndarray, boundary, radius: float) -> DemandCells:
    """Voronoi cells of points (within the boundary's envelope) and their parts beyond ``radius``.

    The cells are left whole so that a set of them unions as a coverage (linear time); the
    clipping to the disc and the boundary is applied to the union (:func:`blind_spots`). That is
    exact: a place in point ``i``'s cell that lies within ``radius`` of any point lies within
    ``radius`` of ``i``, its nearest point.
    """
    shapely.prepare(boundary)
    if len(xy) == 0:
        e = np.empty(0, dtype=object)
        return DemandCells(boundary, e, np.empty(0, dtype=np.int64), e.copy())
    uniq, inv = np.unique(np.round(xy, 3), axis=0, return_inverse=True)
    if len(uniq) == 1:
        cells = np.array([shapely.box(*shapely.bounds(boundary)).buffer(radius)], dtype=object)
    else:
        vor = shapely.voronoi_polygons(
            shapely.multipoints(shapely.points(uniq)), extend_to=boundary, ordered=True
        )
        cells = shapely.get_parts(vor)
    coords, ci = shapely.get_coordinates(cells, return_index=True)
    far = np.zeros(len(cells))
    np.maximum.at(far, ci, np.hypot(*(coords - uniq[ci]).T))
    beyond = np.full(len(cells), None, dtype=object)
    big = np.flatnonzero(far > radius * np.cos(np.pi / (4 * _QUAD_SEGS)))
    if len(big):
        discs = shapely.buffer(shapely.points(uniq[big]), radius, quad_segs=_QUAD_SEGS)
        beyond[big] = shapely.difference(cells[big], discs)
    return DemandCells(boundary, cells, inv.ravel(), beyond)


def _locate(polys: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Index of the polygon holding each point (-1 for none): prepared point-in-polygon.

    Candidates come from each polygon's bounding box on the points sorted by x (no point
    geometries are built).
    """
    out = np.full(len(xy), -1, dtype=np.int64)
    if len(polys) == 0 or len(xy) == 0:
        return out
    shapely.prepare(polys)
    order = np.argsort(xy[:, 0], kind="stable")
    xs = xy[order, 0]
    for j, (x0, y0, x1, y1) in enumerate(shapely.bounds(polys)):
        lo, hi = np.searchsorted(xs, x0, "left"), np.searchsorted(xs, x1, "right")
        cand = order[lo:hi]
        cand = cand[(xy[cand, 1] >= y0) & (xy[cand, 1] <= y1) & (out[cand] < 0)]
        if len(cand):
            hit = shapely.intersects_xy(polys[j], xy[cand, 0], xy[cand, 1])
            out[cand[hit]] = j
    return out


def _owners(polys: np.ndarray, xy: np.ndarray, owner: np.ndarray | None = None) -> np.ndarray:
    """The polygon holding each point, else the one with the nearest boundary vertex.

    ``owner``: the points' :func:`_locate` in ``polys`` when already known (not located again).
    """
    owner = _locate(polys, xy) if owner is None else owner.copy()
    lost = np.flatnonzero(owner < 0)
    if len(lost) and len(polys):
        coords, part = shapely.get_coordinates(polys, return_index=True)
        owner[lost] = part[cKDTree(coords).query(xy[lost])[1]]
    return owner


def _cells_union(dc: DemandCells, cell_idx: np.ndarray):
    """Union of some cells, clipped (:meth:`DemandCells.clip`): of the chosen ones or, when they
    are most of the cells, the union of all cells (clipped once per boundary) minus the union of
    the others. The cells are an exact coverage, so both are the same set; the smaller union is
    the one built."""
    if 2 * len(cell_idx) <= len(dc.cells):
        return shapely.intersection(shapely.coverage_union_all(dc.cells[cell_idx]), dc.clip())
    if dc.whole is None:
        dc.whole = shapely.intersection(shapely.coverage_union_all(dc.cells), dc.clip())
    rest = np.ones(len(dc.cells), dtype=bool)
    rest[cell_idx] = False
    if not rest.any():
        return dc.whole
    return shapely.difference(dc.whole, shapely.coverage_union_all(dc.cells[rest]))


def uncovered_region(dc: DemandCells, cell_idx: np.ndarray):
    """Union of the chosen cells, clipped to their discs and to the boundary."""
    return _cells_union(dc, cell_idx)


def blind_spots(
    dc: DemandCells,
    xy: np.ndarray,
    uncovered: np.ndarray,
    pop: np.ndarray,
    pop60: np.ndarray,
    service_area,
    min_area_m2: float,
) -> BlindSpots:
    """Blind spots of one boundary × category × threshold (see the module notes).

    Parameters
    ----------
    dc : DemandCells
        The cells of the boundary's demand points (:func:`demand_cells`).
    xy : ndarray, shape (n, 2)
        The points (metric CRS).
    uncovered : ndarray of bool
        Not within the threshold by the network walk.
    pop, pop60 : ndarray
        Demand weights (``pop60`` NaN when unknown).
    service_area : Polygon or MultiPolygon
        The category's service area at this threshold (metric CRS).
    min_area_m2 : float
        Pieces smaller than this are not drawn (their demand goes to the nearest blind spot).
    """
    sel = np.flatnonzero(uncovered & (pop > 0))
    if len(sel) == 0:
        return BlindSpots.empty()
    chosen = np.zeros(len(dc.cells), dtype=bool)
    chosen[dc.of_point[sel]] = True
    region = uncovered_region(dc, np.flatnonzero(chosen))
    rest = region
    if service_area is not None and not service_area.is_empty:
        rest = shapely.difference(region, service_area)
    polys = polygon_parts(rest)
    polys = polys[shapely.area(polys) >= max(min_area_m2, 1e-6)]
    owner = _locate(polys, xy[sel])
    n_attached = int((owner < 0).sum())
    if len(polys) == 0:
        # nothing left on the map: the uncovered cells themselves are the blind spot
        polys = polygon_parts(region)
        if len(polys) == 0:
            polys = polygon_parts(shapely.union_all(shapely.buffer(shapely.points(xy[sel]), 1.0)))
        owner = None
    owner = _owners(polys, xy[sel], owner)
    p, p60 = pop[sel], pop60[sel]
    n = len(polys)
    out_pop = np.bincount(owner, weights=p, minlength=n)
    out_60 = np.bincount(owner, weights=np.nan_to_num(p60), minlength=n)
    if np.isnan(p60).all():
        out_60 = np.full(n, np.nan)
    n_dem = np.bincount(owner, minlength=n)
    keep = n_dem > 0
    return BlindSpots(polys[keep], out_pop[keep], out_60[keep], n_dem[keep], n_attached)
