"""Names from input files cannot drive the terminal: every console line of the CLI is escaped."""

from __future__ import annotations

import csv
import io
import re

import geopandas as gpd
import pandas as pd
import shapely
from test_hostile_repairs import X0, Y0, _lonlat, write_osm

from lifecircle.console import GuardedStream, console_text, guarded_console
from lifecircle.scripts.cli import main

#: Anything a terminal would obey rather than show (newline and tab are fine).
OBEYED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

BOUNDARY = "两片\x1b]0;pwned\x07街道\x1b[2J"
STREET = "花园\u202e小区\x9b2J步道"  # XML allows C1 and bidi characters, not ESC
BAD_TYPE = "不知\x1b[8m道\r\x08类型\u2066"


def test_console_text_escapes_controls_and_keeps_chinese():
    assert console_text("站\x1b[2J\x1b]0;pwned\x07") == "站\\x1b[2J\\x1b]0;pwned\\x07"
    assert console_text("a\rb\x08c\x7f\x9b") == "a\\x0db\\x08c\\x7f\\x9b"
    assert console_text("\u202e站名\u2066\u2069\u200f") == "\\u202e站名\\u2066\\u2069\\u200f"
    text = "为老服务站 (elder_care):\t3 处, 覆盖 93.4 %\n孤立小片 1 (花园小区步道)\n"
    assert console_text(text) == text


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bars_keep_their_moves_on_a_terminal_only():
    tty, pipe = _Terminal(), io.StringIO()
    for stream in (GuardedStream(tty), GuardedStream(pipe)):
        stream.write("\r覆盖率分析:  50%|#####     | 1/2")  # a bar redrawing its line
        stream.write("\n\x1b[A")  # a nested bar moving back up
        stream.write(f"  - 边界 {BOUNDARY}\n")  # a name inside a line: always escaped
    bar = "覆盖率分析:  50%|#####     | 1/2"
    name = "  - 边界 两片\\x1b]0;pwned\\x07街道\\x1b[2J\n"
    assert tty.getvalue() == f"\r{bar}\n\x1b[A{name}"
    assert pipe.getvalue() == f"\\x0d{bar}\n\\x1b[A{name}"


def test_guarded_console_restores_the_streams_on_errors(capsys):
    import sys

    before = sys.stdout, sys.stderr
    try:
        with guarded_console():
            print("站\x1b[2J")
            print("错\x07", file=sys.stderr)
            raise KeyError
    except KeyError:
        pass
    assert (sys.stdout, sys.stderr) == before
    out, err = capsys.readouterr()
    assert (out, err) == ("站\\x1b[2J\n", "错\\x07\n")


def _hostile_inputs(tmp_path):
    """A 5 x 5 grid with a dropped fragment whose street name is hostile, a boundary with a
    hostile name, facilities with a hostile name and a hostile (unknown) type."""
    ways = [({"highway": "residential", "name": f"东西{j}路"}, [(200 * i, 200 * j) for i in range(5)])
            for j in range(5)]  # fmt: skip
    ways += [({"highway": "residential", "name": f"南北{i}路"}, [(200 * i, 200 * j) for j in range(5)])
             for i in range(5)]  # fmt: skip
    ways.append(({"highway": "footway", "name": STREET}, [(900, 900), (1000, 900), (1000, 1000)]))
    osm = write_osm(tmp_path / "two_parts.osm", ways)
    boundary = tmp_path / "boundary.geojson"
    box = shapely.box(X0 - 50, Y0 - 50, X0 + 1050, Y0 + 1050)
    gpd.GeoDataFrame({"name": [BOUNDARY]}, geometry=[box], crs=32651).to_crs(4326).to_file(
        boundary, driver="GeoJSON"
    )
    rows = [("站\x1b[2J\x1b]0;pwned\x07", "为老服务站", (200, 200)),
            ("小区里的站\r\x08", "为老服务站", (1000, 1000)),
            ("怪站", BAD_TYPE, (400, 400))]  # fmt: skip
    fac = pd.DataFrame([{"name": n, "type": t, "lng": _lonlat(*p)[0], "lat": _lonlat(*p)[1]}
                        for n, t, p in rows])  # fmt: skip
    facilities = tmp_path / "facilities.csv"
    fac.to_csv(facilities, index=False, encoding="utf-8", quoting=csv.QUOTE_NONNUMERIC)
    return osm, boundary, facilities


def _assert_shown_not_obeyed(text: str) -> None:
    assert OBEYED.search(text) is None, [m.group() for m in OBEYED.finditer(text)]


