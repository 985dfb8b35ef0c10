"""geo.population: loading counts, conserving totals onto points, age shares, demand at nodes."""

from __future__ import annotations

import json

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from shapely.geometry import Point, box

from lifecircle.geo.network import WalkNetwork
from lifecircle.geo.population import (
    apply_age_share,
    demand_from_network,
    distribute_to_points,
    district_age_share,
    load_population,
    node_street_length,
)
from lifecircle.geo.report import LoadReport

GRID_TOTAL = 1_741_363.193  # the shared 0.01° grid over central Putuo
E0, N0 = 350_000.0, 3_455_000.0  # a spot in Putuo, EPSG:32651 metres


def rel_close(a: float, b: float, rel: float = 1e-6) -> bool:
    return abs(a - b) <= rel * abs(b)


def metric_points(xy) -> gpd.GeoDataFrame:
    xy = np.asarray(xy, dtype=float)
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=32651)


# --------------------------------------------------------------------------- real grid
@pytest.mark.parametrize("name", ["grid_0p01deg_putuo.csv", "grid_0p01deg_putuo.geojson"])
def test_real_grid_total_conserved_onto_points(shared_data, name):
    coords = "wgs84" if name.endswith(".csv") else None  # a table declares its system
    cells, rep = load_population(shared_data / "population" / name, coords=coords)
    assert (rep.n_input, rep.n_loaded, rep.n_rejected) == (44, 44, 0)
    assert cells.crs.to_epsg() == 4326
    assert rel_close(cells["pop"].sum(), GRID_TOTAL, 1e-9)
    # synthetic demand points: a 0.0025° lattice over the western two thirds of the grid only,
    # so that some cells hold no point and must hand their people to the nearest point
    lon, lat = np.meshgrid(np.arange(121.3780, 121.425, 0.0025), np.arange(31.2240, 31.292, 0.0025))
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon.ravel(), lat.ravel()), crs=4326)
    report = LoadReport("test")
    pop = distribute_to_points(cells, pts, report=report)
    assert pop.shape == (len(pts),) and (pop >= 0).all()
    assert rel_close(pop.sum(), GRID_TOTAL)  # sum before == sum after
    s = report.stats
    assert s["sources_without_points"] > 0 and s["pop_to_nearest"] > 0
    assert rel_close(s["total_out"], s["total_in"])
    # the people of cells without a point are exactly those handed to the nearest point
    inside = gpd.sjoin(pts, cells[["pop", "geometry"]], predicate="within")
    assert inside.index.is_unique  # no lattice point sits on a cell edge
    with_points = inside["index_right"].unique()
    assert 0 < len(with_points) < 44
    far = cells.drop(index=with_points)
    assert len(far) == s["sources_without_points"]
    assert rel_close(s["pop_to_nearest"], far["pop"].sum(), 1e-9)


# --------------------------------------------------------------------------- raster
def write_raster(path, data, nodata=-1.0):
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=data.shape[1],
        height=data.shape[0],
        count=1,
        dtype="float32",
        crs="EPSG:32651",
        transform=Affine(100, 0, E0, 0, -100, N0),
        nodata=nodata,
    ) as dst:
        dst.write(data.astype("float32"), 1)


def test_tiny_raster_in_utm(tmp_path):
    # 2 rows × 3 columns of 100 m cells, top-left corner (E0, N0)
    data = np.array([[120.0, 30.0, 0.0], [-1.0, 50.0, 7.0]])  # -1 = nodata, 0 = nobody
    path = tmp_path / "pop.tif"
    write_raster(path, data)
    cells, rep = load_population(path)
    assert cells.crs.to_epsg() == 32651
    assert rep.n_input == 4 and rep.n_loaded == 4 and rep.balanced
    assert any("1 without data and 1 with 0 persons" in n for n in rep.notes)
    assert sorted(cells["pop"]) == [7.0, 30.0, 50.0, 120.0]
    first = cells.set_index("pop").loc[120.0, "geometry"]
    assert first.equals(box(E0, N0 - 100, E0 + 100, N0))
    # points p0..p3 given in WGS84: cell (row 0, col 0) holds p0 and p1, (1,1) p2, (1,2) p3
    xy = [(E0 + 20, N0 - 30), (E0 + 70, N0 - 80), (E0 + 150, N0 - 150), (E0 + 240, N0 - 190)]
    pts = metric_points(xy).to_crs(4326)
    report = LoadReport("t")
    pop = distribute_to_points(cells, pts, report=report)
    # cell (0,0) 120 → 60 + 60; (1,1) 50 → p2; (1,2) 7 → p3; (0,1) 30 has no point: its nearest
    # point is p1, 30 m west of it (p2 is 50 m south); the 0 and nodata cells give nothing
    assert pop == pytest.approx([60.0, 90.0, 50.0, 7.0])
    assert pop.sum() == pytest.approx(207.0, rel=1e-12)
    assert report.stats["sources_without_points"] == 1
    assert report.stats["pop_to_nearest"] == pytest.approx(30.0)
    assert report.stats["max_nearest_m"] == pytest.approx(30.0)


