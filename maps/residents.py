"""Map layers of residents: 居民区 coloured by walking minutes, and 2SFCA scores of buildings."""

from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np

from ..vocabulary import category_label
from . import style as st
from .layers import _fmt_int, _fmt_num, _geojson, _tag, _text, to_display

__all__ = ["MINUTE_BANDS", "access_layer", "add_residents_layers", "compound_layer"]

#: Colours of walking minutes to the nearest facility: (upper minutes, colour, legend text).
MINUTE_BANDS = (
    (5.0, "#1a9850", "≤5分钟"),
    (10.0, "#a6d96a", "5–10分钟"),
    (15.0, "#fdae61", "10–15分钟"),
    (np.inf, "#d73027", ">15分钟"),
)
UNREACHED = "#969696"
_ACCESS_COLOURS = ("#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b")


def _minute_colour(t: float) -> str:
    if not np.isfinite(t):
        return UNREACHED
    return next(c for upper, c, _ in MINUTE_BANDS if t <= upper)


def _style(feature) -> dict:
    fill = feature["properties"].get("_fill", UNREACHED)
    return {"color": "#444444", "weight": 1, "fill": True, "fillColor": fill, "fillOpacity": 0.7}


def compound_layer(
    layer: gpd.GeoDataFrame, category: str = "elder_care", system: str = "wgs84"
) -> folium.GeoJson | None:
    """居民区 polygons coloured by walking minutes (nearest gate) to the nearest ``category``."""
    col = f"t_{category}"
    if layer is None or len(layer) == 0 or col not in layer:
        return None
    disp = to_display(layer, system, what="居民区")
    label = category_label(category)
    t = disp[col].to_numpy(dtype=float)
    popups, tips = [], []
    for row, minutes in zip(disp.to_dict("records"), t, strict=True):
        walk = f"{minutes:.1f} 分钟" if np.isfinite(minutes) else "不可达"
        popups.append(
            st.popup_html(
                _text(row.get("name")) or "居民区",
                [
                    (f"至最近{label}设施", walk),
                    ("人口（估算）", _fmt_int(row.get("population"))),
                    ("60岁以上（估算）", _fmt_int(row.get("pop60"))),
                    ("起点", _text(row.get("gate_basis"))),
                    ("可达性 2SFCA", _fmt_num(row.get("access"))),
                ],
            )
        )
        tips.append(f"{row.get('name')}：{walk}")
    legend = "、".join(f"{text}" for _, _, text in MINUTE_BANDS)
    gj = _geojson(
        disp,
        {"_popup": popups, "_tip": tips, "_fill": [_minute_colour(x) for x in t]},
        name=f"居民区 · 至最近{label}步行时间（{legend}；灰色不可达）",
        show=True,
        style_function=_style,
    )
    return _tag(gj, "compounds", category=category)


def access_layer(
    demand: gpd.GeoDataFrame, category: str, system: str = "wgs84"
) -> folium.GeoJson | None:
    """Buildings (demand points) coloured by their 2SFCA score (quintiles, darker = more)."""
    if demand is None or "access" not in demand or len(demand) == 0:
        return None
    disp = to_display(demand, system, what="buildings")
    a = disp["access"].to_numpy(dtype=float)
    ok = np.isfinite(a)
    edges = np.quantile(a[ok], [0.2, 0.4, 0.6, 0.8]) if ok.any() else np.zeros(4)
    idx = np.searchsorted(edges, np.nan_to_num(a), side="right")
    fills = [_ACCESS_COLOURS[i] if f else UNREACHED for i, f in zip(idx, ok, strict=True)]
    label = category_label(category)
    popups = [
        st.popup_html(
            "住宅建筑",
            [
                ("可达性 2SFCA（每千人容量）", _fmt_num(x)),
                ("增强型 E2SFCA", _fmt_num(e)),
                ("人口（估算）", _fmt_int(p)),
            ],
        )
        for x, e, p in zip(a, disp["access_e2sfca"], disp["pop"], strict=True)
    ]
    gj = _geojson(
        disp,
        {"_popup": popups, "_tip": [f"2SFCA {_fmt_num(x) or '—'}" for x in a], "_fill": fills},
        name=f"{label}可达性（2SFCA，颜色越深越好）",
        show=False,
        style_function=_style,
        marker=folium.CircleMarker(radius=4, fill=True),
    )
    return _tag(gj, "access", category=category)


def add_residents_layers(m: folium.Map, res, category: str, system: str = "wgs84") -> int:
    """Add the residents' layers of a run to a map; returns how many were added.

    The layer control is moved after the new layers: its script names every overlay, so they
    must be defined before it.
    """
    controls = [(k, c) for k, c in m._children.items() if isinstance(c, folium.LayerControl)]
    for key, _ in controls:
        del m._children[key]
    n = 0
    for layer in (
        compound_layer(getattr(res, "compound_layer", None), category, system),
        access_layer(
            getattr(res, "demand", None), getattr(res.access, "category", category), system
        )
        if getattr(res, "access", None) is not None
        else None,
    ):
        if layer is not None:
            layer.add_to(m)
            n += 1
    for key, control in controls:
        m._children[key] = control
    return n
