"""Silent repairs and drops made visible: what the loaders change is said, on real small files."""

from __future__ import annotations

import pytest
from pyproj import Transformer

from lifecircle.geo.network import load_network

X0, Y0 = 354_000.0, 3_456_000.0  # near 石泉路 (EPSG:32651)


def _lonlat(x, y):
    tr = Transformer.from_crs("EPSG:32651", "EPSG:4326", always_xy=True)
    return tr.transform(X0 + x, Y0 + y)


def write_osm(path, ways):
    """An OSM XML file: ``ways`` = [(tags, [(x, y), ...]), ...] in metres from the origin."""
    ids: dict = {}
    nodes, lines = [], []
    for tags, pts in ways:
        refs = []
        for p in pts:
            if p not in ids:
                ids[p] = 1000 + len(ids)
                lon, lat = _lonlat(*p)
                nodes.append(f'<node id="{ids[p]}" version="1" lat="{lat:.9f}" lon="{lon:.9f}"/>')
            refs.append(ids[p])
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        tg = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<way id="{5000 + len(lines)}" version="1">{nds}{tg}</way>')
    body = "\n".join(["<?xml version='1.0' encoding='UTF-8'?>", '<osm version="0.6">', *nodes,
                      *lines, "</osm>"])  # fmt: skip
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(("foot", "kept"), [("no", 3), ("yes", 4), (None, 4)])
def test_foot_no_is_honoured_for_osm_xml(tmp_path, foot, kept):
    side = {"highway": "residential", "name": "支路"}
    if foot:
        side["foot"] = foot
    path = write_osm(
        tmp_path / "foot.osm",
        [
            ({"highway": "residential", "name": "主路"}, [(0, 0), (100, 0), (200, 0)]),
            (side, [(100, 0), (100, 100)]),
        ],
    )
    net = load_network(path, simplify=False)
    assert net.n_nodes == kept
    assert net.total_length() == pytest.approx(200.0 if kept == 3 else 300.0, abs=0.5)
    if foot == "no":
        assert any("foot=no" in n for n in net.report.notes)
