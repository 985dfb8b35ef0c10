"""Study areas: boundaries in the metric CRS, how much of them the network reaches, local clipping.

``network_extent_share`` is the share of a boundary's area that lies within the snap limit
(``max_snap_m``, 250 m) of a street of the walking network: the part of the study area that the
network can speak for. It is measured on a regular lattice of about :data:`EXTENT_SAMPLES`
points per boundary (one nearest-street query each, O(m log n)); the lattice step is
``sqrt(area / samples)``, so the share is exact to well under a percent.

Street lengths inside a boundary are summed without intersecting every small shape with the
boundary: a prepared containment test takes the lines wholly inside as they are, and only the
few that cross the boundary line are cut. The streets' sides of each boundary are kept
(:func:`line_sides`), so that the reached stretches of streets at every threshold are measured
without a new index: a stretch of a street inside is inside (:func:`pieces_length`).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from ..geo.network import WalkNetwork
from ..settings import WGS84

__all__ = [
    "CROSSING",
    "EXTENT_SAMPLES",
    "INSIDE",
    "NETWORK_EXTENT",
    "NETWORK_EXTENT_NAME",
    "NO_BOUNDARY_MESSAGE",
    "OUTSIDE",
    "boundary_frame",
    "clipped_length",
    "line_sides",
    "network_extent_frame",
    "network_extent_share",
    "pieces_length",
]

#: Lattice points per boundary for :func:`network_extent_share`.
EXTENT_SAMPLES = 40_000
#: The explicit choice of the network's extent as the study area (``boundaries="network"``).
NETWORK_EXTENT = "network"
#: The name of that study area in every table, map and line.
NETWORK_EXTENT_NAME = "研究范围 = 路网范围"
#: Why a run without a boundary stops (no silent fallback to the network's extent).
NO_BOUNDARY_MESSAGE = (
    "未给出研究范围 (no study boundary): 给出边界 (boundaries: GeoDataFrame 或边界文件), "
    '或明确选择 boundaries="network" (研究范围 = 路网范围: 路网节点的凸包, 不是街道边界)'
)


def network_extent_frame(net: WalkNetwork) -> gpd.GeoDataFrame:
    """The network's extent as a study area: the convex hull of its nodes, named
    :data:`NETWORK_EXTENT_NAME` (研究范围 = 路网范围) so that every table says what it is."""
    hull = shapely.convex_hull(shapely.multipoints(shapely.points(net.xy)))  # points: 10x faster
    return gpd.GeoDataFrame({"name": [NETWORK_EXTENT_NAME]}, geometry=[hull], crs=net.crs)


def boundary_frame(boundaries, net: WalkNetwork) -> tuple[list[str], np.ndarray]:
    """Boundary names and valid metric geometries.

    ``boundaries`` may be a GeoDataFrame (``name`` column), a GeoSeries or one shapely geometry
    in WGS84, or :data:`NETWORK_EXTENT` (``"network"``): the explicit choice of the network's
    extent (:func:`network_extent_frame`). Empty geometries are dropped.

    Raises
    ------
    ValueError
        ``None``: there is no silent fallback to the network's extent (the message names the
        choices).
    """
    if boundaries is None:
        raise ValueError(NO_BOUNDARY_MESSAGE)
    if isinstance(boundaries, str) and boundaries == NETWORK_EXTENT:
        boundaries = network_extent_frame(net)
    if isinstance(boundaries, shapely.Geometry):
        boundaries = gpd.GeoDataFrame(geometry=[boundaries], crs=WGS84)
    if isinstance(boundaries, gpd.GeoSeries):
        boundaries = gpd.GeoDataFrame(geometry=boundaries)
    if boundaries.crs is None:
        raise ValueError("boundaries have no CRS")
    b = boundaries.to_crs(net.crs)
    geoms = shapely.make_valid(b.geometry.values)
    if "name" in b.columns:
        names = [str(n) if pd.notna(n) else f"边界{i + 1}" for i, n in enumerate(b["name"])]
    else:
        names = [f"边界{i + 1}" for i in range(len(b))]
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    geoms = np.asarray(geoms)[keep]
    for g in geoms:
        shapely.prepare(g)
    return [n for n, k in zip(names, keep, strict=True) if k], geoms


def network_extent_share(
    street_tree: shapely.STRtree,
    boundary,
    max_snap_m: float,
    samples: int = EXTENT_SAMPLES,
    vertices: np.ndarray | None = None,
) -> float:
    """Share of ``boundary``'s area within ``max_snap_m`` of a street (lattice estimate).

    Parameters
    ----------
    street_tree : STRtree
        Index of the network's street lines (metric CRS).
    boundary : Polygon or MultiPolygon
        Metric CRS.
    max_snap_m : float
        The snap limit: a point farther from every street is outside the network's reach.
    samples : int
        About this many lattice points fall inside the boundary.
    vertices : ndarray, shape (k, 2), optional
        Vertices of the street lines. A lattice point this close to a vertex is close to its
        street (a vertex lies on it): found by a k-d tree, only the others query the lines.
        The same share, faster where the streets are dense.
    """
    area = float(boundary.area)
    if area <= 0:
        return float("nan")
    x0, y0, x1, y1 = boundary.bounds
    step = max(np.sqrt((x1 - x0) * (y1 - y0) / samples), 1.0)
    xs = np.arange(x0 + step / 2, x1, step)
    ys = np.arange(y0 + step / 2, y1, step)
    X, Y = (a.ravel() for a in np.meshgrid(xs, ys))
    shapely.prepare(boundary)
    inside = shapely.intersects_xy(boundary, X, Y)
    if not inside.any():  # a sliver thinner than the lattice step: use its representative point
        p = shapely.get_coordinates(shapely.point_on_surface(boundary))
        X, Y, inside = p[:, 0], p[:, 1], np.ones(1, dtype=bool)
    X, Y = X[inside], Y[inside]
    near = _near_vertex(vertices, X, Y, max_snap_m)
    pts = shapely.points(X[~near], Y[~near])
    qi, _ = street_tree.query_nearest(pts, max_distance=max_snap_m)
    return float((int(near.sum()) + len(np.unique(qi))) / len(X))


def _near_vertex(vertices: np.ndarray | None, x: np.ndarray, y: np.ndarray, dist: float):
    """Points closer than ``dist`` (less 1 µm, safe from round-off) to one of ``vertices``."""
    if vertices is None or len(vertices) == 0 or len(x) == 0:
        return np.zeros(len(x), dtype=bool)
    d, _ = cKDTree(vertices).query(np.column_stack([x, y]), distance_upper_bound=dist)
    return d < dist - 1e-6


def _inside_or_cut(shapes: np.ndarray, tree: shapely.STRtree, boundary) -> np.ndarray:
    """The parts of the indexed shapes inside a prepared boundary (crossing ones cut)."""
    idx = tree.query(boundary, predicate="intersects")
    if len(idx) == 0:
        return np.empty(0, dtype=object)
    return _inside_or_cut_all(shapes[idx], boundary)


def clipped_length(lines: np.ndarray, tree: shapely.STRtree | None, boundary) -> float:
    """Total length (m) of ``lines`` (indexed by ``tree``) inside ``boundary``."""
    if tree is None or len(lines) == 0:
        return 0.0
    return float(shapely.length(_inside_or_cut(lines, tree, boundary)).sum())


#: :func:`line_sides` codes: a line outside the boundary, wholly inside, or crossing its edge.
OUTSIDE, INSIDE, CROSSING = 0, 1, 2


def line_sides(lines: np.ndarray, tree: shapely.STRtree | None, boundary) -> tuple:
    """Where each line lies against a prepared boundary, and their length inside it.

    Returns
    -------
    sides : ndarray of int8
        :data:`OUTSIDE`, :data:`INSIDE` (contained) or :data:`CROSSING` (touches or crosses the
        boundary line) per line.
    length : float
        :func:`clipped_length` of the lines (the same sum, from the same tests).
    """
    sides = np.zeros(len(lines), dtype=np.int8)
    if tree is None or len(lines) == 0:
        return sides, 0.0
    idx = tree.query(boundary, predicate="intersects")
    if len(idx) == 0:
        return sides, 0.0
    s = lines[idx]
    inside = shapely.contains(boundary, s)
    sides[idx] = np.where(inside, INSIDE, CROSSING)
    if not inside.all():
        s = s.copy()
        s[~inside] = shapely.intersection(s[~inside], boundary)
    return sides, float(shapely.length(s).sum())


def pieces_length(pieces: np.ndarray, of_line: np.ndarray, sides: np.ndarray, boundary) -> float:
    """Length (m) inside ``boundary`` of pieces of lines whose :func:`line_sides` are known.

    A piece of a line inside the boundary is inside, of a line outside it is outside: only the
    pieces of the few crossing lines are tested and cut. The same length as
    :func:`clipped_length` of the pieces, without an index of them.

    Parameters
    ----------
    pieces : ndarray of LineString
        Parts of the lines (e.g. the reached stretches of streets).
    of_line : ndarray of int
        The line each piece is part of.
    sides : ndarray of int8
        :func:`line_sides` of the lines against ``boundary`` (prepared).
    """
    if len(pieces) == 0:
        return 0.0
    side = sides[of_line]
    lengths = np.where(side == INSIDE, shapely.length(pieces), 0.0)
    cross = np.flatnonzero(side == CROSSING)
    if len(cross):
        c = pieces[cross]
        hit = shapely.intersects(boundary, c)
        lengths[cross] = np.where(hit, shapely.length(_inside_or_cut_all(c, boundary)), 0.0)
        side = side.copy()
        side[cross[~hit]] = OUTSIDE
    return float(lengths[side != OUTSIDE].sum())


def _inside_or_cut_all(shapes: np.ndarray, boundary) -> np.ndarray:
    cross = ~shapely.contains(boundary, shapes)
    if cross.any():
        shapes = shapes.copy()
        shapes[cross] = shapely.intersection(shapes[cross], boundary)
    return shapes
