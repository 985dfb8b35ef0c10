"""A population table declares its coordinate system like facilities do (issue 8 §1)."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import yaml
from shapely.geometry import box

from lifecircle.analysis.runconfig import RunConfigError, load_run_config
from lifecircle.errors import InputError
from lifecircle.geo.crs import convert_lonlat
from lifecircle.geo.network import WalkNetwork, save_network
from lifecircle.geo.population import demand_from_network, load_population
from lifecircle.scripts.cli import main
from lifecircle.workflow import Study

X0, Y0 = 350_000.0, 3_460_000.0  # central Shanghai in EPSG:32651
CHOICES = ("wgs84", "gcj02", "bd09", "EPSG")
NX, NY = 15, 9  # a 1.4 km × 0.8 km grid of 100 m blocks


def _grid() -> WalkNetwork:
    G = nx.MultiDiGraph(crs="EPSG:32651")
    for i in range(NX):
        for j in range(NY):
            G.add_node(100 * i + j, x=X0 + 100.0 * i, y=Y0 + 100.0 * j)
            if i:
                G.add_edge(100 * (i - 1) + j, 100 * i + j, highway="residential")
            if j:
                G.add_edge(100 * i + j - 1, 100 * i + j, highway="residential")
    return WalkNetwork.from_graph(G)


@pytest.fixture(scope="module")
def grid() -> WalkNetwork:
    return _grid()


def _node(net: WalkNetwork, osmid: int) -> tuple[float, float]:
    k = list(net.node_ids).index(osmid)
    return tuple(float(v) for v in net.lonlat[k])


def _gcj_point_csv(path, net, osmid=303, count=1000):
    """A point table whose one point stands on node ``osmid``, written in GCJ-02 (as on Amap)."""
    glon, glat = convert_lonlat(*([v] for v in _node(net, osmid)), "wgs84", "gcj02")
    path.write_text(f"lon,lat,population\n{glon[0]:.7f},{glat[0]:.7f},{count}\n", encoding="utf-8")
    return path


def _assert_lists_choices(text):
    assert all(c in text for c in CHOICES), text


def test_table_needs_its_system_and_gcj02_moves_500m_to_the_right_node(grid, tmp_path):
    path = _gcj_point_csv(tmp_path / "pop.csv", grid)
    with pytest.raises(ValueError, match="declare the coordinate system") as exc:
        load_population(path)
    _assert_lists_choices(str(exc.value))
    right, _ = load_population(path, coords="gcj02")
    wrong, _ = load_population(path, coords="wgs84")  # the old silent assumption
    assert right.crs.to_epsg() == 4326 and wrong.crs.to_epsg() == 4326
    shift = right.to_crs(32651).distance(wrong.to_crs(32651)).iloc[0]
    assert 400 < shift < 600  # the GCJ-02 offset in Shanghai: bigger than a 5-minute walk
    d = demand_from_network(grid, right)
    by = dict(zip(d["osmid"], d["pop"], strict=True))
    assert by[303] == pytest.approx(1000.0)  # the whole count on node (3, 3)
    d = demand_from_network(grid, wrong)
    gone = d.loc[d["pop"] > 0, "osmid"].tolist()
    assert gone and 303 not in gone  # read as WGS84 the people sit ~500 m away
    i, j = divmod(gone[0], 100)
    assert np.hypot(i - 3, j - 3) * 100 > 400


def test_cell_table_declared_projected_or_degrees_is_checked(tmp_path):
    cells = tmp_path / "cells.csv"
    pd.DataFrame(
        {"lon_min": [121.40], "lat_min": [31.20], "lon_max": [121.41], "lat_max": [31.21],
         "population": [500]}
    ).to_csv(cells, index=False)  # fmt: skip
    with pytest.raises(ValueError, match="look like degrees"):
        load_population(cells, coords="EPSG:4547")
    x, y = convert_lonlat([121.40, 121.41], [31.20, 31.21], "wgs84", "EPSG:4549")
    metric = tmp_path / "metric.csv"
    pd.DataFrame(
        {"xmin": [x[0]], "ymin": [y[0]], "xmax": [x[1]], "ymax": [y[1]], "pop": [500]}
    ).to_csv(metric, index=False)
    with pytest.raises(ValueError, match="not degrees"):
        load_population(metric, coords="wgs84")
    gdf, rep = load_population(metric, coords="EPSG:4549")  # CGCS2000 GK zone 121E
    assert rep.n_loaded == 1 and gdf.crs.to_epsg() == 4326
    # the cell's corners are the projected ones: (121.40, 31.20) and (121.41, 31.21) exactly
    corners = gdf.geometry.iloc[0].exterior.coords
    assert pytest.approx(min(corners), abs=1e-7) == (121.40, 31.20)
    assert pytest.approx(max(corners), abs=1e-7) == (121.41, 31.21)
    swapped = tmp_path / "swapped.csv"
    swapped.write_text("lon,lat,population\n31.23,121.47,10\n31.24,121.48,10\n")
    with pytest.raises(ValueError, match="swapped"):
        load_population(swapped, coords="wgs84")


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_vector_files_use_their_crs_and_one_without_is_refused(tmp_path):
    gpkg = tmp_path / "cells.gpkg"
    cells = gpd.GeoDataFrame({"pop": [5.0]}, geometry=[box(121.40, 31.20, 121.41, 31.21)])
    cells.set_crs(4326).to_file(gpkg)
    gdf, _ = load_population(gpkg)  # its own CRS: no declaration needed
    assert gdf["pop"].sum() == 5.0 and gdf.crs.to_epsg() == 4326
    bare = tmp_path / "bare.shp"
    cells.to_file(bare)  # no .prj: no CRS
    with pytest.raises(ValueError, match="has no CRS") as exc:
        load_population(bare)
    _assert_lists_choices(str(exc.value))
    gdf, _ = load_population(bare, coords="gcj02")
    assert gdf.total_bounds[0] == pytest.approx(121.40 - 0.0045, abs=5e-4)  # shifted west


def _coverage(tmp_path, net, *extra):
    save_network(net, tmp_path / "grid.graphml")
    fac = tmp_path / "fac.csv"
    lon, lat = _node(net, 303)
    fac.write_text(f"名称,类型,lng,lat\n站,为老服务站,{lon:.7f},{lat:.7f}\n", encoding="utf-8")
    bnd = tmp_path / "area.geojson"
    lo, hi = net.lonlat.min(axis=0), net.lonlat.max(axis=0)
    gpd.GeoDataFrame({"name": ["网格"]}, geometry=[box(*lo, *hi)], crs=4326).to_file(bnd)
    return main(["coverage", "--network", str(tmp_path / "grid.graphml"), "--boundaries",
                 str(bnd), "--facilities", str(fac), "--coords", "wgs84", "--minutes", "5",
                 *extra, "--out", str(tmp_path / "out"), "--quiet"])  # fmt: skip


def test_cli_population_table_needs_population_coords(grid, tmp_path, capsys):
    pop = _gcj_point_csv(tmp_path / "pop.csv", grid)
    rc = _coverage(tmp_path, grid, "--population", str(pop))
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert "--population-coords" in err and "declare the coordinate system" in err
    _assert_lists_choices(err)
    assert not (tmp_path / "out" / "coverage.csv").exists()
    rc = _coverage(tmp_path, grid, "--population", str(pop), "--population-coords", "gcj02")
    assert rc == 0, capsys.readouterr().err
    table = pd.read_csv(tmp_path / "out" / "coverage.csv")
    assert table["population"].sum() == pytest.approx(1000.0)
    # the facility stands on node (3, 3), where the GCJ-02 point is: everybody covered
    assert table["population_share"].iloc[0] == pytest.approx(1.0)
    rc = _coverage(tmp_path, grid, "--population", str(pop), "--population-coords", "EPSG:4547")
    assert rc == 2 and "看起来是经纬度" in capsys.readouterr().err


def test_run_config_population_table_needs_coords(tmp_path):
    pop = tmp_path / "pop.csv"
    pop.write_text("lon,lat,population\n121.47,31.23,10\n")
    cfg = {"street": "网格街道", "osm_relation": 1,
           "population": {"source": "file", "file": str(pop)}}  # fmt: skip
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RunConfigError) as exc:
        load_run_config(path)
    assert exc.value.field == "population.coords"
    _assert_lists_choices(exc.value.reason)
    cfg["population"]["coords"] = "gcj02"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    assert load_run_config(path)["population"]["coords"] == "gcj02"
    cfg["population"]["coords"] = "mars-ish"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RunConfigError, match="unknown coordinate system"):
        load_run_config(path)


def test_study_population_table_needs_population_coords(grid, tmp_path):
    pop = _gcj_point_csv(tmp_path / "pop.csv", grid)
    lo, hi = grid.lonlat.min(axis=0), grid.lonlat.max(axis=0)
    area = gpd.GeoDataFrame({"name": ["网格"]}, geometry=[box(*lo, *hi)], crs=4326)
    lon, lat = _node(grid, 303)
    fac = gpd.GeoDataFrame(
        {"fid": ["f1"], "name": ["站"], "type": ["为老服务站"], "category": ["elder_care"]},
        geometry=gpd.points_from_xy([lon], [lat]), crs=4326,
    )  # fmt: skip
    with pytest.raises(InputError, match="declare the coordinate system"):
        Study(area, grid, fac, population=pop)
    study = Study(area, grid, fac, population=pop, population_coords="gcj02")
    by = dict(zip(study.demand["osmid"], study.demand["pop"], strict=True))
    assert by[303] == pytest.approx(1000.0)
