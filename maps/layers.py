"""Map layers: display preparation and one folium overlay per thing a planner toggles.

Display preparation (:func:`to_display`) is the only place geometries change for drawing:

1. empty and missing geometries are set aside and reported;
2. geometries are simplified in the metric CRS (tolerance ``tolerance_m``, default 3 m, well below
   what a planner can see at street scale) and brought back to WGS84;
3. for an Amap basemap every coordinate is shifted WGS84 → GCJ-02 (Amap tiles are GCJ-02);
4. coordinates are rounded to 6 decimals (about 0.1 m).

Each overlay is a :class:`folium.GeoJson` holding only what the browser needs: the geometry, the
popup HTML (``_popup``, Chinese, escaped), a tooltip (``_tip``, plain text that
:func:`_geojson` escapes, as it does the layer name: Leaflet renders both as HTML) and for new
sites a per-feature icon (``_icon``). Every overlay carries ``lc_kind``, ``lc_category``, ``lc_minutes`` and
``lc_n_features`` attributes so that callers can list what was drawn (see
:func:`lifecircle.maps.builder.overlay_summary`).
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterable

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.utilities import JsCode

from ..geo.crs import gdf_from_wgs84, metric_crs_for
from ..geo.report import LoadReport
from ..settings import WGS84
from . import style as st

__all__ = [
    "BIND_FEATURE_JS",
    "blind_spot_layer",
    "boundary_layer",
    "corridor_layer",
    "facility_layers",
    "new_coverage_layer",
    "service_area_layers",
    "simplify_for_display",
    "site_layer",
    "to_display",
]

#: Binds each feature's popup, tooltip and (for sites) icon; runs once per feature in the browser.
BIND_FEATURE_JS = JsCode(
    """function(feature, layer) {
    var p = feature.properties || {};
    if (p._icon && layer.setIcon) {
        layer.setIcon(L.divIcon({html: p._icon, className: "lc-icon",
                                 iconSize: [30, 30], iconAnchor: [15, 15]}));
    }
    if (p._popup) { layer.bindPopup(p._popup, {maxWidth: 360}); }
    if (p._tip) { layer.bindTooltip(p._tip, {sticky: !layer.getLatLng}); }
}"""
)

#: Corridors are lines; their gateway points (nodes of a plan) are drawn as ringed dots.
CORRIDOR_STYLE_JS = JsCode(
    "function(feature) { return feature.geometry.type === 'Point' ? "
    + json.dumps(st.GATEWAY_STYLE)
    + " : (feature.properties._gap ? "
    + json.dumps(st.CORRIDOR_GAP_STYLE)
    + " : "
    + json.dumps(st.CORRIDOR_STYLE)
    + "); }"
)

#: Chinese labels of site columns (gain columns not listed keep their own name).
FIELD_LABELS = {
    "name": "名称",
    "method": "方法",
    "model": "模型",
    "gain": "覆盖增益",
    "objective": "目标值",
    "gap": "最优性差距",
}


# --------------------------------------------------------------------------- display geometry


def _require_crs(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError(f"{what}: expected a GeoDataFrame, got {type(gdf).__name__}")
    if gdf.crs is None:
        raise ValueError(f"{what}: GeoDataFrame has no CRS; set it (WGS84 expected)")
    return gdf.to_crs(WGS84) if not gdf.crs.equals(WGS84) else gdf


def _require_columns(gdf: gpd.GeoDataFrame, what: str, columns: Iterable[str]) -> None:
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        raise ValueError(
            f"{what}: missing column(s) {', '.join(map(repr, missing))}; "
            f"has {', '.join(map(str, gdf.columns))}"
        )


def _round_coords(geoms: np.ndarray, decimals: int) -> np.ndarray:
    return shapely.transform(geoms, lambda xy: np.round(xy, decimals))


def simplify_for_display(
    gdf: gpd.GeoDataFrame, tolerance_m: float = 3.0, decimals: int = 6
) -> gpd.GeoDataFrame:
    """Simplify geometries for drawing: metric simplification, back to WGS84, rounded.

    Parameters
    ----------
    gdf : GeoDataFrame
        Any CRS (must be set).
    tolerance_m : float
        Douglas–Peucker tolerance in metres, applied in the data's metric CRS
        (:func:`lifecircle.geo.crs.metric_crs_for`) with topology preserved. ``0`` skips it.
    decimals : int
        Decimals kept in the WGS84 coordinates (6 ≈ 0.1 m).

    Returns
    -------
    GeoDataFrame
        A copy in WGS84.
    """
    out = _require_crs(gdf, "simplify_for_display").copy()
    if len(out) == 0:
        return out
    if tolerance_m and tolerance_m > 0:
        metric = out.to_crs(metric_crs_for(out))
        metric = metric.set_geometry(metric.geometry.simplify(tolerance_m, preserve_topology=True))
        out = metric.to_crs(WGS84)
    geoms = _round_coords(out.geometry.values, decimals)
    return out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=WGS84))


def to_display(
    gdf: gpd.GeoDataFrame,
    system: str = "wgs84",
    tolerance_m: float = 3.0,
    decimals: int = 6,
    what: str = "layer",
    report: LoadReport | None = None,
) -> gpd.GeoDataFrame:
    """Prepare a layer for drawing (see the module docstring for the steps).

    Rows with missing or empty geometry are dropped and, when ``report`` is given, recorded
    there as rejections naming ``what`` and the 1-based row. Multi-points are split into points
    (one marker each). ``system`` is ``"wgs84"`` or ``"gcj02"`` (for Amap tiles).
    """
    gdf = _require_crs(gdf, what)
    geom = gdf.geometry
    bad = geom.isna().to_numpy() | geom.is_empty.to_numpy()
    if bad.any() and report is not None:
        for pos in np.flatnonzero(bad):
            report.reject(int(pos) + 1, "geometry", f"{what}: no geometry, not drawn")
    gdf = gdf.loc[~bad]
    if len(gdf) and (gdf.geom_type == "MultiPoint").any():
        gdf = gdf.explode(index_parts=False)
    # simplify in metric, then shift, then round (shifting after rounding would undo it)
    out = simplify_for_display(gdf, tolerance_m=tolerance_m, decimals=12)
    if system != "wgs84":
        out = gdf_from_wgs84(out, system)
    geoms = _round_coords(out.geometry.values, decimals)
    return out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=WGS84))


# --------------------------------------------------------------------------- helpers


def _fmt_int(value) -> str | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    try:
        return f"{round(float(value)):,}"
    except (TypeError, ValueError):
        return str(value)


def _fmt_num(value, digits: int = 2) -> str | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(v):
        return None
    if v.is_integer() and abs(v) >= 1:
        return f"{int(v):,}"
    return f"{v:,.{digits}f}"


def _fmt_minutes(minutes) -> str:
    m = float(minutes)
    return f"{int(m)}分钟" if m.is_integer() else f"{m:g}分钟"


def _fmt_length(metres: float) -> str:
    if not math.isfinite(metres):
        return ""
    return f"{metres / 1000:.2f} 公里" if round(metres) >= 1000 else f"{metres:.0f} 米"


def _fmt_area(m2: float) -> str:
    if m2 >= 1e6:
        return f"{m2 / 1e6:.2f} 平方公里"
    if m2 >= 1e4:
        return f"{m2 / 1e4:.1f} 公顷"
    return f"{m2:.0f} 平方米"


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    text = str(value).strip()
    return text or None


def _category_text(value, labels: dict[str, str] | None = None) -> str | None:
    """Chinese label of a category value (``elder_care`` → 为老服务)."""
    text = _text(value)
    if text is None:
        return None
    return (labels or {}).get(text) or st.category_style(text).label


def _metric_measure(gdf: gpd.GeoDataFrame, how: str) -> np.ndarray:
    if len(gdf) == 0:
        return np.zeros(0)
    metric = gdf.to_crs(metric_crs_for(gdf))
    return (metric.geometry.area if how == "area" else metric.geometry.length).to_numpy()


def _geojson(
    gdf: gpd.GeoDataFrame, props: dict[str, list], *, name: str, show: bool, **kwargs
) -> folium.GeoJson:
    """A GeoJson overlay from display-ready geometries and per-feature properties.

    ``props["_tip"]`` and ``name`` are plain text (names from planners' files) and are
    HTML-escaped here, the one place every tooltip and layer name passes: Leaflet's
    ``bindTooltip`` and layer control insert them as HTML. ``_popup`` and ``_icon`` are HTML
    built with escaped values (:func:`lifecircle.maps.style.popup_html`).
    """
    if "_tip" in props:
        props = {
            **props,
            "_tip": [None if t is None else html.escape(str(t)) for t in props["_tip"]],
        }
    name = html.escape(name)
    features = []
    geoms = gdf.geometry.values
    keys = list(props)
    for i, geom in enumerate(geoms):
        p = {k: props[k][i] for k in keys if props[k][i] is not None}
        features.append(
            {"type": "Feature", "properties": p, "geometry": shapely.geometry.mapping(geom)}
        )
    data = {"type": "FeatureCollection", "features": features}
    layer = folium.GeoJson(data, name=name, show=show, on_each_feature=BIND_FEATURE_JS, **kwargs)
    layer.lc_n_features = len(features)
    return layer


def _tag(layer: folium.GeoJson, kind: str, category=None, minutes=None) -> folium.GeoJson:
    layer.lc_kind = kind
    layer.lc_category = category
    layer.lc_minutes = minutes
    return layer


def _marker(svg: str, size: int) -> folium.Marker:
    half = size // 2
    return folium.Marker(
        icon=folium.DivIcon(
            html=svg, icon_size=(size, size), icon_anchor=(half, half), class_name="lc-icon"
        )
    )


def ordered_categories(values: Iterable) -> list[str]:
    """Categories in legend order: the known ones first (in :data:`CATEGORY_STYLES` order)."""
    present = list(dict.fromkeys(str(v) for v in values if v is not None and str(v) != "nan"))
    known = [c for c in st.CATEGORY_STYLES if c in present]
    return known + sorted(c for c in present if c not in st.CATEGORY_STYLES)


def category_styles(
    categories: Iterable[str], labels: dict[str, str] | None = None
) -> dict[str, st.CategoryStyle]:
    """A style per category, unknown ones numbered in order so that colours stay distinct."""
    labels = labels or {}
    out, extra = {}, 0
    for cat in categories:
        out[cat] = st.category_style(cat, extra, labels.get(cat))
        if cat not in st.CATEGORY_STYLES:
            extra += 1
    return out


# --------------------------------------------------------------------------- layers


def boundary_layer(
    gdf: gpd.GeoDataFrame,
    system: str = "wgs84",
    tolerance_m: float = 3.0,
    report: LoadReport | None = None,
    pane: str | None = None,
) -> folium.GeoJson:
    """Sub-district outlines (no fill, so clicks reach the layers below)."""
    wgs = _require_crs(gdf, "boundaries")
    area = _metric_measure(wgs.loc[~(wgs.geometry.isna() | wgs.geometry.is_empty)], "area")
    disp = to_display(wgs, system, tolerance_m, what="boundaries", report=report)
    names = [_text(v) or "边界" for v in disp["name"]] if "name" in disp else ["边界"] * len(disp)
    codes = list(disp["code"]) if "code" in disp else [None] * len(disp)
    popups = [
        st.popup_html(n, [("代码", _text(c)), ("面积", _fmt_area(a))])
        for n, c, a in zip(names, codes, area, strict=True)
    ]
    layer = _geojson(
        disp,
        {"_popup": popups, "_tip": names},
        name="街道边界",
        show=True,
        style=st.BOUNDARY_STYLE,
        pane=pane,
    )
    return _tag(layer, "boundaries")


def facility_layers(
    gdf: gpd.GeoDataFrame,
    system: str = "wgs84",
    styles: dict | None = None,
    report: LoadReport | None = None,
) -> list[folium.GeoJson]:
    """One overlay per facility category, each with its own icon; popups 名称/类型/地址."""
    wgs = _require_crs(gdf, "facilities")
    _require_columns(wgs, "facilities", ["category"])
    disp = to_display(wgs, system, 0.0, what="facilities", report=report)
    cats = ordered_categories(disp["category"])
    styles = styles or category_styles(cats)
    layers = []
    for cat in cats:
        sub = disp.loc[disp["category"].astype(str) == cat]
        sty = styles[cat]
        names = [_text(v) for v in sub.get("name", pd.Series([None] * len(sub)))]
        types = [_text(v) for v in sub.get("type", pd.Series([None] * len(sub)))]
        addrs = [_text(v) for v in sub.get("address", pd.Series([None] * len(sub)))]
        fids = [_text(v) for v in sub.get("fid", pd.Series([None] * len(sub)))]
        popups = [
            st.popup_html(
                n or f"{sty.label}设施",
                [
                    ("名称", n),
                    ("类型", t),
                    ("地址", a),
                    ("类别", sty.label),
                    ("编号", f),
                ],
            )
            for n, t, a, f in zip(names, types, addrs, fids, strict=True)
        ]
        tips = [n or sty.label for n in names]
        layer = _geojson(
            sub,
            {"_popup": popups, "_tip": tips},
            name=f"设施 · {sty.label} ({len(sub)})",
            show=True,
            marker=_marker(st.icon_svg(sty), 22),
        )
        layers.append(_tag(layer, "facilities", category=cat))
    return layers


#: Columns naming the facility of a service area ("全部" = the union of all); a GeoPackage
#: keeps ``fid`` for its own integer key, so writers may rename it.
_FID_COLUMNS = ("fid", "facility_fid", "facility_id", "facility")


def _service_union(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One geometry per (category, minutes): the ``fid == "全部"`` rows, else the union."""
    fid = next((c for c in _FID_COLUMNS if c in gdf.columns), None)
    if fid is not None:
        total = gdf.loc[gdf[fid].astype(str) == "全部"]
        keys = set(zip(total["category"].astype(str), total["minutes"].astype(float), strict=True))
        rest = gdf.loc[
            [
                (str(c), float(m)) not in keys
                for c, m in zip(gdf["category"], gdf["minutes"], strict=True)
            ]
        ]
        parts = [total[["category", "minutes", "geometry"]]]
    else:
        rest, parts = gdf, []
    if len(rest):
        rest = rest.assign(
            category=rest["category"].astype(str), minutes=rest["minutes"].astype(float)
        )
        parts.append(
            rest.dissolve(by=["category", "minutes"], as_index=False)[
                ["category", "minutes", "geometry"]
            ]
        )
    out = pd.concat(parts, ignore_index=True) if parts else gdf.iloc[:0]
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=gdf.crs)
    return out.assign(category=out["category"].astype(str), minutes=out["minutes"].astype(float))


