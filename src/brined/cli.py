"""The ``brined`` command line: ``python -m brined`` and the ``brined`` script.

One argparse subcommand per feature; each is a function that takes the parsed
arguments and returns the exit code.  This module always runs interpreted (the
compiled build leaves it out), so it may use whatever Python it likes.
"""

from __future__ import annotations

import argparse
import io
import os
import pickle
import pickletools
import sys
import tempfile
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import brined

from ._format.opcodes import PROTO, REDUCE, SHORT_BINUNICODE, STACK_GLOBAL, STOP, TUPLE1
from .analyze import _cli as _analyze_cli
from .checkpoint import _cli as _checkpoint_cli
from .errors import UnsafeGlobalError

__all__ = ["build_parser", "main"]

Command = Callable[[argparse.Namespace, TextIO], int]


def _version_text() -> str:
    build = "compiled" if brined.COMPILED else "interpreted"
    python = ".".join(str(part) for part in sys.version_info[:3])
    return f"brined {brined.__version__} ({build}, Python {python})"


def _short_unicode(text: str) -> bytes:
    encoded = text.encode("utf-8")
    return bytes([SHORT_BINUNICODE, len(encoded)]) + encoded


def malicious_pickle() -> bytes:
    """A pickle that calls ``os.system('echo pwned')`` when loaded without checks.

    Written opcode by opcode, so that building it never touches a real callable.
    """
    return b"".join(
        [
            bytes([PROTO, 4]),
            _short_unicode("os"),
            _short_unicode("system"),
            bytes([STACK_GLOBAL]),  # pushes os.system
            _short_unicode("echo pwned"),
            bytes([TUPLE1]),  # ('echo pwned',)
            bytes([REDUCE]),  # os.system('echo pwned')
            bytes([STOP]),
        ]
    )


def _indent(text: str) -> str:
    return "".join(f"    {line}\n" for line in text.splitlines())


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    del args  # the demo takes no options
    record: dict[str, Any] = {
        "name": "brined",
        "version": (0, 1, 0),
        "tags": ["pickle", "safe by default"],
        "limits": {"depth": None, "ratio": 0.5},
        "raw": b"\x00\x01\x02",
        "flags": {True, False},
    }

    out.write(f"{_version_text()}\n\n")
    out.write(f"1. dump a dict to a file and load it back\n    {record!r}\n")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "record.pickle")
        with open(path, "wb") as f:
            brined.dump(record, f)
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            loaded = brined.load(f)
    out.write(f"    wrote {size} bytes; loaded back equal: {loaded == record}\n\n")

    data = brined.dumps(record)
    out.write("2. dumps/loads in memory\n")
    out.write(f"    dumps -> {len(data)} bytes: {data[:24]!r}...\n")
    out.write(f"    loads(...) == record: {brined.loads(data) == record}\n")
    # The stdlib's `pickle.dumps` is the C pickler: the bytes are meant to match.
    out.write(f"    same bytes as pickle.dumps: {data == pickle.dumps(record)}\n\n")

    payload = malicious_pickle()
    listing = io.StringIO()
    pickletools.dis(payload, out=listing)
    out.write("3. a malicious pickle, built by hand:\n")
    out.write(f"    {payload!r}\n")
    out.write(_indent(listing.getvalue()))
    out.write("    brined.loads(payload) with the default policy:\n")
    try:
        brined.loads(payload)
    except UnsafeGlobalError as exc:
        out.write(f"    refused: {type(exc).__name__}: {exc}\n")
        out.write(
            f"    (as data: module={exc.module!r} name={exc.name!r}"
            f" offset={exc.offset!r} opcode={exc.opcode!r})\n"
        )
        return 0
    out.write("    NOT refused: this build loaded an unsafe global.\n")
    return 1


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
    demo.set_defaults(handler=_demo)
    _analyze_cli.add_commands(commands)
    _checkpoint_cli.add_commands(commands)  # after analyze: it extends `show`
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
    return handler(args, sys.stdout)
