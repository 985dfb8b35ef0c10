"""Map styling: Chinese labels, colours and icons, in one place.

Every symbol on a lifecircle map is drawn from this module, so that the map, its legend and the
report charts agree. Icons are inline SVG (a shape in the category colour with a one-character
Chinese glyph in it): no icon font and no image is fetched from anywhere, so a map exported with
``offline=True`` needs nothing from the network.

Colours
-------
Service areas use graded blues (5 min darkest, 15 min lightest); blind spots red; planned
corridors orange; new sites gold stars. Facility categories each have their own colour and
shape (:data:`CATEGORY_STYLES`); unknown categories get colours from :data:`EXTRA_COLOURS`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from ..vocabulary import DemandWords, demand_basis, demand_words

__all__ = [
    "BLIND_SPOT_STYLE",
    "BOUNDARY_STYLE",
    "CATEGORY_STYLES",
    "CORRIDOR_GAP_STYLE",
    "CORRIDOR_STYLE",
    "FONT_STACK",
    "GATEWAY_STYLE",
    "NEW_COVERAGE_STYLE",
    "CategoryStyle",
    "DemandWords",
    "category_style",
    "demand_basis",
    "demand_words",
    "icon_svg",
    "minutes_style",
    "popup_html",
    "site_icon_svg",
]

#: System fonts only (nothing is downloaded); CJK faces first.
FONT_STACK = (
    '"PingFang SC","Microsoft YaHei","Noto Sans CJK SC","Source Han Sans SC",'
    '"WenQuanYi Micro Hei","Hiragino Sans GB",SimHei,"Helvetica Neue",Arial,sans-serif'
)


@dataclass(frozen=True)
class CategoryStyle:
    """How one facility category is drawn.

    Attributes
    ----------
    label : str
        Chinese name shown in the legend, layer list and popups.
    colour : str
        Fill colour of the icon (hex).
    shape : str
        ``circle``, ``square``, ``diamond``, ``triangle``, ``hexagon`` or ``pentagon``.
    glyph : str
        One character drawn inside the icon.
    """

    label: str
    colour: str
    shape: str
    glyph: str


#: Known facility categories (the ``category`` column of the facilities schema).
CATEGORY_STYLES: dict[str, CategoryStyle] = {
    "elder_care": CategoryStyle("为老服务", "#c2185b", "circle", "老"),
    "fitness": CategoryStyle("健身", "#2e7d32", "square", "健"),
    "car_parking": CategoryStyle("停车场", "#1565c0", "square", "P"),
    "bike_parking": CategoryStyle("非机动车停放", "#0097a7", "square", "非"),
    "charging": CategoryStyle("充电桩", "#f9a825", "diamond", "电"),
    "health": CategoryStyle("医疗卫生", "#6a1b9a", "diamond", "医"),
    "culture": CategoryStyle("文化", "#ef6c00", "hexagon", "文"),
    "market": CategoryStyle("菜场商业", "#795548", "triangle", "市"),
    "education": CategoryStyle("教育", "#00838f", "pentagon", "教"),
    "park": CategoryStyle("公园绿地", "#558b2f", "hexagon", "园"),
    "community": CategoryStyle("社区服务", "#ad1457", "pentagon", "社"),
    "other": CategoryStyle("其他", "#546e7a", "circle", "其"),
}

#: Colours for categories not in :data:`CATEGORY_STYLES`, taken in order.
EXTRA_COLOURS = ("#8e24aa", "#00897b", "#6d4c41", "#3949ab", "#c0ca33", "#5d4037", "#d81b60")
_SHAPES = ("circle", "square", "diamond", "triangle", "hexagon", "pentagon")

#: Graded service-area colours by threshold (minutes): darker is closer.
_MINUTE_COLOURS = {5: "#08519c", 10: "#3182bd", 15: "#9ecae1"}
_MINUTE_FALLBACK = ("#08306b", "#08519c", "#2171b5", "#4292c6", "#6baed6", "#9ecae1", "#c6dbef")

BOUNDARY_STYLE = {"color": "#222222", "weight": 2.5, "dashArray": "8 5", "fill": False}
BLIND_SPOT_STYLE = {
    "color": "#b10026",
    "weight": 1,
    "fillColor": "#e31a1c",
    "fillOpacity": 0.45,
    "opacity": 0.9,
}
NEW_COVERAGE_STYLE = {
    "color": "#b8860b",
    "weight": 2,
    "dashArray": "6 4",
    "fillColor": "#ffd700",
    "fillOpacity": 0.15,
}
CORRIDOR_STYLE = {"color": "#ff6f00", "weight": 5, "opacity": 0.9}
CORRIDOR_GAP_STYLE = {"color": "#d50000", "weight": 4, "opacity": 0.9, "dashArray": "4 6"}
GATEWAY_STYLE = {
    "color": "#5d4037",
    "weight": 2,
    "fill": True,
    "fillColor": "#ff6f00",
    "fillOpacity": 1.0,
    "radius": 7,
}
SITE_COLOUR = "#ffd700"
PROPOSED_SITE_COLOUR = "#ffb300"


def category_style(category: str, index: int = 0, label: str | None = None) -> CategoryStyle:
    """Style of a facility category; unknown ones get a colour and shape by ``index``.

    Parameters
    ----------
    category : str
        The ``category`` value (``elder_care``, ``fitness``, ...).
    index : int
        Position of the category among the unknown ones on this map (picks colour and shape).
    label : str, optional
        Chinese label overriding the built-in one (known categories keep their glyph).
    """
    known = CATEGORY_STYLES.get(str(category))
    if known is not None:
        if label:
            return CategoryStyle(label, known.colour, known.shape, known.glyph)
        return known
    text = label or str(category)
    return CategoryStyle(
        text,
        EXTRA_COLOURS[index % len(EXTRA_COLOURS)],
        _SHAPES[index % len(_SHAPES)],
        text[:1].upper() or "?",
    )


def minutes_style(minutes: float, all_minutes: list[float] | None = None) -> dict:
    """Leaflet path style of a service area of ``minutes``: graded blues, closer is darker."""
    key = int(minutes) if float(minutes).is_integer() else minutes
    colour = _MINUTE_COLOURS.get(key)
    if colour is None:
        ordered = sorted(set(all_minutes or [minutes]))
        rank = ordered.index(minutes) if minutes in ordered else 0
        step = max(1, len(_MINUTE_FALLBACK) // max(1, len(ordered)))
        colour = _MINUTE_FALLBACK[min(rank * step, len(_MINUTE_FALLBACK) - 1)]
    return {"color": colour, "weight": 1, "opacity": 0.8, "fillColor": colour, "fillOpacity": 0.3}


def _shape_path(shape: str, size: int) -> str:
    s = size
    h = s / 2
    if shape == "circle":
        return f'<circle cx="{h}" cy="{h}" r="{h - 1.5}"'
    if shape == "square":
        return f'<rect x="1.5" y="1.5" width="{s - 3}" height="{s - 3}" rx="3"'
    if shape == "diamond":
        return f'<polygon points="{h},1 {s - 1},{h} {h},{s - 1} 1,{h}"'
    if shape == "triangle":
        return f'<polygon points="{h},1 {s - 1},{s - 2} 1,{s - 2}"'
    if shape == "hexagon":
        q = s / 4
        return (
            f'<polygon points="{q},1.5 {s - q},1.5 {s - 1},{h} {s - q},{s - 1.5} '
            f'{q},{s - 1.5} 1,{h}"'
        )
    if shape == "pentagon":
        return (
            f'<polygon points="{h},1 {s - 1},{s * 0.4:.1f} {s * 0.8:.1f},{s - 1} '
            f'{s * 0.2:.1f},{s - 1} 1,{s * 0.4:.1f}"'
        )
    raise ValueError(f"unknown icon shape {shape!r}")


def icon_svg(style: CategoryStyle, size: int = 22) -> str:
    """Inline SVG of a category icon: its shape in its colour with the glyph in white."""
    y = size / 2 + (size * 0.22 if style.shape != "triangle" else size * 0.3)
    font = max(8, int(size * (0.5 if style.shape != "triangle" else 0.42)))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 {size} {size}">'
        f'{_shape_path(style.shape, size)} fill="{style.colour}" stroke="#ffffff" '
        f'stroke-width="1.5"/>'
        f'<text x="{size / 2}" y="{y:.1f}" text-anchor="middle" font-size="{font}" '
        f'font-weight="bold" fill="#ffffff" font-family=\'{FONT_STACK}\'>'
        f"{html.escape(style.glyph)}</text></svg>"
    )


def site_icon_svg(label: str = "", size: int = 30, colour: str = SITE_COLOUR) -> str:
    """Inline SVG star for a new site, with its rank written in it."""
    import math

    c = size / 2
    r_out, r_in = c - 1, (c - 1) * 0.5
    pts = []
    for i in range(10):
        r = r_out if i % 2 == 0 else r_in
        a = -math.pi / 2 + i * math.pi / 5
        pts.append(f"{c + r * math.cos(a):.1f},{c + r * math.sin(a):.1f}")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 {size} {size}"><polygon points="{" ".join(pts)}" fill="{colour}" '
        f'stroke="#5d4037" stroke-width="1.5"/>'
        f'<text x="{c}" y="{c + size * 0.15:.1f}" text-anchor="middle" '
        f'font-size="{int(size * 0.33)}" font-weight="bold" fill="#3e2723" '
        f"font-family='{FONT_STACK}'>{html.escape(label)}</text></svg>"
    )


def popup_html(title: str, rows: list[tuple[str, object]]) -> str:
    """A small Chinese popup: a bold title and a two-column table; empty values are left out.

    Values are HTML-escaped (names come from planners' files).
    """
    cells = []
    for key, value in rows:
        if value is None or (isinstance(value, float) and value != value) or value == "":
            continue
        cells.append(f"<tr><th>{html.escape(key)}</th><td>{html.escape(str(value))}</td></tr>")
    return f'<div class="lc-popup"><b>{html.escape(title)}</b><table>{"".join(cells)}</table></div>'
