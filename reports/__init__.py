"""Street reports: Excel/CSV tables, PNG charts, a static map, and a short Chinese summary.

What planners hand to their leaders: for one street, :func:`write_report` (:mod:`.street`) writes

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

One module per output kind: :mod:`.workbook` (xlsx/csv), :mod:`.charts`, :mod:`.staticmap`,
:mod:`.text` (Markdown/HTML summary); :mod:`.tables` shapes tables for them and
:mod:`.figures` holds what charts and the static map share (fonts, saving). The Chinese labels
come from :mod:`lifecircle.vocabulary`, which the maps use too.
"""

from .charts import coverage_chart
from .figures import NoCJKFontWarning, cjk_font
from .staticmap import static_map
from .street import write_report
from .text import key_figures
from .workbook import write_tables

__all__ = [
    "NoCJKFontWarning",
    "cjk_font",
    "coverage_chart",
    "key_figures",
    "static_map",
    "write_report",
    "write_tables",
]
