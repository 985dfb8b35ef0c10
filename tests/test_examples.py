"""examples/ never rot: each script runs and prints its known figures."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, *args: str, data: Path | None = None) -> str:
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    if data is not None:
        env["LIFECIRCLE_DATA"] = str(data)
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.realdata
def test_coverage_from_local_files(shared_data, tmp_path):
    out = run_example("coverage_local_files.py", str(tmp_path / "cov"), data=shared_data)
    # the Jing'an extract: 366 demand nodes in the inset extent; the GCJ-02 elder-care points
    # reach 2 / 17 / 43 of them within 5 / 10 / 15 minutes at 0.9 m/s
    assert "0.005464" in out and "0.046448" in out and "0.117486" in out
    assert "nodes" in out and "rejected.csv" in out and "report.html" in out
    assert (tmp_path / "cov" / "map_offline.html").stat().st_size > 0


@pytest.mark.realdata
def test_what_if_and_siting(shared_data):
    out = run_example("siting_eldercare.py", data=shared_data)
    assert "覆盖路网节点 17 → 223" in out  # MCLP, 3 new stations, 10 minutes
    assert "50.0" in out  # the Amap point adds 50 nodes within 10 minutes


@pytest.mark.slow
@pytest.mark.demo
def test_demo_through_the_api(tmp_path):
    out = run_example("demo_api.py", str(tmp_path / "demo"))
    # the numbers of `lifecircle demo`: three new stations reach 9x % of the estimated residents
    # (38,827 of 41,221 on 2026-11-30), none reached before (no OSM elder care in the extract)
    assert re.search(r"覆盖 0 → [\d,]+ 人（0.0% → 9\d\.\d%）", out), out
    assert "Map with" in out
    assert (tmp_path / "demo" / "report.html").stat().st_size > 0
