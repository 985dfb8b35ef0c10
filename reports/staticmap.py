"""The static map ``map.png`` (metric CRS, no tiles)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..vocabulary import labels_for
from .figures import MINUTE_COLOURS, Text, font_or_warn, rc_params, save_figure


def _drawable(gdf):
    """Rows with a geometry to draw: a category without facilities has empty service areas
    (geopandas would warn about a layer "composed of empty geometries"); they are skipped."""
    if gdf is None or not len(gdf):
        return gdf
    geom = gdf.geometry
    return gdf[~(geom.isna() | geom.is_empty).to_numpy()]


def _metric_crs(*layers):
    from ..geo.crs import metric_crs_for

    for layer in layers:
        if layer is not None and len(layer) and layer.crs is not None:
            return metric_crs_for(layer.to_crs(4326))
    return None


def static_map(
    path: str | Path,
    *,
    boundary: gpd.GeoDataFrame | None = None,
    service_areas: gpd.GeoDataFrame | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    blind_spots: gpd.GeoDataFrame | None = None,
    sites: pd.DataFrame | gpd.GeoDataFrame | None = None,
    corridors: gpd.GeoDataFrame | None = None,
    category: str | None = None,
    minutes: float | None = None,
    title: str | None = None,
    dpi: int = 150,
    size: tuple[float, float] = (8.0, 8.0),
) -> Path:
    """A static map PNG in the metric CRS (no basemap tiles).

    Parameters
    ----------
    path : str or Path
        PNG to write (``size × dpi`` pixels, 1200 × 1200 by default).
    boundary, service_areas, facilities, blind_spots, corridors : GeoDataFrame, optional
        Layers with a CRS; service areas and blind spots of ``category`` only (blind spots at
        ``minutes``, default the largest threshold).
    sites : DataFrame or GeoDataFrame, optional
        New sites (``lon``/``lat`` WGS84 or point geometry), labelled by ``rank``.
    category : str, optional
        Facility category shown; default the first of the service areas (or of facilities).

    Empty or missing geometries (the service areas of a category without facilities) are not
    drawn and get no legend entry.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    font = font_or_warn()
    T = Text(font is not None)
    if sites is not None and not isinstance(sites, gpd.GeoDataFrame) and len(sites):
        sites = gpd.GeoDataFrame(
            sites, geometry=gpd.points_from_xy(sites["lon"], sites["lat"]), crs=4326
        )
    boundary, service_areas, facilities, blind_spots, sites, corridors = (
        _drawable(g) for g in (boundary, service_areas, facilities, blind_spots, sites, corridors)
    )
    crs = _metric_crs(boundary, service_areas, facilities, blind_spots, corridors, sites)
    if category is None:
        for layer in (service_areas, blind_spots, facilities):
            if layer is not None and len(layer) and "category" in layer.columns:
                category = str(layer["category"].iloc[0])
                break
    handles: list = []
    with matplotlib.rc_context(rc_params(font)):
        fig, ax = plt.subplots(figsize=size, layout="constrained")
        if crs is None:
            ax.text(0.5, 0.5, T("无数据", "no data"), ha="center", transform=ax.transAxes)
            return save_figure(fig, Path(path), dpi)
        if service_areas is not None and len(service_areas):
            handles += _draw_service_areas(ax, service_areas, category, crs, T)
        if blind_spots is not None and len(blind_spots):
            handles += _draw_blind_spots(ax, blind_spots, category, minutes, crs, T)
        if boundary is not None and len(boundary):
            boundary.to_crs(crs).boundary.plot(
                ax=ax, color="#222222", linewidth=1.8, linestyle="--"
            )
            handles.append(
                Line2D([], [], color="#222222", linestyle="--", label=T("街道边界", "boundary"))
            )
        if corridors is not None and len(corridors):
            handles += _draw_corridors(ax, corridors, crs, T)
        if facilities is not None and len(facilities):
            handles += _draw_facilities(ax, facilities, category, crs, T)
        if sites is not None and len(sites):
            handles += _draw_sites(ax, sites, crs, T)
        _zoom(ax, boundary, crs)
        _scale_bar(ax, T)
        ax.set_axis_off()
        if handles:
            ax.legend(handles=handles, loc="lower left", fontsize=8, framealpha=0.9).set_zorder(10)
        if title:
            ax.set_title(title if T.zh else "Coverage map")
        return save_figure(fig, Path(path), dpi)


