"""Street reports: Excel/CSV tables, PNG charts, a static map, and a short Chinese summary.

What planners hand to their leaders: for one street, :func:`write_report` writes

``coverage.xlsx``
    Chinese headers; sheets 覆盖率汇总 (category × threshold), 覆盖率明细 (the tidy table), 服务盲区,
    建议新增站点, 慢行廊道 and 规划目标对比 when those inputs are given.
``coverage.csv``
    The tidy coverage table with its contract (English) column names, UTF-8 with BOM.
``coverage_chart.png``
    Grouped bars: population and 60+ coverage by category and threshold.
``map.png``
    Static map in the metric CRS (no tiles): boundary, service areas, facilities, blind spots,
    corridors and new sites.
``report.md`` / ``report.html``
    A short Chinese summary with the key figures; the HTML embeds the PNGs (base64) and needs
    nothing else.

Charts need a CJK font: :func:`cjk_font` looks for Noto Sans CJK SC (Debian ``fonts-noto-cjk``)
and other common ones through :mod:`matplotlib.font_manager`. Without one, charts are drawn with
English labels and a warning: Chinese text is never rendered as empty boxes silently.

Shares in the coverage table are fractions (0–1); reports print them as percentages with one
decimal and populations as whole numbers.

When no population is known the coverage table says ``demand_basis == "nodes"`` (every walking
network node weighs 1): every header, chart and sentence then counts 路网节点 instead of 人/人口,
and the 60+ columns (unknown) are left out of the Chinese tables (``coverage.csv`` keeps them).
"""

from __future__ import annotations

import base64
import html
import math
import re
import warnings
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import cells
from .style import DemandWords, demand_basis, demand_words

__all__ = [
    "CATEGORY_LABELS",
    "COLUMN_LABELS",
    "NoCJKFontWarning",
    "category_label",
    "cjk_font",
    "coverage_chart",
    "key_figures",
    "static_map",
    "write_report",
    "write_tables",
]

#: Chinese category labels (``data/facilities/categories.yaml`` wins when it lists the category).
CATEGORY_LABELS: dict[str, str] = {
    "elder_care": "为老服务",
    "fitness": "体育健身",
    "parking": "停车",
    "health": "医疗卫生",
    "culture": "文化",
    "market": "商业便民",
    "education": "教育",
    "park": "公园绿地",
    "community": "社区服务",
    "other": "其他",
    "全部": "全部",
}
_CATEGORY_EN = {
    "elder_care": "Elder care",
    "fitness": "Fitness",
    "parking": "Parking",
    "health": "Health",
    "culture": "Culture",
    "market": "Market",
    "education": "Education",
    "park": "Parks",
    "community": "Community",
    "other": "Other",
}

#: Chinese headers of the coverage contract columns (others keep their own name).
COLUMN_LABELS: dict[str, str] = {
    "boundary": "街道",
    "category": "设施类别代码",
    "category_label": "设施类别",
    "profile": "步行速度",
    "minutes": "步行时间（分钟）",
    "metres": "步行距离（米）",
    "threshold": "阈值",
    "limit_m": "步行距离（米）",
    "n_facilities": "设施数量",
    "area_share": "面积覆盖率",
    "network_share": "路网覆盖率",
    "population": "常住人口",
    "population_covered": "覆盖人口",
    "population_share": "人口覆盖率",
    "pop60": "60岁以上人口",
    "pop60_covered": "覆盖60岁以上人口",
    "pop60_share": "60岁以上人口覆盖率",
    "crowfly_population_share": "直线距离人口覆盖率",
    "crowfly_pop60_share": "直线距离60岁以上覆盖率",
    "population_uncovered": "未覆盖人口",
    "pop60_uncovered": "未覆盖60岁以上人口",
    "area_m2": "面积（平方米）",
    "area_km2": "面积（平方公里）",
    "lon": "经度（WGS84）",
    "lat": "纬度（WGS84）",
    "lon_gcj02": "经度（GCJ-02/高德）",
    "lat_gcj02": "纬度（GCJ-02/高德）",
    "rank": "排序",
    "site_id": "站点编号",
    "name": "名称",
    "kind": "类型",
    "snap_m": "距道路（米）",
    "objective": "目标函数值",
    "gap": "最优性差距",
    "model": "模型",
    "corridor_id": "编号",
    "corridor": "廊道名称",
    "theme": "主题",
    "status": "状态",
    "roads": "道路序列",
    "length_m": "长度（米）",
    "n_points": "节点数",
    "unmatched": "未匹配道路",
    "n_gaps": "断点数",
    "gaps": "断点",
    "links": "规划联通",
    "demand": "需求口径",
    "demand_basis": "需求口径",
    "weight": "目标口径",
    "bound": "目标上界",
    "area_covered_km2": "覆盖面积（平方公里）",
    "network_km": "路网长度（公里）",
    "network_covered_km": "覆盖路网长度（公里）",
    "crowfly_area_share": "直线距离面积覆盖率",
    "facilities_inside": "范围内设施数",
    "facilities_outside_reaching": "范围外可达设施数",
    "facilities_unsnapped": "未接入路网设施数",
    "blind_spot_population": "盲区人口",
    "blind_spot_pop60": "盲区60岁以上人口",
    "n_blind_spots": "盲区个数",
    "blind_spot_area_km2": "盲区面积（平方公里）",
    "n_demand": "需求点数",
    "target_share": "规划值",
    "actual_share": "本次测算",
    "difference_pp": "差值（百分点）",
    "source": "来源",
}
#: Header overrides for the corridor and blind-spot sheets.
_CORRIDOR_LABELS = {
    "pop": "5分钟步行覆盖人口",
    "pop60": "覆盖60岁以上人口",
    "pop_share": "覆盖人口比例",
    "pop60_share": "覆盖60岁以上比例",
    "minutes": "步行时间（分钟）",
    "profile": "步行速度",
}
_BLIND_LABELS = {"population": "盲区人口", "pop60": "盲区60岁以上人口"}

#: Header overrides when the demand is network nodes (``demand_basis == "nodes"``).
_NODE_COLUMN_LABELS = {
    "population": "路网节点数",
    "population_covered": "覆盖路网节点数",
    "population_uncovered": "未覆盖路网节点数",
    "population_share": "路网节点覆盖率",
    "crowfly_population_share": "直线距离路网节点覆盖率",
    "blind_spot_population": "盲区路网节点数",
}
_NODE_BLIND_LABELS = {"population": "盲区路网节点数"}
_NODE_CORRIDOR_LABELS = {"pop": "5分钟步行覆盖路网节点", "pop_share": "覆盖路网节点比例"}
#: Values of the demand/weight columns.
_BASIS_VALUES = {"population": "常住人口", "nodes": "路网节点"}
_WEIGHT_VALUES = {"pop": "常住人口", "pop60": "60岁以上人口", "nodes": "路网节点"}

