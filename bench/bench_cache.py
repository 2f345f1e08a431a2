"""brined.Cache against joblib.Memory, side by side in one run.

    python bench/bench_cache.py [--quick] [--size-mb 100]

Measures, on a local folder (the page cache warm, as in a second run of a notebook):
  hit      one call of a function of small arguments whose result is cached
  miss     one call with new arguments (key, pickle, signed atomic write) minus the
           function itself (which returns at once)
  array    a hit returning a float64 array of --size-mb MB, against reading a file
           of the same size with open().read() (the "reading the file" baseline)
           and with np.fromfile (one read straight into the array)

Prints a Markdown table; the median of a few rounds is quoted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

import brined
from brined.cache import Cache


def _median_per_call(fn: Callable[[], Any], calls: int, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - start) / calls)
    return statistics.median(times)


def _small(x: int, y: str = "a") -> tuple[int, str]:
    return (x, y)


def _big(n: int) -> Any:
    return np.arange(n, dtype=np.float64)


def bench(size_mb: int, quick: bool) -> list[tuple[str, float, float | None, str]]:
    import joblib

    rounds = 3 if quick else 5
    hits = 300 if quick else 2000
    misses = 50 if quick else 200
    n = size_mb * (1 << 20) // 8
    rows: list[tuple[str, float, float | None, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        ours = Cache(os.path.join(tmp, "brined"))
        theirs = joblib.Memory(os.path.join(tmp, "joblib"), verbose=0)
        small_b, small_j = ours(_small), theirs.cache(_small)
        small_b(1), small_j(1)
        rows.append(
            (
                "hit, small arguments",
                _median_per_call(lambda: small_b(1), hits, rounds),
                _median_per_call(lambda: small_j(1), hits // 10, rounds),
                "s/call",
            )
        )
        counter = iter(range(10**9))
        bare = _median_per_call(lambda: _small(next(counter)), misses, rounds)
        rows.append(
            (
                "miss, small arguments (minus the call)",
                _median_per_call(lambda: small_b(next(counter)), misses, rounds) - bare,
                _median_per_call(lambda: small_j(next(counter)), misses // 5, rounds)
                - bare,
                "s/call",
            )
        )

        big_b, big_j = ours(_big), theirs.cache(_big)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            big_b(n), big_j(n)
        raw = os.path.join(tmp, "raw.bin")
        with open(raw, "wb") as f:
            f.write(_big(n).tobytes())

        def read_file() -> bytes:
            with open(raw, "rb") as f:
                return f.read()

        def hit_b() -> None:
            a = big_b(n)
            assert a.shape == (n,)
            del a

        def hit_j() -> None:
            a = big_j(n)
            assert a.shape == (n,)
            del a

        def fromfile() -> None:
            np.fromfile(raw, dtype=np.float64)

        base = _median_per_call(read_file, 1, rounds + 2)
        base_np = _median_per_call(fromfile, 1, rounds + 2)
        ours_t = _median_per_call(hit_b, 1, rounds + 2)
        theirs_t = _median_per_call(hit_j, 1, rounds + 2)
        rows.append((f"read a {size_mb} MB file (baseline)", base, None, "s"))
        rows.append((f"np.fromfile of the {size_mb} MB file", base_np, None, "s"))
        rows.append((f"hit, {size_mb} MB array", ours_t, theirs_t, "s"))
        rows.append(
            ("  ... as a multiple of the baseline", ours_t / base, theirs_t / base, "x")
        )
        rows.append(
            (
                "  ... as a multiple of np.fromfile",
                ours_t / base_np,
                theirs_t / base_np,
                "x",
            )
        )
    return rows


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "x":
        return f"{value:.2f}x"
    if value < 1e-3:
        return f"{value * 1e6:.1f} µs"
    return f"{value * 1e3:.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--size-mb", type=int, default=100)
    args = parser.parse_args()
    import joblib

    rows = bench(args.size_mb, args.quick)
    build = "compiled" if brined.COMPILED else "interpreted"
    print(
        f"brined {brined.__version__} ({build}), joblib {joblib.__version__},"
        f" Python {sys.version.split()[0]}\n"
    )
    print("| measure | brined.Cache | joblib.Memory |")
    print("|---|---:|---:|")
    for name, ours, theirs, unit in rows:
        print(f"| {name} | {_fmt(ours, unit)} | {_fmt(theirs, unit)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