def service_area_layers(
    gdf: gpd.GeoDataFrame,
    system: str = "wgs84",
    styles: dict | None = None,
    tolerance_m: float = 3.0,
    show_category: str | None = None,
    report: LoadReport | None = None,
    panes: dict | None = None,
) -> list[folium.GeoJson]:
    """One overlay per category × threshold, graded colours (closer is darker).

    ``show_category`` is switched on at load; the others are listed in the layer control, off.
    ``panes`` maps minutes to a pane name (panes stack larger thresholds under smaller ones).
    """
    wgs = _require_crs(gdf, "service_areas")
    _require_columns(wgs, "service_areas", ["category", "minutes"])
    disp0 = to_display(wgs, "wgs84", 0.0, decimals=12, what="service_areas", report=report)
    union = _service_union(disp0)
    area = _metric_measure(union, "area")
    union = union.assign(_area=area)
    disp = to_display(union, system, tolerance_m, what="service_areas")
    cats = ordered_categories(disp["category"])
    styles = styles or category_styles(cats)
    all_minutes = sorted(disp["minutes"].unique())
    layers = []
    for cat in cats:
        label = styles[cat].label
        for minutes in all_minutes:
            sub = disp.loc[(disp["category"] == cat) & (disp["minutes"] == minutes)]
            if len(sub) == 0:
                continue
            tip = f"{label} · {_fmt_minutes(minutes)}步行服务范围"
            popups = [
                st.popup_html(
                    tip,
                    [("类别", label), ("时间阈值", _fmt_minutes(minutes)), ("面积", _fmt_area(a))],
                )
                for a in sub["_area"]
            ]
            layer = _geojson(
                sub,
                {"_popup": popups, "_tip": [tip] * len(sub)},
                name=f"服务范围 · {label} · {_fmt_minutes(minutes)}",
                show=(cat == show_category),
                style=st.minutes_style(minutes, all_minutes),
                pane=(panes or {}).get(minutes),
            )
            layers.append(_tag(layer, "service_areas", category=cat, minutes=float(minutes)))
    return layers


