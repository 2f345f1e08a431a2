"""A differential, opcode-aware mutation fuzzer: brined's loader against C pickle.

Seeds are the project's own corpora: `tests.corpus` objects pickled by the C
pickler at every protocol, the hostile corpus (``tests/hostile``) and the
scanner's hostile cases (``tests/hostile_scan``).  Each seed is cut into
opcodes with `pickletools.genops`, and a mutant is made by editing that list:
deleting, duplicating, swapping or moving opcodes, inserting an opcode from a
pool, replacing an opcode's argument, or replacing a pushed operand with one
of another type.

The oracle is C `pickle.loads`, run on the same bytes:

* C raises => brined raises: an `UnpicklingError` subclass in a default (safe)
  load; in a trusted load, an `UnpicklingError` subclass or the very exception
  type C raised (trusted loads let what the pickle's own calls raise through,
  as the stdlib does).
* C returns => brined (trusted) returns an equal value (structurally, NaN-
  aware, with the same sharing), and a default load returns that value too or
  refuses with an `UnpicklingError` subclass.

Mutants run in process, so nothing dangerous may run: both loaders resolve
only the globals of an allowlist made from the seeds (names brined's default
policy allows and the corpus's own classes; never `getattr`), and mutants that
could allocate without bound (a big int next to a call, a big memo index)
are skipped before either loader sees them.
"""

from __future__ import annotations

import functools
import json
import pickle
import pickletools
import random
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import brined
from brined._safe.policy import ALLOWED, default_policy
from tests import corpus
from tests.hostile_scan.generate import CASES as SCAN_CASES

HERE = Path(__file__).resolve().parent
HOSTILE = HERE / "hostile"
MAX_SEED = 2048  # bytes: small seeds keep every mutant cheap to run
MAX_INT = 1 << 16  # ints above this next to a call could allocate that much
MAX_MEMO_INDEX = 1 << 12  # C's memo grows to twice the largest index

_CALLS = frozenset(["REDUCE", "NEWOBJ", "NEWOBJ_EX", "OBJ", "INST", "BUILD"])
_INT_OPS = frozenset(["INT", "LONG", "BININT", "BININT1", "BININT2", "LONG1", "LONG4"])
_MEMO_OPS = frozenset(["PUT", "BINPUT", "LONG_BINPUT", "GET", "BINGET", "LONG_BINGET"])


class Refused(pickle.UnpicklingError):
    """A global outside the fuzzer's allowlist (raised by both loaders)."""


def _allowed_names(seeds: tuple[bytes, ...]) -> frozenset[tuple[str, str]]:
    policy = default_policy()
    names: set[tuple[str, str]] = set()
    for data in seeds:
        strings: list[str] = []
        try:
            for op, arg, _ in pickletools.genops(data):
                if op.name in ("GLOBAL", "INST") and isinstance(arg, str):
                    module, _, name = arg.partition(" ")
                    names.add((module, name))
                elif isinstance(arg, str):
                    strings.append(arg)
                    if op.name == "STACK_GLOBAL" and len(strings) >= 3:
                        names.add((strings[-3], strings[-2]))
        except Exception:  # noqa: BLE001, S112 - a malformed seed names nothing
            continue
    safe: set[tuple[str, str]] = set()
    for module, name in names:
        if (module, name) in (("builtins", "getattr"), ("__builtin__", "getattr")):
            continue
        corpus_class = module == "tests.corpus" and "<" not in name
        if corpus_class or policy.check(module, name) == ALLOWED:
            safe.add((module, name))
    # The names a C pickler writes for the corpus's plain data.
    safe.update(
        [
            ("copyreg", "_reconstructor"),
            ("builtins", "object"),
            ("__builtin__", "object"),
            ("copy_reg", "_reconstructor"),
        ]
    )
    return frozenset(safe)


