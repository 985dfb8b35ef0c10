"""Hostile names in a real browser: no script from input data ever runs on a map.

A map is built from data whose every text field (boundary, facility name/type/address, an
unknown category, site name, corridor name, the title) carries script: ``<img onerror>``,
``<svg onload>``, a closing ``</script>``, ``javascript:`` links. Headless Chromium (selenium 4,
Debian chromedriver, every host name unresolvable) opens the offline file twice: as written
(with its Content-Security-Policy) and with the policy removed, so that escaping alone is
proven too. Every feature is hovered and clicked with the mouse and, through Leaflet, has its
tooltip and popup opened; no alert dialog may open and no payload may run.
"""

from __future__ import annotations

import os
import re
import shutil

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from lifecircle.maps.builder import build_map
from lifecircle.maps.offline import save_map

pytestmark = pytest.mark.browser

UTM = "EPSG:32651"

#: Each payload sets window.__pwned and opens an alert if it ever runs.
PAYLOADS = [
    '"><img src=x onerror="window.__pwned=1;alert(1)">',
    '<svg onload="window.__pwned=2;alert(2)"></svg>',
    "</script><script>window.__pwned=3;alert(3)</script>",
    '<a href="javascript:window.__pwned=4;alert(4)" id=lc-bad>点我</a>',
    '\'><details open ontoggle="window.__pwned=5;alert(5)">',
]


def _driver():
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    reason = None
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        reason = "selenium is not installed (pip install -e '.[test]')"
    if reason is None and not (os.path.exists(chromium) and os.path.exists(driver_path)):
        reason = "Debian chromium and chromium-driver are not installed"
    if reason:
        if os.environ.get("LIFECIRCLE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason}, but LIFECIRCLE_REQUIRE_BROWSER=1")
        pytest.skip(reason)
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-component-update",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # network blocked: no name resolves
        "--proxy-server=http://127.0.0.1:9",
        "--window-size=1280,900",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    opts.set_capability("unhandledPromptBehavior", "ignore")
    return webdriver.Chrome(service=Service(driver_path), options=opts)


def _metric(geoms, **cols) -> gpd.GeoDataFrame:
    x0, y0 = 354_000.0, 3_456_000.0
    moved = [shapely.affinity.translate(g, x0, y0) for g in geoms]
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries(moved, crs=UTM)).to_crs(4326)


def _hostile_map():
    p = PAYLOADS
    boundaries = _metric([box(-1000, -1000, 1000, 1000)], name=[p[0]], code=[p[1]])
    facilities = _metric(
        [Point(-600 + 250 * i, 100 * (i % 3)) for i in range(5)],
        name=p,
        type=list(reversed(p)),
        address=p[2:] + p[:2],
        category=["elder_care", "elder_care", p[3], "fitness", p[4]],
    )
    sites = _metric([Point(750, 750), Point(-850, -850)], rank=[1, 2], gain_pop=[10, 5], name=p[:2])
    corridors = _metric(
        [LineString([(-800, -300), (800, -270)]), Point(800, -270)],
        corridor=[p[2], p[4]],
        kind=["axis", p[0]],
        role=[p[1], "gateway"],
    )
    blind = _metric([box(600, 600, 900, 900)], category=[p[3]], minutes=[15], population=[5])
    return build_map(
        boundaries=boundaries,
        facilities=facilities,
        sites=sites,
        corridors=corridors,
        blind_spots=blind,
        basemap=None,
        title=p[0] + p[2],
        category_labels={"fitness": p[1]},
    )


#: Turns every overlay on (blind spots start hidden), as a planner ticking the layer control.
_SHOW_ALL = """
var control = __CONTROL__, map = control._map;  // folium's name, filled in by the test
control._layers.forEach(function (o) { if (!map.hasLayer(o.layer)) { map.addLayer(o.layer); } });
return control._layers.length;
"""

_OPEN_ALL = """
var map = null;
for (var k in window) { try { if (window[k] instanceof L.Map) { map = window[k]; } } catch (e) {} }
var n = 0;
map.eachLayer(function (layer) {
  if (layer.getTooltip && layer.getTooltip()) { layer.openTooltip(); n++; }
  if (layer.getPopup && layer.getPopup()) { layer.openPopup(); n++; }
});
document.querySelectorAll(".leaflet-control-layers").forEach(function (c) {
  c.classList.add("leaflet-control-layers-expanded");
});
return n;
"""


def _no_alert(driver) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    try:
        alert = driver.switch_to.alert
    except NoAlertPresentException:
        return
    text = alert.text
    alert.dismiss()
    pytest.fail(f"a script from the data ran: alert({text})")


