"""The ``lifecircle`` command line.

One entry point with subcommands. Each subcommand lives in its own module ``scripts/cmd_<name>.py``
exposing ``register(subparsers)``, which adds a parser whose ``func`` default takes the parsed
arguments and returns an exit code. Only this layer prints and writes files.

Exit codes: 0 success (rows may have been rejected and reported), 2 bad input that could not be
read at all, 1 unexpected failure.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import EXIT_BAD_INPUT, InputError

__all__ = ["COMMANDS", "InputError", "build_parser", "main"]

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS = ("info", "coverage", "site", "map", "run", "demo")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="lifecircle",
        description="15分钟社区生活圈 walking coverage for sub-district (街道) planners",
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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"lifecircle {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
