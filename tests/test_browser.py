"""The offline map in a real browser: headless Chromium, no network, no console errors.

The test installs nothing: it uses Debian's ``chromium`` (CI installs it). Without it the test is
skipped, unless ``LIFECIRCLE_REQUIRE_BROWSER=1`` (set by CI), when it fails.

Two runs of the same offline HTML (drawn with no basemap, so nothing at all may be fetched):

1. an instrumented copy, with a Content-Security-Policy that forbids every network or file
   load (only inline code and ``data:`` images/fonts pass) and a probe that records policy
   violations, load and script errors and ``console.error`` calls, then walks the Leaflet map
   and writes what it found into the DOM, read back with ``--dump-dom``;
2. the file as written, with ``--screenshot``; one screenshot is kept as
   ``tests/artifacts/map.png``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from lifecircle.maps.builder import build_map, overlay_summary
from lifecircle.maps.offline import external_references, save_map

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).parent / "artifacts"
UTM = "EPSG:32651"
WINDOW = (1280, 900)

_CSP = (
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
    "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; font-src data:\">"
)
_HEAD_PROBE = """<script>
window.__lc = {errors: [], violations: [], console: []};
document.addEventListener("securitypolicyviolation", function (e) {
  __lc.violations.push(e.violatedDirective + " " + e.blockedURI);
});
window.addEventListener("error", function (e) {
  var t = e.target;
  if (t && t !== window && (t.src || t.href)) { __lc.errors.push("load failed: " + (t.src || t.href)); }
  else { __lc.errors.push(String(e.message) + " (line " + e.lineno + ")"); }
}, true);
window.addEventListener("unhandledrejection", function (e) { __lc.errors.push("rejection: " + e.reason); });
(function () {
  var original = console.error;
  console.error = function () {
    __lc.console.push(Array.prototype.join.call(arguments, " "));
    return original.apply(console, arguments);
  };
})();
</script>"""
_TAIL_PROBE = """<script>
window.addEventListener("load", function () { setTimeout(function () {
  var out = {errors: __lc.errors, violations: __lc.violations, console: __lc.console};
  var maps = [];
  for (var k in window) {
    try { if (window[k] instanceof L.Map) { maps.push(window[k]); } } catch (err) {}
  }
  out.n_maps = maps.length;
  var map = __MAP__, control = __CONTROL__;  // folium's names, filled in by the test
  out.control_ok = control instanceof L.Control.Layers && control._map === map;
  out.n_map_layers = Object.keys(map._layers).length;
  out.renderers = [];
  map.eachLayer(function (layer) {
    if (layer instanceof L.Renderer) { out.renderers.push(layer.options.pane); }
  });
  out.renderers.sort();
  out.overlays = []; out.bases = [];
  control._layers.forEach(function (o) {
    var entry = {name: o.name, on: map.hasLayer(o.layer)};
    if (o.overlay) { entry.n = o.layer.getLayers ? o.layer.getLayers().length : 1; out.overlays.push(entry); }
    else { out.bases.push(entry); }
  });
  out.resources = performance.getEntriesByType("resource").map(function (r) { return r.name; });
  out.paths = document.querySelectorAll("path.leaflet-interactive").length;
  out.markers = document.querySelectorAll(".leaflet-marker-icon").length;
  out.legend = (document.querySelector(".lc-legend") || {}).textContent || "";
  out.title = (document.querySelector(".lc-title") || {}).textContent || "";
  out.scale = (document.querySelector(".leaflet-control-scale-line") || {}).textContent || "";
  out.fullscreen = !!document.querySelector(".leaflet-control-zoom-fullscreen, .fullscreen-icon");
  var size = map.getSize();
  out.map_size = [size.x, size.y];
  out.viewport = [window.innerWidth, window.innerHeight];
  var pre = document.createElement("pre");
  pre.id = "lc-probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}, 300); });
</script>"""


def _chromium() -> str:
    for candidate in (
        os.environ.get("LIFECIRCLE_CHROMIUM"),
        "chromium",
        "chromium-browser",
        "/usr/bin/chromium",
    ):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    reason = "Debian chromium is not installed (apt-get install chromium)"
    if os.environ.get("LIFECIRCLE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}, but LIFECIRCLE_REQUIRE_BROWSER=1")
    pytest.skip(f"{reason}; CI sets LIFECIRCLE_REQUIRE_BROWSER=1 and runs this test")


def _run(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--mute-audio",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # belt and braces: no name resolves
        f"--user-data-dir={profile}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--virtual-time-budget=8000",
        "--enable-logging=stderr",
        "--v=0",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)


def _metric(geoms, **cols) -> gpd.GeoDataFrame:
    x0, y0 = 354_000.0, 3_456_000.0  # near 石泉路, Shanghai (EPSG:32651)
    moved = [shapely.affinity.translate(g, x0, y0) for g in geoms]
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries(moved, crs=UTM)).to_crs(4326)


def _street_map():
    boundaries = _metric([box(-1000, -1000, 1000, 1000)], name=["示例街道"])
    facilities = _metric(
        [Point(0, 0), Point(300, 200), Point(-400, 100), Point(200, -500)],
        name=["长者照护之家", "为老服务站", "健身苑点", "停车场"],
        type=["长者照护之家", "为老服务站", "健身苑点", "公共停车场"],
        category=["elder_care", "elder_care", "fitness", "car_parking"],
        address=["石泉路1号", None, None, None],
    )
    service_areas = _metric(
        [Point(0, 0).buffer(r) for r in (250, 450, 700)]
        + [Point(-400, 100).buffer(r) for r in (250, 450, 700)],
        category=["elder_care"] * 3 + ["fitness"] * 3,
        minutes=[5, 10, 15] * 2,
    )
    blind_spots = _metric(
        [box(600, 600, 900, 900), box(-950, -950, -750, -700)],
        category=["elder_care"] * 2,
        minutes=[15, 15],
        population=[1234, 88],
        pop60=[400, 20],
    )
    sites = _metric([Point(750, 750), Point(-850, -850)], rank=[1, 2], gain_pop=[1500, 800])
    corridors = _metric(
        [LineString([(-800, 0), (800, 30)]), LineString([(800, 30), (800, 400)]), Point(800, 30)],
        corridor=["铜川路慢行街", "铜川路慢行街", "门户节点"],
        kind=["axis", "axis", "gateway"],
        role=["road", "connection", "gateway"],
        gap=[False, True, False],
    )
    return build_map(
        boundaries=boundaries,
        facilities=facilities,
        service_areas=service_areas,
        blind_spots=blind_spots,
        sites=sites,
        corridors=corridors,
        basemap=None,
        title="示例街道 15分钟社区生活圈",
    )


def test_offline_map_in_headless_chromium(tmp_path):
    browser = _chromium()
    m = _street_map()
    summary = overlay_summary(m)
    page = save_map(m, tmp_path / "map.html", offline=True)
    html = page.read_text(encoding="utf-8")
    assert external_references(html) == []

    # the page's own policy admits its hashed scripts only; the instrumented copy swaps it for
    # the stricter-on-network policy above so that the probes may run
    assert html.count('http-equiv="Content-Security-Policy"') == 1
    probe_page = tmp_path / "probe.html"
    probe_html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    probe_html = probe_html.replace("<head>", "<head>\n" + _CSP + _HEAD_PROBE, 1)
    map_name = re.search(r"var (map_[0-9a-f]+) = L\.map\(", html).group(1)
    control_name = re.search(r"let (layer_control_[0-9a-f]+) = L\.control\.layers\(", html).group(1)
    tail = _TAIL_PROBE.replace("__MAP__", map_name).replace("__CONTROL__", control_name)
    probe_html = probe_html.replace("</html>", tail + "\n</html>", 1)
    assert probe_html.count("lc-probe") == 1 and _CSP in probe_html
    probe_page.write_text(probe_html, encoding="utf-8")

    run = _run(browser, tmp_path / "profile1", "--dump-dom", probe_page.as_uri())
    found = re.search(r'<pre id="lc-probe">(.*?)</pre>', run.stdout, re.S)
    assert found, f"probe did not report (rc {run.returncode}):\n{run.stderr[-3000:]}"
    out = json.loads(found.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))

    # nothing requested: no script, stylesheet, font or image from anywhere
    assert out["violations"] == []
    assert out["resources"] == []
    # no errors: scripts, loads, console
    assert out["errors"] == []
    assert out["console"] == []
    assert "Uncaught" not in run.stderr

    # one map, one layer control, every overlay of the builder with its features
    assert out["n_maps"] == 1 and out["control_ok"]
    assert out["bases"] == []  # basemap=None: no tiles at all
    assert [(o["name"], o["n"], o["on"]) for o in out["overlays"]] == [
        (r.name, r.n_features, r.show) for r in summary.itertuples()
    ]
    assert [o["n"] for o in out["overlays"]] == [1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 2, 3, 2]
    # layers on the map: each shown overlay and each of its features
    shown = summary.loc[summary["show"]]
    # (plus one SVG renderer per pane in use: 3 service-area panes, blind spots, boundary,
    # corridors, and Leaflet's default overlay pane)
    assert out["renderers"] == [
        "lc_blind",
        "lc_boundary",
        "lc_corridor",
        "lc_sa_0",
        "lc_sa_1",
        "lc_sa_2",
        "overlayPane",
    ]
    n_features = int(shown["n_features"].sum())
    assert out["n_map_layers"] - len(out["renderers"]) == len(shown) + n_features == 10 + 15
    # in the DOM: 4 facility icons + 2 site stars; 1 boundary + 3 service areas + 2 blind spots
    # + 2 corridor lines + 1 gateway dot drawn as SVG paths
    assert out["markers"] == 6
    assert out["paths"] == 9
    assert out["title"] == "示例街道 15分钟社区生活圈"
    for text in (
        "图例",
        "为老服务 (2)",
        "体育健身 (1)",
        "停车场 (1)",
        "5分钟",
        "服务盲区",
        "规划慢行道",
    ):
        assert text in out["legend"]
    assert re.fullmatch(r"\d+ (m|km)", out["scale"].strip()), out["scale"]  # metric only
    assert out["fullscreen"]
    # the map fills the page
    assert out["map_size"] == out["viewport"] and out["map_size"][0] == WINDOW[0]

    # the file as written: a screenshot that is not blank
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "map.png"
    shot.unlink(missing_ok=True)
    run = _run(browser, tmp_path / "profile2", f"--screenshot={shot}", page.as_uri())
    assert shot.exists(), run.stderr[-3000:]
    from PIL import Image

    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape == (WINDOW[1], WINDOW[0], 3)
    flat = img.reshape(-1, 3)
    background = np.array([0xDD, 0xDD, 0xDD])  # Leaflet's empty map
    drawn = np.any(np.abs(flat.astype(int) - background) > 8, axis=1).mean()
    assert drawn > 0.15, f"only {drawn:.1%} of the screenshot differs from the background"
    colours = np.unique(flat, axis=0)
    assert len(colours) > 200
    # the elder-care icon colour (#c2185b, opaque) is on screen
    assert np.any(np.all(flat == [0xC2, 0x18, 0x5B], axis=1))


def _visible_notice(browser, profile, page) -> bool:
    probe = page.with_name(page.stem + "_probe.html")
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page.read_text("utf-8"))
    html = html.replace(
        "</html>",
        '<script>window.addEventListener("load", function () { var n = document.getElementById('
        '"lc-offline-note"); var p = document.createElement("pre"); p.id = "lc-note"; '
        "p.textContent = n && n.offsetHeight > 0 ? n.textContent : 'none'; "
        "document.body.appendChild(p); });</script></html>",
        1,
    )
    probe.write_text(html, encoding="utf-8")
    run = _run(browser, profile, "--dump-dom", probe.as_uri())
    found = re.search(r'<pre id="lc-note">(.*?)</pre>', run.stdout, re.S)
    assert found, run.stderr[-3000:]
    return found.group(1)


def test_online_map_without_internet_says_open_the_offline_file(tmp_path):
    """map.html loads Leaflet from a CDN: offline it shows a line naming map_offline.html."""
    browser = _chromium()
    m = _street_map()
    online = save_map(m, tmp_path / "map.html")
    offline = save_map(m, tmp_path / "map_offline.html", offline=True)
    text = _visible_notice(browser, tmp_path / "p1", online)  # no name resolves: CDN unreachable
    assert "map_offline.html" in text and "需要联网" in text
    # where Leaflet is there (the self-contained file) the line is gone
    assert "lc-offline-note" not in offline.read_text(encoding="utf-8")
    assert _visible_notice(browser, tmp_path / "p2", offline) == "none"
    # the online page itself, once its assets load (here: served inline), hides the line
    from lifecircle.maps.offline import inline_assets

    loaded = tmp_path / "map_loaded.html"
    loaded.write_text(inline_assets(online.read_text(encoding="utf-8")), encoding="utf-8")
    assert "lc-offline-note" in loaded.read_text(encoding="utf-8")
    assert _visible_notice(browser, tmp_path / "p3", loaded) == "none"
