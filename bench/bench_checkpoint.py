#!/usr/bin/env python3
"""Checkpoint.save against its floors: the bytes written with open().write + fsync,
and a plain brined.dump of the same object.

    python bench/bench_checkpoint.py [--size-mb 1024] [--objects 1000000] [--rounds 3]

Each round times both sides back to back, in an order alternating from round to
round; the reported ratio is the median over rounds of save / floor from the same
round.  The files go to --dir (default: a temporary folder beside this script, on
the same disk as the repository) and are removed at the end.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import tempfile
import time
import zlib
from collections.abc import Callable

import brined
from brined.checkpoint import Checkpoint

_CPU: dict[Callable[[], object], list[float]] = {}


def _time(fn: Callable[[], object]) -> float:
    gc.collect()
    cpu = time.process_time()  # all threads: the hashing helper included
    start = time.perf_counter()
    fn()
    wall = time.perf_counter() - start
    _CPU.setdefault(fn, []).append(time.process_time() - cpu)
    return wall


def _rounds(
    name: str, save: Callable[[], object], floor: Callable[[], object], rounds: int
) -> None:
    ratios, saves, floors = [], [], []
    for r in range(rounds):
        if r % 2:
            f, s = _time(floor), _time(save)
        else:
            s, f = _time(save), _time(floor)
        saves.append(s)
        floors.append(f)
        ratios.append(s / f)
    print(
        f"| {name} | {statistics.median(saves):.3f} s | "
        f"{statistics.median(floors):.3f} s | {statistics.median(ratios):.2f}x | "
        f"{min(ratios):.2f}-{max(ratios):.2f} | "
        f"{statistics.median(_CPU.pop(save)):.3f} s / "
        f"{statistics.median(_CPU.pop(floor)):.3f} s |",
        flush=True,
    )


def bench_array(folder: str, size_mb: int, rounds: int) -> None:
    import numpy as np

    arr = np.random.default_rng(0).random(size_mb * (1 << 20) // 8)
    ckpt = Checkpoint(os.path.join(folder, "array.ckpt"), keep=1, progress=False)
    raw = os.path.join(folder, "array.raw")

    def floor() -> None:
        with open(raw, "wb") as f:
            f.write(memoryview(arr).cast("B"))
            f.flush()
            os.fsync(f.fileno())
        os.unlink(raw)

    cpu = time.process_time()
    zlib.crc32(memoryview(arr).cast("B"))
    crc_cpu = time.process_time() - cpu
    print(f"| CRC-32 of the array alone | | | | | {crc_cpu:.3f} s |", flush=True)
    _rounds(
        f"numpy {size_mb} MiB: save vs write+fsync",
        lambda: ckpt.save({"w": arr, "step": 1}),
        floor,
        rounds,
    )
    ckpt.close()


def bench_graph(folder: str, objects: int, rounds: int) -> None:
    # About five objects per record: the dict, an int, a str, a float, a tuple.
    n = objects // 5
    graph = [{"i": i, "s": str(i), "t": (i, float(i))} for i in range(n)]
    ckpt = Checkpoint(os.path.join(folder, "graph.ckpt"), keep=1, progress=False)
    plain = os.path.join(folder, "graph.pkl")

    def floor() -> None:
        with open(plain, "wb") as f:
            brined.dump(graph, f, 5)

    def floor_fsync() -> None:
        with open(plain, "wb") as f:
            brined.dump(graph, f, 5)
            f.flush()
            os.fsync(f.fileno())

    _rounds(
        f"{objects:.0e}-object graph: save vs brined.dump",
        lambda: ckpt.save(graph),
        floor,
        rounds,
    )
    _rounds(
        f"{objects:.0e}-object graph: save vs brined.dump + fsync",
        lambda: ckpt.save(graph),
        floor_fsync,
        rounds,
    )
    ckpt.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", default=os.path.dirname(os.path.abspath(__file__)))
    args = parser.parse_args()
    build = "compiled" if brined.COMPILED else "interpreted"
    print(f"brined {brined.__version__} ({build}), {args.rounds} rounds")
    print(f"load average before: {_load()}\n")
    print("| case | save | floor | ratio (median) | range | CPU save / floor |")
    print("|---|---|---|---|---|---|")
    folder = tempfile.mkdtemp(prefix="bench-ckpt-", dir=args.dir)
    try:
        bench_array(folder, args.size_mb, args.rounds)
        bench_graph(folder, args.objects, args.rounds)
    finally:
        shutil.rmtree(folder)
    print(f"\nload average after: {_load()}")


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - platforms without it
        return "unknown"


if __name__ == "__main__":
    main()
