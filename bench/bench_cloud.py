#!/usr/bin/env python3
"""brined.cloud against cloudpickle, side by side in one run.

    python bench/bench_cloud.py [--rounds N] [--sizes-only]
    python bench/bench_cloud.py --ir [--workload NAME] [-n N]

Workloads: 10k distinct closures, a dynamic class with 10k instances, a dict of
1k importable functions, a dataclass-heavy object graph.  For each workload and
direction (dumps, loads) both implementations are timed in interleaved rounds
(order alternating), each sample the best of a few calls; the table gives the
median per-op time and brined/cloudpickle ratio.  Loads: each loads its own
bytes (cloudpickle with pickle.loads, brined.cloud with brined.cloud.loads).
Every cell is checked before timing (the round trip behaves like the input).
Also prints a size table (bytes for the same object, both libraries).

``--ir`` counts instructions instead (callgrind; a loaded machine cannot skew
them): each (workload, op) runs in its own process under ``valgrind
--tool=callgrind --toggle-collect=starmap_next``, with the op called once
outside the count (lazy imports, caches) and then ``n`` times inside one
``itertools.starmap`` (which neither library uses: a nested call of the toggle
function would switch counting off); a run with ``n = 0`` gives what the rest
of the process spends there, which is subtracted.  Needs valgrind.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import functools
import gc
import itertools
import os
import pickle
import re
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from typing import Any

import cloudpickle

import brined
import brined.cloud as cloud


def closures() -> list[Callable[[int], int]]:
    def make(i: int) -> Callable[[int], int]:
        def f(x: int) -> int:
            return x + i

        return f

    return [make(i) for i in range(10_000)]


def check_closures(out: Any) -> None:
    assert len(out) == 10_000 and out[123](1) == 124


def instances() -> list[Any]:
    class Particle:
        def __init__(self, i: int) -> None:
            self.x = float(i)
            self.y = -float(i)
            self.tag = f"p{i}"

        def norm(self) -> float:
            return (self.x**2 + self.y**2) ** 0.5

    return [Particle(i) for i in range(10_000)]


def check_instances(out: Any) -> None:
    assert len(out) == 10_000 and out[3].tag == "p3" and type(out[0]) is type(out[-1])


def importable_functions() -> dict[str, Any]:
    import inspect

    found: dict[str, Any] = {}
    for name in sorted(sys.stdlib_module_names):
        if name.startswith("_") or name in ("antigravity", "this", "idlelib"):
            continue
        module = sys.modules.get(name)
        if module is None:
            continue
        for attr, value in sorted(vars(module).items()):
            if (
                inspect.isfunction(value)
                and value.__module__ == name
                and "<" not in value.__qualname__
                and getattr(module, value.__qualname__, None) is value
            ):
                found[f"{name}.{attr}"] = value
                if len(found) == 1000:
                    return found
    return found


def check_functions(out: Any) -> None:
    assert len(out) >= 500
    for key, value in out.items():
        assert isinstance(value, types.FunctionType), key


@dataclasses.dataclass
class Address:
    street: str
    city: str
    zip: str


class Status(enum.Enum):
    NEW = "new"
    PAID = "paid"


@dataclasses.dataclass
class Item:
    sku: str
    qty: int
    price: float


@dataclasses.dataclass
class Order:
    id: int
    address: Address
    status: Status
    items: list[Item] = dataclasses.field(default_factory=list)


def dataclass_graph() -> list[Order]:
    home = Address("1 Main St", "Springfield", "12345")
    return [
        Order(
            i,
            home if i % 2 else Address(f"{i} Elm", "Shelbyville", "54321"),
            Status.PAID if i % 3 else Status.NEW,
            [Item(f"sku{j}", j, j * 1.5) for j in range(5)],
        )
        for i in range(2_000)
    ]


def check_graph(out: Any) -> None:
    assert len(out) == 2_000 and out[5].items[2].qty == 2
    assert out[1].address is out[3].address


WORKLOADS: dict[str, tuple[Callable[[], Any], Callable[[Any], None]]] = {
    "10k distinct closures": (closures, check_closures),
    "dynamic class, 10k instances": (instances, check_instances),
    "dict of 1k importable functions": (importable_functions, check_functions),
    "dataclass-heavy graph (2k orders)": (dataclass_graph, check_graph),
}

IMPLS: dict[str, tuple[Callable[[Any], bytes], Callable[[bytes], Any]]] = {
    "cloudpickle": (cloudpickle.dumps, pickle.loads),
    "brined.cloud": (cloud.dumps, cloud.loads),
}


IR_OPS: dict[str, tuple[str, str]] = {
    # op: (implementation that writes the bytes, direction)
    "cloudpickle dumps": ("cloudpickle", "dumps"),
    "brined.cloud dumps": ("brined.cloud", "dumps"),
    "pickle.loads (cloudpickle's bytes)": ("cloudpickle", "loads"),
    "brined.cloud loads": ("brined.cloud", "loads"),
}


def _ir_child(workload: str, op: str, n: int) -> None:
    """Call `op` once, then n times inside one `starmap` (callgrind counts that)."""
    impl, direction = IR_OPS[op]
    dumps, loads = IMPLS[impl]
    obj = WORKLOADS[workload][0]()
    if direction == "dumps":
        f, arg = dumps, obj
    else:
        f, arg = loads, dumps(obj)
    f(arg)
    gc.collect()
    list(itertools.starmap(f, [(arg,)] * n))


def _ir_count(workload: str, op: str, n: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        proc = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--toggle-collect=starmap_next",
                f"--callgrind-out-file={out}",
                sys.executable,
                os.path.abspath(__file__),
                "--ir-child",
                workload,
                op,
                str(n),
            ],
            capture_output=True,
            text=True,
        )
    m = re.search(r"Collected\s*:\s*(\d+)", proc.stderr)
    if proc.returncode != 0 or m is None:
        raise SystemExit(f"callgrind failed for {workload} {op}:\n{proc.stderr}")
    return int(m.group(1))


def run_ir(workloads: list[str], n: int) -> None:
    print(
        f"brined {brined.__version__} (compiled: {brined.COMPILED}), "
        f"cloudpickle {cloudpickle.__version__}, Python {sys.version.split()[0]}; "
        f"instructions per call (millions), n={n}"
    )
    print()
    print(
        "| workload | cloudpickle dumps | brined.cloud dumps | ratio "
        "| pickle.loads | brined.cloud loads | ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for workload in workloads:
        per = {}
        for op in IR_OPS:
            base = _ir_count(workload, op, 0)
            per[op] = (_ir_count(workload, op, n) - base) / n / 1e6
        cd, bd, cl, bl = per.values()
        print(
            f"| {workload} | {cd:.2f} | {bd:.2f} | {bd / cd:.2f} "
            f"| {cl:.2f} | {bl:.2f} | {bl / cl:.2f} |"
        )
        sys.stdout.flush()


def sample(fn: Callable[[], Any], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def run(rounds: int) -> None:
    print(
        f"brined {brined.__version__} (compiled: {brined.COMPILED}), "
        f"cloudpickle {cloudpickle.__version__}, Python {sys.version.split()[0]}"
    )
    print()
    print("| workload | op | cloudpickle ms | brined.cloud ms | ratio |")
    print("|---|---|---:|---:|---:|")
    for name, (make, check) in WORKLOADS.items():
        obj = make()
        blobs = {}
        for impl, (dumps, loads) in IMPLS.items():
            blobs[impl] = dumps(obj)
            check(loads(blobs[impl]))
        for op in ("dumps", "loads"):
            times: dict[str, list[float]] = {impl: [] for impl in IMPLS}
            for r in range(rounds):
                order = list(IMPLS) if r % 2 == 0 else list(reversed(IMPLS))
                for impl in order:
                    dumps, loads = IMPLS[impl]
                    if op == "dumps":
                        times[impl].append(sample(functools.partial(dumps, obj)))
                    else:
                        data = blobs[impl]
                        times[impl].append(sample(functools.partial(loads, data)))
            cp = statistics.median(times["cloudpickle"]) * 1e3
            bc = statistics.median(times["brined.cloud"]) * 1e3
            print(f"| {name} | {op} | {cp:.1f} | {bc:.1f} | {bc / cp:.2f} |")
    print()


def sizes() -> None:
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent.parent))
    from tests.cloud.test_size import CASES

    print("| object | cloudpickle bytes | brined.cloud bytes |")
    print("|---|---:|---:|")
    for name, make in CASES.items():
        obj = make()
        print(f"| {name} | {len(cloudpickle.dumps(obj))} | {len(cloud.dumps(obj))} |")
    for name, (make, _) in WORKLOADS.items():
        obj = make()
        print(f"| {name} | {len(cloudpickle.dumps(obj))} | {len(cloud.dumps(obj))} |")


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--ir-child":
        _ir_child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes-only", action="store_true")
    parser.add_argument("--ir", action="store_true", help="count instructions")
    parser.add_argument(
        "--workload", action="append", default=[], choices=list(WORKLOADS)
    )
    parser.add_argument("-n", type=int, default=3, help="--ir: calls counted")
    args = parser.parse_args()
    if args.ir:
        run_ir(args.workload or list(WORKLOADS), args.n)
        return
    if not args.sizes_only:
        run(args.rounds)
    sizes()


if __name__ == "__main__":
    main()
