"""Demand bases and rounding: every number reaches a planner's file with its unit and sensible digits.

A demand basis is what a count counts: network nodes (``nodes``: no population given, every
node weighs 1), residents (``pop``) or residents aged 60+ (``pop60``). :data:`BASIS_LABELS` are
the Chinese words every output uses; node counts are never called people (人).

:func:`tidy_numbers` rounds a table for CSV/XLSX: counts of nodes become integers, shares keep
four decimals (no ``1.0000000000000002``), coordinates seven (1 cm), metres one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["BASIS_LABELS", "BASIS_UNITS", "basis_label", "basis_unit", "tidy_numbers"]

#: What a count counts, in the words of the plans.
BASIS_LABELS = {"nodes": "路网节点", "pop": "人口", "pop60": "60岁以上人口"}

#: The unit after a count (``+63 个路网节点``, ``+63 人``).
BASIS_UNITS = {"nodes": "个路网节点", "pop": "人", "pop60": "人"}


def basis_label(basis: str) -> str:
    """``路网节点``, ``人口`` or ``60岁以上人口`` for ``nodes``, ``pop`` or ``pop60``."""
    return BASIS_LABELS.get(basis, basis)


def basis_unit(basis: str) -> str:
    """The unit after a count of ``basis``: ``个路网节点`` or ``人``."""
    return BASIS_UNITS.get(basis, "")


def _is_count_of_nodes(col: str, basis: str | None) -> bool:
    if "nodes" in col and not col.endswith(("_share", "_km", "_m")):
        return True
    if basis != "nodes":
        return False
    people = ("population", "pop", "gain_pop", "objective", "bound", "covered_", "unserved",
              "blind_spot_pop")  # fmt: skip
    return col.startswith(people) and "share" not in col and "pp" not in col.split("_")


def _digits(col: str) -> int | None:
    if col in ("lon", "lat") or col.startswith(("lon_", "lat_", "src_x", "src_y")):
        return 7
    if "share" in col or col in ("gap", "rel_gap", "gini") or col.endswith("_ratio"):
        return 4
    if col.startswith("gain_pp"):
        return 2
    if col.endswith(("_km2", "_km", "_ha")):
        return 4
    if col.endswith(("_m", "metres", "_s", "minutes")) or col in ("runtime_s",):
        return 1
    return None


def tidy_numbers(df: pd.DataFrame, basis: str | None = None) -> pd.DataFrame:
    """A copy of ``df`` rounded for planners' files.

    Parameters
    ----------
    df : DataFrame
        Any table (geometry columns are left alone).
    basis : str, optional
        ``nodes`` when the demand is network nodes: people-named counts (``population*``,
        ``pop*``, ``gain_pop*``, ``objective``, ``bound``) are then node counts, made integers.

    Returns
    -------
    DataFrame
        Node counts as integers (``Int64``, empty where unknown); infinite values (a walk
        that never arrives) empty, not ``inf``; shares and Gini 4 decimals; percentage points
        2; lon/lat 7; km and km² 4; metres, seconds and minutes 1; other floats 6 significant
        decimals (people counts from a distributed population, and ``demand``, keep one decimal).
    """
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if not isinstance(col, str) or not pd.api.types.is_float_dtype(s.dtype):
            continue
        s = s.mask(np.isinf(s))
        if _is_count_of_nodes(col, basis):
            vals = s.to_numpy(dtype=float)
            finite = np.isfinite(vals)
            if np.allclose(vals[finite], np.round(vals[finite]), atol=1e-6):
                out[col] = pd.array(np.where(finite, np.round(vals), np.nan)).astype("Int64")
                continue
        digits = _digits(col)
        if digits is None:
            is_people = col.startswith(
                ("population", "pop", "gain_pop", "blind_spot_pop", "objective", "bound", "demand")
            )
            digits = 1 if is_people else 6
        out[col] = s.round(digits)
    return out
