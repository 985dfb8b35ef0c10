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


def test_read_csv_gives_back_exactly_what_was_written(tmp_path):
    from lifecircle.cells import read_csv, unguard_text

    texts = [
        *HOSTILE,
        "-东区",
        "'=已有撇号",
        "''+两个撇号",
        "'普通撇号",
        "'",
        "普通站点",
        "石泉路=1",
    ]
    df = pd.DataFrame({"name": texts, "n": range(len(texts)), "=列": ["x"] * len(texts)})
    back = read_csv(write_csv(df, tmp_path / "t.csv"))
    assert back.columns.tolist() == ["name", "n", "=列"]
    # a carriage return inside a quoted cell reads back as written (CR LF rows)
    assert back["name"].tolist() == texts
    assert back["n"].tolist() == list(range(len(texts)))
    # only what the writer guarded is unguarded
    assert safe_text("'=已有撇号") == "''=已有撇号"
    assert unguard_text("'普通撇号") == "'普通撇号" and unguard_text("'-东区") == "-东区"


def test_map_from_coverage_output_shows_names_without_the_guard(tmp_path, capsys):
    import geopandas as gpd
    import shapely
    from test_pipeline import X0, Y0

    paths = write_grid_inputs(tmp_path)
    names = [HOSTILE[0], "-东区"]
    halves = [shapely.box(X0 - 50, Y0 - 50, X0 + 200, Y0 + 450),
              shapely.box(X0 + 200, Y0 - 50, X0 + 450, Y0 + 450)]  # fmt: skip
    boundary = tmp_path / "two.geojson"
    gpd.GeoDataFrame({"name": names}, geometry=halves, crs=32651).to_crs(4326).to_file(boundary)
    out = tmp_path / "cov"
    argv = ["coverage", "--network", str(paths["network"]), "--boundaries", str(boundary),
            "--facilities", str(paths["facilities"]), "--coords", "gcj02", "--out", str(out),
            "--quiet"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr()
    raw = (out / "coverage.csv").read_text(encoding="utf-8-sig")
    assert "'-东区" in raw and "'=HYPERLINK" in raw  # written guarded
    page = tmp_path / "map.html"
    assert main(["map", "--coverage", str(out), "--out", str(page), "--quiet"]) == 0
    import re

    html = page.read_text(encoding="utf-8")  # GeoJSON in the page escapes non-ASCII as \\uXXXX
    html = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), html)
    assert html.count("<b>-东区</b>") == 1 and "'-东区" not in html
    assert "<b>=HYPERLINK(&quot;http://x&quot;,&quot;click&quot;)</b>" in html
    assert "'=HYPERLINK" not in html and "&#x27;=HYPERLINK" not in html


def test_batch_summary_reads_street_tables_back_without_the_guard(tmp_path):
    from lifecircle.cells import read_csv
    from lifecircle.workflow.batch import _write_summary

    for street, name in (("a", HOSTILE[0]), ("b", "-东区")):
        (tmp_path / street).mkdir()
        write_csv(
            pd.DataFrame({"boundary": [name], "share": [0.5]}), tmp_path / street / "coverage.csv"
        )
    summary, files = _write_summary(tmp_path, ["a", "b"])
    assert summary["street"].tolist() == [HOSTILE[0], "-东区"]
    assert summary["boundary"].tolist() == [HOSTILE[0], "-东区"]
    back = read_csv(files["summary_csv"])
    assert back["street"].tolist() == back["boundary"].tolist() == [HOSTILE[0], "-东区"]
    raw = files["summary_csv"].read_text(encoding="utf-8-sig")
    assert "'-东区" in raw and "''" not in raw  # guarded once, not twice
    ws = openpyxl.load_workbook(files["summary_xlsx"]).worksheets[0]
    col = [c.value for c in ws[1]].index("street")
    assert [r[col].value for r in ws.iter_rows(min_row=2)] == [HOSTILE[0], "-东区"]


def test_report_md_names_stay_text_in_a_markdown_viewer():
    """report.md is opened in Markdown viewers, which render inline HTML and links: a name
    from the data becomes neither a tag, a link, a code span nor an extra table cell."""
    from lifecircle.reports.text import md_text, render_md

    blocks = [
        ("h1", "<script>alert(1)</script>区 评估报告"),
        ("p", "[点我](javascript:alert(2)) & <img src=x onerror=alert(3)>"),
        ("ul", ["`code` 与 a|b", "换\n行"]),
        ("table", ["边界", "覆盖率"], [["<b>坏</b>|街道", "50%"]]),
        ("img", "/tmp/out/map 1.png", "<svg onload=alert(4)>"),
    ]
    md = render_md(blocks)
    assert "<" not in md.replace("<!--", "") and ">" not in md
    assert md.startswith("# &lt;script&gt;alert(1)&lt;/script&gt;区 评估报告\n")
    assert "\\[点我\\](javascript:alert(2)) &amp; &lt;img src=x onerror=alert(3)&gt;" in md
    assert "- \\`code\\` 与 a\\|b\n- 换 行" in md
    assert "| &lt;b&gt;坏&lt;/b&gt;\\|街道 | 50% |" in md  # still two cells
    assert "![&lt;svg onload=alert(4)&gt;](map%201.png)" in md
    assert md_text("石泉路街道 15分钟 (62.5%)") == "石泉路街道 15分钟 (62.5%)"
