"""Residents' sheets (居民区, 可达性, 达标率) and report paragraphs, in Chinese.

Takes the plain tables of :mod:`lifecircle.workflow.residents` (duck-typed: ``compounds``,
``missing``, ``access_summary``, ``attainment``, ``notes``) and words them for planners.
Residents estimated from floor area are always labelled 估算.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..units import tidy_numbers
from ..vocabulary import category_label

__all__ = ["residents_blocks", "residents_sheets"]

COMPOUND_LABELS = {
    "compound": "居民区",
    "category": "设施类别",
    "minutes": "步行时间阈值（分钟）",
    "limit_m": "步行距离阈值（米）",
    "reached": "是否可达",
    "walk_m": "至最近设施步行距离（米）",
    "walk_min": "至最近设施步行时间（分钟）",
    "population": "人口（估算）",
    "pop60": "60岁以上人口（估算）",
    "gate_basis": "起点",
    "n_gates": "出入口数",
}
ACCESS_LABELS = {
    "boundary": "街道",
    "category": "设施类别",
    "limit_m": "步行距离阈值（米）",
    "demand": "需求（人）",
    "mean": "平均可达性（每千人容量）",
    "p10": "第10百分位",
    "gini": "基尼系数",
    "share_zero": "可达性为0的比例",
}
ATTAIN_LABELS = {
    "category": "设施类别",
    "standard": "标准",
    "level_min": "标准层级（分钟）",
    "limit_m": "标准步行距离（米）",
    "population_share": "居民达标率",
    "pop60_share": "60岁以上居民达标率",
    "compound_share": "居民区达标率",
    "n_compounds": "居民区数",
    "source": "依据",
    "uncertain": "存疑",
    "note": "说明",
    "plan_minutes": "规划目标（分钟）",
    "plan_share": "规划目标值",
    "plan_actual_share": "规划口径本次测算",
    "plan_source": "规划出处",
}


#: 2SFCA columns of the access summary: capacity per 1,000 residents, shown to 2 decimals.
ACCESS_PER_1000 = ("mean", "p10", "p50", "p90")


def residents_table(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` (居民区, 2SFCA or 达标率 table) rounded for planners, the same in CSV and XLSX.

    :func:`lifecircle.units.tidy_numbers` (unreachable walks empty, people to one decimal,
    shares and Gini to 4 decimals), then accessibility per 1,000 residents to 2 decimals.
    """
    out = tidy_numbers(df, "pop") if len(df) else df.copy()
    for col in ACCESS_PER_1000:
        if col in out.columns and pd.api.types.is_float_dtype(out[col].dtype):
            out[col] = out[col].round(2)
    return out


def _zh(df: pd.DataFrame, labels: dict) -> pd.DataFrame:
    out = residents_table(df)
    if "category" in out:
        out["category"] = out["category"].map(lambda c: category_label(str(c)))
    for col in ("reached", "uncertain"):
        if col in out:
            out[col] = out[col].map(
                lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else
                ("是" if bool(v) else "否")
            )  # fmt: skip
    return out[[c for c in labels if c in out.columns]].rename(columns=labels)


def residents_sheets(res) -> list[tuple[str, pd.DataFrame]]:
    """The workbook sheets: 居民区, 可达性2SFCA, 达标率 (those that were computed)."""
    sheets = []
    if res.compounds is not None:
        sheets.append(("居民区", _zh(res.compounds, COMPOUND_LABELS)))
    if res.access_summary is not None:
        sheets.append(("可达性2SFCA", _zh(res.access_summary, ACCESS_LABELS)))
    if res.attainment is not None:
        sheets.append(("达标率", _zh(res.attainment, ATTAIN_LABELS)))
    return sheets


def _pct(x) -> str:
    return "—" if x is None or not np.isfinite(float(x)) else f"{100 * float(x):.1f}%"


def _num(x, digits: int = 1) -> str:
    return "—" if x is None or not np.isfinite(float(x)) else f"{float(x):,.{digits}f}"


def residents_blocks(res) -> list:
    """Report blocks (``("h2", text)``, ``("p", text)``, ``("ul", [...])``, ``("table", ...)``)."""
    blocks: list = []
    if res.attainment is not None:
        blocks += [("h2", f"达标率（{res.standard_title}）")]
        rows = [
            [
                category_label(str(r["category"])),
                "—" if pd.isna(r["limit_m"]) else f"{r['limit_m']:.0f} 米",
                _pct(r["population_share"]),
                _pct(r["pop60_share"]),
                _pct(r["compound_share"]),
                "存疑" if r.get("uncertain") is True else "",
            ]
            for r in res.attainment.to_dict("records")
        ]
        header = ["设施类别", "标准步行距离", "居民", "60岁以上", "居民区", "备注"]
        blocks.append(("table", header, rows))
    if res.compounds is not None:
        blocks += _compound_blocks(res)
    if res.access_summary is not None:
        blocks.append(("h2", "设施容量可达性（2SFCA）"))
        rows = [
            [str(r["boundary"]), _num(r["mean"], 2), _num(r["p10"], 2), _num(r["gini"], 3)]
            for r in res.access_summary.to_dict("records")
        ]
        blocks.append(("table", ["街道", "平均（每千人）", "第10百分位", "基尼系数"], rows))
    if res.notes:
        blocks.append(("ul", list(res.notes)))
    return blocks


def _compound_blocks(res) -> list:
    n = res.compounds["compound"].nunique()
    blocks: list = [("h2", "居民区步行可达"), ("p", f"共 {n} 个居民区，从最近的出入口步行计算。")]
    if res.missing is not None and len(res.missing):
        items = []
        for (cat, minutes), sub in res.missing.groupby(["category", "minutes"], sort=False):
            names = "、".join(str(x) for x in sub["compound"].head(30))
            more = f" 等 {len(sub)} 个" if len(sub) > 30 else f"（{len(sub)} 个）"
            pop60 = sub["pop60"].sum(min_count=1)
            older = f"，60岁以上约 {pop60:,.0f} 人（估算）" if np.isfinite(pop60) else ""
            items.append(
                f"{category_label(str(cat))} {float(minutes):g} 分钟目标未达到：{names}{more}{older}"
            )
        blocks += [("p", "未达到规划目标的居民区："), ("ul", items)]
    elif res.missing is not None and res.n_targets:
        blocks.append(("p", "所有居民区均达到规划目标。"))
    else:
        blocks.append(("p", "规划未给出可与居民区比较的步行时间目标。"))
    return blocks
