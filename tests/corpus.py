"""A seeded, deterministic corpus of objects for differential pickle tests.

`cases()` returns `Case` records: a stable readable id, a factory that builds a
fresh object on every call (so identity and sharing are under the factory's
control), and the protocols at which the object is tested.  The helper classes
live at module level here so that `pickle` can find them by qualified name.

`structure_mismatch()` compares two object graphs without recursion: values,
NaN-aware floats, cycles, and the identity shape (objects shared in one graph
are shared in the other).
"""

from __future__ import annotations

import collections
import copyreg
import datetime as dt
import enum
import math
import os.path
import pickletools
import random
import struct
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pickle import PickleBuffer
from typing import Any

ALL_PROTOCOLS: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
# Classes with __slots__ and no __getstate__ cannot be pickled below protocol 2.
SLOTS_PROTOCOLS: tuple[int, ...] = (2, 3, 4, 5)
NEVER = 6
FRAME_TARGET = 64 * 1024
MIB = 1024 * 1024


@dataclass(frozen=True)
class Case:
    """One corpus object and the protocols it is pickled at."""

    id: str
    factory: Callable[[], Any]
    protocols: tuple[int, ...] = ALL_PROTOCOLS
    # Loading gives back an object equal to the original from this protocol on
    # (6: never, e.g. a PickleBuffer loads as bytes; datetime.fold needs 4).
    # Below it the C unpickler's result is the only oracle.
    roundtrip_from: int = 0
    # Pickle through a Pickler subclass with this `reducer_override`.
    reducer_override: Callable[[Any], Any] | None = None
    # Needs `registered_extensions()` active while dumping and loading.
    extensions: bool = False

    @property
    def plain(self) -> bool:
        """Whether the object is built only from builtin plain-data types."""
        return is_plain_data(self.factory())


# --------------------------------------------------------------------------
# Helper classes and functions, importable as tests.corpus.<qualname>.


def corpus_function(x: int) -> int:
    """A module-level function pickled by reference."""
    return x + 1


class Plain:
    """An ordinary instance with a __dict__."""

    def __init__(self, **attrs: Any) -> None:
        self.__dict__.update(attrs)


class Empty:
    """An instance with an empty __dict__ (no BUILD needed)."""


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a: Any, b: Any = None) -> None:
        self.a = a
        if b is not None:
            self.b = b


class SlottedWithDict:
    __slots__ = ("x", "__dict__")

    def __init__(self, x: Any, **attrs: Any) -> None:
        self.x = x
        self.__dict__.update(attrs)


class SlottedPrivate:
    __slots__ = ("__secret", "visible")

    def __init__(self, secret: Any, visible: Any) -> None:
        self.__secret = secret
        self.visible = visible


class SlottedChild(Slotted):
    __slots__ = ("c",)

    def __init__(self, a: Any, b: Any, c: Any) -> None:
        super().__init__(a, b)
        self.c = c


class WithState:
    """__getstate__/__setstate__ with a non-dict state."""

    def __init__(self, a: Any, b: Any) -> None:
        self.a = a
        self.b = b

    def __getstate__(self) -> Any:
        return (self.a, self.b)

    def __setstate__(self, state: Any) -> None:
        self.a, self.b = state


class FalsyState:
    """__getstate__ returning a falsy value: no BUILD is written."""

    def __init__(self) -> None:
        self.hidden = 1

    def __getstate__(self) -> Any:
        return {}

    def __setstate__(self, state: Any) -> None:
        self.hidden = 1


class Reduce2:
    def __init__(self, *args: Any) -> None:
        self.args = args

    def __reduce__(self) -> Any:
        return (Reduce2, self.args)


class Reduce3:
    def __init__(self, a: Any) -> None:
        self.a = a
        self.extra: Any = None

    def __reduce__(self) -> Any:
        return (Reduce3, (self.a,), {"extra": self.extra})


class Bag(list[Any]):
    """A list subclass pickled with listitems (4-tuple __reduce__)."""

    def __reduce__(self) -> Any:
        return (Bag, (), None, iter(list(self)))


class Registry(dict[Any, Any]):
    """A dict subclass pickled with dictitems (5-tuple __reduce__)."""

    def __reduce__(self) -> Any:
        return (Registry, (), None, None, iter(list(self.items())))


def set_registered_state(obj: Any, state: Any) -> None:
    obj.state = dict(state)
    obj.via_setter = True


