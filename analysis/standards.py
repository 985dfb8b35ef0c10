"""Planning standards (GB 50180-2018, Shanghai 15-minute guidance) and the 达标率 they give.

A standard (``data/standards/<name>.yaml``) says, per category and facility type, the
life-circle level (5 / 10 / 15 minutes) a facility must be reached within and the walking
metres of each level, each with its ``source``; ``uncertain`` marks figures that could not be
checked. :func:`attainment` scores every category at its own level: the share of residents,
of residents 60+ and of 居民区 whose walk to the nearest facility (the same walk as coverage) is
within it, with the street config's plan targets beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..settings import PACKAGE_DATA

__all__ = [
    "STANDARDS_DIR",
    "CategoryStandard",
    "Standard",
    "attainment",
    "load_standard",
    "standard_names",
]

STANDARDS_DIR = PACKAGE_DATA / "standards"


@dataclass(frozen=True)
class CategoryStandard:
    """One category's requirement: scored at ``level`` minutes = ``metres`` walking."""

    category: str
    level: int
    metres: float
    source: str
    uncertain: bool = False
    note: str = ""
    types: tuple[dict, ...] = ()


@dataclass(frozen=True)
class Standard:
    """A planning standard: its levels and per-category requirements."""

    name: str
    title: str
    source: str
    levels: dict[int, dict]
    categories: dict[str, CategoryStandard] = field(default_factory=dict)

    def threshold(self, category: str) -> tuple[float, float] | None:
        """``(minutes, metres)`` a category is scored at, or ``None`` if the standard is silent."""
        c = self.categories.get(category)
        return None if c is None else (float(c.level), c.metres)


def standard_names() -> list[str]:
    """Names of the standards shipped in ``data/standards``."""
    return sorted(p.stem for p in STANDARDS_DIR.glob("*.yaml"))


def _level_metres(levels: dict, level, where: str) -> float:
    if level not in levels:
        raise ValueError(f"{where}: level {level!r} is not one of {sorted(levels)}")
    metres = float(levels[level]["metres"])
    if not (np.isfinite(metres) and metres > 0):
        raise ValueError(f"{where}: level {level} has no positive metres")
    return metres


def load_standard(name_or_path: str | Path) -> Standard:
    """Read a standard by name (``gb50180``, ``shanghai15``) or from a YAML path.

    Raises
    ------
    ValueError
        Unknown name, a category without ``level``/``source``, or a level without metres.
    """
    path = Path(name_or_path)
    if not path.suffix:
        path = STANDARDS_DIR / f"{name_or_path}.yaml"
        if not path.exists():
            raise ValueError(f"unknown standard {name_or_path!r}; known: {standard_names()}")
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    levels = {int(k): dict(v) for k, v in data["levels"].items()}
    cats = {}
    for cat, spec in (data.get("categories") or {}).items():
        where = f"{path.name}: {cat}"
        if "level" not in spec or not spec.get("source"):
            raise ValueError(f"{where}: every category needs a level and a source")
        for t in spec.get("types") or []:
            _level_metres(levels, t.get("level"), f"{where} / {t.get('type')}")
        cats[cat] = CategoryStandard(
            category=cat,
            level=int(spec["level"]),
            metres=_level_metres(levels, int(spec["level"]), where),
            source=str(spec["source"]),
            uncertain=bool(spec.get("uncertain", False)),
            note=str(spec.get("note", "")),
            types=tuple(spec.get("types") or ()),
        )
    return Standard(str(data["name"]), str(data["title"]), str(data["source"]), levels, cats)


def _share(reached: np.ndarray, weight: np.ndarray) -> float:
    w = np.nan_to_num(np.asarray(weight, dtype=float))
    total = w.sum()
    return float((w * reached).sum() / total) if total > 0 else float("nan")


def _targets_for(targets, category: str) -> dict:
    for t in targets or ():
        if t.get("category") == category:
            return t
    return {}


def attainment(
    standard: Standard,
    walks: pd.DataFrame,
    pop: np.ndarray,
    pop60: np.ndarray | None = None,
    compound_walks: pd.DataFrame | None = None,
    targets=None,
    target_metres=None,
) -> pd.DataFrame:
    """The 达标率 table: per category, the share meeting the standard's walk.

    Parameters
    ----------
    standard : Standard
    walks : DataFrame
        Demand points × category: walking metres to the nearest facility
        (:func:`lifecircle.analysis.point_walks.nearest_walks`; NaN/inf = not reached).
    pop, pop60 : arrays
        Residents (or node weights) and 60+ per demand point.
    compound_walks : DataFrame, optional
        居民区 × category walking metres (from the nearest gate).
    targets : list of dict, optional
        Plan targets of the street config (``category``, ``minutes``, ``population_share``,
        ``source``); shown beside the standard.
    target_metres : callable, optional
        Turns a plan target's minutes into walking metres (the run's profile); with it the
        share actually reached at the plan's own threshold is given too.

    Returns
    -------
    DataFrame
        ``category``, ``level_min``, ``limit_m``, ``population_share``, ``pop60_share``,
        ``compound_share``, ``n_compounds``, ``source``, ``uncertain``, ``note``,
        ``plan_minutes``, ``plan_share``, ``plan_actual_share``, ``plan_source``.
    """
    rows = []
    for cat in walks.columns:
        spec = standard.categories.get(cat)
        d = walks[cat].to_numpy(dtype=float)
        row = {"category": cat, "standard": standard.name}
        if spec is None:
            row.update(note=f"{standard.title} 未规定此类设施的步行距离")
        else:
            ok = np.isfinite(d) & (d <= spec.metres + 1e-6)
            row.update(
                level_min=spec.level,
                limit_m=spec.metres,
                population_share=_share(ok, pop),
                pop60_share=np.nan if pop60 is None else _share(ok, pop60),
                source=spec.source,
                uncertain=spec.uncertain,
                note=spec.note,
            )
            if compound_walks is not None and cat in compound_walks and len(compound_walks):
                cd = compound_walks[cat].to_numpy(dtype=float)
                row.update(
                    compound_share=float(np.mean(np.isfinite(cd) & (cd <= spec.metres + 1e-6))),
                    n_compounds=len(cd),
                )
        t = _targets_for(targets, cat)
        if t:
            row.update(
                plan_minutes=t.get("minutes"),
                plan_share=t.get("population_share"),
                plan_source=t.get("source"),
            )
            if target_metres is not None and t.get("minutes") is not None:
                lim = float(target_metres(float(t["minutes"])))
                row["plan_actual_share"] = _share(np.isfinite(d) & (d <= lim + 1e-6), pop)
        rows.append(row)
    cols = [
        "category", "standard", "level_min", "limit_m", "population_share", "pop60_share",
        "compound_share", "n_compounds", "source", "uncertain", "note",
        "plan_minutes", "plan_share", "plan_actual_share", "plan_source",
    ]  # fmt: skip
    return pd.DataFrame(rows).reindex(columns=cols)