def _draw_service_areas(ax, sa, category, crs, T: Text) -> list:
    """The category's (merged) service areas, longest walk first; their legend entries."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    if category is not None and "category" in sa.columns:
        sa = sa[sa["category"].astype(str) == category]
    if "fid" in sa.columns and (sa["fid"].astype(str) == "全部").any():
        sa = sa[sa["fid"].astype(str) == "全部"]
    sa = sa.to_crs(crs)
    ms = sorted(pd.to_numeric(sa["minutes"], errors="coerce").dropna().unique(), reverse=True)
    handles = []
    for k, m in enumerate(ms):
        part = sa[pd.to_numeric(sa["minutes"], errors="coerce") == m]
        colour = MINUTE_COLOURS.get(
            int(m) if float(m).is_integer() else m,
            plt.cm.Blues(0.3 + 0.6 * k / max(len(ms) - 1, 1)),
        )
        part.plot(ax=ax, color=colour, alpha=0.45, linewidth=0)
        handles.append(
            Patch(
                color=colour, alpha=0.45, label=T(f"{m:g} 分钟服务范围", f"{m:g} min service area")
            )
        )
    return handles


def _draw_blind_spots(ax, bs, category, minutes, crs, T: Text) -> list:
    """The category's blind spots at ``minutes`` (default the largest threshold), hatched."""
    from matplotlib.patches import Patch

    if category is not None and "category" in bs.columns:
        bs = bs[bs["category"].astype(str) == category]
    if "minutes" in bs.columns and len(bs):
        bm = pd.to_numeric(bs["minutes"], errors="coerce")
        show = minutes if minutes is not None else bm.max()
        bs = bs[np.isclose(bm, show)]
    else:
        show = minutes
    if not len(bs):
        return []
    bs.to_crs(crs).plot(ax=ax, facecolor="none", edgecolor="#e31a1c", hatch="///", linewidth=0.8)
    label = T(f"服务盲区（{show:g} 分钟）" if show is not None else "服务盲区", "blind spots")
    return [Patch(facecolor="none", edgecolor="#e31a1c", hatch="///", label=label)]


def _draw_corridors(ax, corridors, crs, T: Text) -> list:
    """Corridor lines and gateway points."""
    from matplotlib.lines import Line2D

    cl = corridors.to_crs(crs)
    lines = cl[cl.geom_type.isin(["LineString", "MultiLineString"])]
    pts = cl[cl.geom_type == "Point"]
    handles = []
    if len(lines):
        lines.plot(ax=ax, color="#ff6f00", linewidth=2.5, alpha=0.9)
        handles.append(
            Line2D(
                [], [], color="#ff6f00", linewidth=2.5, label=T("规划慢行廊道", "planned corridors")
            )
        )
    if len(pts):
        pts.plot(ax=ax, color="#ff6f00", edgecolor="#5d4037", markersize=50, marker="o")
        handles.append(
            Line2D(
                [],
                [],
                color="#ff6f00",
                marker="o",
                linestyle="",
                markeredgecolor="#5d4037",
                label=T("门户节点", "gateways"),
            )
        )
    return handles


def _draw_facilities(ax, facilities, category, crs, T: Text) -> list:
    """Facilities of the category (large) and the others (small, grey)."""
    from matplotlib.lines import Line2D

    fc = facilities.to_crs(crs)
    if "category" in fc.columns and category is not None:
        other = fc[fc["category"].astype(str) != category]
        main = fc[fc["category"].astype(str) == category]
    else:
        other, main = fc.iloc[0:0], fc
    handles = []
    if len(other):
        other.plot(ax=ax, color="#9e9e9e", markersize=8)
        label = T("其他设施", "other facilities")
        handles.append(
            Line2D([], [], color="#9e9e9e", marker="o", linestyle="", markersize=4, label=label)
        )
    if len(main):
        main.plot(ax=ax, color="#c2185b", edgecolor="white", markersize=36)
        labels = labels_for([category] if category else [])
        name = T.category(category, labels) if category else T("设施", "facilities")
        label = T(f"现状{name}设施", name)
        handles.append(
            Line2D([], [], color="#c2185b", marker="o", linestyle="", markersize=7, label=label)
        )
    return handles


def _draw_sites(ax, sites, crs, T: Text) -> list:
    """New sites as stars labelled by rank."""
    from matplotlib.lines import Line2D

    st = sites.to_crs(crs)
    st.plot(ax=ax, color="#ffd700", edgecolor="#5d4037", marker="*", markersize=260, zorder=5)
    ranks = st["rank"] if "rank" in st.columns else range(1, len(st) + 1)
    for r, g in zip(ranks, st.geometry, strict=True):
        ax.annotate(
            str(r), (g.x, g.y), ha="center", va="center", fontsize=7, fontweight="bold", zorder=6
        )
    return [
        Line2D(
            [],
            [],
            color="#ffd700",
            marker="*",
            linestyle="",
            markeredgecolor="#5d4037",
            markersize=13,
            label=T("建议新增站点", "proposed sites"),
        )
    ]


def _zoom(ax, boundary, crs) -> None:
    if boundary is None or not len(boundary):
        return
    x0, y0, x1, y1 = boundary.to_crs(crs).total_bounds
    pad = 0.08 * max(x1 - x0, y1 - y0)
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(y0 - pad, y1 + pad)
    ax.set_aspect("equal")


def _scale_bar(ax, T: Text) -> None:
    """A metric scale bar (the axes are in metres) at the lower right."""
    ax.set_aspect("equal")
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    span = x1 - x0
    target = span / 5
    nice = [50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000]
    length = max([n for n in nice if n <= target] or [nice[0]])
    xs = x1 - 0.05 * span - length
    ys = y0 + 0.04 * (y1 - y0)
    ax.plot([xs, xs + length], [ys, ys], color="black", linewidth=3, solid_capstyle="butt")
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length} m"
    ax.text(xs + length / 2, ys + 0.012 * (y1 - y0), label, ha="center", va="bottom", fontsize=8)
    ax.annotate(
        "N",
        xy=(x1 - 0.04 * span, y1 - 0.05 * (y1 - y0)),
        xytext=(x1 - 0.04 * span, y1 - 0.12 * (y1 - y0)),
        ha="center",
        fontsize=10,
        arrowprops={"arrowstyle": "-|>", "color": "black"},
    )
