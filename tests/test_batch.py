"""``lifecircle batch``: street and district configs on 2 dask workers reproduce the serial runs
(a LocalCluster started by the command, and an existing scheduler given by ``--scheduler``)."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from jingan_configs import DISTRICT, ELDERCARE_FACILITIES

from lifecircle.scripts.cli import main
from lifecircle.workflow.batch import summary_rows

CONFIG = """street: {name}
boundary: {{file: {data}/boundaries/shanghai_districts.geojson, name: {name}}}
network: {{source: file, file: {data}/osm/jingan_huangpu_drive.osm}}
categories: [elder_care]
facilities:
"""
CONFIG += ELDERCARE_FACILITIES
CONFIG += "siting: {{category: elder_care, model: greedy, new_sites: 1, minutes: 10}}\n"
RUNS = ("黄浦区", "静安区", "测试区")  # two street configs and a district of both, one network


@pytest.fixture(scope="module")
def serial(shared_data, tmp_path_factory):
    """The three configs (and a broken one) and their serial ``lifecircle run`` summaries."""
    d = tmp_path_factory.mktemp("batch")
    configs = []
    for name in (*RUNS, "不存在区"):
        text = DISTRICT if name == "测试区" else CONFIG
        path = d / f"{name}.yaml"
        path.write_text(text.format(name=name, data=shared_data), encoding="utf-8")
        configs.append(path)
    frames = []
    for name, path in zip(RUNS, configs, strict=False):
        out = d / "serial" / name
        argv = ["run", "--config", str(path), "--out", str(out), "--quiet", "--allow-partial"]
        assert main(argv) == 0
        frames.append(summary_rows(out / "coverage.csv", name))
    return configs, pd.concat(frames, ignore_index=True)


def _check_summary(out, expected: pd.DataFrame) -> pd.DataFrame:
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig")
    pd.testing.assert_frame_equal(summary, expected)
    xlsx = pd.read_excel(out / "summary.xlsx", sheet_name="覆盖率汇总")  # for planners: Chinese
    assert list(xlsx.columns[:4]) == ["运行（输出目录）", "层级", "街道", "设施类别代码"]
    assert list(xlsx["运行（输出目录）"]) == list(summary["run"])
    assert list(xlsx["街道"]) == list(summary["street"])
    levels = {"street": "街道", "district": "全区合计"}
    assert list(xlsx["层级"]) == [levels[v] for v in summary["level"]]
    for name in RUNS:  # each run's folder is that of lifecircle run
        assert (out / name / "report.html").is_file() and (out / name / "map.html").is_file()
    return summary


@pytest.mark.slow
@pytest.mark.realdata
def test_batch_on_two_workers_equals_serial_runs(serial, tmp_path, capsys):
    configs, expected = serial
    capsys.readouterr()
    out = tmp_path / "batch"
    argv = ["batch", *map(str, configs), "--out", str(out), "--workers", "2", "--quiet"]
    argv.append("--allow-partial")
    code = main(argv)
    stdout = capsys.readouterr().out
    assert code == 1  # one config failed, the others ran
    assert "完成 3 个街道/区" in stdout and "黄浦区、静安区、测试区" in stdout
    assert "失败: 不存在区" in stdout
    assert "共用路网 (读取一次)" in stdout
    assert "jingan_huangpu_drive.osm: 黄浦区、静安区、测试区" in stdout
    summary = _check_summary(out, expected)
    # street configs: one street row per threshold; the district: its streets, then its total
    assert summary["run"].tolist() == ["黄浦区"] * 3 + ["静安区"] * 3 + ["测试区"] * 9
    district = summary[summary["run"] == "测试区"]
    assert district["level"].tolist() == ["street"] * 6 + ["district"] * 3
    assert sorted(district["street"]) == sorted(["黄浦区"] * 3 + ["静安区"] * 3 + ["测试区"] * 3)
    assert (district.loc[district["level"] == "district", "street"] == "测试区").all()
    assert (summary.loc[summary["run"] != "测试区", "level"] == "street").all()
    # the rows are real: 黄浦区 is a third inside the network's reach, 静安区 five nodes;
    # the district's total is its two streets' sum (536 nodes; 8 / 30 / 60 covered)
    first = summary.groupby("run")[["network_extent_share", "population"]].first()
    assert first.loc["黄浦区", "network_extent_share"] == pytest.approx(0.339, abs=0.003)
    assert first.loc["静安区", "population"] == 5
    total = district[district["level"] == "district"]
    assert total["population"].tolist() == [536] * 3
    assert total["population_covered"].tolist() == [8, 30, 60]
    assert (summary["blind_spot_population"] == summary["population_uncovered"]).all()
    # the district folder is a district run's: ranking sheet and a level column
    assert "街道排名" in pd.ExcelFile(out / "测试区" / "coverage.xlsx").sheet_names


@pytest.mark.slow
@pytest.mark.realdata
def test_batch_on_an_existing_scheduler_loads_the_shared_network_once(
    serial, tmp_path, capsys, monkeypatch
):
    """A real dask scheduler with 2 workers (threads of this process, so that the network
    loader can be counted); ``--scheduler`` its address."""
    from dask.distributed import LocalCluster

    import lifecircle.geo.network as network

    configs, expected = serial
    loads = []
    real = network.load_network

    def counted(path, **kw):
        loads.append(str(path))
        return real(path, **kw)

    monkeypatch.setattr(network, "load_network", counted)
    capsys.readouterr()
    out = tmp_path / "batch"
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        assert len(cluster.scheduler_info["workers"]) == 2
        argv = ["batch", *map(str, configs[:3]), "--out", str(out), "--quiet"]
        code = main([*argv, "--scheduler", cluster.scheduler_address, "--allow-partial"])
    stdout = capsys.readouterr().out
    assert code == 0, stdout
    assert "完成 3 个街道/区" in stdout
    # two street configs and a district config name one network file: read once, by the client
    assert len(loads) == 1 and loads[0].endswith("jingan_huangpu_drive.osm")
    _check_summary(out, expected)


def test_batch_wrong_scheduler_address_is_one_chinese_line(tmp_path, capsys, monkeypatch):
    import lifecircle.workflow.batch as batch

    monkeypatch.setattr(batch, "SCHEDULER_TIMEOUT_S", 2.0)
    cfg = tmp_path / "x.yaml"
    cfg.write_text("street: x\n", encoding="utf-8")
    t0 = time.perf_counter()
    code = main(["batch", str(cfg), "--out", str(tmp_path / "o"), "--scheduler",
                 "tcp://127.0.0.1:9"])  # fmt: skip
    elapsed = time.perf_counter() - t0
    err = capsys.readouterr().err.strip()
    assert code == 2 and elapsed < 15
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "--scheduler tcp://127.0.0.1:9: 无法连接 dask 调度器 (2 秒内" in err


def test_batch_scheduler_without_workers_is_bad_input_in_bounded_time(
    tmp_path, capsys, monkeypatch
):
    from dask.distributed import LocalCluster

    import lifecircle.workflow.batch as batch

    monkeypatch.setattr(batch, "SCHEDULER_TIMEOUT_S", 1.0)
    cfg = tmp_path / "x.yaml"
    cfg.write_text("street: x\n", encoding="utf-8")
    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster:
        t0 = time.perf_counter()
        argv = ["batch", str(cfg), "--out", str(tmp_path / "o")]
        code = main([*argv, "--scheduler", cluster.scheduler_address])
        elapsed = time.perf_counter() - t0
    err = capsys.readouterr().err.strip()
    assert code == 2 and elapsed < 10 and len(err.splitlines()) == 1
    assert "调度器没有可用的 worker (1 秒内)" in err


def test_batch_rejects_bad_worker_counts(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["batch", "x.yaml", "--out", str(tmp_path), "--workers", "0"])
    assert exc.value.code == 2
    assert "超出允许范围 [1, 1024]" in capsys.readouterr().err
