"""Study areas: street length inside a boundary and the network extent share, fast and slow ways."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from lifecircle.analysis.study_areas import (
    CROSSING,
    INSIDE,
    OUTSIDE,
    clipped_length,
    line_sides,
    network_extent_share,
    pieces_length,
)


@pytest.mark.parametrize("step", [100.0, 1000.0])
def test_network_extent_share_same_with_and_without_street_vertices(step):
    """One straight 1 km street through a 1 km × 1 km square: half the square lies within 250 m.

    With vertices every 100 m most lattice points are settled by the k-d tree; with only the two
    end vertices most points must query the line: both give the known 0.5.
    """
    x = np.arange(0.0, 1000.0 + step / 2, step)
    street = shapely.linestrings(np.column_stack([x, np.zeros(len(x))]))
    tree = shapely.STRtree(np.array([street]))
    square = shapely.box(0, -500, 1000, 500)
    verts = shapely.get_coordinates(street)
    slow = network_extent_share(tree, square, 250.0)
    fast = network_extent_share(tree, square, 250.0, vertices=verts)
    assert slow == fast == pytest.approx(0.5)
    # a street ending mid-square: the disc around its end vertex counts, nothing beyond it
    stub = shapely.STRtree(np.array([shapely.LineString([(-500, 0), (0, 0)])]))
    box2 = shapely.box(0, -1000, 1000, 1000)
    v2 = np.array([[-500.0, 0.0], [0.0, 0.0]])
    a = network_extent_share(stub, box2, 250.0)
    b = network_extent_share(stub, box2, 250.0, vertices=v2)
    assert a == b == pytest.approx(np.pi * 250**2 / 2 / 2e6, rel=0.01)


def test_pieces_length_equals_clipping_every_piece():
    """Streets of a 100 m grid (0..1000 m), a boundary box cutting through them, and stretches of
    every street: measured through the streets' sides (:func:`line_sides`) the stretches' length
    inside is the one clipping every stretch gives, and the known one."""
    ticks = np.arange(0.0, 1001.0, 100.0)
    h = [shapely.LineString([(0, y), (1000, y)]) for y in ticks]
    v = [shapely.LineString([(x, 0), (x, 1000)]) for x in ticks]
    streets = np.array(h + v, dtype=object)
    tree = shapely.STRtree(streets)
    box = shapely.box(-50, 250, 1250, 650)  # the horizontal streets y 300..600 lie inside
    shapely.prepare(box)
    sides, total = line_sides(streets, tree, box)
    assert total == pytest.approx(clipped_length(streets, tree, box))
    # 4 horizontal streets (y 300..600) × 1000 m + 11 vertical ones × 400 m (y 250..650)
    assert total == pytest.approx(4 * 1000 + 11 * 400)
    assert (sides[:11] == INSIDE).sum() == 4 and (sides[:11] == OUTSIDE).sum() == 7
    assert (sides[11:] == CROSSING).all()
    # stretches: the first 40 % and the last 30 % of every street
    of_line = np.r_[np.arange(len(streets)), np.arange(len(streets))]
    pieces = np.concatenate(
        [_substring(s, 0.0, 0.4) for s in streets] + [_substring(s, 0.7, 1.0) for s in streets]
    )
    got = pieces_length(pieces, of_line, sides, box)
    want = clipped_length(pieces, shapely.STRtree(pieces), box)
    assert got == pytest.approx(want, rel=1e-12)
    # horizontal y 300..600: 400 m + 300 m, 4 streets; vertical: [0,400] ∩ [250,650] = 150 m
    # and [700,1000] ∩ [250,650] = 0, 11 streets
    assert got == pytest.approx(4 * (400 + 300) + 11 * 150)


def _substring(line, a: float, b: float) -> np.ndarray:
    """The stretch of a straight two-point line from fraction ``a`` to ``b``."""
    p, q = shapely.get_coordinates(line)
    return np.array([shapely.LineString([p + a * (q - p), p + b * (q - p)])], dtype=object)