@functools.cache
def seeds() -> tuple[bytes, ...]:
    """Every seed, at most `MAX_SEED` bytes, in a fixed order."""
    out: list[bytes] = []
    with corpus.registered_extensions():
        for case in corpus.cases():
            if case.reducer_override is not None:
                continue
            try:
                obj = case.factory()
                if len(pickle.dumps(obj, 0)) > 4 * MAX_SEED:
                    continue
            except Exception:  # noqa: BLE001, S112 - the corpus has unpicklables
                continue
            for proto in case.protocols:
                try:
                    data = pickle.dumps(obj, proto)
                except Exception:  # noqa: BLE001, S112 - the corpus has unpicklables
                    continue
                if len(data) <= MAX_SEED:
                    out.append(data)
    manifest = json.loads((HOSTILE / "manifest.json").read_text())
    for name in sorted(manifest):
        if name.startswith("bomb--"):
            continue  # built to exhaust the interpreter (C crashes on some)
        data = (HOSTILE / "corpus" / name).read_bytes()
        if len(data) <= MAX_SEED:
            out.append(data)
    for name in sorted(SCAN_CASES):
        data = SCAN_CASES[name][0]
        if len(data) <= MAX_SEED:
            out.append(data)
    return tuple(out)


@dataclass
class Stats:
    """What a run did."""

    mutants: int = 0
    skipped: int = 0
    both_raised: int = 0
    both_returned: int = 0
    findings: list[str] = field(default_factory=list)


def split(data: bytes) -> list[bytes]:
    """`data` cut into one chunk per opcode (up to and including STOP)."""
    chunks: list[bytes] = []
    starts: list[int] = []
    try:
        for _op, _arg, pos in pickletools.genops(data):
            starts.append(pos)
    except Exception:  # noqa: BLE001 - a hostile seed may be malformed midway
        pass
    if not starts:
        return [data]
    starts.append(len(data) if len(starts) < 2 else _stop_end(data, starts))
    for a, b in zip(starts, starts[1:], strict=False):
        chunks.append(data[a:b])
    return chunks


def _stop_end(data: bytes, starts: list[int]) -> int:
    last = starts[-1]
    return last + 1 if data[last : last + 1] == b"." else len(data)


# Opcodes pushed as "an operand of another type".
_OPERANDS: tuple[bytes, ...] = (
    b"N",
    b"]",
    b")",
    b"}",
    b"\x8f",
    b"\x88",
    b"\x89",
    b"K\x07",
    b"J\xff\xff\xff\xff",
    b"\x8c\x01a",
    b"\x8c\x00",
    b"X\x03\x00\x00\x00abc",
    b"C\x02hi",
    b"G?\xf0\x00\x00\x00\x00\x00\x00",
    b"G\x7f\xf8\x00\x00\x00\x00\x00\x00",
    b"(t",
    b"(l",
    b"(d",
    b"K\x01\x85",
    b"NN\x86",
    b"I5\n",
    b"S'x'\n",
    b"Vy\n",
    b"F1.5\n",
    b"L9L\n",
    b"\x8a\x01\x05",
    b"\x96\x01\x00\x00\x00\x00\x00\x00\x00z",
)
# Opcodes without an argument, inserted anywhere.
_BARE: bytes = b"(.0210atRblsue\x85\x86\x87\x81\x91\x90\x92\x93\x94\x97\x98"


def _int_arg(chunk: bytes, rng: random.Random) -> bytes:
    value = rng.choice([0, 1, 2, 3, 255, 256, 0x7FFF, rng.randrange(64)])
    code = chunk[:1]
    if code in (b"q", b"h", b"K"):
        return code + bytes([value & 0xFF])
    if code in (b"r", b"j", b"J"):
        return code + struct.pack("<I", value)
    if code == b"M":
        return code + struct.pack("<H", value & 0xFFFF)
    if code in (b"p", b"g", b"I"):
        return code + str(value).encode() + b"\n"
    if code == b"\x80":
        return code + bytes([rng.randrange(7)])
    if code in (b"\x82", b"\x83", b"\x84"):
        return b"\x82" + bytes([rng.randrange(256)])
    return chunk


