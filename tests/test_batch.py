"""``lifecircle batch`` on a dask LocalCluster of 2 workers reproduces the serial runs."""

from __future__ import annotations

import pandas as pd
import pytest

from lifecircle.scripts.cli import main

CONFIG = """street: {name}
boundary: {{file: {data}/boundaries/shanghai_districts.geojson, name: {name}}}
network: {{source: file, file: {data}/osm/jingan_huangpu_drive.osm}}
categories: [elder_care]
facilities:
  - source: file
    file: {data}/facilities/eldercare_shanghai_gcj02.csv
    coords: gcj02
    x: lng
    y: lat
    name_col: name
    type_col: type
siting: {{category: elder_care, model: greedy, new_sites: 1, minutes: 10}}
"""


@pytest.mark.slow
@pytest.mark.realdata
def test_batch_on_two_workers_equals_serial_runs(shared_data, tmp_path, capsys):
    configs = []
    for name in ("黄浦区", "静安区", "不存在区"):
        path = tmp_path / f"{name}.yaml"
        path.write_text(CONFIG.format(name=name, data=shared_data), encoding="utf-8")
        configs.append(path)
    serial = []
    for name, path in zip(("黄浦区", "静安区"), configs, strict=False):
        out = tmp_path / "serial" / name
        argv = ["run", "--config", str(path), "--out", str(out), "--quiet", "--allow-partial"]
        assert main(argv) == 0
        t = pd.read_csv(out / "coverage.csv", encoding="utf-8-sig")
        t.insert(0, "street", name)
        serial.append(t)
    capsys.readouterr()
    out = tmp_path / "batch"
    argv = ["batch", *map(str, configs), "--out", str(out), "--workers", "2", "--quiet"]
    argv.append("--allow-partial")
    code = main(argv)
    stdout = capsys.readouterr().out
    assert code == 1  # one street failed, the others ran
    assert "完成 2 个街道" in stdout and "黄浦区、静安区" in stdout
    assert "失败: 不存在区" in stdout
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig")
    pd.testing.assert_frame_equal(summary, pd.concat(serial, ignore_index=True))
    # the rows are real: 黄浦区 is a third inside the network's reach, 静安区 five nodes
    first = summary.groupby("street")[["network_extent_share", "population"]].first()
    assert first.loc["黄浦区", "network_extent_share"] == pytest.approx(0.339, abs=0.003)
    assert first.loc["静安区", "population"] == 5
    assert (summary["blind_spot_population"] == summary["population_uncovered"]).all()
    for name in ("黄浦区", "静安区"):
        assert (out / name / "report.html").is_file() and (out / name / "map.html").is_file()
    xlsx = pd.read_excel(out / "summary.xlsx", sheet_name="覆盖率汇总")
    assert list(xlsx["street"]) == list(summary["street"])


def test_batch_rejects_bad_worker_counts(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["batch", "x.yaml", "--out", str(tmp_path), "--workers", "0"])
    assert exc.value.code == 2
    assert "超出允许范围 [1, 1024]" in capsys.readouterr().err