def blind_spot_layer(
    gdf: gpd.GeoDataFrame,
    system: str = "wgs84",
    styles: dict | None = None,
    tolerance_m: float = 3.0,
    show_category: str | None = None,
    show_minutes: float | None = None,
    report: LoadReport | None = None,
    pane: str | None = None,
    demand_basis: str | None = None,
) -> list[folium.GeoJson]:
    """Blind spots, one overlay per category × threshold; popup 人口 and 60岁以上.

    Only ``show_category`` at ``show_minutes`` (default: the largest threshold) is on at load.
    With ``demand_basis="nodes"`` (no population known: the coverage table's ``demand_basis``;
    a ``demand_basis`` column of the layer itself wins) the counts are 路网节点, not 人口, and an
    unknown 60+ count is left out.
    """
    words = st.demand_words(st.demand_basis(gdf, default=demand_basis or "population"))
    wgs = _require_crs(gdf, "blind_spots")
    _require_columns(wgs, "blind_spots", ["minutes"])
    if "category" not in wgs.columns:
        wgs = wgs.assign(category="all")
    ok = ~(wgs.geometry.isna() | wgs.geometry.is_empty)
    area = np.full(len(wgs), np.nan)
    area[ok.to_numpy()] = _metric_measure(wgs.loc[ok], "area")
    wgs = wgs.assign(
        _area=area, category=wgs["category"].astype(str), minutes=wgs["minutes"].astype(float)
    )
    disp = to_display(wgs, system, tolerance_m, what="blind_spots", report=report)
    cats = ordered_categories(disp["category"])
    styles = styles or category_styles(cats)
    all_minutes = sorted(disp["minutes"].unique())
    if show_minutes is None and all_minutes:
        show_minutes = max(all_minutes)
    layers = []
    for cat in cats:
        label = "全部设施" if cat == "all" else styles[cat].label
        for minutes in all_minutes:
            sub = disp.loc[(disp["category"] == cat) & (disp["minutes"] == minutes)]
            if len(sub) == 0:
                continue
            pop = sub["population"] if "population" in sub else pd.Series([None] * len(sub))
            pop60 = sub["pop60"] if "pop60" in sub else pd.Series([None] * len(sub))
            bnd = sub["boundary"] if "boundary" in sub else pd.Series([None] * len(sub))
            title = f"服务盲区 · {label} · {_fmt_minutes(minutes)}"
            popups, tips = [], []
            for p, p60, b, a in zip(pop, pop60, bnd, sub["_area"], strict=True):
                popups.append(
                    st.popup_html(
                        title,
                        [
                            (words.noun, _fmt_int(p)),
                            ("60岁以上", _fmt_int(p60)),
                            ("街道", _text(b)),
                            ("面积", _fmt_area(a) if math.isfinite(a) else None),
                        ],
                    )
                )
                n = _fmt_int(p)
                if n is None:
                    tips.append("服务盲区")
                else:
                    tips.append(f"盲区 {words.count(n)}" if words.nodes else f"盲区 人口 {n}")
            layer = _geojson(
                sub,
                {"_popup": popups, "_tip": tips},
                name=f"服务盲区 · {label} · {_fmt_minutes(minutes)}",
                show=(cat in (show_category, "all") and minutes == show_minutes),
                style=st.BLIND_SPOT_STYLE,
                pane=pane,
            )
            layers.append(_tag(layer, "blind_spots", category=cat, minutes=float(minutes)))
    return layers


