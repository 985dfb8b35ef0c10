"""Row accounting: every input row is either used or reported with a reason.

Every loader returns what it loaded together with a :class:`LoadReport`. A :class:`Rejection`
names the file, the row as a planner sees it (the spreadsheet row, header = row 1; the feature
number for vector files), the
field and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class Rejection:
    """One input row (or feature) set aside."""

    file: str
    row: int | None
    field: str | None
    reason: str
    value: object = None

    def __str__(self) -> str:
        where = f"{self.file}"
        if self.row is not None:
            where += f", row {self.row}"
        if self.field:
            where += f", field {self.field!r}"
        value = "" if self.value is None else f" (value: {self.value!r})"
        return f"{where}: {self.reason}{value}"


@dataclass
class LoadReport:
    """What a loader read, used and set aside.

    Attributes
    ----------
    source : str
        The file (or URL/query) read.
    n_input : int
        Rows or features read.
    n_loaded : int
        Rows or features returned.
    rejections : list of Rejection
        Rows set aside, each with its reason.
    notes : list of str
        Things changed but kept (repaired geometry, dropped network components, ...).
    warnings : list of Rejection
        Rows repaired or kept although suspect, each with what was done (:meth:`warn`): they
        reach the console, the run's ``notes.csv`` and the report, never only a log.
    stats : dict
        Named figures for tests and reports (e.g. ``dropped_component_nodes``).
    """

    source: str
    n_input: int = 0
    n_loaded: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stats: dict[str, float] = field(default_factory=dict)
    warnings: list[Rejection] = field(default_factory=list)

    def reject(
        self,
        row: int | None,
        field_: str | None,
        reason: str,
        value: object = None,
        file: str | None = None,
    ) -> None:
        """Record a rejected row (of ``file`` when the report spans several files)."""
        self.rejections.append(Rejection(file or self.source, row, field_, reason, value))

    def note(self, text: str) -> None:
        """Record a repair or other change that kept the row."""
        self.notes.append(text)

    def warn(self, row: int | None, field_: str | None, text: str, value: object = None) -> None:
        """Record a repair, or a kept row that looks wrong, for the planner to check.

        Also recorded as a note (``text``), so that every reader of the notes sees it.
        """
        self.warnings.append(Rejection(self.source, row, field_, text, value))
        self.notes.append(text)

    def warnings_frame(self) -> pd.DataFrame:
        """Warnings as a table (file, row, field, what, value)."""
        return pd.DataFrame(
            [(r.file, r.row, r.field, r.reason, r.value) for r in self.warnings],
            columns=["file", "row", "field", "what", "value"],
        )

    @property
    def n_rejected(self) -> int:
        return len(self.rejections)

    @property
    def balanced(self) -> bool:
        """True when every input row is either loaded or rejected."""
        return self.n_loaded + self.n_rejected == self.n_input

    def to_frame(self) -> pd.DataFrame:
        """Rejections as a table (file, row, field, reason, value)."""
        return pd.DataFrame(
            [(r.file, r.row, r.field, r.reason, r.value) for r in self.rejections],
            columns=["file", "row", "field", "reason", "value"],
        )

    def __str__(self) -> str:
        lines = [
            f"{self.source}: {self.n_input} read, {self.n_loaded} loaded, "
            f"{self.n_rejected} rejected"
        ]
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  rejected: {r}" for r in self.rejections]
        return "\n".join(lines)
