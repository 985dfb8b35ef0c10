"""Chinese vocabulary shared by maps and reports: labels of categories, profiles, columns and
demand bases (人口 / 路网节点), and the number formats every output uses."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

#: Chinese category labels (``data/facilities/categories.yaml`` wins when it lists the category).
CATEGORY_LABELS: dict[str, str] = {
    "elder_care": "为老服务",
    "fitness": "体育健身",
    "car_parking": "停车场",
    "bike_parking": "非机动车停放",
    "charging": "充电桩",
    "health": "医疗卫生",
    "culture": "文化",
    "market": "商业便民",
    "education": "教育",
    "park": "公园绿地",
    "community": "社区服务",
    "other": "其他",
    "全部": "全部",
}
CATEGORY_EN = {
    "elder_care": "Elder care",
    "fitness": "Fitness",
    "car_parking": "Car parking",
    "bike_parking": "Non-motor parking",
    "charging": "Charging",
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
    "run": "运行（输出目录）",
    "level": "层级",
    "street": "街道",
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
CORRIDOR_LABELS = {
    "pop": "5分钟步行覆盖人口",
    "pop60": "覆盖60岁以上人口",
    "pop_share": "覆盖人口比例",
    "pop60_share": "覆盖60岁以上比例",
    "minutes": "步行时间（分钟）",
    "profile": "步行速度",
}
BLIND_LABELS = {"population": "盲区人口", "pop60": "盲区60岁以上人口"}

#: Header overrides when the demand is network nodes (``demand_basis == "nodes"``).
NODE_COLUMN_LABELS = {
    "population": "路网节点数",
    "population_covered": "覆盖路网节点数",
    "population_uncovered": "未覆盖路网节点数",
    "population_share": "路网节点覆盖率",
    "crowfly_population_share": "直线距离路网节点覆盖率",
    "blind_spot_population": "盲区路网节点数",
}
NODE_BLIND_LABELS = {"population": "盲区路网节点数"}
NODE_CORRIDOR_LABELS = {"pop": "5分钟步行覆盖路网节点", "pop_share": "覆盖路网节点比例"}
#: Values of the demand/weight columns.
BASIS_VALUES = {"population": "常住人口", "nodes": "路网节点"}
#: Values of a district run's ``level`` column (a street's rows, the district's total).
LEVEL_VALUES = {"street": "街道", "district": "全区合计"}
WEIGHT_VALUES = {"pop": "常住人口", "pop60": "60岁以上人口", "nodes": "路网节点"}

SHARE_COLUMNS = {
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

KIND_LABELS = {"ring": "环线", "axis": "轴线", "themed": "主题街", "gateway": "门户节点"}
SITE_KIND_LABELS = {
    "optimal": "最优选址 (已证明)",
    "greedy": "贪心选址 (启发式)",
    "best_found": "选址 (未证明最优)",
    "proposed": "拟建",
    "existing": "现状",
    "candidate": "候选",
}
#: Siting models as the console, tables and report name them.
MODEL_LABELS = {
    "mclp": "最大覆盖模型 (MCLP)",
    "lscp": "最少设施覆盖模型 (LSCP)",
    "pmedian": "P-中值模型 (总步行距离最小)",
    "greedy": "贪心+交换法 (启发式)",
    "greedy-mclp": "贪心+交换法 (启发式, 最大覆盖)",
    "greedy-pmedian": "贪心+交换法 (启发式, 总步行距离)",
    "what-if": "假设分析 (拟建站点)",
}

STATUS_LABELS = {
    "optimal": "已证明最优",
    "heuristic": "启发式解",
    "time_limit": "达到时间上限",
    "infeasible": "无可行解",
    "ok": "完整",
    "partial": "有断点/未匹配",
    "unresolved": "未能匹配",
    "placeholder": "待指定道路",
    "drawn": "手绘",
}


# --------------------------------------------------------------------------- demand wording
@dataclass(frozen=True)
class DemandWords:
    """How counts of demand are worded: people, or network nodes when no population is known.

    When the demand has no population (``demand_basis == "nodes"`` in the coverage table: every
    walking-network node weighs 1) the counts are nodes, and maps, tables and reports must not
    call them 人/人口.

    Attributes
    ----------
    basis : str
        ``"population"`` or ``"nodes"``.
    noun : str
        人口 / 路网节点 (in headers: ``f"{noun}覆盖率"``, ``f"盲区{noun}"``).
    unit : str
        What follows a number: 人 / 个路网节点.
    total : str
        Header of the total count: 常住人口 / 路网节点数.
    """

    basis: str
    noun: str
    unit: str
    total: str

    @property
    def nodes(self) -> bool:
        """True when the counts are network nodes."""
        return self.basis == "nodes"

    @property
    def share(self) -> str:
        """人口覆盖率 / 路网节点覆盖率."""
        return f"{self.noun}覆盖率"

    def count(self, text: str) -> str:
        """A formatted number with its unit: ``"1,234 人"`` / ``"1,234 个路网节点"``."""
        return f"{text} {self.unit}"


_WORDS = {
    "population": DemandWords("population", "人口", "人", "常住人口"),
    "nodes": DemandWords("nodes", "路网节点", "个路网节点", "路网节点数"),
}


def demand_words(basis: str | None = "population") -> DemandWords:
    """The wording of a demand basis (``"population"``, the default, or ``"nodes"``)."""
    return _WORDS["nodes" if basis == "nodes" else "population"]


def demand_basis(*frames, default: str = "population") -> str:
    """``"nodes"`` or ``"population"``: what the counts in these outputs are.

    The first frame with a ``demand_basis`` column (the coverage table) decides: ``"nodes"``
    when all its values are ``"nodes"``. Otherwise a ``weight`` (siting output) or ``demand``
    (corridor summary) column whose values are all ``"nodes"`` says so; else ``default``.
    ``None`` frames are skipped.
    """
    for df in frames:
        if isinstance(df, pd.DataFrame) and "demand_basis" in df.columns:
            vals = df["demand_basis"].dropna().astype(str)
            if len(vals):
                return "nodes" if (vals == "nodes").all() else "population"
    for df in frames:
        for col in ("weight", "demand"):
            if isinstance(df, pd.DataFrame) and col in df.columns:
                vals = df[col].dropna().astype(str)
                if len(vals) and (vals == "nodes").all():
                    return "nodes"
    return default


# ---------------------------------------------------------------------------------------- labels
def category_label(category: str) -> str:
    """Chinese label of a facility category (from the facilities' category rules when known)."""
    try:
        from .geo.facilities import load_categories

        labels = load_categories().labels
        if category in labels:
            return labels[category]
    except (ImportError, OSError, ValueError, AttributeError):
        pass
    return CATEGORY_LABELS.get(category, category)


def labels_for(categories: Iterable[str]) -> dict[str, str]:
    return {c: category_label(c) for c in categories}


def profile_label(profile) -> str:
    """Chinese label of a speed profile (``elderly`` → 老年人步行 (0.9 m/s)); others unchanged."""
    from .settings import PROFILES

    prof = PROFILES.get(str(profile))
    return prof.label if prof is not None else str(profile)


def table_words(table: pd.DataFrame | None) -> DemandWords:
    """Wording of the counts of a coverage table (路网节点 when ``demand_basis == "nodes"``)."""
    return demand_words(demand_basis(table))


def drop_unknown_pop60(df: pd.DataFrame, words: DemandWords) -> pd.DataFrame:
    """Without population (node counts) the 60+ columns hold nothing: leave them out."""
    if not words.nodes:
        return df
    drop = [
        c
        for c in df.columns
        if "pop60" in str(c) and pd.to_numeric(df[c], errors="coerce").isna().all()
    ]
    return df.drop(columns=drop)


def crowfly_ring_label(col: str, words: DemandWords) -> str | None:
    """``crowfly_500m_population_share`` → 直线500米内人口覆盖率."""
    m = re.fullmatch(r"crowfly_([\d.]+)m_(population|pop60)_share", col)
    if m is None:
        return None
    what = words.noun if m[2] == "population" else "60岁以上"
    return f"直线{m[1]}米内{what}覆盖率"


def threshold_label(minutes, metres=None) -> str:
    if minutes is not None and not (isinstance(minutes, float) and math.isnan(minutes)):
        return f"{float(minutes):g} 分钟"
    if metres is not None and not (isinstance(metres, float) and math.isnan(metres)):
        return f"{float(metres):g} 米"
    return "—"


def fmt_pct(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{100.0 * float(x):.1f}%"


def fmt_num(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{float(x):,.0f}"


def gain_label(col: str, words: DemandWords | None = None) -> str | None:
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


def corridor_words(summary: pd.DataFrame | None, words: DemandWords) -> DemandWords:
    """The corridors' own ``demand`` column decides their wording; else the table's."""
    if summary is not None and "demand" in getattr(summary, "columns", []):
        vals = summary["demand"].dropna().astype(str)
        if len(vals):
            return demand_words("nodes" if (vals == "nodes").all() else "population")
    return words