def test_raster_clip_window(tmp_path):
    data = np.arange(1, 101, dtype=float).reshape(10, 10)
    path = tmp_path / "big.tif"
    write_raster(path, data)
    clip = gpd.GeoSeries([box(E0 + 210, N0 - 390, E0 + 390, N0 - 210)], crs=32651)
    cells, _ = load_population(path, clip=clip)
    # the window covering the clip: rows 2-3, cols 2-3
    assert sorted(cells["pop"]) == [23.0, 24.0, 33.0, 34.0]


# --------------------------------------------------------------------------- polygons
def test_polygons_without_points_go_to_nearest_point():
    cells = gpd.GeoDataFrame(
        {"pop": [90.0, 10.0, 40.0, 0.0]},
        geometry=[
            box(E0, N0, E0 + 100, N0 + 100),  # 3 points
            box(E0 + 100, N0, E0 + 200, N0 + 100),  # none: nearest is point 2 (at x+95)
            box(E0 + 1000, N0, E0 + 1100, N0 + 100),  # none, far: nearest is point 3
            box(E0, N0 + 500, E0 + 100, N0 + 600),  # zero persons
        ],
        crs=32651,
    )
    pts = metric_points(
        [(E0 + 10, N0 + 10), (E0 + 50, N0 + 50), (E0 + 95, N0 + 50), (E0 + 400, N0 + 50)]
    )
    report = LoadReport("t")
    pop = distribute_to_points(cells, pts, report=report)
    assert pop == pytest.approx([30.0, 30.0, 40.0, 40.0])
    assert report.stats["sources_without_points"] == 2
    assert report.stats["pop_to_nearest"] == pytest.approx(50.0)
    assert report.stats["max_nearest_m"] == pytest.approx(600.0)
    assert any("went to the nearest point" in n for n in report.notes)
    # weighted split: weights 1:2:0 inside the first cell (the 0-weight point gets none of it)
    pop = distribute_to_points(cells, pts, weights=np.array([1.0, 2.0, 0.0, 1.0]))
    assert pop == pytest.approx([30.0, 60.0, 10.0, 40.0])
    # all weights 0 inside a cell: equal split rather than losing people
    pop = distribute_to_points(cells, pts, weights=np.zeros(4))
    assert pop.sum() == pytest.approx(140.0)
    with pytest.raises(ValueError, match="weights"):
        distribute_to_points(cells, pts, weights=np.array([1.0, -1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="no target points"):
        distribute_to_points(cells, pts.iloc[:0])


def test_point_sources_go_to_the_nearest_point():
    buildings = gpd.GeoDataFrame(
        {"pop": [12.0, 8.0]}, geometry=[Point(E0, N0), Point(E0 + 300, N0)], crs=32651
    )
    pts = metric_points([(E0 + 40, N0), (E0 + 250, N0)])
    assert distribute_to_points(buildings, pts) == pytest.approx([12.0, 8.0])


def test_load_population_tables_with_bad_rows(tmp_path):
    path = tmp_path / "cells.csv"
    pd.DataFrame(
        {
            "lon_min": [121.40, 121.41, 121.42, 121.43, None],
            "lat_min": [31.20] * 5,
            "lon_max": [121.41, 121.42, 121.43, 121.44, 121.45],
            "lat_max": [31.21] * 5,
            "population": ["100", "n/a", "-5", "0", "10"],
        }
    ).to_csv(path, index=False)
    cells, rep = load_population(path, coords="wgs84")
    assert rep.balanced and (rep.n_loaded, rep.n_rejected) == (2, 3)
    # spreadsheet rows, the header being row 1 (issue 8 §6)
    assert {r.row: r.reason.split(" (")[0] for r in rep.rejections} == {
        3: "missing or non-numeric count",
        4: "negative count",
        6: "missing geometry",
    }
    assert list(cells["pop"]) == [100.0, 0.0] and list(cells["src_row"]) == [2, 5]
    gj = tmp_path / "b.geojson"
    gpd.GeoDataFrame(
        {"人口": [5, 6]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4326
    ).to_file(gj)
    b, _ = load_population(gj)  # 人口 found in place of the default "population"
    assert list(b["pop"]) == [5.0, 6.0]
    with pytest.raises(ValueError, match="no count column"):
        load_population(gj, count_col="residents")
    with pytest.raises(FileNotFoundError):
        load_population(tmp_path / "none.csv", coords="wgs84")


# --------------------------------------------------------------------------- age share
def test_district_age_share_real_census(shared_data):
    path = shared_data / "population" / "shanghai_district_age_2020_census.json"
    assert district_age_share(path, "普陀区") == pytest.approx(37.89 / 123.98)
    assert district_age_share(path, "普陀区") == pytest.approx(0.3056, abs=5e-5)
    assert district_age_share(path, "普陀") == district_age_share(path, "普陀区")
    assert district_age_share(path, "普陀区", age=80) == pytest.approx(5.38 / 123.98)
    with pytest.raises(ValueError, match="no district"):
        district_age_share(path, "火星区")


def test_district_age_share_and_apply(tmp_path):
    path = tmp_path / "census.json"
    path.write_text(
        json.dumps({"columns": ["name", "total", "age_60_plus"], "rows": [["甲区", 200.0, 50.0]]}),
        encoding="utf-8",
    )
    share = district_age_share(path, "甲")
    assert share == 0.25
    assert list(apply_age_share([4.0, 8.0], share)) == [1.0, 2.0]
    df = apply_age_share(pd.DataFrame({"pop": [4.0, 8.0]}), share)
    assert list(df["pop60"]) == [1.0, 2.0]
    with pytest.raises(ValueError):
        apply_age_share([1.0], 1.5)
    with pytest.raises(ValueError, match="no column"):
        district_age_share(path, "甲区", age=65)


# --------------------------------------------------------------------------- demand at nodes
@pytest.fixture(scope="module")
def grid_net() -> WalkNetwork:
    """5 × 5 street grid with 100 m blocks, nodes (i, j) at (E0 + 100 i, N0 + 100 j)."""
    G = nx.MultiDiGraph(crs="EPSG:32651")
    for i in range(5):
        for j in range(5):
            G.add_node(10 * i + j, x=E0 + 100 * i, y=N0 + 100 * j)
    for i in range(5):
        for j in range(5):
            if i < 4:
                G.add_edge(10 * i + j, 10 * (i + 1) + j)
            if j < 4:
                G.add_edge(10 * i + j, 10 * i + j + 1)
    return WalkNetwork.from_graph(G)


def test_node_street_length(grid_net):
    w = dict(zip(grid_net.node_ids, node_street_length(grid_net), strict=True))
    assert w[0] == pytest.approx(100.0) and w[10] == pytest.approx(150.0)
    assert w[11] == pytest.approx(200.0)


def test_demand_from_network(grid_net):
    block = gpd.GeoDataFrame(
        {"pop": [1000.0, 500.0]},
        geometry=[
            box(E0 - 50, N0 - 50, E0 + 150, N0 + 150),
            box(E0 + 2000, N0, E0 + 2100, N0 + 100),
        ],
        crs=32651,
    )
    # no boundary: every node, and the study area is the network's hull [E0, E0+400]²: the
    # block beyond the network is outside and the first block is cut to its 150 × 150 m inside
    d = demand_from_network(grid_net, block, share60=0.3)
    assert list(d.columns) == ["node_idx", "osmid", "pop", "pop60", "geometry"]
    assert d.crs.to_epsg() == 4326 and len(d) == 25
    inside = 1000.0 * 150 * 150 / (200 * 200)  # 562.5 persons
    assert d["pop"].sum() == pytest.approx(inside)
    assert d.attrs["report"].stats["pop_outside_area"] == pytest.approx(1500.0 - inside)
    by = dict(zip(d["osmid"], d["pop"], strict=True))
    # split by street length around each node: 100, 150, 150, 200 of 600
    assert [by[k] for k in (0, 10, 1, 11)] == pytest.approx(
        [inside / 6, inside / 4, inside / 4, inside / 3]
    )
    assert d["pop60"].to_numpy() == pytest.approx(0.3 * d["pop"].to_numpy())
    u = demand_from_network(grid_net, block, node_weight="uniform", include_outside_m=80)
    assert u["pop"].sum() == pytest.approx(1000.0)  # an 80 m margin takes in the whole block
    assert [dict(zip(u["osmid"], u["pop"], strict=True))[k] for k in (0, 10, 1, 11)] == (
        pytest.approx([250.0] * 4)
    )
    # a boundary over the west half of the block: nodes (0,0), (0,1) and half the people
    west = gpd.GeoSeries([box(E0 - 50, N0 - 50, E0 + 50, N0 + 150)], crs=32651)
    d = demand_from_network(grid_net, block, boundary=west)
    assert sorted(d["osmid"]) == [0, 1]
    assert dict(zip(d["osmid"], d["pop"], strict=True)) == pytest.approx({0: 200.0, 1: 300.0})
    assert d.attrs["report"].stats["pop_outside_area"] == pytest.approx(1000.0)
    assert d["pop60"].isna().all()  # no age share given
    # a 55 m margin brings in nodes (1,0), (1,1) and (0,2) (not (1,2): 71 m from the corner) and
    # 155 of the block's 200 m width (the margin's straight east edge spans its whole height)
    d = demand_from_network(grid_net, block, boundary=west, include_outside_m=55)
    assert sorted(d["osmid"]) == [0, 1, 2, 10, 11]
    assert d["pop"].sum() == pytest.approx(775.0, rel=1e-9)
    by = dict(zip(d["osmid"], d["pop"], strict=True))
    assert [by[k] for k in (0, 10, 1, 11, 2)] == pytest.approx(
        [775 / 6, 775 / 4, 775 / 4, 775 / 3, 0.0]
    )
    # without population every node weighs 1
    ones = demand_from_network(grid_net, boundary=west.to_crs(4326))
    assert list(ones["pop"]) == [1.0, 1.0]
    with pytest.raises(ValueError, match="no network node"):
        demand_from_network(grid_net, boundary=box(0, 0, 1, 1))