_GAIN = re.compile(
    r"^gain_(?P<what>pop60|pop|pp60|pp|population|share|nodes)(?:_(?P<m>[\d.]+)min)?$"
)
_GAIN_LABELS = {
    "pop": "新增覆盖人口",
    "population": "新增覆盖人口",
    "pop60": "新增覆盖60岁以上人口",
    "pp": "人口覆盖率提升",
    "share": "人口覆盖率提升",
    "pp60": "60岁以上覆盖率提升",
    "nodes": "新增覆盖路网节点",
}
#: The same when the demand is network nodes (no population known): no 人口 in the labels.
_GAIN_LABELS_NODES = {
    **_GAIN_LABELS,
    "pop": "新增覆盖路网节点",
    "population": "新增覆盖路网节点",
    "pp": "路网节点覆盖率提升",
    "share": "路网节点覆盖率提升",
}


def gain_label(column: str, demand_basis: str | None = None) -> str:
    """Chinese label of a siting output column (``gain_pop_15min`` → ``15分钟新增覆盖人口``).

    With ``demand_basis="nodes"`` people-counting gains are network nodes
    (``gain_pop_15min`` → ``15分钟新增覆盖路网节点``).
    """
    match = _GAIN.match(column)
    if match is None:
        return FIELD_LABELS.get(column, column)
    labels = _GAIN_LABELS_NODES if demand_basis == "nodes" else _GAIN_LABELS
    label = labels[match["what"]]
    return f"{_fmt_minutes(float(match['m']))}{label}" if match["m"] else label


