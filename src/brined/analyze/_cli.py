"""The ``dis``, ``scan`` and ``show`` subcommands of the ``brined`` command line.

Each handler takes the parsed arguments and the output stream and returns the
exit code.  ``scan`` exits 0 when every pickle is clean, 1 when any is unsafe,
2 when any is not a valid pickle (or cannot be read) and none is unsafe.
Colour is used only when the output is a terminal and ``NO_COLOR`` is unset.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from typing import Any, TextIO

from .._safe.policy import Policy
from .dis import disassemble
from .inputs import Input, open_inputs
from .scan import CLEAN, INVALID, UNSAFE, ScanReport, scan
from .show import MARK_OPEN, show

__all__ = ["add_commands", "load_policy_file"]

_COLOURS = {CLEAN: "32", UNSAFE: "31;1", INVALID: "33;1"}


def _colour(out: TextIO) -> bool:
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty()) and "NO_COLOR" not in os.environ


def _paint(text: str, code: str, on: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if on else text


def load_policy_file(path: str) -> list[str]:
    """The ``allow`` entries of a policy file (TOML or JSON, see docs/tools.md).

    TOML: ``allow = ["collections.*", "mypkg.models:Point"]``; JSON: the same
    as an object ``{"allow": [...]}`` or a bare list.  Raises ValueError for
    anything else.
    """
    with open(path, "rb") as f:
        raw = f.read()
    data: Any
    if path.endswith(".json"):
        data = json.loads(raw)
    else:
        data = tomllib.loads(raw.decode("utf-8"))
    entries = data.get("allow") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        raise ValueError(f"{path}: expected a list of strings under 'allow'")
    return entries


def _policy(args: argparse.Namespace) -> Policy:
    allow = list(args.allow or [])
    if getattr(args, "policy", None):
        allow += load_policy_file(args.policy)
    return Policy(allow)


def _inputs(arg: str, err: TextIO) -> list[Input] | None:
    try:
        found = open_inputs(arg)
    except OSError as exc:
        err.write(f"brined: {arg}: {exc}\n")
        return None
    if not found:
        err.write(f"brined: {arg}: a zip archive with no *.pkl member\n")
        return None
    return found


def _dis(args: argparse.Namespace, out: TextIO) -> int:
    found = _inputs(args.file, sys.stderr)
    if found is None:
        return 2
    code = 0
    memo: dict[Any, str] | None = {} if args.memo else None
    for item in found:
        if len(found) > 1:
            out.write(f"== {item.name}\n")
        with item.open() as f:
            result = disassemble(
                f, out, memo=memo, indentlevel=args.indentlevel, annotate=args.annotate
            )
        if result.stopped is not None:
            code = 2
        if result.trailing:
            # Not in the text, which is pickletools.dis's own; a note beside it.
            sys.stderr.write(
                f"brined: {item.name}: {result.trailing} bytes after STOP at offset "
                f"{result.end} (not part of this pickle; loads ignores them)\n"
            )
    return code


def _scan_line(report: ScanReport, colour: bool) -> list[str]:
    verdict = _paint(report.verdict.upper(), _COLOURS[report.verdict], colour)
    lines = [f"{report.name}: {verdict}"]
    if report.reason:
        where = "" if report.offset is None else f" [offset {report.offset}]"
        lines.append(f"  why{where}: {report.reason}")
    for use in report.globals:
        status = use.status
        if status == "refused":
            status = _paint(status, "31", colour)
        where = "?" if use.offset is None else str(use.offset)
        times = f" x{use.count}" if use.count > 1 else ""
        lines.append(
            f"  global  {where:>8}  {use.opcode or '':<12} {use.module}.{use.name}"
            f"  {status}{times}"
        )
    for call in report.calls:
        where = "?" if call.offset is None else str(call.offset)
        text = call.text if len(call.text) <= 160 else call.text[:157] + "..."
        lines.append(f"  call    {where:>8}  {call.opcode or '':<12} {text}")
    if report.calls_dropped:
        lines.append(f"  ... {report.calls_dropped} more calls")
    if report.stopped and report.stopped != report.reason:
        lines.append(f"  loading stops: {report.stopped}")
    if report.hint:
        lines.append(f"  hint: {report.hint}")
    if report.buffers:
        many = "buffer" if report.buffers == 1 else "buffers"
        lines.append(
            f"  needs {report.buffers} out-of-band {many}: "
            f"loads(data, buffers=...) with {report.buffers}"
        )
    if report.trailing:
        lines.append(f"  note: {report.trailing} bytes after STOP (loads ignores them)")
    return lines


def _scan(args: argparse.Namespace, out: TextIO) -> int:
    try:
        policy = _policy(args)
    except (OSError, ValueError, TypeError) as exc:
        sys.stderr.write(f"brined: bad policy: {exc}\n")
        return 2
    colour = _colour(out) and not args.json
    reports: list[ScanReport] = []
    unreadable = False
    for arg in args.files:
        found = _inputs(arg, sys.stderr)
        if found is None:
            unreadable = True
            continue
        for item in found:
            with item.open() as f:
                report = scan(
                    f,
                    allow=policy,
                    name=item.name,
                    size=item.size,
                    **_load_options(args),
                )
            reports.append(report)
            if not args.json:
                out.write("\n".join(_scan_line(report, colour)) + "\n")
    if args.json:
        json.dump([r.to_json() for r in reports], out, indent=2)
        out.write("\n")
    verdicts = {r.verdict for r in reports}
    if UNSAFE in verdicts:
        return 1
    if INVALID in verdicts or unreadable:
        return 2
    return 0


def _show(args: argparse.Namespace, out: TextIO) -> int:
    try:
        policy = _policy(args)
    except (OSError, ValueError, TypeError) as exc:
        sys.stderr.write(f"brined: bad policy: {exc}\n")
        return 2
    found = _inputs(args.file, sys.stderr)
    if found is None:
        return 2
    colour = _colour(out)
    code = 0
    for item in found:
        with item.open() as f:
            report, text = show(
                f,
                allow=policy,
                name=item.name,
                size=item.size,
                max_items=args.items,
                **_load_options(args),
            )
        verdict = _paint(report.verdict, _COLOURS[report.verdict], colour)
        out.write(f"# {item.name}: {verdict}\n")
        for line in text.splitlines():
            if colour and MARK_OPEN in line:
                line = _paint(line, "31", colour)
            out.write(line + "\n")
        code = max(code, report.exit_code)
    return code


def add_commands(commands: Any) -> None:
    """Add ``dis``, ``scan`` and ``show`` to the CLI's subparsers."""
    dis = commands.add_parser(
        "dis", help="disassemble a pickle (pickletools.dis text), without running it"
    )
    dis.add_argument(
        "file", metavar="FILE", help="a pickle file, a zip, or - for stdin"
    )
    dis.add_argument(
        "-a",
        "--annotate",
        action="store_const",
        const=30,  # the column pickletools' -a asks for
        default=0,
        help="add a short description to each line",
    )
    dis.add_argument(
        "-m",
        "--memo",
        action="store_true",
        help="accepted for pickletools compatibility; each pickle gets its own memo",
    )
    dis.add_argument(
        "-l", "--indentlevel", type=int, default=4, help="blanks per MARK level"
    )
    dis.set_defaults(handler=_dis)

    sc = commands.add_parser(
        "scan",
        help="report what loading would import and call, with a verdict "
        "(exit 0 clean, 1 unsafe, 2 invalid)",
    )
    sc.add_argument("files", metavar="FILE", nargs="+", help="pickle files, zips, -")
    _policy_options(sc)
    sc.add_argument("--json", action="store_true", help="machine-readable output")
    sc.set_defaults(handler=_scan)

    sh = commands.add_parser(
        "show", help="print a pickle's contents as a tree, without running it"
    )
    sh.add_argument("file", metavar="FILE", help="a pickle file, a zip, or - for stdin")
    _policy_options(sh)
    sh.add_argument("--items", type=int, default=20, help="items shown per container")
    sh.set_defaults(handler=_show)


def _load_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "fix_imports": args.fix_imports,
        "encoding": args.encoding,
        "errors": args.errors,
    }


def _policy_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow",
        action="append",
        metavar="NAME",
        help="also allow this global, as allow= takes it (module.qualname, "
        "module:qualname, package.*); repeatable",
    )
    parser.add_argument(
        "--policy", metavar="FILE", help="a TOML or JSON file with an allow list"
    )
    # The options load() takes for Python 2 pickles, with its defaults: the
    # same options give the same verdict as brined.load.
    parser.add_argument(
        "--encoding",
        default="ASCII",
        help="how to decode Python 2 str (8-bit strings), as load(encoding=) "
        "takes it: e.g. latin1, or bytes to keep them as bytes (default ASCII)",
    )
    parser.add_argument(
        "--errors",
        default="strict",
        help="the decoding error handler, as load(errors=) (default strict)",
    )
    parser.add_argument(
        "--fix-imports",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="map Python 2 module names to Python 3 ones, as load(fix_imports=) "
        "(default: on)",
    )
