"""brined.hash against joblib.hash, and deterministic / explain against dumps.

All timings are taken in one run, interleaved round by round, and reported as
the median over rounds (ratios are medians of per-round ratios):

* content hashes: ``brined.hash`` (SHA-256), ``joblib.hash`` (its default,
  MD5) and, for the array, one ``hashlib.sha256`` of its memory (the hash's
  bandwidth: what any content hash of it must at least cost);
* ``dumps(obj, deterministic=True)`` / ``dumps(obj)``: the issue's goal is
  at most 1.3x;
* ``explain(obj)`` / ``dumps(obj)`` on a graph that pickles: at most ~2x.

    python bench/bench_hash.py              # about a minute
    python bench/bench_hash.py --rounds 3 --md out.md
    python bench/bench_hash.py --no-hash --all    # bench.py's ten object graphs
    python bench/bench_hash.py --no-hash --workload dict_str_float_10k
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from bench_workloads import WORKLOADS  # noqa: E402

import brined  # noqa: E402


def _time(fn: Callable[[], Any], min_time: float) -> float:
    """Seconds per call, over enough calls to last `min_time`."""
    n = 0
    start = time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return elapsed / n


def _objects() -> dict[str, Any]:
    import numpy as np

    out: dict[str, Any] = {
        "float64 array, 100 MiB": np.random.default_rng(0).random(13_107_200),
        "10^5 small dicts": [
            {"id": i, "name": f"item{i}", "score": i * 0.5, "ok": i % 2 == 0}
            for i in range(100_000)
        ],
    }
    try:
        import pandas as pd

        n = 100_000
        out["DataFrame 10^5 x 4"] = pd.DataFrame(
            {
                "a": np.arange(n, dtype=np.int64),
                "b": np.random.default_rng(1).random(n),
                "c": [f"s{i % 1000}" for i in range(n)],
                "d": pd.date_range("2020-01-01", periods=n, freq="s"),
            }
        )
    except ImportError:
        print("pandas not installed: no DataFrame row", file=sys.stderr)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=0.2)
    ap.add_argument("--md", help="also write the tables as Markdown to this file")
    ap.add_argument("--no-hash", action="store_true", help="skip the hash table")
    ap.add_argument(
        "--all", action="store_true", help="every object-graph workload of bench.py"
    )
    ap.add_argument(
        "--workload", action="append", default=[], help="only these (repeatable)"
    )
    args = ap.parse_args()
    try:
        import joblib
    except ImportError:
        joblib = None
        print("joblib not installed: no joblib.hash column", file=sys.stderr)

    lines = [
        f"brined {brined.__version__} "
        f"({'compiled' if brined.COMPILED else 'interpreted'})"
        f", CPython {sys.version.split()[0]}, {args.rounds} rounds, median",
    ]
    if not args.no_hash:
        lines += [
            "",
            "| object | brined.hash | joblib.hash | sha256 of the memory "
            "| joblib / brined |",
            "|---|---:|---:|---:|---:|",
        ]
    for name, obj in ({} if args.no_hash else _objects()).items():
        samples: dict[str, list[float]] = {"brined": [], "joblib": [], "raw": []}
        for _ in range(args.rounds):
            samples["brined"].append(_time(lambda o=obj: brined.hash(o), args.min_time))
            if joblib is not None:
                samples["joblib"].append(
                    _time(lambda o=obj: joblib.hash(o), args.min_time)
                )
            if hasattr(obj, "data") and hasattr(obj, "dtype") and obj.ndim == 1:
                view = memoryview(obj).cast("B")
                samples["raw"].append(
                    _time(lambda v=view: hashlib.sha256(v).digest(), args.min_time)
                )
        med = {k: statistics.median(v) if v else None for k, v in samples.items()}

        def cell(x: float | None) -> str:
            return "-" if x is None else f"{x * 1e3:.1f} ms"

        b, j = med["brined"], med["joblib"]
        ratio = "-" if j is None or b is None else f"{j / b:.2f}"
        lines.append(
            f"| {name} | {cell(b)} | {cell(j)} | {cell(med['raw'])} | {ratio} |"
        )

    lines += [
        "",
        "| workload | dumps | deterministic | det / default | explain "
        "| explain / dumps |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    names = args.workload or (
        [w.name for w in WORKLOADS if not w.big]
        if args.all
        else [
            "pyperf_pickle",
            "dict_str_float_10k",
            "records_1mb",
            "plain_objects_10k",
            "memo_heavy_100k",
        ]
    )
    chosen = [w for w in WORKLOADS if w.name in names]
    for workload in chosen:
        objs = workload.build()
        det_r: list[float] = []
        exp_r: list[float] = []
        base_t: list[float] = []
        det_t: list[float] = []
        exp_t: list[float] = []
        for _ in range(args.rounds):

            def default(objs: list[Any] = objs) -> None:
                for o in objs:
                    brined.dumps(o)

            def deterministic(objs: list[Any] = objs) -> None:
                for o in objs:
                    brined.dumps(o, deterministic=True)

            def explain(objs: list[Any] = objs) -> None:
                for o in objs:
                    brined.explain(o)

            t0 = _time(default, args.min_time)
            t1 = _time(deterministic, args.min_time)
            t2 = _time(explain, args.min_time)
            base_t.append(t0)
            det_t.append(t1)
            exp_t.append(t2)
            det_r.append(t1 / t0)
            exp_r.append(t2 / t0)
        lines.append(
            f"| {workload.name} | {statistics.median(base_t) * 1e3:.1f} ms"
            f" | {statistics.median(det_t) * 1e3:.1f} ms"
            f" | {statistics.median(det_r):.2f}"
            f" | {statistics.median(exp_t) * 1e3:.1f} ms"
            f" | {statistics.median(exp_r):.2f} |"
        )
    text = "\n".join(lines)
    print(text)
    if args.md:
        Path(args.md).write_text(text + "\n")


if __name__ == "__main__":
    main()
