"""``python -m brined demo``: each job brined does, shown once, in a few seconds.

The engine (a dict to a file and back, the same bytes as pickle, a malicious
pickle refused), then the features on top: a lambda by value, the path to what
cannot be pickled, deterministic bytes and their hash, a checkpoint that
survives a torn write, and a cache that serves offline.  Everything it writes
goes to a temporary folder.  Interpreted only, like the CLI.
"""

from __future__ import annotations

import io
import os
import pickle
import pickletools
import tempfile
import threading
import time
import warnings
from typing import Any, TextIO

import brined

from ._format.opcodes import PROTO, REDUCE, SHORT_BINUNICODE, STACK_GLOBAL, STOP, TUPLE1
from .errors import UnsafeGlobalError

__all__ = ["malicious_pickle", "run"]


def _short_unicode(text: str) -> bytes:
    encoded = text.encode("utf-8")
    return bytes([SHORT_BINUNICODE, len(encoded)]) + encoded


def malicious_pickle() -> bytes:
    """A pickle that calls ``os.system('echo pwned')`` when loaded without checks.

    Written opcode by opcode, so that building it never touches a real callable.
    """
    return b"".join(
        [
            bytes([PROTO, 4]),
            _short_unicode("os"),
            _short_unicode("system"),
            bytes([STACK_GLOBAL]),  # pushes os.system
            _short_unicode("echo pwned"),
            bytes([TUPLE1]),  # ('echo pwned',)
            bytes([REDUCE]),  # os.system('echo pwned')
            bytes([STOP]),
        ]
    )


def _indent(text: str) -> str:
    return "".join(f"    {line}\n" for line in text.splitlines())


def run(out: TextIO) -> int:
    """Write the demo to `out`; 0 when every step behaved as it should."""
    with tempfile.TemporaryDirectory() as tmp:
        ok = _engine(out, tmp)
        for step in (_cloud, _explain, _deterministic, _checkpoint, _cache):
            ok = step(out, tmp) and ok
    return 0 if ok else 1


def _engine(out: TextIO, tmp: str) -> bool:
    record: dict[str, Any] = {
        "name": "brined",
        "version": (0, 1, 0),
        "tags": ["pickle", "safe by default"],
        "limits": {"depth": None, "ratio": 0.5},
        "raw": b"\x00\x01\x02",
        "flags": {True, False},
    }
    out.write(f"1. dump a dict to a file and load it back\n    {record!r}\n")
    path = os.path.join(tmp, "record.pickle")
    with open(path, "wb") as f:
        brined.dump(record, f)
    with open(path, "rb") as f:
        loaded = brined.load(f)
    size = os.path.getsize(path)
    out.write(f"    wrote {size} bytes; loaded back equal: {loaded == record}\n\n")

    data = brined.dumps(record)
    out.write("2. dumps/loads in memory\n")
    out.write(f"    dumps -> {len(data)} bytes: {data[:24]!r}...\n")
    out.write(f"    loads(...) == record: {brined.loads(data) == record}\n")
    # The stdlib's `pickle.dumps` is the C pickler: the bytes are meant to match.
    out.write(f"    same bytes as pickle.dumps: {data == pickle.dumps(record)}\n\n")

    payload = malicious_pickle()
    listing = io.StringIO()
    pickletools.dis(payload, out=listing)
    out.write("3. a malicious pickle, built by hand:\n")
    out.write(f"    {payload!r}\n")
    out.write(_indent(listing.getvalue()))
    out.write("    brined.loads(payload) with the default policy:\n")
    try:
        brined.loads(payload)
    except UnsafeGlobalError as exc:
        out.write(f"    refused: {type(exc).__name__}: {exc}\n")
        out.write(
            f"    (as data: module={exc.module!r} name={exc.name!r}"
            f" offset={exc.offset!r} opcode={exc.opcode!r})\n\n"
        )
        return bool(loaded == record)
    out.write("    NOT refused: this build loaded an unsafe global.\n\n")
    return False


