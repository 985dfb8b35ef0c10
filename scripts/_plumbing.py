"""What every ``lifecircle`` subcommand shares below its own options: checks made before any work.

:func:`finish_parser` runs once on the whole parser tree after the subcommands registered:

* ``allow_abbrev=False`` on every parser (``--min`` is not ``--minutes``);
* ``--debug`` (a traceback on failure) and ``--quiet`` (no progress, no chatter) on every
  subcommand; ``--osm-timeout`` and ``--osm-retries`` on those that may go online;
* every numeric option checked as it is parsed: finite, within its range (:data:`RANGES`), the
  range named in the message (exit 2). An option without a range is a programming error.

:func:`check_outputs` runs after parsing and before the command starts: the output folder (or
file, for ``map``) must be creatable and writable, no existing file may stand where a folder is
wanted, no folder where an output file goes, and no symbolic (or hard) link where an output is
written (:func:`lifecircle.workflow.writers.refuse_links`: writing would overwrite its target).
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..workflow.writers import refuse_links

__all__ = ["RANGES", "ONLINE_COMMANDS", "Range", "check_outputs", "finish_parser", "subparsers"]


@dataclass(frozen=True)
class Range:
    """Allowed values of a numeric option: ``lo`` ≤ (or <) value ≤ ``hi``."""

    lo: float
    hi: float
    lo_open: bool = False
    unit: str = ""

    def text(self) -> str:
        left = "(" if self.lo_open else "["
        return f"{left}{self.lo:.15g}, {self.hi:.15g}]{(' ' + self.unit) if self.unit else ''}"

    def check(self, value: float) -> bool:
        above = value > self.lo if self.lo_open else value >= self.lo
        return math.isfinite(value) and above and value <= self.hi


#: The range of every numeric option, by its ``dest``.
RANGES: dict[str, Range] = {
    "minutes": Range(0, 120, True, "分钟"),
    "thresholds": Range(0, 120, True, "分钟"),
    "metres": Range(0, 10_000, True, "米"),
    "population_total": Range(0, 100_000_000, True, "人"),
    "buffer_width": Range(0, 1_000, True, "米"),
    "max_snap": Range(0, 5_000, True, "米"),
    "blind_cell": Range(10, 5_000, False, "米"),
    "outside": Range(0, 5_000, False, "米"),
    "spacing": Range(10, 5_000, False, "米"),
    "tolerance": Range(0, 100, False, "米"),
    "share60": Range(0, 1),
    "target": Range(0, 1, True),
    "time_limit": Range(0, 86_400, True, "秒"),
    "osm_timeout": Range(0, 600, True, "秒"),
    "osm_retries": Range(0, 10),
    "jobs": Range(1, 64),
    "workers": Range(1, 1024),
    "new": Range(0, 1_000_000),
    "skip_rows": Range(0, 1_000_000),
}

#: Subcommands that may download from OpenStreetMap (they get --osm-timeout / --osm-retries).
ONLINE_COMMANDS = ("coverage", "run")


def _number(kind: type, name: str, rng: Range):
    """An argparse ``type`` that parses ``kind`` and checks the range."""

    def parse(text: str):
        try:
            value = kind(text)
        except (TypeError, ValueError):
            word = "整数" if kind is int else "数值"
            raise argparse.ArgumentTypeError(
                f"{text!r} 不是{word}, 允许范围 {rng.text()} (not a number)"
            ) from None
        if not rng.check(float(value)):
            raise argparse.ArgumentTypeError(
                f"{text} 超出允许范围 {rng.text()} (must be finite, within {rng.text()})"
            )
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommand parsers of the top-level parser, by name."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _add_flags(name: str, p: argparse.ArgumentParser) -> None:
    from ..settings import DEFAULT_ONLINE

    have = p._option_string_actions
    g = p.add_argument_group("运行 (run)")
    if "--quiet" not in have:  # commands with their own --quiet (progress bars) keep theirs
        g.add_argument("--quiet", action="store_true", help="只输出错误和警告")
        p.set_defaults(quiet_stdout=True)
    g.add_argument("--debug", action="store_true", help="出错时显示完整的 Python 调用栈")
    if name in ONLINE_COMMANDS:
        g.add_argument(
            "--osm-timeout",
            type=float,
            metavar="S",
            default=DEFAULT_ONLINE.timeout_s,
            help=f"OpenStreetMap 在线请求的超时 (秒, 默认 {DEFAULT_ONLINE.timeout_s:g})",
        )
        g.add_argument(
            "--osm-retries",
            type=int,
            metavar="N",
            default=DEFAULT_ONLINE.retries,
            help=f"在线请求失败 (429/5xx/连接被拒) 后的重试次数 (默认 {DEFAULT_ONLINE.retries})",
        )


def finish_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Shared flags, no abbreviations and checked numbers on every parser (see module doc).

    Raises
    ------
    RuntimeError
        A numeric option has no entry in :data:`RANGES`.
    """
    parser.allow_abbrev = False
    for name, p in subparsers(parser).items():
        p.allow_abbrev = False
        _add_flags(name, p)
        for action in p._actions:
            if action.type in (int, float):
                rng = RANGES.get(action.dest)
                if rng is None:
                    raise RuntimeError(f"lifecircle {name} {action.option_strings}: no range")
                action.type = _number(action.type, action.dest, rng)
    return parser


# ------------------------------------------------------------------------------- outputs
#: Endings of the files commands write into an output folder.
_OUTPUT_SUFFIXES = (".csv", ".gpkg", ".xlsx", ".html", ".md", ".png", ".json", ".txt")


def _writable_dir(folder: Path, option: str) -> None:
    """Create ``folder`` if needed and prove a file can be written in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(f"{option} {folder}: 路径上有同名文件, 无法建立目录") from None
    except OSError as exc:
        raise InputError(f"{option} {folder}: 无法建立目录 ({exc.strerror or exc})") from None
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".lifecircle-write-test-"):
            pass
    except OSError as exc:
        raise InputError(f"{option} {folder}: 目录不可写 ({exc.strerror or exc})") from None


def _check_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: 已存在且是文件, 这里需要一个目录 (a folder is wanted)")
    _writable_dir(out, "--out")
    refuse_links(out)
    taken = sorted(
        p.name for p in out.iterdir() if p.is_dir() and p.name.lower().endswith(_OUTPUT_SUFFIXES)
    )
    if taken:
        raise InputError(
            f"--out {out}: 输出文件名被同名目录占用: {', '.join(taken)}; 请删除或换一个输出目录"
        )


def _check_file(out: Path) -> None:
    if out.is_dir():
        raise InputError(f"--out {out}: 是一个目录, 这里需要文件名 (如 {out / 'map.html'})")
    refuse_links(out, file=True)
    if out.exists() and not os.access(out, os.W_OK):
        raise InputError(f"--out {out}: 文件不可写 (permission denied)")
    _writable_dir(out.parent if str(out.parent) else Path("."), "--out")


#: Commands whose ``--out`` is one file rather than a folder.
FILE_OUTPUTS = ("map", "studio")


def check_outputs(command: str, args: argparse.Namespace) -> None:
    """Check ``args.out`` before any computation (see the module docstring).

    Raises
    ------
    InputError
        The output cannot be written where it is asked for (exit 2).
    """
    out = getattr(args, "out", None)
    if out is None:
        return
    if not str(out).strip():
        raise InputError("--out: 输出路径为空 (empty output path)")
    path = Path(out).expanduser()
    if command in FILE_OUTPUTS:
        _check_file(path)
    else:
        _check_dir(path)
