"""Broken input files: every problem named by its row, nothing read silently as blank."""

from __future__ import annotations

import openpyxl
import pytest

from lifecircle.geo.facilities import FacilitiesError, load_facilities


def test_mixed_encoding_names_the_rows(tmp_path):
    path = tmp_path / "mixed.csv"
    head = "name,type,lng,lat\n长者照护之家,为老服务站,121.43,31.25\nA,为老服务站,121.44,31.25\n"
    path.write_bytes(head.encode("utf-8") + "阳光站,为老服务站,121.43,31.26\n".encode("gbk"))
    with pytest.raises(FacilitiesError, match=r"第 4 行不是 UTF-8 编码，而第 2 行是 UTF-8"):
        load_facilities(path, "wgs84")


def test_pure_gbk_is_still_read(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes("站名,种类,经度,纬度\n阳光站,为老服务站,121.43,31.26\n".encode("gbk"))
    gdf, rep = load_facilities(path, "wgs84", x="经度", y="纬度", name_col="站名", type_col="种类")
    assert list(gdf["name"]) == ["阳光站"] and "encoding GBK/GB18030" in rep.notes


def test_undecodable_bytes_name_the_row(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"name,type,lng,lat\nA,x,1,2\nB,\xff\xff\xff,1,2\n")
    with pytest.raises(FacilitiesError, match=r"第 3 行既不是 UTF-8 也不是 GBK"):
        load_facilities(path, "wgs84")


def test_formula_cells_without_cached_values_are_named(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["name", "type", "lng", "lat"])
    ws.append(["甲站", "为老服务站", 121.43, 31.25])
    ws.append(['=A2&"分站"', "为老服务站", "=C2+0.001", "=D2"])  # openpyxl saves no values
    path = tmp_path / "formulas.xlsx"
    wb.save(path)
    gdf, rep = load_facilities(path, "wgs84")
    assert len(gdf) == 1 and rep.n_rejected == 1
    note = next(n for n in rep.notes if "公式单元格" in n)
    assert note.startswith("3 个公式单元格没有保存计算结果 (A3, C3, D3)")
    assert "保存计算值" in note
    assert rep.stats["formula_cells_without_values"] == 3


def test_near_duplicates_match_the_greedy_rule():
    import numpy as np

    from lifecircle.geo.facilities import near_duplicates

    xy = np.array([[0.0, 0.0], [0.8, 0.0], [1.6, 0.0], [0.5, 0.5], [0.2, 0.0], [50.0, 50.0]])
    names = ["甲", "甲", "甲", "乙", "甲", "甲"]
    # row 1 is 0.8 m from row 0 (dropped); row 2 is 1.6 m from row 0 and its only near
    # neighbour (row 1) was dropped: kept; row 4 is near rows 0 and 1: a duplicate of row 0
    assert near_duplicates(xy, names, 1.0) == [(1, 0), (4, 0)]
    assert near_duplicates(xy, ["", "", "", "", "", ""], 1.0) == []


@pytest.mark.parametrize("same_name", [True, False], ids=["one-name", "all-names"])
def test_100k_rows_at_one_point_finish_in_seconds(tmp_path, same_name):
    import time

    import numpy as np
    import pandas as pd

    n = 100_000
    names = ["阳光为老服务站"] * n if same_name else [f"站{i}" for i in range(n)]
    frame = pd.DataFrame(
        {"name": names, "type": "为老服务站", "lng": 121.43, "lat": 31.25, "编号": np.arange(n)}
    )
    path = tmp_path / "colocated.csv"
    frame.to_csv(path, index=False)
    start = time.perf_counter()
    gdf, rep = load_facilities(path, "wgs84")
    elapsed = time.perf_counter() - start
    assert elapsed < 20, f"{elapsed:.1f} s"  # was quadratic: 8k rows took 320 s and 5.6 GB
    assert len(gdf) == (1 if same_name else n) and rep.balanced
    assert rep.n_rejected == (n - 1 if same_name else 0)
    if same_name:
        assert rep.rejections[-1].reason.endswith("与第 2 行相同")