def mutate(
    chunks: list[bytes], strings: list[bytes], rng: random.Random
) -> list[bytes]:
    """One mutant of a seed cut into opcode chunks, as chunks."""
    out = list(chunks)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        n = len(out)
        i = rng.randrange(n)
        kind = rng.randrange(9)
        if kind == 0 and n > 1:
            del out[i]
        elif kind == 1:
            out.insert(i, out[i])
        elif kind == 2 and n > 1:
            j = rng.randrange(n)
            out[i], out[j] = out[j], out[i]
        elif kind == 3 and n > 1:
            # Move one opcode elsewhere.
            chunk = out.pop(i)
            out.insert(rng.randrange(n), chunk)
        elif kind == 4:
            out.insert(i, bytes([rng.choice(_BARE)]))
        elif kind == 5:
            out[i] = rng.choice(_OPERANDS)
        elif kind == 6:
            out.insert(i, rng.choice(_OPERANDS))
        elif kind == 7:
            out[i] = _int_arg(out[i], rng)
        elif strings:
            out.insert(i, rng.choice(strings))
    return out


_BIG_INT = 1
_BIG_MEMO = 2
_CALL = 4
_UNKNOWN = 8
_risks: dict[bytes, int] = {}


def _op_risk(name: str, arg: Any) -> int:
    if name in _CALLS:
        return _CALL
    if name in _INT_OPS and isinstance(arg, int) and not -MAX_INT < arg < MAX_INT:
        return _BIG_INT
    if name in _MEMO_OPS and isinstance(arg, int) and not 0 <= arg < MAX_MEMO_INDEX:
        return _BIG_MEMO
    return 0


def _risk(chunk: bytes) -> int:
    """What the opcodes of one chunk could do (cached: chunks repeat)."""
    flags = _risks.get(chunk)
    if flags is None:
        flags = 0
        whole = False
        try:
            for op, arg, pos in pickletools.genops(chunk + b"."):
                if op.name == "STOP" and pos == len(chunk):
                    whole = True
                    break
                flags |= _op_risk(op.name, arg)
        except Exception:  # noqa: BLE001, S110 - unparsed: see _UNKNOWN
            pass
        if not whole:
            flags |= _UNKNOWN
        _risks[chunk] = flags
    return flags


def _dangerous(data: bytes) -> bool:
    """Whether running `data` in process could allocate without bound: a big
    int next to a call (``bytes(2**40)``) or a big memo index (C's memo grows
    to twice the index)."""
    flags = 0
    try:
        for op, arg, _ in pickletools.genops(data):
            flags |= _op_risk(op.name, arg)
    except Exception:  # noqa: BLE001, S110 - malformed past here: stop reading
        pass
    return _too_risky(flags)


def _too_risky(flags: int) -> bool:
    return bool(flags & _BIG_MEMO) or (flags & (_BIG_INT | _CALL)) == (_BIG_INT | _CALL)


def _mutant_dangerous(chunks: list[bytes]) -> bool:
    flags = 0
    for chunk in chunks:
        flags |= _risk(chunk)
    if flags & _UNKNOWN:
        # Chunks that do not parse alone may parse differently together.
        return _dangerous(b"".join(chunks))
    return _too_risky(flags)


_allowed: frozenset[tuple[str, str]] | None = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    # Both loaders announce every global they resolve (C's find_class and
    # brined's alike) before importing anything: refuse the ones outside the
    # fuzzer's allowlist while a run is active.
    if (
        event == "pickle.find_class"
        and _allowed is not None
        and (args[0], args[1]) not in _allowed
    ):
        raise Refused(f"fuzz: {args[0]}.{args[1]} is not allowed")


_hooked = False


def _activate(allowed: frozenset[tuple[str, str]] | None) -> None:
    global _allowed, _hooked
    if not _hooked:
        # An audit hook cannot be removed: it stays, idle, once installed.
        sys.addaudithook(_audit)
        _hooked = True
    _allowed = allowed


