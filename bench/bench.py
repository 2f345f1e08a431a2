#!/usr/bin/env python3
"""brined's benchmark: brined against C pickle, pure-Python pickle and peers.

    python bench/bench.py [--quick] [--workload NAME ...] [--json OUT] [--md OUT]

Every number is a *ratio measured side by side in one run*.  For each workload,
all implementations are sampled in interleaved rounds: a round takes one sample
of every (implementation, dumps/loads) pair, in an order rotated from round to
round, so a drifting machine load hits everyone alike.  A sample is the mean
time of one op over a calibrated number of loops (one op = dumps, or loads, of
each object of the workload once).  A reported ratio is the median over rounds
of sample(impl) / sample(reference) taken in the same round; references are C
pickle ("C") and the stdlib pure-Python pickler ("Py", pickle._dumps/_loads).
GC stays enabled; gc.collect() runs before every sample.

Before anything is timed each (workload, impl) cell is verified: the round trip
must equal the input, sharing and cycles included; pickle-format impls must
interoperate with C pickle both ways; brined's bytes are compared with C's.  A
cell that fails is reported and not timed; the run goes on.

brined's loads is the default (safe) loader unless the workload needs a global
outside its allowlist; then it is loads(data, trusted=True) and the report says
which global forced that.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import gc
import importlib
import importlib.metadata
import json
import math
import os
import pickle
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import bench_workloads as wls  # bench/ is sys.path[0] when run as a script

import brined

np = wls.numpy
MIB = wls.MIB
clock = time.perf_counter
HERE = os.path.dirname(os.path.abspath(__file__))
C, PY, BRINED, MEMCPY = "pickle", "pypickle", "brined", "memcpy"


# ---------------------------------------------------------------------------
# Implementations
# ---------------------------------------------------------------------------
@dataclass
class Impl:
    name: str
    dumps: Callable[..., bytes]  # dumps(obj, protocol, **buffer_callback)
    loads: Callable[..., Any]  # loads(data, **buffers)
    version: str
    note: str


def _dist_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _brined_build() -> str:
    build = "compiled (mypyc)" if brined.COMPILED else "interpreted"
    rev = "?"
    try:
        git = ["git", "-C", os.path.dirname(HERE)]
        rev = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        rev += "+dirty src" if dirty else ""
    except (OSError, subprocess.SubprocessError):
        pass
    return f"{build}, {brined.__version__} @ {rev}"


def make_impls(wanted: list[str]) -> tuple[list[Impl], list[str]]:
    """The impls to measure, and a note for each one skipped."""
    py = platform.python_version()
    impls = [
        Impl(C, pickle.dumps, pickle.loads, py, "stdlib C accelerator"),
        Impl(PY, pickle._dumps, pickle._loads, py, "pickle._dumps / pickle._loads"),  # type: ignore[attr-defined]
        Impl(BRINED, brined.dumps, brined.loads, _brined_build(), ""),
    ]
    if "brined_trusted" in wanted:  # what the shared yardstick times
        trusted = functools.partial(brined.loads, trusted=True)
        impls.append(
            Impl("brined_trusted", brined.dumps, trusted, impls[2].version,
                 "brined with loads(trusted=True) on every workload"),
        )  # fmt: skip
    skipped = []
    for name, note in (
        ("cloudpickle", "subclass of the C Pickler; loads is pickle.loads"),
        ("dill", "Pickler subclasses pure-Python pickle._Pickler; Unpickler the C one"),
    ):
        if wanted and name not in wanted:
            continue
        try:
            mod = importlib.import_module(name)
        except ImportError:
            skipped.append(f"{name}: not installed, skipped")
            continue
        impls.append(Impl(name, mod.dumps, mod.loads, _dist_version(name), note))
    return impls, skipped


# ---------------------------------------------------------------------------
# Verification: equality that follows sharing and cycles
# ---------------------------------------------------------------------------
_VALUES = (
    type(None), bool, int, float, complex, str, bytes,
    datetime.date, datetime.datetime, datetime.time, datetime.timedelta,
)  # fmt: skip


def _attrs(obj: Any) -> dict[str, Any]:
    state = dict(getattr(obj, "__dict__", {}))
    for klass in type(obj).__mro__:
        slots = klass.__dict__.get("__slots__", ())
        for name in [slots] if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__") and hasattr(obj, name):
                state[name] = getattr(obj, name)
    return state


def graph_diff(a: Any, b: Any) -> str:
    """'' when b is a faithful copy of a: same types and values, and the same
    identity structure (a bijection between a's and b's containers)."""
    a2b: dict[int, int] = {}
    b2a: dict[int, int] = {}
    todo = [(a, b, "x")]
    while todo:
        x, y, path = todo.pop()
        t = type(x)
        if t is not type(y):
            return f"{path}: {t.__name__} became {type(y).__name__}"
        if t in _VALUES:
            if x != y and not (x != x and y != y):  # NaN equals NaN here
                return f"{path}: {x!r:.30} became {y!r:.30}"
            continue
        if id(x) in a2b or id(y) in b2a:
            if a2b.get(id(x)) != id(y) or b2a.get(id(y)) != id(x):
                return f"{path}: sharing differs ({t.__name__})"
            continue
        a2b[id(x)], b2a[id(y)] = id(y), id(x)
        if t is list or t is tuple:
            if len(x) != len(y):
                return f"{path}: length {len(x)} became {len(y)}"
            todo.extend(
                (u, v, f"{path}[{i}]")
                for i, (u, v) in enumerate(zip(x, y, strict=True))
            )
        elif t is dict:
            if list(x) != list(y):
                return f"{path}: keys (or their order) differ"
            todo.extend((v, y[k], f"{path}[{k!r:.20}]") for k, v in x.items())
        elif np is not None and t is np.ndarray:
            if x.dtype != y.dtype or x.shape != y.shape or not np.array_equal(x, y):
                return f"{path}: ndarray differs"
        elif t.__module__ == wls.__name__:
            sx, sy = _attrs(x), _attrs(y)
            if list(sx) != list(sy):
                return f"{path}: {t.__name__} attributes differ"
            todo.extend((v, sy[k], f"{path}.{k}") for k, v in sx.items())
        elif x != y:
            return f"{path}: {t.__name__} differs"
    return ""


def _buf_bytes(bufs: list[Any]) -> list[bytes]:
    return [bytes(pickle.PickleBuffer(b).raw()) for b in bufs]


def _shares(a: Any, b: Any) -> bool:
    """Do the memory ranges of two buffer-likes overlap?"""
    ua = np.frombuffer(pickle.PickleBuffer(a).raw(), dtype=np.uint8)
    ub = np.frombuffer(pickle.PickleBuffer(b).raw(), dtype=np.uint8)
    return bool(np.shares_memory(ua, ub))


# ---------------------------------------------------------------------------
# Cells: one (workload, impl) pair
# ---------------------------------------------------------------------------
@dataclass
class Cell:
    impl: str
    status: str = "ok"  # "ok", or why this cell is not timed
    size: int = 0  # bytes written (pickle stream + out-of-band buffers)
    same_bytes_as_c: bool | None = None
    loads_mode: str = ""  # brined only: "safe" or "trusted (refused: ...)"
    zero_copy: str = ""  # out-of-band: was the payload ever copied?
    ops: dict[str, Callable[[int], float]] = field(default_factory=dict)
    loops: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(
        default_factory=lambda: {"dumps": [], "loads": []}
    )

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _timed(fn: Callable[..., Any], calls: list[tuple[tuple, dict]]):
    """op(n): seconds taken by n ops, one op = fn(*args, **kw) per call.

    `kw` maps keyword names to factories called afresh for every call (the
    out-of-band sinks and buffer lists); only those calls pay for it."""
    if len(calls) == 1 and not calls[0][1]:
        ((args, _),) = calls

        def op(n: int) -> float:
            t0 = clock()
            for _ in range(n):
                fn(*args)
            return clock() - t0

        return op
    if not any(kw for _, kw in calls):
        arg_lists = [args for args, _ in calls]

        def op_plain(n: int) -> float:
            t0 = clock()
            for _ in range(n):
                for args in arg_lists:
                    fn(*args)
            return clock() - t0

        return op_plain

    def op_kw(n: int) -> float:
        t0 = clock()
        for _ in range(n):
            for args, kw in calls:
                fn(*args, **{k: v() for k, v in kw.items()})
        return clock() - t0

    return op_kw


def _brined_loads_mode(data: list[bytes], bufs: list[list[Any]] | None) -> str:
    """'safe' if the default loader accepts every pickle, else why not."""
    try:
        for i, d in enumerate(data):
            brined.loads(d, buffers=bufs[i] if bufs else None)
    except (brined.UnsafeGlobalError, brined.UnsafeOperationError) as exc:
        mod, name = getattr(exc, "module", None), getattr(exc, "name", None)
        what = f"{mod}.{name}" if mod and name else str(exc).split(":")[0]
        return f"trusted (refused {what})"
    except Exception:  # not a policy refusal: verification reports it
        return "safe"
    return "safe"


def prepare(
    wl: wls.Workload, objs: list[Any], impl: Impl, ref: dict[str, Any], proto: int
) -> Cell:
    """Verify `impl` on the workload; on success, attach its timed ops."""
    cell = Cell(impl.name)
    loads = impl.loads
    try:
        data: list[bytes] = []
        bufs: list[list[Any]] = []
        for obj in objs:
            got: list[Any] = []
            kw = {"buffer_callback": got.append} if wl.oob else {}
            data.append(impl.dumps(obj, proto, **kw))
            bufs.append(got)
    except Exception as exc:
        cell.status = f"dumps failed: {type(exc).__name__}: {str(exc)[:80]}"
        return cell
    if impl.name == BRINED:
        cell.loads_mode = _brined_loads_mode(data, bufs if wl.oob else None)
        if cell.loads_mode != "safe":
            loads = functools.partial(brined.loads, trusted=True)

    cell.size = sum(map(len, data)) + sum(
        pickle.PickleBuffer(b).raw().nbytes for bl in bufs for b in bl
    )
    try:
        outs = [
            loads(d, buffers=b) if wl.oob else loads(d)
            for d, b in zip(data, bufs, strict=True)
        ]
        why = next(filter(None, map(graph_diff, objs, outs)), "")
    except Exception as exc:
        why = f"loads failed: {type(exc).__name__}: {str(exc)[:80]}"
    if not why and wl.oob:
        if max(map(len, data)) > MIB or not any(bufs):
            why = "payload went in-band (buffer_callback ignored)"
        else:  # the buffer handed out is the array; the array loaded is the buffer
            out_ok = all(_shares(o, b[0]) for o, b in zip(objs, bufs, strict=True))
            in_ok = all(_shares(o, b[0]) for o, b in zip(outs, bufs, strict=True))
            cell.zero_copy = (
                "yes" if out_ok and in_ok else f"NO (dumps {out_ok}, loads {in_ok})"
            )
    outs = []
    if not why and impl.name != C:
        try:  # C loads impl's bytes; impl loads C's bytes
            if wl.oob:
                back = [
                    pickle.loads(d, buffers=b) for d, b in zip(data, bufs, strict=True)
                ]
                fwd = [
                    loads(d, buffers=b)
                    for d, b in zip(ref["data"], ref["bufs"], strict=True)
                ]
            else:
                back = [pickle.loads(d) for d in data]
                fwd = [loads(d) for d in ref["data"]]
            why = next(filter(None, map(graph_diff, objs + objs, back + fwd)), "")
            why = f"interop with C pickle: {why}" if why else ""
            del back, fwd
        except Exception as exc:
            why = f"interop with C pickle: {type(exc).__name__}: {str(exc)[:80]}"
    if why:
        cell.status = f"FAILED: {why}"
        return cell
    cell.same_bytes_as_c = data == ref["data"] and (
        not wl.oob or [_buf_bytes(b) for b in bufs] == ref["buf_bytes"]
    )

    if wl.oob:
        fresh_list = lambda: [].append  # noqa: E731 - a new sink per call
        dcalls = [((o, proto), {"buffer_callback": fresh_list}) for o in objs]
        lcalls = [
            ((d,), {"buffers": (lambda b=b: b)})
            for d, b in zip(data, bufs, strict=True)
        ]
    else:
        dcalls = [((o, proto), {}) for o in objs]
        lcalls = [((d,), {}) for d in data]
    cell.ops = {"dumps": _timed(impl.dumps, dcalls), "loads": _timed(loads, lcalls)}
    return cell


def memcpy_cell(objs: list[Any]) -> Cell:
    """The physical floor of an in-band op: one copy of the payload into a
    fresh bytes object (allocation and page faults included), as
    bytes(memoryview(payload)).  Used as the reference for dumps and loads."""
    cell = Cell(MEMCPY, loads_mode="-")
    views = [memoryview(o).cast("B") for o in objs]
    cell.size = sum(v.nbytes for v in views)
    op = _timed(bytes, [((v,), {}) for v in views])
    cell.ops = {"dumps": op, "loads": op}
    return cell


# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------
def calibrate(op: Callable[[int], float], min_time: float) -> int:
    """Loops per sample so that a sample lasts about min_time (op(1) warms up)."""
    n, t = 1, op(1)
    while t < min_time / 10 and n < 10**7:
        n *= 10
        t = op(n)
    return max(1, math.ceil(n * min_time / t)) if t > 0 else n


def measure(cells: list[Cell], rounds: int, min_time: float) -> None:
    timed = [c for c in cells if c.ops]
    for c in timed:
        for op in ("dumps", "loads"):
            c.loops[op] = calibrate(c.ops[op], min_time)
    for r in range(rounds):
        k = r % len(timed)
        order = ("dumps", "loads") if r % 2 == 0 else ("loads", "dumps")
        for c in timed[k:] + timed[:k]:
            for op in order:
                gc.collect()
                n = c.loops[op]
                c.samples[op].append(c.ops[op](n) / n)


def paired(cell: Cell, ref: Cell | None, op: str) -> list[float]:
    if ref is None or not cell.samples[op] or not ref.samples[op]:
        return []
    return [a / b for a, b in zip(cell.samples[op], ref.samples[op], strict=True)]


def run_workload(wl: wls.Workload, impls: list[Impl], args: Any) -> dict[str, Any]:
    objs = wl.build()
    ref: dict[str, Any] = {"data": [], "bufs": []}
    for obj in objs:
        got: list[Any] = []
        kw = {"buffer_callback": got.append} if wl.oob else {}
        ref["data"].append(pickle.dumps(obj, args.protocol, **kw))
        ref["bufs"].append(got)
    ref["buf_bytes"] = [_buf_bytes(b) for b in ref["bufs"]] if wl.oob else []
    cells = [prepare(wl, objs, impl, ref, args.protocol) for impl in impls]
    ref["buf_bytes"] = []
    if wl.big:
        cells.append(memcpy_cell(objs))
    rounds = args.big_rounds if wl.big else args.rounds
    measure(cells, rounds, args.min_time)

    by = {c.impl: c for c in cells}
    refs = [C, PY] + ([MEMCPY] if wl.big else [])
    out: dict[str, Any] = {
        "workload": wl.name,
        "desc": wl.desc,
        "big": wl.big,
        "oob": wl.oob,
        "rounds": rounds,
        "c_size": sum(map(len, ref["data"])),
        "cells": {},
    }
    for c in cells:
        entry: dict[str, Any] = {
            "status": c.status,
            "size": c.size,
            "same_bytes_as_c": c.same_bytes_as_c,
            "loads_mode": c.loads_mode,
            "zero_copy": c.zero_copy,
            "loops": c.loops,
            "samples": c.samples,
            "median": {
                op: statistics.median(s) if s else None for op, s in c.samples.items()
            },
            "ratio": {},
            "ratio_range": {},
        }
        for r in refs:
            for op in ("dumps", "loads"):
                rs = paired(c, by.get(r), op)
                entry["ratio"][f"{op}/{r}"] = statistics.median(rs) if rs else None
                entry["ratio_range"][f"{op}/{r}"] = [min(rs), max(rs)] if rs else None
        out["cells"][c.impl] = entry
    del objs, cells, by, ref
    gc.collect()
    return out


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------
def geomean(xs: list[float]) -> float | None:
    xs = [x for x in xs if x]
    return math.exp(statistics.fmean(map(math.log, xs))) if xs else None


def r3(x: float | None, mark_over: float | None = None) -> str:
    if x is None:
        return "-"
    s = f"{x:.3g}" if x < 100 else f"{x:.0f}"
    return f"**{s}**" if mark_over is not None and x > mark_over else s


def t3(t: float | None) -> str:
    if t is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if t >= scale:
            return f"{t / scale:.3g} {unit}"
    return f"{t * 1e9:.3g} ns"


def size3(n: int) -> str:
    if n >= MIB:
        return f"{n / MIB:.1f} MiB"
    return f"{n / 1024:.1f} KiB" if n >= 1024 else f"{n} B"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def meta_info(impls: list[Impl], skipped: list[str], argv: list[str]) -> dict:
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "brined_build": _brined_build(),
        "numpy": np.__version__ if np is not None else "absent",
        "command": " ".join(["python bench/bench.py", *argv]),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "impls": {i.name: {"version": i.version, "note": i.note} for i in impls},
        "skipped": skipped,
    }


def geo_row(results: list[dict], name: str) -> tuple[list[float | None], str]:
    cells = [r["cells"][name] for r in results if name in r["cells"]]
    ok = [c for c in cells if c["status"] == "ok"]
    keys = ("dumps/pickle", "loads/pickle", "dumps/pypickle", "loads/pypickle")
    return [
        geomean([c["ratio"][k] for c in ok]) for k in keys
    ], f"{len(ok)}/{len(cells)}"


def report(meta: dict, settings: dict, results: list[dict], names: list[str]) -> str:
    graph = [r for r in results if not r["big"]]
    big = [r for r in results if r["big"]]
    out: list[str] = []
    add = out.append
    add(f"# brined benchmark, {meta['date']}\n")
    add(
        f"Machine: {meta['cpu']}, {meta['cores']} cores; {meta['python']} "
        f"({meta['platform']}); brined {meta['brined_build']}; "
        f"numpy {meta['numpy']}; {meta['date']}.  "
    )
    add(
        "Impls: "
        + "; ".join(
            f"`{n}` {m['version']}" + (f" ({m['note']})" if m["note"] else "")
            for n, m in meta["impls"].items()
        )
        + "."
        + (" " + "; ".join(meta["skipped"]) + "." if meta["skipped"] else "")
        + "  "
    )
    add(
        f"Command: `{meta['command']}`, protocol {settings['protocol']}, "
        f"{settings['rounds']} interleaved rounds (large payloads: "
        f"{settings['big_rounds']}), >= {settings['min_time']} s per sample, GC on; "
        f"wall {settings['wall_s']:.0f} s; load average {meta['loadavg'][0]} at "
        f"start, {settings['loadavg_end'][0]} at end.\n"
    )
    add(
        "Ratios are time(impl) / time(reference), the median over rounds of "
        "ratios taken in the same round: **< 1 is faster**. `/C` = against C "
        "pickle, `/Py` = against the stdlib pure-Python pickler. Bold in a `/Py` "
        "column: brined slower than pure-Python pickle.\n"
    )

    add("## Geometric means over the object-graph workloads\n")
    add(
        f"The {len(graph)} workloads that are not a 100 MiB payload; cells that "
        "failed verification are left out (`ok` column).\n"
    )
    add("| impl | dumps /C | loads /C | dumps /Py | loads /Py | ok |")
    add("|---|---:|---:|---:|---:|---:|")
    for name in names:
        vals, ok = geo_row(graph, name)
        add(f"| {name} | " + " | ".join(map(r3, vals)) + f" | {ok} |")
    add("")

    add("## brined per workload\n")
    add(
        "`= C bytes`: brined's pickle is byte-identical to C pickle's. `loads`: "
        "the brined loader timed (safe default, or trusted=True and the first "
        "global the safe loader refused). `±`: half the min..max range of the "
        "per-round dumps/C and loads/C ratios, relative, worse of the two.\n"
    )
    add(
        "| workload | dumps /C | loads /C | dumps /Py | loads /Py | ± | = C bytes "
        "| loads |"
    )
    add("|---|---:|---:|---:|---:|---:|---|---|")
    for r in results:
        c = r["cells"].get(BRINED)
        if c is None:
            continue
        if c["status"] != "ok":
            add(f"| {r['workload']} | {c['status']} ||||||||")
            continue
        q = c["ratio"]
        spread = [
            (hi - lo) / 2 / q[k]
            for k in ("dumps/pickle", "loads/pickle")
            if c["ratio_range"][k] and q[k]
            for lo, hi in [c["ratio_range"][k]]
        ]
        eq = {True: "yes", False: "**NO**", None: "-"}[c["same_bytes_as_c"]]
        add(
            f"| {r['workload']} | {r3(q['dumps/pickle'])} | {r3(q['loads/pickle'])} "
            f"| {r3(q['dumps/pypickle'], 1.0)} | {r3(q['loads/pypickle'], 1.0)} "
            f"| {max(spread) * 100:.0f}% | {eq} | {c['loads_mode']} |"
        )
    vals, ok = geo_row(graph, BRINED)
    add(
        f"| **geomean (object graphs)** | {r3(vals[0])} | {r3(vals[1])} "
        f"| {r3(vals[2])} | {r3(vals[3])} | | | {ok} ok |"
    )
    add("")

    if big:
        add("## Large payloads (100 MiB)\n")
        add(
            "`memcpy` = one copy of the payload into a fresh bytes object "
            "(`bytes(memoryview(x))`), timed in the same rounds. Targets: brined "
            "in-band / memcpy <= 1.05-1.1; out-of-band brined / C <= 1.2 with the "
            "payload never copied (`zero-copy`: the buffer handed to "
            "buffer_callback is the array's memory, and the loaded array is the "
            "buffer passed in).\n"
        )
        add(
            "| workload | brined dumps /memcpy | brined loads /memcpy | C dumps "
            "/memcpy | C loads /memcpy | brined dumps /C | brined loads /C "
            "| zero-copy | memcpy | brined dumps | brined loads | C dumps | C loads |"
        )
        add("|---|" + "---:|" * 6 + "---|" + "---:|" * 5)
        for r in big:
            b, c = r["cells"].get(BRINED), r["cells"][C]
            bq = b["ratio"] if b and b["status"] == "ok" else {}
            cq = c["ratio"] if c["status"] == "ok" else {}
            if r["oob"]:  # nothing is copied: a memcpy ratio means nothing
                bq = {k: v for k, v in bq.items() if not k.endswith(MEMCPY)}
                cq = {}
            cols = [
                r3(bq.get("dumps/memcpy")),
                r3(bq.get("loads/memcpy")),
                r3(cq.get("dumps/memcpy")),
                r3(cq.get("loads/memcpy")),
                r3(bq.get("dumps/pickle")),
                r3(bq.get("loads/pickle")),
                (b or {}).get("zero_copy") or "-",
                t3(r["cells"][MEMCPY]["median"]["dumps"]),
                t3((b or {}).get("median", {}).get("dumps")),
                t3((b or {}).get("median", {}).get("loads")),
                t3(c["median"]["dumps"]),
                t3(c["median"]["loads"]),
            ]
            add(f"| {r['workload']} | " + " | ".join(cols) + " |")
        add("")

    for title, key in (("against C pickle", C), ("against pure-Python pickle", PY)):
        add(f"## All impls {title} (dumps / loads)\n")
        add("| workload | " + " | ".join(names) + " |")
        add("|---|" + "---:|" * len(names))
        for r in results:
            row = []
            for name in names:
                c = r["cells"].get(name)
                if c is None:
                    row.append("")
                elif c["status"] != "ok":
                    row.append("FAILED" if c["status"].startswith("FAILED") else "n/a")
                else:
                    q = c["ratio"]
                    row.append(f"{r3(q[f'dumps/{key}'])} / {r3(q[f'loads/{key}'])}")
            add(f"| {r['workload']} | " + " | ".join(row) + " |")
        add("")

    add("## Findings\n")
    findings = []
    for r in results:
        c = r["cells"].get(BRINED)
        if c is None:
            continue
        if c["status"] != "ok":
            findings.append(f"- {r['workload']}: brined {c['status']}")
            continue
        for op in ("dumps", "loads"):
            x = c["ratio"][f"{op}/pypickle"]
            if x is not None and x > 1.0:
                lo, hi = c["ratio_range"][f"{op}/pypickle"]
                findings.append(
                    f"- {r['workload']}: brined {op} is **slower than pure-Python "
                    f"pickle**: {x:.3g}x its time (rounds {lo:.3g}..{hi:.3g}); "
                    f"{c['ratio'][f'{op}/pickle']:.3g}x C"
                )
        if c["same_bytes_as_c"] is False:
            findings.append(f"- {r['workload']}: brined's bytes differ from C's")
        if r["big"]:
            ref, limit = (C, 1.2) if r["oob"] else (MEMCPY, 1.1)
            for op in ("dumps", "loads"):
                x = c["ratio"][f"{op}/{ref}"]
                if x is not None and x > limit:
                    findings.append(
                        f"- {r['workload']}: brined {op} is {x:.3g}x {ref}, over "
                        f"the {limit} target ({t3(c['median'][op])} vs "
                        f"{t3(r['cells'][ref]['median'][op])})"
                    )
            if r["oob"] and c["zero_copy"] != "yes":
                findings.append(f"- {r['workload']}: zero-copy {c['zero_copy']}")
    for r in results:
        for name, c in r["cells"].items():
            if name != BRINED and c["status"] != "ok":
                findings.append(f"- {r['workload']}: {name} {c['status']}")
    add("\n".join(findings) if findings else "- nothing unusual")
    add("")

    add("## Details: median time per op\n")
    for r in results:
        add(
            f"**{r['workload']}**: {r['desc']}; C pickle writes "
            f"{size3(r['c_size'])}; {r['rounds']} rounds.\n"
        )
        add("| impl | dumps | loads | size | = C bytes | status |")
        add("|---|---:|---:|---:|---|---|")
        for name, c in r["cells"].items():
            eq = {True: "yes", False: "no", None: "-"}[c["same_bytes_as_c"]]
            add(
                f"| {name} | {t3(c['median']['dumps'])} | {t3(c['median']['loads'])} "
                f"| {size3(c['size'])} | {eq} | {c['status']} |"
            )
        add("")
    return "\n".join(out)


# ---------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    names = [w.name for w in wls.WORKLOADS]
    ap.add_argument("--quick", action="store_true", help="fewer, shorter samples")
    ap.add_argument(
        "--workload",
        action="append",
        default=[],
        choices=names,
        metavar="NAME",
        help="only these workloads (repeatable)",
    )
    ap.add_argument(
        "--impl",
        action="append",
        default=[],
        choices=["cloudpickle", "dill", "brined_trusted"],
        help="the optional impls to run (default: cloudpickle and dill); "
        "pickle, pypickle and brined always run",
    )
    ap.add_argument(
        "--rounds",
        type=int,
        help="interleaved rounds (11; quick 9, 5 for 100 MiB payloads)",
    )
    ap.add_argument(
        "--min-time", type=float, help="seconds per sample (0.2; quick 0.05)"
    )
    ap.add_argument("--protocol", type=int, default=pickle.HIGHEST_PROTOCOL)
    ap.add_argument("--json", metavar="OUT", help="write all samples as JSON")
    ap.add_argument("--md", metavar="OUT", help="write the Markdown report")
    ap.add_argument("--list", action="store_true", help="list the workloads")
    ap.add_argument(
        "--report",
        metavar="JSON",
        help="re-render the Markdown report of an earlier --json run; no timing",
    )
    args = ap.parse_args(argv)
    args.rounds = args.rounds or (9 if args.quick else 11)
    # a 100 MiB op is one ~0.1 s loop: fewer rounds keep --quick short
    args.big_rounds = max(3, args.rounds - 4) if args.quick else args.rounds
    args.min_time = args.min_time or (0.05 if args.quick else 0.2)
    if args.list:
        for w in wls.WORKLOADS:
            print(f"{w.name:22} {w.desc}")
        return 0
    if args.report:
        with open(args.report) as f:
            saved = json.load(f)
        md = report(saved["meta"], saved["settings"], saved["results"],
                    list(saved["meta"]["impls"]))  # fmt: skip
        print(md)
        if args.md:
            with open(args.md, "w") as f:
                f.write(md + "\n")
        return 0

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))  # pure-Python picklers
    impls, skipped = make_impls(args.impl)
    todo = [w for w in wls.WORKLOADS if not args.workload or w.name in args.workload]
    for w in todo:
        if w.numpy and np is None:
            skipped.append(f"{w.name}: numpy not installed, skipped")
        elif w.oob and args.protocol < 5:
            skipped.append(f"{w.name}: needs protocol 5, skipped")
    todo = [w for w in todo if not (w.numpy and np is None)]
    todo = [w for w in todo if not (w.oob and args.protocol < 5)]

    meta = meta_info(impls, skipped, argv)
    t0 = clock()
    results = []
    for w in todo:
        print(f"[{clock() - t0:6.1f} s] {w.name}", file=sys.stderr, flush=True)
        results.append(run_workload(w, impls, args))
    settings = {
        "protocol": args.protocol,
        "rounds": args.rounds,
        "big_rounds": args.big_rounds,
        "min_time": args.min_time,
        "quick": args.quick,
        "wall_s": clock() - t0,
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
    }
    md = report(meta, settings, results, [i.name for i in impls])
    print(md)
    if args.md:
        with open(args.md, "w") as f:
            f.write(md + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"meta": meta, "settings": settings, "results": results}, f, indent=1
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