class WithStateSetter:
    """A 6-tuple __reduce__ with a state_setter."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self.via_setter = True

    def __reduce__(self) -> Any:
        return (WithStateSetter, (None,), self.state, None, None, set_registered_state)


class ReduceEx:
    """__reduce_ex__ that answers differently per protocol."""

    def __init__(self, proto_seen: Any = None) -> None:
        self.proto_seen = proto_seen

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (ReduceEx, (min(int(protocol), 2),))


class Singleton:
    """__reduce__ returning a string: pickled as a global by name."""

    def __reduce__(self) -> str:
        return "SINGLETON"


SINGLETON = Singleton()


class NewArgs:
    """__getnewargs__ and a __new__ that needs the arguments."""

    def __new__(cls, x: Any, y: Any) -> NewArgs:
        self = super().__new__(cls)
        self.x = x
        self.y = y
        return self

    def __getnewargs__(self) -> tuple[Any, ...]:
        return (self.x, self.y)


class NewArgsEx:
    """__getnewargs_ex__ with keyword arguments (NEWOBJ_EX at protocol 4+)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> NewArgsEx:
        self = super().__new__(cls)
        self.args = args
        self.kwargs = kwargs
        return self

    def __getnewargs_ex__(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (self.args, self.kwargs)


class SelfInArgs:
    """__reduce__ whose args reach the object itself through a list."""

    def __init__(self, box: list[Any]) -> None:
        self.box = box

    def __reduce__(self) -> Any:
        return (SelfInArgs, (self.box,))


class SelfInState:
    def __init__(self) -> None:
        self.me = self

    def __reduce__(self) -> Any:
        return (SelfInState, (), {"me": self})


class Outer:
    class Inner:
        class Deeper:
            def __init__(self, v: Any) -> None:
                self.v = v

        def __init__(self, v: Any) -> None:
            self.v = v


class AttrList(list[Any]):
    """A list subclass with instance attributes."""


class AttrDict(dict[Any, Any]):
    """A dict subclass with instance attributes."""


class Color(enum.Enum):
    RED = 1
    GREEN = "green"
    BLUE = (3, 4)


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 1000


class Perm(enum.Flag):
    R = 4
    W = 2
    X = 1


Point = collections.namedtuple("Point", "x y")
Span = collections.namedtuple("Span", ["start", "end", "label"])


class ExtOne:
    """Registered with copyreg.add_extension under a 1-byte code."""


class ExtTwo:
    """Registered under a 2-byte code."""


class ExtFour:
    """Registered under a 4-byte code."""


EXTENSION_CODES: tuple[tuple[type, int], ...] = (
    (ExtOne, 0xF1),
    (ExtTwo, 0xBEEF),
    (ExtFour, 0x7EADBEEF),
)


@contextmanager
def registered_extensions() -> Iterator[None]:
    """Register the Ext* classes with copyreg for the duration, then undo it."""
    added: list[tuple[str, str, int]] = []
    try:
        for cls, code in EXTENSION_CODES:
            key = (cls.__module__, cls.__qualname__)
            copyreg.add_extension(key[0], key[1], code)
            added.append((key[0], key[1], code))
        yield
    finally:
        for module, name, code in reversed(added):
            copyreg.remove_extension(module, name, code)


class Opaque:
    """Not picklable on its own: only a reducer_override can pickle it."""

    def __init__(self, payload: Any) -> None:
        self.payload = payload

    def __reduce__(self) -> Any:
        raise TypeError("Opaque is pickled by reducer_override only")


def rebuild_opaque(payload: Any) -> Opaque:
    return Opaque(payload)


def override_opaque(obj: Any) -> Any:
    if type(obj) is Opaque:
        return (rebuild_opaque, (obj.payload,))
    return NotImplemented


def override_ints(obj: Any) -> Any:
    """Also tries to override exact ints, which the C pickler never asks about."""
    if type(obj) is int:
        return (int, (str(obj),))
    if type(obj) is Opaque:
        return (rebuild_opaque, (obj.payload,))
    return NotImplemented


def override_function(obj: Any) -> Any:
    if obj is corpus_function:
        return (abs, (-5,))
    return NotImplemented


class Node:
    """A plain instance used for deep mixed nesting."""

    def __init__(self, child: Any) -> None:
        self.child = child


def nested_list(depth: int) -> list[Any]:
    """[[[...[]...]]] with `depth` lists inside the outermost one."""
    root: list[Any] = []
    current = root
    for _ in range(depth):
        child: list[Any] = []
        current.append(child)
        current = child
    return root


def nested_mix(depth: int) -> Any:
    """`depth` levels cycling through list, dict, tuple and instance."""
    x: Any = "leaf"
    for level in range(depth):
        kind = level % 4
        if kind == 0:
            x = [x]
        elif kind == 1:
            x = {"k": x, level: None}
        elif kind == 2:
            x = (x, level)
        else:
            x = Node(x)
    return x


# --------------------------------------------------------------------------
# Structural comparison.

_PLAIN_TYPES: frozenset[type] = frozenset(
    {
        type(None),
        bool,
        int,
        float,
        complex,
        str,
        bytes,
        bytearray,
        tuple,
        list,
        dict,
        set,
        frozenset,
    }
)
_CONTAINERS = (tuple, list, dict, set, frozenset)


def is_plain_data(obj: Any) -> bool:
    """True if every object reachable from `obj` has an exact plain-data type."""
    seen: set[int] = set()
    stack = [obj]
    while stack:
        x = stack.pop()
        if type(x) not in _PLAIN_TYPES:
            return False
        if id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, dict):
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, _CONTAINERS):
            stack.extend(x)
    return True


