"""``lifecircle info``: counts by category, every rejection, exit codes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from lifecircle.scripts.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["info", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_done_when_shared_eldercare_file(shared_data):
    """The issue's check, run as a user would: all 72 rows accounted for."""
    exe = shutil.which("lifecircle")
    cmd = [exe] if exe else [sys.executable, "-m", "lifecircle.scripts.cli"]
    path = shared_data / "facilities" / "eldercare_shanghai_gcj02.csv"
    env = {**os.environ, "LIFECIRCLE_DATA": str(shared_data)}
    proc = subprocess.run(
        [*cmd, "info", "--facilities", str(path), "--coords", "gcj02"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    m = re.search(r"共 (\d+) 行: 载入 (\d+) 行, 拒绝 (\d+) 行", out)
    assert m and tuple(map(int, m.groups())) == (72, 61, 11)
    assert "为老服务 (elder_care): 49" in out and "医疗卫生 (health): 12" in out
    details = re.findall(r"^    第 (\d+) 行, 字段 (\S+): (.+)$", out, flags=re.M)
    assert len(details) == 11
    assert ("13", "lng/lat", "缺少坐标 (missing coordinates)") in details  # Excel row 13
    assert sum("unknown type" in d[2] and "其他/企业办公" in d[2] for d in details) == 10
    assert "未知设施类型 (unknown type): 10" in out and "缺少坐标 (missing coordinates): 1" in out


def test_path_relative_to_lifecircle_data(shared_data, capsys, monkeypatch):
    monkeypatch.setenv("LIFECIRCLE_DATA", str(shared_data))
    code, out, _ = run(
        capsys, "--facilities", "facilities/eldercare_shanghai_gcj02.csv", "--coords", "gcj02"
    )
    assert code == 0 and "共 72 行" in out


def test_fixture_with_every_kind_of_rejection(fixtures_dir, capsys):
    code, out, err = run(
        capsys, "--facilities", str(fixtures_dir / "facilities_gbk.csv"), "--coords", "gcj02"
    )
    assert code == 0 and err == ""
    assert "encoding GBK/GB18030" in out
    assert "共 14 行: 载入 8 行, 拒绝 6 行" in out
    for label in (
        "为老服务 (elder_care): 3",
        "体育健身 (fitness): 1",
        "停车场 (car_parking): 1",
        "医疗卫生 (health): 1",
        "文化 (culture): 1",
        "商业便民 (market): 1",
    ):
        assert label in out
    assert "第 9 行, 字段 经度/纬度: 经纬度颠倒 (swapped lat/lon)" in out
    assert "第 10 行, 字段 经度: 坐标不是数字 (non-numeric coordinates) (值: 121.4x)" in out
    assert "第 14 行: 重复行 (duplicate: identical row): 与第 2 行相同" in out


def test_named_columns_and_default_category(tmp_path, capsys):
    path = tmp_path / "sites.csv"
    pd.DataFrame(
        {
            "站名": ["甲", "乙", "丙"],
            "E": [121.40, 121.41, None],
            "N": [31.2, 31.21, 31.22],
            "种类": ["百姓健身房", "办公", "百姓健身房"],
        }
    ).to_csv(path, index=False, encoding="gbk")
    args = [
        "--facilities",
        str(path),
        "--coords",
        "wgs84",
        "--x",
        "E",
        "--y",
        "N",
        "--type-col",
        "种类",
        "--name-col",
        "站名",
    ]
    code, out, _ = run(capsys, *args)
    assert code == 0 and "载入 1 行, 拒绝 2 行" in out
    assert "第 3 行, 字段 种类: 未知设施类型" in out and "第 4 行, 字段 E: 缺少坐标" in out
    code, out, _ = run(capsys, *args, "--category", "fitness")
    assert code == 0 and "体育健身 (fitness): 2" in out


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--facilities", "no/such/file.csv", "--coords", "gcj02"], "设施文件不存在"),
        (["--facilities", "{nocoords}", "--coords", "gcj02"], "no coordinate columns"),
        (["--facilities", "{nocoords}", "--coords", "martian"], "unknown coordinate system"),
        (["--facilities", "{nocoords}"], "declare the coordinate system"),
        ([], "--facilities"),
    ],
)
def test_unreadable_input_exits_2(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.delenv("LIFECIRCLE_DATA", raising=False)
    nocoords = tmp_path / "nocoords.csv"
    nocoords.write_text("name,type\n甲,为老服务站\n", encoding="utf-8")
    argv = [a.replace("{nocoords}", str(nocoords)) for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("lifecircle info: error:") and message in err


def test_network_and_boundary_summaries(shared_data, capsys):
    code, out, _ = run(
        capsys,
        "--network",
        str(shared_data / "osm" / "jingan_huangpu_drive.osm"),
        "--boundaries",
        str(shared_data / "boundaries" / "putuo_district.geojson"),
    )
    assert code == 0
    assert "路网:" in out and "边界:" in out
    try:
        from lifecircle.geo.network import load_network  # noqa: F401

        assert re.search(r"节点 [\d,]+ 个, 有向边 [\d,]+ 条, 道路总长 [\d.,]+ km", out)
    except ImportError:
        assert "跳过" in out
    try:
        from lifecircle.geo.boundaries import load_boundaries  # noqa: F401

        assert "普陀区" in out and "km²" in out
    except ImportError:
        assert "跳过" in out
