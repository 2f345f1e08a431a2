#!/usr/bin/env python3
"""Instructions per op under callgrind: an A/B measure a loaded machine cannot skew.

    python bench/bench_ir.py                       # None, pyperf_pickle: every op
    python bench/bench_ir.py --workload pyperf_list --op dumps --op cdumps -n 20

On a shared machine at a load average of 10 on 2 cores, timed ratios move by
tens of percent between rounds (bench.py's `±` column); the number of
instructions executed does not depend on the load.  Each (workload, op) runs in
its own process under ``valgrind --tool=callgrind``: once with no op (the
baseline: start-up, imports, building the data) and once with the op repeated
``-n`` times over the workload's objects; the difference divided by the number
of ops is the cost of one op.  Instructions are not time (a cache miss costs
more than an add), so this complements bench.py, it does not replace it.

Ops: ``dumps``/``loads``/``tloads`` (brined; tloads is ``trusted=True``) and
``cdumps``/``cloads`` (C pickle), all protocol 5.  brined is whichever build the
interpreter imports (see ``--python``).  Needs valgrind.
"""

from __future__ import annotations

import argparse
import os
import pickle
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OPS = ("dumps", "cdumps", "loads", "tloads", "cloads")


def _objects(workload: str) -> list[Any]:
    if workload == "none":
        return [None]
    sys.path.insert(0, str(HERE))
    import bench_workloads as wls

    objs: list[Any] = getattr(wls, workload)()
    return objs


def _child(workload: str, op: str, n: int) -> None:
    """Run `op` n times over the workload (in the process callgrind counts)."""
    import brined

    objs = _objects(workload)
    data = [pickle.dumps(o, protocol=5) for o in objs]
    if op == "none":
        return
    if op == "dumps":
        for _ in range(n):
            for o in objs:
                brined.dumps(o, protocol=5)
    elif op == "cdumps":
        for _ in range(n):
            for o in objs:
                pickle.dumps(o, protocol=5)
    elif op == "loads":
        for _ in range(n):
            for b in data:
                brined.loads(b)
    elif op == "tloads":
        for _ in range(n):
            for b in data:
                brined.loads(b, trusted=True)
    elif op == "cloads":
        for _ in range(n):
            for b in data:
                pickle.loads(b)
    else:
        raise SystemExit(f"unknown op {op!r}")


def _count(python: str, workload: str, op: str, n: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        proc = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                python,
                str(Path(__file__).resolve()),
                "--child",
                workload,
                op,
                str(n),
            ],
            capture_output=True,
            text=True,
            cwd=tmp,  # never import brined from a source tree by accident
        )
    m = re.search(r"Collected\s*:\s*(\d+)", proc.stderr)
    if proc.returncode != 0 or m is None:
        raise SystemExit(f"callgrind failed for {workload} {op}:\n{proc.stderr}")
    return int(m.group(1))


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workload", action="append", default=[], help="none or a name")
    ap.add_argument("--op", action="append", default=[], choices=OPS)
    ap.add_argument("-n", type=int, help="repeats (default: 1000 for none, else 10)")
    ap.add_argument("--python", default=sys.executable, help="the build to measure")
    args = ap.parse_args()
    workloads = args.workload or ["none", "pyperf_pickle"]
    ops = args.op or list(OPS)
    print("| workload | op | instructions per op |")
    print("|---|---|---:|")
    for workload in workloads:
        n = args.n or (1000 if workload == "none" else 10)
        ops_per_run = n * len(_objects(workload))
        base = _count(args.python, workload, "none", 0)
        for op in ops:
            total = _count(args.python, workload, op, n)
            print(f"| {workload} | {op} | {(total - base) / ops_per_run:,.0f} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
