"""The README's ``lifecircle site`` example, run verbatim on the shared data (issue 8 §1-§2)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from lifecircle.scripts.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_command(name: str) -> list[str]:
    """The indented README block that starts with ``lifecircle <name> --network``."""
    text = README.read_text(encoding="utf-8")
    m = re.search(rf"^    lifecircle {name} --network .*?(?=\n\n)", text, re.S | re.M)
    assert m, f"no README example of {name}"
    return shlex.split(m.group(0).replace("\\\n", " "))[1:]


def test_readme_site_example_says_what_it_counts(shared_data, tmp_path, capsys, monkeypatch):
    argv = _readme_command("site")
    argv = [a.replace("$LIFECIRCLE_DATA", str(shared_data)) for a in argv]
    argv[argv.index("--out") + 1] = str(tmp_path / "site")
    assert main(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    # no population: node counts, never people, and no 60+ figure invented from node counts
    assert "需求点 531 个路网节点" in out and "不计 60岁以上" in out
    assert "60岁以上权重按全部需求计" not in out and " 人" not in out
    # the what-if A1 at 121.475,31.235 (GCJ-02): +33 nodes at 10 minutes, +4 at 5, +58 at 15
    assert "A1 新增站点1" in out and "+33 个路网节点" in out
    assert "  5 分钟: +4 个路网节点" in out and "  15 分钟: +58 个路网节点" in out
    assert "路网节点 +" not in out  # the unit is said once
    # MCLP proves its 3 picks optimal: 11.9 % → 56.7 % of the nodes within 10 minutes
    assert "已证明最优" in out and "11.9% → 56.7% (+238 个路网节点)" in out
