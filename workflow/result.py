"""The result of a run: the files written and the results they came from, with a Chinese summary."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

#: Chinese names of the siting models (summary lines).
SITING_METHODS = {
    "greedy": "贪心+交换法",
    "mclp": "最大覆盖模型 (MCLP)",
    "lscp": "集合覆盖模型 (LSCP)",
    "pmedian": "P 中位模型",
}


class PipelineResult(dict):
    """The files :func:`run_pipeline` wrote (a dict), plus the results they came from.

    Keys (each present when the step ran): ``coverage`` ({``csv``, ``gpkg``}), ``sites``
    ({``csv``, ``gpkg``, ``candidates``}), ``corridors`` ({``gpkg``, ``csv``}), ``rejected``
    (``rejected.csv``, when any input row was left out), ``map`` ({``online``, ``offline``}),
    ``studio`` (``studio.html``, the siting studio),
    ``report`` ({``xlsx``, ``csv``, ``charts`` (list), ``map``, ``md``, ``html``}).

    Attributes
    ----------
    coverage : CoverageResult
    sites, new_coverage : GeoDataFrame or None
    siting : dict or None
        The siting summary (model, threshold, before/after, gap ...).
    corridors : CorridorResult or None
    inputs : dict
        Sizes of the inputs (network, facilities by category, demand) for the summary.
    notes : list of str
        Remarks (Chinese) written into the report.
    """

    coverage = None
    sites = None
    new_coverage = None
    siting: dict | None = None
    corridors = None
    residents = None
    inputs: dict
    notes: list

    def files(self) -> list[Path]:
        """Every file written, in step order."""
        out: list[Path] = []

        def walk(v):
            if isinstance(v, Mapping):
                for x in v.values():
                    walk(x)
            elif isinstance(v, list | tuple):
                for x in v:
                    walk(x)
            elif isinstance(v, str | Path):
                p = Path(v)
                if p not in out:
                    out.append(p)

        walk(dict(self))
        return out

    def summary_lines(self) -> list[str]:
        """A short Chinese summary (what the commands print)."""
        return summary_lines(self)


def _fmt_share(x) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def _fmt_minutes(m) -> str:
    return f"{float(m):g}"


def summary_lines(result: PipelineResult) -> list[str]:
    """The short Chinese summary of a pipeline run: coverage per category, the new sites."""
    from ..vocabulary import category_label

    lines: list[str] = []
    info = result.inputs
    known = info.get("population_known", True)
    unit = "人" if known else "个路网节点"
    lines.append(
        f"研究范围：{info.get('area_name', '')}，{info.get('area_km2', float('nan')):.2f} 平方千米；"
        f"步行路网 {info.get('n_nodes', 0)} 个节点、{info.get('street_km', 0):.1f} 千米街道；"
        f"需求点 {info.get('n_demand', 0)} 个（{'按人口加权' if known else '人口未知，每个路网节点权重 1'}）"
    )
    fac = info.get("facilities_by_category", {})
    if fac:
        lines.append("设施：" + "，".join(f"{category_label(c)} {n} 处" for c, n in fac.items()))
    table = result.coverage.table if result.coverage is not None else None
    if table is not None and len(table):
        t = table[pd.to_numeric(table["minutes"], errors="coerce").notna()]
        if "profile" in t.columns and t["profile"].nunique() > 1:
            t = t[t["profile"] == info.get("profile", t["profile"].iloc[0])]
        what = "人口覆盖率" if known else "路网节点覆盖率"
        if "level" in t.columns:  # a district run: its total (streets in coverage.csv, 街道排名)
            t = t[t["level"] == "district"]
            what += "（全区合计，各街道见 coverage.csv 与 coverage.xlsx 街道排名）"
        lines.append(f"步行可达{what}（{info.get('profile_label', '')}）：")
        for cat in dict.fromkeys(t["category"].astype(str)):
            sub = t[t["category"].astype(str) == cat].sort_values("minutes")
            parts = [
                f"{_fmt_minutes(m)} 分钟 {_fmt_share(s)}"
                for m, s in zip(sub["minutes"], sub["population_share"], strict=True)
            ]
            text = f"  {category_label(cat)}：" + " / ".join(parts)
            if known and "pop60_share" in sub and sub["pop60_share"].notna().any():
                text += (
                    "（60 岁以上 " + " / ".join(_fmt_share(s) for s in sub["pop60_share"]) + "）"
                )
            lines.append(text)
    s = result.siting
    if s is not None and result.sites is not None:
        method = SITING_METHODS.get(str(s.get("model", "")).split("-")[0], s.get("model"))
        lines.append(
            f"建议新增{category_label(s['category'])}站点 {len(result.sites)} 处（{method}，"
            f"{_fmt_minutes(s['minutes'])} 分钟步行，目标：{s['weight_label']}）："
            f"覆盖 {s['covered_before']:,.0f} → {s['covered_after']:,.0f} {unit}"
            f"（{_fmt_share(s['share_before'])} → {_fmt_share(s['share_after'])}）"
        )
        if s.get("candidates_label"):
            lines.append(f"  候选点：{s['candidates_label']}")
        gain = next(
            (
                c
                for c in result.sites.columns
                if c.startswith("gain_")
                and c.endswith(f"_{_fmt_minutes(s['minutes'])}min")
                and ("pop60" in c if s["weight"] == "pop60" and known else "pp" not in c)
            ),
            None,
        )
        for _, r in result.sites.iterrows():
            text = (
                f"  第 {int(r['rank'])} 处：{r['lon']:.6f}, {r['lat']:.6f}（WGS84）"
                f"；高德 {r['lon_gcj02']:.6f}, {r['lat_gcj02']:.6f}"
            )
            if gain is not None:
                text += f"；新增覆盖 {r[gain]:,.0f} {unit}"
            lines.append(text)
        if s.get("gap") is not None and np.isfinite(s.get("gap", np.nan)):
            lines.append(f"  与最优解的差距上限 {100 * s['gap']:.2f}%")
    if result.corridors is not None:
        waiting = [r.name for r in result.corridors.reports if r.status == "placeholder"]
        for rep in result.corridors.reports:
            if rep.status != "placeholder":
                lines.append("慢行廊道 " + str(rep).splitlines()[0])
        if waiting:
            lines.append(f"慢行廊道待指定道路 {len(waiting)} 条：{'、'.join(waiting)}")
    return lines