def _cloud(out: TextIO, tmp: str) -> bool:
    from . import cloud

    rate = 0.2
    tax = lambda price: round(price * (1 + rate), 2)  # noqa: E731 (the point)
    out.write("4. a lambda (a closure over `rate`) by value with brined.cloud\n")
    data = cloud.dumps(tax)
    again = cloud.loads(data)
    out.write(f"    {len(data)} bytes; loaded back: tax(10.0) = {again(10.0)}\n")
    try:
        brined.loads(data)
    except UnsafeGlobalError as exc:
        out.write(f"    brined.loads (safe) refuses it: {str(exc)[:150]}...\n\n")
        return bool(again(10.0) == 12.0)
    out.write("    NOT refused by the safe loader.\n\n")
    return False


def _explain(out: TextIO, tmp: str) -> bool:
    state = {"config": {"handlers": [1, 2, {"lock": threading.Lock()}]}}
    out.write("5. what cannot be pickled, and where\n")
    try:
        brined.dumps(state)
    except TypeError as exc:
        out.write(f"    dumps: {type(exc).__name__}: {exc}\n")
        out.write(f"    exc.path = {getattr(exc, 'path', None)}\n")
    problems = brined.explain(state)
    for problem in problems:
        out.write(f"    explain: {problem.path}: {problem.hint}\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = brined.dumps(state, on_error="placeholder")
    lock = pickle.loads(data)["config"]["handlers"][2]["lock"]
    out.write(f"    on_error='placeholder', read back by pickle.loads: {lock!r}\n\n")
    return len(problems) == 1 and isinstance(lock, brined.Unpicklable)


def _deterministic(out: TextIO, tmp: str) -> bool:
    one = {"tags": {"b", "a", "c"}, "name": "x" * 3}
    two = {"tags": {"c", "a", "b"}, "name": "".join(["x", "x", "x"])}
    same = brined.dumps(one, deterministic=True) == brined.dumps(
        two, deterministic=True
    )
    out.write("6. deterministic bytes and a content hash\n")
    out.write(f"    equal values, built differently -> same bytes: {same}\n")
    out.write(f"    brined.hash(value) = {brined.hash(one)[:32]}...\n\n")
    return same and brined.hash(one) == brined.hash(two)


def _checkpoint(out: TextIO, tmp: str) -> bool:
    path = os.path.join(tmp, "run", "state.ckpt")
    os.makedirs(os.path.dirname(path))
    ckpt = brined.Checkpoint(path, keep=3)
    out.write("7. a checkpoint that survives a torn write\n")
    state = ckpt.restore(default={"step": 0})
    for step in range(state["step"] + 1, 4):
        ckpt.save({"step": step})
    folder = os.path.dirname(path)
    newest = max(name for name in os.listdir(folder) if name[-1].isdigit())
    with open(os.path.join(folder, newest), "r+b") as f:
        f.truncate(os.path.getsize(f.name) // 2)  # as if the machine died mid-write
    ckpt.close()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        restored = brined.Checkpoint(path, keep=3).restore()
    out.write(f"    saved steps 1-3, then cut {newest} in half\n")
    for warning in seen:
        text = str(warning.message).replace(folder + os.sep, "")
        out.write(f"    warning: {text}\n")
    out.write(f"    restore() -> {restored!r}\n\n")
    return bool(restored == {"step": 2})


def _cache(out: TextIO, tmp: str) -> bool:
    from .cache import Cache, CacheMiss
    from .cache._cli import _slow_forecast  # the cache demo's slow call

    folder = os.path.join(tmp, "cache")
    out.write("8. a cache for slow calls, that also serves offline\n")
    cached = Cache(folder)(_slow_forecast)
    for label in ("miss", "hit "):
        start = time.perf_counter()
        value = cached("Lisbon")
        took = (time.perf_counter() - start) * 1000
        out.write(f"    {label}: {value!r} in {took:.1f} ms\n")
    offline = Cache(folder, offline=True)(_slow_forecast)
    out.write(f"    offline: {offline('Lisbon')!r}")
    missed = False
    try:
        offline("Oslo")
    except CacheMiss:
        missed = True
        out.write("; Oslo is not cached -> CacheMiss\n")
    out.write("    (python -m brined demo cache shows more)\n")
    return missed and offline("Lisbon") == value
