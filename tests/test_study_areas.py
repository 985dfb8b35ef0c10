"""Study areas: street length inside a boundary and the network extent share, fast and slow ways."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from lifecircle.analysis.study_areas import network_extent_share


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
