"""``brined verify`` and the checkpoint trailer in ``brined show``.

``verify`` exits 0 when every file verifies, 1 when any is a damaged checkpoint,
2 when any is not a checkpoint (or cannot be read) and none is damaged.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Any, TextIO

from ._format import END_MAGIC, CorruptCheckpointError, NotACheckpointError
from ._format import TrailerInfo as _Info
from ._store import Checkpoint, read_verified

__all__ = ["add_commands", "describe"]

OK, BAD, NOT_CHECKPOINT = "ok", "bad", "not a checkpoint"
_EXIT = {OK: 0, BAD: 1, NOT_CHECKPOINT: 2}


def _short(digest: str) -> str:
    return digest if len(digest) <= 16 else digest[:16] + "..."


def describe(info: _Info) -> str:
    """One line about a verified trailer."""
    when = datetime.datetime.fromtimestamp(info.created, datetime.UTC)
    if info.hmac_checked:
        mac = "HMAC verified"
    elif info.has_hmac:
        mac = "HMAC present, not checked (no key given)"
    else:
        mac = "no HMAC"
    meta = info.info
    parts = [
        f"{meta.get('kind', '?')} format {info.version}",
        f"generation {meta['generation']}" if "generation" in meta else "",
        f"module {meta['module']}" if "module" in meta else "",
        f"pickle {info.pickle_length} bytes",
        f"{info.checksum} {_short(info.digest.hex())} ok",
        mac,
        f"created {when.isoformat(timespec='seconds')}",
        f"brined {meta.get('brined', '?')}, Python {meta.get('python', '?')}",
    ]
    return ", ".join(p for p in parts if p)


def _key(args: argparse.Namespace) -> bytes | None:
    if args.key_file:
        with open(args.key_file, "rb") as f:
            return f.read().strip()
    if args.key_env:
        value = os.environ.get(args.key_env)
        if not value:
            raise ValueError(f"environment variable {args.key_env} is not set")
        return value.encode("utf-8")
    return None


def _targets(arg: str) -> list[str]:
    # A checkpoint's own path (``run/state.ckpt``) stands for its generations.
    if not os.path.exists(arg):
        found = Checkpoint(arg).generations()
        if found:
            return found
    return [arg]


def _check(path: str, key: bytes | None) -> dict[str, Any]:
    try:
        _, info = read_verified(path, key)
    except CorruptCheckpointError as exc:
        return {"file": path, "verdict": BAD, "reason": exc.reason}
    except NotACheckpointError:
        return {"file": path, "verdict": NOT_CHECKPOINT, "reason": "no trailer"}
    except OSError as exc:
        return {"file": path, "verdict": NOT_CHECKPOINT, "reason": str(exc)}
    return {
        "file": path,
        "verdict": OK,
        "trailer": info.to_json(),
        "line": describe(info),
    }


def _verify(args: argparse.Namespace, out: TextIO) -> int:
    try:
        key = _key(args)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"brined: bad key: {exc}\n")
        return 2
    results = [_check(p, key) for arg in args.files for p in _targets(arg)]
    if args.json:
        for r in results:
            r.pop("line", None)
        json.dump(results, out, indent=2)
        out.write("\n")
    else:
        for r in results:
            detail = r.get("line") or r["reason"]
            out.write(f"{r['file']}: {r['verdict'].upper()}: {detail}\n")
    verdicts = {r["verdict"] for r in results}
    return max(_EXIT[v] for v in verdicts) if BAD not in verdicts else 1


def _show_with_trailer(
    show: Callable[[argparse.Namespace, TextIO], int],
    args: argparse.Namespace,
    out: TextIO,
) -> int:
    code = show(args, out)
    path = args.file
    if path == "-" or not os.path.isfile(path):
        return code
    with open(path, "rb") as f:
        f.seek(max(0, os.path.getsize(path) - len(END_MAGIC)))
        if f.read() != END_MAGIC:
            return code
    result = _check(path, None)
    detail = result.get("line") or f"BAD: {result['reason']}"
    out.write(f"# checkpoint trailer: {detail}\n")
    return code


def add_commands(commands: Any) -> None:
    """Add ``verify``; make ``show`` print a checkpoint's trailer."""
    v = commands.add_parser(
        "verify",
        help="verify checkpoint files without loading them "
        "(exit 0 ok, 1 damaged, 2 not a checkpoint)",
    )
    v.add_argument(
        "files",
        metavar="FILE",
        nargs="+",
        help="checkpoint or session files; a checkpoint's path means all "
        "its generations",
    )
    keys = v.add_mutually_exclusive_group()
    keys.add_argument("--key-file", metavar="PATH", help="check the HMAC with this key")
    keys.add_argument(
        "--key-env", metavar="VAR", help="check the HMAC with the key in $VAR"
    )
    v.add_argument("--json", action="store_true", help="machine-readable output")
    v.set_defaults(handler=_verify)
    show = commands.choices.get("show")
    if show is not None:
        original = show.get_default("handler")
        show.set_defaults(handler=functools.partial(_show_with_trailer, original))