def _poke_everything(driver) -> int:
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.action_chains import ActionChains

    poked = 0
    selector = "path.leaflet-interactive, .leaflet-marker-icon"
    for i in range(len(driver.find_elements("css selector", selector))):
        elements = driver.find_elements("css selector", selector)
        if i >= len(elements):
            break
        try:
            ActionChains(driver).move_to_element(elements[i]).pause(0.05).click().perform()
            poked += 1
        except WebDriverException:  # covered by another feature: opened through Leaflet below
            pass
        _no_alert(driver)
    opened = driver.execute_script(_OPEN_ALL)
    _no_alert(driver)
    bad = driver.find_elements("id", "lc-bad")
    for link in bad:  # an injected link would have become a real element: follow it
        driver.execute_script("arguments[0].click()", link)
        _no_alert(driver)
    assert bad == [], "a name became a live link"
    return poked + opened


@pytest.mark.parametrize("with_csp", [True, False], ids=["as-written", "policy-removed"])
def test_hostile_names_never_run(tmp_path, with_csp):
    driver = _driver()
    page = save_map(_hostile_map(), tmp_path / "map.html", offline=True)
    html = page.read_text(encoding="utf-8")
    assert html.count('http-equiv="Content-Security-Policy"') == 1
    assert "'unsafe-inline'" not in re.search(r"script-src[^;]*", html).group(0)
    if not with_csp:
        html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
        page.write_text(html, encoding="utf-8")
    try:
        driver.get(page.as_uri())
        _no_alert(driver)
        assert driver.execute_script("return typeof L !== 'undefined'"), "Leaflet did not load"
        control = re.search(r"let (layer_control_[0-9a-f]+) = L\.control\.layers\(", html)
        assert driver.execute_script(_SHOW_ALL.replace("__CONTROL__", control.group(1))) == 8
        features = driver.execute_script(
            "return document.querySelectorAll('path.leaflet-interactive, .leaflet-marker-icon')"
            ".length"
        )
        # 1 boundary + 1 blind spot + 1 corridor line + 1 gateway dot as paths; 5 facility icons
        # + 2 site stars as markers
        assert features == 11
        assert _poke_everything(driver) >= 2 * 11
        assert driver.execute_script("return window.__pwned || null") is None
        # the payloads are shown as text: in the title, tooltips, popups and layer names
        text = driver.find_element("tag name", "body").text
        assert PAYLOADS[0] in text and PAYLOADS[2] in text
        assert driver.title == PAYLOADS[0] + PAYLOADS[2]
        assert driver.find_elements("css selector", "img[src='x'], svg[onload], details") == []
        logs = [e["message"] for e in driver.get_log("browser")]
        if with_csp:  # the policy admits every script the page needs
            assert [m for m in logs if "Content Security Policy" in m] == []
        assert [m for m in logs if "Uncaught" in m] == []
    finally:
        driver.quit()


def test_online_map_has_a_policy_and_hostile_names_never_run(tmp_path):
    """The online map.html (assets on CDNs) carries a CSP too: only its hashed inline scripts
    and folium's CDN files, by exact URL. With the network blocked Leaflet cannot load; the
    page still opens without a dialog, its inline scripts run (the policy admits them: no CSP
    report, and the map script fails only for want of Leaflet) and the offline notice shows."""
    page = save_map(_hostile_map(), tmp_path / "map.html")
    html = page.read_text(encoding="utf-8")
    assert html.count('http-equiv="Content-Security-Policy"') == 1
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    script_src = re.search(r"script-src ([^;]*)", policy).group(1).split()
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js" in script_src
    assert not any(s.rstrip("/").count("/") < 3 and s.startswith("http") for s in script_src)
    linked = re.findall(r'<script src="([^"]+)"', html)
    assert linked and set(linked) <= set(script_src)  # every CDN script, by exact URL
    inline = [s for s in script_src if s.startswith("'sha256-")]
    assert len(inline) == len(re.findall(r"<script>", html))  # every inline script hashed
    driver = _driver()
    try:
        driver.get(page.as_uri())
        _no_alert(driver)
        assert driver.execute_script("return typeof L") == "undefined"  # network blocked
        assert driver.find_element("id", "lc-offline-note").is_displayed()
        assert driver.execute_script("return window.__pwned || null") is None
        assert driver.title == PAYLOADS[0] + PAYLOADS[2]
        assert driver.find_elements("css selector", "img[src='x'], svg[onload], details") == []
        logs = [e["message"] for e in driver.get_log("browser")]
        assert [m for m in logs if "Content Security Policy" in m] == []
        assert any("L is not defined" in m for m in logs)  # folium's inline script did run
    finally:
        driver.quit()
