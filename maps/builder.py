"""Folium map of a sub-district's 15-minute life circle.

:func:`build_map` draws, each as an overlay that can be switched on and off in the layer
control: sub-district boundaries; facilities by category (own colour and icon, Chinese popups
名称/类型/地址); service areas per category and threshold in graded colours; blind spots with
their population (人口, 60岁以上); proposed and optimal new sites with their gain and the areas
they would add; planned corridors with their length. The map has a Chinese legend, a metric
scale bar and a full-screen button.

When no population is known (the coverage table's ``demand_basis == "nodes"``: every network
node weighs 1) counts are worded as 路网节点, never 人/人口: legend 路网节点覆盖率, blind-spot
popups 路网节点, site gains 新增覆盖路网节点.

Basemaps
--------
``"osm"`` / ``"positron"``
    OpenStreetMap or CartoDB Positron (the other one is offered as an alternative base layer;
    both are WGS84 like the data).
``"amap"``
    高德 (Amap) street tiles. They are drawn in GCJ-02, so every overlay is shifted
    WGS84 → GCJ-02 (:func:`lifecircle.geo.crs.gdf_from_wgs84`) and no WGS84 basemap is offered
    beside it (it would be 300–600 m off).
``"auto"``
    Amap when the data lie in China, else OpenStreetMap.
``None`` / ``"none"``
    No tiles at all: the map works with no network (with ``save_map(..., offline=True)``).

All inputs are GeoDataFrames with a CRS (WGS84 expected); geometries are simplified for display
(:func:`lifecircle.maps.layers.to_display`) so that a street's map stays well under 5 MB.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element, MacroElement
from folium.template import Template

from ..geo.crs import out_of_china
from ..geo.report import LoadReport
from ..settings import WGS84
from . import layers as ly
from . import style as st

__all__ = ["AMAP_TILES", "BASEMAPS", "build_map", "display_system", "overlay_summary"]

#: 高德 street tiles (GCJ-02), subdomains 1–4.
AMAP_TILES = (
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
    "&x={x}&y={y}&z={z}"
)

#: Basemap name → folium.TileLayer arguments.
BASEMAPS: dict[str, dict] = {
    "osm": {"tiles": "OpenStreetMap", "name": "OpenStreetMap"},
    "positron": {
        "tiles": "https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}{r}.png",
        "attr": "&copy; OpenStreetMap contributors &copy; CARTO",
        "name": "CartoDB Positron",
        "subdomains": "abcd",
        "max_zoom": 20,
    },
    "amap": {
        "tiles": AMAP_TILES,
        "attr": "高德地图",
        "name": "高德地图",
        "subdomains": "1234",
        "max_native_zoom": 18,
        "max_zoom": 20,
    },
}

# Pane z-indexes (Leaflet: overlayPane 400, markerPane 600): larger thresholds under smaller
# ones, then blind spots, new coverage, boundaries and corridors, whatever the toggling order.
_PANE_Z = {"blind": 420, "newcov": 425, "boundary": 430, "corridor": 440}

_CSS = f"""
<style>
.lc-icon {{ background: none; border: none; }}
.lc-popup {{ font-family: {st.FONT_STACK}; font-size: 13px; }}
.lc-popup table {{ border-collapse: collapse; margin-top: 4px; }}
.lc-popup th {{ text-align: left; padding: 1px 8px 1px 0; color: #555; font-weight: normal;
               white-space: nowrap; vertical-align: top; }}
