"""The ``lifecircle`` command line.

One entry point with subcommands. Each subcommand lives in its own module ``scripts/cmd_<name>.py``
exposing ``register(subparsers)``, which adds a parser whose ``func`` default takes the parsed
arguments and returns an exit code. Only this layer prints and writes files.

Every subcommand also gets the shared plumbing of :mod:`lifecircle.scripts._plumbing`: no
abbreviated options, ``--debug`` and ``--quiet``, numeric options checked as they are parsed,
output locations checked before any computation.

Exit codes: 0 success (rows may have been rejected and reported), 2 bad input that could not be
used at all (including a bad option value or output location), 1 anything else (an internal
failure, or OpenStreetMap unreachable): one line on stderr, the traceback only with ``--debug``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import sys
import traceback

from ..console import guarded_console
from ..errors import EXIT_BAD_INPUT, EXIT_INTERNAL, InputError

__all__ = ["COMMANDS", "InputError", "build_parser", "main"]

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS = ("info", "coverage", "site", "map", "studio", "run", "batch", "demo", "schema")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    from ._plumbing import finish_parser

    parser = argparse.ArgumentParser(
        prog="lifecircle",
        description="15分钟社区生活圈 walking coverage for sub-district (街道) planners",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"lifecircle {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"{__package__}.cmd_{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__package__}.cmd_{name}":
                continue  # subcommand not built yet
            raise
        module.register(sub)
    return finish_parser(parser)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the module docstring).

    Everything printed, by any layer, goes through :func:`lifecircle.console.guarded_console`:
    names from input files cannot drive the terminal (escape sequences, bidi overrides).
    """
    with guarded_console():
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # bad options and values: argparse exits with 2
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return _run(args)
    except InputError as exc:
        _error(args, str(exc))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _error(args, "已中断 (interrupted)")
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place every failure becomes one line
        if getattr(args, "debug", False):
            traceback.print_exc()
        text = " ".join(str(exc).split()) or type(exc).__name__
        hint = "" if getattr(args, "debug", False) else " (加 --debug 查看详细信息)"
        _error(args, f"{text} [{type(exc).__name__}]{hint}")
        return EXIT_INTERNAL


def _run(args: argparse.Namespace) -> int:
    """Check the outputs, apply the online limits, run the command (quietly if asked)."""
    from ..geo.osm_online import online_limits
    from ._plumbing import check_outputs

    check_outputs(args.command, args)
    limits = online_limits(
        timeout_s=getattr(args, "osm_timeout", None), retries=getattr(args, "osm_retries", None)
    )
    quiet = getattr(args, "quiet", False) and getattr(args, "quiet_stdout", False)
    with limits, contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
        return int(args.func(args) or 0)


def _error(args: argparse.Namespace, text: str) -> None:
    if getattr(args, "debug", False) and isinstance(sys.exc_info()[1], InputError):
        traceback.print_exc()
    print(f"lifecircle {args.command}: error: {text}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
