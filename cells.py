"""Spreadsheet-safe cells: every CSV and XLSX file lifecircle writes goes through this module.

Names in planners' files reach tables as they are. A spreadsheet program reads a CSV cell that
begins with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return) as a formula, and openpyxl
writes any string beginning with ``=`` as a live formula. Following the OWASP rule for CSV/XLSX
injection, such text is written as text:

* CSV (:func:`write_csv`): the cell is prefixed with ``'`` (:func:`safe_text`); read such a
  file back with :func:`read_csv`, which removes exactly those prefixes (:func:`unguard_text`);
* XLSX (:func:`write_xlsx`): the cell keeps its text, stored as a string (never a formula) with
  Excel's "quote prefix" set, so that editing it does not turn it into a formula either.
  Control characters XML cannot hold (ESC, BEL, ...: all C0 but tab, LF, CR) are written
  visibly as ``\\xNN`` instead of failing the whole workbook.

Numbers stay numbers (``-3`` as a number is not text); only text cells are touched.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

__all__ = [
    "FORMULA_STARTS",
    "read_csv",
    "safe_frame",
    "safe_text",
    "unguard_text",
    "write_csv",
    "write_xlsx",
]

#: First characters that make a spreadsheet read a text cell as a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _guarded(text: str) -> bool:
    # apostrophes first too, so that a name that begins with "'=" reads back as itself
    return text.lstrip("'").startswith(FORMULA_STARTS)


def safe_text(value):
    """``value`` prefixed with ``'`` when it is text a spreadsheet would run as a formula.

    Text that already begins with apostrophes before such a character gets one more, so that
    :func:`unguard_text` gives back exactly what was written.
    """
    if isinstance(value, str) and _guarded(value):
        return "'" + value
    return value


def unguard_text(value):
    """The counterpart of :func:`safe_text`: the text as it was before it was written.

    Only a ``'`` that :func:`safe_text` added is removed (one, before a formula character or
    before further apostrophes and one); other text is returned as it is.
    """
    if isinstance(value, str) and value.startswith("'") and _guarded(value[1:]):
        return value[1:]
    return value


def read_csv(path: str | Path, **kwargs) -> pd.DataFrame:
    """Read a CSV file that :func:`write_csv` wrote, with the names as they were.

    Text cells and column names lose the ``'`` that :func:`write_csv` put before a formula
    character (``'=HYPERLINK(...)`` reads back as ``=HYPERLINK(...)``, ``'-东区`` as ``-东区``).
    Keyword arguments go to :func:`pandas.read_csv` (``encoding`` defaults to ``utf-8-sig``).
    """
    kwargs.setdefault("encoding", "utf-8-sig")
    return _map_text(pd.read_csv(path, **kwargs), unguard_text)


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells (and text column names) pass :func:`safe_text`."""
    return _map_text(df.copy(), safe_text)


def _map_text(df: pd.DataFrame, fn: Callable) -> pd.DataFrame:
    """``df`` (changed in place) with ``fn`` applied to its text cells and column names."""
    for col in df.columns:
        s = df[col]
        if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
            df[col] = s.map(fn, na_action="ignore")
    df.columns = [fn(c) for c in df.columns]
    return df


def write_csv(df: pd.DataFrame, path: str | Path, **kwargs) -> Path:
    """Write ``df`` as CSV (UTF-8 with BOM, no index, unless given) with safe text cells.

    Lines end in CR LF (RFC 4180), so that a carriage return inside a name is quoted too.
    """
    kwargs.setdefault("index", False)
    kwargs.setdefault("lineterminator", "\r\n")
    kwargs.setdefault("encoding", "utf-8-sig")
    path = Path(path)
    safe_frame(df).to_csv(path, **kwargs)
    return path


#: Characters an XLSX (XML 1.0) cell cannot hold: openpyxl refuses the whole workbook.
_NOT_IN_XLSX = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xlsx_text(value):
    """Text with the characters XLSX cannot hold shown as ``\\xNN``; other values as they are."""
    if isinstance(value, str):
        return _NOT_IN_XLSX.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    return value


def _xlsx_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells and column names pass :func:`_xlsx_text` (columns by
    position: a sheet may repeat a column name)."""
    out = df.copy()
    for i in range(out.shape[1]):
        s = out.iloc[:, i]
        if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
            out.isetitem(i, s.map(_xlsx_text, na_action="ignore"))
    names = [_xlsx_text(c) for c in out.columns]
    if names != list(out.columns):
        out.columns = names
    return out


def _text_cells_as_text(ws) -> None:
    for row in ws.iter_rows():
        for cell in row:
            value = cell.value
            if isinstance(value, str) and value.startswith(FORMULA_STARTS):
                cell.data_type = "s"  # openpyxl made "=..." a formula: it is a name
                cell.quotePrefix = True  # Excel's own mark for "typed as text"


def write_xlsx(
    path: str | Path,
    sheets: Iterable[tuple[str, pd.DataFrame]],
    format_sheet: Callable | None = None,
) -> Path:
    """Write sheets ``(name, frame)`` to one XLSX file; no text cell becomes a formula.

    Parameters
    ----------
    path : str or Path
    sheets : iterable of (str, DataFrame)
    format_sheet : callable, optional
        ``format_sheet(worksheet, frame)`` for widths, number formats, frozen panes.
    """
    path = Path(path)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, df in sheets:
            df = _xlsx_frame(df)  # ESC in a name: shown, not a crash
            df.to_excel(writer, sheet_name=name, index=False)
            ws = writer.sheets[name]
            _text_cells_as_text(ws)
            if format_sheet is not None:
                format_sheet(ws, df)
    return path
