"""Formula injection: no text from input data becomes a live formula in any CSV or XLSX written.

OWASP rule: a text cell beginning with ``=``, ``+``, ``-``, ``@``, tab or carriage return is
written as text (CSV: prefixed with ``'``; XLSX: a string cell with Excel's quote prefix).
The end-to-end test runs ``lifecircle run`` on the test grid with hostile boundary and facility
names and reads every spreadsheet of the output folder back.
"""

from __future__ import annotations

import csv
import json

import openpyxl
import pandas as pd
import pytest
from test_pipeline import GRID_CONFIG, write_grid_inputs

from lifecircle.cells import FORMULA_STARTS, safe_frame, safe_text, write_csv, write_xlsx
from lifecircle.scripts.cli import main

HOSTILE = [
    '=HYPERLINK("http://x","click")',
    "=cmd|' /C calc'!A0",
    "+SUM(1,2)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1)",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_safe_text_prefixes_every_formula_start(text):
    assert safe_text(text) == "'" + text
    assert safe_text("石泉路=1") == "石泉路=1"
    assert safe_text(-3) == -3 and safe_text(None) is None


def test_frames_read_back_as_text(tmp_path):
    df = pd.DataFrame({"name": [*HOSTILE, "普通站点"], "n": [-1, 0, 1, 2, 3, 4, 5, -7]})
    assert safe_frame(df)["n"].tolist() == df["n"].tolist()  # numbers stay numbers
    path = write_csv(df, tmp_path / "t.csv")
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert [r[0] for r in rows[1:]] == ["'" + t for t in HOSTILE] + ["普通站点"]
    assert [r[1] for r in rows[1:]] == ["-1", "0", "1", "2", "3", "4", "5", "-7"]

    book = write_xlsx(tmp_path / "t.xlsx", [("表", df), ("表2", df)])
    wb = openpyxl.load_workbook(book)
    for ws in wb.worksheets:
        names = [c for c in ws["A"][1:]]
        # the text itself, unchanged (XML keeps a carriage return as a line feed)
        assert [c.value for c in names] == [t.replace("\r", "\n") for t in HOSTILE] + ["普通站点"]
        assert {c.data_type for c in names} == {"s"}
        assert all(c.quotePrefix for c in names[:-1]) and not names[-1].quotePrefix
        assert [c.data_type for c in ws["B"][1:]] == ["n"] * 8


def _cells_of(folder):
    """Every (file, text cell) of every CSV and XLSX under ``folder``; XLSX formulas flagged."""
    found, formulas = [], []
    for path in sorted(folder.rglob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as f:
            found += [(path.name, cell) for row in csv.reader(f) for cell in row]
    for path in sorted(folder.rglob("*.xlsx")):
        for ws in openpyxl.load_workbook(path).worksheets:
            for row in ws.iter_rows():
                for c in row:
                    if c.data_type == "f":
                        formulas.append((path.name, ws.title, c.coordinate, c.value))
    return found, formulas


def test_run_with_hostile_names_writes_no_formula(tmp_path, capsys):
    paths = write_grid_inputs(tmp_path)
    import geopandas as gpd

    b = gpd.read_file(paths["boundary"])
    b["name"] = [HOSTILE[0]]
    b.to_file(paths["boundary"], driver="GeoJSON")
    fac = pd.read_csv(paths["facilities"])
    fac["name"] = [HOSTILE[1], HOSTILE[2]]
    # rejected for its non-numeric longitude, which rejected.csv quotes
    extra = {"name": "坏行", "type": "为老服务站", "lng": HOSTILE[4], "lat": 31.26}
    pd.concat([fac, pd.DataFrame([extra])]).to_csv(paths["facilities"], index=False)
    cfg = tmp_path / "grid.yaml"
    cfg.write_text(
        GRID_CONFIG.format(**{k: json.dumps(str(v)) for k, v in paths.items()}), encoding="utf-8"
    )
    out = tmp_path / "out"
    assert main(["run", "--config", str(cfg), "--out", str(out), "--quiet"]) == 0, (
        capsys.readouterr()
    )
    cells, formulas = _cells_of(out)
    assert formulas == []
    names = {f for f, _ in cells}
    assert {"coverage.csv", "sites.csv"} <= names
    live = [(f, c) for f, c in cells if c.startswith(FORMULA_STARTS)]
    assert live == []
    texts = {c for _, c in cells}
    assert "'" + HOSTILE[0] in texts  # the boundary's name, as text, in coverage.csv
    assert "'" + HOSTILE[4] in texts  # the rejected row's value, as text
    wb = openpyxl.load_workbook(out / "coverage.xlsx")
    values = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert values.count(HOSTILE[0]) >= 2  # boundary name kept exactly, on several sheets


def test_report_html_escapes_names_and_forbids_scripts():
    from lifecircle.reports.text import render_html

    page = render_html(
        [("h1", "<img src=x onerror=alert(1)>"), ("p", "=1+1")], "<script>t</script>"
    )
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<script>" not in page
    assert "Content-Security-Policy" in page and "script-src" not in page  # default-src 'none'
