#!/usr/bin/env python3
"""Instructions per op under callgrind: an A/B measure a loaded machine cannot skew.

    python bench/bench_ir.py                       # None, pyperf_pickle: every op
    python bench/bench_ir.py --workload pyperf_list --op dumps --op cdumps -n 20

On a shared machine at a load average of 10 on 2 cores, timed ratios move by
tens of percent between rounds (bench.py's `±` column); the number of
instructions executed does not depend on the load.  Each (workload, op) runs in
its own process under ``valgrind --tool=callgrind --toggle-collect=<entry>``,
which counts only what runs inside the op's C entry point (``brined.dumps`` /
``brined.loads`` of the compiled build, ``_pickle.dumps`` / ``_pickle.loads``),
twice: one call (the first call imports what the op imports lazily: millions of
instructions for a first ``loads``), and that call plus ``-n`` repeats over the
workload's objects; the difference divided by the number of repeats is one op.
(Counting the whole process instead, by difference, is useless: the garbage
collector's full passes land in one run and not the other.)  Instructions are
not time (a cache miss costs more than an add), so this complements bench.py,
it does not replace it.  The interpreted build has no entry point to count.

Ops: ``dumps``/``loads``/``tloads`` (brined; tloads is ``trusted=True``) and
``cdumps``/``cloads`` (C pickle), all protocol 5; ``ddumps`` is
``dumps(deterministic=True)`` and ``explain`` is ``brined.explain`` (counted
inside its one ``Pickler.dump``).  An out-of-band workload
(``numpy_100mb_oob``) calls dumps with ``buffer_callback=`` and loads with
``buffers=``, as bench.py does.  brined is whichever build the
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
OPS = ("dumps", "cdumps", "loads", "tloads", "cloads", "ddumps", "explain")
# The C function each op enters (mypyc names a module-level function's
# wrapper CPyPy_<module>___<name>).
ENTRY = {
    "dumps": "CPyPy_pickler___dumps",
    # (loads: the first name is the current one, the second its name before
    # round 6, so that an older build can be measured too.)
    "loads": "CPyPy_entry___loads CPyPy_unpickler___loads",
    "tloads": "CPyPy_entry___loads CPyPy_unpickler___loads",
    "cdumps": "_pickle_dumps",
    "cloads": "_pickle_loads",
    "ddumps": "CPyPy_pickler___dumps",
    "explain": "CPyPy_pickler___Pickler___dump",
}


def _objects(workload: str) -> list[Any]:
    return _workload(workload)[0]


def _workload(workload: str) -> tuple[list[Any], bool]:
    """The workload's objects, and whether it is an out-of-band one."""
    if workload == "none":
        return [None], False
    sys.path.insert(0, str(HERE))
    import bench_workloads as wls

    for w in wls.WORKLOADS:
        if w.name == workload:
            return w.build(), w.oob
    objs: list[Any] = getattr(wls, workload)()
    return objs, False


def _child(workload: str, op: str, n: int) -> None:
    """Call `op` once, then n times over the workload (callgrind counts this)."""
    import brined

    if op in ("dumps", "loads", "tloads", "ddumps", "explain") and not brined.COMPILED:
        raise SystemExit("bench_ir.py counts the compiled build only")
    objs, oob = _workload(workload)
    # As bench.py: deep_cyclic nests deeper than C pickle's default limit.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))
    if oob:  # as bench.py: a new sink per dumps, the same buffers per loads
        return _child_oob(objs, op, n)
    data = [pickle.dumps(o, protocol=5) for o in objs]
    if op == "dumps":
        f, args = brined.dumps, objs
    elif op == "cdumps":
        f, args = pickle.dumps, objs
    elif op == "loads":
        f, args = brined.loads, data
    elif op == "tloads":
        f, args = _trusted_loads, data
    elif op == "cloads":
        f, args = pickle.loads, data
    elif op == "ddumps":
        f, args = _det_dumps, objs
    elif op == "explain":
        f, args = _explain, objs
    else:
        raise SystemExit(f"unknown op {op!r}")
    if f is brined.dumps or f is pickle.dumps:
        f, args = _proto5(f), objs
    f(args[0])
    for _ in range(n):
        for a in args:
            f(a)


def _child_oob(objs: list[Any], op: str, n: int) -> None:
    """`_child` for protocol 5 out-of-band: buffer_callback= and buffers=."""
    import brined

    bufs: list[list[Any]] = [[] for _ in objs]
    data = [
        pickle.dumps(o, protocol=5, buffer_callback=b.append)
        for o, b in zip(objs, bufs, strict=True)
    ]
    calls: list[tuple[Any, tuple[Any, ...], dict[str, Any]]]
    if op in ("dumps", "cdumps"):
        f = brined.dumps if op == "dumps" else pickle.dumps
        calls = [(f, (o, 5), {"buffer_callback": [].append}) for o in objs]
    elif op in ("loads", "tloads", "cloads"):
        f = pickle.loads if op == "cloads" else brined.loads
        kw: dict[str, Any] = {"trusted": True} if op == "tloads" else {}
        calls = [
            (f, (d,), {"buffers": b, **kw}) for d, b in zip(data, bufs, strict=True)
        ]
    else:
        raise SystemExit(f"op {op!r} has no out-of-band form")
    f0, a0, kw0 = calls[0]
    f0(*a0, **kw0)
    for _ in range(n):
        for fn, a, kw1 in calls:
            fn(*a, **kw1)


def _trusted_loads(data: bytes) -> Any:
    import brined

    return brined.loads(data, trusted=True)


def _det_dumps(obj: Any) -> bytes:
    import brined

    data: bytes = brined.dumps(obj, protocol=5, deterministic=True)
    return data


def _explain(obj: Any) -> Any:
    import brined

    return brined.explain(obj, protocol=5)


class _proto5:
    """``dumps(obj, protocol=5)`` as a one-argument callable (no closure)."""

    def __init__(self, dumps: Any) -> None:
        self.dumps = dumps

    def __call__(self, obj: Any) -> bytes:
        data: bytes = self.dumps(obj, protocol=5)
        return data


def _count(python: str, workload: str, op: str, n: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        proc = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                *(f"--toggle-collect={entry}" for entry in ENTRY[op].split()),
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
        for op in ops:
            base = _count(args.python, workload, op, 0)
            total = _count(args.python, workload, op, n)
            print(f"| {workload} | {op} | {(total - base) / ops_per_run:,.0f} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
