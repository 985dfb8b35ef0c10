"""A street's full report in one folder: workbook, charts, static map, Markdown and HTML."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd

from ..console import console_text
from ..vocabulary import category_label
from .charts import coverage_chart
from .staticmap import static_map
from .tables import check_table, ordered_categories, table_groups
from .text import key_figures, render_html, render_md, report_blocks
from .workbook import write_tables


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
    extra_sheets: Sequence[tuple[str, pd.DataFrame]] = (),
    extra_blocks: Sequence = (),
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
    extra_sheets : sequence of (name, DataFrame)
        More workbook sheets (residents: 居民区, 可达性2SFCA, 达标率).
    extra_blocks : sequence
        More report blocks, placed before the closing 说明.

    Returns
    -------
    dict
        Paths: ``xlsx``, ``csv`` (unless ``write_csv`` is false), ``charts`` (list), ``map``,
        ``md``, ``html``.
    """
    check_table(table)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    corridor_summary, corridor_lines = _corridor_parts(corridors)
    paths: dict = write_tables(
        table,
        out,
        blind_spots=blind_spots,
        sites=sites,
        corridors=corridor_summary,
        targets=targets,
        write_csv=write_csv,
        extra_sheets=extra_sheets,
    )
    if profile is None and "profile" in table.columns and table["profile"].nunique() == 1:
        profile = str(table["profile"].iloc[0])
    if street is None and "boundary" in table.columns and table["boundary"].nunique() == 1:
        street = str(table["boundary"].iloc[0])
    street = street or "研究范围"
    # images cannot show control characters (a missing-glyph box): written as their escapes
    shown = console_text(street)
    paths["charts"] = _charts(table, out, shown, targets)
    if map_category is None and sites is not None and "category" in getattr(sites, "columns", []):
        map_category = str(sites["category"].iloc[0]) if len(sites) else None
    if map_category is None:
        map_category = ordered_categories(table)[0]
    paths["map"] = static_map(
        out / "map.png",
        boundary=boundary,
        service_areas=service_areas,
        facilities=facilities,
        blind_spots=blind_spots,
        sites=key_figures(table, None, sites, n_sites)["sites"],
        corridors=corridor_lines,
        category=map_category,
        title=f"{shown} {category_label(map_category)}设施步行可达范围",
    )
    blocks = report_blocks(
        table, street, blind_spots, sites, corridor_summary, targets, paths["charts"],
        paths["map"], site_minutes, profile, notes, n_sites, map_category,
    )  # fmt: skip
    if extra_blocks:
        blocks[-2:-2] = list(extra_blocks)  # the last two blocks are the closing 说明
    paths["md"], paths["html"] = _write_text(blocks, out, street)
    return paths


def _corridor_parts(corridors) -> tuple[pd.DataFrame | None, gpd.GeoDataFrame | None]:
    """(summary table, lines layer) of a :class:`CorridorResult` (or a bare summary table)."""
    if corridors is None:
        return None, None
    summary = getattr(corridors, "summary", None)
    if summary is None and isinstance(corridors, pd.DataFrame):
        summary = corridors
    return summary, getattr(corridors, "lines", None)


def _charts(table: pd.DataFrame, out: Path, street: str, targets) -> list[Path]:
    """One coverage chart per table group (``coverage_chart.png`` when there is one)."""
    groups = table_groups(table)
    charts = []
    for k, (label, sub) in enumerate(groups):
        name = "coverage_chart.png" if len(groups) == 1 else f"coverage_chart_{k + 1}.png"
        title = f"{street} {label} 步行可达覆盖率".replace("  ", " ")
        charts.append(coverage_chart(sub, out / name, title=title, targets=targets))
    return charts


def _write_text(blocks, out: Path, street: str) -> tuple[Path, Path]:
    """``report.md`` and ``report.html`` of the report blocks."""
    md_path = out / "report.md"
    md_path.write_text(render_md(blocks), encoding="utf-8")
    html_path = out / "report.html"
    html_path.write_text(render_html(blocks, f"{street} 15分钟社区生活圈评估"), encoding="utf-8")
    return md_path, html_path
