"""A district's report text: streets ranked per category and threshold, blind spots per street."""

from __future__ import annotations

import math

import pandas as pd

from ..vocabulary import DemandWords, category_label, fmt_num, fmt_pct

__all__ = ["district_blocks", "district_name", "is_district_table"]

#: Streets named at most in one "lowest" phrase (ties included); more are counted.
MAX_NAMED = 5


def is_district_table(table: pd.DataFrame) -> bool:
    """True for a district run's table: a ``level`` column with ``district`` rows."""
    return "level" in table.columns and bool((table["level"] == "district").any())


def district_name(table: pd.DataFrame) -> tuple[str, int]:
    """The district's name (its total rows' ``boundary``) and its number of streets."""
    total = table.loc[table["level"] == "district", "boundary"]
    streets = table.loc[table["level"] == "street", "boundary"].nunique()
    return str(total.iloc[0]), int(streets)


def _main_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Time thresholds of the main (first) profile."""
    t = table.loc[table["minutes"].notna()]
    if "profile" in t.columns and len(t):
        t = t.loc[t["profile"] == t["profile"].iloc[0]]
    return t


def _unit(words: DemandWords) -> str:
    return "路网节点" if words.nodes else "人"


def _named(rows: pd.DataFrame, col: str, fmt) -> str:
    parts = [f"{r['boundary']} {fmt(r[col])}" for _, r in rows.head(MAX_NAMED).iterrows()]
    more = len(rows) - MAX_NAMED
    return "、".join(parts) + (f" 等 {len(rows)} 个街道" if more > 0 else "")


def _lowest(streets: pd.DataFrame, k: int) -> str:
    """The ``k`` lowest shares, and every street tied with the k-th."""
    s = streets.sort_values(["population_share", "boundary"], kind="stable")
    cut = s["population_share"].iloc[min(k, len(s)) - 1]
    return _named(s.loc[s["population_share"] <= cut], "population_share", fmt_pct)


def _category_bullets(g: pd.DataFrame, k: int, words: DemandWords) -> list[str]:
    label = category_label(g["category"].iloc[0])
    total = g.loc[g["level"] == "district"].sort_values("minutes")
    shares = " / ".join(fmt_pct(x) for x in total["population_share"])
    ths = " / ".join(f"{m:g}分钟" for m in total["minutes"])
    out = [f"{label}：全区 {ths} 步行可达{words.share} {shares}"]
    low = []
    for m, gm in g.groupby("minutes", sort=True):
        whole = gm.loc[gm["level"] == "district", "population_share"].iloc[0]
        low.append(
            f"{m:g} 分钟 {_lowest(gm.loc[gm['level'] == 'street'], k)}（全区 {fmt_pct(whole)}）"
        )
    out.append(f"{label} {words.share}最低的街道：" + "；".join(low))
    last = g.loc[g["minutes"] == g["minutes"].max()]
    streets = last.loc[last["level"] == "street"].sort_values(
        ["blind_spot_population", "boundary"], ascending=[False, True], kind="stable"
    )
    whole = last.loc[last["level"] == "district"].iloc[0]
    text = (
        f"{label} {whole['minutes']:g} 分钟服务盲区{words.noun}（单位：{_unit(words)}）："
        f"{_named(streets, 'blind_spot_population', fmt_num)}；"
        f"全区合计 {words.count(fmt_num(whole['blind_spot_population']))}"
    )
    p60 = whole.get("blind_spot_pop60", math.nan)
    if not words.nodes and isinstance(p60, float | int) and not math.isnan(p60):
        text += f"（60 岁以上 {fmt_num(p60)} 人）"
    out.append(text)
    return out


def _blind_table(t: pd.DataFrame, words: DemandWords) -> tuple:
    """Streets × categories: the blind spots' demand at each category's largest threshold."""
    cats = list(dict.fromkeys(t["category"].astype(str)))
    last = t.loc[t["minutes"] == t.groupby("category")["minutes"].transform("max")]
    header = ["街道"] + [
        f"{category_label(c)} {last.loc[last['category'] == c, 'minutes'].iloc[0]:g} 分钟"
        for c in cats
    ]
    rows = []
    for name, g in last.groupby("boundary", sort=False):
        by = g.set_index(g["category"].astype(str))["blind_spot_population"]
        rows.append([str(name)] + [fmt_num(by.get(c)) for c in cats])
    return ("table", header, rows)


def district_blocks(table: pd.DataFrame, words: DemandWords) -> list:
    """一、主要结论 of a district run, per street and naming the demand basis.

    For each category: the district's shares at every threshold, the streets with the lowest
    share at each threshold (ties included), the blind spots' demand per street at the largest
    threshold; then a table of the blind spots per street and category.

    Parameters
    ----------
    table : DataFrame
        A district run's coverage table (``level``: ``street`` rows, then ``district`` rows).
    words : DemandWords
        The table's wording (人口 / 路网节点).

    Returns
    -------
    list
        Report blocks (``("h2", ...)``, ``("ul", bullets)``, ``("p", ...)``, ``("table", ...)``).
    """
    district, n = district_name(table)
    t = _main_rows(table)
    k = 1 if n <= 3 else (2 if n <= 6 else 3)
    basis = "路网节点（每个节点权重 1，不是人数）" if words.nodes else "人口"
    bullets = [f"需求口径：{basis}；{district}共 {n} 个街道，各街道按{words.share}比较"]
    for _, g in t.groupby("category", sort=False):
        bullets += _category_bullets(g, k, words)
    return [
        ("h2", "一、主要结论"),
        ("ul", bullets),
        (
            "p",
            f"各街道服务盲区{words.noun}（单位：{_unit(words)}；最后一行为全区合计；"
            "各街道排名见 coverage.xlsx「街道排名」）：",
        ),
        _blind_table(t, words),
    ]