def _gain_rows(row: pd.Series, demand_basis: str | None = None) -> list[tuple[str, object]]:
    """Popup rows for every gain column, the objective and the optimality gap."""
    rows = []
    for col, value in row.items():
        col = str(col)
        if not (col.startswith("gain") or col in ("objective", "gap")):
            continue
        if _fmt_num(value) is None:
            text = None
        elif col == "gap":
            text = f"{float(value):.2%}"
        elif (m := _GAIN.match(col)) and m["what"] in ("pp", "pp60"):
            text = f"{float(value):+.1f} 个百分点"
        elif (m := _GAIN.match(col)) and m["what"] == "share":
            text = f"{float(value):+.1%}"
        elif _GAIN.match(col):
            text = _fmt_int(value)
        else:
            text = _fmt_num(value)
        rows.append((gain_label(col, demand_basis), text))
    return rows


def site_layer(
    gdf: gpd.GeoDataFrame,
    system: str = "wgs84",
    proposed: bool = False,
    report: LoadReport | None = None,
    demand_basis: str | None = None,
) -> folium.GeoJson:
    """New sites as ranked gold stars; popup with each gain column and both coordinates.

    Gains count network nodes instead of people when ``demand_basis="nodes"`` or the sites'
    ``weight`` column says ``nodes``.
    """
    what = "proposed_sites" if proposed else "sites"
    basis = st.demand_basis(gdf, default=demand_basis or "population")
    wgs = _require_crs(gdf, what)
    ok = ~(wgs.geometry.isna() | wgs.geometry.is_empty)
    lon = np.full(len(wgs), np.nan)
    lat = np.full(len(wgs), np.nan)
    pts = wgs.geometry[ok].representative_point()
    lon[ok.to_numpy()], lat[ok.to_numpy()] = pts.x.to_numpy(), pts.y.to_numpy()
    if "lon_gcj02" not in wgs or "lat_gcj02" not in wgs:
        from ..geo.crs import wgs84_to_gcj02

        glon, glat = wgs84_to_gcj02(lon, lat)
        wgs = wgs.assign(lon_gcj02=glon, lat_gcj02=glat)
    wgs = wgs.assign(_lon=lon, _lat=lat)
    disp = to_display(wgs, system, 0.0, what=what, report=report)
    kind = "拟建站点" if proposed else "新增站点"
    colour = st.PROPOSED_SITE_COLOUR if proposed else st.SITE_COLOUR
    popups, tips, icons = [], [], []
    for i, (_, row) in enumerate(disp.iterrows()):
        rank = row.get("rank")
        rank_text = _fmt_num(rank) if rank is not None and _fmt_num(rank) else str(i + 1)
        name = _text(row.get("name"))
        title = f"{kind} {name}" if name else f"{kind} 第{rank_text}位"
        rows = [
            ("名称", name),
            ("编号", _text(row.get("site_id"))),
            ("方法", _text(row.get("method")) or _text(row.get("model"))),
            ("排序", rank_text),
        ]
        rows += _gain_rows(row, basis)
        rows += [
            ("经纬度 (WGS84)", f"{row['_lon']:.6f}, {row['_lat']:.6f}"),
            ("高德坐标 (GCJ-02)", f"{float(row['lon_gcj02']):.6f}, {float(row['lat_gcj02']):.6f}"),
        ]
        popups.append(st.popup_html(title, rows))
        tips.append(title)
        icons.append(st.site_icon_svg(rank_text, 30, colour))
    layer = _geojson(
        disp,
        {"_popup": popups, "_tip": tips, "_icon": icons},
        name=f"{kind} ({len(disp)})",
        show=True,
        marker=_marker(st.site_icon_svg("", 30, colour), 30),
    )
    return _tag(layer, "proposed_sites" if proposed else "sites")


