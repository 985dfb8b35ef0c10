"""The short Chinese summary: key figures, rendered as Markdown and self-contained HTML."""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from urllib.parse import quote

import geopandas as gpd
import numpy as np
import pandas as pd

from ..vocabulary import (
    KIND_LABELS,
    STATUS_LABELS,
    category_label,
    corridor_words,
    demand_basis,
    demand_words,
    fmt_num,
    fmt_pct,
    gain_label,
    table_words,
)
from .district import district_blocks, district_name, is_district_table
from .tables import check_table, ordered_categories, table_groups, targets_table, with_thresholds


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
    check_table(table)
    t = with_thresholds(table).sort_values("_tkey", kind="stable")
    cov: dict[str, list] = {}
    for cat in ordered_categories(t):
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
        b = with_thresholds(pd.DataFrame(blind_spots.drop(columns=blind_spots.geometry.name)))
        for cat in ordered_categories(t):
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
        for cat in ordered_categories(t):
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
    first = t[t["category"].astype(str) == ordered_categories(t)[0]]
    total = float(first["population"].iloc[0]) if "population" in first.columns else np.nan
    return {
        "coverage": cov,
        "blind": blind,
        "blind_source": blind_source,
        "sites": best,
        "population": total,
    }


# ---------------------------------------------------------------------------------------- report
_MD_SPECIAL = re.compile(r"([\\`\[\]|])")


