"""``brined cache info|ls|prune|clear LOCATION`` and the cache demo.

Exit codes as the other commands: 0 done, 2 when LOCATION is not a brined cache
(or cannot be read) or an argument is bad.  ``--json`` prints one JSON document.
Nothing here verifies or loads an entry: listings read headers only.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import time
import warnings
from typing import Any, TextIO

from ._common import CacheMiss, CacheWarning
from ._core import Cache

__all__ = ["add_commands", "demo"]


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    return datetime.datetime.fromtimestamp(stamp).isoformat(sep=" ", timespec="seconds")


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover - the loop always returns


def _open(args: argparse.Namespace) -> Cache | None:
    try:
        cache = Cache(args.location)
        found = cache.store.is_cache()
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"brined: {args.location}: {exc}\n")
        return None
    if not found:
        sys.stderr.write(f"brined: {args.location}: not a brined cache\n")
        return None
    return cache


def _info(args: argparse.Namespace, out: TextIO) -> int:
    cache = _open(args)
    if cache is None:
        return 2
    stats = cache.stats()
    if args.json:
        json.dump({"location": args.location, **stats}, out, indent=2)
        out.write("\n")
        return 0
    out.write(f"{args.location}\n")
    out.write(
        f"  entries {stats['entries']}  size {_size(stats['size'])}"
        f"  hits {stats['hits']}  misses {stats['misses']}"
        f"  oldest use {_when(stats['oldest'])}\n"
    )
    for name, row in stats["functions"].items():
        out.write(
            f"  {name}: {row['entries']} entries, {_size(row['size'])},"
            f" {row['hits']} hits, {row['misses']} misses\n"
        )
    return 0


def _ls(args: argparse.Namespace, out: TextIO) -> int:
    cache = _open(args)
    if cache is None:
        return 2
    now = time.time()
    rows: list[dict[str, Any]] = []
    for info in cache.entries():
        header = cache.header(info) or {}
        expires = header.get("expires")
        rows.append(
            {
                "function": header.get("function", info.function),
                "key": info.key,
                "size": info.size,
                "created": header.get("created"),
                "used": info.used,
                "expires": expires,
                "expired": expires is not None and now > expires,
                "readable": bool(header),
            }
        )
    if args.json:
        json.dump(rows, out, indent=2)
        out.write("\n")
        return 0
    for row in rows:
        flags = "" if row["readable"] else "  DAMAGED"
        flags += "  expired" if row["expired"] else ""
        out.write(
            f"{row['key'][:16]}  {_size(row['size']):>10}  used {_when(row['used'])}"
            f"  {row['function']}{flags}\n"
        )
    return 0


def _prune(args: argparse.Namespace, out: TextIO) -> int:
    cache = _open(args)
    if cache is None:
        return 2
    try:
        removed = cache.prune(max_size=args.max_size)
    except (TypeError, ValueError) as exc:
        sys.stderr.write(f"brined: {exc}\n")
        return 2
    if args.json:
        json.dump({"removed": removed}, out)
        out.write("\n")
    else:
        out.write(f"removed {removed} entries\n")
    return 0


def _clear(args: argparse.Namespace, out: TextIO) -> int:
    cache = _open(args)
    if cache is None:
        return 2
    removed = cache.clear()
    if args.json:
        json.dump({"removed": removed}, out)
        out.write("\n")
    else:
        out.write(f"removed {removed} entries\n")
    return 0


def _usage(args: argparse.Namespace, out: TextIO) -> int:
    del out
    args.cache_parser.print_help(sys.stderr)
    return 2


def add_commands(commands: Any) -> None:
    """Add ``cache`` and its subcommands to the CLI's subparsers."""
    parser = commands.add_parser(
        "cache", help="look into or tidy a brined.Cache folder or bucket"
    )
    parser.set_defaults(handler=_usage, cache_parser=parser)
    actions = parser.add_subparsers(dest="cache_command", metavar="ACTION")
    for name, handler, text in (
        ("info", _info, "entries, sizes, hits and misses, per function"),
        ("ls", _ls, "one line per entry, least recently used first"),
        ("prune", _prune, "remove expired, damaged and least recently used entries"),
        ("clear", _clear, "remove every entry"),
    ):
        sub = actions.add_parser(name, help=text)
        sub.add_argument("location", metavar="LOCATION", help="a folder or a URL")
        sub.add_argument("--json", action="store_true", help="print JSON")
        if name == "prune":
            sub.add_argument(
                "--max-size", default=None, help='keep at most this much, e.g. "1GB"'
            )
        sub.set_defaults(handler=handler)


def _slow_forecast(city: str) -> dict[str, Any]:
    time.sleep(0.4)  # a network call, say
    return {"city": city, "forecast": "sunny", "high": 21}


def demo(out: TextIO) -> int:
    """The cache demo: a slow function, the miss, the hit, then offline mode."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "cache")
        cache = Cache(folder)
        forecast = cache(_slow_forecast)
        out.write(f"brined.Cache({folder!r})\n\n")
        for label in (
            "1. first call (a miss: computes and stores)",
            "2. again (a hit)",
        ):
            start = time.perf_counter()
            value = forecast("Lisbon")
            took = (time.perf_counter() - start) * 1000
            out.write(f"{label}\n    {value!r} in {took:.1f} ms\n")
        out.write(f"    forecast.cached('Lisbon') -> {forecast.cached('Lisbon')}\n\n")
        offline = Cache(folder, offline=True)(_slow_forecast)
        out.write("3. offline=True (or BRINED_CACHE_OFFLINE=1): only what is cached\n")
        out.write(f"    forecast('Lisbon') -> {offline('Lisbon')!r}\n")
        try:
            offline("Oslo")
        except CacheMiss as exc:
            out.write(f"    forecast('Oslo') -> CacheMiss: {exc}\n\n")
        entry = cache.entries()[0]
        with open(entry.path, "r+b") as f:
            f.seek(-1, os.SEEK_END)
            last = f.read(1)
            f.seek(-1, os.SEEK_END)
            f.write(bytes([last[0] ^ 1]))
        out.write("4. a tampered entry is a miss with a warning, never unpickled\n")
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            cached = forecast.cached("Lisbon")
        for warning in seen:
            if issubclass(warning.category, CacheWarning):
                out.write(f"    CacheWarning: {warning.message}\n")
        out.write(f"    forecast.cached('Lisbon') -> {cached}\n")
    return 0
