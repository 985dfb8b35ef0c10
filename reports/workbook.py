"""The Excel workbook ``coverage.xlsx`` (Chinese headers) and ``coverage.csv``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .. import cells
from ..vocabulary import (
    BLIND_LABELS,
    COLUMN_LABELS,
    CORRIDOR_LABELS,
    NODE_BLIND_LABELS,
    NODE_COLUMN_LABELS,
    NODE_CORRIDOR_LABELS,
    SHARE_COLUMNS,
    corridor_words,
    demand_basis,
    demand_words,
    table_words,
)
from .tables import (
    check_table,
    summary_pivot,
    targets_table,
    text_width,
    without_geometry,
    zh_columns,
)


def write_tables(
    table: pd.DataFrame,
    out_dir: str | Path,
    *,
    blind_spots: gpd.GeoDataFrame | None = None,
    sites: pd.DataFrame | None = None,
    corridors: pd.DataFrame | None = None,
    targets: Sequence[dict] | None = None,
    write_csv: bool = True,
    extra_sheets: Sequence[tuple[str, pd.DataFrame]] = (),
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
    extra_sheets : sequence of (name, DataFrame)
        More sheets with Chinese headers already (居民区, 可达性2SFCA, 达标率).

    Returns
    -------
    dict
        ``{"xlsx": path, "csv": path}`` (no ``"csv"`` key when ``write_csv`` is false).
    """
    check_table(table)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    if write_csv:
        csv_path = out / "coverage.csv"
        cells.write_csv(table, csv_path)
        written["csv"] = csv_path
    xlsx_path = out / "coverage.xlsx"
    words = table_words(table)
    blind_labels = {**BLIND_LABELS, **(NODE_BLIND_LABELS if words.nodes else {})}
    sheets: list[tuple[str, pd.DataFrame]] = [
        ("覆盖率汇总", summary_pivot(table)),
        ("覆盖率明细", zh_columns(table, words=words)),
    ]
    if blind_spots is not None:
        sheets.append(
            ("服务盲区", zh_columns(without_geometry(blind_spots), blind_labels, words=words))
        )
    if sites is not None:
        sites_words = demand_words(demand_basis(sites, default=words.basis))
        sheets.append(("建议新增站点", zh_columns(without_geometry(sites), words=sites_words)))
    if corridors is not None:
        summary = getattr(corridors, "summary", corridors)
        cw = corridor_words(summary, words)
        labels = {**CORRIDOR_LABELS, **(NODE_CORRIDOR_LABELS if cw.nodes else {})}
        sheets.append(("慢行廊道", zh_columns(summary, labels, words=cw)))
    tt = targets_table(table, targets)
    if tt is not None:
        sheets.append(("规划目标对比", zh_columns(tt, words=words)))
    sheets += list(extra_sheets)
    share_headers = {COLUMN_LABELS[c] for c in SHARE_COLUMNS if c in COLUMN_LABELS}
    share_headers |= {NODE_COLUMN_LABELS[c] for c in SHARE_COLUMNS if c in NODE_COLUMN_LABELS}
    share_headers |= {CORRIDOR_LABELS[c] for c in ("pop_share", "pop60_share")}
    share_headers.add(NODE_CORRIDOR_LABELS["pop_share"])

    def format_sheet(ws, df: pd.DataFrame) -> None:
        ws.freeze_panes = "A2"
        for j, col in enumerate(df.columns, start=1):
            letter = ws.cell(row=1, column=j).column_letter
            width = max([text_width(col)] + [text_width(v) for v in df[col].head(200)])
            ws.column_dimensions[letter].width = min(60, max(8, width + 2))
            is_share = (
                str(col) in share_headers
                or str(col).endswith("覆盖率")
                or str(col).endswith("比例")
                or str(col).endswith("达标率")
                or str(col) in ("规划值", "本次测算")
            )
            if is_share:
                for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                    row[0].number_format = "0.0%"

    cells.write_xlsx(xlsx_path, sheets, format_sheet)
    return {"xlsx": xlsx_path, **written}
