"""Coverage bar charts (PNG), by category and threshold."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..vocabulary import labels_for, table_words
from .figures import MINUTE_COLOURS, Text, font_or_warn, rc_params, save_figure
from .tables import check_table, ordered_categories, with_thresholds


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

    check_table(table)
    font = font_or_warn()
    T = Text(font is not None)
    t = with_thresholds(table)
    cats = ordered_categories(t)
    labels = labels_for(cats)
    thresholds = t[["_tkey", "_tlabel"]].drop_duplicates().sort_values("_tkey")
    words = table_words(table)
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
    with matplotlib.rc_context(rc_params(font)):
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
                colour = MINUTE_COLOURS.get(
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
        return save_figure(fig, Path(path), dpi)