def _run(load: Any, data: bytes, **kwargs: Any) -> tuple[bool, Any]:
    try:
        return True, load(data, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the outcome is what is compared
        return False, exc


_REFUSALS = (brined.UnpicklingError, Refused)


def _mismatch(expected: Any, actual: Any) -> str | None:
    diff = corpus.structure_mismatch(expected, actual, str_sharing=False)
    if diff is not None and diff.count("<object object at") == 2:
        # Two bare object() instances (copyreg._reconstructor of `object`):
        # nothing to compare but their identity, which differs by design.
        return None
    return diff


def check(data: bytes, stats: Stats, loads: Any = brined.loads) -> None:
    """Run one mutant through C and both brined modes; record a finding.

    `loads` is the loader under test (brined's; the tests pass others to
    show the oracle catches a lenient loader).
    """
    before = len(stats.findings)
    _check(data, stats, loads)
    for i in range(before, len(stats.findings)):
        stats.findings[i] += f" [mutant {data[:300]!r}]"


def _check(data: bytes, stats: Stats, loads: Any) -> None:
    c_ok, c_value = _run(pickle.loads, data)
    if not c_ok and isinstance(c_value, Refused):
        stats.skipped += 1
        return
    t_ok, t_value = _run(loads, data, trusted=True)
    d_ok, d_value = _run(loads, data)
    if not c_ok:
        stats.both_raised += 1
        if t_ok:
            stats.findings.append(f"trusted returned where C raised {c_value!r}")
        elif not isinstance(t_value, brined.UnpicklingError) and type(
            t_value
        ) is not type(c_value):
            stats.findings.append(
                f"trusted raised {type(t_value).__name__}, C {c_value!r}"
            )
        if d_ok:
            stats.findings.append(f"default returned where C raised {c_value!r}")
        elif not isinstance(d_value, _REFUSALS):
            stats.findings.append(f"default raised {d_value!r}, C {c_value!r}")
        return
    stats.both_returned += 1
    if not t_ok:
        if not isinstance(t_value, Refused):
            stats.findings.append(f"trusted raised {t_value!r} where C returned")
        return
    diff = _mismatch(c_value, t_value)
    if diff is not None:
        stats.findings.append(f"trusted value differs from C: {diff}")
    if d_ok:
        diff = _mismatch(c_value, d_value)
        if diff is not None:
            stats.findings.append(f"default value differs from C: {diff}")
    elif not isinstance(d_value, _REFUSALS):
        stats.findings.append(f"default raised {d_value!r} where C returned")


def run(n: int, seed: int, *, start: int = 0) -> Stats:
    """Run mutants `start` .. `start + n` of the fixed sequence for `seed`."""
    pool = seeds()
    allowed = _allowed_names(pool)
    cut = [split(data) for data in pool]
    strings = sorted(
        {c for chunks in cut for c in chunks if c[:1] in (b"\x8c", b"X", b"U", b"S")}
    )
    stats = Stats()
    _activate(allowed)
    try:
        with corpus.registered_extensions():
            _mutants(cut, strings, seed, start, n, stats)
    finally:
        _activate(None)
    return stats


def _mutants(
    cut: list[list[bytes]],
    strings: list[bytes],
    seed: int,
    start: int,
    n: int,
    stats: Stats,
) -> None:
    for k in range(start, start + n):
        rng = random.Random(seed * 1_000_003 + k)
        chunks = cut[rng.randrange(len(cut))]
        # Drop the frames of protocol 4+ seeds most of the time: the
        # edits below then reach the opcodes instead of frame lengths.
        if rng.random() < 0.8:
            chunks = [c for c in chunks if c[:1] != b"\x95"]
        out = mutate(chunks, strings, rng)
        stats.mutants += 1
        if _mutant_dangerous(out):
            stats.skipped += 1
            continue
        check(b"".join(out), stats)


def mutants(seed: int, n: int) -> Iterator[bytes]:
    """The first `n` mutants for `seed` (for reproducing a finding)."""
    pool = seeds()
    cut = [split(data) for data in pool]
    strings = sorted(
        {c for chunks in cut for c in chunks if c[:1] in (b"\x8c", b"X", b"U", b"S")}
    )
    for k in range(n):
        rng = random.Random(seed * 1_000_003 + k)
        chunks = cut[rng.randrange(len(cut))]
        if rng.random() < 0.8:
            chunks = [c for c in chunks if c[:1] != b"\x95"]
        yield b"".join(mutate(chunks, strings, rng))
