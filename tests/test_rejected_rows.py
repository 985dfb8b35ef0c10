"""Rejected rows can be traced: spreadsheet rows, title rows, CLI hints (issue 8 §6)."""

from __future__ import annotations

import openpyxl
import pytest

from lifecircle.geo.facilities import FacilitiesError, load_facilities
from lifecircle.scripts.cli import main

TITLE = "普陀区为老服务设施名录（2020）"


def _csv(tmp_path, title: bool = True):
    path = tmp_path / "名录.csv"
    lines = [f"{TITLE},,,"] if title else []
    lines += [
        "名称,类型,经度,纬度",
        "甲站,为老服务站,121.40,31.25",
        "乙站,为老服务站,,31.25",
        "丙站,为老服务站,121.41,31.26",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_rows_are_spreadsheet_rows_header_is_row_1(tmp_path):
    gdf, rep = load_facilities(_csv(tmp_path, title=False), "wgs84")
    assert gdf["src_row"].tolist() == [2, 4]  # as Excel numbers them
    assert [(r.row, r.field) for r in rep.rejections] == [(3, "经度")]


def test_title_row_above_the_header_is_detected(tmp_path):
    gdf, rep = load_facilities(_csv(tmp_path), "wgs84")
    assert gdf["name"].tolist() == ["甲站", "丙站"] and gdf["src_row"].tolist() == [3, 5]
    assert [(r.row, r.field) for r in rep.rejections] == [(4, "经度")]
    assert any("title row skipped" in n and TITLE in n for n in rep.notes)
    # or said explicitly
    gdf, rep = load_facilities(_csv(tmp_path), "wgs84", skip_rows=1)
    assert gdf["src_row"].tolist() == [3, 5]
    with pytest.raises(FacilitiesError, match="--skip-rows 9"):
        load_facilities(_csv(tmp_path), "wgs84", skip_rows=9)


def test_title_row_in_a_workbook(tmp_path, capsys):
    path = tmp_path / "名录.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([TITLE])
    ws.append([None])
    ws.append(["名称", "类型", "经度", "纬度"])
    ws.append(["甲站", "为老服务站", 121.40, 31.25])
    ws.append(["乙站", "为老服务站", None, 31.25])
    wb.save(path)
    rc = main(["info", "--facilities", str(path), "--coords", "wgs84"])
    out = capsys.readouterr().out
    assert rc == 0 and "载入 1 行, 拒绝 1 行" in out
    assert "第 5 行, 字段 经度: 缺少坐标 (missing coordinates)" in out
    rc = main(["info", "--facilities", str(path), "--coords", "wgs84", "--skip-rows", "2"])
    assert rc == 0 and "第 5 行, 字段 经度" in capsys.readouterr().out


def test_hints_name_the_command_line_options(tmp_path, capsys):
    path = tmp_path / "odd.csv"
    path.write_text("站名,E,N\n甲,121.4,31.2\n", encoding="utf-8")
    rc = main(["info", "--facilities", str(path), "--coords", "wgs84"])
    err = capsys.readouterr().err
    assert rc == 2 and "--x" in err and "--y" in err and "x=" not in err