def md_text(text) -> str:
    """Plain text (names from the data) safe in Markdown: a viewer renders report.md as HTML.

    ``&``, ``<`` and ``>`` become entities (no tag or script from a name), ``\\ ` [ ] |`` are
    backslash-escaped (no link, code span or extra table cell), line breaks become spaces.
    """
    t = html.escape(str(text), quote=False)
    t = re.sub(r"[\r\n]+", " ", t)
    return _MD_SPECIAL.sub(r"\\\1", t)


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(md_text(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(md_text(c) for c in r) + " |" for r in rows]
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


def report_blocks(
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

    words = table_words(table)
    district = is_district_table(table)
    if district:
        street, n_streets = district_name(table)
    title = f"{street} 15分钟社区生活圈评估报告"
    blocks: list = [("h1", f"{title}（{n_streets} 个街道）" if district else title)]
    meta = f"生成日期：{date.today().isoformat()}"
    if profile and profile in PROFILES:
        meta += f"；步行速度：{PROFILES[profile].label}"
    if words.nodes:
        meta += "；需求口径：路网节点（每个节点权重 1）"
    blocks.append(("p", meta))

    groups = table_groups(table)
    fig = key_figures(groups[0][1], blind_spots, sites, n_sites)
    if district:
        blocks += district_blocks(table, words)
    else:
        blocks += _findings(
            table, groups, blind_spots, sites, targets, site_minutes, n_sites, words
        )
    blocks += _coverage_section(groups, charts, words)
    blocks += _blind_section(fig, map_path, words)
    blocks += _sites_section(fig, site_minutes, n_sites, words)
    blocks += _corridor_section(corridor_summary, words)
    blocks += _notes_section(notes, words)
    return blocks


def _findings(table, groups, blind_spots, sites, targets, site_minutes, n_sites, words) -> list:
    """一、主要结论: coverage, blind spots, new sites and plan figures in one list."""
    bullets = []
    for label, sub in groups:
        fig = key_figures(sub, blind_spots if len(groups) == 1 else None, sites, n_sites)
        prefix = f"{label}：" if label else ""
        for cat, rows in fig["coverage"].items():
            shares = " / ".join(fmt_pct(r[1]) for r in rows)
            ths = " / ".join(r[0].replace(" ", "") for r in rows)
            text = f"{prefix}{category_label(cat)}：{ths} 步行可达{words.share} {shares}"
            if any(not (isinstance(r[2], float) and math.isnan(r[2])) for r in rows):
                text += f"（60 岁以上 {' / '.join(fmt_pct(r[2]) for r in rows)}）"
            bullets.append(text)
    fig = key_figures(groups[0][1], blind_spots, sites, n_sites)
    for cat, rows in fig["blind"].items():
        if rows:
            lab, pop, pop60 = rows[-1]
            what = "服务盲区" if fig["blind_source"] == "blind_spots" else "未覆盖"
            head = f"{category_label(cat)} {lab.replace(' ', '')}{what}"
            if words.nodes:
                text = f"{head}约 {words.count(fmt_num(pop))}"
            else:
                text = f"{head}人口约 {fmt_num(pop)} 人"
            if not math.isnan(pop60):
                text += f"（60 岁以上 {fmt_num(pop60)} 人）"
            bullets.append(text)
    if fig["sites"] is not None and len(fig["sites"]):
        s = fig["sites"]
        gains = _site_gain_columns(s, site_minutes)
        site_words = demand_words(demand_basis(s, default=words.basis))
        gpop = [c for c in gains if c.startswith(("gain_pop_", "gain_nodes_"))]
        text = f"建议新增站点 {len(s)} 处"
        if gpop:
            unit = "个路网节点" if gpop[0].startswith("gain_nodes_") else site_words.unit
            text += f"，合计新增覆盖约 {fmt_num(s[gpop[0]].sum())} {unit}"
            g60 = [c for c in gains if c.startswith("gain_pop60_")]
            if g60:
                text += f"（60 岁以上 {fmt_num(s[g60[0]].sum())} 人）"
        bullets.append(text)
    if targets:
        tt = targets_table(table, targets)
        for r in tt.itertuples(index=False):
            bullets.append(
                f"规划值对比：{category_label(r.category)} {float(r.minutes):g} 分钟覆盖率"
                f"规划 {fmt_pct(r.target_share)}，本次测算 {fmt_pct(r.actual_share)}"
            )
    return [("h2", "一、主要结论"), ("ul", bullets)]


def _coverage_section(groups, charts, words) -> list:
    """二、覆盖率: one table per boundary/profile, then the charts."""
    blocks: list = [("h2", "二、各类设施步行可达覆盖率")]
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
            row = [category_label(cat)] + [fmt_pct(r[1]) for r in rr]
            rows.append(row + ([fmt_pct(r[2]) for r in rr] if with_60 else []))
        blocks.append(("table", header, rows))
    for k, chart in enumerate(charts):
        blocks.append(("img", chart, f"覆盖率图 {k + 1}" if len(charts) > 1 else "覆盖率图"))
    return blocks


def _blind_section(fig, map_path, words) -> list:
    """三、服务盲区: blind spots per category and threshold, and the map."""
    blocks: list = [("h2", "三、服务盲区")]
    if fig["blind_source"] == "table":
        blocks.append(("p", f"未提供盲区图层：下表为覆盖表中未覆盖的{words.noun}。"))
    with_60 = not (words.nodes and _all_nan(r[2] for rr in fig["blind"].values() for r in rr))
    header = ["设施类别", "步行时间", f"盲区{words.noun}"] + (["其中 60 岁以上"] if with_60 else [])
    rows = [
        [category_label(cat), lab, fmt_num(pop)] + ([fmt_num(pop60)] if with_60 else [])
        for cat, rr in fig["blind"].items()
        for lab, pop, pop60 in rr
    ]
    blocks.append(("table", header, rows) if rows else ("p", "无服务盲区。"))
    blocks.append(("img", map_path, "设施与服务盲区分布图"))
    return blocks


def _sites_section(fig, site_minutes, n_sites, words) -> list:
    """四、建议新增站点: rank, WGS84 and Amap coordinates, gains."""
    blocks: list = [("h2", f"四、建议新增站点（前 {n_sites} 处）")]
    if fig["sites"] is not None and len(fig["sites"]):
        s = fig["sites"]
        site_words = demand_words(demand_basis(s, default=words.basis))
        gains = _site_gain_columns(s, site_minutes)
        header = ["排序", "经度（WGS84）", "纬度（WGS84）"]
        has_gcj = {"lon_gcj02", "lat_gcj02"} <= set(s.columns)
        if has_gcj:
            header += ["经度（高德）", "纬度（高德）"]
        header += [gain_label(c, site_words) for c in gains]
        rows = []
        for i, r in s.iterrows():
            row = [
                str(int(r["rank"])) if "rank" in s.columns else str(i + 1),
                f"{r['lon']:.6f}",
                f"{r['lat']:.6f}",
            ]
            if has_gcj:
                row += [f"{r['lon_gcj02']:.6f}", f"{r['lat_gcj02']:.6f}"]
            row += [(f"{r[c]:.1f}" if c.startswith(("gain_pp",)) else fmt_num(r[c])) for c in gains]
            rows.append(row)
        blocks.append(("table", header, rows))
    else:
        blocks.append(("p", "未进行选址分析。"))
    return blocks


def _corridor_section(corridor_summary, words) -> list:
    """五、规划慢行廊道 (nothing without a corridor plan)."""
    blocks: list = []
    if corridor_summary is not None and len(corridor_summary):
        cw = corridor_words(corridor_summary, words)
        blocks.append(("h2", "五、规划慢行廊道"))
        header = ["名称", "类型", "长度（米）", "5分钟步行覆盖", "状态", "未匹配道路"]
        rows = []
        for r in corridor_summary.to_dict("records"):
            cover = "—"
            if r.get("pop") is not None and not (
                isinstance(r["pop"], float) and math.isnan(r["pop"])
            ):
                unit = demand_words(r.get("demand") or cw.basis).unit
                cover = f"{fmt_num(r['pop'])} {unit}"
                if r.get("pop_share") is not None and not (
                    isinstance(r["pop_share"], float) and math.isnan(r["pop_share"])
                ):
                    cover += f"（{fmt_pct(r['pop_share'])}）"
            length = (
                "—"
                if r.get("status") == "placeholder"
                else (
                    f"{r['n_points']} 个节点"
                    if r.get("kind") == "gateway"
                    else fmt_num(r.get("length_m"))
                )
            )
            rows.append(
                [
                    r.get("corridor"),
                    KIND_LABELS.get(r.get("kind"), r.get("kind")),
                    length,
                    cover,
                    STATUS_LABELS.get(r.get("status"), r.get("status")),
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
    return blocks


def _notes_section(notes, words) -> list:
    """说明: the data remarks and how coverage was computed."""
    note_list = list(notes)
    if words.nodes:
        note_list.append(
            "覆盖率为步行网络距离计算；需求按路网节点计（每个节点权重 1）：覆盖率为落在"
            "步行可达范围内的路网节点比例，盲区与新增覆盖均为路网节点数。"
        )
    else:
        note_list.append("覆盖率为步行网络距离计算；人口覆盖率按人口落在步行可达范围内的比例计。")
    return [("h2", "说明"), ("ul", note_list)]


def _all_nan(values: Iterable) -> bool:
    return all(v is None or (isinstance(v, float) and math.isnan(v)) for v in values)


def render_md(blocks: list) -> str:
    parts = []
    for b in blocks:
        kind = b[0]
        if kind == "h1":
            parts.append(f"# {md_text(b[1])}")
        elif kind == "h2":
            parts.append(f"## {md_text(b[1])}")
        elif kind == "h3":
            parts.append(f"### {md_text(b[1])}")
        elif kind == "p":
            parts.append(md_text(b[1]))
        elif kind == "ul":
            parts.append("\n".join(f"- {md_text(x)}" for x in b[1]))
        elif kind == "table":
            parts.append(_md_table(b[1], b[2]))
        elif kind == "img":
            parts.append(f"![{md_text(b[2])}]({quote(Path(b[1]).name)})")
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


def render_html(blocks: list, title: str) -> str:
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
        # no script at all may run in the report, nothing may be fetched (images are data:)
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'\">"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(parts)
        + "\n</body></html>\n"
    )
