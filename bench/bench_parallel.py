#!/usr/bin/env python3
"""brined's process, network and Dask integrations against their stdlib peers.

    python bench/bench_parallel.py [--quick] [--only pools,array,wire,dask]

Side by side in one run (each number is the median of interleaved rounds):

* pools: 10^4 tiny tasks through brined's ProcessPoolExecutor and Pool (a
  lambda), the stdlib's (an importable function), and loky + cloudpickle (a
  lambda); 2 workers, fork; pool start-up not timed.
* array: a 200 MB float64 array sent to a worker and back (the worker returns
  it).  Each variant runs in a fresh process; reported: wall time and the peak
  RSS growth of the parent and of the worker, in units of the array's size
  (a measure of how many copies were alive at once).
* threshold: one array round trip through shared memory vs the pipe, by size
  (where DEFAULT_SHM_THRESHOLD comes from).
* wire: round trips/s of a small message and MB/s of 1 MiB messages through
  brined.connection (trusted and safe) and multiprocessing.connection, with
  the server in a child process.
* dask: task throughput on a LocalCluster (2 workers) with Dask's default
  serializers and with ["brined"].
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

MB = 1024 * 1024


def inc(x: int) -> int:
    return x + 1


def identity(a: Any) -> Any:
    return a


def rounds(fns: dict[str, Callable[[], float]], n: int) -> dict[str, float]:
    """Run each fn n times, interleaved, rotating order; median seconds."""
    samples: dict[str, list[float]] = {k: [] for k in fns}
    names = list(fns)
    for r in range(n):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            samples[name].append(fns[name]())
    return {k: statistics.median(v) for k, v in samples.items()}


# -- pools -----------------------------------------------------------------------


def bench_pools(quick: bool) -> None:
    import brined.parallel

    n = 2_000 if quick else 10_000
    ctx = multiprocessing.get_context("fork")
    k = 1
    brined_ex = brined.parallel.ProcessPoolExecutor(2, mp_context=ctx)
    std_ex = concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx)
    brined_pool = brined.parallel.get_context("fork").Pool(2)
    std_pool = ctx.Pool(2)
    executors: dict[str, Callable[[], float]] = {}

    def timed(fn: Callable[[], list[int]]) -> Callable[[], float]:
        def run() -> float:
            t = time.perf_counter()
            out = fn()
            dt = time.perf_counter() - t
            assert out == list(range(1, n + 1)), "wrong results"
            return dt

        return run

    executors["stdlib ProcessPoolExecutor.map (function)"] = timed(
        lambda: list(std_ex.map(inc, range(n)))
    )
    executors["brined ProcessPoolExecutor.map (lambda)"] = timed(
        lambda: list(brined_ex.map(lambda x: x + k, range(n)))
    )
    executors["stdlib ProcessPoolExecutor.submit x n (function)"] = timed(
        lambda: [f.result() for f in [std_ex.submit(inc, i) for i in range(n)]]
    )
    executors["brined ProcessPoolExecutor.submit x n (lambda)"] = timed(
        lambda: [
            f.result() for f in [brined_ex.submit(lambda x: x + k, i) for i in range(n)]
        ]
    )
    executors["stdlib Pool.map (function)"] = timed(lambda: std_pool.map(inc, range(n)))
    executors["brined Pool.map (lambda)"] = timed(
        lambda: brined_pool.map(lambda x: x + k, range(n))
    )
    try:
        import loky

        loky.set_loky_pickler("cloudpickle")
        loky_ex = loky.get_reusable_executor(max_workers=2, context="loky")
        executors["loky + cloudpickle executor.map (lambda)"] = timed(
            lambda: list(loky_ex.map(lambda x: x + k, range(n)))
        )
    except ImportError:
        print("  (loky not installed: skipped)")
    for fn in executors.values():  # warm up: start the workers
        fn()
    result = rounds(executors, 3)
    base = result["stdlib ProcessPoolExecutor.map (function)"]
    print(f"\n## {n} tiny tasks, 2 workers (median of 3 interleaved rounds)\n")
    print("| pool | tasks/s | time vs stdlib executor.map |")
    print("|---|---:|---:|")
    for name, t in result.items():
        print(f"| {name} | {n / t:,.0f} | {t / base:.2f}x |")
    brined_ex.shutdown()
    std_ex.shutdown()
    brined_pool.terminate()
    std_pool.terminate()


# -- a 200 MB array ----------------------------------------------------------------


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _worker_baseline(_: int) -> int:
    return _peak_rss()


def array_variant(variant: str, mb: int) -> dict[str, float]:
    """One variant in this (fresh) process: time and peak RSS growth."""
    import numpy as np

    import brined.parallel

    ctx = multiprocessing.get_context("fork")
    if variant == "stdlib":
        ex: Any = concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx)
    elif variant == "brined-shm":
        ex = brined.parallel.ProcessPoolExecutor(1, mp_context=ctx)
    else:
        ex = brined.parallel.ProcessPoolExecutor(1, mp_context=ctx, shm_threshold=None)
    with ex:
        worker_base = ex.submit(_worker_baseline, 0).result()
        a = np.ones(mb * MB // 8)
        parent_base = _peak_rss()
        t = time.perf_counter()
        out = ex.submit(identity, a).result()
        dt = time.perf_counter() - t
        assert out.shape == a.shape and float(out.sum()) == a.size
        parent_peak = _peak_rss()
        # The worker's peak over its whole life, its result's pickling included.
        worker_peak = ex.submit(_worker_baseline, 0).result()
    size = a.nbytes
    return {
        "seconds": dt,
        "parent_copies": (parent_peak - parent_base) / size,
        "worker_copies": (worker_peak - worker_base) / size,
    }


def bench_array(quick: bool) -> None:
    mb = 50 if quick else 200
    variants = ["stdlib", "brined-pipe", "brined-shm"]
    results: dict[str, list[dict[str, float]]] = {v: [] for v in variants}
    for r in range(2 if quick else 3):
        for v in variants[r % 3 :] + variants[: r % 3]:
            out = subprocess.run(
                [sys.executable, __file__, "--array-variant", v, "--mb", str(mb)],
                capture_output=True,
                text=True,
                check=True,
            )
            results[v].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"\n## a {mb} MB array to a worker and back (fresh process per run)\n")
    print(
        "| variant | seconds | MB/s (both ways) | parent peak RSS growth "
        "| worker peak RSS growth |"
    )
    print("|---|---:|---:|---:|---:|")
    names = {
        "stdlib": "stdlib ProcessPoolExecutor (pickle in band)",
        "brined-pipe": "brined, shm_threshold=None (protocol 5, pipe)",
        "brined-shm": "brined, shared memory",
    }
    for v in variants:
        med = {k: statistics.median(x[k] for x in results[v]) for k in results[v][0]}
        print(
            f"| {names[v]} | {med['seconds']:.3f} | {2 * mb / med['seconds']:,.0f} "
            f"| {med['parent_copies']:.2f} x | {med['worker_copies']:.2f} x |"
        )


def bench_threshold(quick: bool) -> None:
    """Where shared memory starts to pay: one array to a worker and back."""
    import numpy as np

    import brined.parallel

    ctx = multiprocessing.get_context("fork")
    shm = brined.parallel.ProcessPoolExecutor(1, mp_context=ctx, shm_threshold=0)
    pipe = brined.parallel.ProcessPoolExecutor(1, mp_context=ctx, shm_threshold=None)
    print("\n## shared memory or the pipe, by array size (one round trip)\n")
    print("| array | shared memory | pipe | shm / pipe |")
    print("|---:|---:|---:|---:|")
    for size in (16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20):
        a = np.ones(size // 8)
        fns = {}
        for name, ex in (("shm", shm), ("pipe", pipe)):
            ex.submit(identity, a).result()

            def run(ex: Any = ex, a: Any = a) -> float:
                t = time.perf_counter()
                for _ in range(10):
                    ex.submit(identity, a).result()
                return (time.perf_counter() - t) / 10

            fns[name] = run
        t = rounds(fns, 3 if quick else 5)
        print(
            f"| {size >> 10} KiB | {t['shm'] * 1e3:.2f} ms | {t['pipe'] * 1e3:.2f} ms "
            f"| {t['shm'] / t['pipe']:.2f} |"
        )
    shm.shutdown()
    pipe.shutdown()


# -- the wire -------------------------------------------------------------------------


def _serve(kind: str, address_queue: Any) -> None:
    if kind == "stdlib":
        from multiprocessing.connection import Listener
    else:
        from brined.connection import Listener  # type: ignore[assignment]
    opts: dict[str, Any] = {} if kind == "stdlib" else {"trusted": kind == "trusted"}
    with Listener(("127.0.0.1", 0), authkey=b"bench", **opts) as listener:
        address_queue.put(listener.address)
        with listener.accept() as conn:
            while True:
                try:
                    msg = conn.recv()
                except EOFError:
                    return
                if msg == "ack?":
                    conn.send("ack")
                elif not isinstance(msg, bytes):
                    conn.send(msg)


def bench_wire(quick: bool) -> None:
    from multiprocessing.connection import Client as StdClient

    from brined.connection import Client as BrinedClient

    n_small = 2_000 if quick else 10_000
    n_big = 50 if quick else 200
    small = {"id": 12345, "name": "sensor-7", "values": [1.5, 2.5, 3.5], "ok": True}
    big = os.urandom(MB)
    ctx = multiprocessing.get_context("fork")
    conns: dict[str, Any] = {}
    procs = []
    for kind in ("stdlib", "trusted", "safe"):
        q = ctx.Queue()
        p = ctx.Process(target=_serve, args=(kind, q), daemon=True)
        p.start()
        procs.append(p)
        address = q.get(timeout=30)
        if kind == "stdlib":
            conns[kind] = StdClient(address, authkey=b"bench")
        else:
            conns[kind] = BrinedClient(
                address, authkey=b"bench", trusted=kind == "trusted"
            )

    def round_trips(conn: Any) -> Callable[[], float]:
        def run() -> float:
            t = time.perf_counter()
            for _ in range(n_small):
                conn.send(small)
                assert conn.recv() == small
            return time.perf_counter() - t

        return run

    def stream(conn: Any) -> Callable[[], float]:
        def run() -> float:
            t = time.perf_counter()
            for _ in range(n_big):
                conn.send(big)
            conn.send("ack?")
            assert conn.recv() == "ack"
            return time.perf_counter() - t

        return run

    labels = {
        "stdlib": "multiprocessing.connection",
        "trusted": "brined.connection, trusted=True",
        "safe": "brined.connection, safe (default)",
    }
    small_t = rounds({k: round_trips(c) for k, c in conns.items()}, 3)
    big_t = rounds({k: stream(c) for k, c in conns.items()}, 3)
    print("\n## messages through a connection (server in a child process)\n")
    print("| connection | small round trips/s | 1 MiB messages: MB/s |")
    print("|---|---:|---:|")
    for k in conns:
        print(
            f"| {labels[k]} | {n_small / small_t[k]:,.0f} | {n_big / big_t[k]:,.0f} |"
        )
    for c in conns.values():
        c.close()
    for p in procs:
        p.join(10)


# -- dask -----------------------------------------------------------------------


def bench_dask(quick: bool) -> None:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print("\n(dask.distributed not installed: skipped)")
        return
    import numpy as np

    import brined.dask  # noqa: F401 -- registers the family here

    n = 500 if quick else 2_000
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
        preload=["brined.dask"],
    ) as cluster:
        clients = {
            "default serializers": Client(cluster),
            '["brined"]': Client(
                cluster,
                serializers=["brined", "msgpack"],
                deserializers=["brined", "msgpack"],
            ),
        }
        a = np.ones(25 * MB // 8)
        k = 1

        def tasks(c: Any) -> Callable[[], float]:
            def run() -> float:
                t = time.perf_counter()
                out = c.gather(c.map(lambda x: x + k, range(n), pure=False))
                assert out == list(range(1, n + 1))
                return time.perf_counter() - t

            return run

        def data(c: Any) -> Callable[[], float]:
            def run() -> float:
                t = time.perf_counter()
                [f] = c.scatter([a], hash=False)
                out = c.submit(lambda x: x, f, pure=False).result()
                assert out.shape == a.shape
                del f
                return time.perf_counter() - t

            return run

        for c in clients.values():
            tasks(c)()
        task_t = rounds({k: tasks(c) for k, c in clients.items()}, 3)
        data_t = rounds({k: data(c) for k, c in clients.items()}, 3)
        print(f"\n## Dask LocalCluster, 2 workers: {n} lambda tasks; a 25 MB array\n")
        print("| client serializers | tasks/s | 25 MB scatter + result: MB/s |")
        print("|---|---:|---:|")
        for k in clients:
            print(f"| {k} | {n / task_t[k]:,.0f} | {2 * 25 / data_t[k]:,.0f} |")
        for c in clients.values():
            c.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="pools,array,threshold,wire,dask")
    parser.add_argument("--array-variant")
    parser.add_argument("--mb", type=int, default=200)
    args = parser.parse_args()
    if args.array_variant:
        print(json.dumps(array_variant(args.array_variant, args.mb)))
        return
    print(f"# bench_parallel: Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    parts = args.only.split(",")
    if "pools" in parts:
        bench_pools(args.quick)
    if "array" in parts:
        bench_array(args.quick)
    if "threshold" in parts:
        bench_threshold(args.quick)
    if "wire" in parts:
        bench_wire(args.quick)
    if "dask" in parts:
        bench_dask(args.quick)


if __name__ == "__main__":
    main()
