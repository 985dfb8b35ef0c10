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
    out = run_example("01_coverage_local_files.py", str(tmp_path / "cov"), data=shared_data)
    # the Jing'an extract: 366 demand nodes in the inset extent; the GCJ-02 elder-care points
    # reach 2 / 17 / 43 of them within 5 / 10 / 15 minutes at 0.9 m/s
    assert "0.005464" in out and "0.046448" in out and "0.117486" in out
    assert "nodes" in out and "rejected.csv" in out and "report.html" in out
    assert (tmp_path / "cov" / "map_offline.html").stat().st_size > 0


@pytest.mark.realdata
def test_what_if_and_siting(shared_data):
    out = run_example("02_siting_eldercare.py", data=shared_data)
    assert "覆盖路网节点 17 → 223" in out  # MCLP, 3 new stations, 10 minutes
    assert "50.0" in out  # the Amap point adds 50 nodes within 10 minutes


def run_notebook(name: str, cwd: Path):
    """Execute a notebook of examples/ with nbclient (a fresh kernel, cwd ``cwd``)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(EXAMPLES / name, as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    ).execute()
    return nb


def _outputs(nb, mime: str) -> list[str]:
    return [
        "".join(out.get("text", "")) if mime == "stream" else out.get("data", {}).get(mime, "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if (mime == "stream" and out.output_type == "stream") or mime in out.get("data", {})
    ]


@pytest.mark.slow
@pytest.mark.demo
def test_demo_notebook(tmp_path):
    """Example 3: the offline demo through the API, executed as a notebook; its outputs hold
    the demo's numbers and the map inline."""
    nb = run_notebook("03_offline_demo.ipynb", tmp_path)
    printed = "\n".join(_outputs(nb, "stream"))
    # no OSM elder care in the Helsinki extract: 0 % before; three new stations reach 9x %
    # of the 41,221 estimated residents (38,827 on 2026-11-30)
    assert "为老服务 15 分钟覆盖率: 0.0%（估算居民 41,221 人）" in printed, printed
    assert re.search(r"share_after: 0\.9\d", printed), printed
    assert re.search(r"覆盖 0 → [\d,]+ 人（0.0% → 9\d\.\d%）", printed), printed
    tables = _outputs(nb, "text/html")
    assert any("population_share" in t or "elder_care" in t for t in tables)
    maps = [t for t in tables if "folium" in t.lower() or "leaflet" in t.lower()]
    assert len(maps) == 1 and "L.map" in maps[0]  # the folium map, shown inline
    assert (tmp_path / "out" / "notebook_demo" / "report.html").stat().st_size > 0
