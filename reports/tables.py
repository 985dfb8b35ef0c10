"""Coverage tables shaped for people: thresholds, groups, Chinese headers and values."""

from __future__ import annotations

import math
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from ..vocabulary import (
    BASIS_VALUES,
    COLUMN_LABELS,
    KIND_LABELS,
    LEVEL_VALUES,
    MODEL_LABELS,
    NODE_COLUMN_LABELS,
    SITE_KIND_LABELS,
    STATUS_LABELS,
    WEIGHT_VALUES,
    DemandWords,
    crowfly_ring_label,
    demand_words,
    drop_unknown_pop60,
    gain_label,
    labels_for,
    profile_label,
    table_words,
    threshold_label,
)


# ---------------------------------------------------------------------------------------- tables
def with_thresholds(table: pd.DataFrame) -> pd.DataFrame:
    """Table with a sortable threshold key and a Chinese threshold label."""
    t = table.copy()
    minutes = t["minutes"] if "minutes" in t.columns else pd.Series(np.nan, index=t.index)
    metres = t["metres"] if "metres" in t.columns else pd.Series(np.nan, index=t.index)
    minutes = pd.to_numeric(minutes, errors="coerce")
    metres = pd.to_numeric(metres, errors="coerce")
    # minutes first (by minutes), then distance-only thresholds (by metres)
    t["_tkey"] = np.where(minutes.notna(), minutes, 1e6 + metres.fillna(0))
    t["_tlabel"] = [
        threshold_label(m if pd.notna(m) else None, d if pd.notna(d) else None)
        for m, d in zip(minutes, metres, strict=True)
    ]
    return t


def ordered_categories(table: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(table["category"].astype(str)))


def table_groups(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Split by boundary and profile when the table holds several."""
    keys = [
        c
        for c in ("boundary", "profile")
        if c in table.columns and table[c].nunique(dropna=True) > 1
    ]
    if not keys:
        return [("", table)]
    out = []
    for vals, sub in table.groupby(keys, sort=False):
        vals = vals if isinstance(vals, tuple) else (vals,)
        names = [
            profile_label(v) if k == "profile" else str(v) for k, v in zip(keys, vals, strict=True)
        ]
        out.append(("，".join(names), sub))
    return out


def summary_pivot(table: pd.DataFrame) -> pd.DataFrame:
    """Category × threshold: population and 60+ shares (percent numbers) for the xlsx."""
    words = table_words(table)
    with_60 = "pop60_share" in table.columns and not (
        words.nodes and pd.to_numeric(table["pop60_share"], errors="coerce").isna().all()
    )
    t = with_thresholds(table)
    labels = labels_for(ordered_categories(t))
    rows = []
    group_cols = [c for c in ("boundary", "profile") if c in t.columns]
    for keys, sub in (
        t.groupby(group_cols + ["category"], sort=False)
        if group_cols
        else t.groupby(["category"], sort=False)
    ):
        keys = keys if isinstance(keys, tuple) else (keys,)
        vals = [
            profile_label(v) if c == "profile" else v
            for c, v in zip(group_cols, keys[:-1], strict=True)
        ]
        row = dict(zip([COLUMN_LABELS.get(c, c) for c in group_cols], vals, strict=True))
        row["设施类别"] = labels.get(str(keys[-1]), str(keys[-1]))
        for _, r in sub.sort_values("_tkey").iterrows():
            row[f"{r['_tlabel']} {words.share}"] = r.get("population_share")
            if with_60:
                row[f"{r['_tlabel']} 60岁以上覆盖率"] = r.get("pop60_share")
        rows.append(row)
    return pd.DataFrame(rows)


def zh_columns(
    df: pd.DataFrame, extra: dict[str, str] | None = None, words: DemandWords | None = None
) -> pd.DataFrame:
    words = words or demand_words()
    labels = {**COLUMN_LABELS, **(NODE_COLUMN_LABELS if words.nodes else {}), **(extra or {})}
    out = drop_unknown_pop60(df, words).copy()
    if "category" in out.columns and "category_label" not in out.columns:
        cat_labels = labels_for(out["category"].astype(str).unique())
        out.insert(
            list(out.columns).index("category") + 1,
            "category_label",
            out["category"].astype(str).map(cat_labels),
        )
    if "kind" in out.columns:
        for kinds in (KIND_LABELS, SITE_KIND_LABELS):
            if out["kind"].isin(kinds).all():
                out["kind"] = out["kind"].map(kinds)
                break
    if "status" in out.columns:
        out["status"] = out["status"].map(lambda s: STATUS_LABELS.get(s, s))
    if "model" in out.columns:
        out["model"] = out["model"].map(lambda s: MODEL_LABELS.get(s, s))
    if "profile" in out.columns:
        out["profile"] = out["profile"].map(lambda p: p if pd.isna(p) else profile_label(p))
    for col, values in (
        ("demand_basis", BASIS_VALUES), ("demand", BASIS_VALUES), ("level", LEVEL_VALUES),
    ):  # fmt: skip
        if col in out.columns:
            out[col] = out[col].map(lambda v, values=values: values.get(v, v))
    if "weight" in out.columns:
        out["weight"] = out["weight"].map(
            lambda v: "路网节点" if words.nodes and v == "pop" else WEIGHT_VALUES.get(v, v)
        )
    return out.rename(
        columns={
            c: gain_label(str(c), words) or crowfly_ring_label(str(c), words) or labels.get(c, c)
            for c in out.columns
        }
    )


def without_geometry(gdf) -> pd.DataFrame:
    if gdf is None:
        return None
    if isinstance(gdf, gpd.GeoDataFrame):
        df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        if len(gdf) and gdf.crs is not None:
            from ..geo.crs import metric_crs_for

            metric = gdf.to_crs(metric_crs_for(gdf.to_crs(4326)))
            if (metric.geom_type.isin(["Polygon", "MultiPolygon"])).any():
                df["area_m2"] = metric.area.round(0).to_numpy()
            cent = metric.geometry.representative_point().to_crs(4326)
            if "lon" not in df.columns:
                df["lon"] = cent.x.round(6).to_numpy()
                df["lat"] = cent.y.round(6).to_numpy()
        return df
    return pd.DataFrame(gdf)


def targets_table(table: pd.DataFrame, targets: Sequence[dict] | None) -> pd.DataFrame | None:
    if not targets:
        return None
    rows = []
    for t in targets:
        sub = table[(table["category"].astype(str) == str(t["category"]))]
        if "minutes" in sub.columns:
            sub = sub[
                np.isclose(pd.to_numeric(sub["minutes"], errors="coerce"), float(t["minutes"]))
            ]
        actual = float(sub["population_share"].iloc[0]) if len(sub) else np.nan
        rows.append(
            {
                "category": t["category"],
                "minutes": t["minutes"],
                "target_share": t["population_share"],
                "actual_share": actual,
                "difference_pp": round(100.0 * (actual - t["population_share"]), 2)
                if not math.isnan(actual)
                else np.nan,
                "source": t.get("source"),
            }
        )
    return pd.DataFrame(rows)


def text_width(value) -> int:
    s = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)


def check_table(table: pd.DataFrame) -> None:
    missing = [c for c in ("category", "population_share") if c not in table.columns]
    if "minutes" not in table.columns and "metres" not in table.columns:
        missing.append("minutes")
    if missing:
        raise ValueError(f"coverage table lacks column(s) {missing}; has {list(table.columns)}")