.lc-popup td {{ padding: 1px 0; }}
.leaflet-container, .leaflet-control-layers {{ font-family: {st.FONT_STACK}; }}
.lc-legend {{ background: rgba(255,255,255,0.93); padding: 8px 10px; border-radius: 5px;
             box-shadow: 0 1px 5px rgba(0,0,0,0.4); font-size: 12px; line-height: 18px;
             max-height: 60vh; overflow-y: auto; color: #222; }}
.lc-legend h4 {{ margin: 0 0 4px; font-size: 14px; }}
.lc-legend h5 {{ margin: 6px 0 2px; font-size: 12px; color: #444; }}
.lc-legend .row {{ display: flex; align-items: center; gap: 6px; white-space: nowrap; }}
.lc-legend .sw {{ display: inline-block; width: 18px; height: 12px; border-radius: 2px; }}
.lc-legend table {{ border-collapse: collapse; }}
.lc-legend td, .lc-legend th {{ padding: 0 4px; text-align: right; }}
.lc-title {{ position: absolute; top: 10px; left: 50%; transform: translateX(-50%);
            z-index: 800; background: rgba(255,255,255,0.9); padding: 4px 14px;
            border-radius: 4px; font-size: 17px; font-weight: bold; pointer-events: none;
            box-shadow: 0 1px 4px rgba(0,0,0,0.3); font-family: {st.FONT_STACK}; }}
</style>
"""


class _HtmlControl(MacroElement):
    """A Leaflet control holding fixed HTML (legend), or a title over the map."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {%- if this.position == "title" %}
        (function() {
            var div = L.DomUtil.create("div", "lc-title", {{ this._parent.get_name() }}.getContainer());
            div.innerHTML = {{ this.html|tojson }};
        })();
        {%- else %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function(map) {
            var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
            div.innerHTML = {{ this.html|tojson }};
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {%- endif %}
        {% endmacro %}
        """
    )

    def __init__(self, html_text: str, position: str = "bottomright", css_class: str = "lc-legend"):
        super().__init__()
        self._name = "HtmlControl"
        self.html = html_text
        self.position = position
        self.css_class = css_class


class _MetricScale(MacroElement):
    """Leaflet's scale bar in metres only (folium's ``control_scale`` adds feet and miles)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false, metric: true, maxWidth: 160, position: "bottomleft"})
            .addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self):
        super().__init__()
        self._name = "MetricScale"


#: Most overlays for which the layer list starts unfolded (beyond that it is folded).
LAYER_LIST_OPEN_MAX = 16


def display_system(basemap: str | None, data: list[gpd.GeoDataFrame] | None = None) -> str:
    """Coordinate system overlays are drawn in for a basemap: ``"gcj02"`` for Amap."""
    return "gcj02" if _resolve_basemap(basemap, data) == "amap" else "wgs84"


def _resolve_basemap(basemap: str | None, data: list[gpd.GeoDataFrame] | None) -> str | None:
    if basemap is None or str(basemap).lower() in ("none", ""):
        return None
    name = str(basemap).lower()
    if name == "auto":
        bounds = [g.to_crs(WGS84).total_bounds for g in data or [] if g is not None and len(g)]
        bounds = [b for b in bounds if np.all(np.isfinite(b))]
        if not bounds:
            return "osm"
        b = np.array(bounds)
        lon = (b[:, 0].min() + b[:, 2].max()) / 2
        lat = (b[:, 1].min() + b[:, 3].max()) / 2
        return "osm" if bool(out_of_china(lon, lat)) else "amap"
    if name in ("gaode", "autonavi", "高德"):
        name = "amap"
    if name in ("openstreetmap",):
        name = "osm"
    if name in ("cartodb", "cartodbpositron", "cartodb positron"):
        name = "positron"
    if name not in BASEMAPS:
        raise ValueError(f"unknown basemap {basemap!r}: use osm, positron, amap, auto or none")
    return name


def _legend_html(
    styles: dict[str, st.CategoryStyle],
    facility_counts: dict[str, int],
    minutes: list[float],
    has: dict[str, bool],
    coverage: pd.DataFrame | None,
    words: st.DemandWords | None = None,
) -> str:
    parts = ["<h4>图例</h4>"]
    if facility_counts:
        parts.append("<h5>设施</h5>")
        for cat, n in facility_counts.items():
            sty = styles[cat]
            parts.append(
                f'<div class="row">{st.icon_svg(sty, 16)}<span>{html.escape(sty.label)} '
                f"({n})</span></div>"
            )
    if minutes:
        parts.append("<h5>步行服务范围</h5>")
        for m in minutes:
            col = st.minutes_style(m, minutes)["fillColor"]
            parts.append(
                f'<div class="row"><span class="sw" style="background:{col};opacity:0.6">'
                f"</span><span>{ly._fmt_minutes(m)}</span></div>"
            )
    rows = [
        ("blind_spots", "sw", st.BLIND_SPOT_STYLE["fillColor"], "服务盲区"),
        ("new_coverage", "sw", st.NEW_COVERAGE_STYLE["fillColor"], "新站点服务范围"),
        ("corridors", "line", st.CORRIDOR_STYLE["color"], "规划慢行道"),
        ("corridor_gaps", "dash", st.CORRIDOR_GAP_STYLE["color"], "慢行道断点"),
        ("gateways", "dot", st.GATEWAY_STYLE["fillColor"], "门户节点"),
        ("boundaries", "dash", st.BOUNDARY_STYLE["color"], "街道边界"),
    ]
    other = []
    for key, kind, col, label in rows:
        if not has.get(key):
            continue
        if kind == "sw":
            sym = f'<span class="sw" style="background:{col};opacity:0.6"></span>'
        elif kind == "dot":
            sym = (
                f'<span class="sw" style="width:12px;height:12px;border-radius:50%;'
                f'background:{col};border:2px solid {st.GATEWAY_STYLE["color"]}"></span>'
            )
        elif kind == "line":
            sym = f'<span class="sw" style="height:5px;background:{col}"></span>'
        else:
            sym = f'<span class="sw" style="height:0;border-top:2px dashed {col}"></span>'
        other.append(f'<div class="row">{sym}<span>{label}</span></div>')
    if has.get("sites"):
        other.append(
            f'<div class="row">{st.site_icon_svg("1", 16)}<span>新增站点 (优化选址)</span></div>'
        )
    if has.get("proposed_sites"):
        other.append(
            f'<div class="row">{st.site_icon_svg("", 16, st.PROPOSED_SITE_COLOUR)}'
            "<span>拟建站点</span></div>"
        )
    if other:
        parts.append("<h5>其他</h5>" + "".join(other))
    table = _coverage_summary(coverage, styles, words)
    if table:
        parts.append(table)
    return "".join(parts)


def _coverage_summary(
    coverage: pd.DataFrame | None, styles: dict, words: st.DemandWords | None = None
) -> str:
    """Population coverage share per category × threshold, over all boundaries.

    Headed 人口覆盖率, or 路网节点覆盖率 when the demand is network nodes (``words``, default: the
    table's own ``demand_basis``).
    """
    if coverage is None or len(coverage) == 0:
        return ""
    needed = {"category", "minutes"}
    if not needed.issubset(coverage.columns):
        return ""
    df = coverage.copy()
    if {"population", "population_covered"}.issubset(df.columns):
        g = df.groupby(["category", "minutes"])[["population", "population_covered"]].sum()
        share = g["population_covered"] / g["population"].where(g["population"] > 0)
    elif "population_share" in df.columns:
        share = df.groupby(["category", "minutes"])["population_share"].mean()
    else:
        return ""
    share = share.unstack("minutes")
    if share.empty:
        return ""
    head = "".join(f"<th>{ly._fmt_minutes(m)}</th>" for m in share.columns)
    body = []
    for cat in ly.ordered_categories(share.index):
        label = styles[cat].label if cat in styles else st.category_style(cat).label
        cells = "".join(
            f"<td>{v:.0%}</td>" if np.isfinite(v) else "<td>–</td>" for v in share.loc[cat]
        )
        body.append(f'<tr><th style="text-align:left">{html.escape(label)}</th>{cells}</tr>')
    words = words or st.demand_words(st.demand_basis(coverage))
    return f"<h5>{words.share}</h5><table><tr><th></th>{head}</tr>{''.join(body)}</table>"


def _yaml_labels() -> dict[str, str]:
    """Category labels of ``data/facilities/categories.yaml`` (shared with tables and reports)."""
    try:
        from ..geo.facilities import load_categories

        return dict(load_categories().labels)
    except (ImportError, OSError, ValueError):  # pragma: no cover - the file ships with the package
        return {}


def _siting_minutes(*site_tables) -> float | None:
    """The threshold the siting used (the sites' ``minutes`` column), if one."""
    for t in site_tables:
        if t is not None and len(t) and "minutes" in t.columns:
            m = pd.to_numeric(t["minutes"], errors="coerce").dropna().unique()
            if len(m) == 1:
                return float(m[0])
    return None


def _pane(m: folium.Map, name: str, z: int) -> str:
    folium.map.CustomPane(name, z_index=z, pointer_events=True).add_to(m)
    return name


def build_map(
    boundaries: gpd.GeoDataFrame | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    service_areas: gpd.GeoDataFrame | None = None,
    blind_spots: gpd.GeoDataFrame | None = None,
    sites: gpd.GeoDataFrame | None = None,
    proposed_sites: gpd.GeoDataFrame | None = None,
    new_coverage: gpd.GeoDataFrame | None = None,
    corridors: gpd.GeoDataFrame | None = None,
    *,
    coverage_table: pd.DataFrame | None = None,
    corridor_summary: pd.DataFrame | None = None,
    basemap: str | None = "auto",
    title: str | None = None,
    focus_category: str | None = None,
    category_labels: dict[str, str] | None = None,
    tolerance_m: float = 3.0,
    collapsed: bool | None = None,
    report: LoadReport | None = None,
    demand_basis: str | None = None,
) -> folium.Map:
    """Draw a life-circle map.

    Parameters
    ----------
    boundaries : GeoDataFrame, optional
        Sub-district polygons (``name``, ``code``).
    facilities : GeoDataFrame, optional
        Facility points (``category`` required; ``name``, ``type``, ``address``, ``fid`` shown).
    service_areas : GeoDataFrame, optional
        ``category``, ``minutes`` (and ``fid``: the ``"全部"`` rows are drawn when present,
        else the union per category and threshold).
    blind_spots : GeoDataFrame, optional
        ``category``, ``minutes``, ``population``, ``pop60``, ``boundary``.
    sites, proposed_sites : GeoDataFrame, optional
        Optimal and proposed (what-if) new sites: ``rank``, ``gain*`` columns, ``objective``,
        ``gap``, ``lon_gcj02``/``lat_gcj02``.
    new_coverage : GeoDataFrame, optional
        Service areas of the new sites.
    corridors : GeoDataFrame, optional
        Planned corridors: the ``lines`` of
        :func:`lifecircle.analysis.corridors.resolve_corridors` (``corridor``, ``kind``,
        ``theme``, ``part``, ``role``, ``length_m``, ``gap``; gateway points included), or any
        lines with a ``name``.
    coverage_table : DataFrame, optional
        The coverage table (``coverage.csv``); adds population coverage shares to the legend.
    corridor_summary : DataFrame, optional
        The corridors' ``summary`` (per corridor ``length_m``, ``pop``, ``pop60``, ``minutes``):
        adds total length and coverage role to the corridor popups.
    basemap : {"auto", "osm", "positron", "amap", None}
        See the module docstring. With ``"amap"`` all overlays are shifted to GCJ-02.
    title : str, optional
        Shown over the map and as the page title.
    focus_category : str, optional
        Category whose service areas and blind spots are on at load (default ``elder_care`` if
        present, else the first); the others are listed in the layer control, off.
    category_labels : dict, optional
        Chinese labels overriding those of ``data/facilities/categories.yaml`` (the default, so
        that map, tables and reports agree) and the built-in ones.
    tolerance_m : float
        Display simplification tolerance in metres.
    collapsed : bool, optional
        Start with the layer control folded; by default folded when the map has more than
        ``LAYER_LIST_OPEN_MAX`` overlays, so that a long layer list never covers the map.
    report : LoadReport, optional
        Receives a rejection for each feature that could not be drawn (no geometry).
    demand_basis : {"population", "nodes"}, optional
        What the counts are. Default: the coverage table's ``demand_basis`` column, else
        ``nodes`` when the sites' ``weight`` or the corridors' ``demand`` say so, else
        ``population``. With ``"nodes"`` legend and popups say 路网节点 instead of 人口.

    Returns
    -------
    folium.Map
    """
    layers = {
        "boundaries": boundaries,
        "facilities": facilities,
        "service_areas": service_areas,
        "blind_spots": blind_spots,
        "sites": sites,
        "proposed_sites": proposed_sites,
        "new_coverage": new_coverage,
        "corridors": corridors,
    }
    _check_layers(layers)
    if demand_basis is None:
        demand_basis = st.demand_basis(
            coverage_table, blind_spots, sites, proposed_sites, new_coverage, corridor_summary
        )
    words = st.demand_words(demand_basis)
    base = _resolve_basemap(basemap, [g for g in layers.values() if g is not None and len(g)])
    m = _new_map(title, base)
    styles, focus_category = _category_styles(layers, category_labels, focus_category)
    ctx = _Drawing(
        system="gcj02" if base == "amap" else "wgs84",
        styles=styles,
        tolerance_m=tolerance_m,
        focus=focus_category,
        report=report,
        basis=words.basis,
        panes=_minute_panes(m, layers),
        pane={k: _pane(m, f"lc_{k}", z) for k, z in _PANE_Z.items()},
    )
    overlays = _area_overlays(layers, ctx) + _plan_overlays(layers, ctx, corridor_summary)
    has = _add_overlays(m, overlays)
    _frame(m, overlays)
    facility_counts = {
        la.lc_category: la.lc_n_features for la in overlays if la.lc_kind == "facilities"
    }
    sa_minutes = sorted({la.lc_minutes for la in overlays if la.lc_kind == "service_areas"})
    legend = _legend_html(styles, facility_counts, sa_minutes, has, coverage_table, words)
    _add_controls(m, title, legend, collapsed)
    m.lc_system = ctx.system
    m.lc_basemap = base
    m.lc_demand_basis = words.basis
    return m


@dataclass
class _Drawing:
    """How every overlay of one map is drawn: coordinate system (``wgs84``/``gcj02``),
    category styles, display tolerance, focus category, the report of undrawable features,
    demand basis and the panes (per service-area threshold, and per layer kind)."""

    system: str
    styles: dict
    tolerance_m: float
    focus: str | None
    report: LoadReport | None
    basis: str
    panes: dict
    pane: dict


def _check_layers(layers: dict) -> None:
    """Every given layer is a GeoDataFrame with a CRS."""
    for key, gdf in layers.items():
        if gdf is not None and not isinstance(gdf, gpd.GeoDataFrame):
            raise TypeError(f"{key}: expected a GeoDataFrame, got {type(gdf).__name__}")
        if gdf is not None and gdf.crs is None:
            raise ValueError(f"{key}: GeoDataFrame has no CRS; set it (WGS84 expected)")


def _new_map(title: str | None, base: str | None) -> folium.Map:
    """An empty map with the page title, the stylesheet and the basemap (plus the other of
    osm/positron, off)."""
    m = folium.Map(tiles=None, control_scale=False, prefer_canvas=False, zoom_start=14)
    if title:
        m.get_root().title = html.escape(title)  # branca writes <title> unescaped
    m.get_root().header.add_child(Element(_CSS), name="lifecircle_css")
    if base is not None:
        folium.TileLayer(**BASEMAPS[base]).add_to(m)
        if base in ("osm", "positron"):
            other = "positron" if base == "osm" else "osm"
            folium.TileLayer(**BASEMAPS[other], show=False).add_to(m)
    return m


def _category_styles(layers: dict, category_labels, focus_category):
    """Styles of the categories drawn (shared by facilities, service areas, blind spots and
    legend) and the focus category (default ``elder_care`` when present, else the first)."""
    cats: list[str] = []
    for key in ("facilities", "service_areas", "blind_spots"):
        gdf = layers[key]
        if gdf is not None and "category" in gdf.columns:
            cats += ly.ordered_categories(gdf["category"])
    cats = ly.ordered_categories(cats)
    styles = ly.category_styles(cats, {**_yaml_labels(), **(category_labels or {})})
    if focus_category is None and cats:
        focus_category = "elder_care" if "elder_care" in cats else cats[0]
    return styles, focus_category


def _minute_panes(m: folium.Map, layers: dict) -> dict:
    """One pane per threshold, the longest walk lowest (short-walk areas stay on top)."""
    minutes: list[float] = []
    for key in ("service_areas", "blind_spots"):
        gdf = layers[key]
        if gdf is not None and "minutes" in gdf.columns and len(gdf):
            minutes += [float(v) for v in pd.to_numeric(gdf["minutes"], errors="coerce").dropna()]
    return {
        mins: _pane(m, f"lc_sa_{i}", 405 + i)
        for i, mins in enumerate(sorted(set(minutes), reverse=True))
    }


def _given(layers: dict, key: str):
    gdf = layers[key]
    return gdf if gdf is not None and len(gdf) else None


def _area_overlays(layers: dict, ctx: _Drawing) -> list:
    """Boundaries, facilities (one layer per category), service areas and blind spots."""
    overlays: list = []
    if (gdf := _given(layers, "boundaries")) is not None:
        overlays.append(
            ly.boundary_layer(gdf, ctx.system, ctx.tolerance_m, ctx.report, ctx.pane["boundary"])
        )
    if (gdf := _given(layers, "facilities")) is not None:
        overlays += ly.facility_layers(gdf, ctx.system, ctx.styles, ctx.report)
    if (gdf := _given(layers, "service_areas")) is not None:
        overlays += ly.service_area_layers(
            gdf, ctx.system, ctx.styles, ctx.tolerance_m, ctx.focus, ctx.report, ctx.panes
        )
    if (gdf := _given(layers, "blind_spots")) is not None:
        overlays += ly.blind_spot_layer(
            gdf,
            ctx.system,
            ctx.styles,
            ctx.tolerance_m,
            ctx.focus,
            None,
            ctx.report,
            ctx.pane["blind"],
            demand_basis=ctx.basis,
        )
    return overlays


def _plan_overlays(layers: dict, ctx: _Drawing, corridor_summary) -> list:
    """New coverage, corridors, proposed and optimal sites."""
    overlays: list = []
    if (gdf := _given(layers, "new_coverage")) is not None:
        overlays += ly.new_coverage_layer(
            gdf,
            ctx.system,
            ctx.tolerance_m,
            ctx.report,
            ctx.pane["newcov"],
            demand_basis=ctx.basis,
            category_labels={c: sty.label for c, sty in ctx.styles.items()},
            show_minutes=_siting_minutes(layers["sites"], layers["proposed_sites"]),
        )
    if (gdf := _given(layers, "corridors")) is not None:
        overlays.append(
            ly.corridor_layer(
                gdf,
                ctx.system,
                ctx.tolerance_m,
                ctx.report,
                ctx.pane["corridor"],
                summary=corridor_summary,
                demand_basis=ctx.basis,
            )
        )
    for key, proposed in (("proposed_sites", True), ("sites", False)):
        if (gdf := _given(layers, key)) is not None:
            overlays.append(
                ly.site_layer(
                    gdf, ctx.system, proposed=proposed, report=ctx.report, demand_basis=ctx.basis
                )
            )
    return overlays


def _add_overlays(m: folium.Map, overlays: list) -> dict[str, bool]:
    """Add the overlays that have features; which kinds (and corridor gaps, gateways) are
    drawn, for the legend."""
    has: dict[str, bool] = {}
    for layer in overlays:
        if layer.lc_n_features:
            layer.add_to(m)
            has[layer.lc_kind] = True
            has["corridor_gaps"] = has.get("corridor_gaps") or getattr(layer, "lc_has_gap", False)
            has["gateways"] = has.get("gateways") or getattr(layer, "lc_has_points", False)
    return has


def _frame(m: folium.Map, overlays: list) -> None:
    """Fit to the boundaries when given (facilities far away must not zoom the map out), else
    to everything drawn; in drawing coordinates."""
    framing = [la for la in overlays if la.lc_kind == "boundaries" and la.lc_n_features]
    bounds = _bounds(framing or overlays)
    if bounds is not None:
        m.fit_bounds(bounds)
        m.location = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
    else:
        m.location = [31.23, 121.47]


def _add_controls(m: folium.Map, title: str | None, legend: str, collapsed: bool | None) -> None:
    """Scale, full screen, title, legend and the layer control (folded for long lists)."""
    _MetricScale().add_to(m)
    folium.plugins.Fullscreen(
        position="topleft", title="全屏", title_cancel="退出全屏", force_separate_button=True
    ).add_to(m)
    if title:
        _HtmlControl(html.escape(title), position="title").add_to(m)
    _HtmlControl(legend, position="bottomleft").add_to(m)
    if collapsed is None:
        n_overlays = sum(
            isinstance(c, folium.map.Layer) and c.overlay and c.control
            for c in m._children.values()
        )
        collapsed = n_overlays > LAYER_LIST_OPEN_MAX
    folium.LayerControl(collapsed=collapsed, position="topright").add_to(m)


def _bounds(overlays: list[folium.GeoJson]) -> list[list[float]] | None:
    xs, ys = [], []
    for layer in overlays:
        for feat in layer.data.get("features", []):
            coords = np.asarray(_flatten(feat["geometry"]["coordinates"]), dtype=float)
            if coords.size:
                coords = coords.reshape(-1, 2)
                xs += [coords[:, 0].min(), coords[:, 0].max()]
                ys += [coords[:, 1].min(), coords[:, 1].max()]
    if not xs:
        return None
    return [[min(ys), min(xs)], [max(ys), max(xs)]]


def _flatten(coords) -> list:
    if len(coords) and isinstance(coords[0], int | float):
        return [coords[:2]]
    out = []
    for c in coords:
        out += _flatten(c)
    return out


def overlay_summary(m: folium.Map) -> pd.DataFrame:
    """What a map built by :func:`build_map` shows: one row per overlay in the layer control.

    Columns: ``name`` (as listed), ``kind`` (boundaries, facilities, service_areas,
    blind_spots, new_coverage, corridors, sites, proposed_sites), ``category``, ``minutes``,
    ``n_features``, ``show`` (on at load).
    """
    rows = []
    for child in m._children.values():
        if isinstance(child, folium.GeoJson) and hasattr(child, "lc_kind"):
            rows.append(
                {
                    "name": html.unescape(child.layer_name),
                    "kind": child.lc_kind,
                    "category": child.lc_category,
                    "minutes": child.lc_minutes,
                    "n_features": child.lc_n_features,
                    "show": bool(child.show),
                }
            )
    return pd.DataFrame(rows, columns=["name", "kind", "category", "minutes", "n_features", "show"])