def _same_float(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def canonical(x: Any) -> Any:
    """A hashable, NaN-safe key for a hashable value (for comparing sets)."""
    if isinstance(x, float):
        return ("float", "nan" if math.isnan(x) else x.hex())
    if isinstance(x, complex):
        return ("complex", canonical(x.real), canonical(x.imag))
    if isinstance(x, tuple):
        return (type(x).__qualname__, tuple(canonical(e) for e in x))
    if isinstance(x, frozenset):
        return ("frozenset", frozenset(canonical(e) for e in x))
    if isinstance(x, Decimal):
        return ("Decimal", str(x))
    return (type(x).__module__, type(x).__qualname__, x)


def _slot_names(cls: type) -> list[str]:
    names: list[str] = []
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__")
        if slots is None:
            continue
        if isinstance(slots, str):
            slots = (slots,)
        for name in slots:
            if name in ("__dict__", "__weakref__"):
                continue
            if name.startswith("__") and not name.endswith("__"):
                name = f"_{klass.__name__.lstrip('_')}{name}"
            names.append(name)
    return names


_MISSING = object()
_BY_IDENTITY = (type, enum.Enum, type(corpus_function), type(math))
_BUILTIN_CALLABLE = type(len)
_MUTABLE = (list, dict, set, bytearray, collections.deque)


# A path from the root, as a linked list of steps built only when needed:
# None is the root; (parent, step) with step an index, an attribute (".name")
# or a tagged pair.  Strings would grow with depth (quadratic on deep graphs).
_Path = tuple[Any, Any] | None


def _where(path: _Path, keep: int = 12) -> str:
    """Render a path such as $[0]['k'].__dict__; long paths keep their tail."""
    steps: list[str] = []
    while path is not None:
        path, step = path
        if isinstance(step, int):
            steps.append(f"[{step}]")
        elif isinstance(step, str):
            steps.append(step)
        elif step[0] == "[]":
            steps.append(f"[{step[1]!r:.40}]")
        elif step[0] == "{}":
            steps.append(f"{{element {step[1]}}}")
        else:
            steps.append(f"{step[0]}{step[1]}")
    steps.reverse()
    if len(steps) > keep:
        return f"$...({len(steps) - keep} steps)..." + "".join(steps[-keep:])
    return "$" + "".join(steps)


def structure_mismatch(
    expected: Any, actual: Any, *, str_sharing: bool = True
) -> str | None:
    """Describe the first difference between two object graphs, or None.

    Walks both graphs with an explicit stack (no recursion), so it works on
    arbitrarily deep structures.  Floats compare NaN-aware and sign-aware.
    Sharing: objects that pickle memoizes and that appear twice in `expected`
    must be one object in `actual`; distinct mutable objects must stay
    distinct.  Cycles are followed once.  With `str_sharing=False` the sharing
    of str/bytes objects is not checked: attribute names are interned on
    loading, so an original graph and a loaded one can differ there while two
    loaded graphs cannot.
    """
    forward: dict[int, int] = {}
    backward: dict[int, int] = {}
    keepalive: list[Any] = []
    stack: list[tuple[Any, Any, _Path]] = [(expected, actual, None)]
    while stack:
        a, b, path = stack.pop()
        if type(a) is not type(b):
            return (
                f"{_where(path)}: type {type(a).__qualname__} != {type(b).__qualname__}"
            )
        if isinstance(a, _BY_IDENTITY):
            if a is not b:
                return f"{_where(path)}: {a!r} is not {b!r}"
            continue
        if isinstance(a, _BUILTIN_CALLABLE):
            # A builtin function is itself; a bound builtin method is rebuilt.
            if a.__name__ != b.__name__:
                return f"{_where(path)}: {a!r} is not {b!r}"
            if a is not b:
                stack.append((a.__self__, b.__self__, (path, ".__self__")))
            continue
        if not str_sharing and isinstance(a, (str, bytes)):
            if a != b:
                return f"{_where(path)}: {type(a).__name__} values differ"
            continue
        if a is None or isinstance(a, bool):
            continue
        if isinstance(a, int):
            if a != b:
                return f"{_where(path)}: {a!r} != {b!r}"
            continue
        if isinstance(a, float):
            if not _same_float(a, b):
                return f"{_where(path)}: {a!r} != {b!r}"
            continue
        # Everything else is memoized by the pickler: check the identity shape.
        seen = forward.get(id(a))
        if seen is not None:
            if seen != id(b):
                return f"{_where(path)}: shared in expected, not shared in actual"
            continue
        if isinstance(a, _MUTABLE) or hasattr(a, "__dict__"):
            other = backward.get(id(b))
            if other is not None and other != id(a):
                return f"{_where(path)}: distinct in expected, shared in actual"
            backward[id(b)] = id(a)
        forward[id(a)] = id(b)
        keepalive.append(a)
        keepalive.append(b)
        problem = _compare_node(a, b, path, stack)
        if problem is not None:
            return problem
    return None


def _compare_node(
    a: Any, b: Any, path: _Path, stack: list[tuple[Any, Any, _Path]]
) -> str | None:
    """Compare one node's own value; push its children onto `stack`."""
    if isinstance(a, complex):
        if not (_same_float(a.real, b.real) and _same_float(a.imag, b.imag)):
            return f"{_where(path)}: {a!r} != {b!r}"
    elif isinstance(a, (str, bytes, bytearray)):
        if a != b:
            return f"{_where(path)}: {type(a).__name__} of len {len(a)} != len {len(b)}"
    elif isinstance(a, (memoryview, PickleBuffer)):
        ma, mb = memoryview(a), memoryview(b)
        if ma.readonly != mb.readonly or ma.tobytes() != mb.tobytes():
            return f"{_where(path)}: buffer contents or read-only flag differ"
    elif isinstance(a, Decimal):
        if str(a) != str(b):
            return f"{_where(path)}: {a!r} != {b!r}"
    elif isinstance(a, (tuple, list, collections.deque)):
        if len(a) != len(b):
            return f"{_where(path)}: len {len(a)} != {len(b)}"
        if isinstance(a, collections.deque) and a.maxlen != b.maxlen:
            return f"{_where(path)}: maxlen {a.maxlen} != {b.maxlen}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            stack.append((x, y, (path, i)))
    elif isinstance(a, dict):
        if len(a) != len(b):
            return f"{_where(path)}: len {len(a)} != {len(b)}"
        if isinstance(a, collections.defaultdict):
            stack.append(
                (a.default_factory, b.default_factory, (path, ".default_factory"))
            )
        for i, ((ka, va), (kb, vb)) in enumerate(
            zip(a.items(), b.items(), strict=True)
        ):
            stack.append((ka, kb, (path, (".key", i))))
            stack.append((va, vb, (path, ("[]", ka))))
    elif isinstance(a, (set, frozenset)):
        if len(a) != len(b):
            return f"{_where(path)}: len {len(a)} != {len(b)}"
        pairs = list(zip(a, b, strict=True))
        if all(canonical(x) == canonical(y) for x, y in pairs):
            for i, (x, y) in enumerate(pairs):
                stack.append((x, y, (path, ("{}", i))))
        elif collections.Counter(map(canonical, a)) != collections.Counter(
            map(canonical, b)
        ):
            return f"{_where(path)}: set elements differ"
    elif not hasattr(a, "__dict__") and not _slot_names(type(a)):
        # Value types without inspectable state: datetime, UUID, range, ...
        if a != b or repr(a) != repr(b):
            return f"{_where(path)}: {a!r} != {b!r}"
        return None
    # Instance state (also for list/dict subclasses and namedtuples).
    if hasattr(a, "__dict__"):
        stack.append((vars(a), vars(b), (path, ".__dict__")))
    for name in _slot_names(type(a)):
        x = getattr(a, name, _MISSING)
        y = getattr(b, name, _MISSING)
        if (x is _MISSING) != (y is _MISSING):
            return f"{_where(path)}.{name}: set on one side only"
        if x is not _MISSING:
            stack.append((x, y, (path, "." + name)))
    return None


def _ops_near(data: bytes, offset: int, around: int = 3) -> str:
    """The disassembled opcodes around byte `offset` (best effort)."""
    ops: list[str] = []
    hit = -1
    try:
        for op, arg, pos in pickletools.genops(data):
            ops.append(f"{pos}:{op.name} {arg!r:.40}")
            if hit < 0 and pos is not None and pos >= offset:
                hit = len(ops) - 1
            if hit >= 0 and len(ops) > hit + around:
                break
    except Exception as exc:  # a malformed pickle is a finding too
        ops.append(f"<genops failed: {exc!r:.80}>")
    if hit < 0:
        hit = len(ops) - 1
    return " | ".join(ops[max(0, hit - around) : hit + around + 1])


def byte_difference(actual: bytes, expected: bytes) -> str | None:
    """Where two pickles first differ, with opcode context; None if equal."""
    if actual == expected:
        return None
    offset = next(
        (i for i, (x, y) in enumerate(zip(actual, expected, strict=False)) if x != y),
        min(len(actual), len(expected)),
    )
    return (
        f"pickles differ at byte {offset} (len {len(actual)} vs {len(expected)})\n"
        f"  brined: {_ops_near(actual, offset)}\n"
        f"  C:      {_ops_near(expected, offset)}"
    )


# --------------------------------------------------------------------------
# The corpus.

_INT_BOUNDARIES = [
    0,
    1,
    -1,
    127,
    128,
    255,
    256,
    257,
    -255,
    -256,
    -257,
    32767,
    32768,
    65535,
    65536,
    65537,
    -65535,
    -65536,
    -65537,
    2**31 - 1,
    2**31,
    -(2**31),
    -(2**31) - 1,
    2**32 - 1,
    2**32,
    -(2**32),
    2**63 - 1,
    2**63,
    -(2**63),
    -(2**63) - 1,
    2**64 - 1,
    2**64,
    10**30,
    -(10**30),
    2**2000,
    -(2**2000),
    2**2000 - 1,
    # LONG1 holds at most 255 bytes of two's complement; 256 needs LONG4.
    2 ** (8 * 255 - 1) - 1,
    2 ** (8 * 255 - 1),
    -(2 ** (8 * 255 - 1)),
    -(2 ** (8 * 255 - 1)) - 1,
    2**14_000,
]
# -(2**(8k-1)) fits k bytes exactly; its neighbours need one more byte.
for _k in (1, 2, 3, 4, 5, 8, 9, 16):
    _INT_BOUNDARIES += [
        -(2 ** (8 * _k - 1)),
        -(2 ** (8 * _k - 1)) - 1,
        2 ** (8 * _k - 1) - 1,
        2 ** (8 * _k - 1),
    ]
_INT_BOUNDARIES = list(dict.fromkeys(_INT_BOUNDARIES))

_FLOATS = {
    "zero": 0.0,
    "negzero": -0.0,
    "one": 1.0,
    "neg": -1.5,
    "inf": math.inf,
    "neginf": -math.inf,
    "nan": math.nan,
    "negnan": -math.nan,
    "nan-payload": struct.unpack(">d", b"\x7f\xf8\x00\x00\x00\x00\x12\x34")[0],
    "min-subnormal": 5e-324,
    "subnormal": 1e-310,
    "min-normal": 2.2250738585072014e-308,
    "max": 1.7976931348623157e308,
    "tenth": 0.1,
    "tenth-sum": 0.1 + 0.2,
    "third": 1 / 3,
    "1e16": 1e16,
    "1e22": 1e22,
    "1e23": 1e23,
    "2p53-plus": float(2**53 + 2),
    "big-repr": 123456789.12345679,
    "tiny": 1.5e-300,
    "pi": math.pi,
    "neg-e": -math.e,
    "5e-324-neg": -5e-324,
}

_STRS = {
    "empty": "",
    "a": "a",
    "ascii": "hello, world",
    "latin1": "caf\xe9 \xff",
    "bmp": "\u20ac\u4e2d\u6587",
    "non-bmp": "\U0001f600 \U00010000 \U0010ffff",
    "lone-high": "\ud800",
    "lone-low": "x\udfffy",
    "surrogate-pair-as-two": "\ud83d\ude00",
    "backslash": "\\",
    "backslash-u": "a\\u0041\\U00000042\\x43",
    "newline": "line1\nline2\n",
    "cr": "a\rb\r\n",
    "nul": "\0a\0",
    "ctrl-z": "\x1a",
    "all-escapes": "\\\n\r\0\x1a\t'\"",
    "c1": "\x80\x9f\xa0",
    "u0100": "\u0100",
    "bom": "\ufeffx",
    "fe-ff": "\ufffe\uffff",
}

_SIZES = [
    0,
    1,
    2,
    255,
    256,
    257,
    1000,
    65535 - 9,
    65535,
    65536 - 9,
    65536,
    65537,
    65536 + 9,
    100_000,
    2 * MIB,
    4 * MIB + 3,
]


def _distinct_str(text: str) -> str:
    """A new str object equal to `text` (not the interned constant)."""
    return "".join(list(text))


def _json_value(rng: random.Random, depth: int = 0) -> Any:
    """A random nested JSON-like value."""
    roll = rng.random()
    if depth >= 4 or roll < 0.45:
        kind = rng.randrange(8)
        if kind == 0:
            return None
        if kind == 1:
            return rng.random() < 0.5
        if kind == 2:
            bits = rng.choice([4, 8, 9, 16, 17, 31, 32, 33, 63, 64, 65, 200])
            return rng.getrandbits(bits) * rng.choice([1, -1])
        if kind == 3:
            return rng.choice([rng.uniform(-1e6, 1e6), rng.random(), -0.0, 1e300])
        length = rng.choice([0, 1, 3, 10, 40, 300])
        alphabet = rng.choice(["abc xyz", "\\\n\r\0\x1a", "\xe9\u20ac\U0001f600"])
        return "".join(rng.choice(alphabet) for _ in range(length))
    size = rng.choice([0, 1, 2, 5, 12, 30])
    if roll < 0.75:
        return [_json_value(rng, depth + 1) for _ in range(size)]
    return {f"k{rng.randrange(1000)}": _json_value(rng, depth + 1) for _ in range(size)}


def _self_list() -> list[Any]:
    x: list[Any] = [1]
    x.append(x)
    x.append(x)
    return x


def _self_dict() -> dict[str, Any]:
    d: dict[str, Any] = {"a": 1}
    d["self"] = d
    d["again"] = {"up": d}
    return d


def _recursive_tuple_root() -> tuple[Any, ...]:
    box: list[Any] = []
    t = (1, box, 2)
    box.append(t)
    return t


def _recursive_tuple_via_list() -> list[Any]:
    box: list[Any] = []
    t = (box,)
    box.append(t)
    return box


def _recursive_tuple_twice() -> tuple[Any, ...]:
    box: list[Any] = []
    t = (box, box, (box,))
    box.append(t)
    box.append(t)
    return t


def _self_instance() -> Plain:
    o = Plain(name="me")
    o.me = o
    o.items = [o, o]
    return o


def _self_in_args() -> SelfInArgs:
    box: list[Any] = []
    obj = SelfInArgs(box)
    box.append(obj)
    box.append(obj)
    return obj


def _self_in_args_listed() -> list[Any]:
    obj = _self_in_args()
    return [obj, obj.box, obj]


def _self_in_state() -> SelfInState:
    return SelfInState()


def _nested(depth: int, make: Callable[[Any], Any]) -> Any:
    x: Any = "leaf"
    for _ in range(depth):
        x = make(x)
    return x


def _memo_run(n: int) -> list[str]:
    strs = [f"s{i}" for i in range(n)]
    return strs + strs[::-1]


def _sized_items(total: int, item: int) -> list[bytes]:
    return [bytes([65 + i % 26]) * item for i in range(total // item)]


def _state_setter_obj() -> WithStateSetter:
    return WithStateSetter({"k": [1, 2]})


def _reduce3() -> Reduce3:
    r = Reduce3([1, 2])
    r.extra = {"x": (1, 2)}
    return r


def _attr_list() -> AttrList:
    x = AttrList(range(5))
    x.name = "al"
    x.me = x
    return x


def _attr_dict() -> AttrDict:
    x = AttrDict(a=1, b=[2])
    x.tag = "ad"
    x["self"] = x
    return x


def _ordered() -> collections.OrderedDict[Any, Any]:
    od = collections.OrderedDict((k, k * 2) for k in "abcdef")
    od.move_to_end("a")
    return od


def _defaultdict_list() -> collections.defaultdict[str, list[int]]:
    d: collections.defaultdict[str, list[int]] = collections.defaultdict(list)
    for i in range(10):
        d[f"k{i % 3}"].append(i)
    return d


def _defaultdict_int() -> collections.defaultdict[str, int]:
    d: collections.defaultdict[str, int] = collections.defaultdict(int)
    for ch in "mississippi":
        d[ch] += 1
    return d


def _deque_maxlen() -> collections.deque[int]:
    q: collections.deque[int] = collections.deque(maxlen=3)
    q.extend(range(10))
    return q


def _shared_twice(make: Callable[[], Any]) -> Callable[[], Any]:
    def factory() -> Any:
        x = make()
        return [x, x]

    return factory


def cases() -> list[Case]:
    """Build the corpus (deterministic; each call returns equal Cases)."""
    out: list[Case] = []

    def add(name: str, factory: Callable[[], Any], **kw: Any) -> None:
        out.append(Case(id=name, factory=factory, **kw))

    # Atoms.
    add("none", lambda: None)
    add("true", lambda: True)
    add("false", lambda: False)
    add("bools-list", lambda: [True, False, None, True])
    for n in _INT_BOUNDARIES:
        sign = "-" if n < 0 else ""
        label = f"{n}" if abs(n) < 2**70 else f"{sign}bits{n.bit_length()}-{n % 997}"

        add(f"int-{label}", lambda n=n: n)
    add("ints-boundary-list", lambda: list(_INT_BOUNDARIES[:40]))
    # Too many digits for repr() (int_max_str_digits): binary protocols only.
    add("int-bits100001", lambda: 2**100_000, protocols=(2, 3, 4, 5))
    for name, f in _FLOATS.items():
        add(f"float-{name}", lambda f=f: f)
    add("floats-list", lambda: list(_FLOATS.values()))
    for name, c in {
        "zero": 0j,
        "mixed": 1.5 - 2j,
        "negzero": complex(-0.0, -0.0),
        "nan-inf": complex(math.nan, math.inf),
        "big": complex(1e300, -1e-300),
    }.items():
        add(f"complex-{name}", lambda c=c: c)

    # Strings.
    for name, s in _STRS.items():
        add(f"str-{name}", lambda s=s: _distinct_str(s))
    for size in _SIZES:
        add(f"str-ascii-{size}", lambda size=size: "x" * size)
    for n in (127, 128, 32767, 32768):
        add(f"str-2byte-{n}", lambda n=n: "\xe9" * n)
    add("str-utf8-255", lambda: "\xe9" * 127 + "a")
    add("str-nonbmp-80000", lambda: "\U0001f600" * 20_000)
    add("str-escapes-70000", lambda: "\\\n\r\0\x1a" * 14_000)
    add("str-surrogates-1000", lambda: "\ud800a" * 500)

    # Bytes and bytearrays.
    add("bytes-all-values", lambda: bytes(range(256)))
    add("bytearray-all-values", lambda: bytearray(range(256)))
    add("bytes-escapes", lambda: b"\\\n\r\0\x1a\x80\xff")
    for size in _SIZES:
        add(f"bytes-{size}", lambda size=size: b"b" * size)
        add(f"bytearray-{size}", lambda size=size: bytearray(b"y" * size))

    # Tuples.
    add("tuple-0", lambda: ())
    add("tuple-1", lambda: (1,))
    add("tuple-2", lambda: ("a", None))
    add("tuple-3", lambda: (1.5, b"x", [1]))
    add("tuple-4", lambda: (1, 2, 3, 4))
    add("tuple-nested", lambda: ((), ((),), (((),),)))
    for n in (5, 999, 1000, 1001, 2500):
        add(f"tuple-{n}", lambda n=n: tuple(range(n)))

    # Lists, dicts, sets, frozensets at batching boundaries.
    for n in (0, 1, 2, 3, 999, 1000, 1001, 1999, 2000, 2001, 2500):
        add(f"list-{n}", lambda n=n: list(range(n)))
        add(f"dict-{n}", lambda n=n: {i: str(i) for i in range(n)})
        add(f"set-{n}", lambda n=n: set(range(n)))
        add(f"frozenset-{n}", lambda n=n: frozenset(range(n)))
    for n in (1, 1000, 1001):
        add(f"list-str-{n}", lambda n=n: [f"item{i}" for i in range(n)])
        add(f"dict-strkeys-{n}", lambda n=n: {f"k{i}": i for i in range(n)})
        add(f"set-str-{n}", lambda n=n: {f"e{i}" for i in range(n)})

    # Frame boundaries crossed at many offsets.
    for delta in range(-24, 25, 4):
        add(
            f"frame-str-then-small-{delta:+d}",
            lambda d=delta: ["a" * (FRAME_TARGET - 16 + d), "tail", 7],
        )
        add(
            f"frame-bytes-then-big-{delta:+d}",
            lambda d=delta: [b"a" * (FRAME_TARGET - 64 + d), b"b" * FRAME_TARGET, 1],
        )
    for item in (100, 1000, 4000, 30_000):
        add(f"frame-many-items-{item}", lambda item=item: _sized_items(200_000, item))
    add(
        "frame-big-str-in-dict",
        lambda: {"a": "x" * 70_000, "b": "y", "c": b"z" * 70_000},
    )
    add("frame-big-in-tuple", lambda: (1, "x" * 65_536, (b"y" * 65_536,), 2))
    add(
        "frame-mixed-sizes", lambda: [("k" * i, b"v" * (i * 97)) for i in range(1, 400)]
    )

    # Nesting and sharing.
    add("shared-list-twice", _shared_twice(lambda: [1, 2]))
    add("shared-str-twice", _shared_twice(lambda: _distinct_str("shared text")))
    add(
        "distinct-equal-strs",
        lambda: [_distinct_str("shared text"), _distinct_str("shared text")],
    )
    add("shared-bytes-twice", _shared_twice(lambda: b"shared bytes"))
    add("shared-tuple-twice", _shared_twice(lambda: (1, "two")))
    add("shared-dict-twice", _shared_twice(lambda: {"k": "v"}))
    add("shared-frozenset-twice", _shared_twice(lambda: frozenset({1, 2})))
    add("shared-set-twice", _shared_twice(lambda: {3, 4}))
    add("shared-bytearray-twice", _shared_twice(lambda: bytearray(b"ba")))
    add("shared-float-twice", _shared_twice(lambda: 2.5))
    add("shared-bigint-twice", _shared_twice(lambda: 10**40))
    add("shared-complex-twice", _shared_twice(lambda: 1 + 2j))
    add("shared-big-str-twice", _shared_twice(lambda: "x" * 70_000))
    add("shared-big-bytes-twice", _shared_twice(lambda: b"y" * 70_000))
    add("shared-empty-tuple", _shared_twice(lambda: ()))
    add("shared-nested", lambda: (lambda a: [[a, a], a, [a, a]])([]))
    add("shared-in-dict-values", lambda: (lambda x: {"a": x, "b": x, "c": [x]})([0]))
    add("shared-escaped-str-twice", _shared_twice(lambda: _distinct_str("a\\b\n")))
    add("shared-escape-chars", lambda: ["\\", "\n", "\\", "\r", "\n", "\0", "\0"])
    add(
        "shared-escaped-str-spread",
        lambda: (lambda s: [s, "x", {"k": s}, (s,)])(_distinct_str("\x1a\r\\")),
    )
    add("self-list", _self_list)
    add("self-dict", _self_dict)
    add("recursive-tuple-root", _recursive_tuple_root)
    add("recursive-tuple-via-list", _recursive_tuple_via_list)
    add("recursive-tuple-twice", _recursive_tuple_twice)
    add("self-instance", _self_instance)
    add(
        "set-of-frozensets",
        lambda: {frozenset({1, 2}), frozenset(), frozenset({frozenset({3})})},
    )
    add("frozenset-of-tuples", lambda: frozenset({(1, 2), (3, (4, 5)), ()}))
    add("dict-tuple-keys", lambda: {(1, 2): "a", (3, (4, 5)): "b", (): "c"})
    add(
        "dict-mixed-keys",
        lambda: {None: 0, True: 1, 2.5: 2, b"k": 3, "s": 4, (1,): 5, frozenset({1}): 6},
    )
    add("nested-list-50", lambda: _nested(50, lambda x: [x]))
    add("nested-dict-50", lambda: _nested(50, lambda x: {"k": x}))
    add("nested-tuple-50", lambda: _nested(50, lambda x: (x,)))
    add("nested-mixed-60", lambda: _nested(20, lambda x: [{"t": (x, 1)}]))
    for n in (255, 256, 257, 300):
        add(f"memo-run-{n}", lambda n=n: _memo_run(n))

    # Standard-library value types.
    add("date", lambda: dt.date(2024, 2, 29))
    add("date-min", lambda: dt.date.min)
    add("date-max", lambda: dt.date.max)
    add("datetime-naive", lambda: dt.datetime(2024, 1, 2, 3, 4, 5, 678901))
    add("datetime-utc", lambda: dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    add(
        "datetime-offset",
        lambda: dt.datetime(
            1999,
            12,
            31,
            23,
            59,
            59,
            tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30), "IST"),
        ),
    )
    add(
        "datetime-fold",
        lambda: dt.datetime(2021, 11, 7, 1, 30, fold=1),
        roundtrip_from=4,
    )
    add("datetime-max", lambda: dt.datetime.max)
    add("time", lambda: dt.time(12, 30, 15, 1))
    add(
        "time-tz-fold",
        lambda: dt.time(1, 2, 3, fold=1, tzinfo=dt.timezone(dt.timedelta(hours=-8))),
        roundtrip_from=4,
    )
    add("timedelta", lambda: dt.timedelta(days=-1, seconds=5, microseconds=7))
    add("timedelta-max", lambda: dt.timedelta.max)
    add("timezone-utc", lambda: dt.UTC)
    add("timezone-named", lambda: dt.timezone(dt.timedelta(minutes=-90), "X"))
    add(
        "datetimes-shared-tz",
        lambda: (
            lambda tz: [dt.datetime(2020, 1, 1, tzinfo=tz), dt.time(tzinfo=tz), tz]
        )(dt.timezone(dt.timedelta(hours=2))),
    )
    for text in (
        "1.10",
        "-0",
        "0E-30",
        "NaN",
        "-NaN123",
        "sNaN",
        "Infinity",
        "-Infinity",
        "1E+999999",
        "3.14159265358979323846264338327950288",
    ):
        add(f"decimal-{text}", lambda text=text: Decimal(text))
    add("fraction-third", lambda: Fraction(1, 3))
    add("fraction-big", lambda: Fraction(-7, 2**70))
    add("fraction-int", lambda: Fraction(5))
    for member in (
        Color.RED,
        Color.GREEN,
        Color.BLUE,
        Level.LOW,
        Level.HIGH,
        Perm.R,
        Perm.R | Perm.W,
        Perm(0),
    ):
        add(f"enum-{type(member).__name__}-{member.name}", lambda m=member: m)
    add("enum-list-shared", lambda: [Color.RED, Color.RED, Level.HIGH, Perm.X])
    add("namedtuple", lambda: Point(1, 2))
    add("namedtuple-nested", lambda: Span(Point(0, 0), Point(3, 4), "label"))
    add(
        "namedtuple-in-list",
        lambda: (lambda p: [p, p, Point(p, None)])(Point("a", "b")),
    )
    add("ordereddict", _ordered)
    add("ordereddict-empty", collections.OrderedDict)
    add("defaultdict-list", _defaultdict_list)
    add("defaultdict-int", _defaultdict_int)
    add("counter", lambda: collections.Counter("abracadabra"))
    add("deque", lambda: collections.deque([1, "two", (3,)]))
    add("deque-empty", collections.deque)
    add("deque-maxlen", _deque_maxlen)
    add("uuid", lambda: uuid.UUID("12345678-1234-5678-1234-567812345678"))
    add("uuid-safe", lambda: uuid.UUID(int=2**127 + 5, is_safe=uuid.SafeUUID.safe))
    add("range-empty", lambda: range(0))
    add("range-step", lambda: range(1, 10, 3))
    add("range-huge", lambda: range(-5, 2**70, 7))
    add("slice", lambda: slice(1, 2, 3))
    add("slice-none", lambda: slice(None))
    add("slice-objects", lambda: slice("a", [1], None))

    # Classes and their pickling protocols.
    add("instance-plain", lambda: Plain(a=1, b="two", c=[3]))
    add("instance-empty", Empty)
    slots = SLOTS_PROTOCOLS
    add("instance-slots", lambda: Slotted(1, [2]), protocols=slots)
    add("instance-slots-unset", lambda: Slotted("only-a"), protocols=slots)
    add("instance-slots-dict", lambda: SlottedWithDict(1, y=2), protocols=slots)
    add("instance-slots-private", lambda: SlottedPrivate("s", "v"), protocols=slots)
    add("instance-slots-child", lambda: SlottedChild(1, 2, 3), protocols=slots)
    add("instance-getstate", lambda: WithState([1], {"b": 2}))
    add("instance-falsy-state", FalsyState, roundtrip_from=NEVER)
    add("reduce-2tuple", lambda: Reduce2(1, "a", None))
    add("reduce-3tuple", _reduce3)
    add("reduce-listitems", lambda: Bag(range(1500)))
    add("reduce-listitems-1", lambda: Bag(["one"]))
    add("reduce-dictitems", lambda: Registry((i, -i) for i in range(1001)))
    add("reduce-dictitems-1", lambda: Registry(a=1))
    add("reduce-state-setter", _state_setter_obj)
    add("reduce-ex-by-protocol", ReduceEx, roundtrip_from=NEVER)
    add("reduce-string-global", lambda: SINGLETON)
    add("getnewargs", lambda: NewArgs(1, [2]))
    add("getnewargs-ex-kwargs", lambda: NewArgsEx(1, key="v", other=[2]))
    add("getnewargs-ex-args-only", lambda: NewArgsEx(1, 2))
    add("getnewargs-ex-empty", lambda: NewArgsEx())
    add("reduce-self-in-args", _self_in_args)
    add("reduce-self-in-args-listed", _self_in_args_listed)
    add("reduce-self-in-state", _self_in_state)
    add("nested-class-instance", lambda: Outer.Inner(1))
    add("nested-class-deeper-instance", lambda: Outer.Inner.Deeper([1]))
    add("nested-class-ref", lambda: Outer.Inner.Deeper)
    add("list-subclass-attrs", _attr_list)
    # Reaches itself through dict(self) in copyreg's protocol 0/1 reduction.
    add("dict-subclass-attrs", _attr_dict, protocols=SLOTS_PROTOCOLS)
    add("instances-shared", lambda: (lambda o: [o, Plain(o=o), o])(Plain(v=1)))

    # Globals by reference.
    for name, ref in {
        "len": len,
        "int": int,
        "ordereddict-class": collections.OrderedDict,
        "corpus-function": corpus_function,
        "posixpath-join": os.path.join,
        "math-sqrt": math.sqrt,
        "nonetype": type(None),
        "ellipsis-type": type(...),
        "notimplemented-type": type(NotImplemented),
        "ellipsis": ...,
        "notimplemented": NotImplemented,
        "method-descriptor": str.upper,
        "bound-builtin-method": "abc".upper,
        "classmethod-bound": dict.fromkeys,
        "module-class": Plain,
    }.items():
        add(f"global-{name}", lambda r=ref: r)
    add("globals-shared", lambda: [len, len, Plain, Plain, corpus_function])

    # PickleBuffer in band (protocol 5 only; loads as bytes / bytearray).
    p5 = (5,)
    add(
        "picklebuffer-bytes",
        lambda: PickleBuffer(b"abc"),
        protocols=p5,
        roundtrip_from=NEVER,
    )
    add(
        "picklebuffer-empty",
        lambda: PickleBuffer(b""),
        protocols=p5,
        roundtrip_from=NEVER,
    )
    add(
        "picklebuffer-bytearray",
        lambda: PickleBuffer(bytearray(b"xyz")),
        protocols=p5,
        roundtrip_from=NEVER,
    )
    add(
        "picklebuffer-big",
        lambda: PickleBuffer(b"q" * 100_000),
        protocols=p5,
        roundtrip_from=NEVER,
    )
    add(
        "picklebuffer-shared",
        _shared_twice(lambda: PickleBuffer(b"abc")),
        protocols=p5,
        roundtrip_from=NEVER,
    )
    add(
        "picklebuffer-shared-bytearray",
        _shared_twice(lambda: PickleBuffer(bytearray(b"abc"))),
        protocols=p5,
        roundtrip_from=NEVER,
    )
    add(
        "picklebuffer-shared-big",
        _shared_twice(lambda: PickleBuffer(b"B" * 70_000)),
        protocols=p5,
        roundtrip_from=NEVER,
    )
    add(
        "picklebuffer-same-bytes-twice",
        lambda: (lambda b: [b, PickleBuffer(b), PickleBuffer(b), b])(b"data"),
        protocols=p5,
        roundtrip_from=NEVER,
    )

    # copyreg extension registry: EXT1 / EXT2 / EXT4.
    for cls in (ExtOne, ExtTwo, ExtFour):
        add(f"extension-class-{cls.__name__}", lambda c=cls: c, extensions=True)
        add(f"extension-instance-{cls.__name__}", cls, extensions=True)
    add(
        "extension-all-shared",
        lambda: [ExtOne, ExtTwo, ExtFour, ExtOne],
        extensions=True,
    )

    # reducer_override.
    add(
        "reducer-override-opaque",
        lambda: [Opaque(1), Opaque([2])],
        reducer_override=override_opaque,
    )
    add(
        "reducer-override-shared",
        _shared_twice(lambda: Opaque("s")),
        reducer_override=override_opaque,
    )
    add(
        "reducer-override-ints",
        lambda: [1, 2**70, "s", Opaque(3)],
        reducer_override=override_ints,
        roundtrip_from=NEVER,
    )
    add(
        "reducer-override-function",
        lambda: [corpus_function, len],
        reducer_override=override_function,
        roundtrip_from=NEVER,
    )

    # Random nested JSON-like values.
    for seed in range(90):
        add(f"json-seed{seed}", lambda seed=seed: _json_value(random.Random(seed)))

    ids = [c.id for c in out]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    assert not dupes, f"duplicate case ids: {dupes}"
    return out