_SHARE_COLUMNS = {
    "area_share",
    "network_share",
    "population_share",
    "pop60_share",
    "crowfly_population_share",
    "crowfly_pop60_share",
    "pop_share",
    "target_share",
    "actual_share",
}

_KIND_LABELS = {"ring": "环线", "axis": "轴线", "themed": "主题街", "gateway": "门户节点"}
_SITE_KIND_LABELS = {
    "optimal": "优化选址",
    "proposed": "拟建",
    "existing": "现状",
    "candidate": "候选",
}
_STATUS_LABELS = {
    "ok": "完整",
    "partial": "有断点/未匹配",
    "unresolved": "未能匹配",
    "placeholder": "待指定道路",
    "drawn": "手绘",
}

#: Preferred CJK fonts, best first.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Noto Sans CJK JP",
    "Noto Serif CJK SC",
    "AR PL UMing CN",
    "Droid Sans Fallback",
)
_CJK_FILE_HINTS = (
    "cjk",
    "wqy",
    "wenquanyi",
    "simhei",
    "msyh",
    "sourcehan",
    "notosanssc",
    "pingfang",
    "hiragino",
    "uming",
    "ukai",
    "droidsansfallback",
)

_MINUTE_COLOURS = {5: "#08519c", 10: "#3182bd", 15: "#9ecae1"}


class NoCJKFontWarning(UserWarning):
    """No font with Chinese glyphs was found: charts fall back to English labels."""


# ---------------------------------------------------------------------------------------- fonts
_FONT_CACHE: list[str | None] = []


def cjk_font(refresh: bool = False) -> str | None:
    """Name of an installed font that draws Chinese, registered with matplotlib (or None).

    Looks in matplotlib's font list first, then (its cache may predate the font's installation)
    among the system's font files whose names suggest CJK, adding them to the font manager.
    """
    if _FONT_CACHE and not refresh:
        return _FONT_CACHE[0]
    from matplotlib import font_manager as fm

    def pick() -> str | None:
        names = {f.name for f in fm.fontManager.ttflist}
        for want in CJK_FONTS:
            if want in names:
                return want
        for n in sorted(names):
            if "CJK" in n and "Mono" not in n:
                return n
        return None

    name = pick()
    if name is None:
        for path in fm.findSystemFonts():
            low = Path(path).name.lower().replace("-", "").replace("_", "")
            if any(h in low for h in _CJK_FILE_HINTS):
                try:
                    fm.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        name = pick()
    _FONT_CACHE[:] = [name]
    return name


def _font_or_warn() -> str | None:
    name = cjk_font()
    if name is None:
        warnings.warn(
            "no CJK font found (install Debian fonts-noto-cjk): charts use English "
            "labels instead of Chinese",
            NoCJKFontWarning,
            stacklevel=3,
        )
    return name


class _Text:
    """Chinese text when a CJK font is available, English otherwise."""

    def __init__(self, zh_ok: bool):
        self.zh = zh_ok

    def __call__(self, zh: str, en: str) -> str:
        return zh if self.zh else en

    def category(self, cat: str, labels: dict[str, str]) -> str:
        if self.zh:
            return labels.get(cat, CATEGORY_LABELS.get(cat, cat))
        return _CATEGORY_EN.get(cat, cat if cat.isascii() else "?")


def _save(fig, path: Path, dpi: int) -> Path:
    """Save a figure; missing glyphs become a warning naming the file, never silent tofu."""
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(path, dpi=dpi)
    plt.close(fig)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    if missing:
        warnings.warn(
            f"{path.name}: some characters have no glyph in the chosen font: {missing[0]}",
            NoCJKFontWarning,
            stacklevel=3,
        )
    return path


def _rc(font: str | None) -> dict:
    rc = {"axes.unicode_minus": False, "font.size": 10}
    if font:
        rc["font.family"] = "sans-serif"
        rc["font.sans-serif"] = [font, "DejaVu Sans"]
    return rc


# ---------------------------------------------------------------------------------------- labels
def category_label(category: str) -> str:
    """Chinese label of a facility category (from the facilities' category rules when known)."""
    try:
        from ..geo.facilities import load_categories

        labels = load_categories().labels
        if category in labels:
            return labels[category]
    except (ImportError, OSError, ValueError, AttributeError):
        pass
    return CATEGORY_LABELS.get(category, category)


def _labels_for(categories: Iterable[str]) -> dict[str, str]:
    return {c: category_label(c) for c in categories}


def profile_label(profile) -> str:
    """Chinese label of a speed profile (``elderly`` → 老年人步行 (0.9 m/s)); others unchanged."""
    from ..settings import PROFILES

    prof = PROFILES.get(str(profile))
    return prof.label if prof is not None else str(profile)


def _words(table: pd.DataFrame | None) -> DemandWords:
    """Wording of the counts of a coverage table (路网节点 when ``demand_basis == "nodes"``)."""
    return demand_words(demand_basis(table))


def _drop_unknown_pop60(df: pd.DataFrame, words: DemandWords) -> pd.DataFrame:
    """Without population (node counts) the 60+ columns hold nothing: leave them out."""
    if not words.nodes:
        return df
    drop = [
        c
        for c in df.columns
        if "pop60" in str(c) and pd.to_numeric(df[c], errors="coerce").isna().all()
    ]
    return df.drop(columns=drop)


def _crowfly_ring_label(col: str, words: DemandWords) -> str | None:
    """``crowfly_500m_population_share`` → 直线500米内人口覆盖率."""
    m = re.fullmatch(r"crowfly_([\d.]+)m_(population|pop60)_share", col)
    if m is None:
        return None
    what = words.noun if m[2] == "population" else "60岁以上"
    return f"直线{m[1]}米内{what}覆盖率"


def _threshold_label(minutes, metres=None) -> str:
    if minutes is not None and not (isinstance(minutes, float) and math.isnan(minutes)):
        return f"{float(minutes):g} 分钟"
    if metres is not None and not (isinstance(metres, float) and math.isnan(metres)):
        return f"{float(metres):g} 米"
    return "—"