def new_coverage_layer(
    gdf: gpd.GeoDataFrame,
    system: str = "wgs84",
    tolerance_m: float = 3.0,
    report: LoadReport | None = None,
    pane: str | None = None,
    demand_basis: str | None = None,
    category_labels: dict[str, str] | None = None,
    show_minutes: float | None = None,
) -> list[folium.GeoJson]:
    """Areas the new sites would newly cover (dashed gold), one overlay per threshold.

    Takes ``new_coverage`` of :mod:`lifecircle.analysis.siting` (``minutes``, ``area_ha``,
    ``gain_pop``, ``gain_pop60``, ``gain_pp`` ...); only one threshold is on at load: the one the
    siting used (``show_minutes``), else the largest.
    ``demand_basis="nodes"``: gains are worded as network nodes. Categories are shown by their
    Chinese label (``category_labels``, else the built-in one).
    """
    basis = st.demand_basis(gdf, default=demand_basis or "population")
    wgs = _require_crs(gdf, "new_coverage")
    if "minutes" not in wgs.columns:
        wgs = wgs.assign(minutes=np.nan)
    wgs = wgs.assign(minutes=pd.to_numeric(wgs["minutes"], errors="coerce"))
    disp = to_display(wgs, system, tolerance_m, what="new_coverage", report=report)
    values = sorted(disp["minutes"].dropna().unique())
    shown = values[-1] if values else None
    if show_minutes is not None and float(show_minutes) in [float(v) for v in values]:
        shown = float(show_minutes)
    groups = [(m, disp.loc[disp["minutes"] == m]) for m in values]
    if disp["minutes"].isna().any():
        groups.append((None, disp.loc[disp["minutes"].isna()]))
    layers = []
    for minutes, sub in groups:
        label = (
            f"新站点{_fmt_minutes(minutes)}服务范围" if minutes is not None else "新站点服务范围"
        )
        tips, popups = [], []
        for _, row in sub.iterrows():
            rank = _fmt_num(row.get("rank")) if row.get("rank") is not None else None
            area = _fmt_num(row.get("area_ha"), 1)
            rows = [
                ("站点排序", rank),
                ("类别", _category_text(row.get("category"), category_labels)),
                ("新增覆盖面积", f"{area} 公顷" if area else None),
            ]
            popups.append(st.popup_html(label, rows + _gain_rows(row, basis)))
            tips.append(label)
        name = f"新站点服务范围 · {_fmt_minutes(minutes)}" if minutes is not None else label
        layer = _geojson(
            sub,
            {"_popup": popups, "_tip": tips},
            name=name,
            show=minutes is None or minutes == shown,
            style=st.NEW_COVERAGE_STYLE,
            pane=pane,
        )
        layers.append(_tag(layer, "new_coverage", minutes=minutes))
    return layers


