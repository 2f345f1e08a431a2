"""The ``brined`` command line: ``python -m brined`` and the ``brined`` script.

One argparse subcommand per feature; each is a function that takes the parsed
arguments and returns the exit code.  This module always runs interpreted (the
compiled build leaves it out), so it may use whatever Python it likes.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

import brined

from . import _demo as _demo_module
from .analyze import _cli as _analyze_cli
from .cache import _cli as _cache_cli
from .checkpoint import _cli as _checkpoint_cli

__all__ = ["build_parser", "main"]

Command = Callable[[argparse.Namespace, TextIO], int]


def _version_text() -> str:
    build = "compiled" if brined.COMPILED else "interpreted"
    python = ".".join(str(part) for part in sys.version_info[:3])
    return f"brined {brined.__version__} ({build}, Python {python})"


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    if getattr(args, "topic", None) == "cache":
        return _cache_cli.demo(out)
    out.write(f"{_version_text()}\n\n")
    return _demo_module.run(out)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one subcommand per feature."""
    parser = argparse.ArgumentParser(
        prog="brined",
        description="Python object serialization in the pickle format: "
        "exact, safe by default, no depth limit.",
    )
    parser.add_argument("--version", action="version", version=_version_text())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="dump and load a dict, then watch a malicious pickle be refused",
    )
    demo.add_argument(
        "topic", nargs="?", choices=["cache"], help="cache: the brined.Cache demo"
    )
    demo.set_defaults(handler=_demo)
    _analyze_cli.add_commands(commands)
    _checkpoint_cli.add_commands(commands)  # after analyze: it extends `show`
    _cache_cli.add_commands(commands)
    from .diagnostics import add_command as _add_explain

    _add_explain(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with `argv` (default: ``sys.argv[1:]``).

    Returns the exit code: 0 when the command succeeded, 2 for a usage error.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Command | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        code = handler(args, sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`brined dis x.pkl | head`): stop quietly, as
        # the shell's own tools do, and keep Python's exit-time flush of the
        # dead pipe from printing a second traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return code
