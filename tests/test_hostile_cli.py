"""Command-line plumbing for every subcommand: no traceback, exit codes, checks before work.

The whole family is covered by walking the real parser: every subcommand, every numeric
option, every output location.
"""

from __future__ import annotations

import argparse
import math
import os

import openpyxl
import pytest

from lifecircle.scripts import _plumbing
from lifecircle.scripts.cli import build_parser, main

PARSER = build_parser()
COMMANDS = _plumbing.subparsers(PARSER)

#: Enough arguments for each subcommand to parse; the files need not exist (outputs are
#: checked first, and a missing input is a clean exit 2 anyway).
MINIMAL = {
    "info": ["--facilities", "nope.csv"],
    "coverage": ["--network", "nope.osm", "--facilities", "nope.csv", "--coords", "wgs84"],
    "site": ["--network", "nope.osm"],
    "map": [],
    "studio": ["--coverage", "nope"],
    "run": ["--config", "nope.yaml"],
    "batch": ["nope.yaml"],
    "demo": [],
    "schema": ["run-config"],
}


def _numeric_options():
    for name, p in COMMANDS.items():
        for action in p._actions:
            rng = _plumbing.RANGES.get(action.dest)
            if action.option_strings and rng is not None and action.type is not None:
                yield name, action.option_strings[0], rng


NUMERIC = list(_numeric_options())


def _argv(cmd, tmp_path, *extra):
    out = (
        ["--out", str(tmp_path / ("m.html" if cmd in ("map", "studio") else "out"))]
        if cmd != "info"
        else []
    )
    return [cmd, *MINIMAL[cmd], *out, *extra]


def test_every_command_is_covered():
    assert set(COMMANDS) == set(MINIMAL)
    assert len(NUMERIC) >= 20  # every float/int option of every command has a range
    options = {opt for _, opt, _ in NUMERIC}
    assert {"--minutes", "--metres", "--new", "--share60", "--osm-timeout", "--jobs"} <= options


@pytest.mark.parametrize("cmd", sorted(MINIMAL))
def test_shared_flags_and_no_abbreviations(cmd, tmp_path, capsys):
    p = COMMANDS[cmd]
    assert p.allow_abbrev is False and PARSER.allow_abbrev is False
    assert {"--debug", "--quiet"} <= set(p._option_string_actions)
    online = {"--osm-timeout", "--osm-retries"} <= set(p._option_string_actions)
    assert online == (cmd in _plumbing.ONLINE_COMMANDS)
    with pytest.raises(SystemExit) as exit_:
        main([cmd, *MINIMAL[cmd], "--deb"])  # an abbreviation of --debug is not --debug
    assert exit_.value.code == 2
    assert "--deb" in capsys.readouterr().err


BAD = ["nan", "inf", "-inf", "1e308", "-1", "-1e-9", "zwei", ""]


@pytest.mark.parametrize(("cmd", "option", "rng"), NUMERIC, ids=[f"{c} {o}" for c, o, _ in NUMERIC])
def test_every_numeric_option_is_checked_at_parse_time(cmd, option, rng, tmp_path, capsys):
    for bad in BAD:
        try:
            value = float(bad)
        except ValueError:
            value = None
        if value is not None and rng.check(value):
            continue
        with pytest.raises(SystemExit) as exit_:
            main(_argv(cmd, tmp_path, f"{option}={bad}"))
        err = capsys.readouterr().err
        assert exit_.value.code == 2, (option, bad)
        assert f"argument {option}" in err and "Traceback" not in err
        if value is not None:
            assert rng.text() in err, err  # the range is in the message
    # the upper bound just above is refused too
    with pytest.raises(SystemExit):
        main(_argv(cmd, tmp_path, option, repr(rng.hi * 2 + 1)))
    assert not (tmp_path / "out").exists()  # nothing was computed or written


def test_ranges_accept_their_ends():
    assert _plumbing.RANGES["share60"].check(0) and _plumbing.RANGES["share60"].check(1)
    assert not _plumbing.RANGES["minutes"].check(0) and _plumbing.RANGES["minutes"].check(120)
    assert not _plumbing.RANGES["minutes"].check(math.nan)


DIR_COMMANDS = ["coverage", "site", "run", "demo"]


