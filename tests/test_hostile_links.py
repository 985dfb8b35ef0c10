"""Links planted in a reused output folder: a run never writes through them (exit 2, named)."""

from __future__ import annotations

import json
import os

import pytest
from test_hostile_repairs import _fragment_inputs
from test_pipeline import GRID_CONFIG, write_grid_inputs

from lifecircle.errors import InputError
from lifecircle.scripts.cli import main
from lifecircle.workflow.writers import planted_links

SECRET = "别人的文件, 不许改写\n"


def _outside(tmp_path):
    target = tmp_path / "elsewhere" / "secret.txt"
    target.parent.mkdir()
    target.write_text(SECRET, encoding="utf-8")
    return target


def _coverage_argv(tmp_path, out):
    osm, boundary, facilities = _fragment_inputs(tmp_path)
    return ["coverage", "--network", str(osm), "--boundaries", str(boundary), "--facilities",
            str(facilities), "--coords", "wgs84", "--minutes", "5", "--out", str(out)]  # fmt: skip


@pytest.mark.parametrize("name", ["coverage.csv", "coverage.gpkg", "rejected.csv", "manifest.json"])
def test_coverage_refuses_a_symlink_in_the_output_folder(tmp_path, capsys, name):
    target, out = _outside(tmp_path), tmp_path / "out"
    out.mkdir()
    (out / name).symlink_to(target)
    assert main(_coverage_argv(tmp_path, out)) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert f"输出位置 {out / name} 是链接 (指向 {target})" in err
    assert target.read_text(encoding="utf-8") == SECRET
    assert sorted(p.name for p in out.iterdir()) == [name]  # nothing computed, nothing written


def test_a_link_planted_while_the_run_computes_is_refused_before_writing(tmp_path, capsys,
                                                                        monkeypatch):  # fmt: skip
    """The check before the work is repeated just before the writes."""
    from lifecircle.scripts import _common

    target, out = _outside(tmp_path), tmp_path / "out"
    say = _common.say

    def plant(line: str) -> None:  # the console line after the network loaded
        if line.startswith("路网:") and not (out / "coverage.csv").is_symlink():
            (out / "coverage.csv").symlink_to(target)
        say(line)

    monkeypatch.setattr(_common, "say", plant)
    assert main(_coverage_argv(tmp_path, out)) == 2
    assert "coverage.csv 是链接" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == SECRET
    assert not (out / "coverage.gpkg").exists()


def test_a_hard_link_is_refused_as_well(tmp_path, capsys):
    target, out = _outside(tmp_path), tmp_path / "out"
    out.mkdir()
    os.link(target, out / "coverage.csv")
    assert main(_coverage_argv(tmp_path, out)) == 2
    assert "coverage.csv 是链接 (指向 另一个硬链接的文件)" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == SECRET


def _grid_config(tmp_path):
    paths = write_grid_inputs(tmp_path)
    cfg = tmp_path / "grid.yaml"
    cfg.write_text(GRID_CONFIG.format(**{k: json.dumps(str(v)) for k, v in paths.items()}),
                   encoding="utf-8")  # fmt: skip
    return cfg


def test_study_write_refuses_a_link_before_computing(tmp_path):
    """The Python API has the same guard as the command line (Study.write)."""
    from lifecircle import open_study

    target, out = _outside(tmp_path), tmp_path / "out"
    study = open_study(_grid_config(tmp_path))
    out.mkdir()
    (out / "network.npz").symlink_to(target)
    with pytest.raises(InputError, match="network.npz 是链接"):
        study.write(out)
    assert target.read_text(encoding="utf-8") == SECRET
    assert [p.name for p in out.iterdir()] == ["network.npz"]


def test_batch_refuses_a_street_folder_that_is_a_link(tmp_path, capsys):
    cfg = _grid_config(tmp_path)
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere_dir"
    out.mkdir()
    elsewhere.mkdir()
    (out / "网格街道").symlink_to(elsewhere, target_is_directory=True)
    assert main(["batch", str(cfg), "--out", str(out), "--workers", "1", "--quiet"]) == 2
    assert f"输出位置 {out / '网格街道'} 是链接" in capsys.readouterr().err
    assert list(elsewhere.iterdir()) == []


def test_links_inside_a_street_folder_and_map_file_are_refused(tmp_path, capsys):
    target, out = _outside(tmp_path), tmp_path / "out"
    (out / "网格街道").mkdir(parents=True)
    (out / "网格街道" / "report.html").symlink_to(target)
    assert main(["run", "--config", str(_grid_config(tmp_path)), "--out", str(out)]) == 2
    assert "report.html 是链接" in capsys.readouterr().err
    page = tmp_path / "map.html"
    page.symlink_to(target)
    assert main(["map", "--facilities", "x.csv", "--out", str(page)]) == 2
    assert f"输出位置 {page} 是链接" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == SECRET


def test_only_links_where_outputs_go_count(tmp_path):
    """The planner's own links (a data folder, a venv's lib64) and a linked --out are fine."""
    target, out = _outside(tmp_path), tmp_path / "real"
    (out / ".venv").mkdir(parents=True)
    (out / ".venv" / "lib64").symlink_to(out / ".venv", target_is_directory=True)
    (out / "data").symlink_to(target.parent, target_is_directory=True)
    (out / "notes_for_me").symlink_to(target)
    linked = tmp_path / "linked_out"
    linked.symlink_to(out, target_is_directory=True)
    assert planted_links(out) == [] and planted_links(linked) == []
    (out / ".venv" / "summary.csv").symlink_to(target)
    assert planted_links(linked) == [linked / ".venv" / "summary.csv"]
    assert planted_links(tmp_path / "missing") == []