def _pct(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{100.0 * float(x):.1f}%"


def _num(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{float(x):,.0f}"


# ---------------------------------------------------------------------------------------- tables
def _thresholds(table: pd.DataFrame) -> pd.DataFrame:
    """Table with a sortable threshold key and a Chinese threshold label."""
    t = table.copy()
    minutes = t["minutes"] if "minutes" in t.columns else pd.Series(np.nan, index=t.index)
    metres = t["metres"] if "metres" in t.columns else pd.Series(np.nan, index=t.index)
    minutes = pd.to_numeric(minutes, errors="coerce")
    metres = pd.to_numeric(metres, errors="coerce")
    # minutes first (by minutes), then distance-only thresholds (by metres)
    t["_tkey"] = np.where(minutes.notna(), minutes, 1e6 + metres.fillna(0))
    t["_tlabel"] = [
        _threshold_label(m if pd.notna(m) else None, d if pd.notna(d) else None)
        for m, d in zip(minutes, metres, strict=True)
    ]
    return t


def _ordered_categories(table: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(table["category"].astype(str)))


def _groups(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Split by boundary and profile when the table holds several."""
    keys = [
        c
        for c in ("boundary", "profile")
        if c in table.columns and table[c].nunique(dropna=True) > 1
    ]
    if not keys:
        return [("", table)]
    out = []
    for vals, sub in table.groupby(keys, sort=False):
        vals = vals if isinstance(vals, tuple) else (vals,)
        names = [
            profile_label(v) if k == "profile" else str(v) for k, v in zip(keys, vals, strict=True)
        ]
        out.append(("，".join(names), sub))
    return out


def _summary_pivot(table: pd.DataFrame) -> pd.DataFrame:
    """Category × threshold: population and 60+ shares (percent numbers) for the xlsx."""
    words = _words(table)
    with_60 = "pop60_share" in table.columns and not (
        words.nodes and pd.to_numeric(table["pop60_share"], errors="coerce").isna().all()
    )
    t = _thresholds(table)
    labels = _labels_for(_ordered_categories(t))
    rows = []
    group_cols = [c for c in ("boundary", "profile") if c in t.columns]
    for keys, sub in (
        t.groupby(group_cols + ["category"], sort=False)
        if group_cols
        else t.groupby(["category"], sort=False)
    ):
        keys = keys if isinstance(keys, tuple) else (keys,)
        vals = [
            profile_label(v) if c == "profile" else v
            for c, v in zip(group_cols, keys[:-1], strict=True)
        ]
        row = dict(zip([COLUMN_LABELS.get(c, c) for c in group_cols], vals, strict=True))
        row["设施类别"] = labels.get(str(keys[-1]), str(keys[-1]))
        for _, r in sub.sort_values("_tkey").iterrows():
            row[f"{r['_tlabel']} {words.share}"] = r.get("population_share")
            if with_60:
                row[f"{r['_tlabel']} 60岁以上覆盖率"] = r.get("pop60_share")
        rows.append(row)
    return pd.DataFrame(rows)


def _zh_columns(
    df: pd.DataFrame, extra: dict[str, str] | None = None, words: DemandWords | None = None
) -> pd.DataFrame:
    words = words or demand_words()
    labels = {**COLUMN_LABELS, **(_NODE_COLUMN_LABELS if words.nodes else {}), **(extra or {})}
    out = _drop_unknown_pop60(df, words).copy()
    if "category" in out.columns and "category_label" not in out.columns:
        cat_labels = _labels_for(out["category"].astype(str).unique())
        out.insert(
            list(out.columns).index("category") + 1,
            "category_label",
            out["category"].astype(str).map(cat_labels),
        )
    if "kind" in out.columns:
        for kinds in (_KIND_LABELS, _SITE_KIND_LABELS):
            if out["kind"].isin(kinds).all():
                out["kind"] = out["kind"].map(kinds)
                break
    if "status" in out.columns:
        out["status"] = out["status"].map(lambda s: _STATUS_LABELS.get(s, s))
    if "profile" in out.columns:
        out["profile"] = out["profile"].map(lambda p: p if pd.isna(p) else profile_label(p))
    for col, values in (("demand_basis", _BASIS_VALUES), ("demand", _BASIS_VALUES)):
        if col in out.columns:
            out[col] = out[col].map(lambda v, values=values: values.get(v, v))
    if "weight" in out.columns:
        out["weight"] = out["weight"].map(
            lambda v: "路网节点" if words.nodes and v == "pop" else _WEIGHT_VALUES.get(v, v)
        )
    return out.rename(
        columns={
            c: _gain_label(str(c), words) or _crowfly_ring_label(str(c), words) or labels.get(c, c)
            for c in out.columns
        }
    )


def _gain_label(col: str, words: DemandWords | None = None) -> str | None:
    """Chinese header of a siting gain column (``gain_pop60_15min`` …).

    Gains in network nodes (``gain_nodes_*``, or ``gain_pop_*`` when ``words`` is the node
    wording) are 新增覆盖路网节点; never 人口 then.
    """
    if not col.startswith("gain_"):
        return None
    nodes = words is not None and words.nodes
    rest = col[5:]
    what, _, tag = rest.partition("_")
    when = f"（{tag.replace('min', ' 分钟')}）" if tag else ""
    return {
        "pop": "新增覆盖路网节点" if nodes else "新增覆盖人口",
        "pop60": "新增覆盖60岁以上人口",
        "pp": "路网节点覆盖率提升百分点" if nodes else "人口覆盖率提升百分点",
        "pp60": "60岁以上覆盖率提升百分点",
        "nodes": "新增覆盖路网节点",
    }.get(what, f"新增 {what}") + when


def _no_geometry(gdf) -> pd.DataFrame:
    if gdf is None:
        return None
    if isinstance(gdf, gpd.GeoDataFrame):
        df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        if len(gdf) and gdf.crs is not None:
            from ..geo.crs import metric_crs_for

            metric = gdf.to_crs(metric_crs_for(gdf.to_crs(4326)))
            if (metric.geom_type.isin(["Polygon", "MultiPolygon"])).any():
                df["area_m2"] = metric.area.round(0).to_numpy()
            cent = metric.geometry.representative_point().to_crs(4326)
            if "lon" not in df.columns:
                df["lon"] = cent.x.round(6).to_numpy()
                df["lat"] = cent.y.round(6).to_numpy()
        return df
    return pd.DataFrame(gdf)


def _targets_table(table: pd.DataFrame, targets: Sequence[dict] | None) -> pd.DataFrame | None:
    if not targets:
        return None
    rows = []
    for t in targets:
        sub = table[(table["category"].astype(str) == str(t["category"]))]
        if "minutes" in sub.columns:
            sub = sub[
                np.isclose(pd.to_numeric(sub["minutes"], errors="coerce"), float(t["minutes"]))
            ]
        actual = float(sub["population_share"].iloc[0]) if len(sub) else np.nan
        rows.append(
            {
                "category": t["category"],
                "minutes": t["minutes"],
                "target_share": t["population_share"],
                "actual_share": actual,
                "difference_pp": round(100.0 * (actual - t["population_share"]), 2)
                if not math.isnan(actual)
                else np.nan,
                "source": t.get("source"),
            }
        )
    return pd.DataFrame(rows)


def write_tables(
    table: pd.DataFrame,
    out_dir: str | Path,
    *,
    blind_spots: gpd.GeoDataFrame | None = None,
    sites: pd.DataFrame | None = None,
    corridors: pd.DataFrame | None = None,
    targets: Sequence[dict] | None = None,
    write_csv: bool = True,
) -> dict[str, Path]:
    """Write ``coverage.xlsx`` (Chinese headers) and ``coverage.csv`` (contract columns).

    Headers count 路网节点 instead of 人口 when the table's ``demand_basis`` is ``"nodes"``
    (no population known); the unknown 60+ columns are then left out of the workbook.

    Parameters
    ----------
    table : DataFrame
        Tidy coverage table (one row per boundary × category × threshold; columns of the coverage
        contract: ``category``, ``minutes``, ``population_share``, ``pop60_share`` …).
    out_dir : str or Path
        Created if needed.
    blind_spots : GeoDataFrame, optional
        Sheet 服务盲区 (geometry replaced by area and a representative point).
    sites : DataFrame, optional
        Sheet 建议新增站点 (``lifecircle site`` output).
    corridors : DataFrame, optional
        Sheet 慢行廊道 (``CorridorResult.summary``).
    targets : list of dict, optional
        Plan figures ``{category, minutes, population_share, source}``: sheet 规划目标对比.
    write_csv : bool
        Write ``coverage.csv`` too (default). ``False`` when the coverage step has written it
        already (``lifecircle coverage``).

    Returns
    -------
    dict
        ``{"xlsx": path, "csv": path}`` (no ``"csv"`` key when ``write_csv`` is false).
    """
    _check_table(table)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    if write_csv:
        csv_path = out / "coverage.csv"
        cells.write_csv(table, csv_path)
        written["csv"] = csv_path
    xlsx_path = out / "coverage.xlsx"
    words = _words(table)
    blind_labels = {**_BLIND_LABELS, **(_NODE_BLIND_LABELS if words.nodes else {})}
    sheets: list[tuple[str, pd.DataFrame]] = [
        ("覆盖率汇总", _summary_pivot(table)),
        ("覆盖率明细", _zh_columns(table, words=words)),
    ]
    if blind_spots is not None:
        sheets.append(
            ("服务盲区", _zh_columns(_no_geometry(blind_spots), blind_labels, words=words))
        )
    if sites is not None:
        sites_words = demand_words(demand_basis(sites, default=words.basis))
        sheets.append(("建议新增站点", _zh_columns(_no_geometry(sites), words=sites_words)))
    if corridors is not None:
        summary = getattr(corridors, "summary", corridors)
        cw = _corridor_words(summary, words)
        labels = {**_CORRIDOR_LABELS, **(_NODE_CORRIDOR_LABELS if cw.nodes else {})}
        sheets.append(("慢行廊道", _zh_columns(summary, labels, words=cw)))
    tt = _targets_table(table, targets)
    if tt is not None:
        sheets.append(("规划目标对比", _zh_columns(tt, words=words)))
    share_headers = {COLUMN_LABELS[c] for c in _SHARE_COLUMNS if c in COLUMN_LABELS}
    share_headers |= {_NODE_COLUMN_LABELS[c] for c in _SHARE_COLUMNS if c in _NODE_COLUMN_LABELS}
    share_headers |= {_CORRIDOR_LABELS[c] for c in ("pop_share", "pop60_share")}
    share_headers.add(_NODE_CORRIDOR_LABELS["pop_share"])

    def format_sheet(ws, df: pd.DataFrame) -> None:
        ws.freeze_panes = "A2"
        for j, col in enumerate(df.columns, start=1):
            letter = ws.cell(row=1, column=j).column_letter
            width = max([_text_width(col)] + [_text_width(v) for v in df[col].head(200)])
            ws.column_dimensions[letter].width = min(60, max(8, width + 2))
            is_share = (
                str(col) in share_headers
                or str(col).endswith("覆盖率")
                or str(col).endswith("比例")
                or str(col) in ("规划值", "本次测算")
            )
            if is_share:
                for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                    row[0].number_format = "0.0%"

    cells.write_xlsx(xlsx_path, sheets, format_sheet)
    return {"xlsx": xlsx_path, **written}


def _corridor_words(summary: pd.DataFrame | None, words: DemandWords) -> DemandWords:
    """The corridors' own ``demand`` column decides their wording; else the table's."""
    if summary is not None and "demand" in getattr(summary, "columns", []):
        vals = summary["demand"].dropna().astype(str)
        if len(vals):
            return demand_words("nodes" if (vals == "nodes").all() else "population")
    return words


def _text_width(value) -> int:
    s = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)


def _check_table(table: pd.DataFrame) -> None:
    missing = [c for c in ("category", "population_share") if c not in table.columns]
    if "minutes" not in table.columns and "metres" not in table.columns:
        missing.append("minutes")
    if missing:
        raise ValueError(f"coverage table lacks column(s) {missing}; has {list(table.columns)}")


# ---------------------------------------------------------------------------------------- charts
def coverage_chart(
    table: pd.DataFrame,
    path: str | Path,
    *,
    title: str | None = None,
    targets: Sequence[dict] | None = None,
    dpi: int = 150,
    size: tuple[float, float] = (11.0, 4.8),
) -> Path:
    """Grouped bars of coverage by category (groups) and threshold (bars), population and 60+.

    Without population (``demand_basis == "nodes"``) the bars are 路网节点覆盖率.

    Parameters
    ----------
    table : DataFrame
        One boundary/profile of the coverage table.
    path : str or Path
        PNG to write; its pixel size is ``size × dpi`` (1650 × 720 by default).
    title : str, optional
    targets : list of dict, optional
        Plan figures drawn as black ticks on the matching bars.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    _check_table(table)
    font = _font_or_warn()
    T = _Text(font is not None)
    t = _thresholds(table)
    cats = _ordered_categories(t)
    labels = _labels_for(cats)
    thresholds = t[["_tkey", "_tlabel"]].drop_duplicates().sort_values("_tkey")
    words = _words(table)
    panels = [
        (
            "population_share",
            T("路网节点覆盖率", "Network nodes covered")
            if words.nodes
            else T("常住人口覆盖率", "Population covered"),
        )
    ]
    if "pop60_share" in t.columns and t["pop60_share"].notna().any():
        panels.append(("pop60_share", T("60岁以上人口覆盖率", "Population 60+ covered")))
    with matplotlib.rc_context(_rc(font)):
        fig, axes = plt.subplots(1, len(panels), figsize=size, squeeze=False, layout="constrained")
        x = np.arange(len(cats))
        nb = len(thresholds)
        width = 0.8 / max(nb, 1)
        for ax, (col, ptitle) in zip(axes[0], panels, strict=True):
            for k, (key, tlabel) in enumerate(thresholds.itertuples(index=False)):
                sub = t[t["_tkey"] == key].set_index("category")
                vals = (
                    np.array(
                        [float(sub[col].get(c, np.nan)) if c in sub.index else np.nan for c in cats]
                    )
                    * 100.0
                )
                colour = _MINUTE_COLOURS.get(
                    int(key) if float(key).is_integer() else key,
                    plt.cm.Blues(0.9 - 0.6 * k / max(nb - 1, 1)),
                )
                lab = tlabel if T.zh else tlabel.replace(" 分钟", " min").replace(" 米", " m")
                bars = ax.bar(
                    x + (k - (nb - 1) / 2) * width,
                    np.nan_to_num(vals),
                    width,
                    label=lab,
                    color=colour,
                    edgecolor="white",
                )
                for b, v in zip(bars, vals, strict=True):
                    if not np.isnan(v):
                        ax.annotate(
                            f"{v:.0f}",
                            (b.get_x() + b.get_width() / 2, v),
                            ha="center",
                            va="bottom",
                            fontsize=7,
                            xytext=(0, 1),
                            textcoords="offset points",
                        )
                if targets and col == "population_share":
                    for tg in targets:
                        if tg["category"] in cats and np.isclose(float(tg["minutes"]), key):
                            i = cats.index(tg["category"])
                            xc = i + (k - (nb - 1) / 2) * width
                            ax.plot(
                                [xc - width / 2, xc + width / 2],
                                [100 * tg["population_share"]] * 2,
                                color="black",
                                lw=2,
                            )
            ax.set_xticks(x, [T.category(c, labels) for c in cats])
            ax.set_ylim(0, 112)
            ax.set_ylabel("%")
            ax.set_title(ptitle)
            ax.grid(axis="y", alpha=0.3)
            ax.spines[["top", "right"]].set_visible(False)
        axes[0][-1].legend(
            title=T("步行时间", "Walk"),
            loc="upper right",
            fontsize=8,
            title_fontsize=8,
            ncols=nb,
            frameon=False,
        )
        if title:
            fig.suptitle(title if T.zh else "Walking coverage by category and threshold")
        if targets:
            fig.text(0.005, 0.005, T("黑线：规划值", "black tick: plan figure"), fontsize=8)
        return _save(fig, Path(path), dpi)


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
    from matplotlib.patches import Patch

    font = _font_or_warn()
    T = _Text(font is not None)
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
    labels = _labels_for([category] if category else [])
    handles = []
    with matplotlib.rc_context(_rc(font)):
        fig, ax = plt.subplots(figsize=size, layout="constrained")
        if crs is None:
            ax.text(0.5, 0.5, T("无数据", "no data"), ha="center", transform=ax.transAxes)
            return _save(fig, Path(path), dpi)
        if service_areas is not None and len(service_areas):
            sa = service_areas
            if category is not None and "category" in sa.columns:
                sa = sa[sa["category"].astype(str) == category]
            if "fid" in sa.columns and (sa["fid"].astype(str) == "全部").any():
                sa = sa[sa["fid"].astype(str) == "全部"]
            sa = sa.to_crs(crs)
            ms = sorted(
                pd.to_numeric(sa["minutes"], errors="coerce").dropna().unique(), reverse=True
            )
            for k, m in enumerate(ms):
                part = sa[pd.to_numeric(sa["minutes"], errors="coerce") == m]
                colour = _MINUTE_COLOURS.get(
                    int(m) if float(m).is_integer() else m,
                    plt.cm.Blues(0.3 + 0.6 * k / max(len(ms) - 1, 1)),
                )
                part.plot(ax=ax, color=colour, alpha=0.45, linewidth=0)
                handles.append(
                    Patch(
                        color=colour,
                        alpha=0.45,
                        label=T(f"{m:g} 分钟服务范围", f"{m:g} min service area"),
                    )
                )
        if blind_spots is not None and len(blind_spots):
            bs = blind_spots
            if category is not None and "category" in bs.columns:
                bs = bs[bs["category"].astype(str) == category]
            if "minutes" in bs.columns and len(bs):
                bm = pd.to_numeric(bs["minutes"], errors="coerce")
                show = minutes if minutes is not None else bm.max()
                bs = bs[np.isclose(bm, show)]
            else:
                show = minutes
            if len(bs):
                bs.to_crs(crs).plot(
                    ax=ax, facecolor="none", edgecolor="#e31a1c", hatch="///", linewidth=0.8
                )
                handles.append(
                    Patch(
                        facecolor="none",
                        edgecolor="#e31a1c",
                        hatch="///",
                        label=T(
                            f"服务盲区（{show:g} 分钟）" if show is not None else "服务盲区",
                            "blind spots",
                        ),
                    )
                )
        if boundary is not None and len(boundary):
            boundary.to_crs(crs).boundary.plot(
                ax=ax, color="#222222", linewidth=1.8, linestyle="--"
            )
            handles.append(
                Line2D([], [], color="#222222", linestyle="--", label=T("街道边界", "boundary"))
            )
        if corridors is not None and len(corridors):
            cl = corridors.to_crs(crs)
            lines = cl[cl.geom_type.isin(["LineString", "MultiLineString"])]
            pts = cl[cl.geom_type == "Point"]
            if len(lines):
                lines.plot(ax=ax, color="#ff6f00", linewidth=2.5, alpha=0.9)
                handles.append(
                    Line2D(
                        [],
                        [],
                        color="#ff6f00",
                        linewidth=2.5,
                        label=T("规划慢行廊道", "planned corridors"),
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
        if facilities is not None and len(facilities):
            fc = facilities.to_crs(crs)
            if "category" in fc.columns and category is not None:
                other = fc[fc["category"].astype(str) != category]
                main = fc[fc["category"].astype(str) == category]
            else:
                other, main = fc.iloc[0:0], fc
            if len(other):
                other.plot(ax=ax, color="#9e9e9e", markersize=8)
                handles.append(
                    Line2D(
                        [],
                        [],
                        color="#9e9e9e",
                        marker="o",
                        linestyle="",
                        markersize=4,
                        label=T("其他设施", "other facilities"),
                    )
                )
            if len(main):
                main.plot(ax=ax, color="#c2185b", edgecolor="white", markersize=36)
                name = T.category(category, labels) if category else T("设施", "facilities")
                handles.append(
                    Line2D(
                        [],
                        [],
                        color="#c2185b",
                        marker="o",
                        linestyle="",
                        markersize=7,
                        label=T(f"现状{name}设施", name),
                    )
                )
        if sites is not None and len(sites):
            st = sites.to_crs(crs)
            st.plot(
                ax=ax, color="#ffd700", edgecolor="#5d4037", marker="*", markersize=260, zorder=5
            )
            ranks = st["rank"] if "rank" in st.columns else range(1, len(st) + 1)
            for r, g in zip(ranks, st.geometry, strict=True):
                ax.annotate(
                    str(r),
                    (g.x, g.y),
                    ha="center",
                    va="center",
                    fontsize=7,
                    fontweight="bold",
                    zorder=6,
                )
            handles.append(
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
            )
        _zoom(ax, boundary, crs)
        _scale_bar(ax, T)
        ax.set_axis_off()
        if handles:
            ax.legend(handles=handles, loc="lower left", fontsize=8, framealpha=0.9).set_zorder(10)
        if title:
            ax.set_title(title if T.zh else "Coverage map")
        return _save(fig, Path(path), dpi)


def _zoom(ax, boundary, crs) -> None:
    if boundary is None or not len(boundary):
        return
    x0, y0, x1, y1 = boundary.to_crs(crs).total_bounds
    pad = 0.08 * max(x1 - x0, y1 - y0)
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(y0 - pad, y1 + pad)
    ax.set_aspect("equal")


def _scale_bar(ax, T: _Text) -> None:
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


# ---------------------------------------------------------------------------------------- figures
def key_figures(
    table: pd.DataFrame,
    blind_spots: gpd.GeoDataFrame | None = None,
    sites: pd.DataFrame | None = None,
    n_sites: int = 3,
) -> dict:
    """The numbers the summary quotes, straight from the inputs.

    Returns
    -------
    dict
        ``coverage``: {category: [(threshold label, population_share, pop60_share,
        population_covered, population)]} in threshold order; ``blind``: {category:
        [(threshold label, population, pop60)]} (from ``blind_spots``, else the uncovered
        population of the table); ``sites``: the best ``n_sites`` rows of ``sites`` by rank;
        ``population``: the total population of the first category.
    """
    _check_table(table)
    t = _thresholds(table).sort_values("_tkey", kind="stable")
    cov: dict[str, list] = {}
    for cat in _ordered_categories(t):
        sub = t[t["category"].astype(str) == cat]
        cov[cat] = [
            (
                r["_tlabel"],
                r.get("population_share"),
                r.get("pop60_share", np.nan),
                r.get("population_covered", np.nan),
                r.get("population", np.nan),
            )
            for _, r in sub.iterrows()
        ]
    blind: dict[str, list] = {}
    if blind_spots is not None and len(blind_spots):
        b = _thresholds(pd.DataFrame(blind_spots.drop(columns=blind_spots.geometry.name)))
        for cat in _ordered_categories(t):
            sub = b[b["category"].astype(str) == cat]
            rows = []
            for (_, lab), g in sub.groupby(["_tkey", "_tlabel"], sort=True):
                # min_count=1: an unknown (all-NaN) count stays unknown, it is not 0
                rows.append(
                    (
                        lab,
                        float(g["population"].sum(min_count=1)),
                        float(g["pop60"].sum(min_count=1)) if "pop60" in g.columns else np.nan,
                    )
                )
            blind[cat] = rows
        blind_source = "blind_spots"
    else:
        for cat in _ordered_categories(t):
            sub = t[t["category"].astype(str) == cat]
            if {"population", "population_covered"} <= set(sub.columns):
                blind[cat] = [
                    (
                        r["_tlabel"],
                        float(r["population"] - r["population_covered"]),
                        float(r["pop60"] - r["pop60_covered"])
                        if {"pop60", "pop60_covered"} <= set(sub.columns)
                        else np.nan,
                    )
                    for _, r in sub.iterrows()
                ]
        blind_source = "table"
    best = None
    if sites is not None and len(sites):
        s = pd.DataFrame(sites)
        if isinstance(sites, gpd.GeoDataFrame):
            s = s.drop(columns=sites.geometry.name)
        if "rank" in s.columns:
            s = s.sort_values("rank", kind="stable")
        best = s.head(n_sites).reset_index(drop=True)
    first = t[t["category"].astype(str) == _ordered_categories(t)[0]]
    total = float(first["population"].iloc[0]) if "population" in first.columns else np.nan
    return {
        "coverage": cov,
        "blind": blind,
        "blind_source": blind_source,
        "sites": best,
        "population": total,
    }


# ---------------------------------------------------------------------------------------- report
def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _site_gain_columns(sites: pd.DataFrame, minutes: float | None) -> list[str]:
    gains = [c for c in sites.columns if c.startswith("gain_")]
    if minutes is not None:
        tag = f"_{float(minutes):g}min"
        chosen = [c for c in gains if c.endswith(tag)]
        if chosen:
            return chosen
    if not gains:
        return []
    # the largest threshold among tagged columns, else all
    tags = sorted(
        {c.rsplit("_", 1)[-1] for c in gains if c.endswith("min")},
        key=lambda s: float(s[:-3]) if s[:-3].replace(".", "").isdigit() else 0,
    )
    return [c for c in gains if c.endswith(tags[-1])] if tags else gains


def write_report(
    out_dir: str | Path,
    table: pd.DataFrame,
    *,
    street: str | None = None,
    blind_spots: gpd.GeoDataFrame | None = None,
    sites: pd.DataFrame | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    boundary: gpd.GeoDataFrame | None = None,
    service_areas: gpd.GeoDataFrame | None = None,
    corridors=None,
    targets: Sequence[dict] | None = None,
    map_category: str | None = None,
    site_minutes: float | None = None,
    profile: str | None = None,
    notes: Sequence[str] = (),
    n_sites: int = 3,
    write_csv: bool = True,
) -> dict[str, Path]:
    """Write a street's full report into ``out_dir``.

    When the table's ``demand_basis`` is ``"nodes"`` (no population known) every count is
    worded as 路网节点, never 人/人口.

    Parameters
    ----------
    out_dir : str or Path
    table : DataFrame
        Tidy coverage table (coverage contract columns).
    street : str, optional
        Street name for titles (default: the table's ``boundary``).
    blind_spots, sites, facilities, boundary, service_areas : optional
        Outputs of ``lifecircle coverage`` / ``lifecircle site`` and the inputs, for the tables,
        the summary and the map.
    corridors : CorridorResult, optional
        From :func:`lifecircle.analysis.corridors.resolve_corridors` (its ``summary`` table and
        ``lines`` layer).
    targets : list of dict, optional
        Plan figures ``{category, minutes, population_share, source}`` compared in the summary.
    map_category : str, optional
        Category drawn on the static map (default: the sites' category, else the first).
    site_minutes : float, optional
        Threshold whose gains the sites table quotes (default: the largest).
    profile : str, optional
        Speed profile name, shown (in Chinese) under the title; default the table's ``profile``
        when it holds one.
    notes : list of str
        Extra remarks (data caveats) listed at the end.
    n_sites : int
        Sites quoted in the summary.
    write_csv : bool
        Write ``coverage.csv`` (default); ``False`` when the coverage step has written it.

    Returns
    -------
    dict
        Paths: ``xlsx``, ``csv`` (unless ``write_csv`` is false), ``charts`` (list), ``map``,
        ``md``, ``html``.
    """
    _check_table(table)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    corridor_summary = getattr(corridors, "summary", None) if corridors is not None else None
    corridor_lines = getattr(corridors, "lines", None) if corridors is not None else None
    if corridors is not None and corridor_summary is None and isinstance(corridors, pd.DataFrame):
        corridor_summary = corridors
    paths: dict = write_tables(
        table,
        out,
        blind_spots=blind_spots,
        sites=sites,
        corridors=corridor_summary,
        targets=targets,
        write_csv=write_csv,
    )
    if profile is None and "profile" in table.columns and table["profile"].nunique() == 1:
        profile = str(table["profile"].iloc[0])
    if street is None and "boundary" in table.columns and table["boundary"].nunique() == 1:
        street = str(table["boundary"].iloc[0])
    street = street or "研究范围"

    groups = _groups(table)
    charts = []
    for k, (label, sub) in enumerate(groups):
        name = "coverage_chart.png" if len(groups) == 1 else f"coverage_chart_{k + 1}.png"
        title = f"{street} {label} 步行可达覆盖率".replace("  ", " ")
        charts.append(coverage_chart(sub, out / name, title=title, targets=targets))
    paths["charts"] = charts
    if map_category is None and sites is not None and "category" in getattr(sites, "columns", []):
        map_category = str(sites["category"].iloc[0]) if len(sites) else None
    if map_category is None:
        map_category = _ordered_categories(table)[0]
    best = key_figures(table, None, sites, n_sites)["sites"]
    paths["map"] = static_map(
        out / "map.png",
        boundary=boundary,
        service_areas=service_areas,
        facilities=facilities,
        blind_spots=blind_spots,
        sites=best,
        corridors=corridor_lines,
        category=map_category,
        title=f"{street} {category_label(map_category)}设施步行可达范围",
    )

    blocks = _report_blocks(
        table,
        street,
        blind_spots,
        sites,
        corridor_summary,
        targets,
        charts,
        paths["map"],
        site_minutes,
        profile,
        notes,
        n_sites,
        map_category,
    )
    md_path = out / "report.md"
    md_path.write_text(_render_md(blocks), encoding="utf-8")
    html_path = out / "report.html"
    html_path.write_text(_render_html(blocks, f"{street} 15分钟社区生活圈评估"), encoding="utf-8")
    paths["md"], paths["html"] = md_path, html_path
    return paths


def _report_blocks(
    table,
    street,
    blind_spots,
    sites,
    corridor_summary,
    targets,
    charts,
    map_path,
    site_minutes,
    profile,
    notes,
    n_sites,
    map_category,
) -> list:
    from ..settings import PROFILES

    words = _words(table)
    blocks: list = [("h1", f"{street} 15分钟社区生活圈评估报告")]
    meta = f"生成日期：{date.today().isoformat()}"
    if profile and profile in PROFILES:
        meta += f"；步行速度：{PROFILES[profile].label}"
    if words.nodes:
        meta += "；需求口径：路网节点（每个节点权重 1）"
    blocks.append(("p", meta))

    groups = _groups(table)
    # 1. key findings
    bullets = []
    for label, sub in groups:
        fig = key_figures(sub, blind_spots if len(groups) == 1 else None, sites, n_sites)
        prefix = f"{label}：" if label else ""
        for cat, rows in fig["coverage"].items():
            shares = " / ".join(_pct(r[1]) for r in rows)
            ths = " / ".join(r[0].replace(" ", "") for r in rows)
            text = f"{prefix}{category_label(cat)}：{ths} 步行可达{words.share} {shares}"
            if any(not (isinstance(r[2], float) and math.isnan(r[2])) for r in rows):
                text += f"（60 岁以上 {' / '.join(_pct(r[2]) for r in rows)}）"
            bullets.append(text)
    fig = key_figures(groups[0][1], blind_spots, sites, n_sites)
    for cat, rows in fig["blind"].items():
        if rows:
            lab, pop, pop60 = rows[-1]
            what = "服务盲区" if fig["blind_source"] == "blind_spots" else "未覆盖"
            head = f"{category_label(cat)} {lab.replace(' ', '')}{what}"
            if words.nodes:
                text = f"{head}约 {words.count(_num(pop))}"
            else:
                text = f"{head}人口约 {_num(pop)} 人"
            if not math.isnan(pop60):
                text += f"（60 岁以上 {_num(pop60)} 人）"
            bullets.append(text)
    if fig["sites"] is not None and len(fig["sites"]):
        s = fig["sites"]
        gains = _site_gain_columns(s, site_minutes)
        site_words = demand_words(demand_basis(s, default=words.basis))
        gpop = [c for c in gains if c.startswith(("gain_pop_", "gain_nodes_"))]
        text = f"建议新增站点 {len(s)} 处"
        if gpop:
            unit = "个路网节点" if gpop[0].startswith("gain_nodes_") else site_words.unit
            text += f"，合计新增覆盖约 {_num(s[gpop[0]].sum())} {unit}"
            g60 = [c for c in gains if c.startswith("gain_pop60_")]
            if g60:
                text += f"（60 岁以上 {_num(s[g60[0]].sum())} 人）"
        bullets.append(text)
    if targets:
        tt = _targets_table(table, targets)
        for r in tt.itertuples(index=False):
            bullets.append(
                f"规划值对比：{category_label(r.category)} {float(r.minutes):g} 分钟覆盖率"
                f"规划 {_pct(r.target_share)}，本次测算 {_pct(r.actual_share)}"
            )
    blocks += [("h2", "一、主要结论"), ("ul", bullets)]

    # 2. coverage tables
    blocks.append(("h2", "二、各类设施步行可达覆盖率"))
    for label, sub in groups:
        if label:
            blocks.append(("h3", label))
        fig = key_figures(sub)
        ths = [r[0] for r in next(iter(fig["coverage"].values()))]
        with_60 = not (
            words.nodes and _all_nan(r[2] for rr in fig["coverage"].values() for r in rr)
        )
        header = ["设施类别"] + [f"{t} {words.noun}" for t in ths]
        header += [f"{t} 60岁以上" for t in ths] if with_60 else []
        rows = []
        for cat, rr in fig["coverage"].items():
            row = [category_label(cat)] + [_pct(r[1]) for r in rr]
            rows.append(row + ([_pct(r[2]) for r in rr] if with_60 else []))
        blocks.append(("table", header, rows))
    for k, chart in enumerate(charts):
        blocks.append(("img", chart, f"覆盖率图 {k + 1}" if len(charts) > 1 else "覆盖率图"))

    # 3. blind spots
    blocks.append(("h2", "三、服务盲区"))
    fig = key_figures(groups[0][1], blind_spots, sites, n_sites)
    if fig["blind_source"] == "table":
        blocks.append(("p", f"未提供盲区图层：下表为覆盖表中未覆盖的{words.noun}。"))
    with_60 = not (words.nodes and _all_nan(r[2] for rr in fig["blind"].values() for r in rr))
    header = ["设施类别", "步行时间", f"盲区{words.noun}"] + (["其中 60 岁以上"] if with_60 else [])
    rows = [
        [category_label(cat), lab, _num(pop)] + ([_num(pop60)] if with_60 else [])
        for cat, rr in fig["blind"].items()
        for lab, pop, pop60 in rr
    ]
    blocks.append(("table", header, rows) if rows else ("p", "无服务盲区。"))
    blocks.append(("img", map_path, "设施与服务盲区分布图"))

    # 4. sites
    blocks.append(("h2", f"四、建议新增站点（前 {n_sites} 处）"))
    if fig["sites"] is not None and len(fig["sites"]):
        s = fig["sites"]
        site_words = demand_words(demand_basis(s, default=words.basis))
        gains = _site_gain_columns(s, site_minutes)
        header = ["排序", "经度（WGS84）", "纬度（WGS84）"]
        has_gcj = {"lon_gcj02", "lat_gcj02"} <= set(s.columns)
        if has_gcj:
            header += ["经度（高德）", "纬度（高德）"]
        header += [_gain_label(c, site_words) for c in gains]
        rows = []
        for i, r in s.iterrows():
            row = [
                str(int(r["rank"])) if "rank" in s.columns else str(i + 1),
                f"{r['lon']:.6f}",
                f"{r['lat']:.6f}",
            ]
            if has_gcj:
                row += [f"{r['lon_gcj02']:.6f}", f"{r['lat_gcj02']:.6f}"]
            row += [(f"{r[c]:.1f}" if c.startswith(("gain_pp",)) else _num(r[c])) for c in gains]
            rows.append(row)
        blocks.append(("table", header, rows))
    else:
        blocks.append(("p", "未进行选址分析。"))

    # 5. corridors
    if corridor_summary is not None and len(corridor_summary):
        cw = _corridor_words(corridor_summary, words)
        blocks.append(("h2", "五、规划慢行廊道"))
        header = ["名称", "类型", "长度（米）", "5分钟步行覆盖", "状态", "未匹配道路"]
        rows = []
        for r in corridor_summary.to_dict("records"):
            cover = "—"
            if r.get("pop") is not None and not (
                isinstance(r["pop"], float) and math.isnan(r["pop"])
            ):
                unit = demand_words(r.get("demand") or cw.basis).unit
                cover = f"{_num(r['pop'])} {unit}"
                if r.get("pop_share") is not None and not (
                    isinstance(r["pop_share"], float) and math.isnan(r["pop_share"])
                ):
                    cover += f"（{_pct(r['pop_share'])}）"
            length = (
                "—"
                if r.get("status") == "placeholder"
                else (
                    f"{r['n_points']} 个节点"
                    if r.get("kind") == "gateway"
                    else _num(r.get("length_m"))
                )
            )
            rows.append(
                [
                    r.get("corridor"),
                    _KIND_LABELS.get(r.get("kind"), r.get("kind")),
                    length,
                    cover,
                    _STATUS_LABELS.get(r.get("status"), r.get("status")),
                    r.get("unmatched") or "",
                ]
            )
        blocks.append(("table", header, rows))
        gaps = [
            f"{r['corridor']}：{r['gaps']}"
            for r in corridor_summary.to_dict("records")
            if r.get("gaps")
        ]
        if gaps:
            blocks += [("p", "断点："), ("ul", gaps)]

    # 6. notes
    note_list = list(notes)
    if words.nodes:
        note_list.append(
            "覆盖率为步行网络距离计算；需求按路网节点计（每个节点权重 1）：覆盖率为落在"
            "步行可达范围内的路网节点比例，盲区与新增覆盖均为路网节点数。"
        )
    else:
        note_list.append("覆盖率为步行网络距离计算；人口覆盖率按人口落在步行可达范围内的比例计。")
    blocks += [("h2", "说明"), ("ul", note_list)]
    return blocks


def _all_nan(values: Iterable) -> bool:
    return all(v is None or (isinstance(v, float) and math.isnan(v)) for v in values)


def _render_md(blocks: list) -> str:
    parts = []
    for b in blocks:
        kind = b[0]
        if kind == "h1":
            parts.append(f"# {b[1]}")
        elif kind == "h2":
            parts.append(f"## {b[1]}")
        elif kind == "h3":
            parts.append(f"### {b[1]}")
        elif kind == "p":
            parts.append(b[1])
        elif kind == "ul":
            parts.append("\n".join(f"- {x}" for x in b[1]))
        elif kind == "table":
            parts.append(_md_table(b[1], b[2]))
        elif kind == "img":
            parts.append(f"![{b[2]}]({Path(b[1]).name})")
    return "\n\n".join(parts) + "\n"


_CSS = """
body{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei","Source Han Sans SC",
"WenQuanYi Micro Hei",sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;
line-height:1.6}
h1{border-bottom:3px solid #c2185b;padding-bottom:.3em}
h2{border-left:6px solid #3182bd;padding-left:.5em;margin-top:1.8em}
table{border-collapse:collapse;margin:1em 0;font-size:14px}
th,td{border:1px solid #ccc;padding:4px 10px;text-align:right}
th{background:#f0f4f8}td:first-child,th:first-child{text-align:left}
img{max-width:100%;border:1px solid #ddd;margin:.5em 0}
"""


def _render_html(blocks: list, title: str) -> str:
    parts = []
    for b in blocks:
        kind = b[0]
        if kind in ("h1", "h2", "h3"):
            parts.append(f"<{kind}>{html.escape(b[1])}</{kind}>")
        elif kind == "p":
            parts.append(f"<p>{html.escape(b[1])}</p>")
        elif kind == "ul":
            parts.append("<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in b[1]) + "</ul>")
        elif kind == "table":
            parts.append(_html_table(b[1], b[2]))
        elif kind == "img":
            data = base64.b64encode(Path(b[1]).read_bytes()).decode("ascii")
            parts.append(
                f'<figure><img alt="{html.escape(b[2])}" '
                f'src="data:image/png;base64,{data}"><figcaption>'
                f"{html.escape(b[2])}</figcaption></figure>"
            )
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(parts)
        + "\n</body></html>\n"
    )