@pytest.mark.parametrize("cmd", DIR_COMMANDS)
def test_output_folder_that_is_a_file(cmd, tmp_path, capsys):
    taken = tmp_path / "out"
    taken.write_text("x")
    assert main(_argv(cmd, tmp_path)) == 2
    err = capsys.readouterr().err
    assert "已存在且是文件" in err and str(taken) in err and "Traceback" not in err


@pytest.mark.parametrize("cmd", DIR_COMMANDS)
def test_output_names_taken_by_folders(cmd, tmp_path, capsys):
    (tmp_path / "out" / "coverage.csv").mkdir(parents=True)
    (tmp_path / "out" / "report.html").mkdir()
    assert main(_argv(cmd, tmp_path)) == 2
    err = capsys.readouterr().err
    assert "coverage.csv, report.html" in err and "同名目录" in err


@pytest.mark.parametrize("cmd", DIR_COMMANDS + ["map"])
def test_output_that_cannot_be_created(cmd, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    target = (
        blocker / "sub" / ("m.html" if cmd in ("map", "studio") else "out")
    )  # a file on the path
    argv = [cmd, *MINIMAL[cmd], "--out", str(target)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "Traceback" not in err


def test_unwritable_output_folder(tmp_path, capsys):
    if os.geteuid() == 0:  # root writes anywhere: use a folder no one can create files in
        target = "/proc/lifecircle-out"
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        target = str(locked / "out")
    assert main(["demo", "--out", target]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "Traceback" not in err


def test_map_output_that_is_a_folder(tmp_path, capsys):
    folder = tmp_path / "map.html"
    folder.mkdir()
    assert main(["map", "--out", str(folder)]) == 2
    assert "是一个目录" in capsys.readouterr().err


def test_internal_error_is_one_line_and_exit_1(tmp_path, capsys, monkeypatch):
    from lifecircle.scripts import cmd_demo

    def boom(args):
        raise RuntimeError("unexpected\nstate")

    monkeypatch.setattr(cmd_demo, "run", boom)
    assert main(["demo", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        "lifecircle demo: error: unexpected state [RuntimeError] (加 --debug 查看详细信息)"
    )
    assert main(["demo", "--out", str(tmp_path / "o"), "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: unexpected" in err


def test_quiet_prints_nothing_but_errors(tmp_path, capsys, fixtures_dir):
    path = fixtures_dir / "facilities_utf8bom.csv"
    assert main(["info", "--facilities", str(path), "--coords", "gcj02"]) == 0
    assert capsys.readouterr().out
    assert main(["info", "--facilities", str(path), "--coords", "gcj02", "--quiet"]) == 0
    assert capsys.readouterr().out == ""


def test_sheet_out_of_range_names_the_sheets(tmp_path, capsys):
    wb = openpyxl.Workbook()
    wb.active.title = "设施"
    wb.active.append(["name", "type", "lng", "lat"])
    wb.active.append(["甲", "为老服务站", 121.43, 31.25])
    wb.create_sheet("说明")
    wb.create_sheet("备注")
    book = tmp_path / "f.xlsx"
    wb.save(book)
    code = main(["info", "--facilities", str(book), "--coords", "wgs84", "--sheet", "9"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "没有第 9 个工作表" in err and "0: '设施', 1: '说明', 2: '备注'" in err
    assert main(["info", "--facilities", str(book), "--coords", "wgs84", "--sheet", "表9"]) == 2
    assert "没有工作表 '表9'" in capsys.readouterr().err


def test_osm_limits_reach_the_library(tmp_path, monkeypatch):
    from lifecircle.geo.osm_online import current_limits
    from lifecircle.scripts import cmd_run

    seen = {}

    def fake_run(args: argparse.Namespace) -> int:
        seen["limits"] = current_limits()
        return 0

    monkeypatch.setattr(cmd_run, "run", fake_run)
    argv = ["run", "--config", "x", "--out", str(tmp_path / "o")]
    assert main([*argv, "--osm-timeout", "7.5", "--osm-retries", "0"]) == 0
    assert (seen["limits"].timeout_s, seen["limits"].retries) == (7.5, 0)
    assert main(argv) == 0
    assert (seen["limits"].timeout_s, seen["limits"].retries) == (30.0, 3)