#: Chinese names of corridor kinds and part roles (see :mod:`lifecircle.analysis.corridors`).
CORRIDOR_KINDS = {"ring": "环线", "axis": "轴线", "themed": "主题街", "gateway": "门户节点"}
CORRIDOR_ROLES = {
    "road": "道路",
    "connection": "连接段",
    "link": "规划联通",
    "drawn": "手绘线路",
    "gateway": "门户节点",
}


def _merge_corridor_summary(lines: gpd.GeoDataFrame, summary: pd.DataFrame | None):
    """Add per-corridor figures (length, coverage role) to each part, prefixed ``all_``."""
    if summary is None or len(summary) == 0:
        return lines
    key = next(
        (
            k
            for k in ("corridor_id", "corridor", "name")
            if k in lines.columns and k in summary.columns
        ),
        None,
    )
    if key is None:
        return lines
    cols = [
        c
        for c in (
            "length_m",
            "pop",
            "pop60",
            "pop_share",
            "minutes",
            "status",
            "unmatched",
            "demand",
        )
        if c in summary.columns
    ]
    extra = summary.drop_duplicates(key).set_index(key)[cols].add_prefix("all_")
    return lines.join(extra, on=key)


def corridor_layer(
    gdf: gpd.GeoDataFrame,
    system: str = "wgs84",
    tolerance_m: float = 3.0,
    report: LoadReport | None = None,
    pane: str | None = None,
    summary: pd.DataFrame | None = None,
    demand_basis: str | None = None,
) -> folium.GeoJson:
    """Planned corridors: lines (and gateway points); popup 名称, 长度 and coverage role.

    Takes the ``lines`` of :func:`lifecircle.analysis.corridors.resolve_corridors` (one row per
    part: ``corridor``, ``kind``, ``theme``, ``part``, ``role``, ``length_m``, ``gap``) and,
    optionally, its ``summary`` (per corridor ``length_m``, ``pop``, ``pop60``, ``minutes``).
    Any line layer with a ``name`` works too; lengths missing from the data are measured in the
    metric CRS. Gaps are drawn dashed red. Coverage counts are 路网节点 when the summary's
    ``demand`` is ``nodes`` (or, without it, when ``demand_basis="nodes"``).
    """
    wgs = _require_crs(gdf, "corridors")
    ok = ~(wgs.geometry.isna() | wgs.geometry.is_empty)
    length = np.full(len(wgs), np.nan)
    length[ok.to_numpy()] = _metric_measure(wgs.loc[ok], "length")
    for col in ("length_m", "length"):
        if col in wgs.columns:
            given = pd.to_numeric(wgs[col], errors="coerce").to_numpy(dtype=float)
            length = np.where(np.isfinite(given), given, length)
            break
    wgs = _merge_corridor_summary(wgs.assign(_length=length), summary)
    disp = to_display(wgs, system, tolerance_m, what="corridors", report=report)
    popups, tips, gaps = [], [], []
    for _, row in disp.iterrows():
        name = _text(row.get("corridor")) or _text(row.get("name")) or "规划慢行道"
        is_point = row.geometry.geom_type == "Point"
        part = _text(row.get("part"))
        is_gap = (
            bool(row.get("gap"))
            if row.get("gap") is not None and row.get("gap") == row.get("gap")
            else False
        )
        minutes = row.get("all_minutes", row.get("minutes"))
        mins = _fmt_minutes(minutes) if _fmt_num(minutes) is not None else "5分钟"
        pop = row.get("all_pop", row.get("pop", row.get("pop_5min")))
        demand = _text(row.get("all_demand")) or demand_basis
        unit = st.demand_words(demand).unit
        total = None if is_point else row.get("all_length_m")
        rows: list[tuple[str, object]] = [
            ("类型", CORRIDOR_KINDS.get(str(row.get("kind")), _text(row.get("kind")))),
            ("主题", _text(row.get("theme"))),
            ("路段", part if part and part != name else None),
            ("作用", CORRIDOR_ROLES.get(str(row.get("role")), _text(row.get("role")))),
            (
                "本段长度" if total is not None else "长度",
                None if is_point else _fmt_length(row["_length"]),
            ),
            ("全线长度", _fmt_length(float(total)) if _fmt_num(total) else None),
            (f"{mins}步行范围", f"{_fmt_int(pop)} {unit}" if _fmt_int(pop) else None),
            ("其中60岁以上", _fmt_int(row.get("all_pop60", row.get("pop60")))),
            ("断点", "是（连接过长或经无名道路）" if is_gap else None),
            ("未匹配道路", _text(row.get("all_unmatched"))),
        ]
        popups.append(st.popup_html(name, rows))
        tips.append(name if is_point else f"{name} {_fmt_length(row['_length'])}")
        gaps.append(True if is_gap else None)
    layer = _geojson(
        disp,
        {"_popup": popups, "_tip": tips, "_gap": gaps},
        name=f"规划慢行道 ({len(disp)})",
        show=True,
        style=CORRIDOR_STYLE_JS,
        pane=pane,
        marker=folium.CircleMarker(radius=7),
    )
    layer.lc_has_gap = any(gaps)
    layer.lc_has_points = bool((disp.geom_type == "Point").any())
    return _tag(layer, "corridors")