def test_info_escapes_a_hostile_type_and_street(tmp_path, capsys):
    osm, boundary, facilities = _hostile_inputs(tmp_path)
    argv = ["info", "--facilities", str(facilities), "--coords", "wgs84", "--network", str(osm),
            "--boundaries", str(boundary)]  # fmt: skip
    assert main(argv) == 0
    out, err = capsys.readouterr()
    _assert_shown_not_obeyed(out + err)
    assert "不知\\x1b[8m道\\x0d\\x08类型\\u2066" in out  # the rejected row's type value
    assert "花园\\u202e小区\\x9b2J步道" in out  # the dropped fragment, named
    assert "两片\\x1b]0;pwned\\x07街道\\x1b[2J" in out


def test_coverage_escapes_hostile_names_on_the_console_not_in_the_files(tmp_path, capsys):
    osm, boundary, facilities = _hostile_inputs(tmp_path)
    out_dir = tmp_path / "out"
    argv = ["coverage", "--network", str(osm), "--boundaries", str(boundary), "--facilities",
            str(facilities), "--coords", "wgs84", "--minutes", "5", "--out", str(out_dir)]  # fmt: skip
    assert main(argv) == 0
    out, err = capsys.readouterr()
    _assert_shown_not_obeyed(out + err)
    assert "两片\\x1b]0;pwned\\x07街道\\x1b[2J" in out
    assert "孤立小片 1 (花园\\u202e小区\\x9b2J步道; 3 个节点, 200 米街道)" in out
    # the files keep the names as they were given (CSV/XLSX/HTML have their own guards)
    cov = pd.read_csv(out_dir / "coverage.csv", encoding="utf-8-sig")
    assert set(cov["boundary"]) == {BOUNDARY}


def test_error_line_escapes_a_hostile_boundary_name(tmp_path, capsys):
    osm, boundary, facilities = _hostile_inputs(tmp_path)
    argv = ["coverage", "--network", str(osm), "--boundaries", str(boundary), "--boundary-name",
            "无\x1b[2J此", "--facilities", str(facilities), "--coords", "wgs84", "--out",
            str(tmp_path / "o")]  # fmt: skip
    assert main(argv) == 2
    out, err = capsys.readouterr()
    _assert_shown_not_obeyed(out + err)
    assert "无\\x1b[2J此" in err and len(err.strip().splitlines()) == 1


def test_a_bare_carriage_return_in_a_csv_breaks_the_line_not_the_run(tmp_path, capsys):
    """An unquoted CR (old Mac line ends, or a name with a CR) was csv.Error and exit 1."""
    mac = tmp_path / "mac.csv"
    mac.write_bytes("name,type,lng,lat\r好站,为老服务站,121.44,31.25\r站2,为老服务站,121.44,31.25\r"
                    .encode())  # fmt: skip
    assert main(["info", "--facilities", str(mac), "--coords", "wgs84"]) == 0
    assert "共 2 行: 载入 2 行, 拒绝 0 行" in capsys.readouterr().out
    cut = tmp_path / "cut.csv"
    cut.write_bytes("name,type,lng,lat\n小区里的站\r\x08,为老服务站,121.44,31.25\n".encode())
    assert main(["info", "--facilities", str(cut), "--coords", "wgs84"]) == 0
    out, err = capsys.readouterr()
    _assert_shown_not_obeyed(out + err)
    assert "共 2 行: 载入 1 行, 拒绝 1 行" in out
    assert "第 2 行, 字段 lng/lat: 缺少坐标 (missing coordinates)" in out


def test_run_prints_a_hostile_boundary_name_escaped(tmp_path, capsys):
    """``run``: the inputs block, the summary and the notes name the boundary (from the file)."""
    import json

    from test_pipeline import GRID_CONFIG, write_grid_inputs

    paths = write_grid_inputs(tmp_path)
    bound = gpd.read_file(paths["boundary"])
    bound["name"] = BOUNDARY
    bound.to_file(paths["boundary"], driver="GeoJSON")
    cfg = tmp_path / "grid.yaml"
    text = GRID_CONFIG.format(**{k: json.dumps(str(v)) for k, v in paths.items()})
    cfg.write_text(text.replace("metres: [150]\n", ""), encoding="utf-8")
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert (
            main(["run", "--config", str(cfg), "--out", str(tmp_path / "out"), "--jobs", "1"]) == 0
        )
    # the charts and map.png show the name's escapes, not a missing-glyph box for ESC
    assert not [w for w in caught if "Glyph 27" in str(w.message)]
    out, err = capsys.readouterr()
    _assert_shown_not_obeyed(out + err)
    assert "研究范围: 两片\\x1b]0;pwned\\x07街道\\x1b[2J (" in out
    # coverage.xlsx was IllegalCharacterError (exit 1 after the whole run): the name is shown
    import openpyxl

    book = openpyxl.load_workbook(tmp_path / "out" / "coverage.xlsx", read_only=True)
    cells = {c for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row}
    assert "两片\\x1b]0;pwned\\x07街道\\x1b[2J" in cells
    assert BOUNDARY in set(pd.read_csv(tmp_path / "out" / "coverage.csv")["boundary"])
