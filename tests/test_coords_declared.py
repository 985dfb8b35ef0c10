"""No silent coordinate system: every coordinate input names its system (issue 8 §1)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from lifecircle.analysis.siting import SitingProblem, demand_points, sites_from_lonlat
from lifecircle.geo.crs import convert_lonlat, require_coords
from lifecircle.geo.facilities import FacilitiesError, load_facilities
from lifecircle.geo.network import WalkNetwork, save_network
from lifecircle.scripts.cli import main

X0, Y0 = 350_000.0, 3_460_000.0  # central Shanghai in EPSG:32651
CHOICES = ("wgs84", "gcj02", "bd09", "EPSG")


def _street(tmp_path):
    G = nx.MultiDiGraph(crs="EPSG:32651")
    for k in range(11):
        G.add_node(k + 1, x=X0 + 100.0 * k, y=Y0)
    for k in range(10):
        G.add_edge(k + 1, k + 2, highway="residential")
    net = WalkNetwork.from_graph(G)
    save_network(net, tmp_path / "street.graphml")
    return net


def _site(tmp_path, *extra):
    return main(["site", "--network", str(tmp_path / "street.graphml"), "--extent", "network",
                 *extra, "--out", str(tmp_path / "out")])  # fmt: skip


def _assert_lists_choices(text):
    assert all(c in text for c in CHOICES), text


@pytest.mark.parametrize(
    "extra,option",
    [
        (["--facilities", "{fac}", "--new", "1"], "--coords"),
        (["--add", "{lonlat}"], "--add-coords"),
        (["--candidates", "{fac}", "--new", "1"], "--candidate-coords"),
    ],
)
def test_site_refuses_coordinates_without_system(tmp_path, capsys, extra, option):
    net = _street(tmp_path)
    lon, lat = net.lonlat[5]
    fac = tmp_path / "fac.csv"
    fac.write_text(f"名称,类型,经度,纬度\n站,为老服务站,{lon:.7f},{lat:.7f}\n", encoding="utf-8")
    extra = [a.format(fac=fac, lonlat=f"{lon:.7f},{lat:.7f}") for a in extra]
    rc = _site(tmp_path, *extra)
    err = capsys.readouterr().err
    assert rc == 2
    assert option in err and "declare the coordinate system" in err
    _assert_lists_choices(err)
    assert not (tmp_path / "out" / "sites.csv").exists()
    # declared, the same run works
    rc = _site(tmp_path, *extra, option, "wgs84")
    assert rc == 0, capsys.readouterr().err


def test_python_entry_points_require_the_system(tmp_path):
    net = _street(tmp_path)
    with pytest.raises(ValueError, match="declare the coordinate system") as exc:
        sites_from_lonlat([(121.4, 31.2)], None)
    _assert_lists_choices(str(exc.value))
    with pytest.raises(ValueError, match="declare the coordinate system"):
        require_coords("  ", "x")
    prob = SitingProblem.build(net, demand_points(net), minutes=(5,), profile="elderly")
    with pytest.raises(ValueError, match="declare the coordinate system"):
        prob.what_if([tuple(net.lonlat[10])], weight="pop")
    # pairs picked on Amap, declared: the site lands on node 11 and gains 5 nodes at 5 minutes
    glon, glat = convert_lonlat(*net.lonlat[10], "wgs84", "gcj02")
    wi = prob.what_if([(float(glon), float(glat))], coords="gcj02", weight="pop", polygons=False)
    assert wi.table.loc[0, "gain_pop"] == 3.0  # x = 800, 900, 1000 within 270 m of x = 1000


def test_projected_code_on_degree_values_says_degrees(tmp_path, capsys):
    path = tmp_path / "deg.csv"
    path.write_text("name,type,x,y\n甲,为老服务站,121.40,31.25\n乙,为老服务站,121.41,31.26\n")
    with pytest.raises(FacilitiesError, match="look like degrees"):
        load_facilities(path, "EPSG:4547")
    rc = main(["info", "--facilities", str(path), "--coords", "EPSG:4547"])
    assert rc == 2 and "看起来是经纬度" in capsys.readouterr().err
    # real projected values (CGCS2000 3-degree GK zone 121E, false easting 500 km) load
    x, y = convert_lonlat([121.40], [31.25], "wgs84", "EPSG:4549")
    proj = tmp_path / "proj.csv"
    proj.write_text(f"name,type,x,y\n甲,为老服务站,{x[0]:.2f},{y[0]:.2f}\n")
    gdf, rep = load_facilities(proj, "EPSG:4549")
    assert rep.n_loaded == 1
    assert gdf.geometry.iloc[0].x == pytest.approx(121.40, abs=1e-6)


def test_mostly_swapped_file_offers_swap_xy(tmp_path, capsys):
    rng = np.random.default_rng(1)
    lon = 121.40 + rng.uniform(0, 0.05, 6)
    lat = 31.20 + rng.uniform(0, 0.05, 6)
    rows = [f"站{k},为老服务站,{lat[k]:.6f},{lon[k]:.6f}" for k in range(5)]
    rows.append(f"站5,为老服务站,{lon[5]:.6f},{lat[5]:.6f}")  # one row the right way round
    path = tmp_path / "swapped.csv"
    path.write_text("名称,类型,lng,lat\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(FacilitiesError, match="--swap-xy") as exc:
        load_facilities(path, "wgs84")
    assert "6 行中有 5 行" in str(exc.value) and "swapped lat/lon" in str(exc.value)
    rc = main(["info", "--facilities", str(path), "--coords", "wgs84"])
    assert rc == 2 and "--swap-xy" in capsys.readouterr().err
    gdf, rep = load_facilities(path, "wgs84", swap_xy=True)
    assert rep.n_loaded == 5 and rep.n_rejected == 1  # the one row now swapped is reported
    assert gdf.geometry.x.to_numpy() == pytest.approx(lon[:5])
    rc = main(["info", "--facilities", str(path), "--coords", "wgs84", "--swap-xy"])
    assert rc == 0 and "载入 5 行, 拒绝 1 行" in capsys.readouterr().out
